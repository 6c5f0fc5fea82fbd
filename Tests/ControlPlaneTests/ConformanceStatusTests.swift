import ControlPlane
import Foundation
import GatewayAPI
import Testing
import Translator

/// Runs the translator over every folder of ../shared/conformance (base manifests + the test's
/// manifests + the suite's programmatic Secrets/ConfigMaps, with the GatewayClass `sluice`) and
/// compares the computed status with each test's `status` expectations (and those of its steps).
///
/// Tests whose features Sluice claims are translated with what the data plane serves
/// (`DataPlaneCapabilities.sluice`); the others with every kind the translator implements
/// (`.allTranslated`), which checks the translator's own logic without claiming anything.
/// Expectations that depend only on resources must all match. Those that depend on run-time
/// inputs of the upstream suite are counted separately and listed, never counted as passes.
@Suite struct ConformanceStatusTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let corpus = repo.deletingLastPathComponent().appendingPathComponent("shared/conformance")
    static let corpusPresent = FileManager.default.fileExists(atPath: corpus.appendingPathComponent("FORMAT.md").path)
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    @Test("status expectations of the conformance corpus match the translator's status",
          .enabled(if: corpusPresent, "../shared/conformance is absent: skipped, not passed"))
    func corpusStatus() throws {
        let cert = try String(contentsOf: Self.fixtures.appendingPathComponent("test-cert.pem"), encoding: .utf8)
        let key = try String(contentsOf: Self.fixtures.appendingPathComponent("test-key.pem"), encoding: .utf8)
        var passed = 0, failed = 0, runtime = 0
        var failures: [String] = []
        var runtimeNotes: [String] = []
        var skipped: [String] = []
        for test in try ConformanceCorpus.tests(corpus: Self.corpus) {
            // Tests of claimed features check what Sluice reports; the others check the translator's
            // logic for kinds the data plane does not serve yet (with every kind it translates), so
            // that logic stays right for the day the data plane serves them.
            var config = TranslatorConfig()
            if !Set(test.features).isSubset(of: config.capabilities.features) { config.capabilities = .allTranslated }
            let r = try ConformanceStatusRunner.run(test, corpus: Self.corpus, certificatePEM: cert, keyPEM: key, config: config)
            if let why = r.skipped {
                skipped.append("\(test.name): \(why)")
                continue
            }
            for (_, outcome) in r.outcomes {
                switch outcome {
                case .pass: passed += 1
                case .fail(let m): failed += 1; failures.append("\(test.name): \(m)")
                case .runtime(let m): runtime += 1; runtimeNotes.append("\(test.name): \(m)")
                }
            }
        }
        let summary = "conformance status expectations: \(passed) matched, \(failed) mismatched, \(runtime) run-time only (not evaluated), of \(passed + failed + runtime); \(skipped.count) tests not applicable"
        print(summary)
        for n in skipped { print("  not applicable: \(n)") }
        for n in runtimeNotes { print("  run-time: \(n)") }
        for f in failures { print("  MISMATCH \(f)") }
        #expect(failed == 0, Comment(rawValue: summary + "\n" + failures.joined(separator: "\n")))
        #expect(passed > 0)
    }
}
