import NIOCore
@testable import Proxy
import Testing

/// `ConnectionDeadlines` driven with explicit times (no clock, no channel).
@Suite struct ConnectionDeadlinesTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static func at(_ ms: Int64) -> NIODeadline { t0 + .milliseconds(ms) }

    @Test("the first head must be complete within the header timeout of the accept")
    func firstHead() {
        let d = ConnectionDeadlines(header: .seconds(15), idle: .seconds(120), accepted: Self.t0)
        #expect(d.deadline == Self.at(15_000))
    }

    @Test("between requests bytes do not extend the idle deadline; a head's first byte starts its own deadline")
    func keepAlive() {
        var d = ConnectionDeadlines(header: .seconds(15), idle: .seconds(120), accepted: Self.t0)
        d.requestStarted(now: Self.at(10))
        #expect(d.deadline == Self.at(120_010), "in flight: idle after the last byte")
        d.bytesOut(now: Self.at(50))
        #expect(d.deadline == Self.at(120_050))
        d.requestFinished(now: Self.at(100))
        #expect(d.deadline == Self.at(120_100), "idle from the end of the response")
        d.bytesIn(now: Self.at(60_000))
        #expect(d.deadline == Self.at(75_000), "a head began: 15 s from its first byte")
        d.bytesIn(now: Self.at(70_000))
        #expect(d.deadline == Self.at(75_000), "more bytes of the same head change nothing")
    }

    @Test("HTTP/2: PINGs between requests start no head; a HEADERS frame does; an open header block has its own deadline")
    func http2() {
        var d = ConnectionDeadlines(header: .seconds(15), idle: .seconds(120), accepted: Self.t0)
        d.headStartsOnAnyByte = false
        d.requestStarted(now: Self.at(0))
        d.requestFinished(now: Self.at(10))
        d.bytesIn(now: Self.at(5_000))
        #expect(d.deadline == Self.at(120_010), "a PING is not a request head")
        d.requestStarted(now: Self.at(6_000))
        d.headerBlockOpened(now: Self.at(7_000))
        #expect(d.deadline == Self.at(22_000), "an open block on another stream ends 15 s after it opened")
        d.headerBlockClosed()
        #expect(d.deadline == Self.at(126_000))
    }

    @Test("a tunnel has no deadline here")
    func tunnel() {
        var d = ConnectionDeadlines(header: .seconds(15), idle: .seconds(120), accepted: Self.t0)
        d.becameTunnel()
        #expect(d.deadline == nil)
    }
}
