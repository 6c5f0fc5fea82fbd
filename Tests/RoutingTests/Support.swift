import IR
@testable import Routing

/// Builders shared by the routing tests. Everything is built directly as IR values, the way the
/// translator emits them (header match names lower-cased, PathPrefix values without a trailing
/// slash, entries in precedence order).

enum Fixture {
    static func service(_ name: String, weight: Int = 1, endpoints: [EndpointIR] = []) -> BackendIR {
        BackendIR(weight: weight,
                  destination: .service(target: ServiceDestinationIR(service: NamespacedName("ns", name), port: 8080,
                                                                     appProtocol: nil, endpoints: endpoints)))
    }

    /// The Service name of a backend (nil for no backend or an invalid destination).
    static func name(_ b: BackendIR?) -> String? {
        guard let b, case .service(let t) = b.destination else { return nil }
        return t.service.name
    }

    static func header(_ name: String, _ value: String, regex: Bool = false) -> StringMatchIR {
        StringMatchIR(name: name.lowercased(), type: regex ? .regularExpression : .exact, value: value)
    }

    static func query(_ name: String, _ value: String, regex: Bool = false) -> StringMatchIR {
        StringMatchIR(name: name, type: regex ? .regularExpression : .exact, value: value)
    }

    static func entry(_ backend: String?, path: PathMatchIR = .prefix(value: "/"), headers: [StringMatchIR] = [],
                      query: [StringMatchIR] = [], method: String? = nil, routeName: String = "r", rule: Int = 0,
                      match: Int = 0, filters: [HTTPFilterIR] = []) -> HTTPRouteIR {
        HTTPRouteIR(route: RouteRef(kind: "HTTPRoute", namespace: "ns", name: routeName, ruleIndex: rule, matchIndex: match),
                    match: HTTPMatchIR(path: path, headers: headers, queryParams: query, method: method),
                    filters: filters, backends: backend.map { [service($0)] } ?? [])
    }

    /// Request facts as the data plane builds them: header names lower-cased, host lower-cased
    /// without port, target split and query decoded by `RequestFacts(method:target:headers:host:)`.
    static func request(_ method: String = "GET", _ target: String, headers: [(String, String)] = [],
                        host: String = "example.com") -> RequestFacts {
        RequestFacts(method: method, target: target, headers: headers.map { ($0.0.lowercased(), $0.1) },
                     host: host.lowercased())
    }

    static func endpoint(_ i: Int) -> EndpointIR { EndpointIR(address: "10.0.0.\(i)", port: 8080) }
}

/// The value of a header in a filtered header list: names compared case-insensitively, several
/// fields joined with "," (as the conformance suite compares them).
func headerValue(_ list: HeaderList, _ name: String) -> String? {
    let values = list.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    return values.isEmpty ? nil : values.joined(separator: ",")
}

/// Header fields as ordered pairs, for building inputs.
func headers(_ pairs: KeyValuePairs<String, String>) -> HeaderList {
    pairs.map { (name: $0.key, value: $0.value) }
}
