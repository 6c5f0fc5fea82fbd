// libFuzzer target: the HTTP/1 request-head parser of the proxy's listeners — NIOHTTP1's
// HTTPRequestDecoder (llhttp) behind `ByteToMessageHandler`, configured as Sources/Proxy/Server.swift
// configures it (pipelining assistance, outbound header validation, the ProxyConfig header limits).
// Built and run by fuzz/run.sh http1-head (fuzz/README.md).
import NIOCore
import NIOEmbedded
import NIOHTTP1

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let channel = EmbeddedChannel()
    var limits = NIOHTTPDecoderLimitConfiguration()
    limits.maxHeaderFieldSize = 16 * 1024  // ProxyConfig.maxHeaderFieldBytes
    limits.maxHeaderListSize = 64 * 1024   // ProxyConfig.maxHeaderListBytes
    limits.maxHeaderFieldCount = 200       // ProxyConfig.maxHeaderCount
    try! channel.pipeline.syncOperations.configureHTTPServerPipeline(
        withPipeliningAssistance: true, withServerUpgrade: nil, withErrorHandling: false,
        withOutboundHeaderValidation: true, withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
    // The first byte picks where the input is cut in two, so reads that split a head are covered.
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let cut = size > 1 ? Int(bytes[0]) % size : size
    for part in [bytes[..<cut], bytes[cut...]] where !part.isEmpty {
        var buffer = channel.allocator.buffer(capacity: part.count)
        buffer.writeBytes(UnsafeBufferPointer(rebasing: part))
        do { try channel.writeInbound(buffer) } catch { break }
        // Answer each complete request as the proxy would, so pipelining assistance lets the next one through.
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            if case .end = part {
                let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "0"])
                _ = try? channel.writeOutbound(HTTPServerResponsePart.head(head))
                _ = try? channel.writeOutbound(HTTPServerResponsePart.end(nil))
                while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
            }
        }
    }
    _ = try? channel.finish(acceptAlreadyClosed: true)
    return 0
}
