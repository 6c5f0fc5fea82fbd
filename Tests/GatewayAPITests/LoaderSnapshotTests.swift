import Testing
@testable import GatewayAPI

/// The snapshot built from loaded objects keeps input order and source locations.
extension LoaderTests {

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
}
