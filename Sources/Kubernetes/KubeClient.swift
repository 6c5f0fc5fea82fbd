import Foundation
import GatewayAPI
import NIOCore
import NIOHTTP1
import NIOPosix

/// What went wrong talking to the API server, named the way an operator needs it.
public enum KubeError: Error, CustomStringConvertible, Sendable, Equatable {
    /// 401: the credentials were refused (expired or wrong token, unknown client certificate).
    case unauthorized(String)
    /// 403: RBAC forbids this verb on this resource; `resource` is e.g. "httproutes.gateway.networking.k8s.io".
    case forbidden(resource: String, message: String)
    case notFound(String)
    /// 409: the object changed since it was read (optimistic concurrency) or already exists.
    case conflict(String)
    /// 410 Gone: the resourceVersion is older than the server keeps ("too old resource version").
    case gone(String)
    case status(code: Int, reason: String, message: String)
    /// No connection, TLS failure, timeout.
    case unreachable(String)
    /// A streamed response ended without its final chunk (apiserver restart).
    case streamCut(String)
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .unauthorized(let m): return "401 Unauthorized: the API server refused the credentials (expired or wrong token?): \(m)"
        case .forbidden(let r, let m): return "403 Forbidden on \(r): \(m)"
        case .notFound(let m): return "404 Not Found: \(m)"
        case .conflict(let m): return "409 Conflict: \(m)"
        case .gone(let m): return "410 Gone: \(m)"
        case .status(let c, let r, let m): return "HTTP \(c) \(r): \(m)"
        case .unreachable(let m): return "API server unreachable: \(m)"
        case .streamCut(let m): return "stream cut: \(m)"
        case .invalidResponse(let m): return "invalid response: \(m)"
        }
    }

    /// Builds the error for a non-2xx answer from its `Status` body.
    static func from(status: Int, body: [UInt8], resource: String) -> KubeError {
        let v = try? JSONReader.parse(String(decoding: body, as: UTF8.self))
        let message = v?["message"]?.string ?? String(decoding: body.prefix(300), as: UTF8.self)
        let reason = v?["reason"]?.string ?? ""
        switch status {
        case 401: return .unauthorized(message)
        case 403: return .forbidden(resource: resource, message: message)
        case 404: return .notFound(message)
        case 409: return .conflict(message)
        case 410: return .gone(message)
        default: return .status(code: status, reason: reason, message: message)
        }
    }
}

/// One served resource: group/version, plural name, kind, scope (from API discovery).
public struct APIResource: Sendable, Hashable, CustomStringConvertible {
    public var group: String
    public var version: String
    public var resource: String
    public var kind: String
    public var namespaced: Bool

    public init(group: String, version: String, resource: String, kind: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.resource = resource
        self.kind = kind
        self.namespaced = namespaced
    }

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// "httproutes.gateway.networking.k8s.io", as the API server names it in 403 messages.
    public var qualifiedName: String { group.isEmpty ? resource : "\(resource).\(group)" }
    public var description: String { "\(kind) (\(apiVersion))" }

    /// The REST path of the collection (all namespaces when `namespace` is nil) or of one object.
    public func path(namespace: String? = nil, name: String? = nil, subresource: String? = nil) -> String {
        var p = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if namespaced, let namespace { p += "/namespaces/\(namespace)" }
        p += "/\(resource)"
        if let name { p += "/\(name)" }
        if let subresource { p += "/\(subresource)" }
        return p
    }
}

/// One event of a watch stream ("Efficient detection of changes", API concepts).
public enum WatchEvent: Sendable {
    case added(Value), modified(Value), deleted(Value)
    /// "a BOOKMARK event ... only contains resourceVersion": progress without a change.
    case bookmark(resourceVersion: String)
}

/// A small Kubernetes API client: JSON over HTTP/1.1 (see `Transport`).
public final class KubeClient: Sendable {
    public let config: KubeConfig
    let transport: Transport

    public init(config: KubeConfig, group: any EventLoopGroup) throws {
        self.config = config
        transport = try Transport(config: config, group: group)
    }

    // MARK: Plain verbs

    /// GETs a path and parses the JSON answer; non-2xx answers throw `KubeError`.
    public func get(_ path: String, resource: String = "") async throws -> Value {
        try await call(.GET, path, body: nil, resource: resource)
    }

    public func create(_ r: APIResource, namespace: String?, _ object: Value) async throws -> Value {
        try await call(.POST, r.path(namespace: namespace), body: object, resource: r.qualifiedName)
    }

    /// PUT: a full replace, guarded by the `metadata.resourceVersion` inside `object` (409 when stale).
    public func replace(_ r: APIResource, namespace: String?, name: String, subresource: String? = nil, _ object: Value) async throws -> Value {
        try await call(.PUT, r.path(namespace: namespace, name: name, subresource: subresource), body: object, resource: r.qualifiedName)
    }

    /// JSON merge patch (RFC 7386).
    public func mergePatch(_ r: APIResource, namespace: String?, name: String, subresource: String? = nil, _ patch: Value) async throws -> Value {
        try await call(.PATCH, r.path(namespace: namespace, name: name, subresource: subresource), body: patch,
                       contentType: "application/merge-patch+json", resource: r.qualifiedName)
    }

    public func delete(_ r: APIResource, namespace: String?, name: String) async throws {
        _ = try await call(.DELETE, r.path(namespace: namespace, name: name), body: nil, resource: r.qualifiedName)
    }

    func call(_ method: NIOHTTP1.HTTPMethod, _ path: String, body: Value?, contentType: String = "application/json",
              resource: String) async throws -> Value {
        let bytes = body.map { Array($0.renderJSON().utf8) }
        let r = try await transport.send(method, path, body: bytes, contentType: contentType)
        guard (200..<300).contains(r.status) else { throw KubeError.from(status: r.status, body: r.body, resource: resource) }
        do {
            return try JSONReader.parse(String(decoding: r.body, as: UTF8.self))
        } catch {
            throw KubeError.invalidResponse("\(method) \(path): \(error)")
        }
    }

    // MARK: List and watch

    public struct ListResult: Sendable {
        /// The items, each with `apiVersion` and `kind` set (a list's items carry neither).
        public var items: [Value]
        /// The list's resourceVersion: where a watch continues from.
        public var resourceVersion: String
        /// How many pages it took.
        public var pages: Int
    }

    /// Lists a whole collection in pages of `limit`, following `metadata.continue` ("Retrieving
    /// large results sets in chunks": "the client ... passes the continue token ... until the
    /// server returns an empty continue"). A 410 while paging (the continue token expired) throws
    /// `.gone`; the caller starts over.
    public func list(_ r: APIResource, namespace: String? = nil, limit: Int = 500) async throws -> ListResult {
        var items: [Value] = []
        var cont: String?
        var rv = ""
        var pages = 0
        repeat {
            var q = "?limit=\(limit)"
            if let cont { q += "&continue=\(Self.escape(cont))" }
            let page = try await get(r.path(namespace: namespace) + q, resource: r.qualifiedName)
            pages += 1
            for item in page["items"]?.array ?? [] {
                guard var o = item.object else { continue }
                o["apiVersion"] = .string(r.apiVersion)
                o["kind"] = .string(r.kind)
                items.append(Value(.object(o)))
            }
            rv = page["metadata"]?["resourceVersion"]?.string ?? rv
            cont = page["metadata"]?["continue"]?.string
            if cont?.isEmpty == true { cont = nil }
        } while cont != nil
        return ListResult(items: items, resourceVersion: rv, pages: pages)
    }

    /// Watches a collection from `resourceVersion` with bookmarks, calling `onEvent` for each event
    /// in order. Returns when the server ends the stream (its `timeoutSeconds` passed); throws
    /// `.gone` for an ERROR event with code 410 or an HTTP 410, `.streamCut` when the stream broke
    /// mid-way (a half-received event is dropped, never delivered).
    public func watch(_ r: APIResource, namespace: String? = nil, resourceVersion: String, timeoutSeconds: Int,
                      onEvent: (WatchEvent) async throws -> Void) async throws {
        let path = r.path(namespace: namespace)
            + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=\(timeoutSeconds)&resourceVersion=\(Self.escape(resourceVersion))"
        try await transport.exchange(.GET, path, timeout: .seconds(Int64(timeoutSeconds) + 30)) { status, next in
            guard status == 200 else {
                var body: [UInt8] = []
                while let c = try await next() { body += c.readableBytesView }
                throw KubeError.from(status: status, body: body, resource: r.qualifiedName)
            }
            // Each event is one JSON document followed by a newline.
            var pending: [UInt8] = []
            while let chunk = try await next() {
                pending += chunk.readableBytesView
                while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Array(pending[..<nl])
                    pending.removeSubrange(...nl)
                    if line.allSatisfy({ $0 == 32 || $0 == 13 }) { continue }
                    try await onEvent(try Self.decodeEvent(line, r))
                }
            }
        }
    }

    static func decodeEvent(_ line: [UInt8], _ r: APIResource) throws -> WatchEvent {
        let v: Value
        do { v = try JSONReader.parse(String(decoding: line, as: UTF8.self)) } catch {
            throw KubeError.invalidResponse("watch \(r.qualifiedName): \(error)")
        }
        guard let type = v["type"]?.string, var object = v["object"]?.object else {
            throw KubeError.invalidResponse("watch \(r.qualifiedName): event without type/object")
        }
        if type == "ERROR" {
            let code = v["object"]?["code"]?.int ?? 0
            let message = v["object"]?["message"]?.string ?? "watch error"
            if code == 410 { throw KubeError.gone(message) }
            throw KubeError.status(code: code, reason: v["object"]?["reason"]?.string ?? "", message: message)
        }
        object["apiVersion"] = .string(r.apiVersion)
        object["kind"] = .string(r.kind)
        let o = Value(.object(object))
        switch type {
        case "ADDED": return .added(o)
        case "MODIFIED": return .modified(o)
        case "DELETED": return .deleted(o)
        case "BOOKMARK": return .bookmark(resourceVersion: o["metadata"]?["resourceVersion"]?.string ?? "")
        default: throw KubeError.invalidResponse("watch \(r.qualifiedName): unknown event type \(type)")
        }
    }

    static func escape(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    // MARK: Discovery

    /// Finds the version of `group`'s `kind` the server serves, trying `preferred` versions in order
    /// (newest first); nil when the group or kind is not served at all (a CRD not installed).
    public func discover(group: String, kind: String, preferred: [String]) async throws -> APIResource? {
        let served: [String]
        if group.isEmpty {
            served = ["v1"]
        } else {
            do {
                let g = try await get("/apis/\(group)")
                served = (g["versions"]?.array ?? []).compactMap { $0["version"]?.string }
            } catch KubeError.notFound { return nil }
        }
        for version in preferred where served.contains(version) {
            let path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
            let list: Value
            do { list = try await get(path) } catch KubeError.notFound { continue }
            for res in list["resources"]?.array ?? [] {
                guard res["kind"]?.string == kind, let name = res["name"]?.string, !name.contains("/") else { continue }
                return APIResource(group: group, version: version, resource: name, kind: kind,
                                   namespaced: res["namespaced"]?.bool ?? true)
            }
        }
        return nil
    }
}
