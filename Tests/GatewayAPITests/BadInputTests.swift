import Foundation
import Testing
@testable import GatewayAPI

// MARK: - Helpers (shared ones are in Support.swift)

private func load(_ text: String) -> LoadResult {
    load(text, file: "bad.yaml")
}

// MARK: - Tests

@Suite("Bad input")
struct BadInputTests {

    // MARK: Malformed YAML

    /// The error names the line where the unterminated scalar starts (where the user must look),
    /// and the other documents of the file still load.
    @Test func unclosedQuoteInOneDocument() {
        let text = configMap("first") + """
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: broken
        data:
          greeting: "hello
          other: value
        ---
        """ + "\n" + configMap("last")
        let r = load(text)
        #expect(placed(r) == ["ConfigMap default/first@bad.yaml:1", "ConfigMap default/last@bad.yaml:14"])
        #expect(r.diagnostics.count == 1)
        let d = r.diagnostics.first
        #expect(d?.severity == .error)
        #expect(d?.location == GatewayAPI.SourceLocation(file: "bad.yaml", line: 11))
        #expect(d?.message.contains("quoted scalar") == true)
    }

    /// Same, when the unterminated quote is on the last line of its document (single quotes).
    @Test func unclosedSingleQuoteOnLastLineOfDocument() {
        let text = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: 'broken
        ---
        """ + "\n" + configMap("ok")
        let r = load(text)
        #expect(placed(r) == ["ConfigMap default/ok@bad.yaml:6"])
        #expect(rendered(r) == ["bad.yaml:4: YAML syntax error: found unexpected end of stream while scanning a quoted scalar"])
    }

    @Test func badIndentationInOneDocument() {
        let text = configMap("first") + """
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: broken
         namespace: team
        data: {}
        ---
        """ + "\n" + configMap("last")
        let r = load(text)
        #expect(placed(r) == ["ConfigMap default/first@bad.yaml:1", "ConfigMap default/last@bad.yaml:13"])
        #expect(rendered(r) == ["bad.yaml:10: YAML syntax error: did not find expected key while parsing a block mapping"])
    }

    @Test func overIndentedKeyInOneDocument() {
        let text = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: broken
            namespace: team
        ---
        """ + "\n" + configMap("ok")
        let r = load(text)
        #expect(placed(r) == ["ConfigMap default/ok@bad.yaml:7"])
        #expect(rendered(r) == ["bad.yaml:5: YAML syntax error: mapping values are not allowed in this context"])
    }

    /// Found by fuzz/run.sh yaml-loader: with lone CRs as line ends (YAML counts them, `split` on
    /// "\n" did not) the duplicate key's line was past the end of the lines and the search for it
    /// trapped ("Range requires lowerBound <= upperBound").
    @Test func duplicateKeyInAFileWithCarriageReturnLineEndsIsAnErrorAtItsLine() {
        let r = load("apiVersion: v1\rkind: ConfigMap\rmetadata:\r  name: a\r  name: b\r")
        #expect(r.objects.isEmpty)
        #expect(rendered(r) == ["bad.yaml:5: duplicate key \"name\" in mapping (first at line 4)"])
    }

    @Test func duplicateKeyIsAnError() {
        let text = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
          name: b
        ---
        """ + "\n" + configMap("ok")
        let r = load(text)
        #expect(placed(r) == ["ConfigMap default/ok@bad.yaml:7"])
        #expect(r.diagnostics.count == 1)
        let d = r.diagnostics.first
        #expect(d?.severity == .error)
        // The second `name`, where the duplicate is written.
        #expect(d?.location == GatewayAPI.SourceLocation(file: "bad.yaml", line: 5))
        #expect(d?.message.contains("name") == true)
        #expect(d?.message.contains("duplicate") == true || d?.message.contains("duplicated") == true)
        // A diagnostic is one line (FILE:LINE: message), without the document echoed into it.
        #expect(d?.description.contains("\n") == false)
    }

    // MARK: Wrong types, unknown fields, missing fields

    @Test func wrongTypes() {
        let text = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: web
        spec:
          gatewayClassName: 42
          listeners:
          - name: http
            port: "80"
            protocol: HTTP
            allowedRoutes: Same
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: r
        spec:
          hostnames: example.com
          rules:
          - backendRefs:
            - name: svc
              port: 80
              weight: true
        ---
        """ + "\n" + configMap("ok")
        let r = load(text)
        #expect(placed(r) == ["ConfigMap default/ok@bad.yaml:25"])
        #expect(rendered(r) == [
            #"bad.yaml:6: Gateway default/web: spec.gatewayClassName: Invalid value: 42: spec.gatewayClassName in body must be of type string: "integer""#,
            #"bad.yaml:9: Gateway default/web: spec.listeners[0].port: Invalid value: "80": spec.listeners[0].port in body must be of type integer: "string""#,
            #"bad.yaml:11: Gateway default/web: spec.listeners[0].allowedRoutes: Invalid value: "Same": spec.listeners[0].allowedRoutes in body must be of type object: "string""#,
            #"bad.yaml:18: HTTPRoute default/r: spec.hostnames: Invalid value: "example.com": spec.hostnames in body must be of type array: "string""#,
            #"bad.yaml:23: HTTPRoute default/r: spec.rules[0].backendRefs[0].weight: Invalid value: true: spec.rules[0].backendRefs[0].weight in body must be of type integer: "boolean""#,
        ])
    }

    @Test func wrongTypeOfMetadata() {
        let r = load("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: 7
          labels: [a, b]
        """)
        #expect(r.objects.isEmpty)
        #expect(rendered(r) == [
            "bad.yaml:4: ConfigMap default/<unnamed>: metadata.name: Invalid value: 7: must be a string",
            #"bad.yaml:5: ConfigMap default/<unnamed>: metadata.labels: Invalid value: ["a","b"]: must be a map of strings"#,
        ])
    }

    @Test func unknownFields() {
        let text = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: web
          nmespace: team
        spec:
          gatewayClassName: sluice
          listener: [{name: http, port: 80, protocol: HTTP}]
          listeners:
          - {name: http, port: 80, protocol: HTTP, hostnames: [a.example.com]}
        ---
        """ + "\n" + configMap("ok")
        let r = load(text)
        #expect(placed(r) == ["ConfigMap default/ok@bad.yaml:12"])
        #expect(rendered(r) == [
            #"bad.yaml:5: Gateway default/web: metadata.nmespace: unknown field "metadata.nmespace""#,
            #"bad.yaml:8: Gateway default/web: spec.listener: unknown field "spec.listener""#,
            #"bad.yaml:10: Gateway default/web: spec.listeners[0].hostnames: unknown field "spec.listeners[0].hostnames""#,
        ])
    }

    @Test func missingRequiredFields() {
        let text = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: web
        spec:
          listeners:
          - name: http
            port: 80
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: r
        spec:
          rules:
          - backendRefs:
            - port: 80
        ---
        apiVersion: v1
        metadata:
          name: nokind
        ---
        """ + "\n" + configMap("ok")
        let r = load(text)
        #expect(placed(r) == ["ConfigMap default/ok@bad.yaml:23"])
        #expect(rendered(r) == [
            "bad.yaml:6: Gateway default/web: spec.gatewayClassName: Required value",
            "bad.yaml:7: Gateway default/web: spec.listeners[0].protocol: Required value",
            "bad.yaml:17: HTTPRoute default/r: spec.rules[0].backendRefs[0].name: Required value",
            "bad.yaml:19: kind: Required value: every object needs apiVersion and kind",
        ])
    }

    // MARK: References

    @Test func referencesToMissingObjectsDoNotFailLoading() {
        let text = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: web
          namespace: infra
        spec:
          gatewayClassName: no-such-class
          listeners:
          - name: https
            port: 443
            protocol: HTTPS
            tls:
              certificateRefs:
              - name: no-such-secret
                namespace: nowhere
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: r
          namespace: team
        spec:
          parentRefs:
          - name: no-such-gateway
            namespace: nowhere
          rules:
          - backendRefs:
            - name: no-such-service
              port: 80
              namespace: elsewhere
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: ReferenceGrant
        metadata:
          name: g
          namespace: elsewhere
        spec:
          from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: team}]
          to: [{group: "", kind: Service, name: no-such-service}]
        """
        let (s, d) = ResourceSnapshot.load(texts: [(file: "refs.yaml", text: text)])
        #expect(d.map(\.description) == [])
        #expect(s.gateways.count == 1)
        #expect(s.httpRoutes.count == 1)
        #expect(s.referenceGrants.count == 1)
        #expect(s.gatewayClasses.isEmpty && s.services.isEmpty && s.secrets.isEmpty)
    }

    // MARK: Size

    @Test func tenThousandObjectsLoadInOnePass() {
        let n = 10_000
        var text = ""
        text.reserveCapacity(n * 300)
        for i in 0..<n {
            text += """
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata:
              name: route-\(i)
              namespace: ns-\(i % 10)
            spec:
              parentRefs: [{name: web, namespace: infra}]
              hostnames: [r\(i).example.com]
              rules:
              - matches: [{path: {type: PathPrefix, value: /r\(i)}}]
                backendRefs: [{name: svc-\(i % 100), port: 8080}]

            """
        }
        let (s, d) = ResourceSnapshot.load(texts: [(file: "many.yaml", text: text)])
        #expect(d.map(\.description) == [])
        #expect(s.httpRoutes.count == n)
        #expect(s.creationOrder.count == n)
        // Every document is 12 lines long; object lines are exact all the way down.
        let last = ObjectKey(group: ResourceKind.gatewayGroup, kind: "HTTPRoute", namespace: "ns-9", name: "route-9999")
        #expect(s.locations[last] == GatewayAPI.SourceLocation(file: "many.yaml", line: (n - 1) * 12 + 2))
        #expect(s.creationOrder[last] == n - 1)
        #expect(s.httpRoutes.last?.spec.rules.first?.backendRefs?.first?.weight == 1)
        #expect(Set(s.httpRoutes.map(\.metadata.name)).count == n)
    }

    // MARK: Pathological YAML

    @Test func deeplyNestedYAMLIsAClearError() {
        // Block style: 150 nested mappings, one per line, inside `data`.
        var block = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n"
        for level in 1...150 { block += String(repeating: " ", count: 2 * level) + "k:\n" }
        block += String(repeating: " ", count: 302) + "v\n"
        // Flow style, far deeper than the YAML parser's own limit.
        let flow = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deeper}\ndata:\n  x: "
            + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n"
        let r = Loader.load(texts: [
            (file: "block.yaml", text: block + "---\n" + configMap("after-block")),
            (file: "flow.yaml", text: flow + "---\n" + configMap("after-flow")),
        ])
        #expect(r.objects.map(\.key.name) == ["after-block", "after-flow"])
        #expect(r.diagnostics.count == 2)
        #expect(r.diagnostics.allSatisfy { $0.severity == .error })
        // Depth 0 is the object; the mapping at depth d starts on line 5 + d, so depth 100 is on line 105.
        #expect(r.diagnostics.first?.description == "block.yaml:105: document nests deeper than 100 levels")
        #expect(r.diagnostics.last?.location == GatewayAPI.SourceLocation(file: "flow.yaml", line: 5))
        #expect(r.diagnostics.last?.message.lowercased().contains("nest") == true)
    }

    @Test func yamlAliasesAreAClearError() {
        let text = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: &name shared
          labels:
            app: *name
        ---
        """ + "\n" + configMap("ok")
        let r = load(text)
        #expect(placed(r) == ["ConfigMap default/ok@bad.yaml:8"])
        // Reported at the anchor, which always comes before its aliases (so an alias bomb is never expanded).
        #expect(rendered(r) == ["bad.yaml:4: YAML anchors and aliases are not supported in Kubernetes manifests"])
    }

    // MARK: Files

    @Test func nonUTF8FileIsAnErrorNamingTheFile() throws {
        let dir = try TempDir("badinput")
        defer { dir.cleanup() }
        let bad = try dir.write("latin1.yaml", Data("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf".utf8) + Data([0xE9, 0x0A]))
        let good = try dir.write("ok.yaml", Data(configMap("ok").utf8))
        let r = Loader.load(paths: [dir.path])
        #expect(rendered(r) == ["\(bad):4: file is not UTF-8 text: invalid UTF-8 sequence at byte offset 52 (line 4, column 12)"])
        #expect(r.diagnostics.first?.severity == .error)
        #expect(placed(r) == ["ConfigMap default/ok@\(good):1"])
    }

    @Test func pathThatDoesNotExistIsAnError() throws {
        let dir = try TempDir("badinput")
        defer { dir.cleanup() }
        let good = try dir.write("ok.yaml", Data(configMap("ok").utf8))
        let missing = dir.path + "/missing.yaml"
        let missingDir = dir.path + "/no/such/dir"
        let r = Loader.load(paths: [missing, good, missingDir])
        #expect(rendered(r) == ["\(missing): no such file or directory", "\(missingDir): no such file or directory"])
        #expect(r.diagnostics.allSatisfy { $0.severity == .error })
        #expect(placed(r) == ["ConfigMap default/ok@\(good):1"])

        let (s, d) = ResourceSnapshot.load(paths: [missing])
        #expect(d.map(\.description) == ["\(missing): no such file or directory"])
        #expect(s.creationOrder.isEmpty)
    }

    @Test func topLevelScalarOrSequenceDocumentIsAnError() {
        let text = """
        just a string
        ---
        42
        ---
        - apiVersion: v1
          kind: ConfigMap
          metadata: {name: in-a-sequence}
        ---
        """ + "\n" + configMap("ok")
        let r = load(text)
        #expect(placed(r) == ["ConfigMap default/ok@bad.yaml:9"])
        #expect(rendered(r) == [
            "bad.yaml:1: a Kubernetes object must be a mapping, found string",
            "bad.yaml:3: a Kubernetes object must be a mapping, found integer",
            "bad.yaml:5: a Kubernetes object must be a mapping, found array",
        ])
    }

    @Test func nonStringMappingKeyIsAnError() {
        let text = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: k
        data:
          [a, b]: c
        """
        let r = load(text)
        #expect(r.objects.isEmpty)
        #expect(rendered(r) == ["bad.yaml:6: mapping keys must be strings"])
    }

    @Test func listWhoseItemsAreNotAListIsAnError() {
        let r = load("""
        apiVersion: v1
        kind: List
        items: {a: b}
        """)
        #expect(r.objects.isEmpty)
        #expect(rendered(r) == ["bad.yaml:1: items: must be a list"])
    }
}
