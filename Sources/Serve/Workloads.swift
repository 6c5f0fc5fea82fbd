// Local workloads on the embedded default (../shared/DESIGN.md §3 "Workloads").
//
// A Deployment whose container image is the conformance echo image (`…/echo-basic:*`,
// `…/echo-advanced:*`) or Sluice's own (`sluice/echo`) runs in-process as one `Echo.EchoServer`
// per replica, each on its own pod address in 127.1.0.0/16, configured from the container's env,
// args and ports exactly as the manifests pass them. Services that select these pods get
// synthesised EndpointSlices. Any other image is reported as not runnable locally.
import Echo
import Foundation
import GatewayAPI
import NIOConcurrencyHelpers
import NIOCore
import Routing

/// One locally running (or failed) replica of a Deployment — what `kubectl get pod` would list.
public struct LocalPod: Sendable, Hashable, CustomStringConvertible {
    /// A port declared by one of the pod's containers (`containers[].ports[]`).
    public struct Port: Sendable, Hashable {
        public var name: String?
        public var number: Int
        public var `protocol`: TransportProtocol

        public init(name: String?, number: Int, protocol: TransportProtocol = .tcp) {
            self.name = name
            self.number = number
            self.protocol = `protocol`
        }
    }

    public var namespace: String
    /// `<deployment>-<pod template hash>-<suffix>`.
    public var name: String
    public var deployment: String
    /// Replica index within the Deployment (0-based); the name suffix and address derive from it.
    public var replica: Int
    /// The template's labels plus `pod-template-hash`, as the ReplicaSet controller sets them.
    public var labels: [String: String]
    /// The pod address, `127.1.x.y`.
    public var address: String
    /// The 10-character pod template hash (also the `pod-template-hash` label).
    public var templateHash: String
    /// Declared container ports (used to resolve a Service's named `targetPort`).
    public var ports: [Port]
    /// The ports the echo servers actually listen on (empty when the pod failed to start).
    public var listeningPorts: [Int]
    /// True once every echo container of the pod is listening.
    public var ready: Bool
    /// Why the pod is not running, when it is not (e.g. an echo mode that is not implemented).
    public var problem: String?
    /// A pod of an image Sluice cannot run: it gets an address (a mesh client identity — run
    /// `curl --interface <address>` as that pod) but serves nothing and is never ready.
    public var identityOnly: Bool = false

    /// The container port number declared under `name` (first match).
    public func port(named name: String, protocol proto: TransportProtocol = .tcp) -> Int? {
        ports.first { $0.name == name && $0.protocol == proto }?.number
    }

    /// True when every `selector` entry is among the pod's labels (an empty selector matches).
    public func matches(_ selector: [String: String]) -> Bool {
        selector.allSatisfy { labels[$0.key] == $0.value }
    }

    public var description: String {
        "\(namespace)/\(name) \(address) \(ready ? "ready" : "not ready\(problem.map { ": \($0)" } ?? "")")"
    }
}

/// Runs the echo Deployments of a snapshot in-process and synthesises their Services'
/// EndpointSlices (../shared/DESIGN.md §3). Thread-safe; `reconcile` and `stopAll` calls are
/// serialised in call order.
///
/// Semantics:
/// * **Which images run.** A container image whose repository's last path component is
///   `echo-basic` or `echo-advanced` (any registry, tag or digest), or whose repository is
///   `sluice/echo` (basic flavour; `--flavor=advanced` in the args selects the advanced one). A pod
///   runs when at least one container is such an image; the others are reported.
/// * **Replicas.** `spec.replicas` pods per Deployment, replica indexes `0..<replicas`. Scaling
///   down stops the highest indexes; scaling up starts new ones; pods of an unchanged template are
///   never restarted. A changed pod template restarts every pod of the Deployment (new template
///   hash, so new names), at the same addresses.
/// * **Names.** `<deployment>-<hash>-<suffix>`: `hash` is 10 characters of Kubernetes'
///   "safe" alphabet (`bcdfghjklmnpqrstvwxz2456789`) derived from the pod template, `suffix` 5 of the
///   same derived from namespace, deployment, hash and replica index — deterministic, so a restart
///   of `sluice serve` gives the same names.
/// * **Addresses.** `127.1.x.y` (y in 1...254), chosen by a hash of (namespace, deployment, replica
///   index) and probed linearly past addresses already in use by this instance, or found busy when
///   binding (EADDRINUSE — e.g. another Sluice process). A replica keeps its address across
///   template changes for as long as its Deployment keeps it.
/// * **Env and args.** Literal `env[].value`s and `args` go to `EchoConfig.fromContainer`;
///   `valueFrom` entries (the manifests' downward-API `POD_NAME`/`NAMESPACE`) are resolved by its
///   fallback to the pod's own name and namespace.
/// * **Readiness.** A pod is ready once all its echo servers are listening (`reconcile` returns
///   after the binds). A pod whose echo cannot start (an echo-basic mode that is not implemented,
///   bad port env) stays listed as not ready with its `problem`, and a warning says why.
/// * **Logs.** Each echo log line goes to `log(pod, line)` and into a per-pod buffer of the last
///   1000 lines (``logs(ofPodsWithLabels:namespace:)``); a stopped pod's buffer is dropped.
public final class LocalWorkloads: @unchecked Sendable {
    /// Pod addresses are allocated in 127.1.0.0/16.
    public static let addressPrefix = "127.1."
    /// Lines kept per pod.
    public static let logLimit = 1000
    /// Label on synthesised EndpointSlices (`endpointslice.kubernetes.io/managed-by`).
    public static let managedBy = "sluice.dev/local-workloads"

    private let group: EventLoopGroup
    private let log: @Sendable (_ pod: String, _ line: String) -> Void
    private let lock = NIOLock()
    private var running: [ReplicaKey: RunningPod] = [:]
    private var addresses: [ReplicaKey: String] = [:]
    private var busyAddresses: Set<String> = []
    private var tail: Task<Void, Never>?

    public init(group: EventLoopGroup, log: @escaping @Sendable (_ pod: String, _ line: String) -> Void = { _, _ in }) {
        self.group = group
        self.log = log
    }

    // MARK: Reconcile

    /// Starts and stops echo pods so that exactly the snapshot's echo Deployments' replicas run.
    /// Returns the diagnostics of the resulting state (warnings for Deployments that cannot run
    /// locally and pods that failed to start; info about echo listeners that are not implemented).
    public func reconcile(_ snapshot: ResourceSnapshot) async -> [Diagnostic] {
        await serialized { await self.performReconcile(snapshot) }
    }

    /// Stops every pod (and forgets their addresses). A later `reconcile` starts them again.
    public func stopAll() async {
        await serialized {
            let all = self.lock.withLock { () -> [RunningPod] in
                defer { self.running = [:]; self.addresses = [:] }
                return Array(self.running.values)
            }
            await Self.stop(all)
        }
    }

    // MARK: Lookups

    /// All pods, ordered by namespace, deployment and replica index.
    public var pods: [LocalPod] {
        lock.withLock { running.values.map(\.pod) }.sorted { ($0.namespace, $0.deployment, $0.replica) < ($1.namespace, $1.deployment, $1.replica) }
    }

    /// The pod with this name (in `namespace`, when given).
    public func pod(named name: String, namespace: String? = nil) -> LocalPod? {
        lock.withLock { running.values.first { $0.pod.name == name && (namespace == nil || $0.pod.namespace == namespace) }?.pod }
    }

    /// Pods in `namespace` whose labels include every `selector` entry (an empty selector matches all).
    public func pods(matching selector: [String: String], namespace: String) -> [LocalPod] {
        pods.filter { $0.namespace == namespace && $0.matches(selector) }
    }

    /// The pod listening on `address` (how the mesh finds a client's namespace from its source address).
    public func pod(at address: String) -> LocalPod? {
        lock.withLock { running.values.first { $0.pod.address == address }?.pod }
    }

    /// The address of a Deployment's replica, when it runs.
    public func podAddress(namespace: String, deployment: String, replica: Int) -> String? {
        lock.withLock { running[ReplicaKey(namespace: namespace, deployment: deployment, index: replica)]?.pod.address }
    }

    /// The kept log lines (oldest first, at most ``logLimit``) of each pod in `namespace` whose
    /// labels include `labels`, keyed by pod name.
    public func logs(ofPodsWithLabels labels: [String: String], namespace: String) -> [String: [String]] {
        let matching = lock.withLock { running.values.filter { $0.pod.namespace == namespace && $0.pod.matches(labels) } }
        var out: [String: [String]] = [:]
        for p in matching { out[p.pod.name] = p.log.lines }
        return out
    }

    /// The kept log lines of one pod; nil when no such pod runs.
    public func logs(ofPod name: String, namespace: String? = nil) -> [String]? {
        lock.withLock { running.values.first { $0.pod.name == name && (namespace == nil || $0.pod.namespace == namespace) } }?.log.lines
    }

    // MARK: EndpointSlices

    /// One EndpointSlice per Service whose (non-empty) selector matches local pods in its namespace:
    /// `<service>-local`, labelled `kubernetes.io/service-name`, ports named like the Service ports
    /// (`targetPort` numbers taken as they are, names resolved against the pods' container port
    /// names), one endpoint per pod with `ready`/`serving` true only once it listens and `targetRef`
    /// the Pod. Pods that resolve a different set of ports (named ports declared differently) go to
    /// further slices `<service>-local-2`, …, as the EndpointSlice controller groups them; a pod that
    /// resolves none of the Service's ports is left out. ExternalName Services are skipped.
    public func endpointSlices(for services: [Service]) -> [EndpointSlice] {
        Self.endpointSlices(for: services, pods: pods)
    }

    /// ``endpointSlices(for:)`` over the given pods (also used to preview planned pods offline).
    public static func endpointSlices(for services: [Service], pods: [LocalPod]) -> [EndpointSlice] {
        let all = pods.filter { !$0.identityOnly }
        guard !all.isEmpty else { return [] }
        var out: [EndpointSlice] = []
        for svc in services {
            guard svc.spec.type != .externalName, let selector = svc.spec.selector, !selector.isEmpty else { continue }
            let ns = svc.metadata.namespace ?? "default"
            let selected = all.filter { $0.namespace == ns && $0.matches(selector) }
            guard !selected.isEmpty else { continue }
            var groups: [(ports: [EndpointPort], pods: [LocalPod])] = []
            for pod in selected {
                let ports = Self.resolvePorts(of: svc, on: pod)
                if !(svc.spec.ports ?? []).isEmpty && ports.isEmpty { continue }
                if let i = groups.firstIndex(where: { $0.ports == ports }) {
                    groups[i].pods.append(pod)
                } else {
                    groups.append((ports, [pod]))
                }
            }
            for (i, g) in groups.enumerated() {
                let name = i == 0 ? "\(svc.metadata.name)-local" : "\(svc.metadata.name)-local-\(i + 1)"
                let endpoints = g.pods.map { pod in
                    Endpoint(addresses: [pod.address],
                             conditions: EndpointConditions(ready: pod.ready, serving: pod.ready, terminating: false),
                             targetRef: CoreObjectReference(kind: "Pod", namespace: pod.namespace, name: pod.name))
                }
                out.append(EndpointSlice(
                    metadata: ObjectMeta(name: name, namespace: ns, labels: [
                        EndpointSlice.serviceNameLabel: svc.metadata.name,
                        "endpointslice.kubernetes.io/managed-by": Self.managedBy,
                    ]),
                    addressType: .ipv4, endpoints: endpoints, ports: g.ports))
            }
        }
        return out
    }

    /// Who mesh clients are, by source address: every local pod (echo workloads and identity-only
    /// pods of other images), plus the endpoints of user-written EndpointSlices whose `targetRef` is
    /// a Pod (the slice's namespace is the pod's). A local pod wins over a slice for the same address.
    public func identities(_ snapshot: ResourceSnapshot) -> SourceAddressIdentities {
        var byAddress: [String: ClientIdentity] = [:]
        for slice in snapshot.endpointSlices {
            let ns = slice.metadata.namespace ?? "default"
            for e in slice.endpoints ?? [] {
                guard let ref = e.targetRef, ref.kind == "Pod", let pod = ref.name else { continue }
                for a in e.addresses { byAddress[a] = ClientIdentity(namespace: ref.namespace ?? ns, pod: pod) }
            }
        }
        for pod in pods { byAddress[pod.address] = ClientIdentity(namespace: pod.namespace, pod: pod.name) }
        return SourceAddressIdentities(byAddress)
    }

    /// Appends ``endpointSlices(for:)`` for the snapshot's Services that have no EndpointSlice of
    /// their own (a user-written slice always wins). For `CheckReport.run(…augment:)`.
    public func addEndpointSlices(to snapshot: inout ResourceSnapshot) {
        snapshot.endpointSlices += endpointSlices(for: Self.servicesWithoutSlices(in: snapshot))
    }

    static func servicesWithoutSlices(in snapshot: ResourceSnapshot) -> [Service] {
        let owned = Set(snapshot.endpointSlices.compactMap { s in
            s.serviceName.map { "\(s.metadata.namespace ?? "default")/\($0)" }
        })
        return snapshot.services.filter { !owned.contains("\($0.metadata.namespace ?? "default")/\($0.metadata.name)") }
    }

    static func resolvePorts(of svc: Service, on pod: LocalPod) -> [EndpointPort] {
        (svc.spec.ports ?? []).compactMap { sp in
            let number: Int?
            switch sp.effectiveTargetPort {
            case .int(let n): number = n
            case .string(let s): number = Int(s) ?? pod.port(named: s, protocol: sp.protocol)
            }
            return number.map { EndpointPort(name: sp.name ?? "", protocol: sp.protocol, port: $0, appProtocol: sp.appProtocol) }
        }
    }

    // MARK: Images

    /// The echo flavour an image (and its args) runs as, or nil when Sluice cannot run it locally.
    public static func echoFlavor(image: String, args: [String] = []) -> EchoConfig.Flavor? {
        let repo = repository(of: image)
        let last = repo.split(separator: "/").last.map(String.init) ?? repo
        if last == "echo-basic" { return .basic }
        if last == "echo-advanced" { return .advanced }
        if repo == "sluice/echo" || repo.hasSuffix("/sluice/echo") {
            for (i, a) in args.enumerated() {
                if a == "--flavor=advanced" || (a == "--flavor" && i + 1 < args.count && args[i + 1] == "advanced") {
                    return .advanced
                }
            }
            return .basic
        }
        return nil
    }

    /// The image reference without tag and digest.
    static func repository(of image: String) -> String {
        var s = image.trimmingCharacters(in: .whitespaces)
        if let at = s.firstIndex(of: "@") { s = String(s[..<at]) }
        if let colon = s.lastIndex(of: ":"), !s[colon...].contains("/") { s = String(s[..<colon]) }
        return s
    }

    // MARK: Names and addresses

    private static let safeAlphabet = Array("bcdfghjklmnpqrstvwxz2456789")

    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        // Final avalanche so the low digits depend on every byte.
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        return h
    }

    static func safeEncode(_ value: UInt64, length: Int) -> String {
        var v = value
        var out = ""
        for _ in 0..<length {
            out.append(safeAlphabet[Int(v % UInt64(safeAlphabet.count))])
            v /= UInt64(safeAlphabet.count)
        }
        return out
    }

    /// 10 characters derived from the pod template (its JSON with sorted keys).
    public static func templateHash(_ template: PodTemplateSpec) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let json = (try? enc.encode(template)).map { String(decoding: $0, as: UTF8.self) } ?? "\(template)"
        return safeEncode(fnv1a(json), length: 10)
    }

    /// `<deployment>-<templateHash>-<5-character suffix>`, deterministic per replica index.
    public static func podName(namespace: String, deployment: String, templateHash: String, replica: Int) -> String {
        let suffix = safeEncode(fnv1a("\(namespace)/\(deployment)-\(templateHash)/\(replica)"), length: 5)
        return "\(deployment)-\(templateHash)-\(suffix)"
    }

    private static let slotCount = 256 * 254

    static func address(slot: Int) -> String { "\(addressPrefix)\(slot / 254).\(slot % 254 + 1)" }

    /// The address a replica gets when nothing else is in the way.
    public static func preferredAddress(namespace: String, deployment: String, replica: Int) -> String {
        address(slot: Int(fnv1a("\(namespace)/\(deployment)/\(replica)") % UInt64(slotCount)))
    }

    /// The replica's address: kept if it has one, else the first free one from its preferred slot.
    private func allocateAddress(for key: ReplicaKey) -> String {
        lock.withLock {
            if let a = addresses[key], !busyAddresses.contains(a) { return a }
            let taken = Set(addresses.values).union(busyAddresses)
            var slot = Int(Self.fnv1a("\(key.namespace)/\(key.deployment)/\(key.index)") % UInt64(Self.slotCount))
            for _ in 0..<Self.slotCount {
                let a = Self.address(slot: slot)
                if !taken.contains(a) {
                    addresses[key] = a
                    return a
                }
                slot = (slot + 1) % Self.slotCount
            }
            return Self.address(slot: slot) // 65k pods: not reached in practice
        }
    }

    // MARK: Internals

    struct ReplicaKey: Hashable, Sendable {
        var namespace: String
        var deployment: String
        var index: Int
    }

    struct EchoContainer: Sendable {
        var index: Int
        var container: Container
        var flavor: EchoConfig.Flavor
    }

    /// What one replica should be.
    struct PodPlan: Sendable {
        var key: ReplicaKey
        var template: PodTemplateSpec
        var templateHash: String
        var name: String
        var labels: [String: String]
        var ports: [LocalPod.Port]
        var echoContainers: [EchoContainer]
    }

    struct RunningPod: Sendable {
        var pod: LocalPod
        var template: PodTemplateSpec
        var servers: [EchoServer]
        var log: PodLog
        /// The listeners the echo does not serve (reported as info).
        var notServed: [String]
        /// Failed for a reason a retry may fix (a bind error): restarted on the next reconcile.
        var retry: Bool
    }

    /// A bounded, thread-safe log of one pod.
    final class PodLog: @unchecked Sendable {
        private let lock = NIOLock()
        private var buffer: [String] = []

        func append(_ line: String) {
            lock.withLock {
                buffer.append(line)
                if buffer.count >= 2 * LocalWorkloads.logLimit { buffer.removeFirst(buffer.count - LocalWorkloads.logLimit) }
            }
        }

        var lines: [String] { lock.withLock { Array(buffer.suffix(LocalWorkloads.logLimit)) } }
    }

    private func serialized<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
        let task: Task<T, Never> = lock.withLock {
            let previous = tail
            let t = Task {
                await previous?.value
                return await body()
            }
            tail = Task { _ = await t.value }
            return t
        }
        return await task.value
    }

    /// Desired pods and the diagnostics of Deployments that cannot (fully) run locally.
    static func plan(_ snapshot: ResourceSnapshot) -> (plans: [ReplicaKey: PodPlan], diagnostics: [Diagnostic]) {
        var plans: [ReplicaKey: PodPlan] = [:]
        var diags: [Diagnostic] = []
        let needingSlices = Set(servicesWithoutSlices(in: snapshot).map { "\($0.metadata.namespace ?? "default")/\($0.metadata.name)" })
        for d in snapshot.deployments {
            let ns = d.metadata.namespace ?? "default"
            let name = d.metadata.name
            let template = d.spec.template
            let key = ObjectKey(group: Deployment.group, kind: Deployment.kind, namespace: ns, name: name)
            let location = snapshot.locations[key]
            var echo: [EchoContainer] = []
            var foreign: [(index: Int, image: String)] = []
            for (i, c) in template.spec.containers.enumerated() {
                if let image = c.image, let flavor = echoFlavor(image: image, args: c.args ?? []) {
                    echo.append(EchoContainer(index: i, container: c, flavor: flavor))
                } else {
                    foreign.append((i, c.image ?? "<none>"))
                }
            }
            if echo.isEmpty {
                let images = Array(Set(foreign.map(\.image))).sorted().joined(separator: ", ")
                let selecting = snapshot.services.filter { svc in
                    (svc.metadata.namespace ?? "default") == ns && svc.spec.type != .externalName
                        && !(svc.spec.selector ?? [:]).isEmpty
                        && (svc.spec.selector ?? [:]).allSatisfy { template.labels[$0.key] == $0.value }
                }
                let without = selecting.filter { needingSlices.contains("\(ns)/\($0.metadata.name)") }
                let lead = "Deployment \(ns)/\(name) runs image \(images), which Sluice cannot run locally"
                if !without.isEmpty {
                    let names = without.map { "\(ns)/\($0.metadata.name)" }.joined(separator: ", ")
                    diags.append(Diagnostic(.warning, "\(lead): give Service \(names) EndpointSlices (label \(EndpointSlice.serviceNameLabel)) listing its endpoints",
                                            location: location))
                } else if selecting.isEmpty {
                    diags.append(Diagnostic(.info, "\(lead); no Service selects its pods, which get addresses as mesh clients (sluice services lists them)",
                                            location: location))
                } else {
                    let names = selecting.map { "\(ns)/\($0.metadata.name)" }.joined(separator: ", ")
                    diags.append(Diagnostic(.info, "\(lead); Service \(names) uses its own EndpointSlices", location: location))
                }
                // Its pods still get addresses: they are mesh clients (source address → identity).
            }
            for f in foreign where !echo.isEmpty {
                diags.append(Diagnostic(.warning, "Deployment \(ns)/\(name) container \(template.spec.containers[f.index].name) runs image \(f.image), which Sluice cannot run locally; only its echo containers run",
                                        location: location, field: "spec.template.spec.containers[\(f.index)].image"))
            }
            let hash = templateHash(template)
            var labels = template.labels
            labels["pod-template-hash"] = hash
            let ports = template.spec.containers.flatMap { c in
                (c.ports ?? []).map { LocalPod.Port(name: $0.name, number: $0.containerPort, protocol: $0.protocol) }
            }
            for i in 0..<max(0, d.spec.replicas) {
                let rk = ReplicaKey(namespace: ns, deployment: name, index: i)
                plans[rk] = PodPlan(key: rk, template: template, templateHash: hash,
                                    name: podName(namespace: ns, deployment: name, templateHash: hash, replica: i),
                                    labels: labels, ports: ports, echoContainers: echo)
            }
        }
        return (plans, diags)
    }

    private func performReconcile(_ snapshot: ResourceSnapshot) async -> [Diagnostic] {
        let (plans, planDiagnostics) = Self.plan(snapshot)
        // Decide under the lock; stop and start outside it.
        let (toStop, toStart) = lock.withLock { () -> ([RunningPod], [PodPlan]) in
            var stop: [RunningPod] = []
            var start: [PodPlan] = []
            for (key, pod) in running {
                guard let plan = plans[key], plan.template == pod.template, !pod.retry else {
                    stop.append(pod)
                    running[key] = nil
                    continue
                }
            }
            for key in addresses.keys where plans[key] == nil { addresses[key] = nil }
            for (key, plan) in plans where running[key] == nil { start.append(plan) }
            return (stop, start)
        }
        await Self.stop(toStop)
        let started = await withTaskGroup(of: RunningPod.self, returning: [RunningPod].self) { group in
            for plan in toStart {
                group.addTask { await self.launch(plan) }
            }
            var out: [RunningPod] = []
            for await pod in group { out.append(pod) }
            return out
        }
        lock.withLock {
            for pod in started {
                running[ReplicaKey(namespace: pod.pod.namespace, deployment: pod.pod.deployment, index: pod.pod.replica)] = pod
            }
        }
        return planDiagnostics + stateDiagnostics(snapshot)
    }

    /// Warnings for pods that are not running and info about echo listeners not served, one per Deployment.
    private func stateDiagnostics(_ snapshot: ResourceSnapshot) -> [Diagnostic] {
        let byDeployment = Dictionary(grouping: lock.withLock { Array(running.values) }) {
            ObjectKey(group: Deployment.group, kind: Deployment.kind, namespace: $0.pod.namespace, name: $0.pod.deployment)
        }
        var diags: [Diagnostic] = []
        for key in byDeployment.keys.sorted() {
            let pods = byDeployment[key]!.sorted { $0.pod.replica < $1.pod.replica }
            let location = snapshot.locations[key]
            let failed = pods.filter { !$0.pod.ready && !$0.pod.identityOnly }
            if let first = failed.first {
                let count = failed.count == 1 ? "pod \(first.pod.name) is" : "\(failed.count) of \(pods.count) pods are"
                diags.append(Diagnostic(.warning, "Deployment \(key.namespace)/\(key.name): \(count) not running locally: \(first.pod.problem ?? "unknown error")",
                                        location: location))
            }
            if let withGaps = pods.first(where: { !$0.notServed.isEmpty && $0.pod.ready }) {
                diags.append(Diagnostic(.info, "Deployment \(key.namespace)/\(key.name): the local echo does not serve \(withGaps.notServed.joined(separator: ", ")) (not implemented)",
                                        location: location))
            }
        }
        return diags
    }

    private static func stop(_ pods: [RunningPod]) async {
        await withTaskGroup(of: Void.self) { group in
            for pod in pods {
                for server in pod.servers { group.addTask { await server.stop() } }
            }
        }
    }

    /// Starts one replica's echo servers, moving to another address when its own is busy.
    private func launch(_ plan: PodPlan) async -> RunningPod {
        let podLog = PodLog()
        let sink = log
        let podName = plan.name
        let lineLog: @Sendable (String) -> Void = { line in
            podLog.append(line)
            sink(podName, line)
        }
        var attempt = 0
        while true {
            attempt += 1
            let address = allocateAddress(for: plan.key)
            var servers: [EchoServer] = []
            var notServed: [String] = []
            var failure: (any Error)?
            for ec in plan.echoContainers {
                let c = ec.container
                var env: [String: String] = [:]
                for e in c.env ?? [] { if let v = e.value { env[e.name] = v } }
                let config = EchoConfig.fromContainer(
                    flavor: ec.flavor, host: address, podName: plan.name, namespace: plan.key.namespace,
                    env: env, args: c.args ?? [], containerPorts: (c.ports ?? []).map(\.containerPort), log: lineLog)
                notServed += config.notServed.map(\.description)
                do {
                    servers.append(try await EchoServer.start(config, group: group))
                } catch {
                    failure = error
                    break
                }
            }
            var pod = LocalPod(namespace: plan.key.namespace, name: plan.name, deployment: plan.key.deployment,
                               replica: plan.key.index, labels: plan.labels, address: address,
                               templateHash: plan.templateHash, ports: plan.ports,
                               listeningPorts: servers.flatMap(\.boundPorts), ready: failure == nil, problem: nil)
            if plan.echoContainers.isEmpty {
                pod.identityOnly = true
                pod.ready = false
                pod.problem = "its image cannot run locally: the pod has an address (a mesh client identity) and serves nothing"
            }
            guard let failure else {
                return RunningPod(pod: pod, template: plan.template, servers: servers, log: podLog, notServed: notServed, retry: false)
            }
            for s in servers { await s.stop() }
            let busy = (failure as? IOError).map { $0.errnoCode == EADDRINUSE || $0.errnoCode == EADDRNOTAVAIL } ?? false
            if busy && attempt < 8 {
                lock.withLock {
                    busyAddresses.insert(address)
                    addresses[plan.key] = nil
                }
                continue
            }
            pod.listeningPorts = []
            pod.problem = "\(failure)"
            lineLog("sluice: pod \(plan.name) failed to start: \(failure)")
            return RunningPod(pod: pod, template: plan.template, servers: [], log: podLog, notServed: notServed,
                              retry: !(failure is EchoServerError))
        }
    }
}
