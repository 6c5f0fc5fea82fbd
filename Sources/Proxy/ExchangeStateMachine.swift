import NIOCore

/// The decisions of one proxied request, as a value: events in, one action out. `Exchange` is the
/// thin executor that performs the actions on NIO (../shared/DESIGN.md §7 "The request as a state
/// machine"); this type does no IO, reads no clock and holds no channel, so tests drive it with
/// events alone (ExchangeStateMachineTests).
///
/// What it decides:
/// - **Attempts and retries** — GEP-1731: a request is retried "on connection errors" and on the
///   configured `codes`, up to `attempts` retries, "approximately [backoff] after timing out or
///   receiving a response code configured to be retriable". Only while the request can be replayed
///   (its body was kept whole) and, once it reached an upstream, only when its method is idempotent
///   (RFC 9110 §9.2.2) — a POST that may have been processed is never sent twice.
/// - **Timeouts** — GEP-1742: `request` ends every attempt ("from when the request first arrives at
///   the gateway until the response is sent") and is final; `backendRequest` (or the default
///   response-head limit) ends one attempt and may be retried.
/// - **Request body** — kept for replay (retries, mirrors) up to `maxReplayBytes`, then streamed.
/// - **Response phases** — a retriable status is discarded for the next attempt; a head is held until
///   body bytes, the end, or the hold expires, so an upstream that closes right after its head still
///   gets the client a 502; after bytes reached the client a failure can only truncate.
/// - **WebSocket** — a 101 to a WebSocket request turns the exchange into a tunnel; any other 101 is
///   an upstream error. Other `Upgrade` requests close the connection after their response (NIO's
///   decoder stops parsing at them).
struct ExchangeStateMachine {
    struct Policy: Equatable {
        /// 1 + GEP-1731 `attempts`.
        var maxAttempts = 1
        /// A `retry` stanza is configured (connection errors are then retried too).
        var retryConfigured = false
        var retryCodes: [Int] = []
        var retryBackoff: TimeAmount = .milliseconds(25)
        var maxReplayBytes = 64 * 1024
        /// RFC 9110 §9.2.2 idempotent method.
        var idempotent = true
        var webSocket = false
        var upgradeRequest = false
    }

    enum Phase: Equatable { case idle, connecting, awaitingResponse, streamingResponse, upgrading, done }

    /// What happens to the attempt's upstream connection alongside an action.
    enum Upstream: Equatable {
        case keep, discard
        case release(reusable: Bool)
    }

    enum Deadline: Equatable {
        /// GEP-1742 `request`: final.
        case request
        /// `backendRequest`, or the default time to a response head: this attempt only.
        case attempt
    }

    enum Action: Equatable {
        case none
        /// Pick an endpoint and open (or reuse) an upstream connection; `discard` the previous one.
        case connect
        /// A connection arrived for an attempt that is over: give it back.
        case releaseUnused
        /// Send the request head, then `parts`, then (if `end`) the end; arm the attempt deadline.
        case sendRequest(parts: [ByteBuffer], end: Bool)
        case sendBody(ByteBuffer)
        case sendEnd
        /// The body outgrew the replay buffer before a connection exists: stop reading the client.
        case pauseClient
        /// A response is coming: build its head (filters) and hold it.
        case holdHead
        /// Arm the head-hold timer (the head arrived without body bytes).
        case armHeadHold
        /// Write the held head to the client and flush.
        case flushHead
        /// Write `body` to the client (after the held head if `withHead`).
        case forwardBody(ByteBuffer, withHead: Bool)
        /// The response ended: write the held head if `withHead`, the end, then close if `close`.
        case finishResponse(trailers: HTTPHeadersBox?, withHead: Bool, close: Bool, upstream: Upstream)
        /// Discard this response (a retriable status); the next event decides.
        case discardResponse
        /// Answer the client with this error (404/5xx/504), generic body.
        case respond(ProxyError, upstream: Upstream)
        /// Retry after `backoff`; `upstream` disposes of the failed attempt's connection.
        case retry(after: TimeAmount, upstream: Upstream)
        /// Bytes already reached the client: close it, record `status` with the error.
        case truncate(ProxyError, status: Int, upstream: Upstream)
        /// A WebSocket 101: forward it when the upstream decoder is done with it.
        case beginUpgrade
        /// Join the client and upstream connections byte for byte.
        case completeUpgrade
        /// The client went away: record `status` (499 when nothing was answered).
        case abandon(status: Int, upstream: Upstream)
    }

    /// `HTTPHeaders` is not `Equatable` in a way tests can use for trailers; the executor keeps the
    /// value, the machine only says whether there were any.
    struct HTTPHeadersBox: Equatable {}

    let policy: Policy
    private(set) var phase = Phase.idle
    private(set) var attempts = 0
    private(set) var responseStatus = 0
    /// The request body kept for replay while `replayable`.
    private(set) var buffered: [ByteBuffer] = []
    private(set) var bufferedBytes = 0
    private(set) var replayable = true
    private(set) var bodyComplete = false
    private(set) var headPending = false
    private(set) var closeAfterResponse = false
    private var requestEndSent = false
    private var discardingForRetry = false
    private var mirrorsTaken = false

    init(policy: Policy) { self.policy = policy }

    private var hasUpstream: Bool { phase == .awaitingResponse || phase == .streamingResponse }

    // MARK: Request side

    /// The backend was chosen (or could not be): connect, or answer.
    mutating func start(failure: ProxyError?) -> Action {
        guard phase == .idle else { return .none }
        if let failure {
            phase = .done
            return .respond(failure, upstream: .keep)
        }
        return nextAttempt()
    }

    /// The retry backoff passed.
    mutating func retryDue() -> Action {
        guard phase == .connecting else { return .none }
        return nextAttempt()
    }

    private mutating func nextAttempt() -> Action {
        attempts += 1
        phase = .connecting
        discardingForRetry = false
        requestEndSent = false
        return .connect
    }

    mutating func connected() -> Action {
        guard phase == .connecting else { return .releaseUnused }
        phase = .awaitingResponse
        requestEndSent = bodyComplete
        return .sendRequest(parts: buffered, end: bodyComplete)
    }

    mutating func connectFailed(_ error: ProxyError) -> Action {
        guard phase == .connecting else { return .none }
        return attemptFailed(error, safeToRetry: true)
    }

    mutating func requestBody(_ part: ByteBuffer) -> Action {
        if replayable {
            if bufferedBytes + part.readableBytes <= policy.maxReplayBytes {
                buffered.append(part)
                bufferedBytes += part.readableBytes
            } else {
                replayable = false
            }
        }
        if hasUpstream {
            if !replayable {
                buffered.removeAll()
                bufferedBytes = 0
            }
            return .sendBody(part)
        }
        if !replayable {
            // Not connected yet and too big to keep whole: keep what arrived and stop reading until
            // the upstream connection exists (bounded memory).
            buffered.append(part)
            bufferedBytes += part.readableBytes
            return .pauseClient
        }
        return .none
    }

    mutating func requestEnd() -> Action {
        bodyComplete = true
        guard hasUpstream else { return .none }
        requestEndSent = true
        return .sendEnd
    }

    /// The request body for RequestMirror filters, once, when the request is complete and was kept
    /// whole ("Requests are sent to the specified destination" — a mirror of a streamed body would be
    /// partial, so none is sent).
    mutating func takeMirrorBody() -> [ByteBuffer]? {
        guard !mirrorsTaken, bodyComplete, replayable else { return nil }
        mirrorsTaken = true
        return buffered
    }

    // MARK: Response side

    mutating func upstreamHead(status: Int) -> Action {
        guard phase == .awaitingResponse else { return .none }
        if policy.retryCodes.contains(status), attempts < policy.maxAttempts, replayable, bodyComplete {
            discardingForRetry = true
            return .discardResponse
        }
        if status == 101 {
            guard policy.webSocket else { return attemptFailed(.upstreamReset("unexpected 101 Switching Protocols"), safeToRetry: false) }
            phase = .upgrading
            responseStatus = 101
            return .beginUpgrade
        }
        phase = .streamingResponse
        responseStatus = status
        headPending = true
        if policy.upgradeRequest { closeAfterResponse = true }
        return .holdHead
    }

    mutating func upstreamReadComplete() -> Action {
        phase == .streamingResponse && headPending ? .armHeadHold : .none
    }

    mutating func headHoldExpired() -> Action {
        guard phase == .streamingResponse, headPending else { return .none }
        headPending = false
        return .flushHead
    }

    mutating func upstreamBody(_ part: ByteBuffer) -> Action {
        guard phase == .streamingResponse, !discardingForRetry else { return .none }
        let withHead = headPending
        headPending = false
        return .forwardBody(part, withHead: withHead)
    }

    /// The response ended. `reusable`: the upstream connection may carry another request.
    mutating func upstreamEnd(trailers: Bool, reusable: Bool, keepAlive: Bool) -> Action {
        if phase == .upgrading {
            phase = .done
            return .completeUpgrade
        }
        // A connection whose request was not completely sent (an early response to an upload)
        // cannot carry another request: the upstream is still reading this one's body.
        let upstream = Upstream.release(reusable: reusable && requestEndSent)
        if discardingForRetry {
            discardingForRetry = false
            if attempts < policy.maxAttempts {
                phase = .connecting
                return .retry(after: policy.retryBackoff, upstream: upstream)
            }
            phase = .done
            return .respond(.upstreamReset("retries exhausted"), upstream: upstream)
        }
        guard phase == .streamingResponse else { return .none }
        phase = .done
        let withHead = headPending
        headPending = false
        return .finishResponse(trailers: trailers ? HTTPHeadersBox() : nil, withHead: withHead,
                               close: closeAfterResponse || !keepAlive, upstream: upstream)
    }

    /// The upstream connection failed or closed before the response ended.
    mutating func upstreamFailed(_ error: ProxyError) -> Action {
        if phase == .upgrading {
            return attemptFailed(error, safeToRetry: false)
        }
        guard hasUpstream else { return .none }
        // Before the response head nothing reached the client: retryable when the request is
        // replayable ("retry on connection errors"), and, since it reached the upstream, idempotent.
        return attemptFailed(error, safeToRetry: phase == .awaitingResponse && policy.idempotent)
    }

    mutating func deadlinePassed(_ deadline: Deadline, error: ProxyError) -> Action {
        switch deadline {
        case .request:
            guard phase != .done else { return .none }
            if phase == .streamingResponse && !headPending {
                phase = .done
                return .truncate(error, status: responseStatus, upstream: .discard)
            }
            phase = .done
            return .respond(error, upstream: .discard)
        case .attempt:
            guard hasUpstream else { return .none }
            return attemptFailed(error, safeToRetry: phase == .awaitingResponse && policy.idempotent)
        }
    }

    mutating func clientClosed() -> Action {
        guard phase != .done else { return .none }
        phase = .done
        return .abandon(status: responseStatus == 0 ? 499 : responseStatus, upstream: .discard)
    }

    private mutating func attemptFailed(_ error: ProxyError, safeToRetry: Bool) -> Action {
        discardingForRetry = false
        guard phase != .done else { return .none }
        if phase == .streamingResponse {
            phase = .done
            if headPending {
                // Nothing reached the client yet: it gets the error instead of the head.
                headPending = false
                return .respond(error, upstream: .discard)
            }
            // The response has started: nothing can be repaired, the client sees a truncated response.
            return .truncate(error, status: responseStatus, upstream: .discard)
        }
        if policy.retryConfigured, safeToRetry || error.retryable, attempts < policy.maxAttempts, replayable {
            phase = .connecting
            return .retry(after: policy.retryBackoff, upstream: .discard)
        }
        phase = .done
        return .respond(error, upstream: .discard)
    }
}
