import ControlPlane
import Foundation
import GatewayAPI
import IR
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Proxy
import Routing
import Serve
import Translator

/// The verdict on one corpus test.
public struct ConformanceTestResult: Sendable {
    public enum Outcome: Sendable, Equatable {
        case passed
        case failed([String])
        case skipped(String)
    }
    public var name: String
    public var features: [String]
    public var profile: String
    public var outcome: Outcome
    public var seconds: Double
}

/// Settings of a conformance run.
public struct ConformanceOptions: Sendable {
    public var corpus: URL
    /// Only these tests (empty: all).
    public var names: [String] = []
    /// Only tests of this profile (`gateway`/`mesh`, or a profile name from profiles.json).
    public var profile: String?
    /// Features the run treats as supported; tests needing others are skipped, as upstream does.
    public var supportedFeatures: Set<String>
    /// A test still running after this long fails (`--test-timeout`).
    public var testTimeout: Duration = .seconds(120)
    public init(corpus: URL, supportedFeatures: Set<String>) {
        self.corpus = corpus
        self.supportedFeatures = supportedFeatures
    }
}

/// Runs corpus tests on one machine: an in-process data plane (`ProxyServer`), local echo workloads
/// for the Deployments, and the translator, replaying each test's manifests, status expectations,
/// cases, weight checks, mirror checks and steps (../shared/conformance/FORMAT.md).
public final class ConformanceRunner: @unchecked Sendable {
    let options: ConformanceOptions
    let group: MultiThreadedEventLoopGroup
    let clientGroup: MultiThreadedEventLoopGroup
    let services: ProxyServices
    let server: ProxyServer
    let workloads: LocalWorkloads
    var version = 0
    let logger: Logger

    /// Protocols the runner can send today.
    static let sendableProtocols: Set<String> = ["HTTP", "HTTPS", "WS"]

    /// The programmatic Secrets and ConfigMaps (base/programmatic-objects.json) with certificates
    /// generated fresh for this run, as YAML, and their PEM material by `namespace/name` and key.
    let programmaticYAML: String
    let certificates: [String: [String: String]]
    /// Why the programmatic objects could not be made (every test then fails with it).
    let programmaticError: String?

    public init(options: ConformanceOptions, logger: Logger) {
        self.options = options
        self.logger = logger
        do {
            let objects = try ConformanceCorpus.programmaticObjectList(corpus: options.corpus)
            certificates = try ProgrammaticCertificates.generate(objects)
            programmaticYAML = ConformanceCorpus.programmaticObjects(objects, material: certificates)
            programmaticError = nil
        } catch {
            certificates = [:]
            programmaticYAML = ""
            programmaticError = "base/programmatic-objects.json: \(error)"
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        services = ProxyServices()
        server = ProxyServer(group: group, services: services, logger: logger)
        workloads = LocalWorkloads(group: group)
    }

    /// Work of tests that passed their deadline may still be running: `shutdown` cancels it and waits
    /// for it before the event loops go (a request started on a shut-down loop group is a crash).
    private let inFlight = NIOLockedValueBox<[Task<Void, Never>]>([])

    private func track(_ work: Task<Void, Never>) {
        inFlight.withLockedValue { $0.append(work) }
    }

    public func shutdown() async {
        await server.shutdown(gracePeriod: .zero)
        await workloads.stopAll()
        // Listeners and pods are gone, so what is still in flight fails fast; cancelled, it stops retrying.
        let pending = inFlight.withLockedValue { list in
            defer { list = [] }
            return list
        }
        for work in pending {
            work.cancel()
            await work.value
        }
        try? await group.shutdownGracefully()
        try? await clientGroup.shutdownGracefully()
    }

    /// The tests selected by the options, in name order.
    public func selectedTests() throws -> [ConformanceTest] {
        try ConformanceCorpus.tests(corpus: options.corpus).filter { t in
            (options.names.isEmpty || options.names.contains(t.name))
                && (options.profile.map { Self.profileMatches(t, $0) } ?? true)
        }
    }

    static func profileMatches(_ t: ConformanceTest, _ p: String) -> Bool {
        let lower = p.lowercased()
        if lower == t.profile { return true }
        return lower.hasPrefix(t.profile) || (t.profile == "mesh" && lower.hasPrefix("mesh")) || (t.profile == "gateway" && lower.hasPrefix("gateway"))
    }

    /// Why a test cannot run here, if it cannot.
    func skipReason(_ t: ConformanceTest) -> String? {
        if let missing = t.features.first(where: { !options.supportedFeatures.contains($0) }) {
            return "feature \(missing) is not in the supported set"
        }
        if let why = ConformanceStatusRunner.notApplicableBecause(t) { return why }
        var protocols: Set<String> = []
        for c in Self.allCases(t) { protocols.insert(c["request"]?["protocol"]?.string ?? "HTTP") }
        if let p = protocols.subtracting(Self.sendableProtocols).sorted().first {
            return "the runner cannot send \(p) requests yet"
        }
        return nil
    }

    static func allCases(_ t: ConformanceTest) -> [Value] {
        var cases = t.spec["cases"]?.array ?? []
        if let w = t.spec["weights"]?["request"] { cases.append(Value(.object(Object([("request", w)])))) }
        for s in t.spec["steps"]?.array ?? [] { cases += s["cases"]?.array ?? [] }
        return cases
    }

    // MARK: - One test

    public func run(_ t: ConformanceTest) async -> ConformanceTestResult {
        let clock = ContinuousClock()
        let start = clock.now
        func result(_ o: ConformanceTestResult.Outcome) -> ConformanceTestResult {
            let d = clock.now - start
            return ConformanceTestResult(name: t.name, features: t.features, profile: t.profile, outcome: o,
                                         seconds: Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        }
        if let loadError = t.loadError { return result(.failed([loadError])) }
        if let why = skipReason(t) { return result(.skipped(why)) }
        // A per-test deadline: a test that hangs fails and the run goes on (the next test's publish
        // unbinds whatever it left; `shutdown()` stops the rest). The work is cancelled; whatever
        // it still awaits ends with its own request timeout.
        let deadline = options.testTimeout
        let failures: [String] = await withCheckedContinuation { (cont: CheckedContinuation<[String], Never>) in
            let resumed = NIOLockedValueBox(false)
            let resumeOnce: @Sendable ([String]) -> Void = { value in
                let first = resumed.withLockedValue { done in
                    defer { done = true }
                    return !done
                }
                if first { cont.resume(returning: value) }
            }
            let work = Task {
                do {
                    resumeOnce(try await self.execute(t))
                } catch {
                    resumeOnce(["\(error)"])
                }
            }
            track(work)
            Task {
                try? await Task.sleep(for: deadline)
                if !work.isCancelled {
                    work.cancel()
                    resumeOnce(["did not finish within the per-test deadline of \(deadline) (--test-timeout)"])
                }
            }
        }
        return result(failures.isEmpty ? .passed : .failed(failures))
    }

    /// What is still running after `shutdown()`: bound addresses and local pods (both must be empty).
    public func leftovers() -> [String] {
        server.bound.map { "listening on \($0)" } + workloads.pods.map { "pod \($0.namespace)/\($0.name) still running" }
    }

    func execute(_ t: ConformanceTest) async throws -> [String] {
        if let programmaticError { return [programmaticError] }
        var store = ObjectStore()
        store.apply(ConformanceCorpus.gatewayClassYAML(), file: "gatewayclass.yaml")
        store.apply(programmaticYAML, file: "programmatic-objects.yaml")
        store.apply(ConformanceCorpus.substitute(try ConformanceCorpus.baseManifests(corpus: options.corpus, profile: t.profile)),
                    file: "base/\(t.profile).yaml")
        store.apply(ConformanceCorpus.substitute(t.manifests), file: "\(t.name)/manifests.yaml")
        var report = await publish(store)
        // Manifests that do not even parse: the test cannot mean what it says.
        let broken = store.diagnostics.filter {
            $0.severity == .error && $0.location?.file == "\(t.name)/manifests.yaml" && $0.message.hasPrefix("YAML")
        }
        if !broken.isEmpty { return broken.map { "manifests.yaml is malformed: \($0)" } }
        var failures: [String] = []
        var previous: [String: Int] = [:]

        func status(_ list: [Value]) {
            let a = StatusAssertions(report: report, store: store, previousGenerations: previous)
            for e in list {
                switch a.evaluate(e) {
                case .pass: break
                case .fail(let m): failures.append("status: \(m)")
                case .runtime(let m): failures.append("status (not evaluable here): \(m)")
                }
            }
        }

        status(t.spec["status"]?.array ?? [])
        for c in t.spec["cases"]?.array ?? [] {
            if let m = await runCase(c, test: t, report: report) { failures.append(m) }
        }
        if let w = t.spec["weights"], w.object != nil {
            if let m = await runWeights(w, test: t, report: report) { failures.append(m) }
        }
        for step in t.spec["steps"]?.array ?? [] {
            try Task.checkCancellation()  // past the deadline: do not touch the data plane any more
            if let yaml = step["apply"]?.string {
                let text = store.substituteConfigMapData(ConformanceCorpus.substitute(yaml))
                previous = [:]
                for o in Loader.load(texts: [(file: "step.yaml", text: text)]).objects {
                    previous["\(o.key.kind)/\(o.key.namespace)/\(o.key.name)"] = store.generation(kind: o.key.kind, namespace: o.key.namespace, name: o.key.name)
                }
                store.apply(text, file: "\(t.name)/step.yaml")
                report = await publish(store)
            } else if let d = step["delete"] {
                store.delete(kind: d["kind"]?.string ?? "", namespace: d["namespace"]?.string ?? "", name: d["name"]?.string ?? "")
                report = await publish(store)
            } else if let list = step["status"]?.array {
                status(list)
            } else if let cases = step["cases"]?.array {
                for c in cases {
                    if let m = await runCase(c, test: t, report: report) { failures.append(m) }
                }
            }
        }
        return failures
    }

    /// Translates the store (with the local workloads' EndpointSlices), swaps the routing table in
    /// and binds the listeners — the runner's equivalent of waiting for the data plane to report
    /// the new config version: it is serving it when this returns.
    func publish(_ store: ObjectStore) async -> CheckReport {
        let loaded = Loader.load(texts: store.texts)
        let (snapshot, _) = ResourceSnapshot.build(from: loaded.objects)
        let workloadDiagnostics = await workloads.reconcile(snapshot)
        let w = workloads
        let report = CheckReport.run(objects: loaded.objects, diagnostics: loaded.diagnostics + workloadDiagnostics) { s in
            let own = Set(s.endpointSlices.compactMap { e in e.serviceName.map { "\(e.metadata.namespace ?? "default")/\($0)" } })
            s.endpointSlices += w.endpointSlices(for: s.services.filter { !own.contains("\($0.metadata.namespace ?? "default")/\($0.metadata.name)") })
            return []
        }
        version += 1
        let table = RoutingTable(ir: report.result.ir, version: version, identities: workloads.identities(snapshot),
                                 credentials: report.result.credentials)
        server.prepare(table)
        services.swap(table)
        _ = await server.reconcile(with: table)
        return report
    }

    // MARK: - Requests

    struct Target {
        var address: String
        var port: Int
        /// Set for HTTPS cases.
        var tls: ClientTLS?
        /// Mesh cases: the client pod's address, the connection's source (how the mesh knows the client).
        var source: String? = nil
        /// Mesh cases: the Host header a client would send for the URL (`name[:port]`).
        var authority: String? = nil
    }

    /// Where a mesh case's request goes, as the echo client in the case's client pod would send it:
    /// from that pod's address, to the URL's host resolved as cluster DNS would (`name` in the
    /// client's namespace, `name.ns`, `name.ns.svc[.cluster.local]` → the Service's cluster IP) or
    /// to a pod IP (`request.hostFromPodIP`), on the URL's port (default 80).
    func meshTarget(for c: Value, test t: ConformanceTest, report: CheckReport) -> (Target?, String) {
        let client = c["client"]?.object != nil ? c["client"]! : t.spec["client"]
        let clientNS = client?["namespace"]?.string ?? "gateway-conformance-mesh"
        let selector = Self.labels(client?["selector"]?.string ?? "app=echo,version=v1")
        guard let pod = workloads.pods(matching: selector, namespace: clientNS).first(where: \.ready) else {
            return (nil, "no ready client pod \(clientNS)/{\(client?["selector"]?.string ?? "")}")
        }
        let req = c["request"]
        let url = URLComponents(string: req?["url"]?.string ?? "http://\(req?["host"]?.string ?? "echo")/")
        let name = url?.host ?? (req?["host"]?.string ?? "echo")
        let port = req?["port"]?.int ?? url?.port ?? 80
        let authority = url?.port.map { "\(name):\($0)" } ?? name
        if let p = req?["hostFromPodIP"], let ns = p["namespace"]?.string {
            guard let target = workloads.pods(matching: Self.labels(p["selector"]?.string ?? ""), namespace: ns).first else {
                return (nil, "no pod \(ns)/{\(p["selector"]?.string ?? "")} for hostFromPodIP")
            }
            return (Target(address: target.address, port: port, source: pod.address, authority: target.address), "")
        }
        var labels = name.split(separator: ".").map(String.init)
        if labels.count >= 3 && labels[2] == "svc" { labels = Array(labels.prefix(2)) }
        guard labels.count <= 2, let service = labels.first else { return (nil, "cannot resolve \(name) as a Service name") }
        let ns = labels.count == 2 ? labels[1] : clientNS
        guard let svc = report.result.ir.meshServices.first(where: {
            $0.service.namespace == ns && $0.service.name == service && $0.port == port
        }), let vip = svc.clusterIP else {
            return (nil, "\(name):\(port) does not resolve to a Service port with a cluster IP")
        }
        return (Target(address: vip, port: port, source: pod.address, authority: authority), "")
    }

    /// `a=b,c=d` → ["a": "b", "c": "d"].
    static func labels(_ selector: String) -> [String: String] {
        var out: [String: String] = [:]
        for part in selector.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2 { out[kv[0]] = kv[1] }
        }
        return out
    }

    /// Where a case's request goes: the Gateway's address and the port of the named (or first) listener.
    func target(for c: Value, test t: ConformanceTest, report: CheckReport) -> Target? {
        if t.profile == "mesh" { return meshTarget(for: c, test: t, report: report).0 }
        let gw = c["gateway"]?.object != nil ? c["gateway"]! : t.spec["gateway"]
        guard let gw, let ns = gw["namespace"]?.string, let name = gw["name"]?.string,
              let irGateway = report.result.ir.gateways.first(where: { $0.gateway.namespace == ns && $0.gateway.name == name }),
              let address = irGateway.addresses.first,
              let spec = report.objects.first(where: { $0.key.kind == "Gateway" && $0.key.namespace == ns && $0.key.name == name })
        else { return nil }
        let listeners = spec.value["spec"]?["listeners"]?.array ?? []
        let listenerName = gw["listener"]?.string
        let listener = listeners.first { $0["name"]?.string == listenerName } ?? listeners.first
        let port = c["request"]?["port"]?.int ?? listener?["port"]?.int ?? 80
        var tls: ClientTLS?
        if c["request"]?["protocol"]?.string == "HTTPS" {
            let trust = c["tls"]?["trustedCertificateFromSecret"]
            let id = "\(trust?["namespace"]?.string ?? "")/\(trust?["name"]?.string ?? "")"
            // A named Secret the run did not generate must not turn verification off.
            tls = ClientTLS(sni: c["request"]?["sni"]?.string,
                            trustedPEM: trust == nil ? nil : (certificates[id]?["tls.crt"] ?? "missing Secret \(id)"))
            if let client = c["tls"]?["clientCertificateFromSecret"] {
                let cid = "\(client["namespace"]?.string ?? "")/\(client["name"]?.string ?? "")"
                tls?.clientCertificatePEM = certificates[cid]?["tls.crt"]
                tls?.clientKeyPEM = certificates[cid]?["tls.key"]
            }
        }
        return Target(address: address, port: port, tls: tls)
    }

    func sentRequest(_ c: Value, target: Target) -> SentRequest {
        let req = c["request"]
        var path = req?["path"]?.string ?? "/"
        if let u = c["uniqueQueryParam"], let name = u["name"]?.string {
            path += (path.contains("?") ? "&" : "?") + "\(name)=\(UUID().uuidString.prefix(8).lowercased())"
        }
        var hostField = target.authority ?? req?["host"]?.string ?? ""
        var headers: [(String, String)] = (req?["headers"]?.object ?? Object()).map { ($0.0, $0.1.string ?? "") }
        // A `Host` among the headers overrides the URL's (`-H Host:...`, e.g. MeshFrontendHostname).
        if let i = headers.firstIndex(where: { $0.0.lowercased() == "host" }) {
            hostField = headers[i].1
            headers.remove(at: i)
        }
        let set = (c["backendSetResponseHeaders"]?.object ?? Object()).map { "\($0.0):\($0.1.string ?? "")" }
        if !set.isEmpty { headers.append(("X-Echo-Set-Header", set.joined(separator: ","))) }
        return SentRequest(method: req?["method"]?.string ?? "GET", target: path,
                           host: hostField.isEmpty ? target.address : hostField, headers: headers)
    }

    /// Sends a case's request (retrying a few times: the suite's checks are "eventually" ones) and
    /// checks the response, then the mirror logs. Nil = passed.
    func runCase(_ c: Value, test t: ConformanceTest, report: CheckReport) async -> String? {
        let label = c["name"]?.string ?? (c["request"]?["path"]?.string ?? "")
        guard let target = target(for: c, test: t, report: report) else {
            return "case \(label): " + (t.profile == "mesh" ? meshTarget(for: c, test: t, report: report).1 : "the Gateway has no address")
        }
        if c["request"]?["protocol"]?.string == "WS", let ws = c["websocket"] {
            return await runWebSocket(ws, target: target, label: label)
        }
        if let times = c["repeat"]?.int, let header = c["backendFromRequestHeader"]?.string {
            return await runRepeated(c, times: times, header: header, target: target, label: label)
        }
        if let m = (c["mirroredTo"]?.array ?? []).first(where: { ($0["percent"]?.int).map { $0 < 100 } ?? false }) {
            return await runMirrorDistribution(c, mirror: m, target: target, label: label)
        }
        var last = ""
        for attempt in 0..<4 {
            if Task.isCancelled { return "cancelled (per-test deadline)" }
            if attempt > 0 { try? await Task.sleep(nanoseconds: 150_000_000) }
            var sent = sentRequest(c, target: target)
            let expectNon200 = c["expectNon200"]?.bool == true
            // The TLS handshake (or the connection) must fail: any HTTP response is a failure.
            if c["expectConnectionFailure"]?.bool == true {
                if let r = try? await ConformanceHTTPClient.send(group: clientGroup, address: target.address, port: target.port,
                                                                 method: sent.method, target: sent.target, host: sent.host,
                                                                 headers: sent.headers, tls: target.tls, source: target.source) {
                    last = "got HTTP \(r.status), want the connection to fail"
                    continue
                }
                return nil
            }
            do {
                let r = try await ConformanceHTTPClient.send(group: clientGroup, address: target.address, port: target.port,
                                                             method: sent.method, target: sent.target, host: sent.host, headers: sent.headers,
                                                             tls: target.tls, source: target.source)
                if expectNon200 {
                    if r.status == 200 { return "case \(label): got 200, want a failure" }
                    return nil
                }
                let effective = adjustedForUniqueParam(c, sent: &sent)
                if let m = CaseChecks.check(effective, sent: sent, response: r) {
                    last = m
                    continue
                }
                if let m = await checkMirrors(c, sent: sent) {
                    last = m
                    continue
                }
                return nil
            } catch {
                if expectNon200 { return nil }
                last = "\(error)"
            }
        }
        return "case \(label) (\(sent(c, target))): \(last)"
    }

    /// Hand-translated case (HTTPRouteRequestHeaderModifierBackendWeights): the request `times` times
    /// in a row, no retries; each must reach a backend whose pod name starts with the value of the
    /// single `header` the backend received (each backendRef's filter names its own backend).
    func runRepeated(_ c: Value, times: Int, header: String, target: Target, label: String) async -> String? {
        for i in 0..<times {
            if Task.isCancelled { return "cancelled (per-test deadline)" }
            let sent = sentRequest(c, target: target)
            guard let r = try? await ConformanceHTTPClient.send(group: clientGroup, address: target.address, port: target.port,
                                                                method: sent.method, target: sent.target, host: sent.host, headers: sent.headers,
                                                             tls: target.tls, source: target.source)
            else { return "case \(label): request \(i + 1) of \(times) failed" }
            guard let echo = r.echo, let headers = echo["headers"] as? [String: Any] else {
                return "case \(label): request \(i + 1): status \(r.status), not an echo"
            }
            let values = headers.first { $0.key.lowercased() == header.lowercased() }.flatMap { $0.value as? [String] } ?? []
            guard values.count == 1 else { return "case \(label): request \(i + 1): the backend saw \(values.count) \(header) headers, want exactly 1" }
            let pod = echo["pod"] as? String ?? ""
            if !pod.hasPrefix(values[0]) { return "case \(label): request \(i + 1): answered by \(pod) but \(header) is \(values[0])" }
        }
        return nil
    }

    /// Hand-translated (HTTPRouteRequestPercentageMirror): the case passes once without a mirror
    /// check; then 500 copies carrying a fresh request id are sent (10 in flight) and the mirror's
    /// log lines for that id must number within 500·p ± 3·√(500·p·(1−p)); up to 5 attempts.
    func runMirrorDistribution(_ c: Value, mirror: Value, target: Target, label: String) async -> String? {
        guard var plain = c.object else { return nil }
        plain["mirroredTo"] = nil
        plain["uniqueQueryParam"] = nil
        let plainCase = Value(.object(plain))
        let probe = sentRequest(plainCase, target: target)
        guard let first = try? await ConformanceHTTPClient.send(group: clientGroup, address: target.address, port: target.port,
                                                                method: probe.method, target: probe.target, host: probe.host,
                                                                headers: probe.headers, tls: target.tls, source: target.source),
              CaseChecks.check(plainCase, sent: probe, response: first) == nil
        else { return "case \(label): the plain request failed" }
        let p = Double(mirror["percent"]?.int ?? 100) / 100
        let samples = 500
        let slack = 3 * (Double(samples) * p * (1 - p)).squareRoot()
        let name = mirror["name"]?.string ?? "", ns = mirror["namespace"]?.string ?? ""
        var last = ""
        for _ in 0..<5 {
            if Task.isCancelled { return "cancelled (per-test deadline)" }
            let id = UUID().uuidString.lowercased()
            var base = probe
            base.target += (base.target.contains("?") ? "&" : "?") + "gateway-api-conformance-request-id=\(id)"
            let one = base
            let group = clientGroup
            var failures = 0
            await withTaskGroup(of: Bool.self) { tasks in
                var sentCount = 0, inFlight = 0
                while sentCount < samples || inFlight > 0 {
                    while inFlight < 10 && sentCount < samples {
                        tasks.addTask {
                            (try? await ConformanceHTTPClient.send(group: group, address: target.address, port: target.port,
                                                                   method: one.method, target: one.target, host: one.host,
                                                                   headers: one.headers, tls: target.tls, source: target.source))?.status == 200
                        }
                        sentCount += 1
                        inFlight += 1
                    }
                    if let ok = await tasks.next() {
                        inFlight -= 1
                        if !ok { failures += 1 }
                    }
                }
            }
            if failures > 0 { last = "\(failures) of \(samples) requests failed"; continue }
            let line = "Echoing back request made to \(one.target) to client"
            // Mirrors are fire-and-forget: give the stragglers a moment to arrive.
            var count = 0
            for _ in 0..<20 {
                count = workloads.logs(ofPodsWithLabels: ["app": name], namespace: ns).values.reduce(0) { $0 + $1.filter { $0.contains(line) }.count }
                if abs(Double(count) - Double(samples) * p) <= slack { return nil }
                try? await Task.sleep(nanoseconds: 100_000_000)
            }
            last = "mirror \(ns)/\(name) logged \(count) of \(samples) requests, want \(Int(Double(samples) * p)) ± \(Int(slack))"
        }
        return "case \(label): \(last)"
    }

    /// Hand-translated WebSocket case: dial ws://<gateway>/<path> with the given Origin, then each
    /// exchange sends a text or binary frame and expects the identical frame back (the echo is the
    /// assertion). Retried a few times like the suite's AwaitConvergence.
    func runWebSocket(_ ws: Value, target: Target, label: String) async -> String? {
        let url = ws["url"]?.string ?? "ws://{GATEWAY_ADDRESS}/ws"
        let path = url.range(of: "}").map { String(url[$0.upperBound...]) } ?? "/ws"
        let origin = (ws["origin"]?.string ?? "ws://gateway/test").replacingOccurrences(of: "{GO_TEST_NAME}", with: "websocket")
        var last = ""
        let exchanges = ws["exchanges"]?.array ?? []
        for attempt in 0..<4 {
            if Task.isCancelled { return "cancelled (per-test deadline)" }
            if attempt > 0 { try? await Task.sleep(nanoseconds: 150_000_000) }
            guard let failure = Self.webSocketAttempt(target: target, path: path.isEmpty ? "/" : path, origin: origin,
                                                      exchanges: exchanges) else { return nil }
            last = failure
        }
        return "case \(label): websocket: \(last)"
    }

    /// One connection and its exchanges; nil when every echo matched. (Kept out of the async loop:
    /// Swift 6.3.1's release optimiser crashed on the `defer`-in-`do` form inside it.)
    static func webSocketAttempt(target: Target, path: String, origin: String, exchanges: [Value]) -> String? {
        let client: WebSocketClient
        do {
            client = try WebSocketClient(address: target.address, port: target.port, path: path, origin: origin)
        } catch {
            return "\(error)"
        }
        var failure: String?
        for ex in exchanges {
            let binary = ex["frame"]?.string == "binary"
            let payload = binary ? Self.bytes(ex["sendBytes"]) : Array((ex["send"]?.string ?? "").utf8)
            do {
                try client.sendFrame(opcode: binary ? 0x2 : 0x1, payload: payload)
                if ex["expectEcho"]?.bool ?? true {
                    let (opcode, echoed) = try client.readFrame()
                    if opcode != (binary ? 0x2 : 0x1) || !echoed.elementsEqual(payload) {
                        failure = "echo mismatch: opcode \(opcode), \(echoed.count) bytes"
                        break
                    }
                }
            } catch {
                failure = "\(error)"
                break
            }
        }
        client.close()
        return failure
    }

    /// `[1, 2, 255]` → bytes (values outside 0...255 are skipped). A plain loop: the closure form
    /// (`compactMap { $0.int.map(UInt8.init) }`) crashed Swift 6.3.1's release optimiser.
    static func bytes(_ v: Value?) -> [UInt8] {
        var out: [UInt8] = []
        for element in v?.array ?? [] {
            if let i = element.int, let b = UInt8(exactly: i) { out.append(b) }
        }
        return out
    }

    private func sent(_ c: Value, _ t: Target) -> String {
        let r = c["request"]
        return "\(r?["method"]?.string ?? "GET") \(r?["host"]?.string ?? "") \(r?["path"]?.string ?? "/") on \(t.address):\(t.port)"
    }

    /// With a unique query parameter the expected path carries it too.
    func adjustedForUniqueParam(_ c: Value, sent: inout SentRequest) -> Value {
        guard c["uniqueQueryParam"] != nil, var obj = c.object, var er = obj["expectedRequest"]?.object, er["path"]?.string != nil else { return c }
        er["path"] = .string(sent.target)
        obj["expectedRequest"] = .object(er)
        return .object(obj)
    }

    func checkMirrors(_ c: Value, sent: SentRequest) async -> String? {
        let mirrors = c["mirroredTo"]?.array ?? []
        guard !mirrors.isEmpty else { return nil }
        let line = "Echoing back request made to \(sent.target) to client"
        for m in mirrors {
            guard let name = m["name"]?.string, let ns = m["namespace"]?.string else { continue }
            let deadline = ContinuousClock.now + .seconds(3)
            var found = false
            while ContinuousClock.now < deadline {
                if Task.isCancelled { return "cancelled (per-test deadline)" }
                if workloads.logs(ofPodsWithLabels: ["app": name], namespace: ns).values.contains(where: { $0.contains { $0.contains(line) } }) {
                    found = true
                    break
                }
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
            if !found { return "mirror \(ns)/\(name) never logged \"\(line)\"" }
        }
        return nil
    }

    /// The weighted-distribution check: `samples` requests, the share each backend answered (pod
    /// name without its last two `-` segments) within `tolerance` of the expected share.
    /// The weighted-distribution check, retried as a whole up to `maxAttempts` times (upstream's
    /// weight.TestWeightedDistribution: one passing attempt wins).
    func runWeights(_ w: Value, test t: ConformanceTest, report: CheckReport) async -> String? {
        let attempts = max(1, w["maxAttempts"]?.int ?? 1)
        var last: String?
        for i in 0..<attempts {
            if Task.isCancelled { return "cancelled (per-test deadline)" }
            last = await runWeightsOnce(w, test: t, report: report)
            guard let failure = last else { return nil }
            last = attempts > 1 ? "\(failure) (attempt \(i + 1) of \(attempts))" : failure
        }
        return last
    }

    func runWeightsOnce(_ w: Value, test t: ConformanceTest, report: CheckReport) async -> String? {
        let request = Value(.object(Object([("request", w["request"] ?? .null)])))
        guard let target = target(for: request, test: t, report: report) else {
            return "weights: " + (t.profile == "mesh" ? meshTarget(for: request, test: t, report: report).1 : "the Gateway has no address")
        }
        let samples = w["samples"]?.int ?? 500
        let tolerance = w["tolerance"]?.double ?? 0.05
        let expected = w["expected"]?.object ?? Object()
        var counts: [String: Int] = [:]
        var errors = 0
        let group = clientGroup
        await withTaskGroup(of: String?.self) { tasks in
            var sentCount = 0
            var inFlight = 0
            while sentCount < samples || inFlight > 0 {
                while inFlight < 10 && sentCount < samples {
                    let s = sentRequest(request, target: target)
                    tasks.addTask {
                        guard let r = try? await ConformanceHTTPClient.send(group: group, address: target.address, port: target.port,
                                                                            method: s.method, target: s.target, host: s.host, headers: s.headers,
                                                                            tls: target.tls, source: target.source),
                              r.status == 200, let pod = r.echo?["pod"] as? String else { return nil }
                        return pod.split(separator: "-").dropLast(2).joined(separator: "-")
                    }
                    sentCount += 1
                    inFlight += 1
                }
                if let r = await tasks.next() {
                    inFlight -= 1
                    if let backend = r { counts[backend, default: 0] += 1 } else { errors += 1 }
                }
            }
        }
        if errors > 0 { return "weights: \(errors) of \(samples) requests failed" }
        // weight.TestWeightedDistribution: a backend that is not expected fails the attempt.
        if w["unexpectedBackendFailsAttempt"]?.bool == true, let b = counts.keys.sorted().first(where: { expected[$0] == nil }) {
            return "weights: unexpected backend \(b) answered (counts: \(counts))"
        }
        for (backend, share) in expected {
            let want = share.double ?? 0
            let got = Double(counts[backend] ?? 0) / Double(samples)
            if abs(got - want) > tolerance {
                return "weights: \(backend) got \(String(format: "%.3f", got)), want \(want) ± \(tolerance) (counts: \(counts))"
            }
        }
        return nil
    }
}
