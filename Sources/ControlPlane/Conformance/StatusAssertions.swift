import GatewayAPI
import Translator

/// The verdict on one STATUS expectation of the corpus.
public enum AssertionOutcome: Sendable, Equatable {
    case pass
    case fail(String)
    /// The expectation depends on something other than the resources (running pods, traffic,
    /// or a run-time input of the upstream suite); the reason says what.
    case runtime(String)
}

/// Evaluates the corpus' STATUS entries with the semantics of the upstream helper each one names
/// (../shared/conformance/CONVENTIONS-gateway.md, "STATUS").
public struct StatusAssertions {
    public var report: CheckReport
    public var store: ObjectStore
    /// Generations before the last apply, for `GenerationChanged`.
    public var previousGenerations: [String: Int]
    public var controllerName: String

    public init(report: CheckReport, store: ObjectStore, previousGenerations: [String: Int] = [:],
                controllerName: String = TranslatorConfig.defaultControllerName) {
        self.report = report
        self.store = store
        self.previousGenerations = previousGenerations
        self.controllerName = controllerName
    }

    public func evaluate(_ e: Value) -> AssertionOutcome {
        let kind = e["kind"]?.string ?? ""
        let ns = e["namespace"]?.string ?? ""
        let name = e["name"]?.string ?? ""
        let nn = GatewayAPI.NamespacedName(namespace: ns, name: name)
        let s = report.result.status
        let generation = store.generation(kind: kind, namespace: ns, name: name) ?? 1
        let what = "\(kind) \(ns.isEmpty ? "" : ns + "/")\(name)"

        switch e["assert"]?.string ?? "" {
        case "WaitForGatewayAddress":
            guard let g = s.gateways[nn] else { return .fail("\(what): no status") }
            return (g.addresses ?? []).contains { !$0.type.isEmpty && !$0.value.isEmpty } ? .pass : .fail("\(what): no address")

        case "GatewayMustHaveCondition":
            guard let g = s.gateways[nn] else { return .fail("\(what): no status") }
            return conditions(g.conditions ?? [], have: e["conditions"], what)

        case "GatewayMustHaveLatestConditions":
            guard let g = s.gateways[nn] else { return .fail("\(what): no status") }
            return latest(g.conditions ?? [], generation, what)

        case "GatewayStatusMustHaveListeners":
            guard let g = s.gateways[nn] else { return .fail("\(what): no status") }
            return listeners(g.listeners ?? [], expected: e, what)
        case "ListenerSetStatusMustHaveListeners":
            guard let l = s.listenerSets[nn] else { return .fail("\(what): no status") }
            return listeners(l.listeners ?? [], expected: e, what)

        case "GatewayListenersMustHaveConditions", "GatewayListenerMustHaveConditions":
            guard let g = s.gateways[nn] else { return .fail("\(what): no status") }
            return listenerConditions(g.listeners ?? [], expected: e, what)
        case "ListenerSetListenersMustHaveConditions":
            guard let l = s.listenerSets[nn] else { return .fail("\(what): no status") }
            return listenerConditions(l.listeners ?? [], expected: e, what)

        case "GatewayMustHaveZeroRoutes":
            guard let g = s.gateways[nn] else { return .fail("\(what): no status") }
            let ls = g.listeners ?? []
            return ls.isEmpty || ls.allSatisfy({ $0.attachedRoutes == 0 }) ? .pass
                : .fail("\(what): attachedRoutes " + ls.map { "\($0.name)=\($0.attachedRoutes)" }.joined(separator: ", "))

        case "GatewayMustHaveAttachedListeners":
            guard let g = s.gateways[nn] else { return .fail("\(what): no status") }
            let want = e["attachedListenerSets"]?.int ?? 0
            return (g.attachedListenerSets ?? 0) == want ? .pass : .fail("\(what): attachedListenerSets \(g.attachedListenerSets ?? 0), want \(want)")

        case "ListenerSetMustHaveCondition":
            guard let l = s.listenerSets[nn] else { return .fail("\(what): no status") }
            return conditions(l.conditions ?? [], have: e["conditions"], what)

        case "GWCMustHaveAcceptedConditionAny":
            guard let c = s.gatewayClasses[name] else { return .fail("\(what): no status") }
            return (c.conditions ?? []).contains { $0.type == "Accepted" } ? .pass : .fail("\(what): no Accepted condition")
        case "GatewayClassMustHaveLatestConditions":
            guard let c = s.gatewayClasses[name] else { return .fail("\(what): no status") }
            return latest(c.conditions ?? [], generation, what)

        case "RouteMustHaveParents", "TLSRouteMustHaveParents":
            guard let r = route(kind: kind, ns: ns, name: name) else { return .fail("\(what): no status") }
            for p in e["parents"]?.array ?? [] {
                let ref = p["parentRef"]
                let match = r.parents.first { sp in
                    (p["controllerName"]?.string).map { ConformanceCorpus.substitute($0, controllerName: controllerName) == sp.controllerName } ?? true
                        && (ref?["group"]?.string ?? ResourceKind.gatewayGroup) == sp.parentRef.group
                        && (ref?["kind"]?.string ?? "Gateway") == sp.parentRef.kind
                        && ref?["name"]?.string == sp.parentRef.name
                        && namespaceMatches(expected: ref?["namespace"]?.string, actual: sp.parentRef.namespace, routeNamespace: ns,
                                            required: e["namespaceRequired"]?.bool ?? true)
                        && conditions(sp.conditions, have: p["conditions"], "") == .pass
                }
                if match == nil {
                    return .fail("\(what): no parent \(ref?["kind"]?.string ?? "Gateway") \(ref?["name"]?.string ?? "") with \(describe(p["conditions"])); parents: \(describe(r))")
                }
            }
            return .pass

        case "HTTPRouteMustHaveCondition", "TCPRouteMustHaveCondition", "TLSRouteMustHaveCondition", "UDPRouteMustHaveCondition":
            guard let r = route(kind: kind, ns: ns, name: name) else { return .fail("\(what): no status") }
            for p in e["parents"]?.array ?? [] {
                let ref = p["parentRef"]
                let candidates = r.parents.filter {
                    $0.parentRef.name == ref?["name"]?.string
                        && ($0.parentRef.namespace == nil || $0.parentRef.namespace == ref?["namespace"]?.string || ref?["namespace"] == nil)
                }
                if !candidates.contains(where: { conditions($0.conditions, have: p["conditions"], "") == .pass }) {
                    return .fail("\(what): no parent \(ref?["name"]?.string ?? "") with \(describe(p["conditions"])); parents: \(describe(r))")
                }
            }
            return .pass

        case "HTTPRouteMustHaveNoAcceptedParents":
            guard let r = route(kind: kind, ns: ns, name: name) else { return .pass }
            if r.parents.isEmpty { return .pass }
            if r.parents.count == 1, r.parents[0].conditions.contains(where: { $0.type == "Accepted" && $0.status == .false }) { return .pass }
            return .fail("\(what): parents \(describe(r))")

        case "HTTPRouteMustHaveLatestConditions":
            guard let r = route(kind: kind, ns: ns, name: name) else { return .fail("\(what): no status") }
            return latest(r.parents.flatMap(\.conditions), generation, what)

        case "GenerationChanged":
            let before = previousGenerations["\(kind)/\(ns)/\(name)"]
            return before != nil && before != generation ? .pass : .fail("\(what): generation \(generation) did not change (before: \(before.map(String.init) ?? "unknown"))")

        case "NamespacesMustBeReady":
            // The Gateway half is a resource question; Pods being Ready is a run-time one.
            for g in report.objects where g.key.kind == "Gateway" && g.key.namespace == name {
                if g.value["metadata"]?["annotations"]?["gateway-api/skip-this-for-readiness"]?.string == "true" { continue }
                guard let st = s.gateways[GatewayAPI.NamespacedName(namespace: name, name: g.key.name)] else {
                    return .fail("Gateway \(name)/\(g.key.name): no status")
                }
                let ok = (st.conditions ?? []).contains { $0.type == "Accepted" && $0.status == .true }
                    && (st.conditions ?? []).contains { $0.type == "Programmed" && $0.status == .true }
                if !ok { return .fail("Gateway \(name)/\(g.key.name) is not Accepted and Programmed: \(describe(st.conditions ?? []))") }
            }
            return .pass

        case "BackendTLSPolicyMustHaveCondition":
            // Some ancestor whose ancestorRef name matches and whose namespace is unset or equal.
            guard let p = s.backendTLSPolicies[nn] else { return .fail("\(what): no status") }
            for want in e["ancestors"]?.array ?? [] {
                let ref = want["ancestorRef"]
                let matching = p.ancestors.filter {
                    $0.ancestorRef.name == ref?["name"]?.string
                        && ($0.ancestorRef.namespace == nil || ref?["namespace"] == nil || $0.ancestorRef.namespace == ref?["namespace"]?.string)
                }
                if !matching.contains(where: { conditions($0.conditions, have: want["conditions"], "") == .pass }) {
                    return .fail("\(what): no ancestor \(ref?["name"]?.string ?? "") with \(describe(want["conditions"])); ancestors: "
                                 + p.ancestors.map { "\($0.ancestorRef.name) \(describe($0.conditions))" }.joined(separator: "; "))
                }
            }
            return .pass

        case let other:
            return .runtime("\(what): \(other) depends on run-time inputs of the upstream suite (see the test's notes)")
        }
    }

    // MARK: Helpers

    func route(kind: String, ns: String, name: String) -> RouteStatus? {
        report.result.status.routes[ObjectKey(group: ResourceKind.gatewayGroup, kind: kind, namespace: ns, name: name)]
    }

    func namespaceMatches(expected: String?, actual: String?, routeNamespace: String, required: Bool) -> Bool {
        guard let expected else { return true }
        if let actual { return actual == expected }
        return !required || expected == routeNamespace
    }

    /// Every expected `{type, status?, reason?}` is present (missing status/reason = any).
    func conditions(_ actual: [Condition], have expected: Value?, _ what: String) -> AssertionOutcome {
        for c in expected?.array ?? [] {
            let found = actual.contains { a in
                a.type == c["type"]?.string
                    && (c["status"]?.string).map { $0 == a.status.rawValue } ?? true
                    && (c["reason"]?.string).map { $0 == a.reason } ?? true
            }
            if !found { return .fail("\(what): missing \(describe(c)); has \(describe(actual))") }
        }
        return .pass
    }

    func latest(_ cs: [Condition], _ generation: Int, _ what: String) -> AssertionOutcome {
        let stale = cs.filter { ($0.observedGeneration ?? 0) != generation }
        return stale.isEmpty && !cs.isEmpty ? .pass : .fail("\(what): conditions not at generation \(generation): \(describe(stale))")
    }

    func listeners(_ actual: [ListenerStatus], expected e: Value, _ what: String) -> AssertionOutcome {
        let want = e["listeners"]?.array ?? []
        if e["listenersExact"]?.bool ?? false, actual.count != want.count {
            return .fail("\(what): \(actual.count) listener statuses, want \(want.count)")
        }
        for w in want {
            guard let a = actual.first(where: { $0.name == w["name"]?.string }) else {
                return .fail("\(what): no listener status \(w["name"]?.string ?? "")")
            }
            if let n = w["attachedRoutes"]?.int, n != a.attachedRoutes {
                return .fail("\(what): listener \(a.name) attachedRoutes \(a.attachedRoutes), want \(n)")
            }
            if case .fail(let m) = conditions(a.conditions, have: w["conditions"], "\(what) listener \(a.name)") { return .fail(m) }
            if let kinds = w["supportedKinds"]?.array {
                let have = a.supportedKinds ?? []
                if kinds.isEmpty && !have.isEmpty { return .fail("\(what): listener \(a.name) supportedKinds \(have.map(\.kind)), want none") }
                for k in kinds where !have.contains(where: { $0.kind == k["kind"]?.string && $0.group == (k["group"]?.string ?? ResourceKind.gatewayGroup) }) {
                    return .fail("\(what): listener \(a.name) supportedKinds \(have.map(\.kind)) lacks \(k["kind"]?.string ?? "")")
                }
            }
        }
        return .pass
    }

    func listenerConditions(_ actual: [ListenerStatus], expected e: Value, _ what: String) -> AssertionOutcome {
        if e["allListeners"]?.bool ?? false {
            let conds = e["listeners"]?.array?.first?["conditions"] ?? e["conditions"]
            for a in actual {
                if case .fail(let m) = conditions(a.conditions, have: conds, "\(what) listener \(a.name)") { return .fail(m) }
            }
            return actual.isEmpty ? .fail("\(what): no listeners") : .pass
        }
        for w in e["listeners"]?.array ?? [] {
            guard let a = actual.first(where: { $0.name == w["name"]?.string }) else {
                return .fail("\(what): no listener status \(w["name"]?.string ?? "")")
            }
            if case .fail(let m) = conditions(a.conditions, have: w["conditions"], "\(what) listener \(a.name)") { return .fail(m) }
        }
        return .pass
    }

    func describe(_ v: Value?) -> String {
        guard let v else { return "-" }
        if let a = v.array { return "[" + a.map { describe($0) }.joined(separator: ", ") + "]" }
        return "\(v["type"]?.string ?? "")=\(v["status"]?.string ?? "*")/\(v["reason"]?.string ?? "*")"
    }

    func describe(_ cs: [Condition]) -> String {
        "[" + cs.map { "\($0.type)=\($0.status.rawValue)/\($0.reason)" }.joined(separator: ", ") + "]"
    }

    func describe(_ r: RouteStatus) -> String {
        r.parents.map { "\($0.parentRef.kind) \($0.parentRef.name)#\($0.parentRef.sectionName ?? "") \(describe($0.conditions))" }.joined(separator: "; ")
    }
}
