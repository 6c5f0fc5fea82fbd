#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Giving the heap back after a large configuration goes away (issue 14 item 5).
///
/// A reload builds the new world (parsed documents, validated objects, the typed snapshot, the
/// translation, the routing table) while the old one is still served, then drops the old one. glibc
/// keeps freed memory in its arenas: without help the process stays at its peak after a large
/// configuration is removed, and each event-loop thread that ever allocated has an arena of its own
/// (up to 8 per core). docs/PERFORMANCE.md ("Configuration memory") has the measurements behind the
/// two calls below. Both are glibc only; elsewhere they do nothing.
public enum HeapMemory {
    /// The arena cap set at start unless `MALLOC_ARENA_MAX` (glibc's own variable) is set.
    public static let defaultArenaMax: Int32 = 2

    /// Caps glibc's malloc arenas, before any thread starts. `SLUICE_MALLOC_TRIM=0` (read here) turns
    /// `releaseFreed()` off, for measuring.
    public static func configureAtStart() {
        #if canImport(Glibc)
        if ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil {
            _ = mallopt?(M_ARENA_MAX, defaultArenaMax)
        }
        #endif
        trimEnabled = ProcessInfo.processInfo.environment["SLUICE_MALLOC_TRIM"] != "0"
    }

    nonisolated(unsafe) static var trimEnabled = true

    #if canImport(Glibc)
    // <malloc.h> is not part of Swift's Glibc module: the two functions are looked up by name.
    private static let M_ARENA_MAX: Int32 = -8  // <malloc.h>
    private static let mallopt = unsafeBitCast(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt"),
                                               to: (@convention(c) (Int32, Int32) -> Int32)?.self)
    private static let malloc_trim = unsafeBitCast(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim"),
                                                   to: (@convention(c) (Int) -> Int32)?.self)
    #endif

    /// Returns freed heap pages to the system (`malloc_trim(0)`): called after a configuration was applied.
    public static func releaseFreed() {
        #if canImport(Glibc)
        if trimEnabled { _ = malloc_trim?(0) }
        #endif
    }
}
