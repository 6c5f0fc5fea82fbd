import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// What a listener port does with requests.
enum ListenerRole: Sendable {
    /// echo-basic `HTTP_PORT`: the route table of ECHO.md §a.
    case basicPlain
    /// echo-basic `H2C_PORT`: echo only; HTTP/1.x needs `Upgrade: h2c` (ECHO.md §b).
    case basicH2C
    /// echo-advanced `--port`: Istio echo.
    case advanced
}

/// One request as the handlers hand it to the ``Responder`` (protocol-independent).
struct EchoRequest {
    var method: String
    /// The raw request target (HTTP/1) or `:path` (HTTP/2), untouched.
    var target: String
    /// `HTTP/1.0`, `HTTP/1.1` or `HTTP/2.0`.
    var proto: String
    /// `Host` (HTTP/1) or `:authority` (HTTP/2).
    var host: String
    /// Header field lines in arrival order, names as received, without `Host`, pseudo-headers or
    /// `Transfer-Encoding`.
    var headers: [(name: String, value: String)]
    var peer: SocketAddress?
    /// The local port the connection arrived on.
    var localPort: Int
    var isHTTP2: Bool

    func values(_ name: String) -> [String] {
        headers.filter { $0.name.equalsIgnoringASCIICase(name) }.map(\.value)
    }
    func first(_ name: String) -> String? { values(name).first }

    /// `ip:port`, IPv6 in brackets (Go's `RemoteAddr`).
    var peerDescription: String {
        guard let peer, let ip = peer.ipAddress else { return "" }
        let port = peer.port ?? 0
        if case .v6 = peer { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }
    var peerIP: String { peer?.ipAddress ?? "" }
}

extension String {
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        self.utf8.count == other.utf8.count
            && zip(self.utf8, other.utf8).allSatisfy { a, b in
                a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= 0x61 && (a | 0x20) <= 0x7a)
            }
    }
}

/// What to do with a request.
struct EchoReply {
    enum Disposition {
        /// Send the response; keep the connection if the request allows it.
        case respond
        /// Send the response, then close the connection (HTTP/1) or end the stream (HTTP/2).
        case respondAndClose
        /// No response: close the connection (HTTP/1) or reset the stream (HTTP/2).
        case abort
        /// No response: close the TCP connection with `SO_LINGER` 0 so the peer sees an RST.
        case reset
        /// Switch to WebSocket: send `101` with these headers, then run the echo.
        case webSocket(WebSocketEcho.Kind)
    }

    /// Applied before anything is written.
    var delayNanos: Int64 = 0
    /// Sent first as an informational response (`/status/1xx`; HTTP/1 only).
    var interimStatus: Int?
    var status: Int = 200
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []
    var disposition: Disposition = .respond

    static func text(_ status: Int, _ body: String, contentType: String? = "text/plain; charset=utf-8") -> EchoReply {
        var r = EchoReply(status: status, body: Array(body.utf8))
        if let contentType { r.headers.append(("Content-Type", contentType)) }
        return r
    }

    /// `{"message":"..."}` with status 500 (ECHO.md §a, error bodies).
    static func jsonError(_ message: String) -> EchoReply {
        var r = EchoReply(status: 500, body: Array(("{\"message\":" + jsonString(message) + "}").utf8))
        r.headers = [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff")]
        return r
    }
}

/// The per-server request logic shared by the HTTP/1 and HTTP/2 handlers.
final class Responder: Sendable {
    let config: EchoConfig
    /// `/retry` attempt counters (ECHO.md §a): per uuid, process-wide, never reset.
    private let retryCounts = NIOLockedValueBox<[String: Int]>([:])

    init(config: EchoConfig) { self.config = config }

    func respond(_ request: EchoRequest, role: ListenerRole) -> EchoReply {
        switch role {
        case .basicPlain: return basicRoute(request)
        case .basicH2C:
            if !request.isHTTP2, request.first("Upgrade") != "h2c" {
                var r = EchoReply.text(400, "Expected h2c request\n")
                r.headers.append(("X-Content-Type-Options", "nosniff"))
                return r
            }
            return basicEcho(request)
        case .advanced: return advancedRespond(request)
        }
    }

    // MARK: echo-basic

    private func basicRoute(_ request: EchoRequest) -> EchoReply {
        // Routing only looks at the path, with `//` collapsed ("preserve slashes"); the echoed
        // path stays the raw target. Paths Go's mux would redirect are echoed instead (SHOULD).
        let rawPath = request.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first
            .map(String.init) ?? ""
        let path = rawPath.replacingOccurrences(of: "//", with: "/")
        if path == "/health" { return .text(200, "OK") }
        if path.hasPrefix("/status/") { return statusCode(request) }
        if path.hasPrefix("/retry/") { return retry(request) }
        if path == "/ws" { return WebSocketEcho.handshake(request, kind: .basic, log: config.log) }
        return basicEcho(request)
    }

    /// The echo handler (ECHO.md §a "Echo response"): log, delay, JSON, `X-Echo-Set-Header`.
    func basicEcho(_ request: EchoRequest) -> EchoReply {
        config.log("Echoing back request made to \(request.target) to client (\(request.peerDescription))")
        var delay: Int64 = 0
        if let d = GoQuery(target: request.target).first("delay"), !d.isEmpty {
            switch GoDuration.parse(d) {
            case .success(let n): delay = max(0, n)
            case .failure(let e): return .jsonError(e.message)
            }
        }
        var reply = EchoReply(delayNanos: delay, status: 200)
        // Sluice's own extension (not in ECHO.md): `ECHO_MESSAGE` answers that text instead of the
        // JSON, for demos such as examples/gamma-header-routing ("Hello from Version 1").
        if let message = config.env["ECHO_MESSAGE"], !message.isEmpty {
            reply.body = Array((message + "\n").utf8)
            reply.headers.append(("Content-Type", "text/plain; charset=utf-8"))
            return reply
        }
        reply.body = Array(basicJSON(request).utf8)
        // Requested headers first; the fixed ones then replace any with the same canonical name.
        // Framing headers are left to the HTTP stack so a request cannot break the response.
        for (name, value) in echoSetHeaders(request.values("X-Echo-Set-Header"))
        where name != "Content-Type" && name != "X-Content-Type-Options"
            && !["content-length", "transfer-encoding"].contains(name.lowercased())
        {
            reply.headers.append((name, value))
        }
        reply.headers.append(("Content-Type", "application/json"))
        reply.headers.append(("X-Content-Type-Options", "nosniff"))
        return reply
    }

    /// The JSON body: `path`, `host`, `method`, `proto`, `headers`, `httpPort`, `namespace`,
    /// `ingress`, `service`, `pod`; one-space indentation, header names canonical and sorted.
    func basicJSON(_ request: EchoRequest) -> String {
        var grouped: [String: [String]] = [:]
        for (name, value) in request.headers {
            grouped[canonicalHeaderName(name), default: []].append(value)
        }
        var out = "{\n"
        out += " \"path\": \(jsonString(request.target)),\n"
        out += " \"host\": \(jsonString(request.host)),\n"
        out += " \"method\": \(jsonString(request.method)),\n"
        out += " \"proto\": \(jsonString(request.proto)),\n"
        if grouped.isEmpty {
            out += " \"headers\": {},\n"
        } else {
            out += " \"headers\": {\n"
            let names = grouped.keys.sorted(by: goLess)
            for (i, name) in names.enumerated() {
                out += "  \(jsonString(name)): [\n"
                let values = grouped[name]!
                for (j, v) in values.enumerated() {
                    out += "   \(jsonString(v))" + (j + 1 < values.count ? ",\n" : "\n")
                }
                out += "  ]" + (i + 1 < names.count ? ",\n" : "\n")
            }
            out += " },\n"
        }
        out += " \"httpPort\": \(jsonString(config.env["HTTP_PORT"] ?? "3000")),\n"
        out += " \"namespace\": \(jsonString(config.namespace)),\n"
        out += " \"ingress\": \(jsonString(config.env["INGRESS_NAME"] ?? "")),\n"
        out += " \"service\": \(jsonString(config.env["SERVICE_NAME"] ?? "")),\n"
        out += " \"pod\": \(jsonString(config.podName))\n"
        out += "}"
        return out
    }

    /// `/status/NNN`: the whole raw target must be exactly `/status/` plus three digits.
    private func statusCode(_ request: EchoRequest) -> EchoReply {
        let t = Array(request.target.utf8)
        let prefix = Array("/status/".utf8)
        guard t.count == prefix.count + 3, t.starts(with: prefix),
              t[prefix.count...].allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let code = Int(String(decoding: t[prefix.count...], as: UTF8.self))
        else {
            return EchoReply(status: 400)
        }
        return statusOnly(code)
    }

    /// A bare status response; Go aborts the connection for codes below 100 and turns 1xx into an
    /// interim response followed by a final 200.
    private func statusOnly(_ code: Int) -> EchoReply {
        if code < 100 || code > 999 { return EchoReply(disposition: .abort) }
        if code < 200 {
            return EchoReply(interimStatus: code == 101 ? nil : code, status: 200)
        }
        return EchoReply(status: code)
    }

    /// `/retry/...` (ECHO.md §a): fail the first `succeedAfter` attempts per uuid.
    private func retry(_ request: EchoRequest) -> EchoReply {
        let query = GoQuery(target: request.target)
        guard let uuid = query.first("uuid"), !uuid.isEmpty else { return .text(400, "uuid is required") }
        guard let n = query.first("succeedAfter").flatMap(goAtoi) else {
            return .text(400, "succeedAfter is required")
        }
        let fail: Bool = retryCounts.withLockedValue { counts in
            let c = counts[uuid, default: 0]
            if c < n {
                counts[uuid] = c + 1
                return true
            }
            return false
        }
        guard fail else { return basicEcho(request) }
        var delay: Int64 = 0
        if let d = query.first("delayRetry"), !d.isEmpty {
            switch GoDuration.parse(d) {
            case .success(let v): delay = max(0, v)
            case .failure(let e): return .jsonError(e.message)
            }
        }
        var reply: EchoReply
        if let code = query.first("responseCode").flatMap(goAtoi) {
            reply = statusOnly(code)
        } else if request.isHTTP2 {
            reply = .jsonError("cannot reset an HTTP/2 stream's connection")
        } else {
            reply = EchoReply(disposition: .reset)
        }
        reply.delayNanos = delay
        return reply
    }

    // MARK: echo-advanced (Istio)

    private func advancedRespond(_ request: EchoRequest) -> EchoReply {
        if WebSocketEcho.isUpgradeRequest(request) {
            return WebSocketEcho.handshake(request, kind: .advanced(istioFields(request)), log: config.log)
        }
        var errors = ""
        let query = GoQuery(target: request.target)
        var reply = EchoReply()
        if let d = query.first("delay"), !d.isEmpty {
            switch GoDuration.parse(d) {
            case .success(let n): reply.delayNanos = max(0, n)
            case .failure(let e): errors += "error delaying response error: \(e.message)\n"
            }
        }
        if let h = query.first("headers"), !h.isEmpty {
            for item in h.split(separator: ",", omittingEmptySubsequences: false) {
                let parts = item.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    errors += "response headers error: invalid \(goQuote(String(item))) (want name:value)\n"
                    break
                }
                let name = canonicalHeaderName(String(parts[0]))
                if isToken(name) { reply.headers.append((name, String(parts[1]))) }
            }
        }
        switch Self.pickCode(query.first("codes") ?? "") {
        case .success(let code): reply.status = code
        case .failure(let e):
            reply.status = 400
            errors += "codes error: \(e.message)\n"
        }
        reply.headers.append(("Content-Type", "application/text"))
        reply.body = Array((errors + istioFields(request)).utf8)
        return reply
    }

    /// The Istio response payload (ECHO.md §h "Istio server HTTP response body").
    func istioFields(_ request: EchoRequest) -> String {
        var out = ""
        func field(_ key: String, _ value: String) { out += "\(key)=\(value)\n" }
        field("ServiceVersion", "")
        field("ServicePort", String(request.localPort))
        field("Host", request.host)
        field("URL", request.target)
        if !config.namespace.isEmpty { field("Namespace", config.namespace) }
        field("Method", request.method)
        field("Proto", request.proto)
        field("IP", request.peerIP)
        var grouped: [String: [String]] = [:]
        for (name, value) in request.headers {
            grouped[canonicalHeaderName(name), default: []].append(value)
        }
        for name in grouped.keys.sorted(by: goLess) {
            for value in grouped[name]! { field("RequestHeader", "\(name):\(value)") }
        }
        field("Hostname", config.podName)
        return out
    }

    struct CodesError: Error { var message: String }

    /// `?codes=code[:weight][,...]`: a weighted random status in 200...599.
    static func pickCode(_ spec: String, random: (Int) -> Int = { Int.random(in: 0..<$0) })
        -> Result<Int, CodesError>
    {
        if spec.isEmpty { return .success(200) }
        var choices: [(code: Int, weight: Int)] = []
        for item in spec.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else {
                return .failure(.init(message: "invalid \(goQuote(String(item))) (want code or code:count)"))
            }
            guard let code = goAtoi(String(parts[0])) else {
                return .failure(.init(message: "strconv.Atoi: parsing \(goQuote(String(parts[0]))): invalid syntax"))
            }
            guard (200..<600).contains(code) else {
                return .failure(.init(message: "invalid HTTP response code \(code)"))
            }
            var weight = 1
            if parts.count == 2 {
                guard let w = goAtoi(String(parts[1])) else {
                    return .failure(.init(
                        message: "strconv.Atoi: parsing \(goQuote(String(parts[1]))): invalid syntax"))
                }
                guard w >= 0 else { return .failure(.init(message: "invalid count \(w)")) }
                weight = w
            }
            choices.append((code, weight))
        }
        let total = choices.reduce(0) { $0 + $1.weight }
        guard total > 0 else { return .success(choices.last?.code ?? 200) }
        var slice = random(total)
        for choice in choices {
            if slice < choice.weight { return .success(choice.code) }
            slice -= choice.weight
        }
        return .success(choices.last!.code)
    }
}

/// Parses `X-Echo-Set-Header` values (ECHO.md §a): split on `,`, trim, split at the first `:`;
/// names keep their case; a repeated exact name appends `,value` to the first; invalid items
/// are dropped.
func echoSetHeaders(_ values: [String]) -> [(name: String, value: String)] {
    var out: [(name: String, value: String)] = []
    var index: [String: Int] = [:]
    for value in values {
        for rawItem in value.split(separator: ",", omittingEmptySubsequences: false) {
            let item = trimSpace(rawItem)
            if item.isEmpty { continue }
            let name: String
            let v: String
            if let colon = item.firstIndex(of: ":") {
                name = String(item[..<colon])
                v = trimSpace(item[item.index(after: colon)...])
            } else {
                name = item
                v = ""
            }
            guard isToken(name) else { continue }
            if let i = index[name] {
                out[i].value += "," + v
            } else {
                index[name] = out.count
                out.append((name, v))
            }
        }
    }
    return out
}
