import GatewayAPI
import IR

struct CompiledGRPCRoute {
    var entries: [(GRPCMatchRank, GRPCRouteIR)] = []
    var refFailure: RefFailure?
}

struct CompiledL4Route {
    var routes: [L4RouteIR] = []
    var refFailure: RefFailure?
    var age: RouteAge
}

extension Translation {
    /// GRPCRoute rules → IR. A rule without matches matches every request ("If no matches are
    /// specified, the implementation MUST match every gRPC request").
    func compileGRPCRoute(_ route: GRPCRoute, context: RefContext) -> CompiledGRPCRoute {
        var out = CompiledGRPCRoute()
        let ns = route.namespacedName.namespace
        let age = age(kind: "GRPCRoute", meta: route.metadata)
        func fail(_ f: RefFailure) { if out.refFailure == nil { out.refFailure = f } }
        for (ri, rule) in (route.spec.rules ?? []).enumerated() {
            var backends: [BackendIR] = []
            for (bi, b) in (rule.backendRefs ?? []).enumerated() {
                var dest: DestinationIR
                switch resolveBackend(group: b.group, kind: b.kind, name: b.name, namespace: b.namespace, port: b.port,
                                      routeKind: "GRPCRoute", routeNamespace: ns, context: context) {
                case .success(let d): dest = .service(target: d)
                case .failure(let f):
                    fail(RefFailure(reason: f.reason, message: "spec.rules[\(ri)].backendRefs[\(bi)]: \(f.message)"))
                    dest = .invalid(status: 500, reason: f.message)
                }
                let filters = grpcFilters(b.filters ?? [], ns: ns, context: context, path: "spec.rules[\(ri)].backendRefs[\(bi)].filters", fail: fail)
                if let blocked = filters.blocked { dest = .invalid(status: 500, reason: blocked) }
                backends.append(BackendIR(weight: b.weight, destination: dest, filters: filters.filters))
            }
            let filters = grpcFilters(rule.filters ?? [], ns: ns, context: context, path: "spec.rules[\(ri)].filters", fail: fail)
            if let blocked = filters.blocked { backends = [BackendIR(weight: 1, destination: .invalid(status: 500, reason: blocked))] }
            let matches = (rule.matches ?? []).isEmpty ? [GRPCRouteMatch(method: nil, headers: nil)] : rule.matches!
            for (mi, m) in matches.enumerated() {
                let method: GRPCMatchIR.MethodMatch? = m.method.map {
                    $0.type == .exact ? .exact(service: $0.service, method: $0.method) : .regularExpression(service: $0.service, method: $0.method)
                }
                var headers: [StringMatchIR] = []
                for h in m.headers ?? [] where !headers.contains(where: { $0.name == h.name.lowercased() }) {
                    headers.append(StringMatchIR(name: h.name.lowercased(), type: h.type == .exact ? .exact : .regularExpression, value: h.value))
                }
                let match = GRPCMatchIR(method: method, headers: headers)
                let ir = GRPCRouteIR(route: RouteRef(kind: "GRPCRoute", namespace: ns, name: route.metadata.name, ruleIndex: ri,
                                                     ruleName: rule.name, matchIndex: mi),
                                     match: match, filters: filters.filters, backends: backends)
                out.entries.append((GRPCMatchRank(match: match, age: age, ruleIndex: ri, matchIndex: mi), ir))
            }
        }
        return out
    }

    func grpcFilters(_ filters: [GRPCRouteFilter], ns: String, context: RefContext, path: String,
                     fail: (RefFailure) -> Void) -> (filters: [HTTPFilterIR], blocked: String?) {
        var out: [HTTPFilterIR] = []
        var blocked: String?
        for (i, f) in filters.enumerated() {
            switch f.type {
            case .requestHeaderModifier: if let m = f.requestHeaderModifier { out.append(.requestHeaderModifier(modifier: headerModifier(m))) }
            case .responseHeaderModifier: if let m = f.responseHeaderModifier { out.append(.responseHeaderModifier(modifier: headerModifier(m))) }
            case .requestMirror:
                if let m = f.requestMirror, let mirror = mirror(m, routeKind: "GRPCRoute", routeNamespace: ns, context: context,
                                                                 path: "\(path)[\(i)].requestMirror.backendRef", fail: fail) {
                    out.append(.requestMirror(mirror: mirror))
                }
            case .extensionRef:
                fail(RefFailure(reason: Cond.invalidKind, message: "\(path)[\(i)].extensionRef: Sluice supports no extension filters"))
                blocked = blocked ?? "ExtensionRef filter is not supported"
            }
        }
        return (out, blocked)
    }

    /// TCPRoute/TLSRoute/UDPRoute rules: weighted backends, no matches. "If all entries in
    /// BackendRefs are invalid ... the underlying implementation MUST actively reject connection
    /// attempts to this backend" — an invalid backend is an `.invalid` destination the L4 data plane
    /// answers by closing the connection.
    func compileL4Rules(kind: String, meta: ObjectMeta, rules: [(String?, [BackendRef])]) -> CompiledL4Route {
        var out = CompiledL4Route(age: age(kind: kind, meta: meta))
        let ns = meta.namespace ?? "default"
        for (ri, (name, refs)) in rules.enumerated() {
            var backends: [BackendIR] = []
            for (bi, b) in refs.enumerated() {
                switch resolveBackend(group: b.group, kind: b.kind, name: b.name, namespace: b.namespace, port: b.port,
                                      routeKind: kind, routeNamespace: ns, context: .gateway) {
                case .success(let d): backends.append(BackendIR(weight: b.weight, destination: .service(target: d)))
                case .failure(let f):
                    if out.refFailure == nil { out.refFailure = RefFailure(reason: f.reason, message: "spec.rules[\(ri)].backendRefs[\(bi)]: \(f.message)") }
                    backends.append(BackendIR(weight: b.weight, destination: .invalid(status: 500, reason: f.message)))
                }
            }
            out.routes.append(L4RouteIR(route: RouteRef(kind: kind, namespace: ns, name: meta.name, ruleIndex: ri, ruleName: name),
                                        backends: backends))
        }
        return out
    }
}
