import Foundation
import NIOConcurrencyHelpers
import Proxy

/// Request metrics with bounded label sets, exposed in the Prometheus text format.
///
/// Labels are the Gateway API identities a request went through — gateway address, listener,
/// route (kind/namespace/name/rule), backend Service — and the status class; never a raw path or
/// host (linkerd2-proxy's typed identities, ../shared/DESIGN.md §4.8). Their number is bounded by
/// the configuration, not by traffic.
public final class Metrics: ProxyObserver, @unchecked Sendable {
    struct Key: Hashable {
        var gateway: String
        var listener: String
        var route: String
        var backend: String
        var statusClass: String
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
    private var latency: [Key: Histogram] = [:]
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
        let route = r.route.map { "\($0.kind)/\($0.namespace)/\($0.name)/\($0.ruleIndex)" } ?? ""
        let key = Key(gateway: r.gateway, listener: r.listener, route: route, backend: r.backend ?? "",
                      statusClass: "\(r.status / 100)xx")
        let bucket = Self.bucketBounds.firstIndex { r.durationSeconds <= $0 }
        lock.withLock {
            requests[key, default: 0] += 1
            // Updated in place: copying the histogram out and back would copy its bucket array
            // (an allocation per request). Buckets are cumulative in the exposition, so only the
            // first matching one is counted here and `render` sums them.
            if latency[key] == nil { latency[key] = Histogram(buckets: Array(repeating: 0, count: Self.bucketBounds.count)) }
            if let bucket { latency[key]!.buckets[bucket] += 1 }
            latency[key]!.sum += r.durationSeconds
            latency[key]!.count += 1
        }
        accessLog?.write(r)
    }

    public func rejected(status: Int, reason: String) { lock.withLock { rejections[status, default: 0] += 1 } }
    public func connectionRefused() { lock.withLock { refusedConnections += 1 } }

    public func setConfigVersion(_ v: Int) { lock.withLock { configVersion = v } }
    public func reloaded(errors: Int) { lock.withLock { reloads += 1; reloadErrors += errors } }
    public func setUpstreamConnectionGauge(_ f: @escaping @Sendable () -> Int) { lock.withLock { upstreamConnections = f } }

    /// Prometheus text exposition format 0.0.4.
    public func render() -> String {
        let (req, lat, version, rl, rle, conns) = lock.withLock { (requests, latency, configVersion, reloads, reloadErrors, upstreamConnections) }
        let (rejected, refused) = lock.withLock { (rejections, refusedConnections) }
        var out = ""
        out += "# HELP sluice_requests_total Requests handled, by Gateway, listener, route rule, backend and status class.\n"
        out += "# TYPE sluice_requests_total counter\n"
        for (k, v) in req.sorted(by: { Self.labels($0.key) < Self.labels($1.key) }) {
            out += "sluice_requests_total{\(Self.labels(k))} \(v)\n"
        }
        out += "# HELP sluice_request_duration_seconds Time from request head to response end.\n"
        out += "# TYPE sluice_request_duration_seconds histogram\n"
        for (k, h) in lat.sorted(by: { Self.labels($0.key) < Self.labels($1.key) }) {
            let l = Self.labels(k)
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

    static func labels(_ k: Key) -> String {
        "gateway=\"\(escape(k.gateway))\",listener=\"\(escape(k.listener))\",route=\"\(escape(k.route))\",backend=\"\(escape(k.backend))\",code=\"\(k.statusClass)\""
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
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
