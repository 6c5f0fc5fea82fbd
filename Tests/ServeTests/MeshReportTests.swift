import ControlPlane
import Routing
import Serve
import Testing

/// `sluice services` / `sluice describe service` rendering and the mesh client diagnostics.
@Suite struct MeshReportTests {
    static let yaml = """
        apiVersion: v1
        kind: Service
        metadata: {name: api, namespace: prod}
        spec:
          ports: [{name: http, port: 8080}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: api-producer, namespace: prod}
        spec:
          parentRefs: [{group: "", kind: Service, name: api}]
          rules:
          - matches: [{path: {type: PathPrefix, value: /v2}}]
            backendRefs: [{name: api, port: 8080}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: api-consumer, namespace: batch}
        spec:
          parentRefs: [{group: "", kind: Service, name: api, namespace: prod}]
          rules:
          - backendRefs: [{name: api, namespace: prod, port: 8080}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: orphan, namespace: prod}
        spec:
          parentRefs: [{group: "", kind: Service, name: missing}]
          rules:
          - backendRefs: [{name: api, port: 8080}]
        """

    @Test("describe lists producer and consumer routes in order and what a namespace gets; a missing parent Service is in status")
    func describe() throws {
        let report = CheckReport.run(texts: [("mesh.yaml", Self.yaml)])
        let text = try #require(MeshReport.describe(report.result.ir, namespace: "prod", name: "api", from: "batch"))
        #expect(text.contains("1. HTTPRoute prod/api-producer rule 0: path prefix /v2 → prod/api:8080"), "\(text)")
        #expect(text.contains("consumer routes for clients in namespace batch"))
        #expect(text.contains("a client in namespace batch gets: consumer routes of namespace batch"))
        let other = try #require(MeshReport.describe(report.result.ir, namespace: "prod", name: "api", from: "web"))
        #expect(other.contains("a client in namespace web gets: producer routes"))
        #expect(MeshReport.describe(report.result.ir, namespace: "prod", name: "missing", from: nil) == nil)
        #expect(report.renderDiagnostics().contains("Service prod/missing not found"), "\(report.renderDiagnostics())")
        let table = MeshReport.servicesTable(report.result.ir, pods: [])
        #expect(table.contains("prod/api") && table.contains("127.2."), "\(table)")
    }

    @Test("a consumer route whose namespace has no pods gets an info diagnostic; none once a pod is there")
    func consumerWithoutClients() {
        let report = CheckReport.run(texts: [("mesh.yaml", Self.yaml)])
        let none = MeshReport.clientDiagnostics(report.result.ir, identities: SourceAddressIdentities([:]))
        #expect(none.count == 1 && none[0].severity == .info && none[0].object?.name == "api-consumer", "\(none)")
        let withPod = MeshReport.clientDiagnostics(report.result.ir, identities: SourceAddressIdentities([
            "127.1.9.9": ClientIdentity(namespace: "batch", pod: "job-1"),
        ]))
        #expect(withPod.isEmpty)
    }
}
