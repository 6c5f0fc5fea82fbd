import Foundation

/// CEL rules specific to HTTPRoute.
extension CELRules {
    /// Path characters allowed in Exact and PathPrefix path matches.
    static let httpPathPattern = CELRegex(#"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$"#)

    static let httpRouteEntries: [Entry] = [
        // MARK: `spec.rules` and `spec.rules[]` (matches defaults to one PathPrefix "/" match)

        /// "While 16 rules and 64 matches per rule are allowed, the total number of matches across
        /// all rules in a route must be less than 128" (HTTPRoute `spec.rules`). Unlike GRPCRoute's
        /// variant this one reads `self[i].matches` without has(): matches is defaulted, so it is
        /// present; were it absent CEL would raise "no such key". Sums the first 16 rules, `<= 128`.
        entry("httpRouteTotalMatches",
              #"(self.size() > 0 ? self[0].matches.size() : 0) + (self.size() > 1 ? self[1].matches.size() : 0) + (self.size() > 2 ? self[2].matches.size() : 0) + (self.size() > 3 ? self[3].matches.size() : 0) + (self.size() > 4 ? self[4].matches.size() : 0) + (self.size() > 5 ? self[5].matches.size() : 0) + (self.size() > 6 ? self[6].matches.size() : 0) + (self.size() > 7 ? self[7].matches.size() : 0) + (self.size() > 8 ? self[8].matches.size() : 0) + (self.size() > 9 ? self[9].matches.size() : 0) + (self.size() > 10 ? self[10].matches.size() : 0) + (self.size() > 11 ? self[11].matches.size() : 0) + (self.size() > 12 ? self[12].matches.size() : 0) + (self.size() > 13 ? self[13].matches.size() : 0) + (self.size() > 14 ? self[14].matches.size() : 0) + (self.size() > 15 ? self[15].matches.size() : 0) <= 128"#) { v in
            try v.celList().prefix(16).reduce(0) { sum, rule in try sum + rule.celField("matches").size } <= 128
        },

        /// "RequestRedirect filter must not be used together with backendRefs" (`spec.rules[]`).
        entry("httpRuleRedirectWithoutBackendRefs",
              #"(has(self.backendRefs) && size(self.backendRefs) > 0) ? (!has(self.filters) || self.filters.all(f, !has(f.requestRedirect))): true"#) { v in
            guard (v["backendRefs"]?.size ?? 0) > 0, let filters = v["filters"] else { return true }
            return try filters.celList().allSatisfy { !$0.has("requestRedirect") }
        },

        /// "When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix
        /// match must be specified"
        entry("httpRuleRedirectPrefixNeedsOnePathPrefixMatch",
              #"(has(self.filters) && self.filters.exists_one(f, has(f.requestRedirect) && has(f.requestRedirect.path) && f.requestRedirect.path.type == 'ReplacePrefixMatch' && has(f.requestRedirect.path.replacePrefixMatch))) ? ((size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : true"#) { v in
            guard let filters = v["filters"],
                  try filters.celList().celExistsOne({ try replacesPrefixMatch($0, "requestRedirect") }) else { return true }
            return try hasSinglePathPrefixMatch(v)
        },

        /// "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match
        /// must be specified"
        entry("httpRuleRewritePrefixNeedsOnePathPrefixMatch",
              #"(has(self.filters) && self.filters.exists_one(f, has(f.urlRewrite) && has(f.urlRewrite.path) && f.urlRewrite.path.type == 'ReplacePrefixMatch' && has(f.urlRewrite.path.replacePrefixMatch))) ? ((size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : true"#) { v in
            guard let filters = v["filters"],
                  try filters.celList().celExistsOne({ try replacesPrefixMatch($0, "urlRewrite") }) else { return true }
            return try hasSinglePathPrefixMatch(v)
        },

        /// "Within backendRefs, when using RequestRedirect filter with path.replacePrefixMatch,
        /// exactly one PathPrefix match must be specified"
        entry("httpBackendRedirectPrefixNeedsOnePathPrefixMatch",
              #"(has(self.backendRefs) && self.backendRefs.exists_one(b, (has(b.filters) && b.filters.exists_one(f, has(f.requestRedirect) && has(f.requestRedirect.path) && f.requestRedirect.path.type == 'ReplacePrefixMatch' && has(f.requestRedirect.path.replacePrefixMatch))) )) ? ((size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : true"#) { v in
            guard let backendRefs = v["backendRefs"],
                  try backendRefs.celList().celExistsOne({ b in
                      guard let filters = b["filters"] else { return false }
                      return try filters.celList().celExistsOne { try replacesPrefixMatch($0, "requestRedirect") }
                  }) else { return true }
            return try hasSinglePathPrefixMatch(v)
        },

        /// "Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, exactly
        /// one PathPrefix match must be specified"
        entry("httpBackendRewritePrefixNeedsOnePathPrefixMatch",
              #"(has(self.backendRefs) && self.backendRefs.exists_one(b, (has(b.filters) && b.filters.exists_one(f, has(f.urlRewrite) && has(f.urlRewrite.path) && f.urlRewrite.path.type == 'ReplacePrefixMatch' && has(f.urlRewrite.path.replacePrefixMatch))) )) ? ((size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : true"#) { v in
            guard let backendRefs = v["backendRefs"],
                  try backendRefs.celList().celExistsOne({ b in
                      guard let filters = b["filters"] else { return false }
                      return try filters.celList().celExistsOne { try replacesPrefixMatch($0, "urlRewrite") }
                  }) else { return true }
            return try hasSinglePathPrefixMatch(v)
        },

        // MARK: filter lists (`filters` of rules and of backendRefs; a filter's type is required)

        /// "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but
        /// not both"
        entry("httpFiltersRedirectOrRewrite",
              #"!(self.exists(f, f.type == 'RequestRedirect') && self.exists(f, f.type == 'URLRewrite'))"#) { v in
            let filters = try v.celList()
            return try !and(filters.celExists { try $0.celString("type") == "RequestRedirect" },
                            filters.celExists { try $0.celString("type") == "URLRewrite" })
        },

        /// "CORS filter cannot be repeated"
        entry("corsNotRepeated",
              #"self.filter(f, f.type == 'CORS').size() <= 1"#) { v in
            try v.celList().celFilterCount { try $0.celString("type") == "CORS" } <= 1
        },

        /// "RequestRedirect filter cannot be repeated"
        entry("requestRedirectNotRepeated",
              #"self.filter(f, f.type == 'RequestRedirect').size() <= 1"#) { v in
            try v.celList().celFilterCount { try $0.celString("type") == "RequestRedirect" } <= 1
        },

        /// "URLRewrite filter cannot be repeated"
        entry("urlRewriteNotRepeated",
              #"self.filter(f, f.type == 'URLRewrite').size() <= 1"#) { v in
            try v.celList().celFilterCount { try $0.celString("type") == "URLRewrite" } <= 1
        },

        // MARK: a filter (`filters[]`)

        /// "filter.cors must be nil if the filter.type is not CORS"
        entry("corsOnlyForItsType",
              #"!(has(self.cors) && self.type != 'CORS')"#) { v in
            try !(v.has("cors") && v.celString("type") != "CORS")
        },

        /// "filter.cors must be specified for CORS filter.type"
        entry("corsRequiredForItsType",
              #"!(!has(self.cors) && self.type == 'CORS')"#) { v in
            try !(!v.has("cors") && v.celString("type") == "CORS")
        },

        /// "filter.requestRedirect must be nil if the filter.type is not RequestRedirect"
        entry("requestRedirectOnlyForItsType",
              #"!(has(self.requestRedirect) && self.type != 'RequestRedirect')"#) { v in
            try !(v.has("requestRedirect") && v.celString("type") != "RequestRedirect")
        },

        /// "filter.requestRedirect must be specified for RequestRedirect filter.type"
        entry("requestRedirectRequiredForItsType",
              #"!(!has(self.requestRedirect) && self.type == 'RequestRedirect')"#) { v in
            try !(!v.has("requestRedirect") && v.celString("type") == "RequestRedirect")
        },

        /// "filter.urlRewrite must be nil if the filter.type is not URLRewrite"
        entry("urlRewriteOnlyForItsType",
              #"!(has(self.urlRewrite) && self.type != 'URLRewrite')"#) { v in
            try !(v.has("urlRewrite") && v.celString("type") != "URLRewrite")
        },

        /// "filter.urlRewrite must be specified for URLRewrite filter.type"
        entry("urlRewriteRequiredForItsType",
              #"!(!has(self.urlRewrite) && self.type == 'URLRewrite')"#) { v in
            try !(!v.has("urlRewrite") && v.celString("type") == "URLRewrite")
        },

        /// "filter.externalAuth must be nil if the filter.type is not ExternalAuth"
        entry("externalAuthOnlyForItsType",
              #"!(has(self.externalAuth) && self.type != 'ExternalAuth')"#) { v in
            try !(v.has("externalAuth") && v.celString("type") != "ExternalAuth")
        },

        /// "filter.externalAuth must be specified for ExternalAuth filter.type"
        entry("externalAuthRequiredForItsType",
              #"!(!has(self.externalAuth) && self.type == 'ExternalAuth')"#) { v in
            try !(!v.has("externalAuth") && v.celString("type") == "ExternalAuth")
        },

        /// "AllowHeaders cannot contain '*' alongside other methods" / "AllowMethods cannot contain
        /// '*' alongside other methods" / "AllowOrigins cannot contain '*' alongside other origins"
        /// (`cors.allowHeaders`, `cors.allowMethods`, `cors.allowOrigins`).
        entry("corsWildcardAlone",
              #"!('*' in self && self.size() > 1)"#) { v in
            let list = try v.celList()
            return !(list.contains { same($0, .string("*")) } && list.count > 1)
        },

        // MARK: externalAuth (protocol is required)

        /// "grpc must be specified when protocol is set to 'GRPC'"
        entry("externalAuthGRPCConfigRequired",
              #"self.protocol == 'GRPC' ? has(self.grpc) : true"#) { v in
            try v.celString("protocol") == "GRPC" ? v.has("grpc") : true
        },

        /// "protocol must be 'GRPC' when grpc is set"
        entry("externalAuthGRPCConfigOnlyForGRPC",
              #"has(self.grpc) ? self.protocol == 'GRPC' : true"#) { v in
            try v.has("grpc") ? v.celString("protocol") == "GRPC" : true
        },

        /// "http must be specified when protocol is set to 'HTTP'"
        entry("externalAuthHTTPConfigRequired",
              #"self.protocol == 'HTTP' ? has(self.http) : true"#) { v in
            try v.celString("protocol") == "HTTP" ? v.has("http") : true
        },

        /// "protocol must be 'HTTP' when http is set"
        entry("externalAuthHTTPConfigOnlyForHTTP",
              #"has(self.http) ? self.protocol == 'HTTP' : true"#) { v in
            try v.has("http") ? v.celString("protocol") == "HTTP" : true
        },

        // MARK: path modifier (`requestRedirect.path`, `urlRewrite.path`; type is required)

        /// "replaceFullPath must be specified when type is set to 'ReplaceFullPath'"
        entry("pathModifierFullPathRequired",
              #"self.type == 'ReplaceFullPath' ? has(self.replaceFullPath) : true"#) { v in
            try v.celString("type") == "ReplaceFullPath" ? v.has("replaceFullPath") : true
        },

        /// "type must be 'ReplaceFullPath' when replaceFullPath is set"
        entry("pathModifierFullPathOnlyForItsType",
              #"has(self.replaceFullPath) ? self.type == 'ReplaceFullPath' : true"#) { v in
            try v.has("replaceFullPath") ? v.celString("type") == "ReplaceFullPath" : true
        },

        /// "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'"
        entry("pathModifierPrefixMatchRequired",
              #"self.type == 'ReplacePrefixMatch' ? has(self.replacePrefixMatch) : true"#) { v in
            try v.celString("type") == "ReplacePrefixMatch" ? v.has("replacePrefixMatch") : true
        },

        /// "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set"
        entry("pathModifierPrefixMatchOnlyForItsType",
              #"has(self.replacePrefixMatch) ? self.type == 'ReplacePrefixMatch' : true"#) { v in
            try v.has("replacePrefixMatch") ? v.celString("type") == "ReplacePrefixMatch" : true
        },

        // MARK: path match (`matches[].path`; type defaults to PathPrefix, value to "/")

        /// "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']"
        entry("pathMatchAbsolute",
              #"(self.type in ['Exact','PathPrefix']) ? self.value.startsWith('/') : true"#) { v in
            try exactOrPrefixPath(v) { $0.celHasPrefix("/") }
        },

        /// "must not contain '//' when type one of ['Exact', 'PathPrefix']"
        entry("pathMatchNoDoubleSlash",
              #"(self.type in ['Exact','PathPrefix']) ? !self.value.contains('//') : true"#) { v in
            try exactOrPrefixPath(v) { !$0.celContains("//") }
        },

        /// "must not contain '/./' when type one of ['Exact', 'PathPrefix']"
        entry("pathMatchNoDotSegment",
              #"(self.type in ['Exact','PathPrefix']) ? !self.value.contains('/./') : true"#) { v in
            try exactOrPrefixPath(v) { !$0.celContains("/./") }
        },

        /// "must not contain '/../' when type one of ['Exact', 'PathPrefix']"
        entry("pathMatchNoDotDotSegment",
              #"(self.type in ['Exact','PathPrefix']) ? !self.value.contains('/../') : true"#) { v in
            try exactOrPrefixPath(v) { !$0.celContains("/../") }
        },

        /// "must not contain '%2f' when type one of ['Exact', 'PathPrefix']"
        entry("pathMatchNoEncodedSlashLower",
              #"(self.type in ['Exact','PathPrefix']) ? !self.value.contains('%2f') : true"#) { v in
            try exactOrPrefixPath(v) { !$0.celContains("%2f") }
        },

        /// "must not contain '%2F' when type one of ['Exact', 'PathPrefix']"
        entry("pathMatchNoEncodedSlashUpper",
              #"(self.type in ['Exact','PathPrefix']) ? !self.value.contains('%2F') : true"#) { v in
            try exactOrPrefixPath(v) { !$0.celContains("%2F") }
        },

        /// "must not contain '#' when type one of ['Exact', 'PathPrefix']"
        entry("pathMatchNoFragment",
              #"(self.type in ['Exact','PathPrefix']) ? !self.value.contains('#') : true"#) { v in
            try exactOrPrefixPath(v) { !$0.celContains("#") }
        },

        /// "must not end with '/..' when type one of ['Exact', 'PathPrefix']"
        entry("pathMatchNoTrailingDotDot",
              #"(self.type in ['Exact','PathPrefix']) ? !self.value.endsWith('/..') : true"#) { v in
            try exactOrPrefixPath(v) { !$0.celHasSuffix("/..") }
        },

        /// "must not end with '/.' when type one of ['Exact', 'PathPrefix']"
        entry("pathMatchNoTrailingDot",
              #"(self.type in ['Exact','PathPrefix']) ? !self.value.endsWith('/.') : true"#) { v in
            try exactOrPrefixPath(v) { !$0.celHasSuffix("/.") }
        },

        /// "type must be one of ['Exact', 'PathPrefix', 'RegularExpression']"
        entry("pathMatchKnownType",
              #"self.type in ['Exact','PathPrefix'] || self.type == 'RegularExpression'"#) { v in
            let type = try v.celString("type")
            return ["Exact", "PathPrefix"].contains(type) || type == "RegularExpression"
        },

        /// "must only contain valid characters (matching
        /// ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']"
        entry("pathMatchValidCharacters",
              #"(self.type in ['Exact','PathPrefix']) ? self.value.matches(r"""^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$""") : true"#) { v in
            try exactOrPrefixPath(v) { httpPathPattern.matches($0) }
        },

        // MARK: timeouts (`spec.rules[].timeouts`; both optional)

        /// "backendRequest timeout cannot be longer than request timeout" — a request timeout of
        /// 0s means "no timeout", which any backendRequest timeout fits in.
        entry("timeoutsBackendRequestWithinRequest",
              #"!(has(self.request) && has(self.backendRequest) && duration(self.request) != duration('0s') && duration(self.backendRequest) > duration(self.request))"#) { v in
            guard let request = v["request"], let backendRequest = v["backendRequest"] else { return true }
            return try !and(duration(request.celString()) != duration("0s"),
                            duration(backendRequest.celString()) > duration(request.celString()))
        },
    ]

    /// `has(f.K) && has(f.K.path) && f.K.path.type == 'ReplacePrefixMatch' &&
    /// has(f.K.path.replacePrefixMatch)` for K = requestRedirect or urlRewrite (path.type is required).
    private static func replacesPrefixMatch(_ filter: Value, _ key: String) throws -> Bool {
        guard let path = filter[key]?["path"], path.has("replacePrefixMatch") else { return false }
        return try path.celString("type") == "ReplacePrefixMatch"
    }

    /// `(size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0].path.type !=
    /// 'PathPrefix') ? false : true` (matches is defaulted, path.type too).
    private static func hasSinglePathPrefixMatch(_ rule: Value) throws -> Bool {
        let matches = try rule.celList("matches")
        guard matches.count == 1, let path = matches[0]["path"] else { return false }
        return try path.celString("type") == "PathPrefix"
    }

    /// `(self.type in ['Exact','PathPrefix']) ? <valid(self.value)> : true`.
    private static func exactOrPrefixPath(_ v: Value, _ valid: (String) -> Bool) throws -> Bool {
        guard try ["Exact", "PathPrefix"].contains(v.celString("type")) else { return true }
        return try valid(v.celString("value"))
    }
}
