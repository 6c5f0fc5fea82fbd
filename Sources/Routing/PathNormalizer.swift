/// Request-path normalisation before routing (the Envoy Gateway default, see docs/SECURITY.md).
///
/// A route is a security boundary: `PathPrefix /public` must never reach what `/admin` protects.
/// When the gateway matched the path as received and forwarded it unchanged, `/public/../admin/x`,
/// `/public/%2e%2e/admin/x` and `/public/..%2fadmin/x` were routed to `/public`'s backend, which then
/// served `/admin/x`; and `/%61dmin/x` missed an `/admin` rule. So the path is normalised once, and
/// the normalised path is both what routes and what is forwarded: the backend sees exactly the path
/// the gateway decided on.
///
/// The steps, each of which `Options` can turn off (`sluice serve` flags, docs/CLI.md):
/// 1. Percent-encoded octets of unreserved characters are decoded — RFC 3986 §6.2.2.2: "URIs that
///    differ in the replacement of an unreserved character with its corresponding percent-encoded
///    US-ASCII octet are equivalent: they identify the same resource. ... should be normalized by
///    decoding any percent-encoded octet that corresponds to an unreserved character". Other
///    percent-encodings keep their octet with upper-case hex digits (§6.2.2.1: "For all URIs, the
///    hexadecimal digits within a percent-encoding triplet ... should be normalized to use uppercase
///    letters"). A `%` that does not start a valid triplet makes the request malformed (400).
/// 2. Encoded slashes (`%2F`), encoded backslashes (`%5C`) and raw backslashes: by `escapedSlashes`
///    (reject → 400; redirect → each becomes `/`, the path is normalised and the client is sent a
///    307 to it; keep → `%2F`/`%5C` stay encoded, a raw `\` is sent as `%5C`, so none of them ever
///    separates segments).
/// 3. Dot-segments are removed — RFC 3986 §5.2.4 `remove_dot_segments` (§6.2.2.3: "The complete
///    path segments "." and ".." are intended only for use within relative references ... URI
///    normalizers should remove dot-segments by applying the remove_dot_segments algorithm"). This
///    runs after step 1, so `%2e%2e` is a dot-segment too.
/// 4. Runs of slashes are merged into one (Envoy's `merge_slashes`, nginx's `merge_slashes on`).
///
/// Octets that RFC 3986 does not allow in a path (`"`, `<`, `>`, `{`, `|`, non-ASCII, …) are
/// percent-encoded, so the forwarded request line is always a valid URI; control characters and
/// spaces are refused (400). The result is idempotent: normalising it again changes nothing.
public enum PathNormalizer {
    public struct Options: Sendable, Hashable {
        public enum EscapedSlashes: String, Sendable, Hashable, CaseIterable {
            case reject, redirect, keep
        }
        public var decodeUnreserved = true
        public var removeDotSegments = true
        public var mergeSlashes = true
        public var escapedSlashes = EscapedSlashes.redirect
        public init() {}
        /// Every step off: paths are matched and forwarded as received.
        public static let raw: Options = {
            var o = Options()
            o.decodeUnreserved = false
            o.removeDotSegments = false
            o.mergeSlashes = false
            o.escapedSlashes = .keep
            return o
        }()
    }

    public enum Result: Equatable, Sendable {
        /// Route and forward this path.
        case path(String)
        /// Answer 307 with `Location` set to this path (the query appended by the caller).
        case redirect(String)
        /// Answer 400; the reason is for the log, never for the client.
        case reject(String)
    }

    /// Normalises an origin-form path (the request target before `?`).
    public static func normalize(_ path: Substring, _ options: Options) -> Result {
        let utf8 = path.utf8
        guard utf8.first == UInt8(ascii: "/") else { return .reject("the path does not start with /") }
        // Fast path: nothing to decode, no backslash, no dot-segment, no empty segment, no octet to
        // encode — the common request costs one scan and no allocation beyond the String itself.
        if isAlreadyNormal(utf8) { return .path(String(path)) }

        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var sawEscapedSlash = false
        var i = utf8.startIndex
        while i != utf8.endIndex {
            let b = utf8[i]
            if b == UInt8(ascii: "%") {
                let h1 = utf8.index(after: i)
                let h2 = h1 == utf8.endIndex ? h1 : utf8.index(after: h1)
                guard h2 != utf8.endIndex, let hi = hexValue(utf8[h1]), let lo = hexValue(utf8[h2]) else {
                    return .reject("invalid percent-encoding")
                }
                let octet = hi << 4 | lo
                if octet == UInt8(ascii: "/") || octet == UInt8(ascii: "\\") {
                    switch options.escapedSlashes {
                    case .reject: return .reject("encoded slash or backslash in the path")
                    case .redirect: out.append(UInt8(ascii: "/")); sawEscapedSlash = true
                    case .keep: appendEncoded(octet, to: &out)
                    }
                } else if options.decodeUnreserved && isUnreserved(octet) {
                    out.append(octet)
                } else {
                    appendEncoded(octet, to: &out)
                }
                i = utf8.index(after: h2)
                continue
            }
            if b == UInt8(ascii: "\\") {
                switch options.escapedSlashes {
                case .reject: return .reject("backslash in the path")
                case .redirect: out.append(UInt8(ascii: "/")); sawEscapedSlash = true
                case .keep: appendEncoded(b, to: &out)
                }
            } else if b <= 0x20 || b == 0x7F {
                return .reject("control character or space in the path")
            } else if isPathOctet(b) {
                out.append(b)
            } else {
                appendEncoded(b, to: &out)
            }
            i = utf8.index(after: i)
        }
        if options.removeDotSegments { out = removeDotSegments(out) }
        if options.mergeSlashes { out = mergeSlashes(out) }
        let result = String(decoding: out, as: UTF8.self)
        return sawEscapedSlash ? .redirect(result) : .path(result)
    }

    /// RFC 3986 §5.2.4 on an absolute path (it starts with "/"), segment by segment.
    static func removeDotSegments(_ path: [UInt8]) -> [UInt8] {
        // Segments after the leading "/"; a trailing "." or ".." leaves a trailing "/" (the
        // algorithm's "/." → "/" and "/.." → "/" rules).
        var segments: [ArraySlice<UInt8>] = []
        var trailingSlash = false
        let parts = path.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for (n, seg) in parts.enumerated() {
            let last = n == parts.count - 1
            if seg.elementsEqual([UInt8(ascii: ".")]) {
                if last { trailingSlash = true }
            } else if seg.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                if !segments.isEmpty { segments.removeLast() }
                if last { trailingSlash = true }
            } else {
                segments.append(seg)
                trailingSlash = false
            }
        }
        var out: [UInt8] = [UInt8(ascii: "/")]
        out.reserveCapacity(path.count)
        for (n, seg) in segments.enumerated() {
            if n > 0 { out.append(UInt8(ascii: "/")) }
            out.append(contentsOf: seg)
        }
        if trailingSlash && !segments.isEmpty { out.append(UInt8(ascii: "/")) }
        return out
    }

    static func mergeSlashes(_ path: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(path.count)
        for b in path where !(b == UInt8(ascii: "/") && out.last == UInt8(ascii: "/")) { out.append(b) }
        return out
    }

    /// True when `normalize` would return the input unchanged whatever the options.
    static func isAlreadyNormal(_ utf8: Substring.UTF8View) -> Bool {
        var previous: UInt8 = 0
        var length = 0, dots = 0  // of the current segment
        for b in utf8 {
            if b == UInt8(ascii: "/") {
                if previous == UInt8(ascii: "/") { return false }                 // empty segment
                if length > 0 && length == dots && length <= 2 { return false }   // "." or ".."
                length = 0
                dots = 0
            } else {
                guard isPathOctet(b) else { return false }  // "%", "\\" and octets to encode
                length += 1
                if b == UInt8(ascii: ".") { dots += 1 }
            }
            previous = b
        }
        return !(length > 0 && length == dots && length <= 2)
    }

    /// RFC 3986 `pchar` without pct-encoded: unreserved / sub-delims / ":" / "@" (and "/").
    @inline(__always)
    public static func isPathOctet(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
             UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="),
             UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }

    /// RFC 3986 §2.3: `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`.
    static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func appendEncoded(_ b: UInt8, to out: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        out.append(UInt8(ascii: "%"))
        out.append(hex[Int(b >> 4)])
        out.append(hex[Int(b & 0xF)])
    }
}
