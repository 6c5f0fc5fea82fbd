/// Schemas for the core Kubernetes kinds Sluice reads, covering the fields Sluice uses with the
/// constraints the API server enforces on them (core/v1 Service ports, EndpointSlice, Deployment).
/// Fields Sluice does not use are preserved, not rejected (`x-kubernetes-preserve-unknown-fields`),
/// because these kinds have many more fields than Sluice models.
enum CoreSchemas {
    static func yaml(for kind: ResourceKind) -> String {
        switch kind {
        case .namespace: return namespace
        case .service: return service
        case .secret: return secret
        case .configMap: return configMap
        case .endpointSlice: return endpointSlice
        case .deployment: return deployment
        default: fatalError("\(kind) has a CRD schema")
        }
    }

    static let envelope = """
      apiVersion: {type: string}
      kind: {type: string}
      metadata: {type: object}
    """

    static let namespace = """
    type: object
    properties:
    \(envelope)
      spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
    """

    static let service = """
    type: object
    required: [spec]
    properties:
    \(envelope)
      spec:
        type: object
        x-kubernetes-preserve-unknown-fields: true
        properties:
          type: {type: string, enum: [ClusterIP, NodePort, LoadBalancer, ExternalName], default: ClusterIP}
          clusterIP: {type: string}
          clusterIPs: {type: array, items: {type: string}}
          externalName: {type: string}
          selector: {type: object, additionalProperties: {type: string}}
          ports:
            type: array
            x-kubernetes-list-type: map
            x-kubernetes-list-map-keys: [port, protocol]
            items:
              type: object
              required: [port]
              properties:
                name: {type: string, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'}
                protocol: {type: string, enum: [TCP, UDP, SCTP], default: TCP}
                port: {type: integer, format: int32, minimum: 1, maximum: 65535}
                targetPort: {x-kubernetes-int-or-string: true}
                nodePort: {type: integer, format: int32}
                appProtocol: {type: string}
    """

    static let secret = """
    type: object
    properties:
    \(envelope)
      type: {type: string}
      immutable: {type: boolean}
      data: {type: object, additionalProperties: {type: string, pattern: '^[A-Za-z0-9+/=\\s]*$'}}
      stringData: {type: object, additionalProperties: {type: string}}
    """

    static let configMap = """
    type: object
    properties:
    \(envelope)
      immutable: {type: boolean}
      data: {type: object, additionalProperties: {type: string}}
      binaryData: {type: object, additionalProperties: {type: string}}
    """

    static let endpointSlice = """
    type: object
    required: [addressType, endpoints]
    properties:
    \(envelope)
      addressType: {type: string, enum: [IPv4, IPv6, FQDN]}
      endpoints:
        type: array
        maxItems: 1000
        items:
          type: object
          required: [addresses]
          x-kubernetes-preserve-unknown-fields: true
          properties:
            addresses: {type: array, minItems: 1, maxItems: 100, items: {type: string}}
            conditions:
              type: object
              properties:
                ready: {type: boolean}
                serving: {type: boolean}
                terminating: {type: boolean}
            hostname: {type: string}
            nodeName: {type: string}
            zone: {type: string}
            targetRef: {type: object, x-kubernetes-preserve-unknown-fields: true}
      ports:
        type: array
        maxItems: 20000
        items:
          type: object
          properties:
            name: {type: string}
            protocol: {type: string, enum: [TCP, UDP, SCTP], default: TCP}
            port: {type: integer, format: int32, minimum: 0, maximum: 65535}
            appProtocol: {type: string}
    """

    static let deployment = """
    type: object
    required: [spec]
    properties:
    \(envelope)
      spec:
        type: object
        required: [selector, template]
        x-kubernetes-preserve-unknown-fields: true
        properties:
          replicas: {type: integer, format: int32, minimum: 0, default: 1}
          selector: {type: object, x-kubernetes-preserve-unknown-fields: true}
          template:
            type: object
            x-kubernetes-preserve-unknown-fields: true
            properties:
              metadata: {type: object, x-kubernetes-preserve-unknown-fields: true}
              spec:
                type: object
                required: [containers]
                x-kubernetes-preserve-unknown-fields: true
                properties:
                  containers:
                    type: array
                    minItems: 1
                    items:
                      type: object
                      required: [name]
                      x-kubernetes-preserve-unknown-fields: true
                      properties:
                        name: {type: string}
                        image: {type: string}
                        args: {type: array, items: {type: string}}
                        command: {type: array, items: {type: string}}
                        ports:
                          type: array
                          items:
                            type: object
                            required: [containerPort]
                            properties:
                              name: {type: string}
                              containerPort: {type: integer, format: int32, minimum: 1, maximum: 65535}
                              protocol: {type: string, enum: [TCP, UDP, SCTP], default: TCP}
                              hostPort: {type: integer}
                              hostIP: {type: string}
                        env:
                          type: array
                          items:
                            type: object
                            required: [name]
                            x-kubernetes-preserve-unknown-fields: true
                            properties:
                              name: {type: string}
                              value: {type: string}
    """
}
