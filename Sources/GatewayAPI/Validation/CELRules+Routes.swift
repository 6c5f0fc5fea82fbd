import Foundation

/// CEL rules every route kind shares (parentRefs, rule names, backendRefs, the common filters,
/// sessionPersistence), plus those specific to GRPCRoute and TLSRoute.
extension CELRules {
    /// GRPC service name (`(?i)` makes the match case-insensitive).
    static let grpcServicePattern = CELRegex(#"^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$"#)
    /// GRPC method name.
    static let grpcMethodPattern = CELRegex(#"^[A-Za-z_][A-Za-z_0-9]*$"#)
    /// RFC 1123 subdomain, as TLSRoute's hostname rules spell it (a non-raw CEL string, so the
    /// rule's `\\.` is the regex `\.`).
    static let rfc1123SubdomainPattern = CELRegex(#"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$"#)

    static let routeEntries: [Entry] = [
        // MARK: parentRefs (every route kind). name is required, group and kind are defaulted.

        /// "sectionName or port must be specified when parentRefs includes 2 or more references to
        /// the same parent" (`spec.parentRefs`, experimental channel).
        entry("parentRefSectionNameOrPortSpecified",
              #"self.all(p1, self.all(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) || p2.__namespace__ == '')) || (has(p1.__namespace__) && has(p2.__namespace__) && p1.__namespace__ == p2.__namespace__)) ? ((!has(p1.sectionName) || p1.sectionName == '') == (!has(p2.sectionName) || p2.sectionName == '') && (!has(p1.port) || p1.port == 0) == (!has(p2.port) || p2.port == 0)): true))"#) { v in
            let refs = try v.celList()
            try refs.celRequireEach("group", "kind", "name")
            return refs.allSatisfy { p1 in
                refs.allSatisfy { p2 in
                    !sameParent(p1, p2)
                        || (p1.celIsBlank("sectionName") == p2.celIsBlank("sectionName")
                            && isUnset(p1["port"], blank: .int(0)) == isUnset(p2["port"], blank: .int(0)))
                }
            }
        },

        /// "sectionName or port must be unique when parentRefs includes 2 or more references to the
        /// same parent" (experimental channel).
        entry("parentRefSectionNameOrPortUnique",
              #"self.all(p1, self.exists_one(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) || p2.__namespace__ == '')) || (has(p1.__namespace__) && has(p2.__namespace__) && p1.__namespace__ == p2.__namespace__ )) && (((!has(p1.sectionName) || p1.sectionName == '') && (!has(p2.sectionName) || p2.sectionName == '')) || ( has(p1.sectionName) && has(p2.sectionName) && p1.sectionName == p2.sectionName)) && (((!has(p1.port) || p1.port == 0) && (!has(p2.port) || p2.port == 0)) || (has(p1.port) && has(p2.port) && p1.port == p2.port))))"#) { v in
            let refs = try v.celList()
            try refs.celRequireEach("group", "kind", "name")
            return refs.allSatisfy { p1 in
                refs.filter { p2 in
                    sameParent(p1, p2)
                        && bothUnsetOrEqual(p1, p2, "sectionName", blank: .string(""))
                        && bothUnsetOrEqual(p1, p2, "port", blank: .int(0))
                }.count == 1
            }
        },

        /// "sectionName must be specified when parentRefs includes 2 or more references to the same
        /// parent" (`spec.parentRefs`, standard channel, which has no `port`).
        entry("parentRefSectionNameSpecified",
              #"self.all(p1, self.all(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) || p2.__namespace__ == '')) || (has(p1.__namespace__) && has(p2.__namespace__) && p1.__namespace__ == p2.__namespace__ )) ? ((!has(p1.sectionName) || p1.sectionName == '') == (!has(p2.sectionName) || p2.sectionName == '')) : true))"#) { v in
            let refs = try v.celList()
            try refs.celRequireEach("group", "kind", "name")
            return refs.allSatisfy { p1 in
                refs.allSatisfy { p2 in
                    !sameParent(p1, p2) || p1.celIsBlank("sectionName") == p2.celIsBlank("sectionName")
                }
            }
        },

        /// "sectionName must be unique when parentRefs includes 2 or more references to the same
        /// parent" (standard channel).
        entry("parentRefSectionNameUnique",
              #"self.all(p1, self.exists_one(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) || p2.__namespace__ == '')) || (has(p1.__namespace__) && has(p2.__namespace__) && p1.__namespace__ == p2.__namespace__ )) && (((!has(p1.sectionName) || p1.sectionName == '') && (!has(p2.sectionName) || p2.sectionName == '')) || (has(p1.sectionName) && has(p2.sectionName) && p1.sectionName == p2.sectionName))))"#) { v in
            let refs = try v.celList()
            try refs.celRequireEach("group", "kind", "name")
            return refs.allSatisfy { p1 in
                refs.filter { p2 in
                    sameParent(p1, p2) && bothUnsetOrEqual(p1, p2, "sectionName", blank: .string(""))
                }.count == 1
            }
        },

        // MARK: rules

        /// "While 16 rules and 64 matches per rule are allowed, the total number of matches across
        /// all rules in a route must be less than 128" (GRPCRoute `spec.rules`; matches is optional
        /// there, hence the has()). The rule only sums the first 16 rules and tests `<= 128`.
        entry("grpcRouteTotalMatches",
              #"(self.size() > 0 ? (has(self[0].matches) ? self[0].matches.size() : 0) : 0) + (self.size() > 1 ? (has(self[1].matches) ? self[1].matches.size() : 0) : 0) + (self.size() > 2 ? (has(self[2].matches) ? self[2].matches.size() : 0) : 0) + (self.size() > 3 ? (has(self[3].matches) ? self[3].matches.size() : 0) : 0) + (self.size() > 4 ? (has(self[4].matches) ? self[4].matches.size() : 0) : 0) + (self.size() > 5 ? (has(self[5].matches) ? self[5].matches.size() : 0) : 0) + (self.size() > 6 ? (has(self[6].matches) ? self[6].matches.size() : 0) : 0) + (self.size() > 7 ? (has(self[7].matches) ? self[7].matches.size() : 0) : 0) + (self.size() > 8 ? (has(self[8].matches) ? self[8].matches.size() : 0) : 0) + (self.size() > 9 ? (has(self[9].matches) ? self[9].matches.size() : 0) : 0) + (self.size() > 10 ? (has(self[10].matches) ? self[10].matches.size() : 0) : 0) + (self.size() > 11 ? (has(self[11].matches) ? self[11].matches.size() : 0) : 0) + (self.size() > 12 ? (has(self[12].matches) ? self[12].matches.size() : 0) : 0) + (self.size() > 13 ? (has(self[13].matches) ? self[13].matches.size() : 0) : 0) + (self.size() > 14 ? (has(self[14].matches) ? self[14].matches.size() : 0) : 0) + (self.size() > 15 ? (has(self[15].matches) ? self[15].matches.size() : 0) : 0) <= 128"#) { v in
            try v.celList().prefix(16).reduce(0) { sum, rule in sum + (rule["matches"]?.size ?? 0) } <= 128
        },

        /// "Rule name must be unique within the route" (`spec.rules` of GRPCRoute, HTTPRoute,
        /// TCPRoute/UDPRoute v1alpha2, TLSRoute v1alpha2).
        entry("routeRuleNameUnique",
              #"self.all(l1, !has(l1.name) || self.exists_one(l2, has(l2.name) && l1.name == l2.name))"#) { v in
            let rules = try v.celList()
            return rules.allSatisfy { l1 in
                guard let name = l1["name"] else { return true }
                return rules.filter { l2 in l2["name"] != nil && same(l2["name"], name) }.count == 1
            }
        },

        /// "Must have port for Service reference" (backendRefs of every route, and the backendRef of
        /// requestMirror and externalAuth). group and kind are defaulted.
        entry("backendRefServiceNeedsPort",
              #"(size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true"#) { v in
            guard try and(v.celString("group").isEmpty, v.celString("kind") == "Service") else { return true }
            return v.has("port")
        },

        // MARK: filters common to HTTPRoute and GRPCRoute (`filters` of rules and of backendRefs;
        // a filter's type is required)

        /// "RequestHeaderModifier filter cannot be repeated"
        entry("requestHeaderModifierNotRepeated",
              #"self.filter(f, f.type == 'RequestHeaderModifier').size() <= 1"#) { v in
            try v.celList().celFilterCount { try $0.celString("type") == "RequestHeaderModifier" } <= 1
        },

        /// "ResponseHeaderModifier filter cannot be repeated"
        entry("responseHeaderModifierNotRepeated",
              #"self.filter(f, f.type == 'ResponseHeaderModifier').size() <= 1"#) { v in
            try v.celList().celFilterCount { try $0.celString("type") == "ResponseHeaderModifier" } <= 1
        },

        /// "filter.requestHeaderModifier must be nil if the filter.type is not RequestHeaderModifier"
        entry("requestHeaderModifierOnlyForItsType",
              #"!(has(self.requestHeaderModifier) && self.type != 'RequestHeaderModifier')"#) { v in
            try !(v.has("requestHeaderModifier") && v.celString("type") != "RequestHeaderModifier")
        },

        /// "filter.requestHeaderModifier must be specified for RequestHeaderModifier filter.type"
        entry("requestHeaderModifierRequiredForItsType",
              #"!(!has(self.requestHeaderModifier) && self.type == 'RequestHeaderModifier')"#) { v in
            try !(!v.has("requestHeaderModifier") && v.celString("type") == "RequestHeaderModifier")
        },

        /// "filter.responseHeaderModifier must be nil if the filter.type is not ResponseHeaderModifier"
        entry("responseHeaderModifierOnlyForItsType",
              #"!(has(self.responseHeaderModifier) && self.type != 'ResponseHeaderModifier')"#) { v in
            try !(v.has("responseHeaderModifier") && v.celString("type") != "ResponseHeaderModifier")
        },

        /// "filter.responseHeaderModifier must be specified for ResponseHeaderModifier filter.type"
        entry("responseHeaderModifierRequiredForItsType",
              #"!(!has(self.responseHeaderModifier) && self.type == 'ResponseHeaderModifier')"#) { v in
            try !(!v.has("responseHeaderModifier") && v.celString("type") == "ResponseHeaderModifier")
        },

        /// "filter.requestMirror must be nil if the filter.type is not RequestMirror"
        entry("requestMirrorOnlyForItsType",
              #"!(has(self.requestMirror) && self.type != 'RequestMirror')"#) { v in
            try !(v.has("requestMirror") && v.celString("type") != "RequestMirror")
        },

        /// "filter.requestMirror must be specified for RequestMirror filter.type"
        entry("requestMirrorRequiredForItsType",
              #"!(!has(self.requestMirror) && self.type == 'RequestMirror')"#) { v in
            try !(!v.has("requestMirror") && v.celString("type") == "RequestMirror")
        },

        /// "filter.extensionRef must be nil if the filter.type is not ExtensionRef"
        entry("extensionRefOnlyForItsType",
              #"!(has(self.extensionRef) && self.type != 'ExtensionRef')"#) { v in
            try !(v.has("extensionRef") && v.celString("type") != "ExtensionRef")
        },

        /// "filter.extensionRef must be specified for ExtensionRef filter.type"
        entry("extensionRefRequiredForItsType",
              #"!(!has(self.extensionRef) && self.type == 'ExtensionRef')"#) { v in
            try !(!v.has("extensionRef") && v.celString("type") == "ExtensionRef")
        },

        /// "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter"
        /// (`requestMirror`).
        entry("requestMirrorPercentOrFraction",
              #"!(has(self.percent) && has(self.fraction))"#) { v in
            !(v.has("percent") && v.has("fraction"))
        },

        /// "numerator must be less than or equal to denominator" (`requestMirror.fraction`;
        /// numerator is required, denominator defaults to 100).
        entry("requestMirrorFractionAtMostOne",
              #"self.numerator <= self.denominator"#) { v in
            try v.celInt("numerator") <= v.celInt("denominator")
        },

        // MARK: GRPCRoute method match (`spec.rules[].matches[].method`; type defaults to Exact)

        /// "One or both of 'service' or 'method' must be specified"
        entry("grpcMethodMatchServiceOrMethod",
              #"has(self.type) ? has(self.service) || has(self.method) : true"#) { v in
            v.has("type") ? v.has("service") || v.has("method") : true
        },

        /// "service must only contain valid characters (matching
        /// ^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$)"
        entry("grpcMethodMatchServiceValid",
              #"(!has(self.type) || self.type == 'Exact') && has(self.service) ? self.service.matches(r"""^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$"""): true"#) { v in
            guard let service = v["service"], try !v.has("type") || v.celString("type") == "Exact" else { return true }
            return try grpcServicePattern.matches(service.celString())
        },

        /// "method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)"
        entry("grpcMethodMatchMethodValid",
              #"(!has(self.type) || self.type == 'Exact') && has(self.method) ? self.method.matches(r"""^[A-Za-z_][A-Za-z_0-9]*$"""): true"#) { v in
            guard let method = v["method"], try !v.has("type") || v.celString("type") == "Exact" else { return true }
            return try grpcMethodPattern.matches(method.celString())
        },

        // MARK: sessionPersistence (HTTPRoute and GRPCRoute rules; type defaults to Cookie)

        /// "AbsoluteTimeout must be specified when cookie lifetimeType is Permanent"
        entry("sessionPersistencePermanentNeedsAbsoluteTimeout",
              #"!has(self.cookie) || !has(self.cookie.lifetimeType) || self.cookie.lifetimeType != 'Permanent' || has(self.absoluteTimeout)"#) { v in
            guard let lifetimeType = v["cookie"]?["lifetimeType"] else { return true }
            return try v.has("absoluteTimeout") || lifetimeType.celString() != "Permanent"
        },

        /// "cookie must be nil if type is not Cookie"
        entry("sessionPersistenceCookieOnlyForCookieType",
              #"!has(self.cookie) || self.type == 'Cookie'"#) { v in
            try !v.has("cookie") || v.celString("type") == "Cookie"
        },

        /// "cookie must be specified for Cookie type"
        entry("sessionPersistenceCookieRequiredForCookieType",
              #"self.type != 'Cookie' || has(self.cookie)"#) { v in
            try v.has("cookie") || v.celString("type") != "Cookie"
        },

        /// "header must be nil if type is not Header"
        entry("sessionPersistenceHeaderOnlyForHeaderType",
              #"!has(self.header) || self.type == 'Header'"#) { v in
            try !v.has("header") || v.celString("type") == "Header"
        },

        /// "header must be specified for Header type"
        entry("sessionPersistenceHeaderRequiredForHeaderType",
              #"self.type != 'Header' || has(self.header)"#) { v in
            try v.has("header") || v.celString("type") != "Header"
        },

        // MARK: TLSRoute v1 `spec.hostnames`

        /// "Hostnames cannot contain an IP"
        entry("tlsRouteHostnameNotIP",
              #"self.all(h, !isIP(h))"#) { v in
            try v.celList().celAll { try !isIP($0.celString()) }
        },

        /// "Hostnames must be valid based on RFC-1123"
        entry("tlsRouteHostnameRFC1123",
              #"self.all(h, !h.contains('*') ? h.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$') : true)"#) { v in
            try v.celList().celAll { h in
                let hostname = try h.celString()
                return hostname.celContains("*") ? true : rfc1123SubdomainPattern.matches(hostname)
            }
        },

        /// "Wildcards on hostnames must be the first label, and the rest of hostname must be valid
        /// based on RFC-1123"
        entry("tlsRouteHostnameWildcardFirstLabel",
              #"self.all(h, h.contains('*') ? (h.startsWith('*.') && h.substring(2).matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$')) : true)"#) { v in
            try v.celList().celAll { h in
                let hostname = try h.celString()
                guard hostname.celContains("*") else { return true }
                return try hostname.celHasPrefix("*.") && rfc1123SubdomainPattern.matches(hostname.celSubstring(2))
            }
        },
    ]

    /// Same target (group, kind, name) and same namespace, an absent namespace being the same as
    /// an empty one (keys known present).
    static func sameParent(_ p1: Value, _ p2: Value) -> Bool {
        sameTarget(p1, p2) && bothUnsetOrEqual(p1, p2, "namespace", blank: .string(""))
    }
}
