import ControlPlane
import GatewayAPI
import IR
import Routing
import Translator

/// What `sluice services`, `sluice describe service` and the admin `/services` endpoint show of
/// the mesh: every Service port's virtual IP, the routes that apply to it (producer/consumer), the
/// compiled rule order, the endpoints, the pods (mesh clients) with their addresses, and what a
/// client in a given namespace gets. Pure: rendered from a translation and a list of pods.
public enum MeshReport {
    /// A pod as the mesh knows it: its address is its identity as a client.
    public struct Pod: Sendable {
        public var namespace: String
        public var name: String
        public var address: String
        /// Runs nothing locally (an image Sluice cannot run): a client identity only.
        public var identityOnly: Bool
        public init(namespace: String, name: String, address: String, identityOnly: Bool) {
            self.namespace = namespace
            self.name = name
            self.address = address
            self.identityOnly = identityOnly
        }
    }

    /// The pods `sluice serve` would run for these resources, with their preferred addresses (the
    /// address a pod gets unless another process already uses it; the admin `/services` endpoint
    /// of a running `sluice serve` shows the actual ones).
    public static func plannedPods(_ snapshot: ResourceSnapshot) -> [LocalPod] {
        LocalWorkloads.plan(snapshot).plans.values.map { p in
            var pod = LocalPod(namespace: p.key.namespace, name: p.name, deployment: p.key.deployment, replica: p.key.index,
                               labels: p.labels,
                               address: LocalWorkloads.preferredAddress(namespace: p.key.namespace, deployment: p.key.deployment,
                                                                        replica: p.key.index),
                               templateHash: p.templateHash, ports: p.ports, listeningPorts: [], ready: !p.echoContainers.isEmpty,
                               problem: nil)
            pod.identityOnly = p.echoContainers.isEmpty
            return pod
        }.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }

    /// Translates files for `sluice services`/`describe` as `sluice serve` would serve them: with
    /// EndpointSlices for the local pods it would run (assumed ready).
    public static func offline(paths: [String], config: TranslatorConfig = TranslatorConfig()) -> (CheckReport, [Pod]) {
        let loaded = Loader.load(paths: paths)
        let (snapshot, _) = ResourceSnapshot.build(from: loaded.objects)
        let planned = plannedPods(snapshot)
        let report = CheckReport.run(objects: loaded.objects, diagnostics: loaded.diagnostics, config: config, augment: { s in
            s.endpointSlices += LocalWorkloads.endpointSlices(for: LocalWorkloads.servicesWithoutSlices(in: s), pods: planned)
            return []
        })
        return (report, planned.map { Pod(namespace: $0.namespace, name: $0.name, address: $0.address, identityOnly: $0.identityOnly) })
    }

    public static func pods(of workloads: LocalWorkloads) -> [Pod] {
        workloads.pods.map { Pod(namespace: $0.namespace, name: $0.name, address: $0.address, identityOnly: $0.identityOnly) }
    }

    static func endpoints(_ s: MeshServiceIR) -> [EndpointIR] {
        if case .service(let t) = s.defaultBackend.destination { return t.endpoints }
        return []
    }

    static func routeSummary(_ s: MeshServiceIR) -> String {
        var parts: [String] = []
        if let p = s.producerRoutes { parts.append("producer: \(Set(p.map(\.route.name)).sorted().joined(separator: ","))") }
        for c in s.consumerRoutes { parts.append("consumer(\(c.clientNamespace)): \(Set(c.routes.map(\.route.name)).sorted().joined(separator: ","))") }
        return parts.isEmpty ? "none (load-balanced over its endpoints)" : parts.joined(separator: "; ")
    }

    /// `sluice services`: one line per Service port, then the pods.
    public static func servicesTable(_ ir: IRSnapshot, pods: [Pod]) -> String {
        var rows: [[String]] = [["SERVICE", "PORT", "CLUSTER-IP", "ENDPOINTS", "ROUTES"]]
        for s in ir.meshServices {
            rows.append(["\(s.service.namespace)/\(s.service.name)", "\(s.port)\(s.portName.map { "/" + $0 } ?? "")",
                         s.clusterIP ?? "<none>", "\(endpoints(s).count)", routeSummary(s)])
        }
        var out = table(rows)
        out += "\n"
        var podRows: [[String]] = [["POD", "ADDRESS", "RUNS"]]
        for p in pods { podRows.append(["\(p.namespace)/\(p.name)", p.address, p.identityOnly ? "identity only (image not runnable locally)" : "echo"]) }
        out += pods.isEmpty ? "no local pods\n" : table(podRows)
        return out
    }

    /// `sluice describe service NS/NAME [--from NS]`; nil when the Service has no mesh port.
    public static func describe(_ ir: IRSnapshot, namespace: String, name: String, from client: String?) -> String? {
        let ports = ir.meshServices.filter { $0.service.namespace == namespace && $0.service.name == name }
        guard !ports.isEmpty else { return nil }
        var out = "Service \(namespace)/\(name)\n"
        for s in ports {
            out += "\nport \(s.port)\(s.portName.map { " (\($0))" } ?? "") on \(s.clusterIP ?? "<no cluster IP>"):\(s.port)"
            out += s.appProtocol.map { ", appProtocol \($0)" } ?? ""
            out += "\n  endpoints: " + (endpoints(s).isEmpty ? "none ready (requests get 503)"
                : endpoints(s).map { "\($0.address):\($0.port)\($0.pod.map { " (\($0))" } ?? "")" }.joined(separator: ", "))
            if let p = s.producerRoutes {
                out += "\n  producer routes (every client without consumer routes), in precedence order:\n"
                out += rules(p)
            } else {
                out += "\n  producer routes: none — clients without consumer routes are load-balanced over the endpoints\n"
            }
            for c in s.consumerRoutes {
                out += "  consumer routes for clients in namespace \(c.clientNamespace), in precedence order:\n"
                out += rules(c.routes)
            }
            if let client {
                let set = CompiledMeshPort(s).routeSet(for: ClientIdentity(namespace: client, pod: ""))
                out += "  a client in namespace \(client) gets: \(set)"
                if case .serviceDefault = set {} else { out += " (a request no rule matches gets 404)" }
                out += "\n"
            }
        }
        return out
    }

    static func rules(_ routes: [HTTPRouteIR]) -> String {
        routes.enumerated().map { i, r in
            "    \(i + 1). \(r.route.kind) \(r.route.namespace)/\(r.route.name) rule \(r.route.ruleIndex): \(match(r.match)) → \(action(r))\n"
        }.joined()
    }

    static func match(_ m: HTTPMatchIR) -> String {
        var parts: [String] = []
        switch m.path {
        case .exact(let v): parts.append("path = \(v)")
        case .prefix(let v): parts.append("path prefix \(v)")
        case .regularExpression(let p): parts.append("path ~ \(p)")
        }
        if let method = m.method { parts.append("method \(method)") }
        for h in m.headers { parts.append("header \(h.name)\(h.type == .exact ? " = " : " ~ ")\(h.value)") }
        for q in m.queryParams { parts.append("query \(q.name)\(q.type == .exact ? " = " : " ~ ")\(q.value)") }
        return parts.joined(separator: ", ")
    }

    static func action(_ r: HTTPRouteIR) -> String {
        var parts: [String] = []
        for f in r.filters {
            switch f {
            case .requestRedirect(let x): parts.append("redirect \(x.statusCode)")
            case .urlRewrite: parts.append("rewrite")
            case .requestHeaderModifier: parts.append("request headers")
            case .responseHeaderModifier: parts.append("response headers")
            case .requestMirror: parts.append("mirror")
            case .cors: parts.append("CORS")
            }
        }
        let total = r.backends.reduce(0) { $0 + $1.weight }
        for b in r.backends {
            switch b.destination {
            case .service(let t): parts.append("\(t.service.namespace)/\(t.service.name):\(t.port)" + (r.backends.count > 1 ? " (weight \(b.weight)/\(total))" : ""))
            case .invalid(let status, let reason): parts.append("\(status) (\(reason))")
            }
        }
        return parts.isEmpty ? "500 (no backend)" : parts.joined(separator: ", ")
    }

    static func table(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = Array(repeating: 0, count: first.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0) }.joined()
        }.joined(separator: "\n") + "\n"
    }

    /// Consumer routes that no client can use yet: their namespace has no pod the mesh knows (no
    /// local pod, no EndpointSlice endpoint naming a pod there). Info only — a pod may come later.
    public static func clientDiagnostics(_ ir: IRSnapshot, identities: SourceAddressIdentities,
                                         locations: [ObjectKey: SourceLocation] = [:]) -> [Diagnostic] {
        let namespacesWithClients = Set(identities.all.map(\.identity.namespace))
        var seen: Set<String> = []
        var out: [Diagnostic] = []
        for s in ir.meshServices {
            for c in s.consumerRoutes where !namespacesWithClients.contains(c.clientNamespace) {
                for name in Set(c.routes.map(\.route.name)).sorted() where seen.insert("\(c.clientNamespace)/\(name)").inserted {
                    let key = ObjectKey(group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: c.clientNamespace, name: name)
                    out.append(Diagnostic(.info, "consumer route for Service \(s.service.namespace)/\(s.service.name): it applies only to clients in namespace \(c.clientNamespace), which has no pods yet, so no request follows it",
                                          location: locations[key], object: key))
                }
            }
        }
        for m in ir.meshServices {
            let name = "\(m.service.namespace)/\(m.service.name)"
            let key = ObjectKey(group: "", kind: "Service", namespace: m.service.namespace, name: m.service.name)
            let routed = m.producerRoutes != nil || !m.consumerRoutes.isEmpty
            if routed, DeclaredProtocol.of(appProtocol: m.appProtocol, portName: m.portName) == .tcp {
                out.append(Diagnostic(.warning, "port \(m.port) is declared TCP (\(m.appProtocol.map { "appProtocol \($0)" } ?? "name \(m.portName ?? "")")): its connections are forwarded as raw TCP and the HTTPRoutes attached to it are not applied; name the port http-… or set appProtocol http",
                                      location: locations[key], object: key))
            }
            if m.producerGRPCRoutes != nil || !m.consumerGRPCRoutes.isEmpty {
                out.append(Diagnostic(.warning, "Service \(name) port \(m.port): GRPCRoutes are attached, but the mesh data plane does not serve GRPCRoutes yet; requests go to the Service's endpoints",
                                      location: locations[key], object: key))
            }
        }
        return out
    }
}