import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SluiceP4Runtime

/// A running P4Runtime server (plaintext HTTP/2) for one device, for callers that are not
/// async (`sluice attach`): `init` returns once it listens, `stop` ends it and its digest poller.
public final class P4RuntimeServer: @unchecked Sendable {
    /// The port it listens on (the one asked for, or the one the system chose for 0).
    public let port: Int
    public let host: String
    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let done = DispatchSemaphore(value: 0)
    let serving: Task<Void, Never>
    let poller: Task<Void, Never>

    /// Listens on `host` (IPv4 or IPv6 literal) and `port`; throws when it cannot (the address
    /// is taken, say).
    public init(device: P4RuntimeDevice, cpuPort: UInt16, host: String, port: Int) throws {
        let transport = host.contains(":")
            ? HTTP2ServerTransport.Posix(address: .ipv6(host: host, port: port), transportSecurity: .plaintext)
            : HTTP2ServerTransport.Posix(address: .ipv4(host: host, port: port), transportSecurity: .plaintext)
        let server = GRPCServer(transport: transport, services: [P4RuntimeService(device: device, cpuPort: cpuPort)])
        self.server = server
        self.host = host
        let done = self.done
        serving = Task.detached { try? await server.serve(); done.signal() }
        let (bound, failure) = Self.await { () async -> (Int?, String?) in
            do {
                guard let a = try await server.listeningAddress else { return (nil, "no listening address") }
                if let v4 = a.ipv4 { return (v4.port, nil) }
                if let v6 = a.ipv6 { return (v6.port, nil) }
                return (nil, "listening on \(a), not an IP address")
            } catch { return (nil, "\(error)") }
        }
        guard let bound else {
            server.beginGracefulShutdown()
            throw P4RuntimeError(.unavailable, "cannot listen on \(host):\(port): \(failure ?? "unknown failure") (is the port taken? try another with --p4runtime HOST:PORT)")
        }
        self.port = bound
        // Digests go to the primary controller every 10 ms.
        poller = Task.detached {
            while !Task.isCancelled {
                device.sendDigests()
                try? await Task.sleep(nanoseconds: 10_000_000)
            }
        }
    }

    /// Stops listening and waits for the server to finish: calls under way get 2 seconds, then
    /// every RPC still open (a controller's StreamChannel never ends by itself) is cancelled.
    /// Blocks: call it from a thread of its own, not from a task.
    public func stop() {
        poller.cancel()
        server.beginGracefulShutdown()
        if done.wait(timeout: .now() + 2) == .timedOut {
            serving.cancel()
            done.wait()
        }
    }

    /// Runs `body` on the concurrency pool and waits for it (the caller is not async).
    static func await<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let sem = DispatchSemaphore(value: 0)
        let box = Box<T>()
        Task.detached { box.value = await body(); sem.signal() }
        sem.wait()
        return box.value!
    }

    final class Box<T>: @unchecked Sendable { var value: T? }
}
