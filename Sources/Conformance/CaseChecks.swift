import Foundation
import GatewayAPI
import NIOHTTP1

/// A request as the runner sends it for one CASE (../shared/conformance/FORMAT.md, CONVENTIONS-gateway.md).
struct SentRequest {
    var method: String
    /// Request target with query.
    var target: String
    var host: String
    var headers: [(String, String)]
}

/// The checks of one CASE against the response, with the suite's semantics
/// (CONVENTIONS-gateway.md "CASE"). Returns nil when the case passes, else what differed.
enum CaseChecks {
    static func expectedStatuses(_ c: Value) -> [Int] {
        var codes = c["response"]?["statusCodes"]?.array?.compactMap(\.int) ?? []
        if codes.isEmpty { codes = [200] }
        // "timeoutExpected is true when the list contains 408 or 504; the suite then accepts either."
        if c["timeoutExpected"]?.bool == true || codes.contains(408) || codes.contains(504) { codes += [408, 504] }
        return codes
    }

    static func check(_ c: Value, sent: SentRequest, response r: ConformanceResponse) -> String? {
        let want = expectedStatuses(c)
        guard want.contains(r.status) else {
            return "status \(r.status), want \(want)" + (r.status >= 400 ? " (body: \(String(decoding: r.body.prefix(120), as: UTF8.self)))" : "")
        }
        if r.status >= 300 && r.status < 400, let redirect = c["redirect"], redirect.object != nil {
            if let m = checkRedirect(redirect, response: r, sent: sent) { return m }
        }
        // "backend, namespace, expectedRequest, response headers and absentHeaders are only checked
        // when the status is 200 or 204 (suite behaviour)."
        guard r.status == 200 || r.status == 204 else { return nil }
        if let m = checkResponseHeaders(c["response"], r) { return m }
        let backend = c["backend"]?.string ?? ""
        let namespace = c["namespace"]?.string
        let expectedRequest = c["expectedRequest"]
        let needsEcho = !backend.isEmpty || namespace != nil || expectedRequest?.object != nil
        guard needsEcho else { return nil }
        if let er = expectedRequest, er.object != nil, er["path"]?.string == "" {
            return nil  // "`""` means the response was not an echo" (e.g. a CORS preflight)
        }
        guard let echo = r.echo else { return "response is not an echo JSON: \(String(decoding: r.body.prefix(120), as: UTF8.self))" }
        if !backend.isEmpty {
            let pod = echo["pod"] as? String ?? ""
            if !pod.hasPrefix(backend) { return "answered by pod \(pod), want \(backend)-*" }
        }
        if let ns = namespace, (echo["namespace"] as? String ?? "") != ns {
            return "echo namespace \(echo["namespace"] as? String ?? ""), want \(ns)"
        }
        return checkExpectedRequest(expectedRequest, echo: echo, sent: sent)
    }

    static func echoHeader(_ echo: [String: Any], _ name: String) -> String? {
        guard let headers = echo["headers"] as? [String: Any] else { return nil }
        for (k, v) in headers where k.lowercased() == name.lowercased() {
            if let list = v as? [String] { return list.joined(separator: ",") }
            if let s = v as? String { return s }
        }
        return nil
    }

    static func checkExpectedRequest(_ er: Value?, echo: [String: Any], sent: SentRequest) -> String? {
        let seenPath = echo["path"] as? String ?? ""
        let seenMethod = echo["method"] as? String ?? ""
        let seenHost = echo["host"] as? String ?? ""
        guard let er, er.object != nil else {
            // "null = the backend must see the request as sent".
            if seenPath != sent.target { return "backend saw path \(seenPath), want \(sent.target)" }
            if seenMethod != sent.method { return "backend saw method \(seenMethod), want \(sent.method)" }
            if !sent.host.isEmpty, seenHost != sent.host { return "backend saw host \(seenHost), want \(sent.host)" }
            for (n, v) in sent.headers where n.lowercased() != "x-echo-set-header" {
                if echoHeader(echo, n) != v { return "backend saw \(n): \(echoHeader(echo, n) ?? "(absent)"), want \(v)" }
            }
            return nil
        }
        if let p = er["path"]?.string, seenPath != p { return "backend saw path \(seenPath), want \(p)" }
        if let m = er["method"]?.string, !m.isEmpty, seenMethod != m { return "backend saw method \(seenMethod), want \(m)" }
        if let h = er["host"]?.string, !h.isEmpty, seenHost != h { return "backend saw host \(seenHost), want \(h)" }
        for (n, v) in er["headers"]?.object ?? Object() {
            let want = v.string ?? v.array?.compactMap(\.string).joined(separator: ",") ?? ""
            if echoHeader(echo, n) != want { return "backend saw \(n): \(echoHeader(echo, n) ?? "(absent)"), want \(want)" }
        }
        for a in er["absentHeaders"]?.array?.compactMap(\.string) ?? [] where echoHeader(echo, a) != nil {
            return "backend saw header \(a), which must be absent"
        }
        return nil
    }

    static func checkResponseHeaders(_ resp: Value?, _ r: ConformanceResponse) -> String? {
        func ws(_ s: String) -> String { resp?["ignoreWhitespace"]?.bool == true ? s.replacingOccurrences(of: " ", with: "") : s }
        for (n, v) in resp?["headers"]?.object ?? Object() {
            let got = r.headers[n].joined(separator: ",")
            let want = v.string ?? ""
            if r.headers[n].isEmpty || ws(got) != ws(want) { return "response header \(n): \(got.isEmpty ? "(absent)" : got), want \(want)" }
        }
        for a in resp?["absentHeaders"]?.array?.compactMap(\.string) ?? [] where !r.headers[a].isEmpty {
            return "response header \(a) must be absent (is \(r.headers[a].joined(separator: ",")))"
        }
        for (n, v) in resp?["validHeaderValues"]?.object ?? Object() {
            let allowed = v.array?.compactMap(\.string) ?? []
            let got = r.headers[n].joined(separator: ",")
            if !allowed.map(ws).contains(ws(got)) { return "response header \(n): \(got), want one of \(allowed)" }
        }
        return nil
    }

    /// "`redirect`: only checked when the status is a redirect. Missing `host` = not checked; missing
    /// `scheme` = the request's scheme; missing `path` = the request's path; missing `port` = for
    /// http 80 or none, for https 443 or none."
    static func checkRedirect(_ want: Value, response r: ConformanceResponse, sent: SentRequest) -> String? {
        guard let location = r.headers.first(name: "location"), let url = URLComponents(string: location) else {
            return "redirect without a Location"
        }
        let scheme = want["scheme"]?.string ?? "http"
        if (url.scheme ?? "") != scheme { return "redirect scheme \(url.scheme ?? ""), want \(scheme) (Location: \(location))" }
        if let host = want["host"]?.string, !host.isEmpty, (url.host ?? "") != host {
            return "redirect host \(url.host ?? ""), want \(host) (Location: \(location))"
        }
        let portWanted = want["port"]?.string.flatMap(Int.init) ?? want["port"]?.int
        if let p = portWanted {
            let defaultPort = (scheme == "http" && p == 80) || (scheme == "https" && p == 443)
            if url.port != p && !(defaultPort && url.port == nil) { return "redirect port \(url.port.map(String.init) ?? "none"), want \(p) (Location: \(location))" }
        } else if let got = url.port {
            let ok = (scheme == "http" && got == 80) || (scheme == "https" && got == 443)
            if !ok { return "redirect port \(got), want the scheme's default (Location: \(location))" }
        }
        let sentPath = String(sent.target.split(separator: "?", maxSplits: 1).first ?? "")
        let path = want["path"]?.string ?? sentPath
        if url.path != path { return "redirect path \(url.path), want \(path) (Location: \(location))" }
        return nil
    }
}
