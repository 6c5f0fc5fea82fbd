import NIOCore
@testable import Proxy
import Testing

/// `ExchangeStateMachine` driven by events alone: no channel, no clock, no socket. Each test names
/// the GEP-1731/GEP-1742/RFC rule it checks.
@Suite struct ExchangeStateMachineTests {
    typealias M = ExchangeStateMachine
    static func policy(attempts: Int = 0, retry: Bool = false, codes: [Int] = [], idempotent: Bool = true,
                       maxReplay: Int = 64, webSocket: Bool = false, upgrade: Bool = false) -> M.Policy {
        var p = M.Policy()
        p.maxAttempts = 1 + attempts
        p.retryConfigured = retry
        p.retryCodes = codes
        p.retryBackoff = .milliseconds(10)
        p.idempotent = idempotent
        p.maxReplayBytes = maxReplay
        p.webSocket = webSocket
        p.upgradeRequest = upgrade || webSocket
        return p
    }
    static func bytes(_ n: Int) -> ByteBuffer { ByteBuffer(repeating: 0x61, count: n) }

    @Test("A simple GET: connect, send head and end, hold the head, forward body with it, finish and release reusable")
    func happyPath() {
        var m = M(policy: Self.policy())
        #expect(m.start(failure: nil) == .connect)
        #expect(m.requestEnd() == .none, "no connection yet: the end is sent with the request")
        #expect(m.connected() == .sendRequest(parts: [], end: true))
        #expect(m.upstreamHead(status: 200) == .holdHead)
        #expect(m.upstreamBody(Self.bytes(3)) == .forwardBody(Self.bytes(3), withHead: true))
        #expect(m.upstreamBody(Self.bytes(2)) == .forwardBody(Self.bytes(2), withHead: false))
        #expect(m.upstreamEnd(trailers: false, reusable: true, keepAlive: true)
            == .finishResponse(trailers: nil, withHead: false, close: false, upstream: .release(reusable: true)))
        #expect(m.phase == .done)
        #expect(m.clientClosed() == .none, "a finished exchange records nothing more")
    }

    @Test("An invalid backend is answered at once (HTTPRoute: 500 for an invalid backend), no connection")
    func invalidBackend() {
        var m = M(policy: Self.policy())
        #expect(m.start(failure: .invalidBackend("x")) == .respond(.invalidBackend("x"), upstream: .keep))
        #expect(m.connected() == .releaseUnused)
    }

    @Test("GEP-1731: a connection error is retried after the backoff while attempts remain, then answered")
    func connectErrorsRetried() {
        var m = M(policy: Self.policy(attempts: 2, retry: true))
        _ = m.start(failure: nil)
        _ = m.requestEnd()
        #expect(m.connectFailed(.connectFailed("refused")) == .retry(after: .milliseconds(10), upstream: .discard))
        #expect(m.retryDue() == .connect)
        #expect(m.connectFailed(.connectFailed("refused")) == .retry(after: .milliseconds(10), upstream: .discard))
        #expect(m.retryDue() == .connect)
        #expect(m.attempts == 3)
        #expect(m.connectFailed(.connectFailed("refused")) == .respond(.connectFailed("refused"), upstream: .discard))
    }

    @Test("Without a retry stanza a connection error is answered 503 at once")
    func noRetryStanza() {
        var m = M(policy: Self.policy())
        _ = m.start(failure: nil)
        #expect(m.connectFailed(.connectFailed("refused")) == .respond(.connectFailed("refused"), upstream: .discard))
    }

    @Test("GEP-1731 codes: a retriable status is discarded and the request replayed; after the last attempt it is answered")
    func retriableStatus() {
        var m = M(policy: Self.policy(attempts: 1, retry: true, codes: [503]))
        _ = m.start(failure: nil)
        _ = m.requestBody(Self.bytes(10))
        _ = m.requestEnd()
        #expect(m.connected() == .sendRequest(parts: [Self.bytes(10)], end: true))
        #expect(m.upstreamHead(status: 503) == .discardResponse)
        #expect(m.upstreamBody(Self.bytes(5)) == .none, "the discarded response's body is dropped")
        #expect(m.upstreamEnd(trailers: false, reusable: true, keepAlive: true) == .retry(after: .milliseconds(10), upstream: .release(reusable: true)))
        #expect(m.retryDue() == .connect)
        #expect(m.connected() == .sendRequest(parts: [Self.bytes(10)], end: true), "the body is replayed whole")
        #expect(m.upstreamHead(status: 503) == .holdHead, "no attempt left: the 503 goes to the client")
    }

    @Test("RFC 9110 §9.2.2: a POST that reached the upstream is not resent after a reset; a GET is")
    func nonIdempotentNotResent() {
        var post = M(policy: Self.policy(attempts: 2, retry: true, idempotent: false))
        _ = post.start(failure: nil)
        _ = post.requestEnd()
        _ = post.connected()
        #expect(post.upstreamFailed(.upstreamReset("reset")) == .respond(.upstreamReset("reset"), upstream: .discard))
        var get = M(policy: Self.policy(attempts: 2, retry: true))
        _ = get.start(failure: nil)
        _ = get.requestEnd()
        _ = get.connected()
        #expect(get.upstreamFailed(.upstreamReset("reset")) == .retry(after: .milliseconds(10), upstream: .discard))
    }

    @Test("A body larger than the replay buffer is streamed and never retried")
    func bigBodyNotReplayable() {
        var m = M(policy: Self.policy(attempts: 2, retry: true, maxReplay: 8))
        _ = m.start(failure: nil)
        #expect(m.requestBody(Self.bytes(6)) == .none)
        #expect(m.requestBody(Self.bytes(6)) == .pauseClient, "not connected and no longer replayable: stop reading")
        #expect(m.connected() == .sendRequest(parts: [Self.bytes(6), Self.bytes(6)], end: false))
        #expect(m.requestBody(Self.bytes(6)) == .sendBody(Self.bytes(6)))
        #expect(m.bufferedBytes == 0, "streamed parts are not kept")
        #expect(m.connectFailed(.connectFailed("x")) == .none, "not connecting any more")
        #expect(m.upstreamFailed(.upstreamReset("reset")) == .respond(.upstreamReset("reset"), upstream: .discard))
        #expect(m.takeMirrorBody() == nil, "a partial body is never mirrored")
    }

    @Test("GEP-1742: the request timeout is final; backendRequest ends one attempt and may be retried")
    func timeouts() {
        var m = M(policy: Self.policy(attempts: 1, retry: true))
        _ = m.start(failure: nil)
        _ = m.requestEnd()
        _ = m.connected()
        #expect(m.deadlinePassed(.attempt, error: .timeout("be")) == .retry(after: .milliseconds(10), upstream: .discard))
        _ = m.retryDue()
        _ = m.connected()
        #expect(m.deadlinePassed(.request, error: .timeout("req")) == .respond(.timeout("req"), upstream: .discard))
        #expect(m.deadlinePassed(.attempt, error: .timeout("be")) == .none)
    }

    @Test("A held head is replaced by 502 when the upstream fails; after body bytes the response can only be truncated")
    func headHeldThen502() {
        var m = M(policy: Self.policy())
        _ = m.start(failure: nil)
        _ = m.requestEnd()
        _ = m.connected()
        #expect(m.upstreamHead(status: 200) == .holdHead)
        #expect(m.upstreamReadComplete() == .armHeadHold)
        #expect(m.upstreamFailed(.upstreamReset("closed")) == .respond(.upstreamReset("closed"), upstream: .discard))

        var n = M(policy: Self.policy())
        _ = n.start(failure: nil)
        _ = n.requestEnd()
        _ = n.connected()
        _ = n.upstreamHead(status: 200)
        #expect(n.headHoldExpired() == .flushHead, "a streaming response's head goes out after the hold")
        #expect(n.upstreamFailed(.upstreamReset("closed")) == .truncate(.upstreamReset("closed"), status: 200, upstream: .discard))
    }

    @Test("An early response to an upload: the connection is released as not reusable (the upstream still reads the body)")
    func earlyResponse() {
        var m = M(policy: Self.policy())
        _ = m.start(failure: nil)
        _ = m.connected()
        _ = m.upstreamHead(status: 413)
        #expect(m.upstreamEnd(trailers: false, reusable: true, keepAlive: true)
            == .finishResponse(trailers: nil, withHead: true, close: false, upstream: .release(reusable: false)))
    }

    @Test("WebSocket: a 101 begins the tunnel; a 101 to a plain request is an upstream error; other Upgrade requests close after")
    func upgrades() {
        var ws = M(policy: Self.policy(webSocket: true))
        _ = ws.start(failure: nil)
        _ = ws.requestEnd()
        _ = ws.connected()
        #expect(ws.upstreamHead(status: 101) == .beginUpgrade)
        #expect(ws.upstreamEnd(trailers: false, reusable: false, keepAlive: true) == .completeUpgrade)

        var plain = M(policy: Self.policy())
        _ = plain.start(failure: nil)
        _ = plain.requestEnd()
        _ = plain.connected()
        #expect(plain.upstreamHead(status: 101) == .respond(.upstreamReset("unexpected 101 Switching Protocols"), upstream: .discard))

        var h2c = M(policy: Self.policy(upgrade: true))
        _ = h2c.start(failure: nil)
        _ = h2c.requestEnd()
        _ = h2c.connected()
        _ = h2c.upstreamHead(status: 200)
        #expect(h2c.closeAfterResponse)
        #expect(h2c.upstreamEnd(trailers: false, reusable: true, keepAlive: true)
            == .finishResponse(trailers: nil, withHead: true, close: true, upstream: .release(reusable: true)))
    }

    @Test("The client leaving: 499 before any answer, the response status after; a connection arriving late is given back")
    func clientLeaves() {
        var m = M(policy: Self.policy())
        _ = m.start(failure: nil)
        #expect(m.clientClosed() == .abandon(status: 499, upstream: .discard))
        #expect(m.connected() == .releaseUnused)

        var n = M(policy: Self.policy())
        _ = n.start(failure: nil)
        _ = n.requestEnd()
        _ = n.connected()
        _ = n.upstreamHead(status: 200)
        _ = n.upstreamBody(Self.bytes(1))
        #expect(n.clientClosed() == .abandon(status: 200, upstream: .discard))
    }

    @Test("RequestMirror gets the body once, only when it was kept whole")
    func mirrors() {
        var m = M(policy: Self.policy())
        _ = m.start(failure: nil)
        #expect(m.takeMirrorBody() == nil, "not complete yet")
        _ = m.requestBody(Self.bytes(4))
        _ = m.requestEnd()
        #expect(m.takeMirrorBody() == [Self.bytes(4)])
        #expect(m.takeMirrorBody() == nil)
    }
}
