import GatewayAPI

/// Read-only lookups over a snapshot, built once per translation.
struct ResourceIndex {
    let snapshot: ResourceSnapshot
    let namespaceLabels: [String: [String: String]]
    let services: [GatewayAPI.NamespacedName: Service]
    let secrets: [GatewayAPI.NamespacedName: Secret]
    let configMaps: [GatewayAPI.NamespacedName: ConfigMap]
    let endpointSlicesByService: [GatewayAPI.NamespacedName: [EndpointSlice]]
    let grants: [ReferenceGrant]

    init(_ s: ResourceSnapshot) {
        snapshot = s
        var labels: [String: [String: String]] = [:]
        for ns in s.namespaces { labels[ns.metadata.name] = ns.metadata.labels ?? [:] }
        namespaceLabels = labels
        services = Dictionary(s.services.map { ($0.namespacedName, $0) }, uniquingKeysWith: { _, b in b })
        secrets = Dictionary(s.secrets.map { ($0.namespacedName, $0) }, uniquingKeysWith: { _, b in b })
        configMaps = Dictionary(s.configMaps.map { ($0.namespacedName, $0) }, uniquingKeysWith: { _, b in b })
        var slices: [GatewayAPI.NamespacedName: [EndpointSlice]] = [:]
        for e in s.endpointSlices {
            guard let svc = e.metadata.labels?["kubernetes.io/service-name"] else { continue }
            slices[GatewayAPI.NamespacedName(namespace: e.metadata.namespace ?? "default", name: svc), default: []].append(e)
        }
        endpointSlicesByService = slices
        grants = s.referenceGrants
    }

    /// Labels of a namespace. A namespace that is not declared is treated as existing with only the
    /// automatic `kubernetes.io/metadata.name` label (the API server sets it on every namespace).
    func labels(ofNamespace ns: String) -> [String: String] {
        var l = namespaceLabels[ns] ?? [:]
        l["kubernetes.io/metadata.name"] = ns
        return l
    }

    /// GEP-709 / ReferenceGrant: "ReferenceGrant identifies kinds of resources in other namespaces
    /// that are trusted to reference the specified kinds of resources in the same namespace as the
    /// policy." A reference from (fromGroup, fromKind, fromNamespace) to (toGroup, toKind, toName)
    /// in `toNamespace` is permitted when some grant in `toNamespace` lists the `from` triple and a
    /// `to` entry with the same group/kind whose name is absent or equal.
    func referenceGranted(fromGroup: String, fromKind: String, fromNamespace: String,
                          toGroup: String, toKind: String, toNamespace: String, toName: String) -> Bool {
        if fromNamespace == toNamespace { return true }
        return grants.contains { g in
            (g.metadata.namespace ?? "default") == toNamespace
                && g.spec.from.contains { $0.group == fromGroup && $0.kind == fromKind && $0.namespace == fromNamespace }
                && g.spec.to.contains { $0.group == toGroup && $0.kind == toKind && ($0.name == nil || $0.name == "" || $0.name == toName) }
        }
    }
}
