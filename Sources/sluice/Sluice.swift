import ArgumentParser
import Conformance
import ControlPlane
import Echo
import Foundation
import GatewayAPI
import Kubernetes
import NIOPosix
import Logging
import Routing
import Serve
import Translator

/// The `sluice` executable: thin ArgumentParser commands over the library targets.
@main
struct Sluice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "A Kubernetes Gateway API (+ GAMMA mesh) implementation.",
        subcommands: [Check.self, Serve.self, Services.self, Describe.self, EchoCommand.self, ConformanceCommand.self])

    /// Like `ParsableCommand.main()`, but usage errors exit with status 2 (the contract
    /// for `sluice check`), not ArgumentParser's 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// `sluice check -f PATH...`: load, validate, translate; print diagnostics and every object's status.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate and translate Gateway API YAML; print diagnostics and the status Kubernetes would show.",
        discussion: """
        Exit status: 0 when every object is valid and Accepted, 1 when anything is rejected or not
        Accepted, 2 on usage errors. Diagnostics go to standard error as FILE:LINE: Kind ns/name: field: message.
        """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case yaml, json, table }

    @Option(name: [.customShort("f"), .customLong("filename")], help: "File or folder of YAML/JSON manifests (repeatable).")
    var paths: [String] = []

    @Option(name: [.short, .customLong("output")], help: "Output format: yaml (default), json or table.")
    var output: Format = .yaml

    @Flag(name: .customLong("ir"), help: "Also print the compiled routing model (IR).")
    var ir = false

    @Option(name: .customLong("controller-name"), help: "controllerName of the GatewayClasses Sluice owns.")
    var controllerName = TranslatorConfig.defaultControllerName

    @OptionGroup var limits: LimitOptions

    @OptionGroup var kube: KubeModeOptions

    @Option(name: .customLong("timeout"), help: "Kubernetes mode: seconds to wait for the API server (default 30).")
    var timeout = 30

    func validate() throws {
        try kube.validate(paths: paths)
    }

    func run() async throws {
        let config = TranslatorConfig(controllerName: controllerName)
        let report: CheckReport
        if let kubeConfig = try kube.config() {
            // Reads what is in the cluster (one list of every kind) and writes nothing.
            var logger = Logger(label: "sluice.check")
            logger.logLevel = .warning
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let client = try KubeClient(config: kubeConfig, group: group)
            let provider = KubernetesProvider(client: client, logger: logger)
            // Bounded: an unreachable server or refused credentials end `check` with the reason.
            let first = Task { await provider.loadOnce() }
            let deadline = Task { try await Task.sleep(for: .seconds(timeout)); first.cancel() }
            let loaded = await first.value
            deadline.cancel()
            guard let snap = loaded else {
                FileHandle.standardError.write(Data("cannot read the cluster at \(kubeConfig.serverURL) within \(timeout) s: \(provider.notReadyReason)\n".utf8))
                throw ExitCode(1)
            }
            report = CheckReport.run(objects: snap.objects, diagnostics: snap.diagnostics, config: config)
        } else {
            report = CheckReport.run(paths: paths, config: config, limits: limits.loadLimits)
        }
        FileHandle.standardError.write(Data(report.renderDiagnostics().utf8))
        switch output {
        case .yaml: print(report.renderYAML(), terminator: "")
        case .json: print(report.renderJSON(), terminator: "")
        case .table: print(report.renderTable(), terminator: "")
        }
        if ir {
            print("---")
            print(report.renderIR(), terminator: "")
        }
        let bad = report.notAccepted
        if !bad.isEmpty {
            FileHandle.standardError.write(Data(("not accepted: " + bad.joined(separator: "; ") + "\n").utf8))
        }
        throw ExitCode(report.exitCode)
    }
}

/// `--max-file-bytes`, `--max-total-bytes`, `--max-objects` of `sluice check` and `sluice serve`.
struct LimitOptions: ParsableArguments {
    @Option(name: .customLong("max-file-bytes"), help: "Largest manifest file read, in bytes (default 16 MiB).")
    var maxFileBytes = LoadLimits.defaultMaxFileBytes

    @Option(name: .customLong("max-total-bytes"), help: "Largest total of all manifest files, in bytes (default 64 MiB).")
    var maxTotalBytes = LoadLimits.defaultMaxTotalBytes

    @Option(name: .customLong("max-objects"), help: "Most objects in one configuration (default 30000).")
    var maxObjects = LoadLimits.defaultMaxObjects

    func validate() throws {
        guard maxFileBytes > 0, maxTotalBytes > 0, maxObjects > 0 else {
            throw ValidationError("--max-file-bytes, --max-total-bytes and --max-objects must be positive")
        }
    }

    var loadLimits: LoadLimits {
        LoadLimits(maxFileBytes: maxFileBytes, maxTotalBytes: maxTotalBytes, maxObjects: maxObjects)
    }
}

/// `sluice services -f PATH...`: every Service port's cluster IP (the mesh frontend), its routes and
/// endpoints, and the local pods with their addresses.
struct Services: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List Services with their cluster IPs (mesh frontends), routes and endpoints, and the local pods.",
        discussion: """
        Computed from the files as `sluice serve` would serve them; pod addresses are the ones `sluice serve`
        gives unless another process holds them (a running server's admin /services shows the actual ones).
        """)

    @Option(name: [.customShort("f"), .customLong("filename")], help: "File or folder of YAML/JSON manifests (repeatable).")
    var paths: [String] = []

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one -f FILE_OR_FOLDER") }
    }

    func run() throws {
        let (report, pods) = MeshReport.offline(paths: paths)
        FileHandle.standardError.write(Data(report.renderDiagnostics().utf8))
        print(MeshReport.servicesTable(report.result.ir, pods: pods), terminator: "")
    }
}

/// `sluice describe service NS/NAME -f PATH... [--from NS]`.
struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a Service as the mesh serves it: routes per port (producer/consumer), rule order, endpoints.")

    enum Kind: String, ExpressibleByArgument { case service }

    @Argument(help: "What to describe: service.")
    var kind: Kind

    @Argument(help: "NAMESPACE/NAME (or NAME in namespace default).")
    var name: String

    @Option(name: [.customShort("f"), .customLong("filename")], help: "File or folder of YAML/JSON manifests (repeatable).")
    var paths: [String] = []

    @Option(name: .customLong("from"), help: "Show what a client in this namespace gets.")
    var from: String?

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one -f FILE_OR_FOLDER") }
    }

    func run() throws {
        let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
        let (ns, n) = parts.count == 2 ? (parts[0], parts[1]) : ("default", parts[0])
        let (report, _) = MeshReport.offline(paths: paths)
        FileHandle.standardError.write(Data(report.renderDiagnostics().utf8))
        guard let text = MeshReport.describe(report.result.ir, namespace: ns, name: n, from: from) else {
            FileHandle.standardError.write(Data("Service \(ns)/\(n) not found (or it has no TCP port / no cluster IP)\n".utf8))
            throw ExitCode(1)
        }
        print(text, terminator: "")
    }
}

/// `sluice serve -f DIR`: control plane and data plane in one process, watching DIR.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve Gateways from a folder of Kubernetes YAML, reloading on change.",
        discussion: """
        Each Gateway listens on its own loopback address (127.3.x.y, shown by the admin /status and
        by `sluice check`) and its listeners' ports. Ports below 1024 need root or
        CAP_NET_BIND_SERVICE; the examples use unprivileged ports. SIGINT/SIGTERM drain gracefully.
        """)

    @Option(name: [.customShort("f"), .customLong("filename")], help: "File or folder of manifests to serve and watch (repeatable).")
    var paths: [String] = []

    @Option(name: .customLong("admin-address"), help: "Admin listener host:port (loopback unless you say otherwise).")
    var admin = "127.0.0.1:15000"

    @Flag(name: .customLong("no-access-log"), help: "Do not print JSON access log lines to standard output.")
    var noAccessLog = false

    @Flag(name: .customLong("no-mesh"), help: "Serve Gateway listeners only: no mesh frontends on Service cluster IPs.")
    var noMesh = false

    @Option(name: .customLong("event-loops"), help: "Number of event loop threads (default: one per core).")
    var eventLoops: Int?

    @Option(name: .customLong("grace-period"), help: "Seconds to let in-flight requests finish on SIGTERM/SIGINT.")
    var gracePeriod = 10

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Option(name: .customLong("load-balancing"), help: "Endpoint choice: least-request (power of two choices, default) or round-robin.")
    var loadBalancing = "least-request"

    @Flag(name: .customLong("no-decode-unreserved"), help: "Path normalisation: keep %-encoded unreserved characters (%61 stays %61).")
    var noDecodeUnreserved = false

    @Flag(name: .customLong("no-remove-dot-segments"), help: "Path normalisation: keep . and .. segments (unsafe behind a PathPrefix).")
    var noRemoveDotSegments = false

    @Flag(name: .customLong("no-merge-slashes"), help: "Path normalisation: keep runs of slashes.")
    var noMergeSlashes = false

    @Option(name: .customLong("escaped-slashes"), help: "%2F, %5C and \\ in paths: redirect (307 to the unescaped path, default), reject (400) or keep.")
    var escapedSlashes = "redirect"

    @Option(name: .customLong("header-timeout"), help: "Seconds a client may take to send a whole request head (default 15).")
    var headerTimeout: Double = 15

    @Option(name: .customLong("idle-timeout"), help: "Seconds a client connection may stay without a request in flight (default 120).")
    var idleTimeout: Double = 120

    @Option(name: .customLong("max-connections-per-source"), help: "Open connections allowed per client address (0 = no limit; default 1000).")
    var maxConnectionsPerSource = 1_000

    @Option(name: .customLong("max-connections-per-listener"), help: "Open connections allowed per listener address (0 = no limit; default 10000).")
    var maxConnectionsPerListener = 10_000

    @OptionGroup var limits: LimitOptions

    @OptionGroup var kube: KubeModeOptions

    @Flag(name: .customLong("leader-elect"), help: "Kubernetes mode: only the holder of a coordination.k8s.io/v1 Lease writes status (every replica serves).")
    var leaderElect = false

    @Option(name: .customLong("lease-namespace"), help: "Namespace of the leader-election Lease (default: the kubeconfig context's or service account's namespace, else sluice-system).")
    var leaseNamespace: String?

    @Option(name: .customLong("controller-name"), help: "controllerName of the GatewayClasses Sluice owns.")
    var controllerName = TranslatorConfig.defaultControllerName

    func validate() throws {
        try kube.validate(paths: paths)
        guard PathNormalizer.Options.EscapedSlashes(rawValue: escapedSlashes) != nil else {
            throw ValidationError("--escaped-slashes must be redirect, reject or keep")
        }
        guard headerTimeout > 0, idleTimeout > 0 else { throw ValidationError("--header-timeout and --idle-timeout must be positive") }
        guard maxConnectionsPerSource >= 0, maxConnectionsPerListener >= 0 else {
            throw ValidationError("connection limits must be 0 (no limit) or positive")
        }
        guard ["least-request", "round-robin"].contains(loadBalancing) else {
            throw ValidationError("--load-balancing must be least-request or round-robin")
        }
        guard admin.split(separator: ":").count == 2, Int(admin.split(separator: ":")[1]) != nil else {
            throw ValidationError("--admin-address must be host:port")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return h
        }
        HeapMemory.configureAtStart()
        let logger = Logger(label: "sluice")
        var options = ServeOptions(paths: paths)
        let parts = admin.split(separator: ":")
        options.adminHost = String(parts[0])
        options.adminPort = Int(parts[1])!
        options.accessLog = !noAccessLog
        options.proxy.meshFrontends = !noMesh
        if let n = eventLoops { options.eventLoops = n }
        options.gracePeriod = .seconds(Int64(gracePeriod))
        options.proxy.loadBalancing = loadBalancing == "round-robin" ? .roundRobin : .leastRequest
        options.proxy.pathNormalization.decodeUnreserved = !noDecodeUnreserved
        options.proxy.pathNormalization.removeDotSegments = !noRemoveDotSegments
        options.proxy.pathNormalization.mergeSlashes = !noMergeSlashes
        options.proxy.pathNormalization.escapedSlashes = PathNormalizer.Options.EscapedSlashes(rawValue: escapedSlashes)!
        options.proxy.headerReadTimeout = .milliseconds(Int64(headerTimeout * 1000))
        options.proxy.clientIdleTimeout = .milliseconds(Int64(idleTimeout * 1000))
        options.proxy.maxConnectionsPerSource = maxConnectionsPerSource
        options.proxy.maxConnectionsPerListener = maxConnectionsPerListener
        options.limits = limits.loadLimits
        options.translator.controllerName = controllerName
        guard let kubeConfig = try kube.config() else {
            let runtime = ServeRuntime(options: options, logger: logger)
            let outcomes = try await runtime.start()
            for o in outcomes where o.error != nil { logger.error("\(o.error!)") }
            await waitForTerminationSignal()
            logger.info("draining", metadata: ["gracePeriodSeconds": "\(gracePeriod)"])
            await runtime.shutdown()
            return
        }
        // Kubernetes mode: the same runtime and apply path, fed by the API server.
        let kubeGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = try KubeClient(config: kubeConfig, group: kubeGroup)
        logger.info("Kubernetes mode", metadata: ["server": "\(kubeConfig.serverURL)", "config": "\(kubeConfig.source)"])
        let provider = KubernetesProvider(client: client, logger: logger)
        var elector: LeaderElector?
        if leaderElect {
            let host = ProcessInfo.processInfo.hostName
            elector = LeaderElector(client: client, namespace: leaseNamespace ?? kubeConfig.namespace ?? "sluice-system",
                                    identity: "\(host)_\(UUID().uuidString.prefix(8).lowercased())", logger: logger)
        }
        let writer = KubernetesStatusWriter(provider: provider, controllerName: controllerName, logger: logger,
                                            isLeader: { [elector] in elector?.isLeader ?? true })
        let electorTask = elector.map { e in Task { await e.run { leader in if leader { writer.kick() } } } }
        let runtime = ServeRuntime(options: options, logger: logger, provider: provider, statusSink: writer)
        try await runtime.start(waitForFirstSnapshot: false)
        await waitForTerminationSignal()
        logger.info("draining", metadata: ["gracePeriodSeconds": "\(gracePeriod)"])
        electorTask?.cancel()
        await electorTask?.value
        writer.stop()
        await runtime.shutdown()
        // kubeGroup is left to the process exit: informer connections may still be closing.
    }
}

/// How `serve` and `check` choose Kubernetes mode: `--kubeconfig PATH`, `--kubernetes` ($KUBECONFIG,
/// else ~/.kube/config) or `--in-cluster`. `-f` never switches mode; the two cannot be mixed.
struct KubeModeOptions: ParsableArguments {
    @Option(name: .customLong("kubeconfig"), help: "Kubernetes mode: read the cluster of this kubeconfig's current context.")
    var kubeconfig: String?

    @Flag(name: .customLong("kubernetes"), help: "Kubernetes mode with the default kubeconfig ($KUBECONFIG, else ~/.kube/config).")
    var kubernetes = false

    @Flag(name: .customLong("in-cluster"), help: "Kubernetes mode with the Pod's service account (in-cluster config).")
    var inCluster = false

    @Option(name: .customLong("context"), help: "Kubernetes mode: use this kubeconfig context instead of the current one.")
    var context: String?

    var chosen: Bool { kubeconfig != nil || kubernetes || inCluster }

    func validate(paths: [String]) throws {
        let modes = [kubeconfig != nil, kubernetes, inCluster].filter { $0 }.count
        if modes > 1 { throw ValidationError("give one of --kubeconfig PATH, --kubernetes, --in-cluster") }
        if chosen && !paths.isEmpty { throw ValidationError("-f reads files; --kubeconfig/--kubernetes/--in-cluster read the API server: give one or the other") }
        if !chosen && paths.isEmpty { throw ValidationError("give at least one -f FILE_OR_FOLDER (or --kubeconfig PATH / --in-cluster)") }
        if context != nil && inCluster { throw ValidationError("--context applies to a kubeconfig, not to --in-cluster") }
    }

    /// The Kubernetes configuration when Kubernetes mode was chosen, nil otherwise.
    func config() throws -> KubeConfig? {
        guard chosen else { return nil }
        do {
            if inCluster { return try KubeConfig.inCluster() }
            return try KubeConfig.load(path: kubeconfig ?? KubeConfig.defaultPath(), context: context)
        } catch let e as KubeConfig.ConfigError {
            throw ValidationError(e.description)
        }
    }
}

/// Suspends until SIGINT or SIGTERM.
func waitForTerminationSignal() async {
    let signals = SignalWaiter()
    await signals.wait()
}

/// Turns SIGINT/SIGTERM into an async wake-up; keeps its dispatch sources alive while waiting.
final class SignalWaiter: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    private var fired = false
    private var sources: [DispatchSourceSignal] = []

    init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { [self] in fire() }
            s.resume()
            sources.append(s)
        }
    }

    private func fire() {
        lock.lock()
        fired = true
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume()
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            if fired {
                lock.unlock()
                c.resume()
            } else {
                continuation = c
                lock.unlock()
            }
        }
        withExtendedLifetime(sources) {}
    }
}

/// `sluice echo`: the conformance-compatible echo backend (../shared/conformance/ECHO.md), standalone.
struct EchoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "Run the conformance echo backend (HTTP/1.1 and h2c; JSON echo, X-Echo-Set-Header, /status, /retry, ?delay, WebSocket on /ws).")

    @Option(name: .customLong("listen"), help: "host:port to listen on (repeat the flag for more ports on the same host).")
    var listen: [String] = ["127.0.0.1:3000"]

    @Option(name: .customLong("pod"), help: "Pod name reported in responses and logs.")
    var pod = "echo"

    @Option(name: .customLong("namespace"), help: "Namespace reported in responses.")
    var namespace = "default"

    @Option(name: .customLong("flavor"), help: "basic (echo-basic JSON) or advanced (Istio echo text format, as the mesh tests use).")
    var flavor = "basic"

    func validate() throws {
        guard ["basic", "advanced"].contains(flavor) else { throw ValidationError("--flavor must be basic or advanced") }
        let hosts = Set(listen.map { $0.split(separator: ":").first.map(String.init) ?? "" })
        guard hosts.count == 1, listen.allSatisfy({ $0.split(separator: ":").count == 2 && Int($0.split(separator: ":")[1]) != nil }) else {
            throw ValidationError("--listen takes host:port, all on one host")
        }
    }

    func run() async throws {
        let host = String(listen[0].split(separator: ":")[0])
        let ports = listen.map { Int($0.split(separator: ":")[1])! }
        let config = EchoConfig(flavor: flavor == "advanced" ? .advanced : .basic, host: host, ports: ports,
                                podName: pod, namespace: namespace)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await EchoServer.start(config, group: group)
        FileHandle.standardError.write(Data("echo listening on \(host) ports \(server.boundPorts)\n".utf8))
        await waitForTerminationSignal()
        await server.stop()
        try await group.shutdownGracefully()
    }
}

/// `sluice conformance`: runs the Gateway API conformance corpus without a cluster.
struct ConformanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Run Gateway API conformance tests (../shared/conformance format) against an in-process Sluice.",
        discussion: "Prints one line per test with its time; the last line is `N passed, N failed, N skipped`. Exit status 1 when any test failed.")

    @Option(name: .customLong("corpus"), help: "The corpus folder (default ../shared/conformance).")
    var corpus = "../shared/conformance"

    @Option(name: .customLong("run"), help: "Run only this test (repeatable).")
    var run: [String] = []

    @Option(name: .customLong("profile"), help: "Only tests of this profile (GATEWAY-HTTP, MESH-HTTP, gateway, mesh).")
    var profile: String?

    @Option(name: .customLong("supported-features"), help: "Comma-separated features to treat as supported (default: what Sluice implements).")
    var supportedFeatures: String?

    @Flag(name: .customLong("all-features"), help: "Treat every feature as supported.")
    var allFeatures = false

    @Option(name: [.short, .customLong("output")], help: "text (default) or json.")
    var output = "text"

    @Option(name: .customLong("report"), help: "Write a ConformanceReport (gateway.networking.k8s.io/v1) YAML to this file.")
    var report: String?

    @Option(name: .customLong("test-timeout"), help: "Seconds a test may run before it fails (default 120).")
    var testTimeout: Int = 120

    func validate() throws {
        guard ["text", "json"].contains(output) else { throw ValidationError("-o must be text or json") }
        if allFeatures && supportedFeatures != nil { throw ValidationError("give --supported-features or --all-features, not both") }
    }

    mutating func run() async throws {
        var logger = Logger(label: "sluice.conformance")
        logger.logLevel = .error
        let url = URL(fileURLWithPath: corpus)
        var features = Set(SupportedFeatures.implementedInDataPlane)
        if let list = supportedFeatures { features = Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
        if allFeatures, let data = FileManager.default.contents(atPath: url.appendingPathComponent("features.json").path),
           let all = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            features = Set(all.keys)
        }
        var options = ConformanceOptions(corpus: url, supportedFeatures: features)
        options.names = self.run
        options.profile = profile
        options.testTimeout = .seconds(max(1, testTimeout))
        let runner = ConformanceRunner(options: options, logger: logger)
        var passed = 0, failed = 0, skipped = 0
        var json: [String] = []
        var results: [ConformanceTestResult] = []
        for test in try runner.selectedTests() {
            let r = await runner.run(test)
            results.append(r)
            let time = String(format: "%.2fs", r.seconds)
            switch r.outcome {
            case .passed:
                passed += 1
                if output == "text" { print("PASS \(r.name) (\(time))") }
            case .failed(let why):
                failed += 1
                if output == "text" {
                    print("FAIL \(r.name) (\(time))")
                    for w in why { print("    \(w)") }
                }
            case .skipped(let why):
                skipped += 1
                if output == "text" { print("SKIP \(r.name): \(why)") }
            }
            if output == "json" {
                let outcome: String
                switch r.outcome {
                case .passed: outcome = "\"passed\""
                case .failed(let w): outcome = "\"failed\",\"failures\":[" + w.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + "]"
                case .skipped(let w): outcome = "\"skipped\",\"reason\":\"" + w.replacingOccurrences(of: "\"", with: "'") + "\""
                }
                json.append("{\"name\":\"\(r.name)\",\"seconds\":\(r.seconds),\"outcome\":\(outcome)}")
            }
        }
        await runner.shutdown()
        // Nothing may be left listening or running after the run.
        let leftovers = runner.leftovers()
        for l in leftovers { FileHandle.standardError.write(Data("after the run: \(l)\n".utf8)) }
        if output == "json" { print("[" + json.joined(separator: ",\n") + "]") }
        if let report {
            let yaml = try ConformanceReportWriter.render(results: results, corpus: url, supportedFeatures: features, version: "0.1.0")
            try yaml.write(toFile: report, atomically: true, encoding: .utf8)
        }
        print("\(passed) passed, \(failed) failed, \(skipped) skipped")
        if failed > 0 || !leftovers.isEmpty { throw ExitCode(1) }
    }
}
