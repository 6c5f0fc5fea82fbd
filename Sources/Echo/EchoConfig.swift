import Foundation
import NIOConcurrencyHelpers

/// Configuration of one conformance echo backend process (../shared/conformance/ECHO.md).
///
/// Two flavours exist, mirroring the two images the conformance manifests use:
/// * ``Flavor/basic`` — `echo-basic` (gateway profile). One process runs one ``Mode``, chosen from
///   the environment (ECHO.md §0). **Only ``Mode/http`` is implemented so far**: the plain HTTP
///   port (HTTP/1.x, plus HTTP/2 with prior knowledge detected from the connection preface) and the
///   h2c port. The HTTPS listener and the gRPC, TCP and UDP modes are recorded in ``notServed`` so
///   they can be added later without changing this type's shape.
/// * ``Flavor/advanced`` — Istio's echo app (`echo-advanced`, mesh profile). Only its HTTP ports
///   (`--port`, HTTP/1.1 plus h2c prior knowledge) are served; `--grpc`, `--tcp` and the ports listed
///   in `--tls` are recorded in ``notServed``.
public struct EchoConfig: Sendable {
    /// Which conformance image this process stands in for.
    public enum Flavor: Sendable, Equatable {
        /// `echo-basic`: JSON echo, `X-Echo-Set-Header`, `/status`, `/retry`, `/ws`, mirror log lines.
        case basic
        /// `echo-advanced` (Istio echo): `Key=Value` text lines, `?delay`, `?headers`, `?codes`.
        case advanced
    }

    /// The echo-basic process mode (ECHO.md §0: `GRPC_ECHO_SERVER`, then `TCP_ECHO_SERVER`, then
    /// `UDP_ECHO_SERVER`, otherwise HTTP). Only ``http`` is implemented; ``EchoServer/start(_:group:)``
    /// throws ``EchoServerError/modeNotImplemented(_:)`` for the others. The advanced flavour is
    /// always ``http`` (its other listeners are in ``EchoConfig/notServed``).
    public enum Mode: String, Sendable, Equatable {
        case http, grpc, tcp, udp
    }

    /// A listener the original program would open but this implementation does not serve (yet).
    public struct NotServedListener: Sendable, Equatable, CustomStringConvertible {
        /// `https`, `grpc`, `grpc-tls`, `tcp`, `tls`, `udp`.
        public var kind: String
        public var port: Int
        public init(kind: String, port: Int) {
            self.kind = kind
            self.port = port
        }
        public var description: String { "\(kind):\(port)" }
    }

    public var flavor: Flavor
    public var mode: Mode
    /// Bind address, e.g. `127.1.0.5`.
    public var host: String
    /// HTTP ports. Each serves HTTP/1.0/1.1 and, when the client opens with the HTTP/2 preface,
    /// h2c with prior knowledge. echo-basic: the `HTTP_PORT` listener with the full route table
    /// (`/health`, `/status/`, `/retry/`, `/ws`, echo). Advanced: the `--port` list (without the
    /// `--tls` ones). `0` binds an ephemeral port (see ``EchoServer/boundPorts``).
    public var ports: [Int]
    /// echo-basic only: ports with `H2C_PORT` semantics (ECHO.md §b): every request is echoed, and
    /// HTTP/1.x requests without `Upgrade: h2c` get `400 Expected h2c request`.
    public var h2cPorts: [Int]
    /// The reported pod name: echo-basic's `pod` field, echo-advanced's `Hostname=`.
    public var podName: String
    /// The reported namespace: echo-basic's `namespace` field, echo-advanced's `Namespace=` line
    /// (written only when non-empty).
    public var namespace: String
    /// The container environment. echo-basic reads `HTTP_PORT` (echoed verbatim as `httpPort`,
    /// default `"3000"`), `SERVICE_NAME` and `INGRESS_NAME` from here.
    public var env: [String: String]
    /// The container args (advanced: `--port=8080 --grpc=7070 ...`), kept for reference.
    public var args: [String]
    /// Receives one log line per call (no trailing newline). The mirror tests look for
    /// `Echoing back request made to <target> to client (<peer>)` (ECHO.md §i). The default writes
    /// to stdout and flushes after every line.
    public var log: @Sendable (String) -> Void
    /// Listeners from the env/args that are not served by this implementation yet.
    public var notServed: [NotServedListener]
    /// Configuration problems that make the original exit at start-up (e.g. a non-integer port);
    /// ``EchoServer/start(_:group:)`` throws ``EchoServerError/invalidConfiguration(_:)`` when non-empty.
    public var problems: [String]

    public init(
        flavor: Flavor = .basic,
        mode: Mode = .http,
        host: String = "127.0.0.1",
        ports: [Int] = [0],
        h2cPorts: [Int] = [],
        podName: String = "",
        namespace: String = "",
        env: [String: String] = [:],
        args: [String] = [],
        log: @escaping @Sendable (String) -> Void = EchoConfig.standardOutputLog,
        notServed: [NotServedListener] = [],
        problems: [String] = []
    ) {
        self.flavor = flavor
        self.mode = mode
        self.host = host
        self.ports = ports
        self.h2cPorts = h2cPorts
        self.podName = podName
        self.namespace = namespace
        self.env = env
        self.args = args
        self.log = log
        self.notServed = notServed
        self.problems = problems
    }

    /// Writes the line and a newline to stdout and flushes at once (ECHO.md §0: stdout is
    /// block-buffered when it is not a TTY, and the mirror tests poll the log).
    public static let standardOutputLog: @Sendable (String) -> Void = { line in
        stdoutLock.withLock {
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
    }
    private static let stdoutLock = NIOLock()

    /// Builds a config from a container's env and args as the manifests give them
    /// (ECHO.md §g).
    ///
    /// * `podName` / `namespace`: the pod's metadata. `env` must already hold the resolved values of
    ///   `valueFrom` entries (the manifests set `POD_NAME` and `NAMESPACE` from the downward API).
    ///   echo-basic reports `env["POD_NAME"]` / `env["NAMESPACE"]` and falls back to the pod
    ///   metadata when a variable is absent (every echo-basic manifest sets both, so this only
    ///   matters for callers that drop `valueFrom` entries). echo-advanced reports the pod name as
    ///   its hostname and `env["NAMESPACE"]` (unset in the mesh manifests) as `Namespace=`.
    /// * echo-basic: the mode from `GRPC_ECHO_SERVER` / `TCP_ECHO_SERVER` / `UDP_ECHO_SERVER`;
    ///   HTTP mode listens on `HTTP_PORT` (3000) and `H2C_PORT` (3001); HTTPS (`HTTPS_PORT`, 8443,
    ///   when `TLS_SERVER_CERT` and `TLS_SERVER_PRIVKEY`/`TLS_SERVER_PRIV_KEY` are set) goes to
    ///   ``notServed``, as do the ports of the other modes.
    /// * echo-advanced: `--port` (default `[8080]`), `--grpc` (`[7070]`), `--tcp` (`[9090]`),
    ///   `--tls` (`[]`); repeatable and comma-separated, the first use replaces the default.
    ///   `--port` ports not in `--tls` are served; the rest goes to ``notServed``.
    /// * `containerPorts` is informational: Kubernetes does not limit listening to declared
    ///   ports, so it does not change what is served.
    public static func fromContainer(
        flavor: Flavor,
        host: String,
        podName: String,
        namespace: String,
        env: [String: String],
        args: [String],
        containerPorts: [Int] = [],
        log: @escaping @Sendable (String) -> Void = EchoConfig.standardOutputLog
    ) -> EchoConfig {
        var config = EchoConfig(flavor: flavor, host: host, ports: [], podName: podName, namespace: namespace,
                                env: env, args: args, log: log)
        switch flavor {
        case .basic:
            config.podName = env["POD_NAME"] ?? podName
            config.namespace = env["NAMESPACE"] ?? namespace
            config.mode = basicMode(env: env)
            var problems: [String] = []
            func port(_ name: String, _ fallback: Int) -> Int? {
                guard let raw = env[name] else { return fallback }
                guard let p = Int(raw), (0...65535).contains(p) else {
                    problems.append("\(name)=\(raw) is not a port number")
                    return nil
                }
                return p
            }
            let cert = env["TLS_SERVER_CERT"] ?? ""
            let key = env["TLS_SERVER_PRIVKEY"] ?? env["TLS_SERVER_PRIV_KEY"] ?? ""
            let hasTLS = !cert.isEmpty && !key.isEmpty
            switch config.mode {
            case .http:
                config.ports = port("HTTP_PORT", 3000).map { [$0] } ?? []
                config.h2cPorts = port("H2C_PORT", 3001).map { [$0] } ?? []
                if hasTLS, let p = port("HTTPS_PORT", 8443) {
                    config.notServed.append(.init(kind: "https", port: p))
                }
            case .grpc:
                if let p = port("HTTP_PORT", 3000) { config.notServed.append(.init(kind: "grpc", port: p)) }
                if hasTLS, let p = port("HTTPS_PORT", 8443) {
                    config.notServed.append(.init(kind: "grpc-tls", port: p))
                }
            case .tcp:
                if let p = port("TCP_PORT", 3000) { config.notServed.append(.init(kind: "tcp", port: p)) }
                if hasTLS, let p = port("TLS_PORT", 8443) { config.notServed.append(.init(kind: "tls", port: p)) }
            case .udp:
                if let p = port("UDP_PORT", 8080) { config.notServed.append(.init(kind: "udp", port: p)) }
            }
            config.problems = problems
        case .advanced:
            config.podName = podName
            config.namespace = env["NAMESPACE"] ?? ""
            config.mode = .http
            let flags = AdvancedFlags(args: args)
            let tls = Set(flags.tls)
            config.ports = flags.http.filter { !tls.contains($0) }
            config.notServed = flags.http.filter { tls.contains($0) }.map { .init(kind: "https", port: $0) }
                + flags.grpc.map { .init(kind: tls.contains($0) ? "grpc-tls" : "grpc", port: $0) }
                + flags.tcp.map { .init(kind: tls.contains($0) ? "tls" : "tcp", port: $0) }
            config.problems = flags.problems
        }
        return config
    }

    static func basicMode(env: [String: String]) -> Mode {
        if !(env["GRPC_ECHO_SERVER"] ?? "").isEmpty { return .grpc }
        if !(env["TCP_ECHO_SERVER"] ?? "").isEmpty { return .tcp }
        if !(env["UDP_ECHO_SERVER"] ?? "").isEmpty { return .udp }
        return .http
    }
}

/// The Istio echo server flags the conformance manifests use (ECHO.md §g, echo-advanced).
struct AdvancedFlags: Equatable {
    var http: [Int] = [8080]
    var grpc: [Int] = [7070]
    var tcp: [Int] = [9090]
    var tls: [Int] = []
    var crt = ""
    var key = ""
    var problems: [String] = []

    /// Parses `--name=value`, `--name value` (for the flags above) and `-name=value`. Other
    /// flags are ignored; a space-separated value of an unknown flag is skipped as a positional.
    init(args: [String]) {
        var seen: Set<String> = []
        var i = 0
        while i < args.count {
            let arg = args[i]
            i += 1
            guard arg.hasPrefix("-"), arg != "-", arg != "--" else { continue }
            var name = String(arg.drop(while: { $0 == "-" }))
            var value: String?
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            let knownLists = ["port", "grpc", "tcp", "tls", "crt", "key"]
            if value == nil, knownLists.contains(name), i < args.count {
                value = args[i]
                i += 1
            }
            guard let v = value else { continue }
            switch name {
            case "port", "grpc", "tcp", "tls":
                var parsed: [Int] = []
                for item in v.split(separator: ",", omittingEmptySubsequences: false) where !v.isEmpty {
                    let t = trimSpace(item)
                    if let p = Int(t), (0...65535).contains(p) {
                        parsed.append(p)
                    } else {
                        problems.append("invalid --\(name) value \(goQuote(String(item)))")
                    }
                }
                let first = seen.insert(name).inserted
                switch name {
                case "port": http = first ? parsed : http + parsed
                case "grpc": grpc = first ? parsed : grpc + parsed
                case "tcp": tcp = first ? parsed : tcp + parsed
                default: tls = first ? parsed : tls + parsed
                }
            case "crt": crt = v
            case "key": key = v
            default: break
            }
        }
    }
}
