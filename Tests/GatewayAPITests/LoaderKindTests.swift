import Testing
@testable import GatewayAPI

/// Which kinds and apiVersions the loader accepts, warns about or rejects.
extension LoaderTests {

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
}
