import ControlPlane
import Foundation
import GatewayAPI
import Testing
import Translator

/// Golden translator tests (../shared/DESIGN.md §4.6): every `Golden/<scenario as a sentence>.in.yaml`
/// is loaded, validated and translated; the diagnostics, the status of every object and the IR are
/// rendered side by side and compared with `<same name>.out.yaml`. `UPDATE_GOLDEN=1 swift test
/// --filter GoldenTests` rewrites the .out.yaml files (review the diff before committing).
@Suite struct GoldenTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static var scenarios: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".in.yaml") }.map { String($0.dropLast(".in.yaml".count)) }.sorted()
    }

    static let allTranslatedMarker = "# capabilities: allTranslated"

    /// Renders one scenario the way the .out.yaml files hold it.
    static func render(_ scenario: String) throws -> String {
        let file = scenario + ".in.yaml"
        let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
        // A scenario of the translator's logic for kinds the data plane does not serve yet says so
        // in its first line; every other scenario shows what Sluice reports.
        var config = TranslatorConfig()
        if text.hasPrefix(Self.allTranslatedMarker) { config.capabilities = .allTranslated }
        let report = CheckReport.run(texts: [(file: file, text: text)], config: config)
        return GoldenRendering.render(report)
    }

    @Test("there are at least 60 golden scenarios")
    func enoughScenarios() {
        #expect(Self.scenarios.count >= 60, "only \(Self.scenarios.count) scenarios")
    }

    @Test("golden scenario", arguments: GoldenTests.scenarios)
    func scenario(_ name: String) throws {
        let actual = try Self.render(name)
        let outURL = Self.dir.appendingPathComponent(name + ".out.yaml")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try actual.write(to: outURL, atomically: true, encoding: .utf8)
            return
        }
        let expected = try? String(contentsOf: outURL, encoding: .utf8)
        #expect(expected != nil, "missing \(name).out.yaml: run UPDATE_GOLDEN=1 swift test --filter GoldenTests")
        guard let expected else { return }
        if actual != expected {
            let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
            let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(a, e).enumerated().first { $0.element.0 != $0.element.1 }
            let line = first?.offset ?? min(a.count, e.count)
            Issue.record("""
                \(name): output differs from \(name).out.yaml at line \(line + 1)
                expected: \(line < e.count ? String(e[line]) : "<end>")
                actual:   \(line < a.count ? String(a[line]) : "<end>")
                (UPDATE_GOLDEN=1 rewrites the file; review the diff)
                """)
        }
    }

    @Test("translation is deterministic and does not depend on input order")
    func deterministic() throws {
        for name in Self.scenarios.prefix(20) {
            let once = try Self.render(name)
            let twice = try Self.render(name)
            #expect(once == twice, "\(name) rendered differently twice")
        }
    }
}

/// The .out.yaml layout: diagnostics, then each object's status, then the IR.
enum GoldenRendering {
    static func render(_ report: CheckReport) -> String {
        var statuses: [Value] = []
        for o in report.objects {
            guard let st = report.statusValue(for: o.key) else { continue }
            statuses.append(.object(Object([("kind", .string(o.key.kind)),
                                            ("name", .string(o.key.namespace.isEmpty ? o.key.name : "\(o.key.namespace)/\(o.key.name)")),
                                            ("status", st)])))
        }
        let diags = report.diagnostics.map { Value.string($0.description) }
        let doc = Value.object(Object([
            ("diagnostics", .array(diags)),
            ("status", .array(statuses)),
            ("ir", CheckReport.encodeForGolden(report.result.ir)),
        ]))
        return YAMLWriter.write(doc)
    }
}
