import Testing
@testable import GatewayAPI

/// Where the loader places objects and diagnostics: the exact file:line of each.
extension LoaderTests {

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
}
