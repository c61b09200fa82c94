import CSockets
import Foundation
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceSupport
#if canImport(Glibc)
import Glibc
#endif

/// The `switchml` program run by the software runtime behind one UDP socket: the user-space
/// aggregator (`sluice aggregator --backend socket`), the baseline the XDP aggregator is
/// compared with, and the switch of the worker library's socket tests.
///
/// A datagram from worker w (known by its source address and port) enters switch port w + 1,
/// framed as an Ethernet/IPv4/UDP packet from the worker to the service address; every copy
/// the program sends out of port p + 1 goes back to worker p as a datagram (the program's
/// egress rewrite decides the contents; the socket decides the address).
///
/// Datagrams are received up to 32 at a time (`recvmmsg`) and the replies to a batch leave
/// together (`sendmmsg`), as the workers' own sockets batch.
public final class SocketAggregator: @unchecked Sendable {
    public struct Member: Hashable, Sendable {
        public var ip: UInt32
        public var port: UInt16
        public init(ip: UInt32, port: UInt16) { self.ip = ip; self.port = port }
    }

    let fd: Int32
    let pipeline: Pipeline
    public let members: [Member]
    /// Drop every `dropEvery`-th update on arrival (0: none), to exercise retransmission.
    let dropEvery: Int
    let stopFlag = NSLock()
    var stopped = false
    public private(set) var updates = 0
    public private(set) var sent = 0
    /// Datagrams from addresses that are not the job's members: ignored, and not activity.
    public private(set) var foreign = 0
    /// Clear the slots (`SwitchML.clearSlots`) after this long without an update from a member,
    /// when any came since the last clearing; nil: never. Workers of a running job retransmit within 100 ms.
    public var idleReset: Int64? = 2_000_000_000
    /// Times the slots were cleared for being idle.
    public private(set) var idleResets = 0

    /// The service port workers send to (the program's job port).
    public static let servicePort: UInt16 = SwitchMLFormat.ports.lowerBound + 1

    /// Bind `ip`:`port` (0.0.0.0 for every address; 0 for any port) for `workers`, running
    /// `switchml` with k values a packet and `slots` pool slots for job 1; or `program`, a
    /// program with switchml's tables and headers (a program file, a user's variant), whose
    /// values a packet `k` must equal.
    public init(ip: UInt32 = 0, port: UInt16 = SocketAggregator.servicePort, workers: [Member], elementsPerPacket k: Int = 64,
                slots: Int = 64, dropEvery: Int = 0, program: VerifiedProgram? = nil) throws {
        guard (1...32).contains(workers.count) else { throw AggregationError("\(workers.count) workers (valid: 1 ... 32)") }
        guard Set(workers).count == workers.count else { throw AggregationError("a worker address is given twice (valid: one address:port per worker)") }
        guard SwitchML.sizeCode(elements: k) != nil else { throw AggregationError("\(k) values a packet (valid: 32, 64, 128, 256)") }
        guard (1...0x4000).contains(slots) else { throw AggregationError("\(slots) pool slots (valid: 1 ... 16384)") }
        if let program {
            guard let pool = SwitchML.poolSlots(of: program.program), let own = SwitchML.elementsPerPacket(of: program.program) else {
                throw AggregationError("program '\(program.program.name)' lacks switchml's tables, registers or values header (valid: switchml, or a program with its control-plane interface)")
            }
            guard own == k else { throw AggregationError("program '\(program.program.name)' carries \(own) values a packet, not \(k)") }
            guard slots <= pool else { throw AggregationError("\(slots) pool slots (valid: 1 ... \(pool), the pool of '\(program.program.name)')") }
        }
        pipeline = try Pipeline(try program ?? SwitchML.program(k: k, slots: max(slots, 64)).verified())
        members = workers
        // Inside the program worker w is 10.0.0.(w + 1) (the program tells workers apart by
        // source address; real ones may share one, on loopback); replies go to the real address.
        let ms = workers.enumerated().map { w, m in
            SwitchML.Worker(ip: Self.programIP(w), mac: 0x0200_0000_0001 + UInt64(w), udpPort: m.port, switchPort: UInt16(w + 1))
        }
        try SwitchML.install(SwitchML.Job(job: 1, udpPort: Self.servicePort, slotBase: 0, slots: slots, group: 2, workers: ms), into: pipeline)
        self.dropEvery = dropEvery
        let s: Int32
        do { s = try UDPSocket.bound(ip, port, hint: "is another aggregator running there?") } catch { throw AggregationError(error.description) }
        var big: Int32 = 8 << 20
        _ = setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, socklen_t(MemoryLayout<Int32>.size))
        fd = s
    }

    deinit { close(fd) }

    /// The port the socket is bound to.
    public var port: UInt16 { UDPSocket.localPort(fd) }

    public func stop() { stopFlag.withLock { stopped = true } }

    /// Datagrams a system call receives, and most replies one sends.
    static let batch = 32
    /// Room for a datagram behind its 42 bytes of frame headers.
    static let slotBytes = 4096

    /// Serve until `stop()` (from another thread) or `shouldStop` says so (checked every 20 ms).
    public func serve(shouldStop: () -> Bool = { false }) {
        let n = Self.batch, slot = Self.slotBytes
        let inBuf = UnsafeMutableRawPointer.allocate(byteCount: n * slot, alignment: 8)
        let outBuf = UnsafeMutableRawPointer.allocate(byteCount: n * slot, alignment: 8)
        let from = UnsafeMutablePointer<sockaddr_in>.allocate(capacity: n)
        let to = UnsafeMutablePointer<sockaddr_in>.allocate(capacity: n)
        defer { inBuf.deallocate(); outBuf.deallocate(); from.deallocate(); to.deallocate() }
        // Datagram i lands 42 bytes into its slot, behind the frame headers written for it.
        let inPointers: [UnsafeMutableRawPointer?] = (0..<n).map { inBuf + $0 * slot + 42 }
        let outPointers: [UnsafeRawPointer?] = (0..<n).map { UnsafeRawPointer(outBuf + $0 * slot) }
        var inLengths = [Int](repeating: 0, count: n), outLengths = [Int](repeating: 0, count: n)
        var queued = 0
        func flush() {
            var done = 0
            while done < queued {
                let r = outPointers.withUnsafeBufferPointer { p in
                    outLengths.withUnsafeBufferPointer { l in
                        Int(sluice_send_batch_to(fd, to + done, UInt32(MemoryLayout<sockaddr_in>.size), p.baseAddress! + done, l.baseAddress! + done, UInt32(queued - done)))
                    }
                }
                done += max(r, 1)   // a refused reply is skipped: the worker retransmits
            }
            queued = 0
        }
        let frame = PacketBuffer()
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        // The frame around a datagram: Ethernet, IPv4 and UDP headers written per datagram.
        var header = [UInt8](repeating: 0, count: 42)
        var lastUpdate = MonotonicClock.nanoseconds, dirty = false
        while !stopFlag.withLock({ stopped }) && !shouldStop() {
            guard poll(&pfd, 1, 20) > 0 else {
                if dirty, let idle = idleReset, MonotonicClock.nanoseconds - lastUpdate >= idle {
                    try? SwitchML.clearSlots(pipeline)
                    dirty = false
                    idleResets += 1
                }
                continue
            }
            while true {
                let got = inPointers.withUnsafeBufferPointer { p in
                    inLengths.withUnsafeMutableBufferPointer { l in
                        Int(sluice_recv_batch(fd, p.baseAddress!, slot - 42, l.baseAddress!, from, UInt32(MemoryLayout<sockaddr_in>.size), UInt32(n)))
                    }
                }
                if got <= 0 { break }
                for d in 0..<got {
                    let src = Member(ip: UInt32(bigEndian: from[d].sin_addr.s_addr), port: UInt16(bigEndian: from[d].sin_port))
                    // Only the job's members count as activity: junk from anyone else must not
                    // keep half-done rounds alive past --idle-reset.
                    guard let w = members.firstIndex(of: src) else { foreign += 1; continue }
                    lastUpdate = MonotonicClock.nanoseconds
                    dirty = true
                    updates += 1
                    if dropEvery > 0 && updates % dropEvery == 0 { continue }
                    let datagram = inBuf + d * slot, length = min(inLengths[d], slot - 42)
                    Self.frameHeader(&header, worker: w, src: src, payload: length)
                    header.withUnsafeBytes { datagram.copyMemory(from: $0.baseAddress!, byteCount: 42) }
                    frame.load(UnsafeRawBufferPointer(start: datagram, count: 42 + length))
                    pipeline.process(frame, port: UInt16(w + 1))
                    for i in 0..<pipeline.outputCount {
                        let p = Int(pipeline.outputPort(i)) - 1
                        guard p >= 0 && p < members.count else { continue }
                        // The datagram is the packet after its 42 bytes of headers.
                        let out = pipeline.outputBytes(i)
                        let length = out.count - 42
                        guard length > 0 && length <= slot else { continue }
                        if queued == n { flush() }
                        (outBuf + queued * slot).copyMemory(from: out.baseAddress! + 42, byteCount: length)
                        outLengths[queued] = length
                        to[queued] = UDPSocket.address(members[p].ip, members[p].port)
                        queued += 1
                        sent += 1
                    }
                }
                flush()
                if got < n { break }
            }
        }
    }

    static func programIP(_ w: Int) -> UInt32 { 0x0A00_0001 + UInt32(w) }

    /// Ethernet (worker's MAC to the switch), IPv4 (worker -> 10.255.255.1, checksum valid),
    /// UDP (worker's port -> the service port, no checksum) for a payload of `payload` bytes.
    static func frameHeader(_ h: inout [UInt8], worker w: Int, src: Member, payload: Int) {
        let mac = 0x0200_0000_0001 + UInt64(w)
        h[0] = 0x02; h[1] = 0; h[2] = 0; h[3] = 0; h[4] = 0xFF; h[5] = 0x01
        for i in 0..<6 { h[6 + i] = UInt8(truncatingIfNeeded: mac >> UInt64(8 * (5 - i))) }
        h[12] = 0x08; h[13] = 0x00
        let ipLen = 20 + 8 + payload
        let dst: UInt32 = 0x0AFF_FF01, from = programIP(w)
        // IPv4: version/ihl, tos, length, id 0, DF, TTL 64, UDP, checksum, source, destination.
        h[14] = 0x45; h[15] = 0; h[16] = UInt8(ipLen >> 8); h[17] = UInt8(ipLen & 0xFF)
        h[18] = 0; h[19] = 0; h[20] = 0x40; h[21] = 0; h[22] = 64; h[23] = 17; h[24] = 0; h[25] = 0
        for i in 0..<4 {
            h[26 + i] = UInt8(truncatingIfNeeded: from >> UInt32(24 - 8 * i))
            h[30 + i] = UInt8(truncatingIfNeeded: dst >> UInt32(24 - 8 * i))
        }
        let c = ~h.withUnsafeBytes { InternetChecksum.fold(InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: $0[14..<34]))) }
        h[24] = UInt8(c >> 8); h[25] = UInt8(c & 0xFF)
        let udpLen = 8 + payload
        h[34] = UInt8(src.port >> 8); h[35] = UInt8(src.port & 0xFF)
        h[36] = UInt8(servicePort >> 8); h[37] = UInt8(servicePort & 0xFF)
        h[38] = UInt8(udpLen >> 8); h[39] = UInt8(udpLen & 0xFF); h[40] = 0; h[41] = 0
    }

    /// Program counters, for diagnostics.
    public var pipelineStats: String { "\(pipeline.stats)" }
}
