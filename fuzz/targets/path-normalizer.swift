// libFuzzer target: Routing's PathNormalizer (issue 14's path normalisation before routing).
// Built and run by fuzz/run.sh path-normalizer (fuzz/README.md).
//
// Input: byte 0 picks the options (each step on or off, escaped slashes reject/redirect/keep),
// the rest is the request path. Besides crashes it checks what PathNormalizer promises:
// - a normalised path starts with "/", is pchar / pct-encoded octets only, has no dot-segment (when
//   removeDotSegments), no "//" (when mergeSlashes), and normalising it again gives itself;
// - a redirect's target, requested again, routes as it is (no second redirect, no rejection).
import Routing

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let flags = bytes[0]
    var options = PathNormalizer.Options()
    options.decodeUnreserved = flags & 1 != 0
    options.removeDotSegments = flags & 2 != 0
    options.mergeSlashes = flags & 4 != 0
    options.escapedSlashes = PathNormalizer.Options.EscapedSlashes.allCases[Int(flags >> 3) % 3]
    let path = String(decoding: bytes.dropFirst(), as: UTF8.self)

    func checkNormal(_ p: String, from input: String) {
        precondition(p.utf8.first == UInt8(ascii: "/"), "not absolute: \(p.debugDescription) from \(input.debugDescription)")
        precondition(isValidPath(Array(p.utf8)), "not a valid RFC 3986 path: \(p.debugDescription) from \(input.debugDescription)")
        if options.removeDotSegments {
            let segments = p.split(separator: "/", omittingEmptySubsequences: false)
            precondition(!segments.contains("..") && !segments.contains("."),
                         "dot-segment left: \(p.debugDescription) from \(input.debugDescription)")
        }
        if options.mergeSlashes {
            precondition(!p.contains("//"), "slashes not merged: \(p.debugDescription) from \(input.debugDescription)")
        }
        let again = PathNormalizer.normalize(Substring(p), options)
        precondition(again == .path(p), "not idempotent: \(input.debugDescription) → \(p.debugDescription) → \(again)")
    }

    switch PathNormalizer.normalize(Substring(path), options) {
    case .path(let p):
        checkNormal(p, from: path)
    case .redirect(let p):
        let next = PathNormalizer.normalize(Substring(p), options)
        guard case .path(let q) = next, q == p else {
            preconditionFailure("redirect to \(p.debugDescription) does not route as is: \(next) (from \(path.debugDescription))")
        }
        checkNormal(p, from: path)
    case .reject:
        break
    }
    return 0
}

/// RFC 3986 path characters: `pchar` octets and `%HH` triplets.
func isValidPath(_ b: [UInt8]) -> Bool {
    func hex(_ x: UInt8) -> Bool {
        (x >= UInt8(ascii: "0") && x <= UInt8(ascii: "9")) || (x >= UInt8(ascii: "A") && x <= UInt8(ascii: "F"))
            || (x >= UInt8(ascii: "a") && x <= UInt8(ascii: "f"))
    }
    var i = 0
    while i < b.count {
        if b[i] == UInt8(ascii: "%") {
            guard i + 2 < b.count, hex(b[i + 1]), hex(b[i + 2]) else { return false }
            i += 3
        } else {
            guard PathNormalizer.isPathOctet(b[i]) else { return false }
            i += 1
        }
    }
    return true
}
