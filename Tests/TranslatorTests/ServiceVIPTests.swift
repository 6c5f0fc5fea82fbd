import GatewayAPI
import Testing
@testable import Translator

/// Embedded-default Service virtual IPs (127.2.0.0/16) never collide.
@Suite struct ServiceVIPTests {
    @Test("two Services whose names hash to the same address get different virtual IPs; a reserved cluster IP is skipped")
    func collisionsProbe() throws {
        // Find two names with the same hashed slot (birthday bound: a few hundred names).
        var seen: [Int: String] = [:]
        var pair: (String, String)?
        for i in 0..<20_000 {
            let name = "svc-\(i)"
            let slot = Addresses.slot("ns/\(name)")
            if let other = seen[slot] { pair = (other, name); break }
            seen[slot] = name
        }
        let (a, b) = try #require(pair)
        let names = [NamespacedName(namespace: "ns", name: a), NamespacedName(namespace: "ns", name: b)]
        let vips = Addresses.serviceVIPs(for: names, reserved: [])
        #expect(Set(vips.values).count == 2, "\(vips)")
        #expect(vips[names[0]] == Addresses.serviceVIP(for: names[0]), "the first keeps its hashed address")
        let reserved = Addresses.serviceVIPs(for: [names[0]], reserved: [Addresses.serviceVIP(for: names[0])])
        #expect(reserved[names[0]] != Addresses.serviceVIP(for: names[0]), "an address given as a cluster IP is not handed out again")
    }
}
