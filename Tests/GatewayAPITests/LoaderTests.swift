import Foundation
import Testing
@testable import GatewayAPI

// MARK: - Helpers (file-private)

private typealias Loc = GatewayAPI.SourceLocation

private func load(_ text: String, file: String = "test.yaml") -> LoadResult {
    Loader.load(texts: [(file: file, text: text)])
}

/// `Kind ns/name@file:line` for every loaded object, in order.
private func placed(_ r: LoadResult) -> [String] {
    r.objects.map { "\($0.key)@\($0.location)" }
}

private func rendered(_ r: LoadResult) -> [String] {
    r.diagnostics.map(\.description)
}

private func yaml(_ s: String) -> Value {
    try! YAMLReader.value(s)
}

/// A temporary directory removed by `cleanup()`.
private struct TempDir {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-loadertests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    var path: String { url.path }
    @discardableResult
    func write(_ relative: String, _ text: String) throws -> String {
        try write(relative, Data(text.utf8))
    }
    @discardableResult
    func write(_ relative: String, _ data: Data) throws -> String {
        let f = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: f.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: f)
        return f.path
    }
    func mkdir(_ relative: String) throws {
        try FileManager.default.createDirectory(at: url.appendingPathComponent(relative), withIntermediateDirectories: true)
    }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

private func configMap(_ name: String) -> String {
    """
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: \(name)

    """
}

// MARK: - Tests

@Suite("Loader")
struct LoaderTests {

    // MARK: Multi-document files

    @Test func multiDocumentSeparatorsCommentsAndEmptyDocuments() {
        let text = """
        ---
        # first
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
        --- # second one
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: b}
        ---
        ---
        # only a comment
        #   and another
        ---

        ---
        --- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: d
        ...
        """
        let r = load(text)
        #expect(rendered(r) == [])
        #expect(placed(r) == [
            "ConfigMap default/a@test.yaml:3",
            "ConfigMap default/b@test.yaml:8",
            "ConfigMap default/c@test.yaml:18",
            "ConfigMap default/d@test.yaml:20",
        ])
    }

    @Test func fileOfOnlyCommentsAndSeparatorsLoadsNothingAndSaysNothing() {
        for text in ["", "\n\n", "---\n", "---\n---\n---\n", "# nothing here\n", "--- # a\n# b\n---\n# c\n", "...\n"] {
            let r = load(text)
            #expect(r.objects.isEmpty, "\(text.debugDescription)")
            #expect(r.diagnostics.isEmpty, "\(text.debugDescription): \(rendered(r))")
        }
    }

    @Test func indentedSeparatorInsideABlockScalarIsContent() {
        let text = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
        data:
          script: |
            echo one
            ---
            echo two
        ---
        """ + "\n" + configMap("b")
        let r = load(text)
        #expect(rendered(r) == [])
        #expect(placed(r) == ["ConfigMap default/a@test.yaml:1", "ConfigMap default/b@test.yaml:11"])
        #expect(r.objects.first?.value["data"]?["script"]?.string?.hasPrefix("echo one\n---\necho two") == true)
    }

    /// A `|` block scalar keeps its final line break (clip chomping) also when the document is
    /// followed by a `---` separator, exactly as when the document is alone in its file.
    @Test func blockScalarAtEndOfDocumentKeepsItsFinalNewline() {
        let doc = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
        data:
          script: |
            echo one
            echo two

        """
        let alone = load(doc)
        #expect(alone.objects.first?.value["data"]?["script"]?.string == "echo one\necho two\n")
        let followed = load(doc + "---\n" + configMap("b"))
        #expect(rendered(followed) == [])
        #expect(followed.objects.count == 2)
        #expect(followed.objects.first?.value["data"]?["script"]?.string == "echo one\necho two\n")
    }

    @Test func nullDocumentIsIgnored() {
        let r = load("~\n---\nnull\n---\n" + configMap("a"))
        #expect(rendered(r) == [])
        #expect(placed(r) == ["ConfigMap default/a@test.yaml:5"])
    }

    @Test func errorInOneDocumentPointsAtFileLineOfThatDocument() {
        let text = configMap("a") + """
        ---
        # comment
        apiVersion: v1
        kind: Service
        metadata:
          name: svc
        spec:
          ports:
          - port: 0
        """
        let r = load(text)
        #expect(placed(r) == ["ConfigMap default/a@test.yaml:1"])
        #expect(rendered(r) == [
            "test.yaml:13: Service default/svc: spec.ports[0].port: Invalid value: 0: spec.ports[0].port in body should be greater than or equal to 1",
        ])
    }

    /// Files written on Windows use CRLF line ends; `---` separators must still split documents.
    @Test func crlfMultiDocumentFile() {
        let text = "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: b\r\n"
        let r = load(text)
        #expect(rendered(r) == [])
        #expect(placed(r) == ["ConfigMap default/a@test.yaml:1", "ConfigMap default/b@test.yaml:6"])
    }

    @Test func utf8BOMFileFromDisk() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let f = try dir.write("bom.yaml", Data([0xEF, 0xBB, 0xBF] + Array(("---\n" + configMap("a")).utf8)))
        let r = Loader.load(paths: [f])
        #expect(rendered(r) == [])
        #expect(placed(r) == ["ConfigMap default/a@\(f):2"])
    }

    // MARK: Lists

    @Test func listAndTypedListExpansionKeepsItemLines() {
        let text = """
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: ConfigMap
          metadata:
            name: a
        - apiVersion: v1
          kind: Service
          metadata:
            name: svc
          spec:
            ports:
            - port: 0
        - apiVersion: gateway.networking.k8s.io/v1
          kind: HTTPRouteList
          items:
          - apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata:
              name: r
              namespace: team
            spec:
              rules:
              - backendRefs:
                - name: svc
                  port: 80
        """
        let r = load(text, file: "list.yaml")
        #expect(placed(r) == ["ConfigMap default/a@list.yaml:4", "HTTPRoute team/r@list.yaml:18"])
        #expect(rendered(r) == [
            "list.yaml:14: Service default/svc: spec.ports[0].port: Invalid value: 0: spec.ports[0].port in body should be greater than or equal to 1",
        ])
        // Field lines inside list items are the lines in the file.
        let route = r.objects[1].value
        #expect(route["spec"]?["rules"]?[0]?["backendRefs"]?[0]?["port"]?.line == 27)
    }

    @Test func typedListAtTopLevelAndEmptyList() {
        let text = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayList
        items:
        - apiVersion: gateway.networking.k8s.io/v1
          kind: Gateway
          metadata: {name: one}
          spec:
            gatewayClassName: sluice
            listeners: [{name: http, port: 80, protocol: HTTP}]
        - apiVersion: gateway.networking.k8s.io/v1
          kind: Gateway
          metadata: {name: two}
          spec:
            gatewayClassName: sluice
            listeners: [{name: http, port: 8080, protocol: HTTP}]
        ---
        apiVersion: v1
        kind: List
        items: []
        """
        let r = load(text)
        #expect(rendered(r) == [])
        #expect(placed(r) == ["Gateway default/one@test.yaml:4", "Gateway default/two@test.yaml:10"])
    }

    @Test func listItemThatIsNotAMappingIsReportedAtItsLine() {
        let text = """
        apiVersion: v1
        kind: List
        items:
        - just a string
        - apiVersion: v1
          kind: ConfigMap
          metadata: {name: a}
        """
        let r = load(text)
        #expect(placed(r) == ["ConfigMap default/a@test.yaml:5"])
        #expect(rendered(r) == ["test.yaml:4: a Kubernetes object must be a mapping, found string"])
    }

    // MARK: JSON

    @Test func jsonFileWithListAndExactLines() {
        let text = """
        {
          "apiVersion": "v1",
          "kind": "List",
          "items": [
            {
              "apiVersion": "v1",
              "kind": "ConfigMap",
              "metadata": {"name": "a"}
            },
            {
              "apiVersion": "v1",
              "kind": "Service",
              "metadata": {"name": "svc"},
              "spec": {"ports": [{"port": 70000}]}
            }
          ]
        }
        """
        let r = load(text, file: "objs.json")
        #expect(placed(r) == ["ConfigMap default/a@objs.json:5"])
        #expect(rendered(r) == [
            "objs.json:14: Service default/svc: spec.ports[0].port: Invalid value: 70000: spec.ports[0].port in body should be less than or equal to 65535",
        ])
    }

    @Test func jsonFilesFromDiskIncludingTabIndentation() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.write("a.json", #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"x"},"data":{"k":"v"}}"#)
        try dir.write("b.json", "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"ConfigMap\",\n\t\"metadata\": {\n\t\t\"name\": \"b\"\n\t}\n}\n")
        let r = Loader.load(paths: [dir.path])
        #expect(rendered(r) == [])
        #expect(r.objects.map(\.key.description) == ["ConfigMap x/a", "ConfigMap default/b"])
        #expect(r.objects.first?.value["data"] == yaml("{k: v}"))
    }

    // MARK: Folders

    @Test func foldersAreReadRecursivelyInNameOrderWithYAMLAndJSONOnly() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.write("b.yaml", configMap("b"))
        try dir.write("a.yml", configMap("a"))
        try dir.write("c.json", #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#)
        try dir.write("sub/a.yaml", configMap("sub-a"))
        try dir.write("sub/deeper/z.yaml", configMap("sub-deeper-z"))
        try dir.write("zz/0.yml", configMap("zz-0"))
        // Ignored: not .yaml/.yml/.json, even though their content is valid YAML.
        try dir.write("notes.txt", configMap("txt"))
        try dir.write("README.md", configMap("md"))
        try dir.write("noext", configMap("noext"))
        try dir.write("x.yaml.bak", configMap("bak"))
        try dir.write("sub/kustomization.yaml.orig", configMap("orig"))
        try dir.mkdir("empty")

        let r = Loader.load(paths: [dir.path])
        #expect(rendered(r) == [])
        #expect(r.objects.map(\.key.name) == ["a", "b", "c", "sub-a", "sub-deeper-z", "zz-0"])
        #expect(r.objects.map(\.location.file) == [
            dir.path + "/a.yml", dir.path + "/b.yaml", dir.path + "/c.json",
            dir.path + "/sub/a.yaml", dir.path + "/sub/deeper/z.yaml", dir.path + "/zz/0.yml",
        ])

        // The file list itself, and a trailing slash on the folder gives the same names.
        #expect(Loader.files(in: [dir.path + "/"]).files == r.objects.map(\.location.file))
        #expect(Loader.files(in: [dir.path + "/"]).diagnostics.isEmpty)
    }

    @Test func pathsAreReadInTheOrderGivenAndExplicitFilesAreReadWhateverTheirExtension() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.write("d/a.yaml", configMap("a"))
        let z = try dir.write("z.yaml", configMap("z"))
        let txt = try dir.write("explicit.txt", configMap("t"))
        let (s, d) = ResourceSnapshot.load(paths: [z, dir.path + "/d", txt])
        #expect(d.map(\.description) == [])
        #expect(s.configMaps.map(\.metadata.name) == ["z", "a", "t"])
    }

    /// A folder whose name ends in `.yaml` is a folder: it is recursed into, not read as a file.
    @Test func folderNamedLikeAYAMLFileIsRecursedIntoNotRead() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try dir.write("app.yaml/inner.yaml", configMap("inner"))
        try dir.write("b.yaml", configMap("b"))
        let r = Loader.load(paths: [dir.path])
        #expect(rendered(r) == [])
        #expect(r.objects.map(\.key.name) == ["inner", "b"])
    }

    // MARK: Exact lines in rendered diagnostics

    @Test func renderedDiagnosticsHaveExactObjectAndFieldLines() {
        let text = """
        # Gateways for the team
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: web
          namespace: infra
        spec:
          gatewayClassName: sluice
          listeners:
          - name: http
            port: 80
            protocol: HTTP
          - name: admin
            hostname: Admin.Example.com
            port: 65536
            protocol: HTTP
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: shop
          namespace: infra
        spec:
          parentRefs:
          - name: web
          rules:
          - matches:
            - path:
                type: Prefix
                value: /shop
            backendRefs:
            - name: shop
              port: 8080
              weight: -1
        """
        let r = load(text, file: "dir/app.yaml")
        #expect(r.objects.isEmpty)
        let hostnamePattern = #"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"#
        #expect(rendered(r) == [
            #"dir/app.yaml:14: Gateway infra/web: spec.listeners[1].hostname: Invalid value: "Admin.Example.com": spec.listeners[1].hostname in body should match '\#(hostnamePattern)'"#,
            "dir/app.yaml:15: Gateway infra/web: spec.listeners[1].port: Invalid value: 65536: spec.listeners[1].port in body should be less than or equal to 65535",
            #"dir/app.yaml:29: HTTPRoute infra/shop: spec.rules[0].matches[0].path.type: Unsupported value: "Prefix": supported values: "Exact", "PathPrefix", "RegularExpression""#,
            "dir/app.yaml:34: HTTPRoute infra/shop: spec.rules[0].backendRefs[0].weight: Invalid value: -1: spec.rules[0].backendRefs[0].weight in body should be greater than or equal to 0",
        ])
        #expect(r.diagnostics.allSatisfy { $0.severity == .error })
        #expect(r.diagnostics.first?.location == Loc(file: "dir/app.yaml", line: 14))
        #expect(r.diagnostics.first?.object == ObjectKey(group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "infra", name: "web"))
        #expect(r.diagnostics.first?.field == "spec.listeners[1].hostname")
    }

    @Test func objectLinesAreTheFirstKeyOfEachObject() {
        let text = """
        # leading comment

        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
        ---

        # another

        kind: ConfigMap
        apiVersion: v1
        metadata:
          name: b
        """
        let r = load(text)
        #expect(placed(r) == ["ConfigMap default/a@test.yaml:3", "ConfigMap default/b@test.yaml:11"])
        #expect(r.objects[1].value["metadata"]?["name"]?.line == 14)
    }

    // MARK: Kinds and versions

    @Test func unknownKindIsAWarningAndSkipped() {
        let text = """
        apiVersion: example.com/v1
        kind: Widget
        metadata:
          name: w
          namespace: team
        spec: {anything: goes}
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: p
        ---

        """ + configMap("a")
        let r = load(text)
        #expect(placed(r) == ["ConfigMap default/a@test.yaml:13"])
        #expect(rendered(r) == [
            "warning: test.yaml:1: Widget team/w: unknown kind Widget (example.com/v1): Sluice does not read it; object skipped",
            "warning: test.yaml:8: Pod p: unknown kind Pod (v1): Sluice does not read it; object skipped",
        ])
        #expect(r.diagnostics.allSatisfy { $0.severity == .warning })
    }

    @Test func knownKindWithUnservedAPIVersionIsAWarningListingAcceptedVersions() {
        let text = """
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: Gateway
        metadata:
          name: web
          namespace: infra
        spec:
          gatewayClassName: sluice
          listeners: [{name: http, port: 80, protocol: HTTP}]
        ---
        apiVersion: v2
        kind: Service
        metadata:
          name: svc
          namespace: infra
        spec: {ports: [{port: 80}]}
        """
        let r = load(text)
        #expect(r.objects.isEmpty)
        #expect(rendered(r) == [
            "warning: test.yaml:1: Gateway infra/web: apiVersion gateway.networking.k8s.io/v1alpha2 is not served for Gateway (accepted: gateway.networking.k8s.io/v1, gateway.networking.k8s.io/v1beta1); object skipped",
            "warning: test.yaml:10: Service infra/svc: apiVersion v2 is not served for Service (accepted: v1); object skipped",
        ])
        #expect(r.diagnostics.allSatisfy { $0.severity == .warning })
    }

    /// The skipped object is a known namespaced kind: its diagnostic names it `Kind default/name`,
    /// as every other diagnostic about an object without `metadata.namespace` does.
    @Test func unservedVersionOfNamespacedKindIsNamedWithDefaultNamespace() {
        let r = load("""
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: HTTPRoute
        metadata:
          name: r
        spec: {}
        """)
        #expect(r.objects.isEmpty)
        #expect(r.diagnostics.first?.object == ObjectKey(group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "default", name: "r"))
    }

    @Test func everyServedVersionIsAccepted() {
        let text = """
        apiVersion: gateway.networking.k8s.io/v1beta1
        kind: Gateway
        metadata: {name: web}
        spec:
          gatewayClassName: sluice
          listeners: [{name: http, port: 80, protocol: HTTP}]
        ---
        apiVersion: gateway.networking.k8s.io/v1beta1
        kind: HTTPRoute
        metadata: {name: r}
        spec: {}
        ---
        apiVersion: gateway.networking.k8s.io/v1beta1
        kind: GatewayClass
        metadata: {name: c}
        spec: {controllerName: sluice.dev/gateway-controller}
        """
        let r = load(text)
        #expect(rendered(r) == [])
        #expect(r.objects.map(\.apiVersion) == Array(repeating: "gateway.networking.k8s.io/v1beta1", count: 3))
        #expect(ResourceKind.gateway.apiVersions == ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"])
        #expect(ResourceKind.service.apiVersions == ["v1"])
        #expect(ResourceKind.endpointSlice.apiVersions == ["discovery.k8s.io/v1"])
    }

    @Test func missingAPIVersionOrKindIsAnError() {
        let text = """
        kind: ConfigMap
        metadata: {name: a}
        ---
        apiVersion: v1
        metadata: {name: b}
        """
        let r = load(text)
        #expect(r.objects.isEmpty)
        #expect(rendered(r) == [
            "test.yaml:1: apiVersion: Required value: every object needs apiVersion and kind",
            "test.yaml:4: kind: Required value: every object needs apiVersion and kind",
        ])
    }

    // MARK: Duplicates

    @Test func duplicateObjectsWarnWithBothLocationsAndTheLastWins() {
        let first = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
        data: {v: "1"}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: other
        """
        let second = """
        # same object, namespace written out
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
          namespace: default
        data: {v: "2"}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
          namespace: elsewhere
        data: {v: "3"}
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: a
        """
        let r = Loader.load(texts: [(file: "one.yaml", text: first), (file: "two.yaml", text: second)])
        #expect(rendered(r) == [
            "warning: two.yaml:2: ConfigMap default/a: duplicate object: also defined at one.yaml:1; the last definition (this one) wins",
        ])
        #expect(r.diagnostics.first?.severity == .warning)
        #expect(r.objects.map(\.key.description) == ["ConfigMap default/a", "ConfigMap default/other", "ConfigMap elsewhere/a", "Secret default/a"])
        #expect(r.objects[0].value["data"]?["v"]?.string == "2")
        #expect(r.objects[0].location == Loc(file: "two.yaml", line: 2))

        let (s, _) = ResourceSnapshot.load(texts: [(file: "one.yaml", text: first), (file: "two.yaml", text: second)])
        #expect(s.configMaps.count == 3)
        #expect(s.configMaps.first { $0.metadata.name == "a" && $0.metadata.namespace == "default" }?.data?["v"] == "2")
    }

    @Test func thirdDuplicateNamesTheSecond() {
        let r = Loader.load(texts: [(file: "a.yaml", text: configMap("x")), (file: "b.yaml", text: configMap("x")),
                                    (file: "c.yaml", text: "\n" + configMap("x"))])
        #expect(rendered(r) == [
            "warning: b.yaml:1: ConfigMap default/x: duplicate object: also defined at a.yaml:1; the last definition (this one) wins",
            "warning: c.yaml:2: ConfigMap default/x: duplicate object: also defined at b.yaml:1; the last definition (this one) wins",
        ])
        #expect(placed(r) == ["ConfigMap default/x@c.yaml:2"])
    }

    // MARK: Namespaces

    @Test func namespaceDefaultsToDefaultForNamespacedKinds() {
        let text = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: r
        spec: {}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: r2
          namespace: team
        spec: {}
        """
        let r = load(text)
        #expect(rendered(r) == [])
        #expect(r.objects.map(\.key.namespace) == ["default", "team"])
        #expect(r.objects[0].value["metadata"]?["namespace"]?.string == "default")
        let (s, d) = ResourceSnapshot.load(texts: [(file: "t.yaml", text: text)])
        #expect(d.isEmpty)
        #expect(s.httpRoutes.map(\.metadata.namespace) == ["default", "team"])
    }

    @Test func clusterScopedGatewayClassHasNoNamespace() {
        let text = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata:
          name: sluice
        spec:
          controllerName: sluice.dev/gateway-controller
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: team
        """
        let r = load(text)
        #expect(rendered(r) == [])
        #expect(r.objects.map(\.key.description) == ["GatewayClass sluice", "Namespace team"])
        #expect(r.objects.allSatisfy { $0.key.namespace == "" && $0.value["metadata"]?["namespace"] == nil })
        let (s, d) = ResourceSnapshot.load(texts: [(file: "t.yaml", text: text)])
        #expect(d.isEmpty)
        #expect(s.gatewayClasses.first?.metadata.namespace == nil)
        #expect(s.locations[ObjectKey(group: "gateway.networking.k8s.io", kind: "GatewayClass", namespace: "", name: "sluice")]
                == Loc(file: "t.yaml", line: 1))
    }

    /// The API server clears `metadata.namespace` of cluster-scoped objects on create; the typed
    /// model must agree with the object's key (cluster-scoped, no namespace).
    @Test func namespaceWrittenOnClusterScopedObjectIsCleared() {
        let text = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata:
          name: sluice
          namespace: team
        spec:
          controllerName: sluice.dev/gateway-controller
        """
        let (s, d) = ResourceSnapshot.load(texts: [(file: "t.yaml", text: text)])
        #expect(d.isEmpty)
        #expect(s.gatewayClasses.map(\.metadata.name) == ["sluice"])
        #expect(s.locations.keys.map(\.namespace) == [""])
        #expect(s.gatewayClasses.first?.metadata.namespace == nil)
    }

    // MARK: Snapshot

    @Test func creationOrderFollowsInputOrder() {
        let one = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: zeta}
        spec: {}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: svc}
        spec: {ports: [{port: 80}]}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: alpha}
        spec: {}
        """
        let two = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {name: gc}
        spec: {controllerName: sluice.dev/gateway-controller}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: beta, namespace: b}
        spec: {}
        """
        let (s, d) = ResourceSnapshot.load(texts: [(file: "2-routes.yaml", text: one), (file: "1-class.yaml", text: two)])
        #expect(d.isEmpty)
        let g = ResourceKind.gatewayGroup
        let expected: [ObjectKey: Int] = [
            ObjectKey(group: g, kind: "HTTPRoute", namespace: "default", name: "zeta"): 0,
            ObjectKey(group: "", kind: "Service", namespace: "default", name: "svc"): 1,
            ObjectKey(group: g, kind: "HTTPRoute", namespace: "default", name: "alpha"): 2,
            ObjectKey(group: g, kind: "GatewayClass", namespace: "", name: "gc"): 3,
            ObjectKey(group: g, kind: "HTTPRoute", namespace: "b", name: "beta"): 4,
        ]
        #expect(s.creationOrder == expected)
        #expect(s.httpRoutes.map(\.metadata.name) == ["zeta", "alpha", "beta"])
        #expect(s.locations[ObjectKey(group: g, kind: "HTTPRoute", namespace: "default", name: "alpha")] == Loc(file: "2-routes.yaml", line: 11))
        #expect(s.locations[ObjectKey(group: g, kind: "HTTPRoute", namespace: "b", name: "beta")] == Loc(file: "1-class.yaml", line: 6))
    }

    // MARK: Defaults

    @Test func httpRouteDefaults() {
        let text = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: r
        spec:
          rules:
          - backendRefs:
            - name: svc
              port: 80
            - name: other
              port: 81
              weight: 0
          - matches:
            - headers:
              - name: x-env
                value: canary
            - path:
                type: Exact
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: empty
        spec: {}
        """
        let r = load(text)
        #expect(rendered(r) == [])
        let spec = r.objects[0].value["spec"]!
        // A rule without matches matches every path.
        #expect(spec["rules"]?[0]?["matches"] == yaml("[{path: {type: PathPrefix, value: /}}]"))
        // backendRef weight 1 (an explicit 0 is kept), group "" and kind Service.
        #expect(spec["rules"]?[0]?["backendRefs"] == yaml("""
        - {name: svc, port: 80, group: "", kind: Service, weight: 1}
        - {name: other, port: 81, weight: 0, group: "", kind: Service}
        """))
        // A match without path gets the default path; a path without value gets "/".
        #expect(spec["rules"]?[1]?["matches"]?[0]?["path"] == yaml("{type: PathPrefix, value: /}"))
        #expect(spec["rules"]?[1]?["matches"]?[1]?["path"] == yaml("{type: Exact, value: /}"))
        #expect(spec["rules"]?[1]?["matches"]?[0]?["headers"]?[0]?["type"]?.string == "Exact")
        // No rules at all: one rule matching every path.
        #expect(r.objects[1].value["spec"]?["rules"] == yaml("[{matches: [{path: {type: PathPrefix, value: /}}]}]"))
        // Defaults point at the object that received them.
        #expect(spec["rules"]?[0]?["backendRefs"]?[0]?["weight"]?.line == 8)

        let (s, d) = ResourceSnapshot.load(texts: [(file: "t.yaml", text: text)])
        #expect(d.isEmpty)
        let rule0 = s.httpRoutes[0].spec.rules[0]
        #expect(rule0.matches.map(\.path) == [HTTPPathMatch(type: .pathPrefix, value: "/")])
        #expect(rule0.backendRefs?.map(\.weight) == [1, 0])
        #expect(rule0.backendRefs?.map(\.kind) == ["Service", "Service"])
        #expect(s.httpRoutes[1].spec.rules.count == 1)
        #expect(s.httpRoutes[1].spec.rules[0].matches.map(\.path) == [HTTPPathMatch(type: .pathPrefix, value: "/")])
    }

    @Test func gatewayListenerAllowedRoutesDefaultsToSameNamespace() {
        let text = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: web
        spec:
          gatewayClassName: sluice
          listeners:
          - name: http
            port: 80
            protocol: HTTP
          - name: all
            port: 81
            protocol: HTTP
            allowedRoutes:
              namespaces:
                from: All
          - name: kinds
            port: 82
            protocol: HTTP
            allowedRoutes:
              kinds: [{kind: HTTPRoute}]
        """
        let r = load(text)
        #expect(rendered(r) == [])
        let listeners = r.objects[0].value["spec"]?["listeners"]
        #expect(listeners?[0]?["allowedRoutes"] == yaml("{namespaces: {from: Same}}"))
        #expect(listeners?[1]?["allowedRoutes"] == yaml("{namespaces: {from: All}}"))
        #expect(listeners?[2]?["allowedRoutes"]?["namespaces"] == yaml("{from: Same}"))
        #expect(listeners?[2]?["allowedRoutes"]?["kinds"] == yaml("[{kind: HTTPRoute, group: gateway.networking.k8s.io}]"))

        let (s, d) = ResourceSnapshot.load(texts: [(file: "t.yaml", text: text)])
        #expect(d.isEmpty)
        #expect(s.gateways.first?.spec.listeners.map(\.allowedRoutes.namespaces.from) == [.same, .all, .same])
    }

    @Test func coreKindDefaults() {
        let text = """
        apiVersion: v1
        kind: Service
        metadata:
          name: svc
        spec:
          selector: {app: web}
          ports:
          - port: 80
            targetPort: 8080
          - port: 53
            protocol: UDP
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
              - name: web
                image: nginx
                ports: [{containerPort: 8080}]
        """
        let r = load(text)
        #expect(rendered(r) == [])
        let svc = r.objects[0].value
        #expect(svc["spec"]?["ports"]?[0]?["protocol"]?.string == "TCP")
        #expect(svc["spec"]?["ports"]?[1]?["protocol"]?.string == "UDP")
        #expect(svc["spec"]?["type"]?.string == "ClusterIP")
        let dep = r.objects[1].value
        #expect(dep["spec"]?["replicas"]?.int == 1)
        #expect(dep["spec"]?["template"]?["spec"]?["containers"]?[0]?["ports"]?[0]?["protocol"]?.string == "TCP")

        let (s, d) = ResourceSnapshot.load(texts: [(file: "t.yaml", text: text)])
        #expect(d.isEmpty)
        #expect(s.services.count == 1)
        #expect(s.deployments.count == 1)
    }
}
