import Testing
@testable import GatewayAPI

/// An object's identity (kind, namespace, name): duplicates and namespace defaulting.
extension LoaderTests {

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
}
