#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SluicePcap
import SluicePcapFiles
import SluiceEmulator
import SluiceSupport

/// A collector error: what failed and what would work.
public struct TelemetryError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}

/// The collector on a real UDP socket: receives report packets into one buffer and hands each
/// to a `TelemetryCollector`, timed by the monotonic clock from the start.
public final class UDPTelemetryCollector {
    public let collector: TelemetryCollector
    let fd: Int32
    let buffer: UnsafeMutableRawBufferPointer

    /// Binds UDP `port` on `ip` (host order; 0 for every address, port 0 for any free port).
    public init(port: UInt16, ip: UInt32 = 0, collector: TelemetryCollector = TelemetryCollector()) throws {
        let s: Int32
        do { s = try UDPSocket.bound(ip, port, hint: "valid: a free port, 1 ... 65535, below 1024 only as root") } catch {
            throw TelemetryError(error.description.replacingOccurrences(of: "bind ", with: "bind UDP "))
        }
        fd = s
        self.collector = collector
        buffer = .allocate(byteCount: 65536, alignment: 8)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// The bound port (useful after binding port 0).
    public var localPort: UInt16 { UDPSocket.localPort(fd) }

    /// Picoseconds on the monotonic clock.
    static func clock() -> Int64 { MonotonicClock.nanoseconds * 1000 }

    public enum Stop: Sendable { case duration, signal, packets }

    /// Receives until `seconds` pass (nil: no limit), `packets` report packets arrived (nil: no
    /// limit) or SIGINT/SIGTERM (`StopSignal`, installed by the caller). `progress` runs about
    /// once a second with the seconds elapsed.
    public func run(seconds: Double? = nil, packets: Int? = nil, progress: ((Double) -> Void)? = nil) -> Stop {
        let start = Self.clock()
        let end = seconds.map { start + Int64($0 * 1e12) } ?? .max
        var nextProgress = start + 1_000_000_000_000
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            if StopSignal.requested != nil { return .signal }
            if let n = packets, collector.packets >= n { return .packets }
            var t = Self.clock()
            if t >= end { return .duration }
            if t >= nextProgress { progress?(Double(t - start) / 1e12); nextProgress += 1_000_000_000_000 }
            // Wake at least every 100 ms to notice a signal, the deadline and the progress line.
            let ms = Int32(clamping: min(100, (min(end, nextProgress) - t + 999_999_999) / 1_000_000_000))
            guard poll(&pfd, 1, ms) > 0 else { continue }
            while true {
                let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
                if n < 0 { break }
                t = Self.clock()
                collector.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), at: t - start)
                if let m = packets, collector.packets >= m { break }
            }
        }
    }
}
