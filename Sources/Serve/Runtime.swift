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
import Telemetry
import Translator

/// Settings of `sluice serve`.
public struct ServeOptions: Sendable {
    public var paths: [String]
    public var adminHost = "127.0.0.1"
    public var adminPort = 15000
    public var accessLog = true
    public var eventLoops = System.coreCount
    public var gracePeriod: TimeAmount = .seconds(10)
    public var proxy = ProxyConfig()
    public var translator = TranslatorConfig()
    /// Bounds on the configuration files (`--max-file-bytes`, `--max-total-bytes`, `--max-objects`).
    public var limits = LoadLimits.standard

    public init(paths: [String]) { self.paths = paths }
}

/// The embedded default (../shared/DESIGN.md §3) in one process: the file provider watches the
/// manifests, each change is translated, compiled into a new `RoutingTable` and swapped in
/// atomically; listeners are bound/unbound to match; the admin listener shows status, config and
/// metrics.
public final class ServeRuntime: AdminDataSource, @unchecked Sendable {
    public let options: ServeOptions
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    public let metrics: Metrics
    public let services: ProxyServices
    let server: ProxyServer
    let provider: any ResourceProvider
    /// Receives each applied report (the Kubernetes status writer); nil in file mode.
    let statusSink: (any StatusSink)?
    /// Echo Deployments run in-process; their Services' EndpointSlices are synthesised (DESIGN.md §3).
    public let workloads: LocalWorkloads
    private let lock = NIOLock()
    private var report: CheckReport?
    private var providerDiagnostics: [Diagnostic] = []
    private var version = 0
    private var admin: AdminServer?
    private var watchTask: Task<Void, Never>?
    private var firstOutcomes: [BindOutcome] = []
    private var appliedWaiters: [(until: @Sendable (ProviderSnapshot) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []
    private var lastApplied: ProviderSnapshot?

    /// - Parameters:
    ///   - provider: where snapshots come from; the file provider over `options.paths` when nil.
    ///   - statusSink: gets every applied report (Kubernetes mode writes status back with it).
    public init(options: ServeOptions, logger: Logger, provider: (any ResourceProvider)? = nil, statusSink: (any StatusSink)? = nil) {
        self.options = options
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, options.eventLoops))
        metrics = Metrics(accessLog: options.accessLog ? AccessLog() : nil)
        services = ProxyServices(config: options.proxy, observer: metrics)
        server = ProxyServer(group: group, services: services, logger: logger)
        self.provider = provider ?? FileProvider(paths: options.paths, limits: options.limits)
        self.statusSink = statusSink
        workloads = LocalWorkloads(group: group, log: { [logger] pod, line in
            logger.debug("\(line)", metadata: ["pod": "\(pod)"])
        })
        let s = services
        metrics.setUpstreamConnectionGauge { s.upstreamConnectionCount }
    }

    /// Starts the admin listener, then applies the provider's snapshots as they come (the one apply
    /// path of DESIGN.md §7, whatever the source). Returns the outcomes of the first bind, once the
    /// first snapshot is applied; with `waitForFirstSnapshot: false` it returns at once (Kubernetes
    /// mode: the API server may be unreachable, `/readyz` says not ready meanwhile).
    @discardableResult
    public func start(waitForFirstSnapshot: Bool = true) async throws -> [BindOutcome] {
        admin = try await AdminServer.start(host: options.adminHost, port: options.adminPort, group: group, source: self)
        logger.info("admin listening", metadata: ["address": "\(options.adminHost):\(admin?.port ?? options.adminPort)"])
        let snapshots = provider.snapshots()
        watchTask = Task { [self] in
            for await snap in snapshots {
                if snap.version == lock.withLock({ version }) && snap.diagnostics == lock.withLock({ providerDiagnostics }) { continue }
                await apply(snap)
                // The previous world (documents, objects, translation, table) is gone by now.
                HeapMemory.releaseFreed()
            }
        }
        guard waitForFirstSnapshot else { return [] }
        await waitUntilApplied(version: 1)
        return lock.withLock { firstOutcomes }
    }

    /// The version of the last snapshot applied (0 before the first).
    public var appliedVersion: Int { lock.withLock { version } }

    /// Returns once a snapshot of at least `version` is applied ("config version N applied"): tests
    /// await this instead of polling.
    public func waitUntilApplied(version wanted: Int) async {
        await waitUntilApplied { $0.version >= wanted }
    }

    /// Returns once a snapshot for which `until` is true has been applied.
    public func waitUntilApplied(_ until: @escaping @Sendable (ProviderSnapshot) -> Bool) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            if let last = lastApplied, until(last) {
                lock.unlock()
                c.resume()
            } else {
                appliedWaiters.append((until, c))
                lock.unlock()
            }
        }
    }

    public var adminPort: Int? { admin?.port }

    /// Translates a provider snapshot and publishes it.
    @discardableResult
    func apply(_ snap: ProviderSnapshot) async -> [BindOutcome] {
        // Local workloads first: echo Deployments start/stop to match, so that the EndpointSlices
        // synthesised for Services without slices of their own list listening pods.
        let resources = snap.resources().0
        let workloadDiagnostics = await workloads.reconcile(resources)
        var report = CheckReport.run(objects: snap.objects, diagnostics: snap.diagnostics, config: options.translator,
                                     augment: { [workloads] snapshot in
                                         workloads.addEndpointSlices(to: &snapshot)
                                         return workloadDiagnostics
                                     })
        let identities = workloads.identities(resources)
        let table = RoutingTable(ir: report.result.ir, version: snap.version, identities: identities,
                                 credentials: report.result.credentials)
        report.diagnostics += MeshReport.clientDiagnostics(report.result.ir, identities: identities, locations: resources.locations)
        server.prepare(table)
        services.swap(table)
        let outcomes = await server.reconcile(with: table)
        let errors = report.diagnostics.filter { $0.severity == .error }.count
        let woken = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            if self.report == nil { firstOutcomes = outcomes }
            self.report = report
            self.providerDiagnostics = snap.diagnostics
            self.version = snap.version
            lastApplied = snap
            let ready = appliedWaiters.filter { $0.until(snap) }.map(\.continuation)
            appliedWaiters.removeAll { $0.until(snap) }
            return ready
        }
        statusSink?.publish(report, version: snap.version)
        metrics.setConfigVersion(snap.version)
        metrics.retain(routes: report.result.ir.routeRefs)
        metrics.reloaded(errors: errors)
        for d in report.diagnostics where d.severity != .info {
            logger.log(level: d.severity == .error ? .error : .warning, "\(d)")
        }
        logger.info("configuration applied", metadata: [
            "version": "\(snap.version)", "gateways": "\(report.result.ir.gateways.count)",
            "listeners": "\(table.gatewayPorts.count)", "errors": "\(errors)",
        ])
        for c in woken { c.resume() }
        return outcomes
    }

    /// Stops accepting, lets in-flight requests finish up to the grace period, then stops.
    public func shutdown() async {
        watchTask?.cancel()
        await server.shutdown(gracePeriod: options.gracePeriod)
        await admin?.stop()
        await workloads.stopAll()
        try? await group.shutdownGracefully()
    }

    // MARK: AdminDataSource

    public func isReady() -> Bool { lock.withLock { report != nil } }

    public func statusDocument(json: Bool) -> String {
        guard let (r, v) = lock.withLock({ report.map { ($0, version) } }) else { return json ? "[]\n" : "items: []\n" }
        return json ? r.renderJSON() : "# config version \(v) applied\n" + r.renderYAML()
    }

    public func configDump() -> String {
        guard let r = lock.withLock({ report }) else { return "{}\n" }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        let ir = (try? enc.encode(r.result.ir)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return "{\"version\": \(lock.withLock { version }), \"ir\": \(ir)}\n"
    }

    public func diagnosticsText() -> String { lock.withLock { report?.renderDiagnostics() ?? "" } }

    public func metricsText() -> String { metrics.render() }

    public func servicesText() -> String {
        guard let r = lock.withLock({ report }) else { return "no configuration yet\n" }
        return MeshReport.servicesTable(r.result.ir, pods: MeshReport.pods(of: workloads))
    }
}
