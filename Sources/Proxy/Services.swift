import IR
import NIOConcurrencyHelpers
import NIOCore
import Routing

/// Data-plane settings that are not part of the Gateway API configuration.
public struct ProxyConfig: Sendable {
    /// Request bodies up to this size are kept so the request can be retried or mirrored.
    public var maxReplayBodyBytes: Int = 64 * 1024
    /// Backoff between retries when the route's retry policy gives none.
    public var defaultRetryBackoff: TimeAmount = .milliseconds(25)
    public var loadBalancing: LoadBalancing = .leastRequest
    /// How long a connection may take to send its request head (slowloris protection).
    public var headerReadTimeout: TimeAmount = .seconds(15)
    /// A client connection with no traffic either way for this long is closed (idle keep-alive,
    /// a client that never sends its first byte, idle HTTP/2).
    public var clientIdleTimeout: TimeAmount = .seconds(120)
    public var connectTimeout: TimeAmount = .seconds(5)
    /// When a route sets no `backendRequest` timeout: how long an upstream may take to start its
    /// response before the client gets 504 (an upstream that hangs never holds a request forever).
    public var defaultResponseHeadTimeout: TimeAmount = .seconds(60)
    /// A response head that arrives without body bytes is held this long before it is forwarded,
    /// so an upstream that closes right after its head is answered 502 rather than truncated.
    public var responseHeadHold: TimeAmount = .milliseconds(100)
    public var upstreamIdleTimeout: TimeAmount = .seconds(60)
    /// Idle keep-alive connections kept per endpoint and event loop. Below the client concurrency
    /// the proxy opens a new upstream connection for every request beyond it and closes it after
    /// the response (at 256 client connections and the former 64: up to 192 connects per round);
    /// the nginx bench config keeps 512, Envoy does not cap them. Idle ones still close after
    /// `upstreamIdleTimeout`.
    public var maxIdleConnectionsPerEndpoint: Int = 1024
    /// Request header limits: a larger header field or header block is answered with 431.
    public var maxHeaderFieldBytes: Int = 16 * 1024
    public var maxHeaderListBytes: Int = 64 * 1024
    public var maxHeaderCount: Int = 200
    /// Serve mesh frontends (every Service port on its cluster IP). Off = gateway listeners only
    /// (`sluice serve --no-mesh`).
    public var meshFrontends = true
    /// How request paths are normalised before routing and forwarding (docs/SECURITY.md).
    public var pathNormalization = PathNormalizer.Options()
    /// Open client connections allowed per listener address and per client address (0 = no limit);
    /// beyond them a connection is closed at accept.
    public var maxConnectionsPerListener = 10_000
    public var maxConnectionsPerSource = 1_000

    public init() {}
}

/// One completed request, for metrics and the access log. Labels are bounded: refs, not paths.
public struct RequestRecord: Sendable {
    public var listener: String
    public var gateway: String
    public var route: RouteRef?
    public var backend: String?
    public var method: String
    /// The request path (for the access log only — never a metric label).
    public var path: String
    public var host: String
    public var status: Int
    public var durationSeconds: Double
    public var upstreamAddress: String?
    public var attempts: Int
    public var error: String?
    /// Mesh requests: the client's `namespace/pod`, when it is a known workload.
    public var client: String? = nil
}

/// Receives every completed request (metrics, access log).
public protocol ProxyObserver: Sendable {
    func record(_ r: RequestRecord)
    /// A request refused before routing for its framing (400/431/501), with the parser's reason.
    func rejected(status: Int, reason: String)
    /// A connection closed at accept by a connection limit.
    func connectionRefused()
}

extension ProxyObserver {
    public func rejected(status: Int, reason: String) {}
    public func connectionRefused() {}
}

/// What every connection handler shares: the current routing table (swapped atomically on
/// reload), the upstream pools of each event loop, settings and the observer.
public final class ProxyServices: @unchecked Sendable {
    private let tableBox: NIOLockedValueBox<RoutingTable>
    let config: ProxyConfig
    let observer: ProxyObserver?
    /// One pool per event loop; a pool is only touched on its loop.
    private let pools: NIOLockedValueBox<[ObjectIdentifier: any UpstreamConnecting]>

    public convenience init(table: RoutingTable = .empty, config: ProxyConfig = ProxyConfig(), observer: ProxyObserver? = nil) {
        self.init(table: table, config: config, observer: observer) { loop, c in
            UpstreamPool(eventLoop: loop, maxIdlePerEndpoint: c.maxIdleConnectionsPerEndpoint,
                         idleTimeout: c.upstreamIdleTimeout, connectTimeout: c.connectTimeout)
        }
    }

    init(table: RoutingTable, config: ProxyConfig, observer: ProxyObserver?,
         connector: @escaping @Sendable (EventLoop, ProxyConfig) -> any UpstreamConnecting) {
        tableBox = NIOLockedValueBox(table)
        self.config = config
        self.observer = observer
        pools = NIOLockedValueBox([:])
        makeConnector = connector
    }

    /// The table for a new request. Requests keep the table they started with.
    public var table: RoutingTable { tableBox.withLockedValue { $0 } }

    /// Publishes a new table (atomic swap; in-flight requests are not disturbed).
    public func swap(_ t: RoutingTable) { tableBox.withLockedValue { $0 = t } }

    /// Makes the connection source of an event loop (tests inject fakes).
    let makeConnector: @Sendable (EventLoop, ProxyConfig) -> any UpstreamConnecting

    func pool(for loop: EventLoop) -> any UpstreamConnecting {
        pools.withLockedValue { p in
            let id = ObjectIdentifier(loop as AnyObject)
            if let existing = p[id] { return existing }
            let new = makeConnector(loop, config)
            p[id] = new
            return new
        }
    }

    private let heldBox = NIOLockedValueBox(0)

    /// The largest request-body prefix any exchange has held in memory (for retries, mirrors, or
    /// while the upstream connection was being opened): the measure of "bounded memory" for
    /// streamed bodies.
    public var maxBufferedRequestBytes: Int { heldBox.withLockedValue { $0 } }

    func noteBufferedRequestBytes(_ n: Int) {
        heldBox.withLockedValue { if n > $0 { $0 = n } }
    }

    /// Open upstream connections across all loops (approximate: read without the loops' cooperation).
    public var upstreamConnectionCount: Int { pools.withLockedValue { $0.values.reduce(0) { $0 + $1.openConnections } } }
}
