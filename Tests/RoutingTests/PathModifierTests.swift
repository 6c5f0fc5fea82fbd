import IR
import Testing
@testable import Routing

/// Filters.modifiedPath: HTTPPathModifier ReplaceFullPath / ReplacePrefixMatch.
@Suite struct PathModifierTests {
    struct Case: Sendable, CustomStringConvertible {
        var path: String, prefix: String, replacement: String, expected: String
        init(_ path: String, _ prefix: String, _ replacement: String, _ expected: String) {
            self.path = path
            self.prefix = prefix
            self.replacement = replacement
            self.expected = expected
        }
        var description: String { "\(path) | \(prefix) | \"\(replacement)\" → \(expected)" }
    }

    /// The `replacePrefixMatch` table of HTTPPathModifier (apis/v1/httproute_types.go; the CRD
    /// description in gateway-api-spec is cut off after the table header):
    ///
    ///     Request Path | Prefix Match | Replace Prefix | Modified Path
    ///     /foo/bar     | /foo         | /xyz           | /xyz/bar
    ///     /foo/bar     | /foo         | /xyz/          | /xyz/bar
    ///     /foo/bar     | /foo/        | /xyz           | /xyz/bar
    ///     /foo/bar     | /foo/        | /xyz/          | /xyz/bar
    ///     /foo         | /foo         | /xyz           | /xyz
    ///     /foo/        | /foo         | /xyz           | /xyz/
    ///     /foo/bar     | /foo         | <empty string> | /bar
    ///     /foo/        | /foo         | <empty string> | /
    ///     /foo         | /foo         | <empty string> | /
    ///     /foo/        | /foo         | /              | /
    ///     /foo         | /foo         | /              | /
    static let specTable: [Case] = [
        Case("/foo/bar", "/foo", "/xyz", "/xyz/bar"),
        Case("/foo/bar", "/foo", "/xyz/", "/xyz/bar"),
        Case("/foo/bar", "/foo/", "/xyz", "/xyz/bar"),
        Case("/foo/bar", "/foo/", "/xyz/", "/xyz/bar"),
        Case("/foo", "/foo", "/xyz", "/xyz"),
        Case("/foo/", "/foo", "/xyz", "/xyz/"),
        Case("/foo/bar", "/foo", "", "/bar"),
        Case("/foo/", "/foo", "", "/"),
        Case("/foo", "/foo", "", "/"),
        Case("/foo/", "/foo", "/", "/"),
        Case("/foo", "/foo", "/", "/"),
    ]

    @Test("ReplacePrefixMatch: every row of the HTTPPathModifier table", arguments: specTable)
    func specRows(c: Case) {
        #expect(Filters.modifiedPath(c.path, .replacePrefixMatch(matchedPrefix: c.prefix, replacement: c.replacement)) == c.expected)
    }

    @Test("ReplacePrefixMatch: the prose example /foo/bar, prefix /foo, replacement /xyz → /xyz/bar")
    func proseExample() {
        #expect(Filters.modifiedPath("/foo/bar", .replacePrefixMatch(matchedPrefix: "/foo", replacement: "/xyz")) == "/xyz/bar")
    }

    /// MeshHTTPRouteRewritePath (declared in the Go test) and GEP-696's examples.
    static let rewriteCases: [Case] = [
        Case("/prefix/one/two", "/prefix/one", "/one", "/one/two"),
        Case("/strip-prefix/three", "/strip-prefix", "/", "/three"),
        Case("/strip-prefix", "/strip-prefix", "/", "/"),
        Case("/prefix/rewrite-path-and-modify-headers/one", "/prefix/rewrite-path-and-modify-headers", "/prefix", "/prefix/one"),
    ]

    @Test("ReplacePrefixMatch: MeshHTTPRouteRewritePath cases", arguments: rewriteCases)
    func rewriteConformance(c: Case) {
        #expect(Filters.modifiedPath(c.path, .replacePrefixMatch(matchedPrefix: c.prefix, replacement: c.replacement)) == c.expected)
    }

    /// MeshHTTPRouteRedirectPath (declared Location paths).
    static let redirectCases: [Case] = [
        Case("/original-prefix/lemon", "/original-prefix", "/replacement-prefix", "/replacement-prefix/lemon"),
        Case("/path-and-host", "/path-and-host", "/replacement-prefix", "/replacement-prefix"),
        Case("/path-and-status", "/path-and-status", "/replacement-prefix", "/replacement-prefix"),
    ]

    @Test("ReplacePrefixMatch: MeshHTTPRouteRedirectPath cases", arguments: redirectCases)
    func redirectConformance(c: Case) {
        #expect(Filters.modifiedPath(c.path, .replacePrefixMatch(matchedPrefix: c.prefix, replacement: c.replacement)) == c.expected)
    }

    @Test("ReplaceFullPath replaces the whole path (conformance: /full/one/two → /one, /full/path/original → /full-path-replacement)")
    func fullPath() {
        #expect(Filters.modifiedPath("/full/one/two", .replaceFullPath(path: "/one")) == "/one")
        #expect(Filters.modifiedPath("/full/rewrite-path-and-modify-headers/test", .replaceFullPath(path: "/test")) == "/test")
        #expect(Filters.modifiedPath("/full/path/original", .replaceFullPath(path: "/full-path-replacement")) == "/full-path-replacement")
        #expect(Filters.modifiedPath("/full-path-and-host", .replaceFullPath(path: "/replacement-full")) == "/replacement-full")
        #expect(Filters.modifiedPath("/anything/", .replaceFullPath(path: "/")) == "/")
    }

    @Test("Prefix / (a rule without path match) keeps the whole path after the replacement")
    func rootPrefix() {
        #expect(Filters.modifiedPath("/foo/bar", .replacePrefixMatch(matchedPrefix: "/", replacement: "/xyz")) == "/xyz/foo/bar")
        #expect(Filters.modifiedPath("/foo/bar", .replacePrefixMatch(matchedPrefix: "/", replacement: "/")) == "/foo/bar")
        #expect(Filters.modifiedPath("/", .replacePrefixMatch(matchedPrefix: "/", replacement: "/")) == "/")
        #expect(Filters.modifiedPath("/foo", .replacePrefixMatch(matchedPrefix: "/", replacement: "/xyz/")) == "/xyz/foo")
        #expect(Filters.modifiedPath("/foo", .replacePrefixMatch(matchedPrefix: "/", replacement: "")) == "/foo")
    }

    @Test("Replacement / with trailing slashes on the request path")
    func replacementSlash() {
        #expect(Filters.modifiedPath("/foo/bar/", .replacePrefixMatch(matchedPrefix: "/foo", replacement: "/")) == "/bar/")
        #expect(Filters.modifiedPath("/foo/bar/", .replacePrefixMatch(matchedPrefix: "/foo", replacement: "/xyz")) == "/xyz/bar/")
        #expect(Filters.modifiedPath("/foo/bar", .replacePrefixMatch(matchedPrefix: "/foo", replacement: "/x/y")) == "/x/y/bar")
    }

    /// "When specified, a trailing `/` is ignored. For example, the paths `/abc`, `/abc/`, and
    /// `/abc/def` would all match the prefix `/abc`": `/foo` matches the prefix `/foo/`.
    @Test("ReplacePrefixMatch with prefix /foo/ (trailing slash ignored) rewrites /foo → /xyz and /foo/ → /xyz/")
    func prefixWithTrailingSlashOnShortPath() {
        #expect(Filters.modifiedPath("/foo", .replacePrefixMatch(matchedPrefix: "/foo/", replacement: "/xyz")) == "/xyz")
        #expect(Filters.modifiedPath("/foo/", .replacePrefixMatch(matchedPrefix: "/foo/", replacement: "/xyz")) == "/xyz/")
    }
}
