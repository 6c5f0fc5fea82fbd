import IR
import NIOCore
import NIOSSL
import Routing

/// A listener's certificate, parsed once per routing-table version.
struct ServingCertificate: Sendable {
    var chain: [NIOSSLCertificate]
    var key: NIOSSLPrivateKey
}

/// TLS termination for one HTTPS address and port.
///
/// Gateway API: an HTTPS listener "terminates TLS" with the certificates of `tls.certificateRefs`;
/// several HTTPS listeners may share a port when their hostnames differ, so the certificate is
/// chosen per handshake by the SNI name, with the same host precedence as requests (exact, then
/// the most specific wildcard, then the listener without a hostname). A handshake without SNI, or
/// with a name no listener has, gets the port's default certificate: the listener without a
/// hostname if there is one, else the first listener (routing by Host then answers 404 for hosts
/// no listener serves).
///
/// ALPN offers `h2` and `http/1.1`; after the handshake the same preface sniffing as on plaintext
/// ports decides between HTTP/2 and HTTP/1.1.
final class TLSFrontend: Sendable {
    let context: NIOSSLContext
    let certificates: HostTable<ServingCertificate>

    /// Builds the frontend for a port's HTTPS listeners, or nil when none has a usable certificate.
    /// Unparseable certificates are skipped and reported in `problems` (the translator has already
    /// checked the Secret's shape; this catches PEM that does not parse as a chain and key).
    static func make(port: PortTable, problems: inout [String]) -> TLSFrontend? {
        var entries: [(hostname: String, entry: ServingCertificate)] = []
        var fallback: ServingCertificate?
        for listener in port.all where listener.ir.proto == .https {
            guard let tls = listener.ir.tls, tls.mode == .terminate, let ref = tls.certificates.first else { continue }
            do {
                let cert = try parse(ref)
                entries.append((listener.ir.hostname ?? "*", cert))
                if listener.ir.hostname == nil || fallback == nil { fallback = cert }
            } catch {
                problems.append("listener \(listener.ir.name) on \(port.address):\(port.port): certificate Secret "
                                + "\(ref.secret.namespace)/\(ref.secret.name) does not parse: \(error)")
            }
        }
        guard let fallback else { return nil }
        let table = HostTable(entries)
        var config = TLSConfiguration.makeServerConfiguration(certificateChain: fallback.chain.map { .certificate($0) },
                                                              privateKey: .privateKey(fallback.key))
        config.applicationProtocols = ["h2", "http/1.1"]
        config.sslContextCallback = { values, promise in
            guard let name = values.serverHostname?.lowercased(), let cert = table.lookup(name) else {
                promise.succeed(.noChanges)
                return
            }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = cert.chain.map { .certificate($0) }
            override.privateKey = .privateKey(cert.key)
            promise.succeed(override)
        }
        do {
            return TLSFrontend(context: try NIOSSLContext(configuration: config), certificates: table)
        } catch {
            problems.append("TLS on \(port.address):\(port.port): \(error)")
            return nil
        }
    }

    private init(context: NIOSSLContext, certificates: HostTable<ServingCertificate>) {
        self.context = context
        self.certificates = certificates
    }

    static func parse(_ c: CertificateIR) throws -> ServingCertificate {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(c.certificatePEM.utf8))
        guard !chain.isEmpty else { throw TLSFrontendError(description: "no certificate in tls.crt") }
        let key = try NIOSSLPrivateKey(bytes: Array(c.privateKeyPEM.utf8), format: .pem)
        return ServingCertificate(chain: chain, key: key)
    }
}

struct TLSFrontendError: Error, CustomStringConvertible {
    var description: String
}
