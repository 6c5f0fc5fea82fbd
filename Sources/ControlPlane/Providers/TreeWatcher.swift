import Foundation

#if canImport(Glibc)
import Glibc

/// Event-driven change notice for the file provider (Linux inotify): a thread blocks in `poll(2)`
/// on an inotify descriptor watching every folder under the provider's paths (a watched file's
/// folder, so that an editor's rename-over and a ConfigMap volume's `..data` symlink swap are seen
/// too) and wakes `wait(timeout:)`. The provider then scans and debounces as before; an idle tree
/// costs no scans at all between events (only a safety-net scan every `timeout`).
final class TreeWatcher: @unchecked Sendable {
    private let fd: Int32
    private let paths: [String]
    private let lock = NSLock()
    private var fired = false
    private var stopped = false
    private var waiter: CheckedContinuation<Void, Never>?
    private var watchedFolders: Set<String> = []

    static let mask = UInt32(IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB
        | IN_DELETE_SELF | IN_MOVE_SELF)

    /// nil when inotify is not available (the provider then polls every `pollInterval`).
    init?(paths: [String]) {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        self.paths = paths
        addWatches()
        if watchedFolders.isEmpty {
            close(fd)
            return nil
        }
        let thread = Thread { [self] in run() }
        thread.name = "sluice-inotify"
        thread.start()
    }

    /// Adds a watch for every folder under the paths (new folders appear after events).
    private func addWatches() {
        var folders: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
                // Not there yet: watch the parent, so its creation is noticed.
                folders.append(URL(fileURLWithPath: path).deletingLastPathComponent().path)
                continue
            }
            if !isDir.boolValue {
                folders.append(URL(fileURLWithPath: path).deletingLastPathComponent().path)
                continue
            }
            folders.append(path)
            if let e = fm.enumerator(at: URL(fileURLWithPath: path), includingPropertiesForKeys: [.isDirectoryKey]) {
                for case let url as URL in e where (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true {
                    folders.append(url.path)
                }
            }
        }
        for f in folders where !lock.withLock({ watchedFolders.contains(f) }) {
            if inotify_add_watch(fd, f, Self.mask) >= 0 { lock.withLock { _ = watchedFolders.insert(f) } }
        }
    }

    private func run() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !lock.withLock({ stopped }) {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, 500)
            guard r > 0 else { continue }
            var any = false
            while read(fd, &buffer, buffer.count) > 0 { any = true }
            guard any else { continue }
            addWatches()
            signal()
        }
        close(fd)
    }

    private func signal() {
        let c = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            defer { waiter = nil }
            if waiter == nil { fired = true }
            return waiter
        }
        c?.resume()
    }

    /// Returns when something changed since the last return, after `timeout`, or on cancellation.
    func wait(timeout: Duration) async {
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            signal()
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.lock()
                if fired || stopped {
                    fired = false
                    lock.unlock()
                    c.resume()
                } else {
                    waiter = c
                    lock.unlock()
                }
            }
        } onCancel: { [self] in
            signal()
        }
        timer.cancel()
        lock.withLock { fired = false }
    }

    func stop() {
        lock.withLock { stopped = true }
        signal()
    }
}
#else
/// No inotify on this platform: the file provider polls.
final class TreeWatcher: Sendable {
    init?(paths: [String]) { return nil }
    func wait(timeout: Duration) async {}
    func stop() {}
}
#endif
