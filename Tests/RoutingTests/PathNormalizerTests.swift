import Testing
@testable import Routing

/// Path normalisation before routing (issue: path traversal past a PathPrefix). Each case names the
/// RFC 3986 rule or the attack it checks.
@Suite struct PathNormalizerTests {
    typealias N = PathNormalizer
    func norm(_ p: String, _ o: N.Options = N.Options()) -> N.Result { N.normalize(p[...], o) }

    @Test("RFC 3986 §5.2.4 remove_dot_segments examples",
          arguments: [("/a/b/c/./../../g", "/a/g"), ("/a/b/c/../../../g", "/g"), ("/a/b/c/../../../../g", "/g"),
                      ("/./g", "/g"), ("/../g", "/g"), ("/g.", "/g."), ("/.g", "/.g"), ("/g..", "/g.."), ("/..g", "/..g"),
                      ("/a/b/.", "/a/b/"), ("/a/b/..", "/a/"), ("/a/b/../", "/a/"), ("/.", "/"), ("/..", "/"), ("/...", "/...")])
    func dotSegments(input: String, expected: String) {
        #expect(norm(input) == .path(expected))
    }

    @Test("RFC 3986 §6.2.2 example: /./b/../b/%63/%7bfoo%7d → /b/c/%7Bfoo%7D (case, unreserved decoding, dot-segments)")
    func rfcNormalizationExample() {
        #expect(norm("/./b/../b/%63/%7bfoo%7d") == .path("/b/c/%7Bfoo%7D"))
    }

    @Test("Traversal past a PathPrefix is resolved before routing",
          arguments: [("/public/../admin/secret.txt", "/admin/secret.txt"), ("/public/%2e%2e/admin/secret.txt", "/admin/secret.txt"),
                      ("/public/%2E%2E/admin/secret.txt", "/admin/secret.txt"), ("/public/.%2e/admin", "/admin"),
                      ("/x/../admin/x", "/admin/x"), ("/%61dmin/x", "/admin/x"), ("/public/%2e/x", "/public/x")])
    func traversal(input: String, expected: String) {
        #expect(norm(input) == .path(expected))
    }

    @Test("Encoded slash: ..%2f is redirected to the resolved path by default, never routed as one segment")
    func encodedSlashRedirect() {
        #expect(norm("/public/..%2fadmin/secret.txt") == .redirect("/admin/secret.txt"))
        #expect(norm("/a%2Fb") == .redirect("/a/b"))
        #expect(norm("/a%5cb") == .redirect("/a/b"))
        #expect(norm("/a\\..\\admin") == .redirect("/admin"))
    }

    @Test("Encoded slash: reject answers 400, keep leaves it inside its segment")
    func encodedSlashOtherActions() {
        var reject = N.Options(); reject.escapedSlashes = .reject
        #expect(norm("/public/..%2fadmin", reject) == .reject("encoded slash or backslash in the path"))
        #expect(norm("/a\\b", reject) == .reject("backslash in the path"))
        var keep = N.Options(); keep.escapedSlashes = .keep
        #expect(norm("/public/..%2fadmin", keep) == .path("/public/..%2Fadmin"))
        #expect(norm("/a\\b", keep) == .path("/a%5Cb"))
    }

    @Test("Merged slashes (after dot-segments, as Envoy orders them)")
    func mergeSlashes() {
        #expect(norm("//admin///x") == .path("/admin/x"))
        #expect(norm("/a//../b") == .path("/a/b"))
        var off = N.Options(); off.mergeSlashes = false
        #expect(norm("//admin", off) == .path("//admin"))
    }

    @Test("Other percent-encodings keep their octet, upper-case; invalid ones are refused",
          arguments: [("/a%20b", N.Result.path("/a%20b")), ("/caf%c3%a9", .path("/caf%C3%A9")), ("/%41%42%7E", .path("/AB~")),
                      ("/a%2", .reject("invalid percent-encoding")), ("/a%", .reject("invalid percent-encoding")),
                      ("/a%zz", .reject("invalid percent-encoding")), ("/a%00b", .path("/a%00b"))])
    func percentEncoding(input: String, expected: N.Result) {
        #expect(norm(input) == expected)
    }

    @Test("Octets not allowed in a path are encoded; controls and spaces are refused")
    func octets() {
        #expect(norm("/a|b\"c<d>") == .path("/a%7Cb%22c%3Cd%3E"))
        #expect(norm("/é") == .path("/%C3%A9"))
        #expect(norm("/a b") == .reject("control character or space in the path"))
        #expect(norm("/a\u{7f}") == .reject("control character or space in the path"))
        #expect(norm("a/b") == .reject("the path does not start with /"))
        #expect(norm("*") == .reject("the path does not start with /"))
    }

    @Test("Each step can be turned off")
    func stepsOff() {
        var o = N.Options(); o.decodeUnreserved = false
        #expect(norm("/%61dmin/%2e%2e/x", o) == .path("/%61dmin/%2E%2E/x"))
        o = N.Options(); o.removeDotSegments = false
        #expect(norm("/public/../admin", o) == .path("/public/../admin"))
        #expect(norm("/public/%2e%2e/admin", .raw) == .path("/public/%2E%2E/admin"))
    }

    @Test("Normal paths pass unchanged, and normalising twice changes nothing",
          arguments: ["/", "/a", "/a/", "/a/b.c", "/a/.b/..c/...", "/a;b=c/d:e@f", "/public/..%2fadmin", "/x/%2e%2e/y//z/./",
                      "/%7bfoo%7d/%c3%a9", "/a\\..\\..\\b"])
    func idempotent(path: String) {
        let once = norm(path)
        switch once {
        case .path(let p), .redirect(let p): #expect(norm(p) == .path(p))
        case .reject: Issue.record("unexpected rejection of \(path)")
        }
        if N.isAlreadyNormal(path[...].utf8) { #expect(once == .path(path)) }
    }
}
