import NIOCore

// HTTP/1.1 framing found directly on the bytes: where a head ends, and what the head says about
// the body (RFC 9112 §6). Only what forwarding needs; the bytes themselves are never rewritten.

private let CR: UInt8 = 13, LF: UInt8 = 10, SP: UInt8 = 32, HT: UInt8 = 9

/// The index just past the blank line that ends a head ("\r\n\r\n", or a bare "\n\n"), searching
/// from `from`; nil when the head is not complete yet.
func headEnd(_ b: UnsafeRawBufferPointer, from: Int = 0) -> Int? {
    var i = from
    let n = b.count
    while i < n {
        if b[i] == LF {
            if i + 1 < n && b[i + 1] == LF { return i + 2 }
            if i + 2 < n && b[i + 1] == CR && b[i + 2] == LF { return i + 3 }
        }
        i += 1
    }
    return nil
}

enum BodyFraming: Equatable {
    case none
    case length(Int)
    case chunked
    case untilClose
}

struct HeadInfo {
    var framing: BodyFraming = .none
    var keepAlive = true
    var isHEAD = false       // requests
    var status = 0           // responses
    var valid = true
}

/// Lower-cased ASCII compare of `b[from..<from+name.count]` with `name` (given in lower case).
@inline(__always)
private func matches(_ b: UnsafeRawBufferPointer, _ from: Int, _ end: Int, _ name: StaticString) -> Bool {
    let count = name.utf8CodeUnitCount
    guard end - from == count else { return false }
    let p = name.utf8Start
    for k in 0..<count where b[from + k] | 0x20 != p[k] { return false }
    return true
}

/// Does the comma-separated value `b[from..<end]` contain `token` (lower case), case-insensitively?
private func hasToken(_ b: UnsafeRawBufferPointer, _ from: Int, _ end: Int, _ token: StaticString) -> Bool {
    var i = from
    while i < end {
        while i < end && (b[i] == SP || b[i] == HT || b[i] == UInt8(ascii: ",")) { i += 1 }
        var j = i
        while j < end && b[j] != UInt8(ascii: ",") { j += 1 }
        var e = j
        while e > i && (b[e - 1] == SP || b[e - 1] == HT) { e -= 1 }
        if matches(b, i, e, token) { return true }
        i = j
    }
    return false
}

/// Parses a complete head `b` (ending with its blank line). `isRequest`: a request line first,
/// otherwise a status line; `requestWasHEAD` tells a response to HEAD (no body whatever it says).
func parseHead(_ b: UnsafeRawBufferPointer, isRequest: Bool, requestWasHEAD: Bool = false) -> HeadInfo {
    var info = HeadInfo()
    let n = b.count
    // First line.
    var lineEnd = 0
    while lineEnd < n && b[lineEnd] != LF { lineEnd += 1 }
    var firstEnd = lineEnd
    if firstEnd > 0 && b[firstEnd - 1] == CR { firstEnd -= 1 }
    var http10 = false
    if isRequest {
        info.isHEAD = firstEnd >= 5 && b[0] == UInt8(ascii: "H") && b[1] == UInt8(ascii: "E") && b[2] == UInt8(ascii: "A")
            && b[3] == UInt8(ascii: "D") && b[4] == SP
        // "... HTTP/1.0" at the end of the request line.
        http10 = firstEnd >= 8 && b[firstEnd - 1] == UInt8(ascii: "0") && b[firstEnd - 3] == UInt8(ascii: "1")
    } else {
        // "HTTP/1.x NNN reason"
        guard firstEnd >= 12, b[8] == SP else { info.valid = false; return info }
        http10 = b[7] == UInt8(ascii: "0")
        var s = 0
        for k in 9..<12 {
            let d = b[k] &- UInt8(ascii: "0")
            guard d < 10 else { info.valid = false; return info }
            s = s * 10 + Int(d)
        }
        info.status = s
    }
    info.keepAlive = !http10
    // Header fields.
    var contentLength: Int?
    var chunked = false
    var i = lineEnd + 1
    while i < n {
        var e = i
        while e < n && b[e] != LF { e += 1 }
        var end = e
        if end > i && b[end - 1] == CR { end -= 1 }
        if end == i { break }  // the blank line
        var colon = i
        while colon < end && b[colon] != UInt8(ascii: ":") { colon += 1 }
        if colon < end {
            var v = colon + 1
            while v < end && (b[v] == SP || b[v] == HT) { v += 1 }
            var ve = end
            while ve > v && (b[ve - 1] == SP || b[ve - 1] == HT) { ve -= 1 }
            switch b[i] | 0x20 {
            case UInt8(ascii: "c"):
                if matches(b, i, colon, "content-length") {
                    var len = 0
                    var ok = v < ve
                    for k in v..<ve {
                        let d = b[k] &- UInt8(ascii: "0")
                        if d >= 10 || len > (Int.max - 9) / 10 { ok = false; break }
                        len = len * 10 + Int(d)
                    }
                    if !ok || (contentLength != nil && contentLength != len) { info.valid = false }
                    contentLength = len
                } else if matches(b, i, colon, "connection") {
                    if hasToken(b, v, ve, "close") { info.keepAlive = false }
                    if hasToken(b, v, ve, "keep-alive") && http10 { info.keepAlive = true }
                }
            case UInt8(ascii: "t"):
                if matches(b, i, colon, "transfer-encoding") {
                    // Chunked must be the last coding; anything else is read until close.
                    chunked = ve - v >= 7 && matches(b, ve - 7, ve, "chunked")
                    if !chunked { contentLength = nil; info.framing = .untilClose }
                }
            default:
                break
            }
        }
        i = e + 1
    }
    if isRequest {
        // RFC 9112 §6.3: chunked wins; a request without either has no body; a request whose
        // transfer coding is not chunked cannot be framed.
        if chunked { info.framing = .chunked; info.keepAlive = info.keepAlive && contentLength == nil }
        else if info.framing == .untilClose { info.valid = false }
        else if let l = contentLength { info.framing = l > 0 ? .length(l) : .none }
        else { info.framing = .none }
    } else {
        let s = info.status
        if s == 101 { info.framing = .untilClose; info.keepAlive = false }  // an upgrade: bytes both ways
        else if requestWasHEAD || (100..<200).contains(s) || s == 204 || s == 304 { info.framing = .none }
        else if chunked { info.framing = .chunked }
        else if info.framing == .untilClose { info.keepAlive = false }
        else if let l = contentLength { info.framing = l > 0 ? .length(l) : .none }
        else { info.framing = .untilClose; info.keepAlive = false }
    }
    return info
}

/// The chunked body's framing (RFC 9112 §7.1): sizes, extensions, data and trailers, consumed
/// incrementally; the data itself is skipped in bulk.
struct ChunkedScanner {
    private enum State { case size, ext, sizeLF, data(Int), dataCR, dataLF, trailerStart, trailerLine, finalLF, done }
    private var state = State.size
    private var size = 0
    private var digits = 0
    private(set) var failed = false

    var isDone: Bool { if case .done = state { return true } else { return false } }

    /// Consumes bytes of `b` from `from`; returns how many belong to the body (all of them until
    /// the body's last byte). `failed` is set on malformed framing.
    mutating func consume(_ b: UnsafeRawBufferPointer, from: Int) -> Int {
        var i = from
        let n = b.count
        while i < n {
            switch state {
            case .data(let left):
                let take = min(left, n - i)
                i += take
                state = left == take ? .dataCR : .data(left - take)
                continue
            case .done:
                return i - from
            default:
                break
            }
            let c = b[i]
            i += 1
            switch state {
            case .size:
                if let d = hexValue(c) {
                    digits += 1
                    if digits > 15 { failed = true; return i - from }
                    size = size * 16 + d
                } else if digits > 0 && (c == UInt8(ascii: ";") || c == SP || c == HT) {
                    state = .ext
                } else if digits > 0 && c == CR {
                    state = .sizeLF
                } else if digits > 0 && c == LF {
                    endSizeLine()
                } else {
                    failed = true
                    return i - from
                }
            case .ext:
                if c == CR { state = .sizeLF } else if c == LF { endSizeLine() }
            case .sizeLF:
                if c == LF { endSizeLine() } else { failed = true; return i - from }
            case .dataCR:
                if c == CR { state = .dataLF } else if c == LF { state = .size } else { failed = true; return i - from }
            case .dataLF:
                if c == LF { state = .size } else { failed = true; return i - from }
            case .trailerStart:
                if c == CR { state = .finalLF } else if c == LF { state = .done } else { state = .trailerLine }
            case .trailerLine:
                if c == LF { state = .trailerStart }
            case .finalLF:
                if c == LF { state = .done } else { failed = true; return i - from }
            case .data, .done:
                break
            }
        }
        return i - from
    }

    private mutating func endSizeLine() {
        state = size == 0 ? .trailerStart : .data(size)
        size = 0
        digits = 0
    }

    @inline(__always)
    private func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}

/// One message's framing, fed the bytes as they arrive: which of them belong to the message (its
/// head and body) and whether it is complete. A head is gathered across reads only when a read
/// ends inside it (rare); otherwise nothing is copied.
struct MessageFramer {
    let isRequest: Bool
    /// Set before a response's bytes arrive: the response to HEAD has no body.
    var requestWasHEAD = false
    private(set) var head: HeadInfo?
    private(set) var complete = false
    /// The last head was a 1xx interim response: forward it, `reset()`, and go on.
    private(set) var interim = false
    private var remaining = 0
    private var chunked = ChunkedScanner()
    private var gathered: ByteBuffer?

    init(isRequest: Bool) { self.isRequest = isRequest }

    /// Starts a new message on the same connection.
    mutating func reset() {
        head = nil
        complete = false
        interim = false
        remaining = 0
        gathered = nil
    }

    /// Looks at `buffer`'s readable bytes (without moving its reader index): the first `skip` were
    /// taken into a head that spans reads (not to be forwarded from `buffer`: `takeGathered()`
    /// hands the whole head over once it is complete), the `take` after them belong to the message
    /// and are to be forwarded as they are, and the rest, if any, follows the message. nil:
    /// malformed framing.
    mutating func consume(_ buffer: ByteBuffer) -> (skip: Int, take: Int)? {
        guard head == nil else {
            return complete ? (0, 0) : consumeBody(buffer, from: 0).map { (0, $0) }
        }
        guard gathered != nil else {
            let end = buffer.withUnsafeReadableBytes { headEnd($0) }
            guard let end else {
                gathered = buffer
                return (buffer.readableBytes, 0)
            }
            let info = buffer.withUnsafeReadableBytes {
                parseHead(UnsafeRawBufferPointer(rebasing: $0[..<end]), isRequest: isRequest, requestWasHEAD: requestWasHEAD)
            }
            guard start(info), let body = consumeBody(buffer, from: end) else { return nil }
            return (0, end + body)
        }
        let old = gathered!.readableBytes
        gathered!.writeImmutableBuffer(buffer)
        guard let end = gathered!.withUnsafeReadableBytes({ headEnd($0, from: max(0, old - 3)) }) else {
            return (buffer.readableBytes, 0)
        }
        gathered!.moveWriterIndex(to: gathered!.readerIndex + end)
        let info = gathered!.withUnsafeReadableBytes {
            parseHead(UnsafeRawBufferPointer(rebasing: $0[..<end]), isRequest: isRequest, requestWasHEAD: requestWasHEAD)
        }
        let inThis = end - old
        guard start(info), let body = consumeBody(buffer, from: inThis) else { return nil }
        return (inThis, body)
    }

    /// The head that spanned reads, once complete: to be forwarded before the `take` bytes.
    mutating func takeGathered() -> ByteBuffer? {
        guard head != nil, let g = gathered else { return nil }
        gathered = nil
        return g
    }

    private mutating func start(_ info: HeadInfo) -> Bool {
        guard info.valid else { return false }
        head = info
        if !isRequest && (100..<200).contains(info.status) && info.status != 101 {
            interim = true
            return true
        }
        switch info.framing {
        case .none: complete = true
        case .length(let l): remaining = l
        case .chunked: chunked = ChunkedScanner()
        case .untilClose: break
        }
        return true
    }

    private mutating func consumeBody(_ buffer: ByteBuffer, from: Int) -> Int? {
        guard let info = head, !complete, !interim else { return 0 }
        let available = buffer.readableBytes - from
        switch info.framing {
        case .none:
            return 0
        case .length:
            let take = min(remaining, available)
            remaining -= take
            if remaining == 0 { complete = true }
            return take
        case .chunked:
            let n = buffer.withUnsafeReadableBytes { chunked.consume($0, from: from) }
            if chunked.failed { return nil }
            if chunked.isDone { complete = true }
            return n
        case .untilClose:
            return available
        }
    }
}
