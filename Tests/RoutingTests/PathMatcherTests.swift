import IR
import Testing
@testable import Routing

/// HTTPPathMatch: Exact, PathPrefix (element by element) and RegularExpression (whole path).
@Suite struct PathMatcherTests {
    func matches(_ ir: PathMatchIR, _ path: String) -> Bool { PathMatcher(ir).matches(path) }

    // MARK: Exact

    @Test("Exact matches only the identical path (HTTPRouteExactPathMatching)",
          arguments: [("/one", true), ("/", false), ("/one/example", false), ("/one/", false), ("/One", false), ("/onex", false)])
    func exact(path: String, expected: Bool) {
        #expect(matches(.exact(value: "/one"), path) == expected)
    }

    @Test("Exact /two does not match /two/ or /Two (HTTPRouteExactPathMatching cases)")
    func exactIsCaseAndSlashSensitive() {
        #expect(matches(.exact(value: "/two"), "/two"))
        #expect(!matches(.exact(value: "/two"), "/two/"))
        #expect(!matches(.exact(value: "/two"), "/Two"))
    }

    // MARK: PathPrefix

    @Test("PathPrefix /v2 is segment-aware: /v2, /v2/, /v2/x match; /v2example, /foo/v2/example, / do not",
          arguments: [("/v2", true), ("/v2/", true), ("/v2/x", true), ("/v2/example/deeper", true),
                      ("/v2example", false), ("/foo/v2/example", false), ("/", false), ("/v", false), ("/V2", false)])
    func prefixSegments(path: String, expected: Bool) {
        #expect(matches(.prefix(value: "/v2"), path) == expected)
    }

    @Test("PathPrefix / matches every path", arguments: ["/", "/x", "/v2example", "/a/b/c/", "//"])
    func rootPrefix(path: String) {
        #expect(matches(.prefix(value: "/"), path))
    }

    @Test("PathPrefix with several segments: /abc/def matches /abc/def and /abc/def/g, not /abc/defg or /abc")
    func multiSegmentPrefix() {
        #expect(matches(.prefix(value: "/abc/def"), "/abc/def"))
        #expect(matches(.prefix(value: "/abc/def"), "/abc/def/"))
        #expect(matches(.prefix(value: "/abc/def"), "/abc/def/g"))
        #expect(!matches(.prefix(value: "/abc/def"), "/abc/defg"))
        #expect(!matches(.prefix(value: "/abc/def"), "/abc"))
    }

    /// PathMatchIR.prefix: "A trailing `/` is ignored." HTTPPathModifier/PathPrefix: "When
    /// specified, a trailing `/` is ignored. For example, the paths `/abc`, `/abc/`, and `/abc/def`
    /// would all match the prefix `/abc`" — so the prefix `/abc/` is the prefix `/abc`.
    @Test("PathPrefix with a trailing slash (/abc/) matches /abc, /abc/ and /abc/def but not /abcd")
    func prefixTrailingSlashIgnored() {
        #expect(matches(.prefix(value: "/abc/"), "/abc"))
        #expect(matches(.prefix(value: "/abc/"), "/abc/"))
        #expect(matches(.prefix(value: "/abc/"), "/abc/def"))
        #expect(!matches(.prefix(value: "/abc/"), "/abcd"))
    }

    // MARK: RegularExpression

    @Test("RegularExpression must match the whole path, not a substring",
          arguments: [("/v2", true), ("/v10", true), ("/v2/x", false), ("/api/v2", false), ("/v", false)])
    func regexFullMatch(path: String, expected: Bool) {
        #expect(matches(.regularExpression(pattern: "/v[0-9]+"), path) == expected)
    }

    @Test("An alternation is anchored as a whole: /a|/b does not match /a/b or /xb")
    func regexAlternationAnchored() {
        let re = PathMatchIR.regularExpression(pattern: "/a|/b")
        #expect(matches(re, "/a"))
        #expect(matches(re, "/b"))
        #expect(!matches(re, "/a/b"))
        #expect(!matches(re, "/xb"))
        #expect(!matches(re, "/ab"))
    }

    @Test("A regular expression that matches a prefix only does not match: /foo.* vs /bar/foo")
    func regexNotSearch() {
        #expect(matches(.regularExpression(pattern: "/foo.*"), "/foo/bar"))
        #expect(!matches(.regularExpression(pattern: "/foo.*"), "/bar/foo"))
    }

    @Test("A full match ends at the end of the input, not before a trailing line terminator")
    func regexDollarIsEndOfInput() {
        #expect(!matches(.regularExpression(pattern: "/v2"), "/v2\n"))
    }

    @Test("An invalid regular expression never matches")
    func invalidRegex() {
        #expect(!matches(.regularExpression(pattern: "/(unclosed"), "/(unclosed"))
        #expect(!matches(.regularExpression(pattern: "["), "/"))
    }
}
