import ArgumentParser
import ControlPlane
import Foundation
import Translator

/// The `sluice` executable: thin ArgumentParser commands over the library targets.
@main
struct Sluice: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "A Kubernetes Gateway API (+ GAMMA mesh) implementation.",
        subcommands: [Check.self])

    /// Like `ParsableCommand.main()`, but usage errors exit with status 2 (the contract
    /// for `sluice check`), not ArgumentParser's 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// `sluice check -f PATH...`: load, validate, translate; print diagnostics and every object's status.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate and translate Gateway API YAML; print diagnostics and the status Kubernetes would show.",
        discussion: """
        Exit status: 0 when every object is valid and Accepted, 1 when anything is rejected or not
        Accepted, 2 on usage errors. Diagnostics go to standard error as FILE:LINE: Kind ns/name: field: message.
        """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case yaml, json, table }

    @Option(name: [.customShort("f"), .customLong("filename")], help: "File or folder of YAML/JSON manifests (repeatable).")
    var paths: [String] = []

    @Option(name: [.short, .customLong("output")], help: "Output format: yaml (default), json or table.")
    var output: Format = .yaml

    @Flag(name: .customLong("ir"), help: "Also print the compiled routing model (IR).")
    var ir = false

    @Option(name: .customLong("controller-name"), help: "controllerName of the GatewayClasses Sluice owns.")
    var controllerName = TranslatorConfig.defaultControllerName

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one -f FILE_OR_FOLDER") }
    }

    func run() throws {
        let report = CheckReport.run(paths: paths, config: TranslatorConfig(controllerName: controllerName))
        FileHandle.standardError.write(Data(report.renderDiagnostics().utf8))
        switch output {
        case .yaml: print(report.renderYAML(), terminator: "")
        case .json: print(report.renderJSON(), terminator: "")
        case .table: print(report.renderTable(), terminator: "")
        }
        if ir {
            print("---")
            print(report.renderIR(), terminator: "")
        }
        let bad = report.notAccepted
        if !bad.isEmpty {
            FileHandle.standardError.write(Data(("not accepted: " + bad.joined(separator: "; ") + "\n").utf8))
        }
        throw ExitCode(report.exitCode)
    }
}
