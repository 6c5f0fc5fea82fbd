import Foundation
import Testing
@testable import GatewayAPI

// Shared helpers (load, placed, rendered, yaml, configMap, TempDir, Loc) are in Support.swift; the
// suite continues in the other Loader*Tests.swift files.

/// How files, folders, documents and lists become objects.
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
        let dir = try TempDir("loadertests")
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
        let dir = try TempDir("loadertests")
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
        let dir = try TempDir("loadertests")
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
        let dir = try TempDir("loadertests")
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
        let dir = try TempDir("loadertests")
        defer { dir.cleanup() }
        try dir.write("app.yaml/inner.yaml", configMap("inner"))
        try dir.write("b.yaml", configMap("b"))
        let r = Loader.load(paths: [dir.path])
        #expect(rendered(r) == [])
        #expect(r.objects.map(\.key.name) == ["inner", "b"])
    }
}
