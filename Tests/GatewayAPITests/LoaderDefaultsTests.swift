import Testing
@testable import GatewayAPI

/// Defaults the loader fills in, as the API server would.
extension LoaderTests {

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
