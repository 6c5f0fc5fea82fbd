import Foundation
import GatewayAPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One whole-world view of the watched files, as the translator and the data plane consume it.
public struct ProviderSnapshot: Sendable {
    /// Increments only when the effective object set changed (an object was added, removed, or its
    /// content, apiVersion or location changed). 0 means nothing was loaded yet; the first load is 1.
    /// Two snapshots with the same version hold the same objects, so a consumer may skip
    /// re-translating when only `diagnostics` changed.
    public var version: Int
    /// The effective objects, each at most once. Order: the order in which each object key was first
    /// seen across loads (files in `Loader.files` order, documents in file order); objects that appear
    /// later go last. An object that stays present keeps its place, so the translator's creation
    /// order ("oldest route wins") is stable across edits.
    public var objects: [LoadedObject]
    /// The current problems: load and validation errors of every file, the duplicate warnings, and
    /// one warning per object that is served from its last good version.
    public var diagnostics: [Diagnostic]
    /// Files added, modified (content changed) or deleted by the load that produced this snapshot,
    /// sorted. Every file on the first load. A file whose modification time changed but whose content
    /// did not is not listed.
    public var changedFiles: [String]
    /// Where each object came from when it is not a file (the Kubernetes provider); see `origin(of:)`.
    public var origins: [ObjectKey: Origin] = [:]

    public init(version: Int, objects: [LoadedObject], diagnostics: [Diagnostic], changedFiles: [String]) {
        self.version = version
        self.objects = objects
        self.diagnostics = diagnostics
        self.changedFiles = changedFiles
    }

    /// Decodes the objects into the translator's input. Every object was already checked to decode
    /// when it was loaded, so the diagnostics are normally empty.
    public func resources() -> (ResourceSnapshot, [Diagnostic]) {
        ResourceSnapshot.build(from: objects)
    }
}

/// Watches files and folders of Kubernetes YAML and produces whole-world `ProviderSnapshot`s —
/// the file half of DESIGN.md §1's "Provider ──snapshots──▶ Translator".
///
/// ## Last good configuration
///
/// The brief: "Bad input always gets a clear error that names the file, line, object and field, and
/// nothing else is lost: the other objects still load, the last good configuration keeps serving."
/// Each file is loaded on its own and the provider remembers, per file, the objects last loaded
/// from it. When a file changes:
/// - objects that load fine replace their previous versions, new ones are added;
/// - an object that is now *rejected* (validation or decoding fails, or its apiVersion is no longer
///   served — any diagnostic that names the object while the object did not load) keeps its last good
///   version from that file, and a warning says so;
/// - when a document cannot be identified at all (YAML syntax error, not a mapping, no
///   apiVersion/kind, unreadable file), every previously good object of the file that did not load
///   this time is kept, because any of them may be the broken document;
/// - objects that simply disappeared from an otherwise readable file are removed, and a deleted file
///   removes all of its objects. An object that moved to another file follows it.
///
/// A kept (stale) version never beats a definition that loaded fine from another file this time
/// (so moving an object out of a file that is broken in the same edit still works). Between two fresh
/// definitions in different files the last file in `Loader.files` order wins, with the Loader's
/// duplicate warning.
///
/// ## Limits
///
/// `limits` bound what a change may bring in: a file over `maxFileBytes` is not read; a changed file
/// that would take the bytes of all files over `maxTotalBytes`, or their objects over `maxObjects`,
/// is not (wholly) loaded. Either is an error naming the file, and — like any problem that hides
/// which objects a file defines — the file's last good objects keep serving. Objects already served
/// are never dropped for a limit; an unchanged file is not re-counted against it.
///
/// ## Watching
///
/// `updates()` waits for an inotify event on Linux (`TreeWatcher`; elsewhere, or with
/// `eventDriven: false`, it polls every `pollInterval`), then compares the modification time,
/// size and inode of every file every `pollInterval`, waits until the tree has been quiet for `debounce` (editors and
/// `cp -r` write in bursts), then loads. It never waits more than `maxDelay` after the first change
/// it noticed, so a file rewritten non-stop is still picked up. A snapshot is emitted only when the
/// objects (the version) or the diagnostics changed; an unchanged touch emits nothing.
///
/// ## Concurrency
///
/// A final class, `@unchecked Sendable`: all mutable state lives in `state`, guarded by `lock`.
/// `loadOnce()` holds the lock for the whole load, so loads are serialized and each snapshot is
/// consistent. The lock is never held across an `await`. Loading is synchronous file IO (small
/// configuration trees; unchanged files are not re-parsed).
public final class FileProvider: @unchecked Sendable {
    public let paths: [String]
    public let debounce: Duration
    public let pollInterval: Duration
    public let maxDelay: Duration
    /// Bounds on file size, total bytes and objects; see "Limits" above.
    public let limits: LoadLimits
    /// Wait for inotify events while idle (Linux); false: poll every `pollInterval` as before.
    public let eventDriven: Bool
    /// With events: how often an idle tree is still scanned, in case an event was missed.
    public let idleScanInterval: Duration
    private let clock: any Clock<Duration>

    private let lock = NSLock()
    private var state = State()

    /// - Parameters:
    ///   - paths: files and folders, as `Loader.files(in:)` expands them.
    ///   - debounce: how long the tree must be quiet before a change is loaded.
    ///   - pollInterval: how often file metadata is checked.
    ///   - maxDelay: the longest a noticed change waits for the tree to become quiet.
    ///   - clock: the clock `updates()` sleeps and measures quiet time on.
    public init(paths: [String], debounce: Duration = .milliseconds(200), pollInterval: Duration = .milliseconds(100),
                maxDelay: Duration = .milliseconds(800), clock: any Clock<Duration> = ContinuousClock(),
                limits: LoadLimits = .standard, eventDriven: Bool = true, idleScanInterval: Duration = .seconds(2)) {
        self.paths = paths
        self.limits = limits
        self.debounce = debounce
        self.pollInterval = pollInterval
        self.maxDelay = maxDelay
        self.eventDriven = eventDriven
        self.idleScanInterval = idleScanInterval
        self.clock = clock
    }

    /// The latest snapshot (version 0 and no objects before the first load).
    public var current: ProviderSnapshot {
        lock.lock(); defer { lock.unlock() }
        return state.current
    }

    // MARK: - Loading

    /// Reads everything now and returns the resulting snapshot (see the type's documentation for the
    /// last-good rules). Files whose content did not change since the previous load are not re-parsed.
    @discardableResult
    public func loadOnce() -> ProviderSnapshot {
        lock.lock(); defer { lock.unlock() }
        return state.load(paths: paths, limits: limits)
    }

    // MARK: - Watching

    /// A stream of snapshots: first the current one (loading once if nothing was loaded yet), then one
    /// per effective change, within `pollInterval + debounce` (+ load time) of the last write.
    ///
    /// Snapshots are whole-world, so a slow consumer only gets the newest one (`bufferingNewest(1)`).
    /// Polling stops when the consumer stops iterating (the stream is terminated or its task
    /// cancelled). Several streams may run at once; each emits every snapshot that differs from the
    /// last one it emitted, whoever loaded it.
    public func updates() -> AsyncStream<ProviderSnapshot> {
        let (stream, continuation) = AsyncStream.makeStream(of: ProviderSnapshot.self, bufferingPolicy: .bufferingNewest(1))
        let clock = self.clock
        let task = Task { [self] in
            await self.watch(clock: clock, continuation: continuation)
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func watch<C: Clock<Duration>>(clock: C, continuation: AsyncStream<ProviderSnapshot>.Continuation) async {
        var emitted = withLock { state.current.version == 0 ? state.load(paths: paths, limits: limits) : state.current }
        continuation.yield(emitted)
        // The tree as of our last scan, when it last changed, and when a pending change was first seen.
        var seen = withLock { state.loadedSignature }
        var lastChange = clock.now
        var pendingSince: C.Instant?
        // Event-driven where the OS allows (inotify): an idle tree waits for an event instead of
        // being scanned every pollInterval; while a change settles, the ticks below debounce it.
        let watcher = eventDriven ? TreeWatcher(paths: paths) : nil
        defer { watcher?.stop() }

        while !Task.isCancelled {
            if let watcher, pendingSince == nil {
                await watcher.wait(timeout: idleScanInterval)
                if Task.isCancelled { break }
            } else {
                do { try await clock.sleep(for: pollInterval) } catch { break }
            }
            let signature = TreeSignature.scan(paths: paths)
            let now = clock.now
            if signature != seen {
                seen = signature
                lastChange = now
            }
            if signature != withLock({ state.loadedSignature }) {
                let since = pendingSince ?? now
                pendingSince = since
                if lastChange.duration(to: now) >= debounce || since.duration(to: now) >= maxDelay {
                    loadOnce()
                    pendingSince = nil
                }
            } else {
                pendingSince = nil
            }
            // Emit whatever changed since our last emission, including loads made by someone else.
            let latest = current
            if latest.version != emitted.version || latest.diagnostics != emitted.diagnostics {
                emitted = latest
                continuation.yield(latest)
            }
        }
    }

    private func withLock<T>(_ body: () -> T) -> T {
        lock.lock(); defer { lock.unlock() }
        return body()
    }
}

// MARK: - State

extension FileProvider {
    /// What one file contributed at its last load.
    struct FileState {
        /// The text last read; nil when the file could not be read (or is not UTF-8).
        var text: String?
        /// Objects that loaded fine this time, in document order.
        var fresh: [LoadedObject] = []
        /// Previously good objects that did not load this time and are kept, with where the problem is.
        var kept: [(object: LoadedObject, problem: SourceLocation, unidentified: Bool)] = []
        /// The file's own load diagnostics.
        var diagnostics: [Diagnostic] = []

        /// What the file counts against `LoadLimits`.
        var bytes: Int { text?.utf8.count ?? 0 }
        var objectCount: Int { fresh.count + kept.count }

        /// Everything this file serves (fresh and kept), used as "the last good objects" next time.
        var good: [LoadedObject] { fresh + kept.map(\.object) }

        /// Loads `text` as `file`, keeping objects of `previous` according to the last-good rules.
        /// A nil `text` is a file that could not be read, for the reason `problem` says.
        static func load(file: String, text: String?, problem: Diagnostic? = nil, previous: FileState?,
                         limits: LoadLimits = .unlimited, objectsSoFar: Int = 0) -> FileState {
            var result = FileState(text: text)
            var identified: Set<ObjectKey> = []
            var unidentifiedProblem: SourceLocation?
            if let text {
                let loaded = Loader.load(texts: [(file: file, text: text)], limits: limits, objectsSoFar: objectsSoFar)
                result.diagnostics = loaded.diagnostics
                // Decoding into the typed model is part of "loads fine": an object the translator
                // could not read must not replace its last good version.
                for object in loaded.objects {
                    let (_, decodeDiagnostics) = ResourceSnapshot.build(from: [object])
                    if decodeDiagnostics.isEmpty {
                        result.fresh.append(object)
                    } else {
                        result.diagnostics += decodeDiagnostics
                        identified.insert(object.key)
                    }
                }
                for d in loaded.diagnostics {
                    if let key = d.object { identified.insert(key) } else if d.severity == .error, unidentifiedProblem == nil {
                        unidentifiedProblem = d.location ?? SourceLocation(file: file, line: 0)
                    }
                }
            } else {
                let why = FileManager.default.fileExists(atPath: file) ? "file is not UTF-8 text" : "cannot read file"
                let d = problem ?? Diagnostic(.error, why, location: SourceLocation(file: file, line: 0))
                result.diagnostics = [d]
                unidentifiedProblem = d.location ?? SourceLocation(file: file, line: 0)
            }
            guard let previous else { return result }
            let freshKeys = Set(result.fresh.map(\.key))
            for old in previous.good where !freshKeys.contains(old.key) {
                if identified.contains(old.key) {
                    let at = result.diagnostics.first { $0.object == old.key }?.location ?? SourceLocation(file: file, line: 0)
                    result.kept.append((old, at, false))
                } else if let unidentifiedProblem {
                    result.kept.append((old, unidentifiedProblem, true))
                }
            }
            return result
        }
    }

    struct State {
        var files: [String: FileState] = [:]
        /// Sequence number of the load in which each present object key was first seen.
        var firstSeen: [ObjectKey: Int] = [:]
        var nextSequence = 0
        var current = ProviderSnapshot(version: 0, objects: [], diagnostics: [], changedFiles: [])
        /// The tree as it was scanned at the start of the last load.
        var loadedSignature = TreeSignature(files: [])

        mutating func load(paths: [String], limits: LoadLimits) -> ProviderSnapshot {
            let (listed, listDiagnostics) = Loader.files(in: paths)
            let signature = TreeSignature(files: listed.map(TreeSignature.stat(path:)))
            var order: [String] = []
            var seenFiles: Set<String> = []
            for f in listed where seenFiles.insert(f).inserted { order.append(f) }

            // 1. Per file: re-read, re-parse only when the text changed.
            var changed: [String] = []
            var newFiles: [String: FileState] = [:]
            // A file is read and loaded within what the other files leave of the limits (those not
            // reached yet count as they were at the previous load): running totals of all files.
            var bytes = order.reduce(0) { $0 + (files[$1]?.bytes ?? 0) }
            var objectCount = order.reduce(0) { $0 + (files[$1]?.objectCount ?? 0) }
            for file in order {
                let previous = files[file]
                bytes -= previous?.bytes ?? 0
                objectCount -= previous?.objectCount ?? 0
                defer {
                    bytes += newFiles[file]?.bytes ?? 0
                    objectCount += newFiles[file]?.objectCount ?? 0
                }
                let read = Loader.readText(file: file, limits: limits, totalSoFar: bytes)
                let text = try? read.get()
                if let previous, previous.text == text, text != nil {
                    newFiles[file] = previous
                } else {
                    newFiles[file] = FileState.load(file: file, text: text, problem: read.failure, previous: previous,
                                                    limits: limits, objectsSoFar: objectCount)
                    if previous == nil || previous?.text != text { changed.append(file) }
                }
            }
            for file in files.keys where newFiles[file] == nil { changed.append(file) }
            if current.version == 0 { changed = order }

            // 2. Merge across files. Fresh beats kept; otherwise the later file wins (Loader's rule).
            struct Entry { var object: LoadedObject; var kept: (problem: SourceLocation, unidentified: Bool)? }
            var winners: [ObjectKey: Entry] = [:]
            var encounter: [ObjectKey] = []
            var diagnostics = listDiagnostics
            var duplicateWarnings: [Diagnostic] = []
            for file in order {
                let fs = newFiles[file]!
                diagnostics += fs.diagnostics
                let entries = fs.fresh.map { Entry(object: $0, kept: nil) }
                    + fs.kept.map { Entry(object: $0.object, kept: ($0.problem, $0.unidentified)) }
                for entry in entries {
                    let key = entry.object.key
                    guard let previous = winners[key] else {
                        winners[key] = entry
                        encounter.append(key)
                        continue
                    }
                    if previous.kept == nil, entry.kept != nil { continue }
                    if previous.kept != nil, entry.kept == nil { winners[key] = entry; continue }
                    duplicateWarnings.append(Diagnostic(
                        .warning,
                        "duplicate object: also defined at \(previous.object.location); the last definition (this one) wins",
                        location: entry.object.location, object: key))
                    winners[key] = entry
                }
            }
            diagnostics += duplicateWarnings
            for key in encounter {
                guard let entry = winners[key], let kept = entry.kept else { continue }
                let why = kept.unidentified
                    ? "this file has an error that hides which objects it defines, and \(key) did not load"
                    : "\(key) was rejected"
                diagnostics.append(Diagnostic(
                    .warning,
                    "\(why); the last good version (loaded from \(entry.object.location)) keeps serving until the file is fixed",
                    location: kept.problem, object: key))
            }

            // 3. Order by first sighting; forget objects that are gone (a re-created object is new).
            for key in encounter where firstSeen[key] == nil {
                firstSeen[key] = nextSequence
                nextSequence += 1
            }
            firstSeen = firstSeen.filter { winners[$0.key] != nil }
            let objects = encounter.sorted { firstSeen[$0]! < firstSeen[$1]! }.map { winners[$0]!.object }

            let same = current.version > 0 && objects.count == current.objects.count
                && zip(objects, current.objects).allSatisfy(Self.same)
            files = newFiles
            loadedSignature = signature
            current = ProviderSnapshot(version: same ? current.version : current.version + 1, objects: objects,
                                       diagnostics: diagnostics, changedFiles: changed.sorted())
            return current
        }

        static func same(_ a: LoadedObject, _ b: LoadedObject) -> Bool {
            a.key == b.key && a.kind == b.kind && a.apiVersion == b.apiVersion && a.location == b.location && a.value == b.value
        }
    }
}

// MARK: - Change detection

/// The metadata of every file under the watched paths; two equal signatures mean "nothing to reload"
/// (content is compared again on load, so a touch that changes nothing costs one read, no version).
struct TreeSignature: Equatable, Sendable {
    struct File: Equatable, Sendable {
        var path: String
        var size: Int64
        var mtimeSeconds: Int64
        var mtimeNanoseconds: Int64
        var inode: UInt64
        var device: UInt64
    }

    var files: [File]

    static func scan(paths: [String]) -> TreeSignature {
        TreeSignature(files: Loader.files(in: paths).files.map(stat(path:)))
    }

    /// `stat` follows symbolic links, so a Kubernetes ConfigMap volume (files that are symlinks into
    /// a `..data` directory swapped atomically) is seen changing too.
    static func stat(path: String) -> File {
        var st = SystemStat()
        guard systemStat(path, &st) == 0 else {
            return File(path: path, size: -1, mtimeSeconds: 0, mtimeNanoseconds: 0, inode: 0, device: 0)
        }
        #if canImport(Darwin)
        let mtime = st.st_mtimespec
        #else
        let mtime = st.st_mtim
        #endif
        return File(path: path, size: Int64(st.st_size), mtimeSeconds: Int64(mtime.tv_sec),
                    mtimeNanoseconds: Int64(mtime.tv_nsec), inode: UInt64(st.st_ino), device: UInt64(st.st_dev))
    }
}

#if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
private typealias SystemStat = stat
private func systemStat(_ path: String, _ buffer: inout SystemStat) -> Int32 { stat(path, &buffer) }
#endif

private extension Result {
    var failure: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}
