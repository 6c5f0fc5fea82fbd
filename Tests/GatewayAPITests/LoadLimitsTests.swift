import Foundation
@testable import GatewayAPI
import Testing

// Issue 14 items 5 and 10: bounded configuration size, and unreadable files (not UTF-8, symbolic
// link loops) reported with the file and where.

private func configMaps(_ names: [String]) -> String {
    names.map(configMap).joined(separator: "---\n")
}

@Suite("Load limits and unreadable files")
struct LoadLimitsTests {

    @Test func aFileOverTheSizeLimitIsNotReadAndNamed() throws {
        let dir = try TempDir("limits"); defer { dir.cleanup() }
        let big = try dir.write("a-big.yaml", configMaps(["a", "b", "c"]))
        try dir.write("b-small.yaml", configMap("d"))
        let size = try Data(contentsOf: URL(fileURLWithPath: big)).count
        let r = Loader.load(paths: [dir.path], limits: LoadLimits(maxFileBytes: size - 1))
        #expect(r.objects.map(\.key.name) == ["d"])
        #expect(rendered(r) == [
            "\(big): file is \(size) bytes, over the limit of \(size - 1) bytes per file (--max-file-bytes); not loaded",
        ])
        // At the limit it loads.
        #expect(Loader.load(paths: [big], limits: LoadLimits(maxFileBytes: size)).objects.count == 3)
    }

    @Test func theFileThatTakesTheTotalOverTheLimitIsNamed() throws {
        let dir = try TempDir("limits"); defer { dir.cleanup() }
        try dir.write("a.yaml", configMap("a"))
        let second = try dir.write("b.yaml", configMap("b"))
        try dir.write("c.yaml", "#\n")
        let each = configMap("a").utf8.count
        let r = Loader.load(paths: [dir.path], limits: LoadLimits(maxTotalBytes: each + 3))
        #expect(r.objects.map(\.key.name) == ["a"])
        #expect(rendered(r) == [
            "\(second): file is \(each) bytes and the configuration's other files \(each): together over the limit of "
                + "\(each + 3) bytes per configuration (--max-total-bytes); not loaded",
        ])
    }

    @Test func objectsOverTheLimitStopTheLoadAtTheirLine() throws {
        let dir = try TempDir("limits"); defer { dir.cleanup() }
        let a = try dir.write("a.yaml", configMaps(["a", "b"]))
        // A later syntax error is never reached: parsing stopped at the limit.
        let b = try dir.write("b.yaml", configMaps(["c", "d"]) + "---\nkey: [unclosed\n")
        let r = Loader.load(paths: [dir.path], limits: LoadLimits(maxObjects: 3))
        #expect(r.objects.map(\.key.name) == ["a", "b", "c"])
        #expect(rendered(r) == [
            "\(b):6: the configuration has more than 3 objects (--max-objects): this object and everything after it are not loaded",
        ])
        // A `List` counts its items; in-memory sources may count objects loaded elsewhere.
        let list = """
            apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}
            - {apiVersion: v1, kind: ConfigMap, metadata: {name: y}}
            """
        let l = Loader.load(texts: [(file: "l.yaml", text: list)], limits: LoadLimits(maxObjects: 10), objectsSoFar: 9)
        #expect(l.objects.map(\.key.name) == ["x"])
        #expect(l.diagnostics.map(\.location) == [Loc(file: "l.yaml", line: 5)])
        // Duplicates replace, they do not count twice.
        let dup = Loader.load(texts: [(file: "d.yaml", text: configMaps(["x", "x"]))], limits: LoadLimits(maxObjects: 1))
        #expect(dup.objects.count == 1)
        #expect(dup.diagnostics.allSatisfy { $0.severity == .warning })
        _ = a
    }

    @Test func notUTF8IsReportedAtTheLineAndOffsetOfTheFirstBadByte() throws {
        let dir = try TempDir("utf8"); defer { dir.cleanup() }
        var bytes = Data("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf".utf8)
        bytes.append(0xE9)  // Latin-1 "é"
        bytes.append(contentsOf: Data("}\n".utf8))
        let f = try dir.write("latin1.yaml", bytes)
        try dir.write("ok.yaml", configMap("ok"))
        let r = Loader.load(paths: [dir.path])
        #expect(r.objects.map(\.key.name) == ["ok"])
        #expect(rendered(r) == ["\(f):3: file is not UTF-8 text: invalid UTF-8 sequence at byte offset 51 (line 3, column 21)"])

        // A multi-byte character before the bad byte counts in bytes; UTF-16 is named.
        var utf16 = Data([0xFF, 0xFE])
        utf16.append(contentsOf: Data("a".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }))
        guard case .failure(let d) = Loader.decodeUTF8(utf16, file: "w.yaml") else { Issue.record("decoded"); return }
        #expect(d.description == "w.yaml:1: file is not UTF-8 text: invalid UTF-8 sequence at byte offset 0 (line 1, column 1); "
            + "it starts with a UTF-16 byte-order mark: save it as UTF-8")
        guard case .failure(let e) = Loader.decodeUTF8(Data("é\n\u{2603}x".utf8) + Data([0xC3]), file: "m.yaml") else {
            Issue.record("decoded"); return
        }
        #expect(e.message.hasSuffix("at byte offset 7 (line 2, column 5)"))
    }

    @Test func aSymbolicLinkLoopIsAnErrorNamingTheLink() throws {
        let dir = try TempDir("loop"); defer { dir.cleanup() }
        try dir.write("ok.yaml", configMap("ok"))
        let loop = dir.url.appendingPathComponent("loop.yaml").path
        let other = dir.url.appendingPathComponent("other.yaml").path
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: other)
        try FileManager.default.createSymbolicLink(atPath: other, withDestinationPath: loop)
        let dangling = dir.url.appendingPathComponent("gone.yaml").path
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: dir.url.appendingPathComponent("nowhere").path)

        let r = Loader.load(paths: [dir.path])
        #expect(r.objects.map(\.key.name) == ["ok"])
        #expect(rendered(r).sorted() == [
            "\(loop): symbolic link loop: too many levels of symbolic links resolving \(loop); not loaded",
            "\(other): symbolic link loop: too many levels of symbolic links resolving \(other); not loaded",
            "warning: \(dangling): symbolic link to a missing target; skipped",
        ])
        // Named on the command line, too.
        let direct = Loader.load(paths: [loop])
        #expect(rendered(direct) == ["\(loop): symbolic link loop: too many levels of symbolic links resolving \(loop); not loaded"])
    }

    @Test func documentsAreHandedOverOneAtATimeAndTheReaderStopsWhenAsked() {
        let text = "a: 1\n---\nb: [\n---\nc: 3\n"
        var seen: [Int] = []
        YAMLReader.forEachDocument(text: text, file: "t.yaml") { doc in
            seen.append(doc.line)
            return seen.count < 2
        }
        #expect(seen == [1, 2])
        #expect(YAMLReader.documents(text: text, file: "t.yaml").map(\.line) == [1, 2, 4])
    }
}
