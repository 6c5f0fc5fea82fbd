import Foundation
import Testing
@testable import GatewayAPI

private func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
    try JSONDecoder().decode(type, from: Data(json.utf8))
}

@Suite("Model decoding")
struct ModelDecodingTests {

    // MARK: Gateway API kinds

    @Test func gatewayClass() throws {
        let gc = try decode(GatewayClass.self, #"""
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"GatewayClass","metadata":{"name":"sluice"},
         "spec":{"controllerName":"sluice.dev/gateway-controller","description":"default",
                 "parametersRef":{"group":"sluice.dev","kind":"Config","name":"cfg","namespace":"infra"}},
         "status":{"conditions":[{"type":"Accepted","status":"True","reason":"Accepted","message":"",
                                  "lastTransitionTime":"2024-01-01T00:00:00Z","observedGeneration":1}],
                   "supportedFeatures":[{"name":"HTTPRoute"}]}}
        """#)
        #expect(GatewayClass.kind == "GatewayClass")
        #expect(gc.spec.controllerName == "sluice.dev/gateway-controller")
        #expect(gc.spec.parametersRef?.namespace == "infra")
        #expect(gc.status?.conditions?.first?.status == .true)
        #expect(gc.status?.supportedFeatures == [SupportedFeature(name: "HTTPRoute")])
        #expect(gc.metadata.namespace == nil)
    }

    @Test func gatewayWithTLSListenerAndSelector() throws {
        let gw = try decode(Gateway.self, #"""
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway",
         "metadata":{"name":"web","namespace":"infra","generation":3,"labels":{"app":"web"}},
         "spec":{"gatewayClassName":"sluice",
           "addresses":[{"value":"127.0.0.5"},{"type":"Hostname","value":"gw.example.com"}],
           "listeners":[
             {"name":"http","port":80,"protocol":"HTTP"},
             {"name":"https","port":443,"protocol":"HTTPS","hostname":"*.example.com",
              "tls":{"certificateRefs":[{"name":"web-cert"},{"kind":"Secret","group":"","name":"other","namespace":"certs"}],
                     "options":{"sluice.dev/min-version":"1.2"}},
              "allowedRoutes":{"namespaces":{"from":"Selector","selector":{
                   "matchLabels":{"shared":"true"},
                   "matchExpressions":[{"key":"env","operator":"In","values":["prod","staging"]}]}},
                 "kinds":[{"kind":"HTTPRoute"},{"group":"gateway.networking.k8s.io","kind":"GRPCRoute"}]}},
             {"name":"tls","port":8443,"protocol":"TLS","tls":{"mode":"Passthrough"},
              "allowedRoutes":{"namespaces":{"from":"All"}}}],
           "infrastructure":{"labels":{"team":"a"},"parametersRef":{"group":"sluice.dev","kind":"Cfg","name":"x"}},
           "allowedListeners":{"namespaces":{"from":"Same"}},
           "defaultScope":"All",
           "tls":{"backend":{"clientCertificateRef":{"name":"client"}},
                  "frontend":{"default":{"validation":{"caCertificateRefs":[{"group":"","kind":"ConfigMap","name":"ca"}]}},
                              "perPort":[{"port":8443,"tls":{"validation":{"caCertificateRefs":[{"group":"","kind":"ConfigMap","name":"ca2"}],
                                                                           "mode":"AllowInsecureFallback"}}}]}}},
         "status":{"addresses":[{"value":"127.3.0.1"}],
                   "listeners":[{"name":"http","attachedRoutes":2,"supportedKinds":[{"kind":"HTTPRoute"}],"conditions":[]}]}}
        """#)
        #expect(gw.kind == "Gateway")
        #expect(gw.namespacedName == NamespacedName(namespace: "infra", name: "web"))
        #expect(gw.metadata.generation == 3)
        #expect(gw.spec.addresses?[0].type == AddressType.ipAddress)
        #expect(gw.spec.addresses?[1].type == "Hostname")
        #expect(gw.spec.listeners.count == 3)

        let http = gw.spec.listeners[0]
        #expect(http.protocol == ListenerProtocol.http)
        #expect(http.allowedRoutes.namespaces.from == .same)
        #expect(http.allowedRoutes.kinds == nil)
        #expect(http.tls == nil)

        let https = gw.spec.listeners[1]
        #expect(https.hostname == "*.example.com")
        #expect(https.tls?.mode == .terminate)
        #expect(https.tls?.certificateRefs?[0] == SecretObjectReference(group: "", kind: "Secret", name: "web-cert"))
        #expect(https.tls?.certificateRefs?[1].namespace == "certs")
        #expect(https.tls?.options?["sluice.dev/min-version"] == "1.2")
        #expect(https.allowedRoutes.namespaces.from == .selector)
        let selector = try #require(https.allowedRoutes.namespaces.selector)
        #expect(selector.matches(["shared": "true", "env": "prod"]))
        #expect(!selector.matches(["shared": "true", "env": "dev"]))
        #expect(https.allowedRoutes.kinds?.map(\.group) == ["gateway.networking.k8s.io", "gateway.networking.k8s.io"])
        #expect(https.allowedRoutes.kinds?.map(\.kind) == ["HTTPRoute", "GRPCRoute"])

        let tls = gw.spec.listeners[2]
        #expect(tls.tls?.mode == .passthrough)
        #expect(tls.allowedRoutes.namespaces.from == .all)

        #expect(gw.spec.infrastructure?.parametersRef?.name == "x")
        #expect(gw.spec.allowedListeners?.namespaces.from == .same)
        #expect(gw.spec.defaultScope == .all)
        #expect(gw.spec.tls?.backend?.clientCertificateRef?.kind == "Secret")
        let frontend = try #require(gw.spec.tls?.frontend)
        #expect(frontend.default.validation?.mode == .allowValidOnly)
        #expect(frontend.config(forPort: 8443).validation?.mode == .allowInsecureFallback)
        #expect(frontend.config(forPort: 443).validation?.caCertificateRefs.first?.name == "ca")
        #expect(gw.status?.addresses?.first == GatewayStatusAddress(type: "IPAddress", value: "127.3.0.1"))
        #expect(gw.status?.listeners?.first?.attachedRoutes == 2)
    }

    @Test func allowedListenersDefaultsToNone() throws {
        let gw = try decode(Gateway.self, #"""
        {"metadata":{"name":"g"},"spec":{"gatewayClassName":"c","allowedListeners":{},
         "listeners":[{"name":"a","port":80,"protocol":"HTTP","allowedRoutes":{}}]}}
        """#)
        #expect(gw.apiVersion == Gateway.defaultAPIVersion)
        #expect(gw.kind == "Gateway")
        #expect(gw.spec.allowedListeners?.namespaces.from == .notAllowed)
        #expect(gw.spec.listeners[0].allowedRoutes.namespaces.from == .same)
    }

    @Test func listenerSet() throws {
        let ls = try decode(ListenerSet.self, #"""
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"ListenerSet","metadata":{"name":"extra","namespace":"apps"},
         "spec":{"parentRef":{"name":"web","namespace":"infra"},
                 "listeners":[{"name":"foo","port":8080,"protocol":"HTTP","hostname":"foo.example.com"}]}}
        """#)
        #expect(ls.spec.parentRef == ParentGatewayReference(name: "web", namespace: "infra"))
        #expect(ls.spec.listeners[0].hostname == "foo.example.com")
        #expect(ls.spec.listeners[0].allowedRoutes == AllowedRoutes())
    }

    @Test func httpRouteWithEveryFilter() throws {
        let route = try decode(HTTPRoute.self, #"""
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute",
         "metadata":{"name":"r","namespace":"apps","creationTimestamp":"2024-05-01T10:00:00Z"},
         "spec":{
          "parentRefs":[{"name":"web","namespace":"infra","sectionName":"https"},
                        {"group":"","kind":"Service","name":"svc","port":8080}],
          "hostnames":["foo.example.com","*.bar.com"],
          "rules":[
           {"name":"main",
            "matches":[{"path":{"type":"Exact","value":"/exact"},
                        "headers":[{"name":"x-env","value":"prod"},{"type":"RegularExpression","name":"x-re","value":"^a.*"}],
                        "queryParams":[{"name":"q","value":"1"}],
                        "method":"POST"},
                       {"headers":[{"name":"only","value":"h"}]}],
            "filters":[
              {"type":"RequestHeaderModifier","requestHeaderModifier":{"set":[{"name":"x-set","value":"s"}],
                  "add":[{"name":"x-add","value":"a"}],"remove":["x-remove"]}},
              {"type":"ResponseHeaderModifier","responseHeaderModifier":{"add":[{"name":"x-resp","value":"r"}]}},
              {"type":"RequestMirror","requestMirror":{"backendRef":{"name":"mirror","port":80},"percent":25}},
              {"type":"RequestMirror","requestMirror":{"backendRef":{"name":"mirror2","port":80},"fraction":{"numerator":1}}},
              {"type":"RequestRedirect","requestRedirect":{"scheme":"https","hostname":"new.example.com","port":8443,
                  "path":{"type":"ReplacePrefixMatch","replacePrefixMatch":"/new"}}},
              {"type":"URLRewrite","urlRewrite":{"hostname":"rewritten","path":{"type":"ReplaceFullPath","replaceFullPath":"/full"}}},
              {"type":"CORS","cors":{"allowOrigins":["https://a.example.com","*"],"allowCredentials":true,
                  "allowMethods":["GET","*"],"allowHeaders":["x-h"],"exposeHeaders":["x-e"]}},
              {"type":"ExtensionRef","extensionRef":{"group":"sluice.dev","kind":"Plugin","name":"p"}},
              {"type":"ExternalAuth","externalAuth":{"protocol":"HTTP","backendRef":{"name":"auth","port":9000},
                  "http":{"path":"/check","allowedHeaders":["authorization"],"allowedResponseHeaders":["x-user"]},
                  "forwardBody":{"maxSize":1024}}}],
            "backendRefs":[{"name":"app","port":8080,"weight":3,
                            "filters":[{"type":"RequestHeaderModifier","requestHeaderModifier":{"set":[{"name":"x-b","value":"1"}]}}]},
                           {"name":"app2","namespace":"other","port":8080}],
            "timeouts":{"request":"10s","backendRequest":"500ms"},
            "retry":{"codes":[500,503],"attempts":2,"backoff":"100ms"},
            "sessionPersistence":{"absoluteTimeout":"1h","cookie":{"name":"sid","lifetimeType":"Permanent"}}},
           {"filters":[{"type":"RequestRedirect","requestRedirect":{"statusCode":301}}]},
           {"filters":[{"type":"ExternalAuth","externalAuth":{"protocol":"GRPC","backendRef":{"name":"authz","port":9001},
                                                             "grpc":{"allowedHeaders":["x-a"]}}}]}]}}
        """#)
        #expect(route.namespacedName.description == "apps/r")
        #expect(route.spec.hostnames == ["foo.example.com", "*.bar.com"])
        let parents = try #require(route.spec.parentRefs)
        #expect(parents[0] == ParentReference(namespace: "infra", name: "web", sectionName: "https"))
        #expect(parents[1].group == "" && parents[1].kind == "Service" && parents[1].port == 8080)

        #expect(route.spec.rules.count == 3)
        let rule = route.spec.rules[0]
        #expect(rule.name == "main")
        #expect(rule.matches.count == 2)
        #expect(rule.matches[0].path == HTTPPathMatch(type: .exact, value: "/exact"))
        #expect(rule.matches[0].headers?[0].type == .exact)
        #expect(rule.matches[0].headers?[1].type == .regularExpression)
        #expect(rule.matches[0].queryParams?[0] == HTTPQueryParamMatch(name: "q", value: "1"))
        #expect(rule.matches[0].method == .post)
        #expect(rule.matches[1].path == HTTPPathMatch(type: .pathPrefix, value: "/"))

        let f = try #require(rule.filters)
        #expect(f.map(\.type) == [.requestHeaderModifier, .responseHeaderModifier, .requestMirror, .requestMirror,
                                  .requestRedirect, .urlRewrite, .cors, .extensionRef, .externalAuth])
        #expect(f[0].requestHeaderModifier?.set == [HTTPHeader(name: "x-set", value: "s")])
        #expect(f[0].requestHeaderModifier?.add == [HTTPHeader(name: "x-add", value: "a")])
        #expect(f[0].requestHeaderModifier?.remove == ["x-remove"])
        #expect(f[1].responseHeaderModifier?.add?.first?.name == "x-resp")
        #expect(f[2].requestMirror?.backendRef == BackendObjectReference(name: "mirror", port: 80))
        #expect(f[2].requestMirror?.percent == 25)
        #expect(f[2].requestMirror?.mirroredShare == 0.25)
        #expect(f[3].requestMirror?.fraction == Fraction(numerator: 1, denominator: 100))
        #expect(f[3].requestMirror?.mirroredShare == 0.01)
        let redirect = try #require(f[4].requestRedirect)
        #expect(redirect.scheme == .https)
        #expect(redirect.hostname == "new.example.com")
        #expect(redirect.port == 8443)
        #expect(redirect.statusCode == 302)
        #expect(redirect.path == HTTPPathModifier(type: .replacePrefixMatch, replacePrefixMatch: "/new"))
        #expect(f[5].urlRewrite?.hostname == "rewritten")
        #expect(f[5].urlRewrite?.path?.replaceFullPath == "/full")
        let cors = try #require(f[6].cors)
        #expect(cors.allowOrigins == ["https://a.example.com", "*"])
        #expect(cors.allowCredentials == true)
        #expect(cors.allowMethods == [.get, .wildcard])
        #expect(cors.allowHeaders == ["x-h"] && cors.exposeHeaders == ["x-e"])
        #expect(cors.maxAge == 5)
        #expect(f[7].extensionRef == LocalObjectReference(group: "sluice.dev", kind: "Plugin", name: "p"))
        let auth = try #require(f[8].externalAuth)
        #expect(auth.protocol == .http)
        #expect(auth.backendRef.isCoreService && auth.backendRef.port == 9000)
        #expect(auth.http?.path == "/check")
        #expect(auth.http?.allowedResponseHeaders == ["x-user"])
        #expect(auth.forwardBody?.maxSize == 1024)

        let backends = try #require(rule.backendRefs)
        #expect(backends[0].weight == 3)
        #expect(backends[0].kind == "Service" && backends[0].group == "")
        #expect(backends[0].filters?.first?.requestHeaderModifier?.set?.first?.name == "x-b")
        #expect(backends[1].weight == 1)
        #expect(backends[1].objectReference == BackendObjectReference(name: "app2", namespace: "other", port: 8080))

        #expect(rule.timeouts?.requestSeconds == 10)
        #expect(rule.timeouts?.backendRequestSeconds == 0.5)
        #expect(rule.retry?.codes == [500, 503])
        #expect(rule.retry?.attempts == 2)
        #expect(rule.retry?.backoffSeconds == 0.1)
        let sp = try #require(rule.sessionPersistence)
        #expect(sp.type == .cookie)
        #expect(sp.cookie == SessionPersistenceCookieConfig(name: "sid", lifetimeType: .permanent, path: "/"))
        #expect(sp.absoluteTimeoutSeconds == 3600)

        // A rule without matches gets the CRD default.
        #expect(route.spec.rules[1].matches == [HTTPRouteMatch()])
        #expect(route.spec.rules[1].filters?.first?.requestRedirect?.statusCode == 301)
        #expect(route.spec.rules[2].filters?.first?.externalAuth?.protocol == .grpc)
        #expect(route.spec.rules[2].filters?.first?.externalAuth?.grpc?.allowedHeaders == ["x-a"])
    }

    @Test func httpRouteDefaultsAndRoundTrip() throws {
        let route = try decode(HTTPRoute.self, #"""
        {"metadata":{"name":"r"},"spec":{"parentRefs":[{"name":"gw"}],"useDefaultGateways":"None"}}
        """#)
        #expect(route.spec.rules == [HTTPRouteRule(matches: [HTTPRouteMatch(path: HTTPPathMatch(type: .pathPrefix, value: "/"))])])
        #expect(route.spec.parentRefs?.first?.group == "gateway.networking.k8s.io")
        #expect(route.spec.parentRefs?.first?.kind == "Gateway")
        #expect(route.spec.useDefaultGateways == .disabled)

        let withStatus = HTTPRoute(metadata: route.metadata, spec: route.spec, status: RouteStatus(parents: [
            RouteParentStatus(parentRef: ParentReference(name: "gw"), controllerName: "sluice.dev/gateway-controller",
                              conditions: [Condition(type: "Accepted", status: .true, reason: "Accepted")]),
        ]))
        let data = try JSONEncoder().encode(withStatus)
        let again = try JSONDecoder().decode(HTTPRoute.self, from: data)
        #expect(again == withStatus)
        #expect(again.status?.parents.first?.conditions.first?.status == .true)
    }

    @Test func grpcRoute() throws {
        let route = try decode(GRPCRoute.self, #"""
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"GRPCRoute","metadata":{"name":"g","namespace":"apps"},
         "spec":{"parentRefs":[{"name":"web"}],"hostnames":["grpc.example.com"],
          "rules":[{"matches":[{"method":{"service":"foo.Bar","method":"Baz"},"headers":[{"name":"x","value":"y"}]},
                               {"method":{"type":"RegularExpression","service":"foo\\..*"}}],
                    "filters":[{"type":"RequestHeaderModifier","requestHeaderModifier":{"set":[{"name":"a","value":"b"}]}},
                               {"type":"RequestMirror","requestMirror":{"backendRef":{"name":"m","port":50051}}}],
                    "backendRefs":[{"name":"grpc-svc","port":50051,
                                    "filters":[{"type":"ResponseHeaderModifier","responseHeaderModifier":{"remove":["x"]}}]}]},
                   {"backendRefs":[{"name":"fallback","port":50051,"weight":0}]}]}}
        """#)
        let rules = try #require(route.spec.rules)
        #expect(rules[0].matches?[0].method == GRPCMethodMatch(type: .exact, service: "foo.Bar", method: "Baz"))
        #expect(rules[0].matches?[0].headers?[0].type == .exact)
        #expect(rules[0].matches?[1].method?.type == .regularExpression)
        #expect(rules[0].filters?.map(\.type) == [.requestHeaderModifier, .requestMirror])
        #expect(rules[0].filters?[1].requestMirror?.mirroredShare == 1)
        #expect(rules[0].backendRefs?[0].weight == 1)
        #expect(rules[0].backendRefs?[0].filters?[0].responseHeaderModifier?.remove == ["x"])
        #expect(rules[1].matches == nil)
        #expect(rules[1].backendRefs?[0].backendRef.weight == 0)
    }

    @Test func l4Routes() throws {
        let tcp = try decode(TCPRoute.self, #"""
        {"apiVersion":"gateway.networking.k8s.io/v1alpha2","kind":"TCPRoute","metadata":{"name":"t"},
         "spec":{"parentRefs":[{"name":"gw","sectionName":"tcp"}],"rules":[{"backendRefs":[{"name":"db","port":5432}]}]}}
        """#)
        #expect(tcp.apiVersion == "gateway.networking.k8s.io/v1alpha2")
        #expect(tcp.spec.rules[0].backendRefs[0] == BackendRef(name: "db", port: 5432, weight: 1))

        let tls = try decode(TLSRoute.self, #"""
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"TLSRoute","metadata":{"name":"t"},
         "spec":{"parentRefs":[{"name":"gw"}],"hostnames":["a.example.com"],
                 "rules":[{"name":"r","backendRefs":[{"name":"a","port":443,"weight":2},{"name":"b","port":443}]}]}}
        """#)
        #expect(tls.spec.hostnames == ["a.example.com"])
        #expect(tls.spec.rules[0].name == "r")
        #expect(tls.spec.rules[0].backendRefs.map(\.weight) == [2, 1])

        let udp = try decode(UDPRoute.self, #"""
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"UDPRoute","metadata":{"name":"u"},
         "spec":{"parentRefs":[{"name":"gw","port":53}],"rules":[{"backendRefs":[{"name":"dns","port":53}]}]}}
        """#)
        #expect(udp.spec.parentRefs?.first?.port == 53)
        #expect(UDPRoute.kind == "UDPRoute" && udp.kind == "UDPRoute")
    }

    @Test func referenceGrant() throws {
        let rg = try decode(ReferenceGrant.self, #"""
        {"apiVersion":"gateway.networking.k8s.io/v1beta1","kind":"ReferenceGrant","metadata":{"name":"g","namespace":"backends"},
         "spec":{"from":[{"group":"gateway.networking.k8s.io","kind":"HTTPRoute","namespace":"apps"}],
                 "to":[{"group":"","kind":"Service"},{"group":"","kind":"Secret","name":"only-this"}]}}
        """#)
        #expect(rg.spec.from[0].namespace == "apps")
        #expect(rg.spec.to[0].name == nil)
        #expect(rg.permits(fromGroup: "gateway.networking.k8s.io", fromKind: "HTTPRoute", fromNamespace: "apps",
                           toGroup: "", toKind: "Service", toName: "anything"))
        #expect(rg.permits(fromGroup: "gateway.networking.k8s.io", fromKind: "HTTPRoute", fromNamespace: "apps",
                           toGroup: "", toKind: "Secret", toName: "only-this"))
        #expect(!rg.permits(fromGroup: "gateway.networking.k8s.io", fromKind: "HTTPRoute", fromNamespace: "apps",
                            toGroup: "", toKind: "Secret", toName: "other"))
        #expect(!rg.permits(fromGroup: "gateway.networking.k8s.io", fromKind: "GRPCRoute", fromNamespace: "apps",
                            toGroup: "", toKind: "Service", toName: "x"))
    }

    @Test func backendTLSPolicy() throws {
        let p = try decode(BackendTLSPolicy.self, #"""
        {"apiVersion":"gateway.networking.k8s.io/v1","kind":"BackendTLSPolicy","metadata":{"name":"p","namespace":"apps"},
         "spec":{"targetRefs":[{"group":"","kind":"Service","name":"secure","sectionName":"https"}],
                 "validation":{"caCertificateRefs":[{"group":"","kind":"ConfigMap","name":"ca"}],"hostname":"secure.example.com",
                               "subjectAltNames":[{"type":"Hostname","hostname":"alt.example.com"},{"type":"URI","uri":"spiffe://td/ns/apps"}]},
                 "options":{"k":"v"}},
         "status":{"ancestors":[{"ancestorRef":{"name":"web"},"controllerName":"sluice.dev/gateway-controller",
                                 "conditions":[{"type":"Accepted","status":"False","reason":"Invalid","message":"x",
                                                "lastTransitionTime":"2024-01-01T00:00:00Z"}]}]}}
        """#)
        #expect(p.spec.targetRefs[0].sectionName == "https")
        #expect(p.spec.validation.hostname == "secure.example.com")
        #expect(p.spec.validation.caCertificateRefs?.first?.kind == "ConfigMap")
        #expect(p.spec.validation.wellKnownCACertificates == nil)
        #expect(p.spec.validation.subjectAltNames?.map(\.type) == [.hostname, .uri])
        #expect(p.spec.options == ["k": "v"])
        #expect(p.status?.ancestors.first?.ancestorRef.kind == "Gateway")
        #expect(p.status?.ancestors.first?.conditions.first?.status == .false)
    }

    // MARK: Core kinds

    @Test func namespaceIgnoresSpec() throws {
        let ns = try decode(Namespace.self, #"""
        {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"apps","labels":{"env":"prod"}},"spec":{"finalizers":["kubernetes"]}}
        """#)
        #expect(ns.metadata.labels == ["env": "prod"])
        #expect(ns.effectiveLabels["kubernetes.io/metadata.name"] == "apps")
        #expect(Namespace.group == "")
    }

    @Test func serviceWithNamedTargetPort() throws {
        let svc = try decode(Service.self, #"""
        {"apiVersion":"v1","kind":"Service","metadata":{"name":"app","namespace":"apps"},
         "spec":{"selector":{"app":"app"},"clusterIP":"10.0.0.1","clusterIPs":["10.0.0.1"],
                 "ports":[{"name":"http","port":80,"targetPort":"web","appProtocol":"kubernetes.io/h2c"},
                          {"name":"dns","port":53,"protocol":"UDP","targetPort":5353},
                          {"name":"plain","port":8080}]}}
        """#)
        #expect(svc.spec.type == .clusterIP)
        #expect(svc.spec.selector == ["app": "app"])
        let ports = try #require(svc.spec.ports)
        #expect(ports[0].targetPort == .string("web"))
        #expect(ports[0].protocol == .tcp)
        #expect(ports[0].appProtocol == "kubernetes.io/h2c")
        #expect(ports[1].protocol == .udp)
        #expect(ports[1].targetPort?.intValue == 5353)
        #expect(ports[2].effectiveTargetPort == .int(8080))
        #expect(svc.spec.port(named: "dns")?.port == 53)
        #expect(svc.spec.port(number: 80)?.name == "http")

        let ext = try decode(Service.self, #"""
        {"apiVersion":"v1","kind":"Service","metadata":{"name":"ext"},"spec":{"type":"ExternalName","externalName":"example.com"}}
        """#)
        #expect(ext.spec.type == .externalName && ext.spec.externalName == "example.com")
    }

    @Test func secretAndConfigMap() throws {
        let secret = try decode(Secret.self, #"""
        {"apiVersion":"v1","kind":"Secret","metadata":{"name":"cert"},"type":"kubernetes.io/tls",
         "data":{"tls.crt":"Y2VydA==","tls.key":"a2V5"},"stringData":{"tls.key":"plain"}}
        """#)
        #expect(secret.type == SecretType.tls)
        #expect(secret.bytes(forKey: "tls.crt") == Data("cert".utf8))
        #expect(secret.bytes(forKey: "tls.key") == Data("plain".utf8))
        #expect(secret.bytes(forKey: "missing") == nil)
        #expect(secret.hasKey("tls.crt"))

        let cm = try decode(ConfigMap.self, #"""
        {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ca"},"data":{"ca.crt":"PEM"}}
        """#)
        #expect(cm.bytes(forKey: "ca.crt") == Data("PEM".utf8))
    }

    @Test func endpointSlice() throws {
        let slice = try decode(EndpointSlice.self, #"""
        {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
         "metadata":{"name":"app-abc","namespace":"apps","labels":{"kubernetes.io/service-name":"app"}},
         "addressType":"IPv4",
         "endpoints":[{"addresses":["10.1.0.5"],"conditions":{"ready":true,"serving":true,"terminating":false},
                       "targetRef":{"kind":"Pod","namespace":"apps","name":"app-1","uid":"u1"},"nodeName":"n1","zone":"z1"},
                      {"addresses":["10.1.0.6"],"conditions":{"ready":false,"serving":true,"terminating":true}},
                      {"addresses":["10.1.0.7"]}],
         "ports":[{"name":"http","port":8080,"protocol":"TCP","appProtocol":"http"},{"name":"other","port":9090}]}
        """#)
        #expect(EndpointSlice.group == "discovery.k8s.io")
        #expect(slice.serviceName == "app")
        #expect(slice.addressType == .ipv4)
        let eps = try #require(slice.endpoints)
        #expect(eps[0].targetRef?.name == "app-1")
        #expect(eps[0].nodeName == "n1" && eps[0].zone == "z1")
        #expect(eps[0].isReady && eps[0].isServing && !eps[0].isTerminating)
        #expect(!eps[1].isReady && eps[1].isServing && eps[1].isTerminating)
        #expect(eps[2].isReady && eps[2].isServing && !eps[2].isTerminating)
        #expect(slice.ports?[0].appProtocol == "http")
        #expect(slice.ports?[1].protocol == .tcp)
    }

    @Test func deployment() throws {
        let d = try decode(Deployment.self, #"""
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"echo","namespace":"apps"},
         "spec":{"selector":{"matchLabels":{"app":"echo"}},
                 "template":{"metadata":{"labels":{"app":"echo","version":"v1"}},
                             "spec":{"containers":[{"name":"echo","image":"gcr.io/k8s-staging-gateway-api/echo-basic:v20240412",
                                                    "ports":[{"containerPort":3000,"name":"http"},{"containerPort":53,"protocol":"UDP"}],
                                                    "env":[{"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},
                                                           {"name":"MODE","value":"echo"}],
                                                    "args":["--port","3000"],"command":["/echo"]}]}}}}
        """#)
        #expect(Deployment.group == "apps")
        #expect(d.spec.replicas == 1)
        #expect(d.spec.selector?.matches(d.spec.template.labels) == true)
        #expect(d.spec.template.metadata?.name == "")
        let c = d.spec.template.spec.containers[0]
        #expect(c.image?.hasPrefix("gcr.io/") == true)
        #expect(c.ports?[0] == ContainerPort(containerPort: 3000, name: "http", protocol: .tcp))
        #expect(c.ports?[1].protocol == .udp)
        #expect(c.env?[0] == EnvVar(name: "POD_NAME", value: nil))
        #expect(c.env?[1].value == "echo")
        #expect(c.args == ["--port", "3000"] && c.command == ["/echo"])
    }

    @Test func intOrString() throws {
        #expect(try decode([IntOrString].self, #"[8080, "http"]"#) == [.int(8080), .string("http")])
        let data = try JSONEncoder().encode([IntOrString.int(1), .string("a")])
        #expect(String(decoding: data, as: UTF8.self) == #"[1,"a"]"#)
    }
}

// Nested so `--filter ModelDecodingTests` runs them too.
extension ModelDecodingTests {
    @Suite("LabelSelector")
    struct LabelSelectorTests {
        let labels = ["env": "prod", "tier": "web"]

        @Test func emptySelectorMatchesEverything() {
            #expect(LabelSelector().matches([:]))
            #expect(LabelSelector().matches(labels))
            #expect(LabelSelector(matchLabels: [:], matchExpressions: []).matches(labels))
        }

        @Test func matchLabels() {
            #expect(LabelSelector(matchLabels: ["env": "prod"]).matches(labels))
            #expect(!LabelSelector(matchLabels: ["env": "dev"]).matches(labels))
            #expect(!LabelSelector(matchLabels: ["missing": "x"]).matches(labels))
        }

        @Test func inOperator() {
            let s = LabelSelector(matchExpressions: [LabelSelectorRequirement(key: "env", operator: .in, values: ["prod", "staging"])])
            #expect(s.matches(labels))
            #expect(!s.matches(["env": "dev"]))
            #expect(!s.matches([:]))
        }

        @Test func notInOperator() {
            let s = LabelSelector(matchExpressions: [LabelSelectorRequirement(key: "env", operator: .notIn, values: ["dev"])])
            #expect(s.matches(labels))
            #expect(!s.matches(["env": "dev"]))
            #expect(s.matches([:]))  // absent key satisfies NotIn
        }

        @Test func existsOperator() {
            let s = LabelSelector(matchExpressions: [LabelSelectorRequirement(key: "tier", operator: .exists)])
            #expect(s.matches(labels))
            #expect(!s.matches(["env": "prod"]))
        }

        @Test func doesNotExistOperator() {
            let s = LabelSelector(matchExpressions: [LabelSelectorRequirement(key: "tier", operator: .doesNotExist)])
            #expect(!s.matches(labels))
            #expect(s.matches(["env": "prod"]))
        }

        @Test func labelsAndExpressionsAreANDed() {
            let s = LabelSelector(matchLabels: ["env": "prod"],
                                  matchExpressions: [LabelSelectorRequirement(key: "tier", operator: .in, values: ["db"])])
            #expect(!s.matches(labels))
            #expect(s.matches(["env": "prod", "tier": "db"]))
        }

        @Test func invalidRequirementsNeverMatch() throws {
            let unknown = try JSONDecoder().decode(LabelSelector.self, from: Data(#"""
            {"matchExpressions":[{"key":"env","operator":"Equals","values":["prod"]}]}
            """#.utf8))
            #expect(unknown.matchExpressions?.first?.operator.isKnown == false)
            #expect(!unknown.isValid)
            #expect(!unknown.matches(labels))
            let emptyIn = LabelSelector(matchExpressions: [LabelSelectorRequirement(key: "env", operator: .in, values: [])])
            #expect(!emptyIn.isValid)
            #expect(!emptyIn.matches(labels))
            let existsWithValues = LabelSelector(matchExpressions: [LabelSelectorRequirement(key: "env", operator: .exists, values: ["x"])])
            #expect(!existsWithValues.matches(labels))
        }
    }

    @Suite("Gateway API durations")
    struct GatewayDurationTests {
        @Test func validDurations() {
            #expect(parseGatewayDuration("1h2m3s") == 3723)
            #expect(parseGatewayDuration("500ms") == 0.5)
            #expect(parseGatewayDuration("0s") == 0)
            #expect(parseGatewayDuration("1m") == 60)
            #expect(parseGatewayDuration("1h") == 3600)
            #expect(parseGatewayDuration("1s500ms") == 1.5)
            #expect(parseGatewayDuration("99999ms") == 99.999)
            #expect(parseGatewayDuration("1h1m1s1ms") == 3661.001)
        }

        @Test func invalidDurations() {
            #expect(parseGatewayDuration("1d") == nil)
            #expect(parseGatewayDuration("") == nil)
            #expect(parseGatewayDuration("1.5s") == nil)
            #expect(parseGatewayDuration("s") == nil)
            #expect(parseGatewayDuration("10") == nil)
            #expect(parseGatewayDuration("-1s") == nil)
            #expect(parseGatewayDuration("123456s") == nil)  // more than 5 digits
            #expect(parseGatewayDuration("1h1m1s1ms1s") == nil)  // more than 4 components
            #expect(parseGatewayDuration(" 1s") == nil)
            #expect(parseGatewayDuration("1S") == nil)
        }
    }
}
