import ControlPlane
import Crypto
import Foundation
import SwiftASN1
import X509

/// Fresh certificates for the Secrets and ConfigMaps the upstream suite creates in code
/// (base/programmatic-objects.json: "certificates and keys are generated fresh on every run").
///
/// - a ConfigMap with `ca.crt` is a self-signed CA;
/// - a Secret with `signedBy` is a leaf signed by that CA — a client certificate
///   (ExtKeyUsageClientAuth) when the corpus says so, else a server certificate for its `hosts`;
/// - any other Secret is a self-signed server certificate for its `hosts`.
/// `spiffe://` hosts become URI SANs, the rest DNS SANs. Keys are ECDSA P-256 (PKCS#8 PEM).
public enum ProgrammaticCertificates {
    struct Issuer {
        var name: DistinguishedName
        var key: P256.Signing.PrivateKey
    }

    /// PEM material per object id (`namespace/name`) and key (`tls.crt`, `tls.key`, `ca.crt`).
    public static func generate(_ objects: [ConformanceCorpus.ProgrammaticObject]) throws -> [String: [String: String]] {
        var material: [String: [String: String]] = [:]
        var issuers: [String: Issuer] = [:]
        for o in objects where o.kind == "ConfigMap" {
            let key = P256.Signing.PrivateKey()
            let name = try DistinguishedName { CommonName("sluice conformance CA \(o.name)") }
            let cert = try make(subject: name, key: key, issuer: Issuer(name: name, key: key), hosts: [], ca: true, client: false)
            issuers[o.id] = Issuer(name: name, key: key)
            for k in o.keys { material[o.id, default: [:]][k] = cert }
        }
        for o in objects where o.kind == "Secret" {
            let key = P256.Signing.PrivateKey()
            let subject = try DistinguishedName { CommonName(o.hosts.first ?? o.name) }
            let pem: String
            if let signer = o.signedBy, let issuer = issuers[signer] {
                pem = try make(subject: subject, key: key, issuer: issuer, hosts: o.hosts, ca: false, client: o.isClientCertificate)
            } else {
                pem = try make(subject: subject, key: key, issuer: Issuer(name: subject, key: key), hosts: o.hosts, ca: true,
                               client: o.isClientCertificate)
            }
            for k in o.keys { material[o.id, default: [:]][k] = k.hasSuffix(".key") ? key.pemRepresentation : pem }
        }
        return material
    }

    static func make(subject: DistinguishedName, key: P256.Signing.PrivateKey, issuer: Issuer, hosts: [String], ca: Bool,
                     client: Bool) throws -> String {
        let now = Date()
        let sans = hosts.map { h -> GeneralName in
            h.contains("://") ? .uniformResourceIdentifier(h) : .dnsName(h)
        }
        let extensions = try Certificate.Extensions {
            Critical(ca ? BasicConstraints.isCertificateAuthority(maxPathLength: nil) : BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true, keyCertSign: ca))
            if !hosts.isEmpty { SubjectAlternativeNames(sans) }
            if !ca || !hosts.isEmpty { try ExtendedKeyUsage([client ? .clientAuth : .serverAuth]) }
        }
        let cert = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86400 * 30),
            issuer: issuer.name, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: .init(issuer.key))
        return try cert.serializeAsPEM().pemString
    }
}
