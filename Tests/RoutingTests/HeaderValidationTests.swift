import Testing
@testable import Routing

/// Filters.isSafeHeaderValue / isValidHeaderName.
@Suite struct HeaderValidationTests {
    @Test("Values with CR, LF or NUL are unsafe", arguments: ["a\rb", "a\nb", "a\r\nX-Injected: 1", "a\u{0}b", "\n", "end\r"])
    func unsafeValues(v: String) {
        #expect(!Filters.isSafeHeaderValue(v))
    }

    @Test("Ordinary values, including spaces, tabs, commas, quotes and non-ASCII, are safe",
          arguments: ["", "set-overwrites-values", "append-val-1,header-val-2", "a b\tc", "\"quoted\"", "é ü 漢", "x=1; y=2"])
    func safeValues(v: String) {
        #expect(Filters.isSafeHeaderValue(v))
    }

    @Test("RFC 9110 token names are valid",
          arguments: ["Authorization", "Set-Cookie", "X-Header-Add-Append", "x", "0", "!#$%&'*+-.^_`|~", "a1.B2_c3"])
    func validNames(n: String) {
        #expect(Filters.isValidHeaderName(n))
    }

    @Test("Empty names, pseudo-headers, separators, spaces, controls and non-ASCII are invalid",
          arguments: ["", ":method", "/invalid", "a b", "a:b", "a\tb", "a\nb", "a\rb", "\"q\"", "(x)", "a,b", "a;b",
                      "a=b", "a@b", "[x]", "{x}", "a\\b", "é", "a\u{0}", "a\u{7F}"])
    func invalidNames(n: String) {
        #expect(!Filters.isValidHeaderName(n))
    }
}
