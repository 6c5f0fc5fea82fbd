import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Upper bounds on what one configuration may make Sluice read and keep (issue 14 item 5: a 50 MB
/// manifest of 107 k objects took the process from 54 MB to 736 MB of RSS).
///
/// - `maxFileBytes`: a file larger than this is not read at all (its size is checked before reading,
///   and reading stops one byte past the limit should the file grow meanwhile).
/// - `maxTotalBytes`: the files of one configuration together; the file that would take the sum over
///   it is not read (earlier files, in `Loader.files` order, are; the file provider counts the other
///   files as they are served).
/// - `maxObjects`: objects of one configuration (after `List` expansion); parsing stops at the object
///   that would go over, and the rest of that file and the files after it are not loaded.
///
/// Each is reported as an error naming the file (and the line, for `maxObjects`) and the flag that
/// raises the limit. The file provider keeps serving the last good objects of a file that went over.
public struct LoadLimits: Sendable, Equatable {
    public var maxFileBytes: Int
    public var maxTotalBytes: Int
    public var maxObjects: Int

    public static let defaultMaxFileBytes = 16 << 20
    public static let defaultMaxTotalBytes = 64 << 20
    public static let defaultMaxObjects = 30_000

    public init(maxFileBytes: Int = LoadLimits.defaultMaxFileBytes, maxTotalBytes: Int = LoadLimits.defaultMaxTotalBytes,
                maxObjects: Int = LoadLimits.defaultMaxObjects) {
        self.maxFileBytes = maxFileBytes
        self.maxTotalBytes = maxTotalBytes
        self.maxObjects = maxObjects
    }

    /// The defaults.
    public static let standard = LoadLimits()
    /// No limits (in-memory sources of tests and the conformance runner).
    public static let unlimited = LoadLimits(maxFileBytes: .max, maxTotalBytes: .max, maxObjects: .max)

    static func size(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}

extension Loader {
    /// Reads one manifest file as UTF-8 text, within `maxBytes` (of which `limits.maxFileBytes` and
    /// the `limits.maxTotalBytes` still left is the smaller; `totalSoFar` is what the configuration's
    /// other files already take). Every failure is an error diagnostic naming the file: unreadable,
    /// a symbolic link loop, over a limit, or not UTF-8 (with the line, column and byte offset of the
    /// first invalid sequence).
    public static func readText(file: String, limits: LoadLimits = .standard, totalSoFar: Int = 0) -> Result<String, Diagnostic> {
        func failure(_ message: String, line: Int = 0) -> Result<String, Diagnostic> {
            .failure(Diagnostic(.error, message, location: SourceLocation(file: file, line: line)))
        }
        var st = stat()
        if stat(file, &st) != 0 {
            return failure(describeOpenError(errno, file: file))
        }
        let remainingTotal = limits.maxTotalBytes == .max ? Int.max : max(0, limits.maxTotalBytes - totalSoFar)
        let size = Int(st.st_size)
        if size > limits.maxFileBytes {
            return failure(overFileLimit(size, limits))
        }
        if size > remainingTotal {
            return failure(overTotalLimit(size, totalSoFar: totalSoFar, limits))
        }
        guard let handle = FileHandle(forReadingAtPath: file) else {
            return failure(describeOpenError(errno, file: file))
        }
        defer { try? handle.close() }
        // One byte past the limit tells "grew past it since stat" from "exactly at it".
        let cap = min(limits.maxFileBytes, remainingTotal)
        let data: Data
        do {
            data = try handle.read(upToCount: cap == .max ? .max : cap + 1) ?? Data()
        } catch {
            return failure("cannot read file: \(error.localizedDescription)")
        }
        if data.count > limits.maxFileBytes { return failure(overFileLimit(data.count, limits)) }
        if data.count > remainingTotal { return failure(overTotalLimit(data.count, totalSoFar: totalSoFar, limits)) }
        return decodeUTF8(data, file: file)
    }

    /// `data` as a String, or an error at the first invalid UTF-8 sequence: its line, column and byte offset.
    public static func decodeUTF8(_ data: Data, file: String) -> Result<String, Diagnostic> {
        if let text = String(validating: data, as: UTF8.self) { return .success(text) }
        let (offset, line, column) = firstInvalidUTF8(data)
        var message = "file is not UTF-8 text: invalid UTF-8 sequence at byte offset \(offset) (line \(line), column \(column))"
        if data.starts(with: [0xFF, 0xFE]) || data.starts(with: [0xFE, 0xFF]) {
            message += "; it starts with a UTF-16 byte-order mark: save it as UTF-8"
        }
        return .failure(Diagnostic(.error, message, location: SourceLocation(file: file, line: line)))
    }

    /// Byte offset (0-based), line and column (1-based, in bytes) of the first byte of the first
    /// invalid UTF-8 sequence of `data` (which must contain one).
    static func firstInvalidUTF8(_ data: Data) -> (offset: Int, line: Int, column: Int) {
        var parser = Unicode.UTF8.ForwardParser()
        var bytes = data.makeIterator()
        var offset = 0
        scan: while true {
            switch parser.parseScalar(from: &bytes) {
            case .valid(let scalar): offset += scalar.count
            case .error: break scan
            case .emptyInput: break scan
            }
        }
        let before = data.prefix(offset)
        let line = before.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
        let lineStart = before.lastIndex(of: 0x0A).map { data.distance(from: data.startIndex, to: $0) + 1 } ?? 0
        return (offset, line, offset - lineStart + 1)
    }

    static func overFileLimit(_ size: Int, _ limits: LoadLimits) -> String {
        "file is \(size) bytes, over the limit of \(LoadLimits.size(limits.maxFileBytes)) per file (--max-file-bytes); not loaded"
    }

    static func overTotalLimit(_ size: Int, totalSoFar: Int, _ limits: LoadLimits) -> String {
        "file is \(size) bytes and the configuration's other files \(totalSoFar): together over the limit of "
            + "\(LoadLimits.size(limits.maxTotalBytes)) per configuration (--max-total-bytes); not loaded"
    }

    static func overObjectLimit(_ limits: LoadLimits) -> String {
        "the configuration has more than \(limits.maxObjects) objects (--max-objects): this object and "
            + "everything after it are not loaded"
    }

    static func describeOpenError(_ code: Int32, file: String) -> String {
        switch code {
        case ELOOP: return "symbolic link loop: too many levels of symbolic links resolving \(file); not loaded"
        case ENOENT: return "no such file or directory"
        case EACCES: return "cannot read file: permission denied"
        default: return "cannot read file: \(String(cString: strerror(code)))"
        }
    }
}

/// A file that cannot be read is reported as its diagnostic (`Loader.readText`).
extension Diagnostic: Error {}
