import Logging
import NIOCore
import NIOPosix
import Routing

/// Raw TCP through a mesh frontend: a connection to a Service port that does not speak HTTP is
/// forwarded byte for byte to one of the Service's endpoints (chosen at random, like kube-proxy),
/// with GlueHandler's backpressure and half-close mapping. No endpoint = the connection is closed.
enum MeshTCP {
    struct NoEndpoint: Error, CustomStringConvertible {
        var description: String
    }

    static func forward(_ client: Channel, port: CompiledMeshPort, connectTimeout: TimeAmount, logger: Logger) -> EventLoopFuture<Void> {
        guard let endpoint = port.endpoints.randomElement() else {
            logger.debug("mesh TCP: no ready endpoint", metadata: ["service": "\(port.ir.service.namespace)/\(port.ir.service.name):\(port.ir.port)"])
            return client.eventLoop.makeFailedFuture(NoEndpoint(description: "no ready endpoint"))
        }
        let (toUpstream, toClient) = GlueHandler.pair()
        return client.setOption(ChannelOptions.allowRemoteHalfClosure, value: true).flatMap {
            ClientBootstrap(group: client.eventLoop)
                .connectTimeout(connectTimeout)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(toClient) } }
                .connect(host: endpoint.address, port: endpoint.port)
        }.flatMapThrowing { upstream in
            do {
                // Forwarded connections are not subject to the HTTP idle timeout: a TCP connection
                // may stay quiet for long (connection pools), as through kube-proxy.
                if let idle = try? client.pipeline.syncOperations.handler(type: IdleCloser.self) {
                    client.pipeline.syncOperations.removeHandler(idle, promise: nil)
                }
                if let state = try? client.pipeline.syncOperations.handler(type: IdleStateHandler.self) {
                    client.pipeline.syncOperations.removeHandler(state, promise: nil)
                }
                try client.pipeline.syncOperations.addHandler(toUpstream)
            } catch {
                // The client went away while we connected: do not leave the upstream open.
                upstream.close(promise: nil)
                throw error
            }
        }.flatMapErrorThrowing { error in
            logger.debug("mesh TCP: cannot reach the endpoint", metadata: [
                "endpoint": "\(endpoint.address):\(endpoint.port)", "error": "\(error)",
            ])
            throw error
        }
    }
}
