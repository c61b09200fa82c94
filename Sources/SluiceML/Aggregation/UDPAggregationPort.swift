import CSockets
import SluiceEmulator
import SluiceSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The worker protocol over a real UDP socket: the same `AggregationWorker`, a monotonic clock,
/// `poll` for datagrams and the one wake-up. For workers on real hosts (the XDP backend's
/// switch, or any SwitchML-speaking switch).
///
/// System calls are batched as a DPDK worker's bursts are: datagrams the worker sends are
/// queued and leave together (one `sendmmsg`) when the worker is about to wait, or when
/// `batch` are queued; datagrams are received `batch` at a time (one `recvmmsg`). The
/// worker's clock still stamps each packet when it asks to send it.
public final class UDPAggregationPort: AggregationPort {
    let fd: Int32
    var service: sockaddr_in
    var wakeAt = Int64.max
    /// `batch` datagram buffers of `slotBytes` each, out and in.
    let outBuffers: UnsafeMutableRawBufferPointer, inBuffers: UnsafeMutableRawBufferPointer
    var outPointers: [UnsafeRawPointer?], inPointers: [UnsafeMutableRawPointer?]
    var outLengths: [Int], inLengths: [Int]
    var queued = 0
    /// The most datagrams one system call sends or receives (1 ... `maxBatch`).
    public let batch: Int
    /// The largest `batch` (the C helpers' SLUICE_BATCH_MAX).
    public static let maxBatch = Int(SLUICE_BATCH_MAX)
    static let slotBytes = 2048
    /// Datagrams the kernel refused so far (counted, not thrown: the protocol retransmits).
    public private(set) var sendErrors = 0
    /// `sendmmsg` and `recvmmsg` calls so far, and the datagrams the sends carried.
    public private(set) var sendCalls = 0, receiveCalls = 0, datagramsSent = 0
    /// Datagrams from anywhere but the aggregation service: dropped unread, since a result from
    /// another address or port (a forgery, another job's stray) would be summed as the service's.
    public private(set) var foreignDatagrams = 0
    /// The source address of each datagram of a receive batch.
    let sources: UnsafeMutablePointer<sockaddr_in>

    /// A socket bound to `local` (an IPv4 address and port; 0.0.0.0 and 0 for any), sending to
    /// the aggregation service at `serviceIP`:`servicePort` (IPv4 addresses as UInt32, host order).
    /// `batch`: the most datagrams a system call carries (1 ... 64; 1 sends each datagram at once).
    public init(localIP: UInt32 = 0, localPort: UInt16, serviceIP: UInt32, servicePort: UInt16, batch: Int = 32) throws {
        guard (1...Self.maxBatch).contains(batch) else { throw AggregationError("batch \(batch) (valid: 1 ... \(Self.maxBatch) datagrams a system call)") }
        let s: Int32
        do { s = try UDPSocket.bound(localIP, localPort, hint: "choose a free port and an address of this host") } catch { throw AggregationError(error.description) }
        // Room for a window of results: a datagram built from an XDP frame is charged a whole
        // page, and the default buffer (about 200 KB) then overflows at ~50 results.
        var big: Int32 = 4 << 20
        _ = setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, socklen_t(MemoryLayout<Int32>.size))
        fd = s
        service = UDPSocket.address(serviceIP, servicePort)
        self.batch = batch
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: batch * Self.slotBytes, alignment: 8)
        let inp = UnsafeMutableRawBufferPointer.allocate(byteCount: batch * Self.slotBytes, alignment: 8)
        outBuffers = out
        inBuffers = inp
        outPointers = (0..<batch).map { UnsafeRawPointer(out.baseAddress! + $0 * Self.slotBytes) }
        inPointers = (0..<batch).map { inp.baseAddress! + $0 * Self.slotBytes }
        outLengths = Array(repeating: 0, count: batch)
        inLengths = Array(repeating: 0, count: batch)
        sources = .allocate(capacity: batch)
        sources.initialize(repeating: sockaddr_in(), count: batch)
    }

    deinit {
        close()
        outBuffers.deallocate()
        inBuffers.deallocate()
        sources.deallocate()
    }

    private var closed = false

    /// Releases the socket (and its port) now rather than when the port is freed; the port
    /// sends and receives nothing after this.
    public func close() {
        guard !closed else { return }
        closed = true
        closeDescriptor(fd)
    }


    /// Send to another aggregation service from now on.
    public func retarget(serviceIP: UInt32, servicePort: UInt16) { service = UDPSocket.address(serviceIP, servicePort) }

    /// The port the socket is bound to (useful after binding port 0).
    public var localPort: UInt16 { UDPSocket.localPort(fd) }

    public var now: Int64 { MonotonicClock.nanoseconds * 1000 }


    /// Queue one datagram (at most 2048 bytes; longer ones are cut, and no SwitchML packet is
    /// longer); it leaves with the next `flush`, at the latest when the worker waits.
    public func send(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        let n = min(length, Self.slotBytes)
        fill(UnsafeMutableRawBufferPointer(start: outBuffers.baseAddress! + queued * Self.slotBytes, count: n))
        outLengths[queued] = n
        queued += 1
        if queued == batch { flush() }
    }

    /// Send what is queued, in order; a datagram the kernel refuses is counted and skipped.
    public func flush() {
        var done = 0
        while done < queued {
            let r = outPointers.withUnsafeBufferPointer { p in
                outLengths.withUnsafeBufferPointer { l in
                    withUnsafePointer(to: &service) {
                        Int(sluice_send_batch(fd, $0, UInt32(MemoryLayout<sockaddr_in>.size), p.baseAddress! + done, l.baseAddress! + done, UInt32(queued - done)))
                    }
                }
            }
            sendCalls += 1
            if r <= 0 { sendErrors += 1; done += 1 } else { datagramsSent += r; done += r }
        }
        queued = 0
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
            flush()
            let wait = min(wakeAt, deadline) - t
            let ms = Int32(clamping: (wait + 999_999_999) / 1_000_000_000)
            let ready = poll(&pfd, 1, ms)
            guard ready > 0 else { continue }
            // Drain what is there without blocking.
            drain: while true {
                let n = inPointers.withUnsafeBufferPointer { p in
                    inLengths.withUnsafeMutableBufferPointer { l in
                        Int(sluice_recv_batch(fd, p.baseAddress!, Self.slotBytes, l.baseAddress!, sources,
                                              UInt32(MemoryLayout<sockaddr_in>.size), UInt32(batch)))
                    }
                }
                if n <= 0 { break }
                receiveCalls += 1
                for i in 0..<n {
                    guard sources[i].sin_addr.s_addr == service.sin_addr.s_addr, sources[i].sin_port == service.sin_port else {
                        foreignDatagrams += 1
                        continue
                    }
                    worker.receive(UnsafeRawBufferPointer(start: inPointers[i], count: min(inLengths[i], Self.slotBytes)))
                    if !worker.busy { break drain }
                }
                if n < batch { break }
            }
        }
        flush()
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

    /// `leaveSlotsReusable`, waited for (at most one round trip when the service answers).
    public func leaveSlotsReusableSync(timeoutSeconds: Double = 10) throws {
        leaveSlotsReusable()
        try wait(timeoutSeconds)
    }

    func wait(_ seconds: Double) throws {
        let picoseconds = seconds * Double(VirtualTime.picosecondsPerSecond)
        let never = VirtualTime.never.picoseconds
        let deadline = VirtualTime.after(port.now, picoseconds < Double(never) ? Int64(picoseconds) : never)
        guard port.run(self, deadline: deadline) else {
            throw AggregationError("allreduce did not finish within \(seconds) s (is the switch running switchml with this job configured, and reachable?)")
        }
    }
}

/// The system's close(2), out of reach of `UDPAggregationPort.close()` inside the type.
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }
