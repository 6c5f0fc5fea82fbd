import Foundation

/// A hand-written Swift implementation of one CEL `x-kubernetes-validations` rule of the CRDs.
public struct CELCheck: Sendable {
    /// Evaluates the rule with CEL `self` bound to `value`; true = valid.
    public let check: @Sendable (Value) -> Bool
    /// Transition rules read `oldSelf`; the API server only evaluates them on update. (Sluice loads
    /// objects as creations, so the validator skips these; they are still listed for coverage.)
    public let isTransitionRule: Bool
}

/// Every CEL rule of the Gateway API CRDs, each written by hand as a Swift closure.
///
/// Sluice does not embed a CEL interpreter: the CRDs carry a closed set of ~90 rules, so each one is
/// translated once, next to its message, and a test fails if a CRD ever carries a rule that has no
/// translation here. The rules live in `CELRules+Gateway.swift` (GatewayClass, Gateway, ListenerSet,
/// BackendTLSPolicy), `CELRules+Routes.swift` (what all routes share, GRPCRoute, TLSRoute) and
/// `CELRules+HTTPRoute.swift`.
///
/// ## How CEL semantics are kept
/// - `has(self.x)` is `self.has("x")` (present and non-null), `self.x` on a field that may be absent
///   is `try self.celField("x")`: CEL raises "no such key" there, modelled as a thrown
///   `CELRules.EvaluationError`. The API server reports a rule that fails to evaluate as a
///   violation, so `check` maps a thrown error to `false`. The fields read that way are required or
///   defaulted by the schema at that point (defaults are applied before CEL runs), so an error only
///   happens on objects the schema rejects anyway. Optional fields are always read behind `has()`,
///   exactly like the rules do, or the deviation is explained at the rule.
/// - CEL's `&&`/`||` are commutative over errors (`false && error` is `false`, `true || error` is
///   `true`). Swift's are not, so in every conjunction the operands that cannot throw come first;
///   where both sides can throw, `CELRules.and`/`or` evaluate both like CEL does.
/// - Macros keep their error semantics: `all` is false if any element is false even when others
///   fail to evaluate, `exists` is true if any is true, `exists_one` and `filter` propagate errors
///   (`Array.celAll`, `celExists`, `celExistsOne`, `celFilterCount`).
/// - Strings are compared code point by code point, like CEL (Swift's `==` uses canonical
///   equivalence): field-to-field comparisons use `CELRules.same`, `contains`/`startsWith`/`endsWith`
///   use `celContains`/`celHasPrefix`/`celHasSuffix`. Comparisons with the rules' string literals use
///   `==`, which is exact for them: the only non-ASCII characters canonically equivalent to ASCII are
///   U+212A (K), U+037E (;) and U+1FEF (`), and no literal contains K, `;` or a backtick.
/// - `matches` is RE2, i.e. a partial match unless the pattern anchors (`CELRegex`).
public enum CELRules {
    /// Keyed by the exact rule text as it appears in the CRD.
    public static let byRule: [String: CELCheck] = Dictionary(
        entries.map { ($0.rule, $0.check) }, uniquingKeysWith: { first, _ in first })

    /// Every rule with a short name (used by the tests' example table), in CRD order.
    static let entries: [Entry] = gatewayEntries + routeEntries + httpRouteEntries

    /// One translated rule.
    struct Entry: Sendable {
        /// Short unique identifier of the rule (the CRD messages are not unique).
        let name: String
        /// The rule text, verbatim.
        let rule: String
        let check: CELCheck
    }

    /// A CEL evaluation error (e.g. "no such key"); the rule then counts as violated.
    struct EvaluationError: Error {
        var reason: String
    }

    /// A non-transition rule; a thrown `EvaluationError` means "invalid".
    static func entry(_ name: String, _ rule: String,
                      _ body: @escaping @Sendable (Value) throws -> Bool) -> Entry {
        Entry(name: name, rule: rule,
              check: CELCheck(check: { value in (try? body(value)) ?? false }, isTransitionRule: false))
    }

    /// A transition rule (reads `oldSelf`): never evaluated on creation, so `check` is always true.
    static func transition(_ name: String, _ rule: String) -> Entry {
        Entry(name: name, rule: rule, check: CELCheck(check: { _ in true }, isTransitionRule: true))
    }

    // MARK: - CEL operators with CEL's error semantics

    /// CEL `a && b`: false if either side is false, even when the other fails to evaluate.
    static func and(_ a: @autoclosure () throws -> Bool, _ b: @autoclosure () throws -> Bool) throws -> Bool {
        let left = Result { try a() }
        if case .success(false) = left { return false }
        let right = Result { try b() }
        if case .success(false) = right { return false }
        return try left.get() && right.get()
    }

    /// CEL `a || b`: true if either side is true, even when the other fails to evaluate.
    static func or(_ a: @autoclosure () throws -> Bool, _ b: @autoclosure () throws -> Bool) throws -> Bool {
        let left = Result { try a() }
        if case .success(true) = left { return true }
        let right = Result { try b() }
        if case .success(true) = right { return true }
        return try left.get() || right.get()
    }

    /// CEL `==` on two field values: strings code point by code point, other scalars by value.
    /// `nil` (absent) only equals `nil`, which is what the rules' `has(a.x) && has(b.x) ? a.x == b.x
    /// : !has(a.x) && !has(b.x)` spells out.
    static func same(_ a: Value?, _ b: Value?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case let (x?, y?):
            if let s = x.string, let t = y.string { return s.utf8.elementsEqual(t.utf8) }
            return x == y
        default: return false
        }
    }

    /// The recurring `(!has(a.k) || a.k == blank) && (!has(b.k) || b.k == blank) ||
    /// (has(a.k) && has(b.k) && a.k == b.k)`: both unset (absent or blank), or both set and equal.
    static func bothUnsetOrEqual(_ a: Value, _ b: Value, _ key: String, blank: Value) -> Bool {
        (isUnset(a[key], blank: blank) && isUnset(b[key], blank: blank)) || (a[key] != nil && b[key] != nil && same(a[key], b[key]))
    }

    /// `!has(x.k) || x.k == blank`.
    static func isUnset(_ v: Value?, blank: Value) -> Bool {
        guard let v else { return true }
        return same(v, blank)
    }

    // MARK: - CEL library functions

    /// CEL `duration(s)`: Go's `time.ParseDuration`, in nanoseconds. Throws on a malformed duration
    /// or on overflow, as CEL does.
    static func duration(_ text: String) throws -> Int {
        let units: [String: Int] = [
            "ns": 1, "us": 1_000, "\u{00B5}s": 1_000, "\u{03BC}s": 1_000, "ms": 1_000_000,
            "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
        ]
        let bad = EvaluationError(reason: "invalid duration \(text)")
        var s = Substring(text)
        var negative = false
        if let sign = s.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            s = s.dropFirst()
        }
        if s == "0" { return 0 }
        guard !s.isEmpty else { throw bad }
        let isDigit: (Character) -> Bool = { ("0"..."9").contains($0) }
        var total = 0
        while !s.isEmpty {
            let whole = s.prefix(while: isDigit)
            s = s.dropFirst(whole.count)
            var fraction: Substring = ""
            if s.first == "." {
                s = s.dropFirst()
                fraction = s.prefix(while: isDigit)
                s = s.dropFirst(fraction.count)
            }
            guard !(whole.isEmpty && fraction.isEmpty) else { throw bad }
            let unitText = s.prefix(while: { !isDigit($0) && $0 != "." })
            s = s.dropFirst(unitText.count)
            guard let unit = units[String(unitText)] else { throw bad }
            guard let w = whole.isEmpty ? 0 : Int(whole) else { throw bad }
            var (v, overflow) = w.multipliedReportingOverflow(by: unit)
            guard !overflow else { throw bad }
            if !fraction.isEmpty {
                // Go keeps up to 19 fraction digits and scales through a float64, truncating.
                let digits = fraction.prefix(18)
                let f = Double(Int(digits)!) * (Double(unit) / pow(10, Double(digits.count)))
                (v, overflow) = v.addingReportingOverflow(Int(f))
                guard !overflow else { throw bad }
            }
            (total, overflow) = total.addingReportingOverflow(v)
            guard !overflow else { throw bad }
        }
        return negative ? -total : total
    }

    /// The Kubernetes CEL library's `isIP(s)`: a valid IPv4 or IPv6 literal (Go's
    /// `netip.ParseAddr`: no leading zeros in IPv4), without an IPv6 zone and not an IPv4-mapped
    /// IPv6 address (both rejected by the Kubernetes library).
    static func isIP(_ s: String) -> Bool {
        if isIPv4(Substring(s)) { return true }
        guard s.contains(":"), !s.contains("%") else { return false }
        var address = in6_addr()
        guard inet_pton(AF_INET6, s, &address) == 1 else { return false }
        // inet_pton accepts an embedded IPv4 part with leading zeros; netip does not.
        if let tail = s.lastIndex(of: ":").map({ s[s.index(after: $0)...] }), tail.contains("."), !isIPv4(tail) {
            return false
        }
        let bytes = withUnsafeBytes(of: &address) { Array($0) }
        let isIPv4Mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
        return !isIPv4Mapped
    }

    /// Dotted-decimal IPv4 as Go's `netip.ParseAddr` reads it.
    private static func isIPv4(_ s: Substring) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in
            (1...3).contains(p.count) && p.allSatisfy { ("0"..."9").contains($0) }
                && Int(p)! <= 255 && !(p.count > 1 && p.first == "0")
        }
    }
}

/// An RE2 pattern as CEL's `matches` uses it: a partial match (unanchored unless the pattern
/// anchors), compiled once. The patterns of the CRDs only use syntax RE2 and ICU read alike, except
/// `$`: without the `m` flag RE2's `$` only matches at the very end of the text, ICU's also before a
/// final line terminator, so `$` outside character classes is rewritten to `\z`.
struct CELRegex: @unchecked Sendable {  // NSRegularExpression is immutable and thread-safe.
    let pattern: String
    private let regex: NSRegularExpression

    init(_ pattern: String) {
        self.pattern = pattern
        do {
            regex = try NSRegularExpression(pattern: CELRegex.icuPattern(pattern))
        } catch {
            preconditionFailure("invalid CEL rule pattern \(pattern): \(error)")
        }
    }

    func matches(_ s: String) -> Bool {
        regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }

    static func icuPattern(_ pattern: String) -> String {
        var out = ""
        var escaped = false
        var inClass = false
        for c in pattern {
            if escaped {
                out.append(c)
                escaped = false
                continue
            }
            switch c {
            case "\\": escaped = true; out.append(c)
            case "[" where !inClass: inClass = true; out.append(c)
            case "]" where inClass: inClass = false; out.append(c)
            case "$" where !inClass: out += "\\z"
            default: out.append(c)
            }
        }
        return out
    }
}

// MARK: - Reading `self` the way CEL does

extension Value {
    /// CEL `self.key`: raises "no such key" when the field is absent (or null).
    func celField(_ key: String) throws -> Value {
        guard let v = self[key] else { throw CELRules.EvaluationError(reason: "no such key: \(key)") }
        return v
    }

    /// CEL `self.key` where the field is a string.
    func celString(_ key: String) throws -> String {
        try celField(key).celString()
    }

    /// CEL `self.key` where the field is an integer.
    func celInt(_ key: String) throws -> Int {
        guard let i = try celField(key).int else { throw CELRules.EvaluationError(reason: "\(key) is not an int") }
        return i
    }

    /// CEL `self.key` where the field is a list.
    func celList(_ key: String) throws -> [Value] {
        try celField(key).celList()
    }

    /// `self` as a CEL string.
    func celString() throws -> String {
        guard let s = string else { throw CELRules.EvaluationError(reason: "not a string: \(typeName)") }
        return s
    }

    /// `self` as a CEL list.
    func celList() throws -> [Value] {
        guard let a = array else { throw CELRules.EvaluationError(reason: "not a list: \(typeName)") }
        return a
    }

    /// The keys of `self` as a CEL map (what `self.all(key, ...)` iterates).
    func celMapKeys() throws -> [String] {
        guard let o = object else { throw CELRules.EvaluationError(reason: "not a map: \(typeName)") }
        return o.keys
    }

    /// `!has(self.key) || self.key == ''`.
    func celIsBlank(_ key: String) -> Bool {
        CELRules.isUnset(self[key], blank: .string(""))
    }
}

extension Array where Element == Value {
    /// CEL `list.all(x, p)`: false if `p` is false for any element (even if it fails for another),
    /// else an error if it failed for any, else true.
    func celAll(_ predicate: (Value) throws -> Bool) throws -> Bool {
        var failure: Error?
        for e in self {
            do {
                if try !predicate(e) { return false }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return true
    }

    /// CEL `list.exists(x, p)`: true if `p` is true for any element (even if it fails for another),
    /// else an error if it failed for any, else false.
    func celExists(_ predicate: (Value) throws -> Bool) throws -> Bool {
        var failure: Error?
        for e in self {
            do {
                if try predicate(e) { return true }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return false
    }

    /// CEL `list.exists_one(x, p)`: `p` holds for exactly one element; any error propagates.
    func celExistsOne(_ predicate: (Value) throws -> Bool) throws -> Bool {
        try celFilterCount(predicate) == 1
    }

    /// CEL `list.filter(x, p).size()`; any error propagates.
    func celFilterCount(_ predicate: (Value) throws -> Bool) throws -> Int {
        try reduce(0) { count, e in try predicate(e) ? count + 1 : count }
    }

    /// Throws unless every element has `keys`. For rules comparing every element with every element
    /// (`all`/`all` or `all`/`exists_one`) on keys that are required or defaulted: an element
    /// missing one makes the pair (element, element) raise "no such key", so the rule fails
    /// whatever the other pairs give, and the comparisons can then read the keys directly.
    func celRequireEach(_ keys: String...) throws {
        for e in self {
            for k in keys where e[k] == nil {
                throw CELRules.EvaluationError(reason: "no such key: \(k)")
            }
        }
    }
}

extension String {
    /// CEL `s.contains(t)`, code point by code point (UTF-8 bytes compare the same way).
    func celContains(_ t: String) -> Bool {
        let hay = Array(utf8), needle = Array(t.utf8)
        guard !needle.isEmpty else { return true }
        guard hay.count >= needle.count else { return false }
        return (0...(hay.count - needle.count)).contains { hay[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    /// CEL `s.startsWith(t)`, code point by code point.
    func celHasPrefix(_ t: String) -> Bool { utf8.starts(with: t.utf8) }

    /// CEL `s.endsWith(t)`, code point by code point.
    func celHasSuffix(_ t: String) -> Bool { utf8.reversed().starts(with: t.utf8.reversed()) }

    /// CEL `s.substring(n)` (code points); throws when `n` is past the end.
    func celSubstring(_ n: Int) throws -> String {
        guard n <= unicodeScalars.count else { throw CELRules.EvaluationError(reason: "substring index out of range") }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: unicodeScalars.dropFirst(n))
        return String(scalars)
    }
}
