// Small re-implementations of the Go standard-library behaviour the original echo servers
// inherit (ECHO.md §a): `time.ParseDuration`, `url.ParseQuery`, `textproto.CanonicalMIMEHeaderKey`,
// `strconv.Atoi`, `strconv.Quote` (for error texts) and `encoding/json` string escaping.

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or a bare `0`.
/// Units `ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`. Returns nanoseconds, or the error text Go
/// would produce (`time: invalid duration "abc"` and friends).
enum GoDuration {
    static func parse(_ orig: String) -> Result<Int64, DurationError> {
        let bytes = Array(orig.utf8)
        var i = 0
        var neg = false
        let invalid = DurationError(message: "time: invalid duration " + goQuote(orig))
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            neg = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        if bytes.count - i == 1 && bytes[i] == UInt8(ascii: "0") { return .success(0) }
        if i == bytes.count { return .failure(invalid) }
        let limit: UInt64 = 1 << 63
        var total: UInt64 = 0
        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        while i < bytes.count {
            let c0 = bytes[i]
            guard c0 == UInt8(ascii: ".") || isDigit(c0) else { return .failure(invalid) }
            // Leading integer.
            var v: UInt64 = 0
            let start = i
            while i < bytes.count, isDigit(bytes[i]) {
                if v > limit / 10 { return .failure(invalid) }
                v = v * 10 + UInt64(bytes[i] - UInt8(ascii: "0"))
                if v > limit { return .failure(invalid) }
                i += 1
            }
            let pre = i != start
            // Optional fraction.
            var f: UInt64 = 0
            var scale: Double = 1
            var post = false
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                let fstart = i
                var overflow = false
                while i < bytes.count, isDigit(bytes[i]) {
                    if !overflow {
                        if f > (limit - 1) / 10 {
                            overflow = true
                        } else {
                            let y = f * 10 + UInt64(bytes[i] - UInt8(ascii: "0"))
                            if y > limit { overflow = true } else { f = y; scale *= 10 }
                        }
                    }
                    i += 1
                }
                post = i != fstart
            }
            if !pre && !post { return .failure(invalid) }
            // Unit: everything up to the next '.' or digit.
            let ustart = i
            while i < bytes.count, !(bytes[i] == UInt8(ascii: ".") || isDigit(bytes[i])) { i += 1 }
            if i == ustart {
                return .failure(DurationError(message: "time: missing unit in duration " + goQuote(orig)))
            }
            let unitText = String(decoding: bytes[ustart..<i], as: UTF8.self)
            guard let unit = unitNanos[unitText] else {
                return .failure(DurationError(
                    message: "time: unknown unit " + goQuote(unitText) + " in duration " + goQuote(orig)))
            }
            if v > limit / unit { return .failure(invalid) }
            v *= unit
            if f > 0 {
                v += UInt64(Double(f) * (Double(unit) / scale))
                if v > limit { return .failure(invalid) }
            }
            total += v
            if total > limit { return .failure(invalid) }
        }
        if neg { return .success(total == limit ? Int64.min : -Int64(total)) }
        if total > limit - 1 { return .failure(invalid) }
        return .success(Int64(total))
    }

    struct DurationError: Error, Equatable { var message: String }

    private static let unitNanos: [String: UInt64] = [
        "ns": 1, "us": 1_000, "\u{00B5}s": 1_000, "\u{03BC}s": 1_000, "ms": 1_000_000,
        "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
    ]
}

/// Go's `strconv.Quote`, close enough for error messages.
func goQuote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7f {
                out += "\\x" + hex2(UInt8(scalar.value))
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

private func hex2(_ b: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(b >> 4)], digits[Int(b & 0xf)]])
}

/// Go's `strconv.Atoi`: optional sign and decimal digits only, within `Int` range.
func goAtoi(_ s: String) -> Int? {
    var body = Substring(s)
    var neg = false
    if let f = body.first, f == "+" || f == "-" {
        neg = f == "-"
        body = body.dropFirst()
    }
    guard !body.isEmpty, body.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
    guard let magnitude = Int(body) else { return nil }
    return neg ? -magnitude : magnitude
}

/// Go's `url.ParseQuery` followed by `Values.Get`: pairs separated by `&`, split at the first
/// `=`, `+` and `%XX` decoded. Pairs with a `;` in the key or a bad escape are skipped.
struct GoQuery {
    private(set) var values: [String: [String]] = [:]

    init(rawQuery: Substring) {
        for pair in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let key: Substring
            let value: Substring
            if let eq = pair.firstIndex(of: "=") {
                key = pair[..<eq]
                value = pair[pair.index(after: eq)...]
            } else {
                key = pair
                value = ""
            }
            if key.contains(";") { continue }
            guard let k = GoQuery.unescape(key), let v = GoQuery.unescape(value) else { continue }
            values[k, default: []].append(v)
        }
    }

    /// The query of a raw request target (`/p?a=b` → `a=b`).
    init(target: String) {
        if let q = target.firstIndex(of: "?") {
            self.init(rawQuery: target[target.index(after: q)...])
        } else {
            self.init(rawQuery: "")
        }
    }

    /// The first value, or nil when the key is absent (`Values.Get` returns "" for both).
    func first(_ key: String) -> String? { values[key]?.first }

    static func unescape(_ s: Substring) -> String? {
        var out: [UInt8] = []
        let bytes = Array(s.utf8)
        var i = 0
        func hexValue(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let h = hexValue(bytes[i + 1]), let l = hexValue(bytes[i + 2]) else {
                    return nil
                }
                out.append(h << 4 | l)
                i += 3
            } else if c == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
                i += 1
            } else {
                out.append(c)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// RFC 7230 token characters (Go's `httpguts.IsTokenRune`).
func isTokenByte(_ c: UInt8) -> Bool {
    switch c {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
         UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    default:
        return "!#$%&'*+-.^_`|~".utf8.contains(c)
    }
}

func isToken(_ s: some StringProtocol) -> Bool {
    !s.isEmpty && s.utf8.allSatisfy(isTokenByte)
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: the first letter and every letter after a `-` are
/// upper-cased, the rest lower-cased; a name with a non-token byte is returned unchanged.
func canonicalHeaderName(_ name: String) -> String {
    let bytes = Array(name.utf8)
    guard bytes.allSatisfy(isTokenByte) else { return name }
    var upper = true
    var out = [UInt8]()
    out.reserveCapacity(bytes.count)
    for var c in bytes {
        if upper, c >= UInt8(ascii: "a"), c <= UInt8(ascii: "z") {
            c -= 32
        } else if !upper, c >= UInt8(ascii: "A"), c <= UInt8(ascii: "Z") {
            c += 32
        }
        out.append(c)
        upper = c == UInt8(ascii: "-")
    }
    return String(decoding: out, as: UTF8.self)
}

/// Byte-wise string ordering (Go's `sort.Strings`).
func goLess(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

/// A JSON string literal the way Go's `encoding/json` writes it (HTML-safe escaping of `<`, `>`,
/// `&`, and U+2028/U+2029).
func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "<": out += "\\u003c"
        case ">": out += "\\u003e"
        case "&": out += "\\u0026"
        case "\u{2028}": out += "\\u2028"
        case "\u{2029}": out += "\\u2029"
        default:
            if scalar.value < 0x20 {
                out += "\\u00" + hex2(UInt8(scalar.value))
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// Trims HTTP optional whitespace (space and tab).
func trimOWS(_ s: some StringProtocol) -> String {
    trimScalars(s) { $0 == " " || $0 == "\t" }
}

/// Go's `strings.TrimSpace` (ASCII whitespace is enough here).
func trimSpace(_ s: some StringProtocol) -> String {
    trimScalars(s) { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}" }
}

private func trimScalars(_ s: some StringProtocol, _ strip: (Unicode.Scalar) -> Bool) -> String {
    var view = Substring(s).unicodeScalars
    while let f = view.first, strip(f) { view = view.dropFirst() }
    while let l = view.last, strip(l) { view = view.dropLast() }
    return String(view)
}
