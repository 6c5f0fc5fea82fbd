import Foundation
import Testing
@testable import GatewayAPI

/// The CRDs' CEL rules and their hand-written Swift checks.
@Suite("CELRules")
struct CELRulesTests {
    // MARK: - Coverage: every rule of the CRDs has a Swift check

    @Test("every rule of the embedded (experimental) schemas has a check")
    func embeddedSchemasCovered() throws {
        var rules: [String: String] = [:]
        for json in CRDSchemaSources.schemas {
            let schema = try JSONSerialization.jsonObject(with: Data(json.utf8))
            Self.collectRules(schema, into: &rules)
        }
        #expect(rules.count >= 90, "expected ~90 rules in the embedded schemas, found \(rules.count)")
        let missing = rules.filter { CELRules.byRule[$0.key] == nil }.sorted { $0.key < $1.key }
        #expect(missing.isEmpty, Comment(rawValue: "rules without a Swift check:\n" + missing.map { "- \($0.value): \($0.key)" }.joined(separator: "\n")))
    }

    /// `../shared/gateway-api-spec/crds/standard` of the repository (three levels above this file).
    static let standardCRDs = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/gateway-api-spec/crds/standard").standardizedFileURL

    @Test("every rule of the standard-channel CRD files has a check",
          .enabled(if: FileManager.default.fileExists(atPath: standardCRDs.path),
                   "the Gateway API CRDs are not checked out at ../shared/gateway-api-spec/crds/standard"))
    func standardCRDFilesCovered() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.standardCRDs.path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        try #require(!files.isEmpty)
        var rules: [String: String] = [:]
        for file in files {
            let text = try String(contentsOf: Self.standardCRDs.appendingPathComponent(file), encoding: .utf8)
            for doc in YAMLReader.documents(text: text, file: file) {
                let value = try doc.result.get()
                Self.collectRules(value, into: &rules)
            }
        }
        #expect(rules.count >= 75, "expected ~79 rules in the standard CRDs, found \(rules.count)")
        let missing = rules.filter { CELRules.byRule[$0.key] == nil }.sorted { $0.key < $1.key }
        #expect(missing.isEmpty, Comment(rawValue: "rules without a Swift check:\n" + missing.map { "- \($0.value): \($0.key)" }.joined(separator: "\n")))
    }

    /// Rule text → message of every `x-kubernetes-validations` entry under a JSON object.
    static func collectRules(_ node: Any, into rules: inout [String: String]) {
        if let object = node as? [String: Any] {
            for validation in object["x-kubernetes-validations"] as? [[String: Any]] ?? [] {
                if let rule = validation["rule"] as? String { rules[rule] = validation["message"] as? String ?? "" }
            }
            for child in object.values { collectRules(child, into: &rules) }
        } else if let array = node as? [Any] {
            for child in array { collectRules(child, into: &rules) }
        }
    }

    /// The same over a `Value` read from YAML.
    static func collectRules(_ node: Value, into rules: inout [String: String]) {
        if let object = node.object {
            for validation in node["x-kubernetes-validations"]?.array ?? [] {
                if let rule = validation["rule"]?.string { rules[rule] = validation["message"]?.string ?? "" }
            }
            for (_, child) in object { collectRules(child, into: &rules) }
        } else if let array = node.array {
            for child in array { collectRules(child, into: &rules) }
        }
    }

    @Test("entries have unique names and rule texts, and the table covers every rule")
    func tableCoversEveryRule() {
        let names = CELRules.entries.map(\.name)
        #expect(Set(names).count == names.count, "duplicate entry names")
        #expect(CELRules.byRule.count == CELRules.entries.count, "a rule text is listed twice")
        let tested = Set(Self.examples.map(\.name)).union(Self.transitionRules)
        let untested = names.filter { !tested.contains($0) }
        #expect(untested.isEmpty, "rules without examples: \(untested)")
        let unknown = tested.subtracting(names)
        #expect(unknown.isEmpty, "examples for unknown rules: \(unknown.sorted())")
        #expect(Set(Self.examples.map(\.name)).count == Self.examples.count, "a rule has two example rows")
    }

    // MARK: - One valid and one invalid `self` per rule

    struct Example: Sendable, CustomTestStringConvertible {
        var name: String
        var valid: String
        var invalid: String
        var testDescription: String { name }
        init(_ name: String, valid: String, invalid: String) {
            self.name = name
            self.valid = valid
            self.invalid = invalid
        }
    }

    @Test("rule accepts its valid example and rejects its invalid one", arguments: examples)
    func example(_ e: Example) throws {
        let entry = try #require(CELRules.entries.first { $0.name == e.name }, "no rule named \(e.name)")
        #expect(!entry.check.isTransitionRule)
        #expect(entry.check.check(try YAMLReader.value(e.valid)), "valid example rejected: \(e.valid)")
        #expect(!entry.check.check(try YAMLReader.value(e.invalid)), "invalid example accepted: \(e.invalid)")
    }

    static let transitionRules: Set<String> = ["gatewayClassControllerNameImmutable"]

    @Test("transition rules are flagged and pass on creation")
    func transitionRulesFlagged() throws {
        for name in Self.transitionRules {
            let entry = try #require(CELRules.entries.first { $0.name == name })
            #expect(entry.check.isTransitionRule)
            #expect(entry.rule.contains("oldSelf"))
            #expect(entry.check.check(.string("example.com/controller")))
        }
        let flagged = CELRules.byRule.filter { $0.value.isTransitionRule }.keys
        #expect(Set(flagged) == Set(CELRules.byRule.keys.filter { $0.contains("oldSelf") }))
    }

    /// `self` for a route's `rules` whose rules have these many matches (nil: no matches field).
    static func rules(withMatches counts: [Int?]) -> String {
        "[" + counts.map { count in
            count.map { "{matches: [" + Array(repeating: "{}", count: $0).joined(separator: ", ") + "]}" } ?? "{}"
        }.joined(separator: ", ") + "]"
    }

    static let gw = "group: gateway.networking.k8s.io, kind: Gateway, name: gw"
    static let svc = #"group: "", kind: Service, name: a"#
    static let redirectPrefix = "{type: RequestRedirect, requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /b}}}"
    static let rewritePrefix = "{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /b}}}"
    static let prefixMatch = "{path: {type: PathPrefix, value: /a}}"
    static let exactMatch = "{path: {type: Exact, value: /a}}"

    static let examples: [Example] = [
        // BackendTLSPolicy
        Example("policyTargetRefSectionNameSpecified",
                valid: "[{\(svc), sectionName: s1}, {\(svc), sectionName: s2}, {group: '', kind: Service, name: b}]",
                invalid: "[{\(svc), sectionName: s1}, {\(svc)}]"),
        Example("policyTargetRefSectionNameUnique",
                valid: "[{\(svc), sectionName: s1}, {\(svc), sectionName: s2}]",
                invalid: "[{\(svc), sectionName: s1}, {\(svc), sectionName: s1}]"),
        Example("tlsValidationNotBothCASources",
                valid: "{hostname: h, caCertificateRefs: [{group: '', kind: ConfigMap, name: ca}], wellKnownCACertificates: ''}",
                invalid: "{hostname: h, caCertificateRefs: [{group: '', kind: ConfigMap, name: ca}], wellKnownCACertificates: System}"),
        Example("tlsValidationOneCASource",
                valid: "{hostname: h, wellKnownCACertificates: System}",
                invalid: "{hostname: h, caCertificateRefs: []}"),
        Example("subjectAltNameHostnameRequired",
                valid: "{type: Hostname, hostname: a.example}", invalid: "{type: Hostname, hostname: ''}"),
        Example("subjectAltNameHostnameForbidden",
                valid: "{type: URI, uri: 'spiffe://a', hostname: ''}", invalid: "{type: URI, uri: 'spiffe://a', hostname: a.example}"),
        Example("subjectAltNameURIRequired",
                valid: "{type: URI, uri: 'spiffe://a'}", invalid: "{type: URI}"),
        Example("subjectAltNameURIForbidden",
                valid: "{type: Hostname, hostname: h}", invalid: "{type: Hostname, hostname: h, uri: 'spiffe://a'}"),
        // Gateway
        Example("gatewayAddressIPAddressUnique",
                valid: "[{type: IPAddress, value: '10.0.0.1'}, {type: Hostname, value: '10.0.0.1'}, {type: IPAddress}, {type: IPAddress}]",
                invalid: "[{type: IPAddress, value: '10.0.0.1'}, {type: IPAddress, value: '10.0.0.1'}]"),
        Example("gatewayAddressHostnameUnique",
                valid: "[{type: Hostname, value: a.example}, {type: Hostname, value: b.example}]",
                invalid: "[{type: Hostname, value: a.example}, {type: IPAddress, value: '10.0.0.1'}, {type: Hostname, value: a.example}]"),
        Example("gatewayAddressHostnameValid",
                valid: "{type: Hostname, value: '*.example.com'}", invalid: "{type: Hostname, value: Example.com}"),
        Example("gatewayStatusAddressHostnameValid",
                valid: "{type: Hostname, value: a.example.com}", invalid: "{type: Hostname, value: a_b}"),
        Example("infrastructureKeyFormat",
                valid: "{example.com/team: a, app: b}", invalid: "{app: a, '-bad': b}"),
        Example("infrastructureKeyPrefixLength",
                valid: "{\(String(repeating: "a", count: 252))/x: v, noprefix: w}",
                invalid: "{\(String(repeating: "a", count: 253))/x: v}"),
        Example("listenerTLSForbidden",
                valid: "[{name: a, port: 80, protocol: HTTP}, {name: b, port: 443, protocol: HTTPS, tls: {mode: Terminate}}]",
                invalid: "[{name: a, port: 80, protocol: HTTP, tls: {mode: Terminate}}]"),
        Example("listenerHTTPSModeTerminate",
                valid: "[{name: a, port: 443, protocol: HTTPS, tls: {mode: Terminate}}, {name: b, port: 8443, protocol: TLS, tls: {mode: Passthrough}}]",
                invalid: "[{name: a, port: 443, protocol: HTTPS, tls: {mode: Passthrough}}]"),
        Example("listenerTLSModeRequired",
                valid: "[{name: a, port: 443, protocol: TLS, tls: {mode: Passthrough}}]",
                invalid: "[{name: a, port: 443, protocol: TLS}]"),
        Example("listenerHostnameForbidden",
                valid: "[{name: a, port: 9000, protocol: TCP, hostname: ''}, {name: b, port: 80, protocol: HTTP, hostname: a.example}]",
                invalid: "[{name: a, port: 9000, protocol: UDP, hostname: a.example}]"),
        Example("listenerNameUnique",
                valid: "[{name: a, port: 80, protocol: HTTP}, {name: b, port: 81, protocol: HTTP}]",
                invalid: "[{name: a, port: 80, protocol: HTTP}, {name: a, port: 81, protocol: HTTP}]"),
        Example("gatewayListenerPortProtocolHostnameUnique",
                valid: "[{name: a, port: 80, protocol: HTTP, hostname: a.example}, {name: b, port: 80, protocol: HTTP}, {name: c, port: 80, protocol: TCP}]",
                invalid: "[{name: a, port: 80, protocol: HTTP}, {name: b, port: 80, protocol: HTTP}]"),
        Example("listenerSetListenerPortProtocolHostnameUnique",
                valid: "[{name: a, port: 80, protocol: HTTP, hostname: a.example}, {name: b, port: 80, protocol: HTTP, hostname: b.example}]",
                invalid: "[{name: a, port: 80, protocol: HTTP, hostname: a.example}, {name: b, port: 80, protocol: HTTP, hostname: a.example}]"),
        Example("listenerTLSTerminateNeedsCertificates",
                valid: "{mode: Terminate, options: {vendor.example/key: v}}", invalid: "{mode: Terminate, certificateRefs: []}"),
        Example("frontendTLSPerPortUnique",
                valid: "[{port: 443, tls: {}}, {port: 8443, tls: {}}]", invalid: "[{port: 443, tls: {}}, {port: 443, tls: {}}]"),
        // Route parentRefs
        Example("parentRefSectionNameOrPortSpecified",
                valid: "[{\(gw), sectionName: a, port: 80}, {\(gw), sectionName: a, port: 443}, {\(gw), namespace: other}]",
                invalid: "[{\(gw), sectionName: a}, {\(gw), namespace: '', port: 0}]"),
        Example("parentRefSectionNameOrPortUnique",
                valid: "[{\(gw), port: 80}, {\(gw), port: 443}, {\(gw), namespace: other, port: 80}]",
                invalid: "[{\(gw), port: 80}, {\(gw), namespace: '', port: 80}]"),
        Example("parentRefSectionNameSpecified",
                valid: "[{\(gw), sectionName: a}, {\(gw), sectionName: b}, {\(gw), namespace: other}]",
                invalid: "[{\(gw), namespace: ns, sectionName: a}, {\(gw), namespace: ns}]"),
        Example("parentRefSectionNameUnique",
                valid: "[{\(gw), sectionName: a}, {\(gw), sectionName: b}]",
                invalid: "[{\(gw)}, {\(gw), namespace: '', sectionName: ''}]"),
        // Route rules
        Example("grpcRouteTotalMatches",
                valid: rules(withMatches: [64, 64, nil]), invalid: rules(withMatches: [64, 64, 1])),
        Example("routeRuleNameUnique",
                valid: "[{name: a}, {name: b}, {}, {}]", invalid: "[{name: a}, {}, {name: a}]"),
        Example("backendRefServiceNeedsPort",
                valid: "{group: '', kind: Service, name: s, port: 80}", invalid: "{group: '', kind: Service, name: s}"),
        Example("requestHeaderModifierNotRepeated",
                valid: "[{type: RequestHeaderModifier, requestHeaderModifier: {}}, {type: ResponseHeaderModifier, responseHeaderModifier: {}}]",
                invalid: "[{type: RequestHeaderModifier, requestHeaderModifier: {}}, {type: RequestHeaderModifier, requestHeaderModifier: {}}]"),
        Example("responseHeaderModifierNotRepeated",
                valid: "[{type: RequestHeaderModifier, requestHeaderModifier: {}}, {type: ResponseHeaderModifier, responseHeaderModifier: {}}]",
                invalid: "[{type: ResponseHeaderModifier, responseHeaderModifier: {}}, {type: ResponseHeaderModifier, responseHeaderModifier: {}}]"),
        Example("requestHeaderModifierOnlyForItsType",
                valid: "{type: RequestHeaderModifier, requestHeaderModifier: {}}", invalid: "{type: ExtensionRef, extensionRef: {}, requestHeaderModifier: {}}"),
        Example("requestHeaderModifierRequiredForItsType",
                valid: "{type: RequestHeaderModifier, requestHeaderModifier: {}}", invalid: "{type: RequestHeaderModifier}"),
        Example("responseHeaderModifierOnlyForItsType",
                valid: "{type: ResponseHeaderModifier, responseHeaderModifier: {}}", invalid: "{type: RequestHeaderModifier, responseHeaderModifier: {}}"),
        Example("responseHeaderModifierRequiredForItsType",
                valid: "{type: ResponseHeaderModifier, responseHeaderModifier: {}}", invalid: "{type: ResponseHeaderModifier}"),
        Example("requestMirrorOnlyForItsType",
                valid: "{type: RequestMirror, requestMirror: {backendRef: {name: s}}}", invalid: "{type: ExtensionRef, requestMirror: {backendRef: {name: s}}}"),
        Example("requestMirrorRequiredForItsType",
                valid: "{type: RequestMirror, requestMirror: {backendRef: {name: s}}}", invalid: "{type: RequestMirror}"),
        Example("extensionRefOnlyForItsType",
                valid: "{type: ExtensionRef, extensionRef: {group: g, kind: K, name: n}}", invalid: "{type: RequestMirror, extensionRef: {group: g, kind: K, name: n}}"),
        Example("extensionRefRequiredForItsType",
                valid: "{type: RequestMirror, requestMirror: {}}", invalid: "{type: ExtensionRef}"),
        Example("requestMirrorPercentOrFraction",
                valid: "{backendRef: {name: s}, percent: 50}", invalid: "{backendRef: {name: s}, percent: 50, fraction: {numerator: 1}}"),
        Example("requestMirrorFractionAtMostOne",
                valid: "{numerator: 2, denominator: 2}", invalid: "{numerator: 3, denominator: 2}"),
        // GRPCRoute method match
        Example("grpcMethodMatchServiceOrMethod",
                valid: "{type: Exact, method: Get}", invalid: "{type: Exact}"),
        Example("grpcMethodMatchServiceValid",
                valid: "{type: Exact, service: Foo.bar_Baz}", invalid: "{service: foo/bar}"),
        Example("grpcMethodMatchMethodValid",
                valid: "{type: RegularExpression, method: 'Get.*'}", invalid: "{type: Exact, method: Get-Thing}"),
        // sessionPersistence
        Example("sessionPersistencePermanentNeedsAbsoluteTimeout",
                valid: "{type: Cookie, cookie: {lifetimeType: Permanent}, absoluteTimeout: 1h}",
                invalid: "{type: Cookie, cookie: {lifetimeType: Permanent}}"),
        Example("sessionPersistenceCookieOnlyForCookieType",
                valid: "{type: Cookie, cookie: {lifetimeType: Session}}", invalid: "{type: Header, header: {name: x}, cookie: {lifetimeType: Session}}"),
        Example("sessionPersistenceCookieRequiredForCookieType",
                valid: "{type: Header, header: {name: x}}", invalid: "{type: Cookie}"),
        Example("sessionPersistenceHeaderOnlyForHeaderType",
                valid: "{type: Header, header: {name: x}}", invalid: "{type: Cookie, cookie: {}, header: {name: x}}"),
        Example("sessionPersistenceHeaderRequiredForHeaderType",
                valid: "{type: Cookie, cookie: {}}", invalid: "{type: Header}"),
        // TLSRoute hostnames
        Example("tlsRouteHostnameNotIP",
                valid: "[a.example.com, '*.example.com', '1.2.3']", invalid: "[a.example.com, '10.0.0.1']"),
        Example("tlsRouteHostnameRFC1123",
                valid: "[a.example.com, '*.Example.com']", invalid: "[A.example.com]"),
        Example("tlsRouteHostnameWildcardFirstLabel",
                valid: "['*.example.com', plain.example]", invalid: "['a.*.example.com']"),
        // HTTPRoute rules
        Example("httpRouteTotalMatches",
                valid: rules(withMatches: [64, 64] + Array(repeating: 0, count: 14) + [1]),
                invalid: rules(withMatches: [64, 63, 2])),
        Example("httpRuleRedirectWithoutBackendRefs",
                valid: "{backendRefs: [], filters: [{type: RequestRedirect, requestRedirect: {statusCode: 301}}]}",
                invalid: "{backendRefs: [{name: s, port: 80}], filters: [{type: RequestRedirect, requestRedirect: {}}]}"),
        Example("httpRuleRedirectPrefixNeedsOnePathPrefixMatch",
                valid: "{matches: [\(prefixMatch)], filters: [\(redirectPrefix)]}",
                invalid: "{matches: [\(exactMatch)], filters: [\(redirectPrefix)]}"),
        Example("httpRuleRewritePrefixNeedsOnePathPrefixMatch",
                valid: "{matches: [\(prefixMatch)], filters: [\(rewritePrefix)]}",
                invalid: "{matches: [\(prefixMatch), \(prefixMatch)], filters: [\(rewritePrefix)]}"),
        Example("httpBackendRedirectPrefixNeedsOnePathPrefixMatch",
                valid: "{matches: [\(prefixMatch)], backendRefs: [{name: s, port: 80, filters: [\(redirectPrefix)]}]}",
                invalid: "{matches: [{headers: []}], backendRefs: [{name: s, port: 80, filters: [\(redirectPrefix)]}]}"),
        Example("httpBackendRewritePrefixNeedsOnePathPrefixMatch",
                valid: "{matches: [\(prefixMatch)], backendRefs: [{name: s, port: 80, filters: [\(rewritePrefix)]}]}",
                invalid: "{matches: [], backendRefs: [{name: s, port: 80, filters: [\(rewritePrefix)]}]}"),
        Example("httpFiltersRedirectOrRewrite",
                valid: "[{type: RequestRedirect, requestRedirect: {}}, {type: RequestHeaderModifier, requestHeaderModifier: {}}]",
                invalid: "[{type: RequestRedirect, requestRedirect: {}}, {type: URLRewrite, urlRewrite: {}}]"),
        Example("corsNotRepeated",
                valid: "[{type: CORS, cors: {}}]", invalid: "[{type: CORS, cors: {}}, {type: CORS, cors: {}}]"),
        Example("requestRedirectNotRepeated",
                valid: "[{type: RequestRedirect, requestRedirect: {}}]",
                invalid: "[{type: RequestRedirect, requestRedirect: {}}, {type: RequestRedirect, requestRedirect: {}}]"),
        Example("urlRewriteNotRepeated",
                valid: "[{type: URLRewrite, urlRewrite: {}}]", invalid: "[{type: URLRewrite, urlRewrite: {}}, {type: URLRewrite, urlRewrite: {}}]"),
        Example("corsOnlyForItsType", valid: "{type: CORS, cors: {}}", invalid: "{type: URLRewrite, urlRewrite: {}, cors: {}}"),
        Example("corsRequiredForItsType", valid: "{type: CORS, cors: {}}", invalid: "{type: CORS}"),
        Example("requestRedirectOnlyForItsType",
                valid: "{type: RequestRedirect, requestRedirect: {}}", invalid: "{type: CORS, cors: {}, requestRedirect: {}}"),
        Example("requestRedirectRequiredForItsType", valid: "{type: RequestRedirect, requestRedirect: {}}", invalid: "{type: RequestRedirect}"),
        Example("urlRewriteOnlyForItsType", valid: "{type: URLRewrite, urlRewrite: {}}", invalid: "{type: RequestRedirect, urlRewrite: {}}"),
        Example("urlRewriteRequiredForItsType", valid: "{type: URLRewrite, urlRewrite: {}}", invalid: "{type: URLRewrite}"),
        Example("externalAuthOnlyForItsType",
                valid: "{type: ExternalAuth, externalAuth: {protocol: HTTP}}", invalid: "{type: CORS, cors: {}, externalAuth: {protocol: HTTP}}"),
        Example("externalAuthRequiredForItsType", valid: "{type: ExternalAuth, externalAuth: {protocol: HTTP}}", invalid: "{type: ExternalAuth}"),
        Example("corsWildcardAlone", valid: "['*']", invalid: "[GET, '*']"),
        // externalAuth
        Example("externalAuthGRPCConfigRequired",
                valid: "{protocol: GRPC, backendRef: {name: a}, grpc: {}}", invalid: "{protocol: GRPC, backendRef: {name: a}}"),
        Example("externalAuthGRPCConfigOnlyForGRPC",
                valid: "{protocol: GRPC, backendRef: {name: a}, grpc: {}}", invalid: "{protocol: HTTP, backendRef: {name: a}, http: {}, grpc: {}}"),
        Example("externalAuthHTTPConfigRequired",
                valid: "{protocol: HTTP, backendRef: {name: a}, http: {}}", invalid: "{protocol: HTTP, backendRef: {name: a}}"),
        Example("externalAuthHTTPConfigOnlyForHTTP",
                valid: "{protocol: HTTP, backendRef: {name: a}, http: {}}", invalid: "{protocol: GRPC, backendRef: {name: a}, grpc: {}, http: {}}"),
        // path modifiers
        Example("pathModifierFullPathRequired",
                valid: "{type: ReplaceFullPath, replaceFullPath: /x}", invalid: "{type: ReplaceFullPath, replacePrefixMatch: /x}"),
        Example("pathModifierFullPathOnlyForItsType",
                valid: "{type: ReplacePrefixMatch, replacePrefixMatch: /x}", invalid: "{type: ReplacePrefixMatch, replacePrefixMatch: /x, replaceFullPath: /y}"),
        Example("pathModifierPrefixMatchRequired",
                valid: "{type: ReplacePrefixMatch, replacePrefixMatch: /x}", invalid: "{type: ReplacePrefixMatch}"),
        Example("pathModifierPrefixMatchOnlyForItsType",
                valid: "{type: ReplaceFullPath, replaceFullPath: /x}", invalid: "{type: ReplaceFullPath, replaceFullPath: /x, replacePrefixMatch: /y}"),
        // path matches
        Example("pathMatchAbsolute", valid: "{type: RegularExpression, value: 'a.*'}", invalid: "{type: Exact, value: foo}"),
        Example("pathMatchNoDoubleSlash", valid: "{type: PathPrefix, value: /a/b}", invalid: "{type: PathPrefix, value: /a//b}"),
        Example("pathMatchNoDotSegment", valid: "{type: Exact, value: /a/.b}", invalid: "{type: Exact, value: /a/./b}"),
        Example("pathMatchNoDotDotSegment", valid: "{type: Exact, value: /a/..b/}", invalid: "{type: Exact, value: /a/../b}"),
        Example("pathMatchNoEncodedSlashLower", valid: "{type: Exact, value: /a%2Fb}", invalid: "{type: Exact, value: /a%2fb}"),
        Example("pathMatchNoEncodedSlashUpper", valid: "{type: Exact, value: /a%2fb}", invalid: "{type: Exact, value: /a%2Fb}"),
        Example("pathMatchNoFragment", valid: "{type: RegularExpression, value: '/a#b'}", invalid: "{type: Exact, value: '/a#b'}"),
        Example("pathMatchNoTrailingDotDot", valid: "{type: PathPrefix, value: /a/..b}", invalid: "{type: PathPrefix, value: /a/..}"),
        Example("pathMatchNoTrailingDot", valid: "{type: PathPrefix, value: /a.}", invalid: "{type: PathPrefix, value: /a/.}"),
        Example("pathMatchKnownType", valid: "{type: RegularExpression, value: '/.*'}", invalid: "{type: Glob, value: /a}"),
        Example("pathMatchValidCharacters", valid: "{type: Exact, value: '/a%20b;c=d'}", invalid: "{type: Exact, value: '/a b'}"),
        // timeouts
        Example("timeoutsBackendRequestWithinRequest",
                valid: "{request: 1h, backendRequest: 59m59s}", invalid: "{request: 1s, backendRequest: 1001ms}"),
    ]
}

// MARK: - CEL semantics the checks rely on

@Suite("CELRules semantics")
struct CELRulesSemanticsTests {
    func check(_ name: String, _ yaml: String) throws -> Bool {
        let entry = try #require(CELRules.entries.first { $0.name == name })
        return entry.check.check(try YAMLReader.value(yaml))
    }

    @Test("a missing required/defaulted field makes a rule fail to evaluate, hence invalid")
    func missingRequiredField() throws {
        #expect(try !check("listenerTLSForbidden", "[{name: a, port: 80}]"))
        #expect(try !check("listenerNameUnique", "[{port: 80, protocol: HTTP}]"))
        #expect(try !check("httpRouteTotalMatches", "[{}]"))
        #expect(try !check("subjectAltNameHostnameRequired", "{}"))
        #expect(try !check("requestMirrorFractionAtMostOne", "{numerator: 1}"))
    }

    func boom() throws -> Bool { throw CELRules.EvaluationError(reason: "boom") }

    @Test("CEL short-circuits around errors where the rule does")
    func errorsAbsorbed() throws {
        // GRPCRoute guards matches with has().
        #expect(try check("grpcRouteTotalMatches", "[{}, {}]"))
        // `!(has(hostname) && type != 'Hostname')`: false && error is false.
        #expect(try check("subjectAltNameHostnameForbidden", "{}"))
        // `!has(self.cookie) || self.type == 'Cookie'` never reads type without a cookie.
        #expect(try check("sessionPersistenceCookieOnlyForCookieType", "{}"))
        // all() is false when one element is false even if another fails to evaluate …
        let list: [Value] = [.int(1), .int(2)]
        #expect(try !list.celAll { v in
            if v == .int(1) { throw CELRules.EvaluationError(reason: "boom") }
            return false
        })
        // … and an error otherwise; exists() mirrors that.
        #expect(throws: CELRules.EvaluationError.self) {
            try list.celAll { v in
                if v == .int(1) { throw CELRules.EvaluationError(reason: "boom") }
                return true
            }
        }
        #expect(try list.celExists { v in
            if v == .int(1) { throw CELRules.EvaluationError(reason: "boom") }
            return true
        })
        #expect(try CELRules.and(boom(), false) == false)
        #expect(try CELRules.or(boom(), true) == true)
        #expect(throws: CELRules.EvaluationError.self) { try CELRules.and(boom(), true) }
    }

    @Test("only the first 16 rules count towards the 128 matches; the total may be 128")
    func matchesTotal() throws {
        let seventeen = CELRulesTests.rules(withMatches: Array(repeating: 8, count: 16) + [64])
        #expect(try check("httpRouteTotalMatches", seventeen))
        #expect(try check("grpcRouteTotalMatches", seventeen))
        #expect(try check("httpRouteTotalMatches", CELRulesTests.rules(withMatches: [64, 64])))
    }

    @Test("a request timeout of 0s disables the backendRequest comparison")
    func zeroRequestTimeout() throws {
        #expect(try check("timeoutsBackendRequestWithinRequest", "{request: 0s, backendRequest: 1h}"))
        #expect(try check("timeoutsBackendRequestWithinRequest", "{backendRequest: 1h}"))
    }

    @Test("Go durations")
    func durations() throws {
        #expect(try CELRules.duration("1h30m") == 5_400_000_000_000)
        #expect(try CELRules.duration("0s") == 0)
        #expect(try CELRules.duration("0") == 0)
        #expect(try CELRules.duration("100ms") == 100_000_000)
        #expect(try CELRules.duration("1.5h") == 5_400_000_000_000)
        #expect(try CELRules.duration("-2m3s") == -123_000_000_000)
        #expect(try CELRules.duration("99999h99999m99999s99999ms") > 0)
        for bad in ["", "1", "h", "1x", "1h 2m", "."] {
            #expect(throws: CELRules.EvaluationError.self, "\(bad)") { try CELRules.duration(bad) }
        }
    }

    @Test("isIP follows the Kubernetes CEL library")
    func isIP() {
        for ip in ["10.0.0.1", "0.0.0.0", "255.255.255.255", "::1", "2001:db8::1", "::", "::1.2.3.4", "fe80::1:2:3:4"] {
            #expect(CELRules.isIP(ip), "\(ip)")
        }
        for notIP in ["a.example.com", "1.2.3", "01.2.3.4", "256.1.1.1", "1.2.3.4.5", "::ffff:1.2.3.4",
                      "fe80::1%eth0", "1::2::3", "", "[::1]", "::1.2.3.04"] {
            #expect(!CELRules.isIP(notIP), "\(notIP)")
        }
    }

    @Test("matches() is RE2: partial unless anchored, and $ is the very end of the text")
    func regex() {
        #expect(CELRegex("b").matches("abc"))
        #expect(!CELRegex("^b").matches("abc"))
        #expect(CELRegex("^a$").matches("a"))
        #expect(!CELRegex("^a$").matches("a\n"))
        #expect(CELRegex("^[$]+$").matches("$$"))
        #expect(CELRules.httpPathPattern.matches("/a$b&c"))
        #expect(!CELRules.httpPathPattern.matches("/a\n"))
        #expect(CELRules.grpcServicePattern.matches("FOO.Bar"))
    }

    @Test("strings compare code point by code point")
    func codePoints() throws {
        // U+212A KELVIN SIGN is canonically equivalent to "K" for Swift's ==, not for CEL.
        #expect(!CELRules.same(.string("\u{212A}ind"), .string("Kind")))
        #expect(!"/a/\u{301}/".celContains("//"))
        #expect("/a//\u{301}".celContains("//"))
        #expect("/é/.".celHasSuffix("/."))
        #expect(try "*.ä.b".celSubstring(2) == "ä.b")
    }
}
