import Foundation
import GatewayAPI

/// Where the API server is and how to authenticate to it: read from a kubeconfig file (its
/// current context) or from the in-cluster service-account files.
///
/// Supported, as `kubectl` reads them: `clusters[].cluster.{server, certificate-authority,
/// certificate-authority-data, insecure-skip-tls-verify}`, `users[].user.{token, tokenFile,
/// client-certificate(-data), client-key(-data)}`, `contexts[].context.{cluster, user, namespace}`
/// and `current-context`. Relative file paths are relative to the kubeconfig's folder ("relative
/// paths ... are resolved relative to the location of the kubeconfig file", kubeconfig docs).
/// `exec` and `auth-provider` plugins are not supported and are named in the error.
public struct KubeConfig: Sendable {
    public enum Scheme: String, Sendable { case http, https }

    public var scheme: Scheme
    public var host: String
    public var port: Int
    /// Static bearer token (kubeconfig `token`).
    public var token: String?
    /// A token file read again when it changes (in-cluster projected tokens are rotated).
    public var tokenFile: String?
    /// PEM of the CA bundle to trust; nil means the system's trust store.
    public var caPEM: [UInt8]?
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    public var insecureSkipTLSVerify = false
    /// The context's namespace (or the service account's), if any.
    public var namespace: String?
    /// Where this came from, for log lines ("kubeconfig /path context ctx", "in-cluster").
    public var source: String

    public init(server: String, token: String? = nil, caPEM: [UInt8]? = nil, insecureSkipTLSVerify: Bool = false,
                source: String = "explicit") throws {
        (scheme, host, port) = try Self.parseServer(server)
        self.token = token
        self.caPEM = caPEM
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.source = source
    }

    /// `https://host:port` as given.
    public var serverURL: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(scheme.rawValue)://\(h):\(port)"
    }

    public struct ConfigError: Error, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }

    /// The default kubeconfig path once Kubernetes mode is chosen: `$KUBECONFIG` (its first entry),
    /// else `~/.kube/config`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let k = environment["KUBECONFIG"], let first = k.split(separator: ":").first, !first.isEmpty {
            return String(first)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.kube/config"
    }

    /// Reads a kubeconfig file and resolves its current context (or `context` when given).
    public static func load(path: String, context wanted: String? = nil) throws -> KubeConfig {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError("cannot read kubeconfig \(path)")
        }
        let docs = YAMLReader.documents(text: text, file: path)
        guard let first = docs.first else { throw ConfigError("kubeconfig \(path) is empty") }
        let root: Value
        switch first.result {
        case .success(let v): root = v
        case .failure(let e): throw ConfigError("kubeconfig: \(e)")
        }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        func named(_ list: String, _ name: String, _ field: String) throws -> Value {
            guard let item = root[list]?.array?.first(where: { $0["name"]?.string == name }), let v = item[field] else {
                throw ConfigError("kubeconfig \(path): no \(field) named \"\(name)\" in \(list)")
            }
            return v
        }
        guard let contextName = wanted ?? root["current-context"]?.string, !contextName.isEmpty else {
            throw ConfigError("kubeconfig \(path) has no current-context")
        }
        let context = try named("contexts", contextName, "context")
        guard let clusterName = context["cluster"]?.string else {
            throw ConfigError("kubeconfig \(path): context \"\(contextName)\" names no cluster")
        }
        let cluster = try named("clusters", clusterName, "cluster")
        guard let server = cluster["server"]?.string else {
            throw ConfigError("kubeconfig \(path): cluster \"\(clusterName)\" has no server")
        }
        var config = try KubeConfig(server: server, source: "kubeconfig \(path) context \(contextName)")
        config.namespace = context["namespace"]?.string
        config.insecureSkipTLSVerify = cluster["insecure-skip-tls-verify"]?.bool ?? false
        func file(_ p: String) throws -> [UInt8] {
            let full = p.hasPrefix("/") ? p : dir + "/" + p
            guard let d = FileManager.default.contents(atPath: full) else { throw ConfigError("kubeconfig \(path): cannot read \(full)") }
            return Array(d)
        }
        func base64(_ s: String, _ field: String) throws -> [UInt8] {
            guard let d = Data(base64Encoded: s, options: .ignoreUnknownCharacters) else {
                throw ConfigError("kubeconfig \(path): \(field) is not base64")
            }
            return Array(d)
        }
        if let d = cluster["certificate-authority-data"]?.string {
            config.caPEM = try base64(d, "certificate-authority-data")
        } else if let f = cluster["certificate-authority"]?.string {
            config.caPEM = try file(f)
        }
        if let userName = context["user"]?.string, !userName.isEmpty {
            let user = try named("users", userName, "user")
            if user["exec"] != nil || user["auth-provider"] != nil {
                throw ConfigError("kubeconfig \(path): user \"\(userName)\" uses an exec/auth-provider plugin, which Sluice does not run; give it a token or a client certificate")
            }
            config.token = user["token"]?.string
            if let f = user["tokenFile"]?.string { config.tokenFile = f.hasPrefix("/") ? f : dir + "/" + f }
            if let d = user["client-certificate-data"]?.string {
                config.clientCertificatePEM = try base64(d, "client-certificate-data")
            } else if let f = user["client-certificate"]?.string {
                config.clientCertificatePEM = try file(f)
            }
            if let d = user["client-key-data"]?.string {
                config.clientKeyPEM = try base64(d, "client-key-data")
            } else if let f = user["client-key"]?.string {
                config.clientKeyPEM = try file(f)
            }
            if (config.clientCertificatePEM == nil) != (config.clientKeyPEM == nil) {
                throw ConfigError("kubeconfig \(path): user \"\(userName)\" has a client certificate without a key (or a key without a certificate)")
            }
        }
        return config
    }

    /// The in-cluster configuration: `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT` and the
    /// service account's token, CA and namespace under
    /// `/var/run/secrets/kubernetes.io/serviceaccount` ("Accessing the API from within a Pod").
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 accountDirectory: String = "/var/run/secrets/kubernetes.io/serviceaccount") throws -> KubeConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"] else {
            throw ConfigError("--in-cluster: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set (not running in a Pod?)")
        }
        let h = host.contains(":") ? "[\(host)]" : host
        var config = try KubeConfig(server: "https://\(h):\(port)", source: "in-cluster")
        config.tokenFile = accountDirectory + "/token"
        guard FileManager.default.fileExists(atPath: config.tokenFile!) else {
            throw ConfigError("--in-cluster: no service account token at \(config.tokenFile!)")
        }
        config.caPEM = FileManager.default.contents(atPath: accountDirectory + "/ca.crt").map(Array.init)
        config.namespace = FileManager.default.contents(atPath: accountDirectory + "/namespace")
            .flatMap { String(data: $0, encoding: .utf8) }?.trimmingCharacters(in: .whitespacesAndNewlines)
        return config
    }

    static func parseServer(_ server: String) throws -> (Scheme, String, Int) {
        guard let url = URL(string: server), let s = url.scheme.flatMap(Scheme.init(rawValue:)), let host = url.host, !host.isEmpty else {
            throw ConfigError("server \"\(server)\" is not an http(s) URL")
        }
        if !url.path.isEmpty && url.path != "/" {
            throw ConfigError("server \"\(server)\": a path prefix is not supported")
        }
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        return (s, bare, url.port ?? (s == .https ? 443 : 80))
    }
}
