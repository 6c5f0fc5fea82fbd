import GatewayAPI
import IR

/// An HTTPRoute's rules compiled for one reference context, independent of the parent it attaches to.
struct CompiledHTTPRoute {
    var entries: [(HTTPMatchRank, HTTPRouteIR)] = []
    /// The first unresolved reference, which sets ResolvedRefs=False on every parent.
    var refFailure: RefFailure?
}

extension Translation {
    /// Compiles each (rule, match) of an HTTPRoute into an `HTTPRouteIR`.
    func compileHTTPRoute(_ route: HTTPRoute, context: RefContext) -> CompiledHTTPRoute {
        var out = CompiledHTTPRoute()
        let ns = route.namespacedName.namespace
        let age = age(kind: "HTTPRoute", meta: route.metadata)
        func fail(_ f: RefFailure) { if out.refFailure == nil { out.refFailure = f } }

        for (ri, rule) in route.spec.rules.enumerated() {
            var backends: [BackendIR] = []
            for (bi, b) in (rule.backendRefs ?? []).enumerated() {
                let dest: DestinationIR
                switch resolveBackend(group: b.group, kind: b.kind, name: b.name, namespace: b.namespace, port: b.port,
                                      routeKind: "HTTPRoute", routeNamespace: ns, context: context) {
                case .success(let d): dest = .service(target: d)
                case .failure(let f):
                    fail(RefFailure(reason: f.reason, message: "spec.rules[\(ri)].backendRefs[\(bi)]: \(f.message)"))
                    // "When a HTTPBackendRef is invalid, 500 status codes MUST be returned for requests
                    // that would have otherwise been routed to an invalid backend."
                    dest = .invalid(status: 500, reason: f.message)
                }
                let filters = compileFilters(b.filters ?? [], matchedPrefix: nil, routeNamespace: ns, context: context,
                                             path: "spec.rules[\(ri)].backendRefs[\(bi)].filters", fail: fail)
                backends.append(BackendIR(weight: b.weight, destination: filters.blocked.map { .invalid(status: 500, reason: $0) } ?? dest,
                                          filters: filters.filters))
            }
            let timeouts = rule.timeouts.map { TimeoutsIR(request: $0.requestSeconds, backendRequest: $0.backendRequestSeconds) }
            let retry = rule.retry.map { RetryIR(codes: $0.codes ?? [], attempts: $0.attempts ?? 1, backoff: $0.backoffSeconds) }

            for (mi, m) in rule.matches.enumerated() {
                let match = compileMatch(m)
                var matchedPrefix: String?
                if case .prefix(let p) = match.path { matchedPrefix = p }
                let compiled = compileFilters(rule.filters ?? [], matchedPrefix: matchedPrefix, routeNamespace: ns, context: context,
                                              path: "spec.rules[\(ri)].filters", fail: fail)
                var ruleBackends = backends
                if let blocked = compiled.blocked {
                    ruleBackends = [BackendIR(weight: 1, destination: .invalid(status: 500, reason: blocked))]
                }
                let ir = HTTPRouteIR(route: RouteRef(kind: "HTTPRoute", namespace: ns, name: route.metadata.name,
                                                     ruleIndex: ri, ruleName: rule.name, matchIndex: mi),
                                     match: match, filters: compiled.filters, backends: ruleBackends,
                                     timeouts: timeouts, retry: retry)
                out.entries.append((HTTPMatchRank(match: match, age: age, ruleIndex: ri, matchIndex: mi), ir))
            }
        }
        return out
    }

    func compileMatch(_ m: HTTPRouteMatch) -> HTTPMatchIR {
        let path: PathMatchIR
        switch m.path.type {
        case .exact: path = .exact(value: m.path.value)
        case .pathPrefix:
            // "PathPrefix ... trailing slash is ignored": /foo/ and /foo are the same prefix.
            var v = m.path.value
            while v.count > 1 && v.hasSuffix("/") { v.removeLast() }
            path = .prefix(value: v)
        case .regularExpression: path = .regularExpression(pattern: m.path.value)
        }
        // "Name is the name of the HTTP Header to be matched. Name matching MUST be case-insensitive."
        // "If multiple entries specify equivalent header names, only the first entry with an
        // equivalent name MUST be considered for a match."
        var headers: [StringMatchIR] = []
        for h in m.headers ?? [] where !headers.contains(where: { $0.name == h.name.lowercased() }) {
            headers.append(StringMatchIR(name: h.name.lowercased(), type: h.type == .exact ? .exact : .regularExpression, value: h.value))
        }
        // Query parameter names are case-sensitive; the first of equivalent names counts.
        var query: [StringMatchIR] = []
        for q in m.queryParams ?? [] where !query.contains(where: { $0.name == q.name }) {
            query.append(StringMatchIR(name: q.name, type: q.type == .exact ? .exact : .regularExpression, value: q.value))
        }
        return HTTPMatchIR(path: path, headers: headers, queryParams: query, method: m.method?.rawValue)
    }

    /// Compiles filters in order. `blocked` is set when a filter cannot be honoured: "If a reference
    /// to a custom filter type cannot be resolved, the filter MUST NOT be skipped. Instead, requests
    /// that would have been processed by that filter MUST receive a HTTP error response."
    func compileFilters(_ filters: [HTTPRouteFilter], matchedPrefix: String?, routeNamespace: String, context: RefContext,
                        path: String, fail: (RefFailure) -> Void) -> (filters: [HTTPFilterIR], blocked: String?) {
        var out: [HTTPFilterIR] = []
        var blocked: String?
        for (i, f) in filters.enumerated() {
            switch f.type {
            case .requestHeaderModifier:
                if let m = f.requestHeaderModifier { out.append(.requestHeaderModifier(modifier: headerModifier(m))) }
            case .responseHeaderModifier:
                if let m = f.responseHeaderModifier { out.append(.responseHeaderModifier(modifier: headerModifier(m))) }
            case .requestRedirect:
                if let r = f.requestRedirect {
                    out.append(.requestRedirect(redirect: RedirectIR(scheme: r.scheme?.rawValue, hostname: r.hostname,
                                                           path: pathModifier(r.path, matchedPrefix: matchedPrefix),
                                                           port: r.port, statusCode: r.statusCode)))
                }
            case .urlRewrite:
                if let r = f.urlRewrite {
                    out.append(.urlRewrite(rewrite: URLRewriteIR(hostname: r.hostname, path: pathModifier(r.path, matchedPrefix: matchedPrefix))))
                }
            case .requestMirror:
                if let m = f.requestMirror, let mirror = mirror(m, routeKind: "HTTPRoute", routeNamespace: routeNamespace, context: context,
                                                                 path: "\(path)[\(i)].requestMirror.backendRef", fail: fail) {
                    out.append(.requestMirror(mirror: mirror))
                }
            case .cors:
                if let c = f.cors {
                    out.append(.cors(policy: CORSIR(allowOrigins: c.allowOrigins ?? [], allowCredentials: c.allowCredentials ?? false,
                                            allowMethods: (c.allowMethods ?? []).map(\.rawValue), allowHeaders: c.allowHeaders ?? [],
                                            exposeHeaders: c.exposeHeaders ?? [], maxAge: c.maxAge)))
                }
            case .extensionRef:
                let r = f.extensionRef
                fail(RefFailure(reason: Cond.invalidKind,
                                message: "\(path)[\(i)].extensionRef: \(r.map { "\($0.group)/\($0.kind) \($0.name)" } ?? ""): Sluice supports no extension filters"))
                blocked = blocked ?? "ExtensionRef filter is not supported"
            case .externalAuth:
                fail(RefFailure(reason: Cond.invalidKind, message: "\(path)[\(i)]: the ExternalAuth filter is not supported by Sluice"))
                blocked = blocked ?? "ExternalAuth filter is not supported"
            }
        }
        return (out, blocked)
    }

    /// A mirror target. `requestMirror.backendRef`: "If the referent cannot be found, this BackendRef
    /// is invalid and must be dropped from the Gateway. The controller must ensure the
    /// "ResolvedRefs" condition on the Route status is set to `status: False` and not configure this
    /// backend in the underlying implementation." — nil then.
    func mirror(_ m: HTTPRequestMirrorFilter, routeKind: String, routeNamespace: String, context: RefContext,
                path: String, fail: (RefFailure) -> Void) -> MirrorIR? {
        let b = m.backendRef
        let dest: DestinationIR
        switch resolveBackend(group: b.group, kind: b.kind, name: b.name, namespace: b.namespace, port: b.port,
                              routeKind: routeKind, routeNamespace: routeNamespace, context: context) {
        case .success(let d): dest = .service(target: d)
        case .failure(let f):
            fail(RefFailure(reason: f.reason, message: "\(path): \(f.message)"))
            return nil
        }
        // GEP-3171: percent p mirrors p/100 of requests; fraction n/d mirrors n/d; neither = all.
        var num = 100, den = 100
        if let p = m.percent { num = p } else if let fr = m.fraction { num = fr.numerator; den = fr.denominator }
        return MirrorIR(backend: BackendIR(weight: 1, destination: dest), numerator: num, denominator: den)
    }

    func headerModifier(_ h: HTTPHeaderFilter) -> HeaderModifierIR {
        HeaderModifierIR(set: (h.set ?? []).map { HeaderIR(name: $0.name, value: $0.value) },
                         add: (h.add ?? []).map { HeaderIR(name: $0.name, value: $0.value) },
                         remove: h.remove ?? [])
    }

    func pathModifier(_ p: HTTPPathModifier?, matchedPrefix: String?) -> PathModifierIR? {
        guard let p else { return nil }
        switch p.type {
        case .replaceFullPath: return .replaceFullPath(path: p.replaceFullPath ?? "/")
        case .replacePrefixMatch:
            return .replacePrefixMatch(matchedPrefix: matchedPrefix ?? "/", replacement: p.replacePrefixMatch ?? "/")
        }
    }
}
