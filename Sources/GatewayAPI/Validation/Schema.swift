import Foundation

/// The subset of an OpenAPI v3 structural schema (as Kubernetes CRDs use it) that Sluice interprets.
///
/// Built once from the embedded CRD schemas (`CRDSchemaSources`) and from the hand-written schemas of
/// the core kinds (`CoreSchemas`). Immutable after construction, hence `Sendable`.
public final class Schema: Sendable {
    public let type: String?
    public let properties: [String: Schema]
    public let required: [String]
    public let items: Schema?
    /// `additionalProperties` as a schema (maps such as labels); nil when not a map.
    public let additionalProperties: Schema?
    public let enumValues: [Value]?
    public let pattern: String?
    public let compiledPattern: NSRegularExpressionBox?
    public let minLength: Int?
    public let maxLength: Int?
    public let minimum: Double?
    public let maximum: Double?
    public let minItems: Int?
    public let maxItems: Int?
    public let maxProperties: Int?
    public let format: String?
    public let defaultValue: Value?
    public let nullable: Bool
    public let intOrString: Bool
    public let preserveUnknownFields: Bool
    /// `x-kubernetes-list-type`: atomic | set | map.
    public let listType: String?
    public let listMapKeys: [String]
    public let validations: [Rule]
    public let oneOf: [Schema]
    public let anyOf: [Schema]
    public let not: Schema?

    /// One `x-kubernetes-validations` entry.
    public struct Rule: Sendable {
        public let rule: String
        public let message: String
        public let reason: String?
        /// Relative JSON path (e.g. `.sectionName`) the error is reported at, when the CRD names one.
        public let fieldPath: String?
    }

    /// Builds a schema from its JSON/YAML form.
    public init(_ json: Value) {
        type = json["type"]?.string
        var props: [String: Schema] = [:]
        for (k, v) in json["properties"]?.object ?? Object() { props[k] = Schema(v) }
        properties = props
        required = json["required"]?.array?.compactMap(\.string) ?? []
        items = json["items"].map(Schema.init)
        additionalProperties = json["additionalProperties"].flatMap { $0.object != nil ? Schema($0) : nil }
        enumValues = json["enum"]?.array
        pattern = json["pattern"]?.string
        compiledPattern = pattern.flatMap(NSRegularExpressionBox.init(pattern:))
        minLength = json["minLength"]?.int
        maxLength = json["maxLength"]?.int
        minimum = json["minimum"]?.double
        maximum = json["maximum"]?.double
        minItems = json["minItems"]?.int
        maxItems = json["maxItems"]?.int
        maxProperties = json["maxProperties"]?.int
        format = json["format"]?.string
        defaultValue = json.object?["default"]
        nullable = json["nullable"]?.bool ?? false
        intOrString = json["x-kubernetes-int-or-string"]?.bool ?? false
        preserveUnknownFields = json["x-kubernetes-preserve-unknown-fields"]?.bool ?? false
        listType = json["x-kubernetes-list-type"]?.string
        listMapKeys = json["x-kubernetes-list-map-keys"]?.array?.compactMap(\.string) ?? []
        validations = (json["x-kubernetes-validations"]?.array ?? []).map {
            let rule = $0["rule"]?.string ?? ""
            return Rule(rule: rule,
                        message: $0["message"]?.string ?? $0["messageExpression"]?.string ?? "failed rule: \(rule)",
                        reason: $0["reason"]?.string,
                        fieldPath: $0["fieldPath"]?.string)
        }
        oneOf = (json["oneOf"]?.array ?? []).map(Schema.init)
        anyOf = (json["anyOf"]?.array ?? []).map(Schema.init)
        not = json["not"].map(Schema.init)
    }

    /// Parses a schema from JSON text. Crashes on malformed input: only used on embedded schemas,
    /// whose well-formedness the tests exercise.
    public convenience init(json: String) {
        self.init(try! JSONReader.parse(json))
    }

    /// Parses a schema from YAML text (the hand-written core schemas).
    public convenience init(yaml: String) {
        self.init(try! YAMLReader.value(yaml, file: "<embedded schema>"))
    }

    /// Every rule text in this schema tree (for coverage tests).
    public func allRules() -> [Rule] {
        var out = validations
        for (_, p) in properties { out += p.allRules() }
        if let items { out += items.allRules() }
        if let additionalProperties { out += additionalProperties.allRules() }
        return out
    }
}

/// `NSRegularExpression` is immutable once built; the box makes that explicit for `Sendable`.
public final class NSRegularExpressionBox: @unchecked Sendable {
    public let regex: NSRegularExpression
    public init?(pattern: String) {
        guard let r = try? NSRegularExpression(pattern: pattern) else { return nil }
        regex = r
    }
    /// RE2/ECMA partial-match semantics (OpenAPI `pattern` is unanchored unless the pattern anchors).
    public func matches(_ s: String) -> Bool {
        regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }
}

