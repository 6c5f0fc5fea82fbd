import IR
import Testing
@testable import Routing

/// RequestHeaderModifier / ResponseHeaderModifier (HTTPHeaderFilter) against the spec examples and
/// the HTTPRouteRequestHeaderModifier / HTTPRouteResponseHeaderModifier / HTTPRouteRewriteHost /
/// MeshHTTPRouteRewritePath conformance expectations.
@Suite struct HeaderModifierTests {
    func apply(_ m: HeaderModifierIR, _ input: HeaderList) -> HeaderList {
        var h = input
        Filters.apply(m, to: &h)
        return h
    }

    func h(_ name: String, _ value: String) -> HeaderIR { HeaderIR(name: name, value: value) }

    // MARK: Spec examples

    @Test("Spec example — set: `my-header: foo` + set my-header: bar → `my-header: bar`")
    func specSet() {
        let out = apply(HeaderModifierIR(set: [h("my-header", "bar")]), headers(["my-header": "foo"]))
        #expect(headerValue(out, "my-header") == "bar")
        #expect(out.count == 1)
    }

    @Test("Spec example — add: `my-header: foo` + add my-header: \"bar,baz\" → `my-header: foo,bar,baz`")
    func specAdd() {
        let out = apply(HeaderModifierIR(add: [h("my-header", "bar,baz")]), headers(["my-header": "foo"]))
        #expect(headerValue(out, "my-header") == "foo,bar,baz")
    }

    @Test("Spec example — remove [my-header1, my-header3] leaves only my-header2")
    func specRemove() {
        let out = apply(HeaderModifierIR(remove: ["my-header1", "my-header3"]),
                        headers(["my-header1": "foo", "my-header2": "bar", "my-header3": "baz"]))
        #expect(out.map(\.name) == ["my-header2"])
        #expect(headerValue(out, "my-header2") == "bar")
    }

    // MARK: HTTPRouteRequestHeaderModifier conformance

    static let multiple = HeaderModifierIR(
        set: [HeaderIR(name: "X-Header-Set-1", value: "header-set-1"), HeaderIR(name: "X-Header-Set-2", value: "header-set-2")],
        add: [HeaderIR(name: "X-Header-Add-1", value: "header-add-1"), HeaderIR(name: "X-Header-Add-2", value: "header-add-2"),
              HeaderIR(name: "X-Header-Add-3", value: "header-add-3")],
        remove: ["X-Header-Remove-1", "X-Header-Remove-2"])

    @Test("/set without the header adds it; other headers are untouched")
    func setAbsent() {
        let out = apply(HeaderModifierIR(set: [h("X-Header-Set", "set-overwrites-values")]), headers(["Some-Other-Header": "val"]))
        #expect(headerValue(out, "Some-Other-Header") == "val")
        #expect(headerValue(out, "X-Header-Set") == "set-overwrites-values")
    }

    @Test("/set overwrites an existing value")
    func setOverwrites() {
        let out = apply(HeaderModifierIR(set: [h("X-Header-Set", "set-overwrites-values")]),
                        headers(["Some-Other-Header": "val", "X-Header-Set": "some-other-value"]))
        #expect(headerValue(out, "Some-Other-Header") == "val")
        #expect(headerValue(out, "X-Header-Set") == "set-overwrites-values")
    }

    @Test("/set replaces every field of the name, whatever their case")
    func setReplacesAllFields() {
        let out = apply(HeaderModifierIR(set: [h("X-Header-Set", "new")]),
                        headers(["x-header-set": "a", "Other": "o", "X-HEADER-SET": "b"]))
        #expect(headerValue(out, "x-header-set") == "new")
        #expect(out.filter { $0.name.lowercased() == "x-header-set" }.count == 1)
        #expect(headerValue(out, "Other") == "o")
    }

    @Test("/add without the header adds it")
    func addAbsent() {
        let out = apply(HeaderModifierIR(add: [h("X-Header-Add", "add-appends-values")]), headers(["Some-Other-Header": "val"]))
        #expect(headerValue(out, "X-Header-Add") == "add-appends-values")
        #expect(headerValue(out, "Some-Other-Header") == "val")
    }

    @Test("/add appends to an existing value: some-other-value,add-appends-values")
    func addAppends() {
        let out = apply(HeaderModifierIR(add: [h("X-Header-Add", "add-appends-values")]),
                        headers(["Some-Other-Header": "val", "X-Header-Add": "some-other-value"]))
        #expect(headerValue(out, "X-Header-Add") == "some-other-value,add-appends-values")
        #expect(headerValue(out, "Some-Other-Header") == "val")
    }

    @Test("/add appends after every existing field of the name: a,b,c")
    func addAfterRepeatedFields() {
        let out = apply(HeaderModifierIR(add: [h("X-Add", "c")]), headers(["x-add": "a", "X-ADD": "b"]))
        #expect(headerValue(out, "X-Add") == "a,b,c")
    }

    @Test("/remove removes the header")
    func remove() {
        let out = apply(HeaderModifierIR(remove: ["X-Header-Remove"]), headers(["X-Header-Remove": "val"]))
        #expect(headerValue(out, "X-Header-Remove") == nil)
        #expect(out.isEmpty)
    }

    @Test("/multiple: set, add and remove together")
    func multipleRequest() {
        let out = apply(Self.multiple, headers(["X-Header-Set-2": "set-val-2", "X-Header-Add-2": "add-val-2",
                                                "X-Header-Remove-2": "remove-val-2", "Another-Header": "another-header-val"]))
        #expect(headerValue(out, "X-Header-Set-1") == "header-set-1")
        #expect(headerValue(out, "X-Header-Set-2") == "header-set-2")
        #expect(headerValue(out, "X-Header-Add-1") == "header-add-1")
        #expect(headerValue(out, "X-Header-Add-2") == "add-val-2,header-add-2")
        #expect(headerValue(out, "X-Header-Add-3") == "header-add-3")
        #expect(headerValue(out, "Another-Header") == "another-header-val")
        #expect(headerValue(out, "X-Header-Remove-1") == nil)
        #expect(headerValue(out, "X-Header-Remove-2") == nil)
    }

    @Test("/case-insensitivity: lower-case request headers are set, appended to and removed by mixed-case names")
    func caseInsensitivityRequest() {
        let m = HeaderModifierIR(set: [h("X-Header-Set", "header-set")], add: [h("X-Header-Add", "header-add")],
                                 remove: ["X-Header-Remove"])
        let out = apply(m, headers(["x-header-set": "original-val-set", "x-header-add": "original-val-add",
                                    "x-header-remove": "original-val-remove", "Another-Header": "another-header-val"]))
        #expect(headerValue(out, "X-Header-Set") == "header-set")
        #expect(headerValue(out, "X-Header-Add") == "original-val-add,header-add")
        #expect(headerValue(out, "Another-Header") == "another-header-val")
        #expect(!out.contains { $0.name.lowercased() == "x-header-remove" })
    }

    // MARK: HTTPRouteResponseHeaderModifier conformance

    @Test("Response /multiple: X-Header-Remove-1 set by the backend is removed too")
    func multipleResponse() {
        let out = apply(Self.multiple, headers(["X-Header-Set-2": "set-val-2", "X-Header-Add-2": "add-val-2",
                                                "X-Header-Remove-2": "remove-val-2", "Another-Header": "another-header-val",
                                                "X-Header-Remove-1": "val"]))
        #expect(headerValue(out, "X-Header-Set-1") == "header-set-1")
        #expect(headerValue(out, "X-Header-Set-2") == "header-set-2")
        #expect(headerValue(out, "X-Header-Add-1") == "header-add-1")
        #expect(headerValue(out, "X-Header-Add-2") == "add-val-2,header-add-2")
        #expect(headerValue(out, "X-Header-Add-3") == "header-add-3")
        #expect(headerValue(out, "Another-Header") == "another-header-val")
        #expect(headerValue(out, "X-Header-Remove-1") == nil)
        #expect(headerValue(out, "X-Header-Remove-2") == nil)
    }

    @Test("Response /case-insensitivity: adds with lower, mixed and upper case names")
    func caseInsensitivityResponse() {
        let m = HeaderModifierIR(set: [h("X-Header-Set", "header-set")],
                                 add: [h("X-Header-Add", "header-add"), h("x-lowercase-add", "lowercase-add"),
                                       h("x-Mixedcase-ADD-1", "mixedcase-add-1"), h("X-mixeDcase-add-2", "mixedcase-add-2"),
                                       h("X-UPPERCASE-ADD", "uppercase-add")],
                                 remove: ["X-Header-Remove"])
        let out = apply(m, headers(["x-header-set": "original-val-set", "x-header-add": "original-val-add",
                                    "x-header-remove": "original-val-remove", "Another-Header": "another-header-val"]))
        #expect(headerValue(out, "X-Header-Set") == "header-set")
        #expect(headerValue(out, "X-Header-Add") == "original-val-add,header-add")
        #expect(headerValue(out, "X-Lowercase-Add") == "lowercase-add")
        #expect(headerValue(out, "X-Mixedcase-Add-1") == "mixedcase-add-1")
        #expect(headerValue(out, "X-Mixedcase-Add-2") == "mixedcase-add-2")
        #expect(headerValue(out, "X-Uppercase-Add") == "uppercase-add")
        #expect(headerValue(out, "Another-Header") == "another-header-val")
        #expect(headerValue(out, "x-header-remove") == nil)
    }

    @Test("HTTPRouteRewriteHost / MeshHTTPRouteRewritePath: X-Header-Add-Append: append-val-1,header-val-2")
    func rewriteAndModify() {
        let m = HeaderModifierIR(set: [h("X-Header-Set", "set-overwrites-values")],
                                 add: [h("X-Header-Add", "header-val-1"), h("X-Header-Add-Append", "header-val-2")],
                                 remove: ["X-Header-Remove"])
        let out = apply(m, headers(["X-Header-Remove": "remove-val", "X-Header-Add-Append": "append-val-1", "X-Header-Set": "set-val"]))
        #expect(headerValue(out, "X-Header-Add") == "header-val-1")
        #expect(headerValue(out, "X-Header-Add-Append") == "append-val-1,header-val-2")
        #expect(headerValue(out, "X-Header-Set") == "set-overwrites-values")
        #expect(headerValue(out, "X-Header-Remove") == nil)
    }

    @Test("The order of unrelated header fields is preserved")
    func orderPreserved() {
        let out = apply(HeaderModifierIR(add: [h("b", "2")], remove: ["c"]), headers(["a": "1", "b": "1", "c": "x", "d": "4"]))
        #expect(out.map(\.name) == ["a", "b", "d"])
        #expect(out.map(\.value) == ["1", "1,2", "4"])
    }

    @Test("An empty modifier changes nothing")
    func emptyModifier() {
        let input = headers(["A": "1", "a": "2"])
        let out = apply(HeaderModifierIR(), input)
        #expect(out.map(\.name) == input.map(\.name))
        #expect(out.map(\.value) == input.map(\.value))
    }

    // MARK: Equivalent names within one list

    /// HTTPHeader `name`: "If multiple entries specify equivalent header names, the first entry with
    /// an equivalent name MUST be considered for a match. Subsequent entries with an equivalent
    /// header name MUST be ignored. Due to the case-insensitivity of header names, "foo" and "Foo"
    /// are considered equivalent." (Both `set` and `add` items carry this text.)
    @Test("set with equivalent names (X-Foo, x-foo): only the first entry counts")
    func setEquivalentNamesFirstWins() {
        let out = apply(HeaderModifierIR(set: [h("X-Foo", "first"), h("x-foo", "second")]), headers(["X-Foo": "orig"]))
        #expect(headerValue(out, "x-foo") == "first")
    }

    @Test("add with equivalent names (X-Foo, x-foo): only the first entry counts")
    func addEquivalentNamesFirstWins() {
        let out = apply(HeaderModifierIR(add: [h("X-Foo", "first"), h("x-foo", "second")]), headers(["X-Foo": "orig"]))
        #expect(headerValue(out, "x-foo") == "orig,first")
    }
}
