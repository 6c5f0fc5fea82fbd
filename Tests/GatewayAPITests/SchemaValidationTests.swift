import Foundation
import Testing
@testable import GatewayAPI

// MARK: - Helpers (file-private)

private let file = "s.yaml"

private func load(_ text: String) -> LoadResult {
    load(text, file: file)
}

/// Asserts `text` loads as exactly one object without any diagnostic; returns it.
@discardableResult
private func accepted(_ text: String, sourceLocation: SourceLocation_ = #_sourceLocation) -> LoadedObject? {
    let r = load(text)
    #expect(r.diagnostics.map(\.description) == [], sourceLocation: sourceLocation)
    #expect(r.objects.count == 1, sourceLocation: sourceLocation)
    return r.objects.first
}

/// Asserts `text` is rejected with exactly the rendered diagnostics `expected`, all errors.
private func rejected(_ text: String, _ expected: [String], sourceLocation: SourceLocation_ = #_sourceLocation) {
    let r = load(text)
    #expect(r.objects.isEmpty, "rejected object must not load", sourceLocation: sourceLocation)
    #expect(r.diagnostics.map(\.description) == expected, sourceLocation: sourceLocation)
    #expect(r.diagnostics.allSatisfy { $0.severity == .error }, sourceLocation: sourceLocation)
}

private typealias SourceLocation_ = Testing.SourceLocation

/// A Gateway named `web` with the given `spec.listeners` YAML (indented by 2, starting at line 8).
private func gateway(listeners: String) -> String {
    """
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata:
      name: web
    spec:
      gatewayClassName: sluice
      listeners:
    \(listeners)
    """
}

/// An HTTPRoute named `r` with the given `spec` body (indented by 2, starting at line 6).
private func httpRoute(spec: String) -> String {
    """
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata:
      name: r
    spec:
    \(spec)
    """
}

private let hostnamePattern = #"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"#
private let subdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (at most 253 characters)"

// MARK: - Tests

@Suite("Schema validation")
struct SchemaValidationTests {

    // MARK: required

    @Test func requiredGatewayListeners() {
        accepted(gateway(listeners: "  - {name: http, port: 80, protocol: HTTP}"))
        rejected("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: web
        spec:
          gatewayClassName: sluice
        """, ["s.yaml:6: Gateway default/web: spec.listeners: Required value"])
        // Missing spec altogether.
        rejected("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: web
        """, ["s.yaml:1: Gateway default/web: spec: Required value"])
    }

    @Test func requiredListenerPort() {
        accepted(gateway(listeners: """
          - name: http
            protocol: HTTP
            port: 80
        """))
        rejected(gateway(listeners: """
          - name: http
            protocol: HTTP
        """), ["s.yaml:8: Gateway default/web: spec.listeners[0].port: Required value"])
        // A null required field is pruned, hence missing.
        rejected(gateway(listeners: """
          - name: http
            protocol: HTTP
            port: null
        """), ["s.yaml:8: Gateway default/web: spec.listeners[0].port: Required value"])
    }

    // MARK: enum

    @Test func enumPathMatchType() {
        for t in ["Exact", "PathPrefix", "RegularExpression"] {
            accepted(httpRoute(spec: """
              rules:
              - matches:
                - path: {type: \(t), value: /shop}
            """))
        }
        rejected(httpRoute(spec: """
          rules:
          - matches:
            - path:
                type: Prefix
                value: /shop
        """), [#"s.yaml:9: HTTPRoute default/r: spec.rules[0].matches[0].path.type: Unsupported value: "Prefix": supported values: "Exact", "PathPrefix", "RegularExpression""#])
    }

    // MARK: pattern

    @Test func patternListenerHostname() {
        accepted(gateway(listeners: "  - {name: http, port: 80, protocol: HTTP, hostname: '*.example.com'}"))
        rejected(gateway(listeners: """
          - name: http
            port: 80
            protocol: HTTP
            hostname: Foo_Bar
        """), [#"s.yaml:11: Gateway default/web: spec.listeners[0].hostname: Invalid value: "Foo_Bar": spec.listeners[0].hostname in body should match '\#(hostnamePattern)'"#])
    }

    // MARK: minLength / maxLength

    @Test func maxLengthHTTPRouteHostname() {
        let label63 = String(repeating: "a", count: 63)
        let ok = [label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(ok.count == 253)
        accepted(httpRoute(spec: "  hostnames: [\(ok)]"))
        let tooLong = ok + "b"
        rejected(httpRoute(spec: """
          hostnames:
          - example.com
          - \(tooLong)
        """), ["s.yaml:8: HTTPRoute default/r: spec.hostnames[1]: Too long: may not be more than 253 bytes"])
    }

    @Test func minLengthBackendRefName() {
        accepted(httpRoute(spec: "  rules: [{backendRefs: [{name: s, port: 80}]}]"))
        rejected(httpRoute(spec: """
          rules:
          - backendRefs:
            - name: ""
              port: 80
        """), [#"s.yaml:8: HTTPRoute default/r: spec.rules[0].backendRefs[0].name: Invalid value: "": spec.rules[0].backendRefs[0].name in body should be at least 1 chars long"#])
    }

    // MARK: minimum / maximum

    @Test func minimumAndMaximumListenerPort() {
        accepted(gateway(listeners: """
          - {name: low, port: 1, protocol: HTTP}
          - {name: high, port: 65535, protocol: HTTP}
        """))
        rejected(gateway(listeners: """
          - name: low
            port: 0
            protocol: HTTP
          - name: high
            port: 65536
            protocol: HTTP
        """), [
            "s.yaml:9: Gateway default/web: spec.listeners[0].port: Invalid value: 0: spec.listeners[0].port in body should be greater than or equal to 1",
            "s.yaml:12: Gateway default/web: spec.listeners[1].port: Invalid value: 65536: spec.listeners[1].port in body should be less than or equal to 65535",
        ])
    }

    @Test func maximumBackendRefWeight() {
        accepted(httpRoute(spec: "  rules: [{backendRefs: [{name: a, port: 80, weight: 1000000}, {name: b, port: 80, weight: 0}]}]"))
        rejected(httpRoute(spec: """
          rules:
          - backendRefs:
            - name: a
              port: 80
              weight: 1000001
        """), ["s.yaml:10: HTTPRoute default/r: spec.rules[0].backendRefs[0].weight: Invalid value: 1000001: spec.rules[0].backendRefs[0].weight in body should be less than or equal to 1000000"])
    }

    // MARK: minItems / maxItems

    @Test func maxItemsHTTPRouteRules() {
        func rules(_ n: Int) -> String {
            "  rules:\n" + (0..<n).map { "  - backendRefs: [{name: s\($0), port: 80}]" }.joined(separator: "\n")
        }
        accepted(httpRoute(spec: rules(16)))
        rejected(httpRoute(spec: rules(17)), ["s.yaml:7: HTTPRoute default/r: spec.rules: Too many: 17: must have at most 16 items"])
    }

    @Test func minItemsGatewayListeners() {
        rejected("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: web
        spec:
          gatewayClassName: sluice
          listeners: []
        """, ["s.yaml:7: Gateway default/web: spec.listeners: Invalid value: 0: spec.listeners in body should have at least 1 items"])
    }

    // MARK: type

    @Test func typeMismatchQuotedPort() {
        accepted(gateway(listeners: "  - {name: http, port: 80, protocol: HTTP}"))
        rejected(gateway(listeners: """
          - name: http
            port: "80"
            protocol: HTTP
        """), [#"s.yaml:9: Gateway default/web: spec.listeners[0].port: Invalid value: "80": spec.listeners[0].port in body must be of type integer: "string""#])
        // A fractional number is not an integer either.
        rejected(gateway(listeners: "  - {name: http, port: 80.5, protocol: HTTP}"),
                 [#"s.yaml:8: Gateway default/web: spec.listeners[0].port: Invalid value: 80.5: spec.listeners[0].port in body must be of type integer: "number""#])
    }

    @Test func typeMismatchRulesAsMap() {
        rejected(httpRoute(spec: """
          parentRefs: [{name: web}]
          rules: {matches: [], backendRefs: []}
        """), [#"s.yaml:7: HTTPRoute default/r: spec.rules: Invalid value: {"matches":[],"backendRefs":[]}: spec.rules in body must be of type array: "object""#])
        // And a string where an object is expected.
        rejected(httpRoute(spec: "  parentRefs: [web]"),
                 [#"s.yaml:6: HTTPRoute default/r: spec.parentRefs[0]: Invalid value: "web": spec.parentRefs[0] in body must be of type object: "string""#])
    }

    // MARK: format

    @Test func formatInt32() {
        let svc = { (nodePort: String) in
            """
            apiVersion: v1
            kind: Service
            metadata:
              name: svc
            spec:
              type: NodePort
              ports:
              - port: 80
                nodePort: \(nodePort)
            """
        }
        accepted(svc("30080"))
        accepted(svc("2147483647"))
        rejected(svc("2147483648"), ["s.yaml:9: Service default/svc: spec.ports[0].nodePort: Invalid value: 2147483648: spec.ports[0].nodePort in body must be of type int32"])
    }

    // MARK: x-kubernetes-list-type

    @Test func listTypeMapDuplicateListenerNames() {
        accepted(gateway(listeners: """
          - {name: http, port: 80, protocol: HTTP}
          - {name: http-alt, port: 8080, protocol: HTTP}
        """))
        rejected(gateway(listeners: """
          - name: http
            port: 80
            protocol: HTTP
          - name: http
            port: 8080
            protocol: HTTP
        """), [#"s.yaml:11: Gateway default/web: spec.listeners[1]: Duplicate value: {"name":"http"}"#])
    }

    /// Service ports are keyed by (port, protocol); protocol defaults to TCP *before* validation.
    @Test func listTypeMapKeysUseDefaults() {
        accepted("""
        apiVersion: v1
        kind: Service
        metadata: {name: dns}
        spec:
          ports:
          - {name: dns-tcp, port: 53}
          - {name: dns-udp, port: 53, protocol: UDP}
        """)
        rejected("""
        apiVersion: v1
        kind: Service
        metadata: {name: dns}
        spec:
          ports:
          - {name: a, port: 53}
          - {name: b, port: 53, protocol: TCP}
        """, [#"s.yaml:7: Service default/dns: spec.ports[1]: Duplicate value: {"port":53,"protocol":"TCP"}"#])
    }

    // MARK: unknown fields

    @Test func unknownSpecField() {
        rejected(httpRoute(spec: """
          foo: bar
          rules: []
        """), [
            #"s.yaml:6: HTTPRoute default/r: spec.foo: unknown field "spec.foo""#,
            "s.yaml:7: HTTPRoute default/r: spec.rules: Invalid value: 0: spec.rules in body should have at least 1 items",
        ])
        rejected(httpRoute(spec: "  foo: bar"), [#"s.yaml:6: HTTPRoute default/r: spec.foo: unknown field "spec.foo""#])
        // A misspelled nested field, and an unknown top-level field.
        rejected("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: r
        spec:
          rules:
          - backendRef: [{name: svc}]
        extra: 1
        """, [
            #"s.yaml:7: HTTPRoute default/r: spec.rules[0].backendRef: unknown field "spec.rules[0].backendRef""#,
            #"s.yaml:8: HTTPRoute default/r: extra: unknown field "extra""#,
        ])
    }

    @Test func unknownMetadataField() {
        rejected("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: r
          foo: bar
        spec: {}
        """, [#"s.yaml:5: HTTPRoute default/r: metadata.foo: unknown field "metadata.foo""#])
        // Known metadata fields are fine.
        accepted("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: r
          labels: {app: web}
          annotations: {note: "anything: at all"}
          generation: 3
          creationTimestamp: "2024-01-02T03:04:05Z"
          resourceVersion: "12"
          uid: 0b4d0a5e-0000-0000-0000-000000000000
        spec: {}
        """)
    }

    /// An unknown field whose value is a block mapping is reported at the line of its key,
    /// where it is written, not at the line of its first child.
    @Test func unknownFieldWithNestedValueIsReportedAtItsKeyLine() {
        rejected("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: r
          extra:
            a: b
        spec:
          rules:
          - extra:
              a: b
        """, [
            #"s.yaml:5: HTTPRoute default/r: metadata.extra: unknown field "metadata.extra""#,
            #"s.yaml:9: HTTPRoute default/r: spec.rules[0].extra: unknown field "spec.rules[0].extra""#,
        ])
    }

    /// Core kinds preserve fields Sluice does not model (they are valid Kubernetes fields).
    @Test func coreKindsPreserveUnmodelledFields() {
        let obj = accepted("""
        apiVersion: v1
        kind: Service
        metadata: {name: svc}
        spec:
          sessionAffinity: ClientIP
          ports: [{port: 80}]
        """)
        #expect(obj?.value["spec"]?["sessionAffinity"]?.string == "ClientIP")
    }

    /// `kubectl get -o yaml` output carries `status`; the API server accepts and ignores it on
    /// create, so it is not an unknown field.
    @Test func statusIsNotAnUnknownField() {
        accepted("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: r
        spec: {}
        status:
          parents: []
        """)
    }

    // MARK: nulls

    @Test func nullFieldsArePruned() {
        let text = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: web
          labels: null
        spec:
          gatewayClassName: sluice
          addresses: null
          listeners:
          - name: http
            port: 80
            protocol: HTTP
            hostname: null
            tls: ~
        """
        let obj = accepted(text)
        #expect(obj?.value["metadata"]?.object?["labels"] == nil)
        #expect(obj?.value["spec"]?.object?["addresses"] == nil)
        #expect(obj?.value["spec"]?["listeners"]?[0]?.object?["hostname"] == nil)
        #expect(obj?.value["spec"]?["listeners"]?[0]?.object?["tls"] == nil)
        let (s, d) = ResourceSnapshot.load(texts: [(file: file, text: text)])
        #expect(d.isEmpty)
        #expect(s.gateways.first?.spec.listeners.first?.hostname == nil)
    }

    @Test func nullFieldWithDefaultGetsTheDefault() {
        let obj = accepted(httpRoute(spec: "  rules: null"))
        #expect(obj?.value["spec"]?["rules"] == (try! YAMLReader.value("[{matches: [{path: {type: PathPrefix, value: /}}]}]")))
    }

    // MARK: metadata

    @Test func metadataNameInvalid() {
        accepted(httpRoute(spec: "  {}").replacingOccurrences(of: "name: r", with: "name: shop.v2-a"))
        rejected("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: Shop
        spec: {}
        """, [#"s.yaml:4: HTTPRoute default/Shop: metadata.name: Invalid value: "Shop": \#(subdomainMessage)"#])
        rejected("""
        apiVersion: v1
        kind: Service
        metadata:
          name: 1svc
        spec: {ports: [{port: 80}]}
        """, [#"s.yaml:4: Service default/1svc: metadata.name: Invalid value: "1svc": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (at most 63 characters)"#])
    }

    @Test func metadataNameMissing() {
        rejected("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          namespace: team
        spec: {}
        """, ["s.yaml:4: HTTPRoute team/<unnamed>: metadata.name: Required value: name or generateName is required"])
        rejected("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        spec: {}
        """, ["s.yaml:1: HTTPRoute default/<unnamed>: metadata: Required value: metadata must be an object with a name"])
    }

    @Test func metadataNamespaceInvalid() {
        rejected("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: r
          namespace: Team_A
        spec: {}
        """, [#"s.yaml:5: HTTPRoute Team_A/r: metadata.namespace: Invalid value: "Team_A": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"#])
    }

    @Test func labelValueTooLong() {
        let v63 = String(repeating: "v", count: 63)
        accepted(httpRoute(spec: "  {}").replacingOccurrences(of: "name: r", with: "name: r\n  labels: {app: \(v63)}"))
        let v64 = v63 + "v"
        rejected("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata:
          name: r
          labels:
            app: web
            tier: \(v64)
        spec: {}
        """, [#"s.yaml:7: HTTPRoute default/r: metadata.labels: Invalid value: "\#(v64)": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters"#])
    }

    // MARK: core kinds

    @Test func servicePortOutOfRange() {
        accepted("""
        apiVersion: v1
        kind: Service
        metadata: {name: svc}
        spec:
          ports:
          - port: 65535
        """)
        rejected("""
        apiVersion: v1
        kind: Service
        metadata: {name: svc}
        spec:
          ports:
          - port: 70000
        """, ["s.yaml:6: Service default/svc: spec.ports[0].port: Invalid value: 70000: spec.ports[0].port in body should be less than or equal to 65535"])
    }

    @Test func endpointSliceMissingAddressType() {
        accepted("""
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: svc-abc
          labels: {kubernetes.io/service-name: svc}
        addressType: IPv4
        endpoints:
        - addresses: [10.0.0.1]
        ports:
        - port: 8080
        """)
        rejected("""
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: svc-abc
        endpoints:
        - addresses: [10.0.0.1]
        """, ["s.yaml:1: EndpointSlice default/svc-abc: addressType: Required value"])
    }

    @Test func deploymentWithoutContainers() {
        let head = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:

        """
        accepted(head + "      containers: [{name: web, image: nginx}]")
        rejected(head + "      restartPolicy: Always",
                 ["s.yaml:10: Deployment default/web: spec.template.spec.containers: Required value"])
        rejected(head + "      containers: []",
                 ["s.yaml:10: Deployment default/web: spec.template.spec.containers: Invalid value: 0: spec.template.spec.containers in body should have at least 1 items"])
    }

    // MARK: rejection is whole

    @Test func rejectedObjectIsRejectedWholeOthersInTheFileLoad() {
        let text = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: before}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: web
        spec:
          gatewayClassName: sluice
          listeners:
          - name: good
            port: 80
            protocol: HTTP
          - name: bad
            port: 0
            protocol: HTTP
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: r}
        spec:
          parentRefs: [{name: web}]
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: after}
        """
        let r = load(text)
        #expect(r.diagnostics.map(\.description) == [
            "s.yaml:16: Gateway default/web: spec.listeners[1].port: Invalid value: 0: spec.listeners[1].port in body should be greater than or equal to 1",
        ])
        #expect(r.objects.map(\.key.description) == ["ConfigMap default/before", "HTTPRoute default/r", "ConfigMap default/after"])

        let (s, d) = ResourceSnapshot.load(texts: [(file: file, text: text)])
        #expect(d.count == 1)
        #expect(s.gateways.isEmpty)
        #expect(s.httpRoutes.count == 1)
        #expect(s.configMaps.map(\.metadata.name) == ["before", "after"])
        let gwKey = ObjectKey(group: ResourceKind.gatewayGroup, kind: "Gateway", namespace: "default", name: "web")
        #expect(s.locations[gwKey] == nil)
        #expect(s.creationOrder[gwKey] == nil)
    }

    /// A later invalid definition does not replace (or remove) an earlier valid one.
    @Test func invalidDuplicateDoesNotReplaceValidObject() {
        let text = """
        apiVersion: v1
        kind: Service
        metadata: {name: svc}
        spec: {ports: [{port: 80}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: svc}
        spec: {ports: [{port: 0}]}
        """
        let r = load(text)
        #expect(r.objects.map(\.location.line) == [1])
        #expect(r.diagnostics.map(\.description) == [
            "s.yaml:9: Service default/svc: spec.ports[0].port: Invalid value: 0: spec.ports[0].port in body should be greater than or equal to 1",
        ])
    }
}
