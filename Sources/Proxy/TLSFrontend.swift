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
/// Listener `hostname` (Gateway CRD): "HTTPS: The Listener Hostname SHOULD match both the SNI and
/// Host header. Note that this does not require the SNI and Host header to be the same." So the
/// SNI picks the certificate here and the Host header picks the routes (`PortTable.route`).
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
    /// GEP-91 `AllowInsecureFallback`: the client certificate is requested but a missing or
    /// invalid one does not end the handshake.
    let insecureFallback: Bool

    /// Builds the frontend for a port's HTTPS listeners, or nil when none has a usable certificate.
    /// Unparseable certificates are skipped and reported in `problems` (the translator has already
    /// checked the Secret's shape; this catches PEM that does not parse as a chain and key).
    static func make(port: PortTable, credentials: TLSCredentials, problems: inout [String]) -> TLSFrontend? {
        var entries: [(hostname: String, entry: ServingCertificate)] = []
        var fallback: ServingCertificate?
        for listener in port.all where listener.ir.proto == .https {
            guard let tls = listener.ir.tls, tls.mode == .terminate, let ref = tls.certificates.first else { continue }
            do {
                let cert = try parse(ref, credentials)
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
        // Frontend client-certificate validation (Gateway `spec.tls.frontend`, GEP-91) is per port:
        // "default" for every port, "perPort" overriding it; the translator resolved it onto each
        // listener, so the listeners sharing this port carry the same settings.
        var insecureFallback = false
        let validations = port.all.filter { $0.ir.proto == .https }.map { $0.ir.tls?.clientValidation }
        if Set(validations).count > 1 {
            // Listeners of different Gateways sharing one address and port disagree on client
            // certificates: there is no handshake that honours both, so the port is not served.
            problems.append("TLS on \(port.address):\(port.port): the HTTPS listeners sharing this address and port have different client-certificate validation; the port is not served")
            return nil
        }
        if let validation = validations.first ?? nil {
            do {
                let roots = try validation.caCertificatesPEM.flatMap { try NIOSSLCertificate.fromPEMBytes(Array($0.utf8)) }
                config.trustRoots = .certificates(roots)
                // Gateway CRD `frontendValidation.mode`: "AllowValidOnly: In this mode, the gateway
                // will accept connections only if the client presents a valid certificate" (refused
                // in the handshake); "AllowInsecureFallback: In this mode, the gateway will accept
                // connections even if the client certificate is not presented or fails verification."
                insecureFallback = validation.allowInsecureFallback
                config.certificateVerification = insecureFallback ? .optionalVerification : .noHostnameVerification
                config.sendCANameList = true
            } catch {
                problems.append("TLS on \(port.address):\(port.port): client CA certificates do not parse: \(error); the port is not served")
                return nil
            }
        }
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
            return TLSFrontend(context: try NIOSSLContext(configuration: config), certificates: table,
                               insecureFallback: insecureFallback)
        } catch {
            problems.append("TLS on \(port.address):\(port.port): \(error)")
            return nil
        }
    }

    private init(context: NIOSSLContext, certificates: HostTable<ServingCertificate>, insecureFallback: Bool) {
        self.context = context
        self.certificates = certificates
        self.insecureFallback = insecureFallback
    }

    /// The handler for one accepted connection. With insecure fallback a presented certificate is
    /// accepted whatever it chains to (the connection is treated like one without a certificate).
    func makeHandler() -> NIOSSLServerHandler {
        guard insecureFallback else { return NIOSSLServerHandler(context: context) }
        return NIOSSLServerHandler(context: context, customVerificationCallback: { _, promise in
            promise.succeed(.certificateVerified)
        })
    }

    static func parse(_ c: CertificateIR, _ credentials: TLSCredentials) throws -> ServingCertificate {
        guard let pair = credentials[c.secret] else { throw TLSFrontendError(description: "no key material published for the Secret") }
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(pair.certificatePEM.utf8))
        guard !chain.isEmpty else { throw TLSFrontendError(description: "no certificate in tls.crt") }
        let key = try NIOSSLPrivateKey(bytes: Array(pair.privateKeyPEM.utf8), format: .pem)
        return ServingCertificate(chain: chain, key: key)
    }
}

struct TLSFrontendError: Error, CustomStringConvertible {
    var description: String
}
