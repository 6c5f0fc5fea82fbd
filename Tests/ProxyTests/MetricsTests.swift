import IR
@testable import Proxy
import Telemetry
import Testing

/// The latency histogram: counted in place per request, exposed cumulatively (Prometheus buckets
/// count every observation ≤ their bound).
@Suite struct MetricsTests {
    static func record(_ seconds: Double) -> RequestRecord {
        RequestRecord(listener: "http", gateway: "127.3.0.1:80", route: nil, backend: "ns/svc:80", method: "GET", path: "/",
                      host: "h", status: 200, durationSeconds: seconds, upstreamAddress: nil, attempts: 1, error: nil)
    }

    @Test("buckets are cumulative: 0.3 ms, 3 ms and 20 s requests give le=0.0005 → 1, le=0.005 → 2, le=10 → 2, +Inf → 3")
    func cumulativeBuckets() {
        let m = Metrics()
        m.record(Self.record(0.0003))
        m.record(Self.record(0.003))
        m.record(Self.record(20))
        let text = m.render()
        func bucket(_ le: String) -> String? {
            text.split(separator: "\n").first { $0.hasPrefix("sluice_request_duration_seconds_bucket{") && $0.contains("le=\"\(le)\"") }
                .map { String($0.split(separator: " ").last!) }
        }
        #expect(bucket("0.0005") == "1", "\(text)")
        #expect(bucket("0.001") == "1")
        #expect(bucket("0.005") == "2")
        #expect(bucket("10.0") == "2")
        #expect(bucket("+Inf") == "3")
        #expect(text.contains("sluice_request_duration_seconds_count{") && text.contains("} 3\n"))
    }

    @Test("malformed requests and refused connections are counted (logged at debug only: no log amplification)")
    func rejectionsCounted() {
        let m = Metrics()
        m.rejected(status: 400, reason: "invalid header")
        m.rejected(status: 400, reason: "host differs from :authority")
        m.rejected(status: 431, reason: "headerOverflow")
        m.connectionRefused()
        let text = m.render()
        #expect(text.contains("sluice_rejected_requests_total{code=\"400\"} 2\n"), "\(text)")
        #expect(text.contains("sluice_rejected_requests_total{code=\"431\"} 1\n"))
        #expect(text.contains("sluice_refused_connections_total 1\n"))
    }

    static func routed(_ route: String, rule: Int, status: Int, backend: String) -> RequestRecord {
        RequestRecord(listener: "http", gateway: "127.3.0.1:80", route: RouteRef(kind: "HTTPRoute", namespace: "ns", name: route, ruleIndex: rule),
                      backend: backend, method: "GET", path: "/x", host: "h", status: status, durationSeconds: 0.001,
                      upstreamAddress: nil, attempts: 1, error: nil)
    }

    @Test("series are bounded per route (route × status class, not rule × backend × code); one histogram per parent")
    func boundedSeries() {
        let m = Metrics()
        for route in 0..<100 {
            for rule in 0..<3 {
                for backend in ["a", "b"] {
                    for status in [200, 201, 404, 503] { m.record(Self.routed("r\(route)", rule: rule, status: status, backend: backend)) }
                }
            }
        }
        let lines = m.render().split(separator: "\n").filter { !$0.hasPrefix("#") }
        let requests = lines.filter { $0.hasPrefix("sluice_requests_total{") }
        #expect(requests.count == 300, "100 routes × 3 status classes, got \(requests.count)")
        let histograms = lines.filter { $0.hasPrefix("sluice_request_duration_seconds_count{") }
        #expect(histograms.count == 1, "one histogram for the one listener")
        #expect(requests.contains { $0 == "sluice_requests_total{gateway=\"127.3.0.1:80\",listener=\"http\",route=\"HTTPRoute/ns/r7\",code=\"2xx\"} 12" })
    }

    @Test("series of routes that left the configuration are dropped on the next apply")
    func deletedRoutesDisappear() {
        let m = Metrics()
        m.record(Self.routed("kept", rule: 0, status: 200, backend: "a"))
        m.record(Self.routed("gone", rule: 0, status: 200, backend: "a"))
        m.retain(routes: [RouteRef(kind: "HTTPRoute", namespace: "ns", name: "kept", ruleIndex: 2)])
        let text = m.render()
        #expect(text.contains("route=\"HTTPRoute/ns/kept\""))
        #expect(!text.contains("route=\"HTTPRoute/ns/gone\""), "\(text)")
    }
}
