import Foundation
import GatewayAPI

/// Writes a `ConformanceReport` (gateway.networking.k8s.io/v1, the shape of
/// ../shared/conformance/example-report.yaml) from a run's results and the corpus' profiles.json:
/// per profile, core and extended statistics and results, and the supported/unsupported extended
/// features. "A test belongs to a profile when all its features are in the profile's core+extended
/// sets" (profiles.json note); a core test uses only core features.
public enum ConformanceReportWriter {
    public static func render(results: [ConformanceTestResult], corpus: URL, supportedFeatures: Set<String>,
                              version: String, date: Date = Date()) throws -> String {
        let profilesDoc = try YAMLReader.value(String(contentsOf: corpus.appendingPathComponent("profiles.json"), encoding: .utf8))
        var profiles: [Value] = []
        for (name, p) in profilesDoc["profiles"]?.object ?? Object() {
            let core = Set(p["core"]?.array?.compactMap { $0["name"]?.string } ?? [])
            let extended = Set(p["extended"]?.array?.compactMap { $0["name"]?.string } ?? [])
            let members = results.filter { r in !r.features.isEmpty && Set(r.features).isSubset(of: core.union(extended)) }
            let coreTests = members.filter { Set($0.features).isSubset(of: core) }
            let extendedTests = members.filter { !Set($0.features).isSubset(of: core) }
            guard !members.isEmpty else { continue }
            let (coreBlock, coreSummary) = block(coreTests)
            var (extBlock, extSummary) = block(extendedTests)
            if var o = extBlock.object {
                o["supportedFeatures"] = .array(extended.intersection(supportedFeatures).sorted().map { .string($0) })
                o["unsupportedFeatures"] = .array(extended.subtracting(supportedFeatures).sorted().map { .string($0) })
                extBlock = .object(o)
            }
            profiles.append(.object(Object([
                ("core", coreBlock), ("extended", extBlock), ("name", .string(name)),
                ("summary", .string("Core tests \(coreSummary). Extended tests \(extSummary).")),
            ])))
        }
        let iso = ISO8601DateFormatter()
        let doc = Value.object(Object([
            ("apiVersion", .string("gateway.networking.k8s.io/v1")),
            ("date", .string(iso.string(from: date))),
            ("gatewayAPIChannel", .string("experimental")),
            ("gatewayAPIVersion", .string(gatewayAPIVersion(corpus))),
            ("implementation", .object(Object([
                ("contact", .array([])), ("organization", .string("sluice")), ("project", .string("sluice")),
                ("url", .string("https://sluice.dev")), ("version", .string(version)),
            ]))),
            ("kind", .string("ConformanceReport")),
            ("mode", .string("default")),
            ("profiles", .array(profiles)),
        ]))
        return YAMLWriter.write(doc)
    }

    /// Statistics and result of a set of tests: failure when any failed, partial when any was
    /// skipped (it did not run, so it did not pass), success otherwise.
    static func block(_ tests: [ConformanceTestResult]) -> (Value, String) {
        var passed = 0, failed = 0, skipped = 0
        for t in tests {
            switch t.outcome {
            case .passed: passed += 1
            case .failed: failed += 1
            case .skipped: skipped += 1
            }
        }
        let result = failed > 0 ? "failure" : skipped > 0 ? "partial" : "success"
        let summary = failed > 0 ? "failed" : skipped > 0 ? "partially succeeded with some skipped tests" : "succeeded"
        var o = Object([("result", .string(result)),
                        ("statistics", .object(Object([("Failed", .int(failed)), ("Passed", .int(passed)), ("Skipped", .int(skipped))])))])
        if failed > 0 {
            o["failedTests"] = .array(tests.filter { if case .failed = $0.outcome { return true } else { return false } }.map { .string($0.name) })
        }
        if skipped > 0 {
            o["skippedTests"] = .array(tests.filter { if case .skipped = $0.outcome { return true } else { return false } }.map { .string($0.name) })
        }
        return (.object(o), summary)
    }

    /// The Gateway API version the corpus was extracted from (../gateway-api-spec/SOURCE), if known.
    static func gatewayAPIVersion(_ corpus: URL) -> String {
        let source = corpus.deletingLastPathComponent().appendingPathComponent("gateway-api-spec/SOURCE")
        guard let text = try? String(contentsOf: source, encoding: .utf8),
              let at = text.range(of: " at ") else { return "unknown" }
        return String(text[at.upperBound...].split(whereSeparator: \.isNewline).first ?? "unknown")
    }
}
