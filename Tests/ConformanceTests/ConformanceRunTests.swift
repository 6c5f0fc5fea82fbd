@testable import Conformance
import Foundation
import Logging
import Testing
import Translator

/// Runs `sluice conformance`'s runner over ../shared/conformance for the features Sluice's data plane
/// implements (skipping, with a message, when ../shared is absent). Every test that runs must pass;
/// skipped tests are listed with their reasons and are never counted as passes.
/// Serialized, and the only suite that runs a `ConformanceRunner`: two runners in one process would
/// bind the same Gateway and Service addresses (they derive from the corpus' names).
@Suite(.serialized) struct ConformanceRunTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/conformance")
    static let present = FileManager.default.fileExists(atPath: corpus.appendingPathComponent("FORMAT.md").path)

    @Test("the conformance tests of the implemented features pass end to end",
          .enabled(if: present, "../shared/conformance is absent: skipped, not passed"))
    func implementedFeatures() async throws {
        var logger = Logger(label: "conformance-test")
        logger.logLevel = .critical
        let runner = ConformanceRunner(options: ConformanceOptions(corpus: Self.corpus,
                                                                   supportedFeatures: Set(SupportedFeatures.implementedInDataPlane)),
                                       logger: logger)
        var passed: [String] = [], failed: [String] = [], skipped: [String] = []
        for t in try runner.selectedTests() {
            let r = await runner.run(t)
            switch r.outcome {
            case .passed: passed.append(r.name)
            case .failed(let why): failed.append("\(r.name): " + why.joined(separator: "; "))
            case .skipped(let why): skipped.append("\(r.name): \(why)")
            }
        }
        await runner.shutdown()
        print("conformance: \(passed.count) passed, \(failed.count) failed, \(skipped.count) skipped")
        for s in skipped { print("  skipped \(s)") }
        for f in failed { print("  FAILED \(f)") }
        #expect(failed.isEmpty, Comment(rawValue: failed.joined(separator: "\n")))
        #expect(!passed.isEmpty)

        // The upstream rule: the suite runs every test whose features are all supported, so a
        // claimed feature set is honest only when each such test ran and passed.
        let claimed = Set(SupportedFeatures.claimed)
        let enabled = try runner.selectedTests().filter { Set($0.features).isSubset(of: claimed) }.map(\.name)
        let notPassed = enabled.filter { !passed.contains($0) }
        #expect(!enabled.isEmpty)
        #expect(notPassed.isEmpty, "tests whose features are all claimed but which did not pass: \(notPassed)")
    }
}

/// The ConformanceReport writer: profile membership, statistics and results.
@Suite struct ConformanceReportTests {
    @Test("tests are grouped by profile; a skipped test makes the result partial, a failed one failure",
          .enabled(if: ConformanceRunTests.present, "../shared/conformance is absent: skipped, not passed"))
    func grouping() throws {
        let results = [
            ConformanceTestResult(name: "HTTPRouteSimpleSameNamespace", features: ["Gateway", "HTTPRoute"], profile: "gateway", outcome: .passed, seconds: 0.1),
            ConformanceTestResult(name: "HTTPRouteWeight", features: ["Gateway", "HTTPRoute"], profile: "gateway", outcome: .skipped("x"), seconds: 0),
            ConformanceTestResult(name: "HTTPRouteRetry", features: ["Gateway", "HTTPRoute", "HTTPRouteRetry"], profile: "gateway", outcome: .failed(["y"]), seconds: 0),
        ]
        let yaml = try ConformanceReportWriter.render(results: results, corpus: ConformanceRunTests.corpus,
                                                      supportedFeatures: ["HTTPRouteRetry"], version: "test")
        #expect(yaml.contains("kind: ConformanceReport"))
        let http = try #require(yaml.components(separatedBy: "- core:").first { $0.contains("name: GATEWAY-HTTP") })
        #expect(http.contains("result: partial"), "core: one passed, one skipped")
        #expect(http.contains("Passed: 1"))
        #expect(http.contains("result: failure"), "extended: the retry test failed")
        #expect(http.contains("- HTTPRouteRetry"))
        #expect(http.contains("unsupportedFeatures:"))
    }
}
