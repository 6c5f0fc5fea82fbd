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
    let provider: FileProvider
    /// Echo Deployments run in-process; their Services' EndpointSlices are synthesised (DESIGN.md §3).
    public let workloads: LocalWorkloads
    private let lock = NIOLock()
    private var report: CheckReport?
    private var providerDiagnostics: [Diagnostic] = []
    private var version = 0
    private var admin: AdminServer?
    private var watchTask: Task<Void, Never>?

    public init(options: ServeOptions, logger: Logger) {
        self.options = options
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, options.eventLoops))
        metrics = Metrics(accessLog: options.accessLog ? AccessLog() : nil)
        services = ProxyServices(config: options.proxy, observer: metrics)
        server = ProxyServer(group: group, services: services, logger: logger)
        provider = FileProvider(paths: options.paths, limits: options.limits)
        workloads = LocalWorkloads(group: group, log: { [logger] pod, line in
            logger.debug("\(line)", metadata: ["pod": "\(pod)"])
        })
        let s = services
        metrics.setUpstreamConnectionGauge { s.upstreamConnectionCount }
    }

    /// Loads the configuration, binds, starts the admin listener and watches for changes.
    /// Returns the outcomes of the first bind.
    @discardableResult
    public func start() async throws -> [BindOutcome] {
        let first = provider.loadOnce()
        let outcomes = await apply(first)
        HeapMemory.releaseFreed()
        admin = try await AdminServer.start(host: options.adminHost, port: options.adminPort, group: group, source: self)
        logger.info("admin listening", metadata: ["address": "\(options.adminHost):\(admin?.port ?? options.adminPort)"])
        watchTask = Task { [self] in
            for await snap in provider.updates() {
                if snap.version == lock.withLock({ version }) && snap.diagnostics == lock.withLock({ providerDiagnostics }) { continue }
                await apply(snap)
                // The previous world (documents, objects, translation, table) is gone by now.
                HeapMemory.releaseFreed()
            }
        }
        return outcomes
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
        lock.withLock {
            self.report = report
            self.providerDiagnostics = snap.diagnostics
            self.version = snap.version
        }
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
        guard let r = lock.withLock({ report }) else { return json ? "[]\n" : "items: []\n" }
        return json ? r.renderJSON() : r.renderYAML()
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
