// sluice-floor: the cheapest HTTP/1.1 forwarding we can write on SwiftNIO, in three variants, so
// that the benchmark can tell how much of Sluice's cost per request is the substrate and how much
// is ours (issue 10 item 1). One event loop; no routing, no timers, no per-request futures.
//
//   sluice-floor --mode typed|bytes|splice --listen 127.13.0.1:28080 --upstream 127.10.0.1:18080
//
//   typed   NIOHTTP1 server codec (with pipelining assistance, as Sluice sets it up) → each part
//           forwarded as HTTPClientRequestPart over a pooled keep-alive upstream connection with
//           NIOHTTP1's client codec → response parts back.
//   bytes   no codec: the request and response framing (head end, Content-Length, chunked,
//           close-delimited) is found directly on the ByteBuffers and the original bytes are
//           forwarded, over the same kind of pool.
//   splice  a bare TCP splice: one upstream connection per client connection, no HTTP at all.
//
// Bench-only: no backpressure, no timeouts, no header rewriting (no X-Forwarded-For), HTTP/1.1
// keep-alive clients. It exists to be measured, not deployed.
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

enum Mode: String { case typed, bytes, splice }

func usage() -> Never {
    print("usage: sluice-floor --mode typed|bytes|splice --listen HOST:PORT --upstream HOST:PORT")
    exit(2)
}

func address(_ s: String) -> SocketAddress {
    guard let i = s.lastIndex(of: ":"), let port = Int(s[s.index(after: i)...]),
          let a = try? SocketAddress(ipAddress: String(s[..<i]), port: port) else {
        print("not an IP:PORT address: \(s)")
        exit(2)
    }
    return a
}

var mode: Mode?
var listen: SocketAddress?
var upstream: SocketAddress?
var argv = CommandLine.arguments.dropFirst()
while let arg = argv.popFirst() {
    switch arg {
    case "--mode": mode = argv.popFirst().flatMap(Mode.init(rawValue:))
    case "--listen": listen = argv.popFirst().map(address)
    case "--upstream": upstream = argv.popFirst().map(address)
    default: usage()
    }
}
guard let mode, let listen, let upstream else { usage() }

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let loop = group.next()
let typedPool = UpstreamPool<TypedUpstreamHandler>(loop: loop, address: upstream)
let bytesPool = UpstreamPool<BytesUpstreamHandler>(loop: loop, address: upstream)

let server = ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 4096)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        precondition(channel.eventLoop === loop)
        return channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            switch mode {
            case .typed:
                try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withServerUpgrade: nil,
                                                     withErrorHandling: false)
                try sync.addHandler(TypedServerHandler(pool: typedPool))
            case .bytes:
                try sync.addHandler(BytesServerHandler(pool: bytesPool))
            case .splice:
                try sync.addHandler(SpliceHandler(upstream: upstream))
            }
        }
    }

let channel = try server.bind(to: listen).wait()
print("sluice-floor \(mode.rawValue) listening on \(listen), upstream \(upstream)")
try channel.closeFuture.wait()
