import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Errors from ``EchoServer/start(_:group:)``.
public enum EchoServerError: Error, Equatable, CustomStringConvertible {
    /// The echo-basic mode is not implemented yet (only ``EchoConfig/Mode/http`` is).
    case modeNotImplemented(EchoConfig.Mode)
    /// ``EchoConfig/problems`` was not empty (the original exits non-zero at start-up).
    case invalidConfiguration([String])

    public var description: String {
        switch self {
        case .modeNotImplemented(let mode): return "echo: \(mode.rawValue) mode is not implemented"
        case .invalidConfiguration(let problems): return "echo: " + problems.joined(separator: "; ")
        }
    }
}

/// A running conformance echo backend (see ``EchoConfig`` for what is and is not served).
///
/// `start` binds every port of ``EchoConfig/ports`` and ``EchoConfig/h2cPorts`` on
/// ``EchoConfig/host``; if one fails, those already bound are closed and the error is thrown
/// (the original exits when a listener fails). `stop` closes the listeners and every open
/// connection.
public final class EchoServer: Sendable {
    private let listeners: [Channel]
    private let connections: NIOLockedValueBox<[ObjectIdentifier: Channel]>
    private let stopped = NIOLockedValueBox(false)

    /// The bound ports, in the order of ``EchoConfig/ports`` followed by ``EchoConfig/h2cPorts``
    /// (ephemeral ports resolved).
    public let boundPorts: [Int]

    private init(listeners: [Channel], connections: NIOLockedValueBox<[ObjectIdentifier: Channel]>) {
        self.listeners = listeners
        self.connections = connections
        self.boundPorts = listeners.map { $0.localAddress?.port ?? 0 }
    }

    public static func start(_ config: EchoConfig, group: EventLoopGroup) async throws -> EchoServer {
        guard config.problems.isEmpty else { throw EchoServerError.invalidConfiguration(config.problems) }
        guard config.mode == .http else { throw EchoServerError.modeNotImplemented(config.mode) }
        let responder = Responder(config: config)
        let connections = NIOLockedValueBox<[ObjectIdentifier: Channel]>([:])
        var plan: [(port: Int, role: ListenerRole)] = []
        switch config.flavor {
        case .basic:
            plan = config.ports.map { ($0, .basicPlain) } + config.h2cPorts.map { ($0, .basicH2C) }
        case .advanced:
            plan = config.ports.map { ($0, .advanced) }
        }
        var bound: [Channel] = []
        do {
            for (port, role) in plan {
                let channel = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .serverChannelOption(.backlog, value: 256)
                    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                    .childChannelInitializer { channel in
                        let id = ObjectIdentifier(channel)
                        connections.withLockedValue { $0[id] = channel }
                        channel.closeFuture.whenComplete { _ in
                            _ = connections.withLockedValue { $0.removeValue(forKey: id) }
                        }
                        return channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                PrefaceSniffer(responder: responder, role: role))
                        }
                    }
                    .bind(host: config.host, port: port).get()
                bound.append(channel)
                let actual = channel.localAddress?.port ?? port
                switch role {
                case .basicPlain: config.log("Starting server, listening on port \(actual) (http)")
                case .basicH2C: config.log("Starting server, listening on port \(actual) (h2c)")
                case .advanced: config.log("Listening HTTP/1.1 on \(actual)")
                }
            }
        } catch {
            for channel in bound { try? await channel.close() }
            throw error
        }
        for listener in config.notServed {
            config.log("echo: \(listener.kind) listener on port \(listener.port) is not implemented; not listening")
        }
        return EchoServer(listeners: bound, connections: connections)
    }

    /// Closes the listeners and all open connections. Idempotent.
    public func stop() async {
        let first = stopped.withLockedValue { s -> Bool in
            defer { s = true }
            return !s
        }
        guard first else { return }
        for channel in listeners { try? await channel.close() }
        let open = connections.withLockedValue { Array($0.values) }
        for channel in open { try? await channel.close() }
    }
}
