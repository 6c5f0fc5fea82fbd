import Foundation

/// CEL rules of BackendTLSPolicy, GatewayClass, Gateway and ListenerSet.
extension CELRules {
    /// `^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`: a (wildcard) hostname.
    static let wildcardHostnamePattern = CELRegex(#"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"#)
    /// Label/annotation key: optional DNS subdomain prefix and a name segment of up to 63 characters.
    static let infrastructureKeyPattern = CELRegex(#"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$"#)

    static let gatewayEntries: [Entry] = [
        // MARK: BackendTLSPolicy

        /// "sectionName must be specified when targetRefs includes 2 or more references to the same target"
        /// (`spec.targetRefs`). group, kind and name are required.
        entry("policyTargetRefSectionNameSpecified",
              #"self.all(p1, self.all(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name ? ((!has(p1.sectionName) || p1.sectionName == '') == (!has(p2.sectionName) || p2.sectionName == '')) : true))"#) { v in
            let refs = try v.celList()
            try refs.celRequireEach("group", "kind", "name")
            return refs.allSatisfy { p1 in
                refs.allSatisfy { p2 in
                    !sameTarget(p1, p2) || p1.celIsBlank("sectionName") == p2.celIsBlank("sectionName")
                }
            }
        },

        /// "sectionName must be unique when targetRefs includes 2 or more references to the same target"
        /// (`spec.targetRefs`).
        entry("policyTargetRefSectionNameUnique",
              #"self.all(p1, self.exists_one(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.sectionName) || p1.sectionName == '') && (!has(p2.sectionName) || p2.sectionName == '')) || (has(p1.sectionName) && has(p2.sectionName) && p1.sectionName == p2.sectionName))))"#) { v in
            let refs = try v.celList()
            try refs.celRequireEach("group", "kind", "name")
            return refs.allSatisfy { p1 in
                refs.filter { p2 in
                    sameTarget(p1, p2) && bothUnsetOrEqual(p1, p2, "sectionName", blank: .string(""))
                }.count == 1
            }
        },

        /// "must not contain both CACertificateRefs and WellKnownCACertificates" (`spec.validation`).
        entry("tlsValidationNotBothCASources",
              #"!(has(self.caCertificateRefs) && size(self.caCertificateRefs) > 0 && has(self.wellKnownCACertificates) && self.wellKnownCACertificates != "")"#) { v in
            !(hasCACertificateRefs(v) && !v.celIsBlank("wellKnownCACertificates"))
        },

        /// "must specify either CACertificateRefs or WellKnownCACertificates" (`spec.validation`).
        entry("tlsValidationOneCASource",
              #"(has(self.caCertificateRefs) && size(self.caCertificateRefs) > 0 || has(self.wellKnownCACertificates) && self.wellKnownCACertificates != "")"#) { v in
            hasCACertificateRefs(v) || !v.celIsBlank("wellKnownCACertificates")
        },

        /// "SubjectAltName element must contain Hostname, if Type is set to Hostname"
        /// (`spec.validation.subjectAltNames[]`). type is required.
        entry("subjectAltNameHostnameRequired",
              #"!(self.type == "Hostname" && (!has(self.hostname) || self.hostname == ""))"#) { v in
            try !(v.celIsBlank("hostname") && v.celString("type") == "Hostname")
        },

        /// "SubjectAltName element must not contain Hostname, if Type is not set to Hostname"
        entry("subjectAltNameHostnameForbidden",
              #"!(self.type != "Hostname" && has(self.hostname) && self.hostname != "")"#) { v in
            try !(!v.celIsBlank("hostname") && v.celString("type") != "Hostname")
        },

        /// "SubjectAltName element must contain URI, if Type is set to URI"
        entry("subjectAltNameURIRequired",
              #"!(self.type == "URI" && (!has(self.uri) || self.uri == ""))"#) { v in
            try !(v.celIsBlank("uri") && v.celString("type") == "URI")
        },

        /// "SubjectAltName element must not contain URI, if Type is not set to URI"
        entry("subjectAltNameURIForbidden",
              #"!(self.type != "URI" && has(self.uri) && self.uri != "")"#) { v in
            try !(!v.celIsBlank("uri") && v.celString("type") != "URI")
        },

        // MARK: GatewayClass

        /// "field is immutable" (`spec.controllerName`) — a transition rule.
        transition("gatewayClassControllerNameImmutable", #"self == oldSelf"#),

        // MARK: Gateway

        /// "IPAddress values must be unique" (`spec.addresses`). type defaults to IPAddress.
        entry("gatewayAddressIPAddressUnique",
              #"self.all(a1, a1.type == 'IPAddress' && has(a1.value) ? self.exists_one(a2, a2.type == a1.type && has(a2.value) && a2.value == a1.value) : true )"#) { v in
            try addressValuesUnique(v, type: "IPAddress")
        },

        /// "Hostname values must be unique" (`spec.addresses`).
        entry("gatewayAddressHostnameUnique",
              #"self.all(a1, a1.type == 'Hostname'  && has(a1.value) ? self.exists_one(a2, a2.type == a1.type && has(a2.value) && a2.value == a1.value) : true )"#) { v in
            try addressValuesUnique(v, type: "Hostname")
        },

        /// "Hostname value must be empty or contain only valid characters (matching
        /// ^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)" (`spec.addresses[]`).
        entry("gatewayAddressHostnameValid",
              #"self.type == 'Hostname' ? (!has(self.value) || self.value.matches(r"""^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$""")): true"#) { v in
            guard try v.celString("type") == "Hostname", let value = v["value"] else { return true }
            return try wildcardHostnamePattern.matches(value.celString())
        },

        /// "Hostname value must only contain valid characters (matching
        /// ^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)"
        /// (`status.addresses[]`, standard channel; status is not embedded, listed for coverage).
        /// value is required there.
        entry("gatewayStatusAddressHostnameValid",
              #"self.type == 'Hostname' ? self.value.matches(r"""^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"""): true"#) { v in
            guard try v.celString("type") == "Hostname" else { return true }
            return try wildcardHostnamePattern.matches(v.celString("value"))
        },

        /// "Annotation keys must be in the form of an optional DNS subdomain prefix followed by a
        /// required name segment of up to 63 characters." / "Label keys must be …"
        /// (`spec.infrastructure.annotations`, `spec.infrastructure.labels`).
        entry("infrastructureKeyFormat",
              #"self.all(key, key.matches(r"""^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$"""))"#) { v in
            try v.celMapKeys().allSatisfy { infrastructureKeyPattern.matches($0) }
        },

        /// "If specified, the annotation key's prefix must be a DNS subdomain not longer than 253
        /// characters in total." / "… the label key's prefix …"
        entry("infrastructureKeyPrefixLength",
              #"self.all(key, key.split("/")[0].size() < 253)"#) { v in
            try v.celMapKeys().allSatisfy { key in
                // split("/") always yields at least one element ("" for an empty key).
                key.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)[0].unicodeScalars.count < 253
            }
        },

        // MARK: Gateway and ListenerSet listeners (protocol, name and port are required)

        /// "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']" (`spec.listeners`).
        entry("listenerTLSForbidden",
              #"self.all(l, l.protocol in ['HTTP', 'TCP', 'UDP'] ? !has(l.tls) : true)"#) { v in
            try v.celList().celAll { l in
                try ["HTTP", "TCP", "UDP"].contains(l.celString("protocol")) ? !l.has("tls") : true
            }
        },

        /// "tls mode must be Terminate for protocol HTTPS". tls.mode defaults to Terminate.
        entry("listenerHTTPSModeTerminate",
              #"self.all(l, (l.protocol == 'HTTPS' && has(l.tls)) ? (l.tls.mode == '' || l.tls.mode == 'Terminate') : true)"#) { v in
            try v.celList().celAll { l in
                guard let tls = l["tls"], try l.celString("protocol") == "HTTPS" else { return true }
                let mode = try tls.celString("mode")
                return mode == "" || mode == "Terminate"
            }
        },

        /// "tls mode must be set for protocol TLS".
        entry("listenerTLSModeRequired",
              #"self.all(l, (l.protocol == 'TLS' ? has(l.tls) && has(l.tls.mode) && l.tls.mode != '' : true))"#) { v in
            try v.celList().celAll { l in
                guard try l.celString("protocol") == "TLS" else { return true }
                guard let tls = l["tls"] else { return false }
                return !tls.celIsBlank("mode")
            }
        },

        /// "hostname must not be specified for protocols ['TCP', 'UDP']".
        entry("listenerHostnameForbidden",
              #"self.all(l, l.protocol in ['TCP', 'UDP']  ? (!has(l.hostname) || l.hostname == '') : true)"#) { v in
            try v.celList().celAll { l in
                try ["TCP", "UDP"].contains(l.celString("protocol")) ? l.celIsBlank("hostname") : true
            }
        },

        /// "Listener name must be unique within the Gateway".
        entry("listenerNameUnique",
              #"self.all(l1, self.exists_one(l2, l1.name == l2.name))"#) { v in
            let listeners = try v.celList()
            try listeners.celRequireEach("name")
            return listeners.allSatisfy { l1 in listeners.filter { same($0["name"], l1["name"]) }.count == 1 }
        },

        /// "Combination of port, protocol and hostname must be unique for each listener" (Gateway).
        entry("gatewayListenerPortProtocolHostnameUnique",
              #"self.all(l1, self.exists_one(l2, l1.port == l2.port && l1.protocol == l2.protocol && (has(l1.hostname) && has(l2.hostname) ? l1.hostname == l2.hostname : !has(l1.hostname) && !has(l2.hostname))))"#) { v in
            let listeners = try v.celList()
            try listeners.celRequireEach("port", "protocol")
            return listeners.allSatisfy { l1 in
                listeners.filter { l2 in
                    // The hostname ternary is "both absent, or both present and equal".
                    same(l1["port"], l2["port"]) && same(l1["protocol"], l2["protocol"]) && same(l1["hostname"], l2["hostname"])
                }.count == 1
            }
        },

        /// "Combination of port, protocol and hostname must be unique for each listener" (ListenerSet,
        /// whose rule tolerates listeners without a port).
        entry("listenerSetListenerPortProtocolHostnameUnique",
              #"self.all(l1, !has(l1.port) || self.exists_one(l2, has(l2.port) && l1.port == l2.port && l1.protocol == l2.protocol && (has(l1.hostname) && has(l2.hostname) ? l1.hostname == l2.hostname : !has(l1.hostname) && !has(l2.hostname))))"#) { v in
            let listeners = try v.celList()
            return try listeners.celAll { l1 in
                guard l1.has("port") else { return true }
                return try listeners.celExistsOne { l2 in
                    try l2.has("port") && same(l1["port"], l2["port"]) && same(l1["hostname"], l2["hostname"])
                        && same(l1.celField("protocol"), l2.celField("protocol"))
                }
            }
        },

        /// "certificateRefs or options must be specified when mode is Terminate"
        /// (`spec.listeners[].tls`). mode defaults to Terminate; certificateRefs and options are
        /// optional: CEL's `size()` of an absent field raises "no such key", and the `||` absorbs
        /// that only when the other side is true, so an absent field counts as empty.
        entry("listenerTLSTerminateNeedsCertificates",
              #"self.mode == 'Terminate' ? size(self.certificateRefs) > 0 || size(self.options) > 0 : true"#) { v in
            guard try v.celString("mode") == "Terminate" else { return true }
            return (v["certificateRefs"]?.size ?? 0) > 0 || (v["options"]?.size ?? 0) > 0
        },

        /// "Port for TLS configuration must be unique within the Gateway" (`spec.tls.frontend.perPort`).
        entry("frontendTLSPerPortUnique",
              #"self.all(t1, self.exists_one(t2, t1.port == t2.port))"#) { v in
            let perPort = try v.celList()
            try perPort.celRequireEach("port")
            return perPort.allSatisfy { t1 in perPort.filter { same($0["port"], t1["port"]) }.count == 1 }
        },
    ]

    /// `p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name` (keys known present).
    static func sameTarget(_ p1: Value, _ p2: Value) -> Bool {
        same(p1["group"], p2["group"]) && same(p1["kind"], p2["kind"]) && same(p1["name"], p2["name"])
    }

    /// `has(self.caCertificateRefs) && size(self.caCertificateRefs) > 0`.
    private static func hasCACertificateRefs(_ v: Value) -> Bool {
        (v["caCertificateRefs"]?.size ?? 0) > 0
    }

    /// `self.all(a1, a1.type == T && has(a1.value) ? self.exists_one(a2, a2.type == a1.type &&
    /// has(a2.value) && a2.value == a1.value) : true)`. type defaults to IPAddress; the `has()`
    /// operands are evaluated first so that an error from a missing type is absorbed like in CEL.
    private static func addressValuesUnique(_ v: Value, type: String) throws -> Bool {
        let addresses = try v.celList()
        return try addresses.celAll { a1 in
            guard a1.has("value"), try a1.celString("type") == type else { return true }
            return try addresses.celExistsOne { a2 in
                try a2.has("value") && same(a2["value"], a1["value"]) && same(a2.celField("type"), a1.celField("type"))
            }
        }
    }
}
