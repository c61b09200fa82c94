// Every libpcap call of Sluice is in this file: live capture handles, injection handles, the
// interface list and the signal handler that breaks capture loops. The C module is imported
// internally, so no libpcap type leaks out of SluicePcap.
internal import CPcap
internal import CSockets
import Synchronization
import SluicePcapFiles
import SluiceSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A libpcap failure on an interface: what was being done, libpcap's own words (`pcap_geterr`
/// or its error buffer) and what to do about it.
public struct LibpcapError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case noSuchInterface, permissionDenied, interfaceDown, badFilter, sendFailed, other
    }
    public let kind: Kind
    public let interface: String
    /// The libpcap function that failed.
    public let operation: String
    /// libpcap's message.
    public let message: String
    /// What to do, when there is something to say.
    public let hint: String?

    public var description: String {
        var s = "interface '\(interface)': \(operation): \(message)"
        if let hint { s += "; " + hint }
        return s
    }
}

/// Link-layer, buffering and filtering settings of a live capture.
public struct CaptureOptions: Sendable {
    /// Bytes kept of each packet (tcpdump's default, 262144, keeps whole frames).
    public var snaplen = 262_144
    public var promiscuous = true
    /// Deliver each packet as it arrives instead of when a kernel buffer block fills.
    public var immediate = true
    /// Longest wait of one `dispatch` call without packets (so callers can check deadlines).
    public var timeoutMilliseconds: Int32 = 100
    /// Kernel ring size in bytes; nil: libpcap's default (2 MiB).
    public var bufferSize: Int? = nil
    /// Which packets: those the interface receives, those sent through it, or both.
    public enum Direction: Sendable { case inbound, outbound, both }
    public var direction = Direction.inbound
    /// Capture only packets the interface receives, not the ones sent through it.
    public var inboundOnly: Bool {
        get { direction == .inbound }
        set { direction = newValue ? .inbound : .both }
    }
    /// A pcap-filter(7) expression, e.g. "udp port 4791".
    public var filter: String? = nil
    public init() {}
}

/// The packet interfaces libpcap can open (`pcap_findalldevs`), by name.
public func captureInterfaces() -> [String] {
    var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
    var all: UnsafeMutablePointer<pcap_if_t>?
    guard pcap_findalldevs(&all, &errbuf) == 0 else { return [] }
    defer { pcap_freealldevs(all) }
    var names: [String] = []
    var d = all
    while let dev = d {
        names.append(String(cString: dev.pointee.name))
        d = dev.pointee.next
    }
    return names
}

/// libpcap's version string, e.g. "libpcap version 1.10.3 (with TPACKET_V3)".
public var libpcapVersion: String { String(cString: pcap_lib_version()) }

/// A live capture on one interface (`pcap_create` ... `pcap_activate`). Closes itself.
public final class LiveCapture {
    let handle: OpaquePointer
    public let interface: String
    /// LINKTYPE_ of the interface's frames (1: Ethernet).
    public let linkType: UInt32
    public let snaplen: Int
    /// Whether the kernel gives nanosecond stamps (else microseconds, widened).
    public let nanosecondStamps: Bool
    /// Warnings from activation (e.g. promiscuous mode not supported).
    public private(set) var warnings: [String] = []
    /// The descriptor to poll for readability (`pcap_get_selectable_fd`).
    public let descriptor: Int32
    /// The kernel's block timeout: a partly filled block reaches user space after this long.
    public let timeoutMilliseconds: Int32

    public init(interface: String, options: CaptureOptions = CaptureOptions()) throws(LibpcapError) {
        // Everything that can fail happens before `self` owns the handle, so a failure closes
        // it exactly once (here) and a success exactly once (deinit).
        let p = try createHandle(interface)
        var warning: String?
        var fd: Int32 = -1
        do throws(LibpcapError) {
            _ = pcap_set_snaplen(p, Int32(clamping: options.snaplen))
            _ = pcap_set_promisc(p, options.promiscuous ? 1 : 0)
            _ = pcap_set_immediate_mode(p, options.immediate ? 1 : 0)
            _ = pcap_set_timeout(p, options.timeoutMilliseconds)
            if let size = options.bufferSize { _ = pcap_set_buffer_size(p, Int32(clamping: size)) }
            _ = pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO)
            warning = try activate(p, interface)
            if options.direction != .both {
                let (d, name) = options.direction == .inbound ? (PCAP_D_IN, "PCAP_D_IN") : (PCAP_D_OUT, "PCAP_D_OUT")
                if pcap_setdirection(p, d) != 0 {
                    throw LibpcapError(kind: .other, interface: interface, operation: "pcap_setdirection(\(name))",
                                       message: String(cString: pcap_geterr(p)), hint: "this interface cannot capture one direction only; try capturing both directions")
                }
            }
            if let f = options.filter { try setFilter(p, interface, f) }
            // Reads never block: `waitForPackets` polls the descriptor with a timeout instead,
            // because a blocked read in block mode (TPACKET_V3) may never wake without traffic.
            var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
            fd = pcap_get_selectable_fd(p)
            if fd < 0 || pcap_setnonblock(p, 1, &errbuf) != 0 {
                throw LibpcapError(kind: .other, interface: interface, operation: "pcap_setnonblock",
                                   message: fd < 0 ? "no selectable descriptor" : String(cString: errbuf), hint: nil)
            }
        } catch {
            pcap_close(p)
            throw error
        }
        handle = p
        descriptor = fd
        timeoutMilliseconds = max(options.timeoutMilliseconds, 1)
        self.interface = interface
        snaplen = options.snaplen
        nanosecondStamps = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO
        linkType = UInt32(bitPattern: pcap_datalink(p))
        if let warning { warnings.append(warning) }
    }

    deinit {
        StopSignal.forget(handle)
        pcap_close(handle)
    }

    /// Delivers the packets available now, at most `limit` (0: no limit), without waiting.
    /// Returns how many, or nil when `breakLoop` (or a stop signal) ended the call. `body` sees
    /// each packet once; its bytes are valid only inside the call.
    public func dispatch(limit: Int = 0, _ body: (PcapPacket) -> Void) throws(LibpcapError) -> Int? {
        var n: Int32 = 0
        withoutActuallyEscaping(body) { escapable in
            var context = DispatchContext(body: escapable, nanosecondStamps: nanosecondStamps, linkType: linkType)
            n = withUnsafeMutablePointer(to: &context) { ctx in
                pcap_dispatch(handle, Int32(clamping: limit <= 0 ? -1 : limit), dispatchCallback,
                              UnsafeMutableRawPointer(ctx).assumingMemoryBound(to: UInt8.self))
            }
        }
        if n == PCAP_ERROR_BREAK { return nil }
        if n < 0 {
            throw LibpcapError(kind: .other, interface: interface, operation: "pcap_dispatch", message: String(cString: pcap_geterr(handle)), hint: nil)
        }
        return Int(n)
    }

    /// Waits up to `milliseconds` for packets to read. False on timeout (or a signal).
    public func waitForPackets(milliseconds: Int32) -> Bool {
        var p = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, milliseconds) > 0
    }

    /// Why `capture` returned.
    public enum Stop: Equatable, Sendable { case count, deadline, signal }

    /// Captures until `count` packets (nil: no limit), until `deadline` (CLOCK_MONOTONIC
    /// nanoseconds) or until a stop signal (`StopSignal`). After a deadline or a signal, the
    /// packets the kernel had already captured are delivered too (see `drain`). `between` runs
    /// after every batch and at least once per block timeout when nothing comes (a writer
    /// flushes there on its own schedule, with or without traffic).
    public func capture(count: Int? = nil, deadline: Int64? = nil, between: () -> Void = {},
                        _ body: (PcapPacket) -> Void) throws(LibpcapError) -> Stop {
        var delivered = 0
        func remaining() -> Int { count.map { $0 - delivered } ?? 0 }
        while true {
            if let c = count, delivered >= c { return .count }
            if StopSignal.requested != nil {
                delivered += try drain(limit: remaining(), body)
                return count.map { delivered >= $0 } == true ? .count : .signal
            }
            var wait = timeoutMilliseconds
            if let d = deadline {
                let left = d - MonotonicClock.nanoseconds
                if left <= 0 {
                    delivered += try drain(limit: remaining(), body)
                    return count.map { delivered >= $0 } == true ? .count : .deadline
                }
                wait = Int32(min(Int64(wait), left / 1_000_000 + 1))
            }
            guard let n = try dispatch(limit: remaining(), body) else { continue }
            delivered += n
            between()
            if n == 0 { _ = waitForPackets(milliseconds: wait) }
        }
    }

    /// Delivers the packets the kernel has already captured, after a stop, so that none is
    /// lost: reads until nothing more comes within the block timeout (the kernel hands over a
    /// partly filled block when it expires), or for at most `within` nanoseconds, or `limit`
    /// packets (0: no limit). Returns how many were delivered.
    public func drain(limit: Int = 0, within: Int64 = 1_000_000_000, _ body: (PcapPacket) -> Void) throws(LibpcapError) -> Int {
        let end = MonotonicClock.nanoseconds + within
        var total = 0, breaks = 0
        while (limit <= 0 || total < limit) && MonotonicClock.nanoseconds < end {
            // A break requested earlier ends the first call at once; the next one reads.
            guard let n = try dispatch(limit: limit <= 0 ? 0 : limit - total, body) else {
                breaks += 1
                if breaks > 3 { break }
                continue
            }
            total += n
            if n == 0 && !waitForPackets(milliseconds: timeoutMilliseconds + 50) { break }
        }
        return total
    }

    /// Ends the current (or next) `dispatch` call early. Safe from a signal handler.
    public func breakLoop() { pcap_breakloop(handle) }

    /// Counters from `pcap_stats`: packets the kernel saw (after the filter), dropped for lack
    /// of buffer space, and dropped by the interface.
    public func statistics() -> (received: UInt64, dropped: UInt64, interfaceDropped: UInt64)? {
        var s = pcap_stat()
        guard pcap_stats(handle, &s) == 0 else { return nil }
        return (UInt64(s.ps_recv), UInt64(s.ps_drop), UInt64(s.ps_ifdrop))
    }

    /// Makes `StopSignal` break this capture's loop when SIGINT, SIGTERM or SIGHUP arrives.
    public func stopOnSignal() { StopSignal.add(handle) }
}

/// What the C callback of `pcap_dispatch` needs, on the caller's stack.
private struct DispatchContext {
    var body: (PcapPacket) -> Void
    var nanosecondStamps: Bool
    var linkType: UInt32
}

private let dispatchCallback: pcap_handler = { user, header, bytes in
    guard let user, let header, let bytes else { return }
    let ctx = UnsafeMutableRawPointer(user).assumingMemoryBound(to: DispatchContext.self)
    let h = header.pointee
    let fraction = Int64(h.ts.tv_usec) * (ctx.pointee.nanosecondStamps ? 1 : 1000)
    ctx.pointee.body(PcapPacket(timestamp: Int64(h.ts.tv_sec) &* 1_000_000_000 &+ fraction,
                                bytes: UnsafeRawBufferPointer(start: bytes, count: Int(h.caplen)),
                                originalLength: Int(h.len), interface: 0, linkType: ctx.pointee.linkType, offset: 0))
}

/// A handle that only sends (`pcap_inject`). It captures nothing: a kernel filter rejects every
/// packet, so the kernel never copies received traffic to it.
public final class Injector {
    let handle: OpaquePointer
    public let interface: String

    public init(interface: String) throws(LibpcapError) {
        let p = try createHandle(interface)
        do throws(LibpcapError) {
            _ = pcap_set_snaplen(p, 64)
            _ = pcap_set_promisc(p, 0)
            _ = pcap_set_immediate_mode(p, 1)
            _ = pcap_set_buffer_size(p, 1 << 16)
            _ = try activate(p, interface)
            _ = pcap_setdirection(p, PCAP_D_IN)
            // One classic BPF instruction: return 0 (accept no bytes of any packet).
            var reject = bpf_insn(code: UInt16(BPF_RET | BPF_K), jt: 0, jf: 0, k: 0)
            let status = withUnsafeMutablePointer(to: &reject) { insn -> Int32 in
                var program = bpf_program(bf_len: 1, bf_insns: insn)
                return pcap_setfilter(p, &program)
            }
            if status != 0 {
                throw LibpcapError(kind: .other, interface: interface, operation: "pcap_setfilter", message: String(cString: pcap_geterr(p)), hint: nil)
            }
        } catch {
            pcap_close(p)
            throw error
        }
        handle = p
        self.interface = interface
    }

    deinit {
        pcap_close(handle)
        frames.deallocate()
        lengths.deallocate()
    }

    /// Most frames `injectBatch` takes at once.
    public static let batchLimit = Int(SLUICE_BATCH_MAX)
    /// The batch's frame pointers and lengths, made once.
    let frames = UnsafeMutablePointer<UnsafeRawPointer?>.allocate(capacity: Injector.batchLimit)
    let lengths = UnsafeMutablePointer<Int>.allocate(capacity: Injector.batchLimit)

    /// Sends up to `batchLimit` frames (`frame(i)` for `i` in `0..<count`) with one
    /// `sendmmsg` on the handle's packet socket: what `pcap_inject` does per frame (a `send`
    /// on the socket bound to the interface), one system call for all of them. Returns how
    /// many the kernel took (from the first, in order) and, when that is fewer than `count`,
    /// the `errno` that stopped it at the next one (ENOBUFS: the queue is full, try again).
    @inline(__always)
    public func injectBatch(count: Int, _ frame: (Int) -> (UnsafeRawPointer, Int)) -> (sent: Int, error: Int32) {
        let n = min(count, Injector.batchLimit)
        for i in 0..<n {
            let (p, len) = frame(i)
            frames[i] = p
            lengths[i] = len
        }
        let fd = pcap_fileno(handle)
        let r = Int(sluice_send_batch(fd, nil, 0, frames, lengths, UInt32(n)))
        if r < 0 { let e = errno; return (0, e == 0 ? EIO : e) }
        if r == n { return (n, 0) }
        // The kernel stopped early; the next frame's own send says why.
        if send(fd, frames[r], lengths[r], 0) >= 0 { return (r + 1, 0) }
        let e = errno
        return (r, e == 0 ? EIO : e)
    }

    /// Sends one frame. Returns 0, or the `errno` of the failed send (ENOBUFS when the
    /// interface's queue is full: try again).
    @inline(__always)
    public func inject(_ frame: UnsafeRawPointer, count: Int) -> Int32 {
        if pcap_inject(handle, frame, count) >= 0 { return 0 }
        let e = errno
        return e == 0 ? EIO : e
    }

    /// libpcap's message for the last failed `inject`.
    public var lastError: String { String(cString: pcap_geterr(handle)) }
}

/// `pcap_create`.
private func createHandle(_ interface: String) throws(LibpcapError) -> OpaquePointer {
    var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
    guard let p = pcap_create(interface, &errbuf) else {
        throw LibpcapError(kind: .other, interface: interface, operation: "pcap_create", message: String(cString: errbuf), hint: nil)
    }
    return p
}

/// `pcap_activate`, with errors that say what to do. Returns a warning, if libpcap gave one.
private func activate(_ p: OpaquePointer, _ interface: String) throws(LibpcapError) -> String? {
    let status = pcap_activate(p)
    if status == 0 { return nil }
    let detail = String(cString: pcap_geterr(p))
    let statusText = String(cString: pcap_statustostr(status))
    let message = detail.isEmpty ? statusText : detail
    if status > 0 { return "\(statusText): \(detail)" }
    switch status {
    case PCAP_ERROR_NO_SUCH_DEVICE:
        let names = captureInterfaces()
        throw LibpcapError(kind: .noSuchInterface, interface: interface, operation: "pcap_activate", message: message,
                           hint: "no interface named '\(interface)'; available: \(names.isEmpty ? "none visible (are you root?)" : names.joined(separator: ", "))")
    case PCAP_ERROR_PERM_DENIED, PCAP_ERROR_PROMISC_PERM_DENIED:
        throw LibpcapError(kind: .permissionDenied, interface: interface, operation: "pcap_activate", message: message,
                           hint: "capturing and sending need root or CAP_NET_RAW: run as root (sudo), or grant the capability once with `sudo setcap cap_net_raw,cap_net_admin=eip $(command -v sluice)`")
    case PCAP_ERROR_IFACE_NOT_UP:
        throw LibpcapError(kind: .interfaceDown, interface: interface, operation: "pcap_activate", message: message,
                           hint: "bring it up first: ip link set \(interface) up")
    default:
        throw LibpcapError(kind: .other, interface: interface, operation: "pcap_activate", message: message, hint: nil)
    }
}

/// `pcap_compile` + `pcap_setfilter`.
private func setFilter(_ p: OpaquePointer, _ interface: String, _ expression: String) throws(LibpcapError) {
    var program = bpf_program()
    guard pcap_compile(p, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
        throw LibpcapError(kind: .badFilter, interface: interface, operation: "pcap_compile",
                           message: "filter '\(expression)': \(String(cString: pcap_geterr(p)))",
                           hint: "the filter syntax is tcpdump's (man 7 pcap-filter), e.g. 'udp port 4791' or 'ether src 02:00:00:00:00:01'")
    }
    defer { pcap_freecode(&program) }
    guard pcap_setfilter(p, &program) == 0 else {
        throw LibpcapError(kind: .badFilter, interface: interface, operation: "pcap_setfilter",
                           message: "filter '\(expression)': \(String(cString: pcap_geterr(p)))", hint: nil)
    }
}

/// SIGINT and SIGTERM as a request to stop: the handler records the signal and breaks the loop
/// of every capture registered with `LiveCapture.stopOnSignal()`, so a capture loop returns,
/// and the caller flushes and closes its files. A second signal of the same kind terminates the
/// process as usual (the handler is installed with SA_RESETHAND).
public enum StopSignal {
    static let slots = 16
    /// Handles whose loops a signal breaks; written only outside the handler.
    nonisolated(unsafe) static let targets: UnsafeMutablePointer<OpaquePointer?> = {
        let p = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: slots)
        p.initialize(repeating: nil, count: slots)
        return p
    }()
    static let received = Atomic<Int32>(0)

    /// Installs the handlers (idempotent) and clears an earlier request.
    public static func install() {
        _ = targets
        received.store(0, ordering: .relaxed)
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = stopSignalHandler
        #else
        action.sa_handler = stopSignalHandler
        #endif
        action.sa_flags = Int32(bitPattern: UInt32(truncatingIfNeeded: SA_RESETHAND))
        sigemptyset(&action.sa_mask)
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        // A closed terminal (SIGHUP) stops like Ctrl-C: its default action would kill the
        // process and leave what it attached in the kernel.
        sigaction(SIGHUP, &action, nil)
        // A parent may have started us with these blocked (threads of libdispatch block every
        // signal, and spawned children inherit the mask): unblock them, or Ctrl-C never arrives.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGHUP)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// The signal that asked to stop, or nil.
    public static var requested: Int32? {
        let s = received.load(ordering: .relaxed)
        return s == 0 ? nil : s
    }

    /// Records a stop request as if a signal had come (tests and time limits).
    public static func request(_ signal: Int32 = SIGTERM) {
        received.store(signal, ordering: .relaxed)
        for i in 0..<slots { if let p = targets[i] { pcap_breakloop(p) } }
    }

    static func add(_ handle: OpaquePointer) {
        _ = targets
        for i in 0..<slots where targets[i] == nil { targets[i] = handle; return }
    }

    static func forget(_ handle: OpaquePointer) {
        for i in 0..<slots where targets[i] == handle { targets[i] = nil }
    }
}

private func stopSignalHandler(_ signal: Int32) {
    StopSignal.received.store(signal, ordering: .relaxed)
    for i in 0..<StopSignal.slots { if let p = StopSignal.targets[i] { pcap_breakloop(p) } }
}
