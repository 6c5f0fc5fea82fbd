import Foundation
import IR
import NIOConcurrencyHelpers
import Proxy

/// Request metrics with bounded label sets, exposed in the Prometheus text format.
///
/// Labels are the Gateway API identities a request went through — never a raw path or host
/// (linkerd2-proxy's typed identities, ../shared/DESIGN.md §4.8) — and sized so a scrape stays cheap
/// at thousands of routes:
/// - `sluice_requests_total{gateway, listener, route, code}`: per route (kind/namespace/name) and
///   status class — at most 5 series per route and parent;
/// - `sluice_request_duration_seconds{gateway, listener}`: one histogram per parent (Gateway
///   listener or mesh Service port), as OpenTelemetry's `http.server.request.duration` is per
///   server, not per route;
/// - series of routes that left the configuration are dropped on the next apply (`retain`).
public final class Metrics: ProxyObserver, @unchecked Sendable {
    /// A Gateway listener (`gateway` = bind address) or a mesh Service port.
    struct Parent: Hashable {
        var gateway: String
        var listener: String
    }

    /// A route without its rule: the request counter's identity.
    struct RouteID: Hashable {
        var kind: String
        var namespace: String
        var name: String
        var label: String { kind.isEmpty ? "" : "\(kind)/\(namespace)/\(name)" }
    }

    struct Key: Hashable {
        var parent: Parent
        var route: RouteID
        /// 1...5 (the status code's hundreds).
        var statusClass: Int
    }

    struct Histogram {
        var buckets: [Int]
        var sum = 0.0
        var count = 0
    }

    /// Latency buckets in seconds.
    public static let bucketBounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private let lock = NIOLock()
    private var requests: [Key: Int] = [:]
    private var latency: [Parent: Histogram] = [:]
    private var configVersion = 0
    private var reloads = 0
    private var reloadErrors = 0
    /// Requests refused before routing, by status code (400/431/501: a bounded set).
    private var rejections: [Int: Int] = [:]
    private var refusedConnections = 0
    private var upstreamConnections: @Sendable () -> Int = { 0 }
    private let accessLog: AccessLog?

    public init(accessLog: AccessLog? = nil) {
        self.accessLog = accessLog
    }

    public func record(_ r: RequestRecord) {
        let parent = Parent(gateway: r.gateway, listener: r.listener)
        let route = r.route.map { RouteID(kind: $0.kind, namespace: $0.namespace, name: $0.name) } ?? RouteID(kind: "", namespace: "", name: "")
        let key = Key(parent: parent, route: route, statusClass: min(5, max(1, r.status / 100)))
        let bucket = Self.bucketBounds.firstIndex { r.durationSeconds <= $0 }
        lock.withLock {
            requests[key, default: 0] += 1
            // Updated in place: copying the histogram out and back would copy its bucket array
            // (an allocation per request). Buckets are cumulative in the exposition, so only the
            // first matching one is counted here and `render` sums them.
            if latency[parent] == nil { latency[parent] = Histogram(buckets: Array(repeating: 0, count: Self.bucketBounds.count)) }
            if let bucket { latency[parent]!.buckets[bucket] += 1 }
            latency[parent]!.sum += r.durationSeconds
            latency[parent]!.count += 1
        }
        accessLog?.write(r)
    }

    /// Drops the request series of routes that are no longer configured, so deleted routes do not
    /// accumulate series (the histogram is per parent and stays).
    public func retain(routes: Set<RouteRef>) {
        let live = Set(routes.map { RouteID(kind: $0.kind, namespace: $0.namespace, name: $0.name) })
        lock.withLock {
            requests = requests.filter { $0.key.route.kind.isEmpty || live.contains($0.key.route) }
        }
    }

    public func rejected(status: Int, reason: String) { lock.withLock { rejections[status, default: 0] += 1 } }
    public func connectionRefused() { lock.withLock { refusedConnections += 1 } }

    public func setConfigVersion(_ v: Int) { lock.withLock { configVersion = v } }
    public func reloaded(errors: Int) { lock.withLock { reloads += 1; reloadErrors += errors } }
    public func setUpstreamConnectionGauge(_ f: @escaping @Sendable () -> Int) { lock.withLock { upstreamConnections = f } }

    /// Prometheus text exposition format 0.0.4. Labels are rendered once per series, sorting uses
    /// the rendered labels (computed once, not in the comparator).
    public func render() -> String {
        let (req, lat, version, rl, rle, conns) = lock.withLock { (requests, latency, configVersion, reloads, reloadErrors, upstreamConnections) }
        let (rejected, refused) = lock.withLock { (rejections, refusedConnections) }
        var out = ""
        out.reserveCapacity(req.count * 120 + lat.count * 1_500 + 2_000)
        out += "# HELP sluice_requests_total Requests handled, by parent (Gateway listener or Service port), route and status class.\n"
        out += "# TYPE sluice_requests_total counter\n"
        for (labels, v) in req.map({ (Self.labels($0.key), $0.value) }).sorted(by: { $0.0 < $1.0 }) {
            out += "sluice_requests_total{"; out += labels; out += "} "; out += String(v); out += "\n"
        }
        out += "# HELP sluice_request_duration_seconds Time from request head to response end, per parent (Gateway listener or Service port).\n"
        out += "# TYPE sluice_request_duration_seconds histogram\n"
        for (l, h) in lat.map({ (Self.labels($0.key), $0.value) }).sorted(by: { $0.0 < $1.0 }) {
            var cumulative = 0
            for (i, b) in Self.bucketBounds.enumerated() {
                cumulative += h.buckets[i]
                out += "sluice_request_duration_seconds_bucket{\(l),le=\"\(b)\"} \(cumulative)\n"
            }
            out += "sluice_request_duration_seconds_bucket{\(l),le=\"+Inf\"} \(h.count)\n"
            out += "sluice_request_duration_seconds_sum{\(l)} \(h.sum)\n"
            out += "sluice_request_duration_seconds_count{\(l)} \(h.count)\n"
        }
        out += "# HELP sluice_upstream_connections Open connections to upstream endpoints.\n# TYPE sluice_upstream_connections gauge\n"
        out += "sluice_upstream_connections \(conns())\n"
        out += "# HELP sluice_config_version Version of the configuration being served.\n# TYPE sluice_config_version gauge\n"
        out += "sluice_config_version \(version)\n"
        out += "# HELP sluice_config_reloads_total Configuration reloads.\n# TYPE sluice_config_reloads_total counter\n"
        out += "sluice_config_reloads_total \(rl)\n"
        out += "# HELP sluice_config_reload_errors_total Diagnostics (errors) seen while reloading.\n# TYPE sluice_config_reload_errors_total counter\n"
        out += "sluice_config_reload_errors_total \(rle)\n"
        out += "# HELP sluice_rejected_requests_total Malformed requests refused before routing (HTTP/1 parse errors, HTTP/2 malformed heads), by status.\n"
        out += "# TYPE sluice_rejected_requests_total counter\n"
        for (code, n) in rejected.sorted(by: { $0.key < $1.key }) { out += "sluice_rejected_requests_total{code=\"\(code)\"} \(n)\n" }
        out += "# HELP sluice_refused_connections_total Connections closed at accept by a connection limit.\n"
        out += "# TYPE sluice_refused_connections_total counter\nsluice_refused_connections_total \(refused)\n"
        return out
    }

    static func labels(_ p: Parent) -> String {
        "gateway=\"\(escape(p.gateway))\",listener=\"\(escape(p.listener))\""
    }

    static func labels(_ k: Key) -> String {
        labels(k.parent) + ",route=\"\(escape(k.route.label))\",code=\"\(k.statusClass)xx\""
    }

    static func escape(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else { return s }
        return s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// Structured access log: one JSON object per request on standard output.
public final class AccessLog: @unchecked Sendable {
    private let lock = NIOLock()
    private let handle: FileHandle

    public init(handle: FileHandle = .standardOutput) { self.handle = handle }

    /// One formatter, used under `lock` (creating one per line cost more than the rest of the line).
    private let timeFormat = ISO8601DateFormatter()

    public func write(_ r: RequestRecord) {
        let time = lock.withLock { timeFormat.string(from: Date()) }
        var fields: [(String, String)] = [
            ("time", time),
            ("method", r.method), ("host", r.host), ("path", r.path), ("status", String(r.status)),
            ("duration_ms", String(format: "%.3f", r.durationSeconds * 1000)), ("gateway", r.gateway), ("listener", r.listener),
            ("attempts", String(r.attempts)),
        ]
        if let route = r.route { fields.append(("route", "\(route.kind)/\(route.namespace)/\(route.name)#\(route.ruleIndex)")) }
        if let b = r.backend { fields.append(("backend", b)) }
        if let u = r.upstreamAddress { fields.append(("upstream", u)) }
        if let e = r.error { fields.append(("error", e)) }
        if let c = r.client { fields.append(("client", c)) }
        let line = "{" + fields.map { k, v in
            (k == "status" || k == "duration_ms" || k == "attempts") ? "\"\(k)\":\(v)" : "\"\(k)\":\(Self.quote(v))"
        }.joined(separator: ",") + "}\n"
        lock.withLock { handle.write(Data(line.utf8)) }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
