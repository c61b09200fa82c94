#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The worker protocol over a real UDP socket: the same `AggregationWorker`, a monotonic clock,
/// `poll` for datagrams and the one wake-up. For workers on real hosts (the XDP backend's
/// switch, or any SwitchML-speaking switch).
public final class UDPAggregationPort: AggregationPort {
    let fd: Int32
    var service: sockaddr_in
    var wakeAt = Int64.max
    var buffer: UnsafeMutableRawBufferPointer
    /// Errors of `sendto` so far (counted, not thrown: the protocol retransmits).
    public private(set) var sendErrors = 0

    /// A socket bound to `local` (an IPv4 address and port; 0.0.0.0 and 0 for any), sending to
    /// the aggregation service at `serviceIP`:`servicePort` (IPv4 addresses as UInt32, host order).
    public init(localIP: UInt32 = 0, localPort: UInt16, serviceIP: UInt32, servicePort: UInt16) throws {
        let s = try Self.boundSocket(localIP, localPort, hint: "choose a free port and an address of this host")
        fd = s
        service = Self.address(serviceIP, servicePort)
        buffer = .allocate(byteCount: 65536, alignment: 8)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// A UDP socket bound to `ip`:`port`; the error names the address and `hint`.
    static func boundSocket(_ ip: UInt32, _ port: UInt16, hint: String) throws -> Int32 {
        #if canImport(Glibc)
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        #else
        let s = socket(AF_INET, SOCK_DGRAM, 0)
        #endif
        guard s >= 0 else { throw AggregationError("socket: \(String(cString: strerror(errno)))") }
        var local = address(ip, port)
        let r = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else {
            let e = String(cString: strerror(errno))
            close(s)
            throw AggregationError("bind \(text(ip)):\(port): \(e) (\(hint))")
        }
        return s
    }

    static func address(_ ip: UInt32, _ port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr = in_addr(s_addr: ip.bigEndian)
        return a
    }

    static func text(_ ip: UInt32) -> String { "\(ip >> 24).\(ip >> 16 & 255).\(ip >> 8 & 255).\(ip & 255)" }

    /// Send to another aggregation service from now on.
    public func retarget(serviceIP: UInt32, servicePort: UInt16) { service = Self.address(serviceIP, servicePort) }

    /// The port the socket is bound to (useful after binding port 0).
    public var localPort: UInt16 {
        var a = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: a.sin_port)
    }

    public var now: Int64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int64(t.tv_sec) * 1_000_000_000_000 + Int64(t.tv_nsec) * 1000
    }

    public func send(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        let out = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(length, buffer.count)])
        fill(out)
        let n = withUnsafePointer(to: &service) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, out.baseAddress, out.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if n < 0 { sendErrors += 1 }
    }

    public func wake(at time: Int64) { wakeAt = min(wakeAt, time) }

    /// Run `worker`'s protocol until it has nothing left to do (every submitted operation done)
    /// or `deadline` (picoseconds on `now`'s clock) passes; true when it finished.
    public func run(_ worker: AggregationWorker<UDPAggregationPort>, deadline: Int64 = .max) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while worker.busy {
            let t = now
            if t >= deadline { return false }
            if t >= wakeAt {
                wakeAt = .max
                worker.timerFired()
                continue
            }
            let wait = min(wakeAt, deadline) - t
            let ms = Int32(clamping: (wait + 999_999_999) / 1_000_000_000)
            let ready = poll(&pfd, 1, ms)
            guard ready > 0 else { continue }
            // Drain what is there without blocking.
            while true {
                let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
                if n <= 0 { break }
                worker.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                if !worker.busy { break }
            }
        }
        return true
    }
}

extension AggregationWorker where Port == UDPAggregationPort {
    /// Synchronous allreduce over the socket: returns when the sum is in `tensor`, or throws
    /// after `timeoutSeconds` without completion.
    public func allReduceSync(_ tensor: TensorBuffer<Int32>, timeoutSeconds: Double = 60) throws {
        allReduce(tensor)
        try wait(timeoutSeconds)
    }

    public func allReduceSync(_ tensor: TensorBuffer<Float>, timeoutSeconds: Double = 60) throws {
        allReduce(tensor)
        try wait(timeoutSeconds)
    }

    func wait(_ seconds: Double) throws {
        let deadline = port.now + Int64(seconds * 1e12)
        guard port.run(self, deadline: deadline) else {
            throw AggregationError("allreduce did not finish within \(seconds) s (is the switch running switchml with this job configured, and reachable?)")
        }
    }
}
