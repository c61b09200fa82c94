import SluiceIR
import SluiceControlPlane
import SluicePcapFiles
import SluiceRuntime
import SluiceSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A software switch on real interfaces (`sluice attach`'s pcap backend): every port is a live
/// capture of the packets its interface receives; the pipeline runs on each, stamped with its
/// capture time; what it sends to a port is injected on that port's interface.
///
/// The program may come later and change while packets flow (`SwitchTarget`, for the P4Runtime
/// server): `run` holds `lock` while it runs a round of packets, and `install`, `withControlPlane`
/// and `inject` hold it too, so tables change only between rounds.
public final class PcapSwitch: @unchecked Sendable {
    /// Per port: what came in and went out (named as `sluice attach --json` prints them).
    public struct PortCounters: Codable, Sendable {
        public var port: UInt16
        public var interface: String
        public var rx_packets: UInt64 = 0, rx_bytes: UInt64 = 0
        public var tx_packets: UInt64 = 0, tx_bytes: UInt64 = 0, tx_errors: UInt64 = 0
        public var kernel_dropped: UInt64 = 0
        public init(port: UInt16, interface: String) { self.port = port; self.interface = interface }
    }

    /// The running program; nil until a front end installs one. Changed only under `lock`.
    @exclusivity(unchecked) public private(set) var pipeline: Pipeline?
    /// Held by the packet loop for each round over the ports and by every `SwitchTarget` call.
    public let lock = SwitchLock()
    /// The switch port of each capture and injector, in order.
    let portNumbers: [UInt16]
    @exclusivity(unchecked) var controller: (any ProgramController)?
    /// Packets that arrived while no program ran.
    @exclusivity(unchecked) public private(set) var noProgramDrops: UInt64 = 0
    /// Packets the program sends to this port go to `packetIn` instead of an interface.
    public let cpuPort: UInt16?
    /// Receives what the program sends to `cpuPort` (with the lock held: copy and return).
    @exclusivity(unchecked) public var packetIn: ((UnsafeRawBufferPointer) -> Void)?
    let captures: [LiveCapture]
    let injectors: [Injector]
    /// Output port -> injector index, flat (no dictionary per packet); -1 for no interface.
    var injectorOf = [Int](repeating: -1, count: 512)
    // Counters, written only by `run`'s thread: no dynamic exclusivity checks per packet.
    @exclusivity(unchecked) var portCounters: [PortCounters]
    let buffer = PacketBuffer()
    /// Packets the program sent to a port with no interface.
    @exclusivity(unchecked) public private(set) var noInterfaceDrops: UInt64 = 0
    /// Packets larger than a packet buffer.
    @exclusivity(unchecked) public private(set) var oversizeDrops: UInt64 = 0

    /// Opens a capture (inbound only, immediate) and an injector on every port's interface
    /// (`number` 0...511). The pipeline's tables are the caller's to fill; `controller` gets the
    /// digests.
    public init(pipeline: Pipeline?, controller: (any ProgramController)?,
                ports: [(number: UInt16, interface: String)], cpuPort: UInt16? = nil) throws(LibpcapError) {
        self.pipeline = pipeline
        self.controller = controller
        self.cpuPort = cpuPort
        portNumbers = ports.map(\.number)
        var options = CaptureOptions()
        options.inboundOnly = true
        options.immediate = true
        options.timeoutMilliseconds = 50
        var captures: [LiveCapture] = [], injectors: [Injector] = []
        for p in ports {
            captures.append(try LiveCapture(interface: p.interface, options: options))
            injectors.append(try Injector(interface: p.interface))
        }
        self.captures = captures
        self.injectors = injectors
        for (i, p) in ports.enumerated() { injectorOf[Int(p.number)] = i }
        portCounters = ports.map { PortCounters(port: $0.number, interface: $0.interface) }
    }

    /// What libpcap said about the captures it opened, each prefixed by its interface.
    public var warnings: [String] { captures.flatMap { c in c.warnings.map { "\(c.interface): \($0)" } } }

    /// Makes a stop signal (`StopSignal`, installed by the caller) break the captures' waits.
    public func stopOnSignal() { for c in captures { c.stopOnSignal() } }

    /// The counters of every port, with what the kernel dropped before libpcap read it.
    public var counters: [PortCounters] {
        var counters = portCounters
        for (i, c) in captures.enumerated() { counters[i].kernel_dropped = c.statistics()?.dropped ?? 0 }
        return counters
    }

    /// Receives, processes and injects until a stop signal or `deadline` (a `MonotonicClock`
    /// reading), calling `between` after each round over the ports; then forwards what the
    /// kernel already captured. Throws a capture's failure once that is done.
    public func run(until deadline: Int64?, between: () -> Void = {}) throws(LibpcapError) {
        var fds = captures.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        var failure: LibpcapError?
        loop: while StopSignal.requested == nil {
            var wait: Int32 = 100
            if let d = deadline {
                let left = d - MonotonicClock.nanoseconds
                if left <= 0 { break loop }
                wait = Int32(min(100, left / 1_000_000 + 1))
            }
            _ = poll(&fds, nfds_t(fds.count), wait)
            let interrupted: Bool = lock.withLock {
                for i in captures.indices {
                    do throws(LibpcapError) {
                        // Non-blocking: at most a batch per port, so a busy port cannot starve the others.
                        guard try captures[i].dispatch(limit: 512, { handle($0, i) }) != nil else { return true }
                    } catch {
                        failure = error
                        return true
                    }
                }
                return false
            }
            if failure != nil { break loop }
            if interrupted { continue loop }
            between()
        }
        // What the kernel already captured is still forwarded.
        lock.withLock {
            for i in captures.indices { _ = try? captures[i].drain(limit: 0, within: 200_000_000) { handle($0, i) } }
        }
        if let failure { throw failure }
    }

    /// One received packet: through the pipeline, digests to the controller, the outputs injected.
    func handle(_ packet: PcapPacket, _ i: Int) {
        portCounters[i].rx_packets += 1
        portCounters[i].rx_bytes += UInt64(packet.bytes.count)
        guard let pipeline else { noProgramDrops += 1; return }
        guard buffer.load(packet.bytes) else { oversizeDrops += 1; return }
        pipeline.process(buffer, port: portNumbers[i], timestamp: UInt64(max(packet.timestamp, 0)))
        forwardOutputs(pipeline)
    }

    /// Digests to the controller, then every output injected on its port's interface (or handed
    /// to `packetIn` for the CPU port).
    func forwardOutputs(_ pipeline: Pipeline) {
        if let controller {
            let digests = pipeline.drainDigests()
            if !digests.isEmpty { try? controller.handle(digests, pipeline) }
        }
        for o in 0..<pipeline.outputCount {
            let port = pipeline.outputPort(o), out = pipeline.outputBytes(o)
            if port == cpuPort, let packetIn {
                packetIn(out)
                continue
            }
            let j = Int(port) < 512 ? injectorOf[Int(port)] : -1
            guard j >= 0 else { noInterfaceDrops += 1; continue }
            var status = injectors[j].inject(out.baseAddress!, count: out.count)
            // A full interface queue: give it a moment, then count the frame as lost.
            var tries = 0
            while status == ENOBUFS && tries < 100 { usleep(10); tries += 1; status = injectors[j].inject(out.baseAddress!, count: out.count) }
            if status == 0 {
                portCounters[j].tx_packets += 1
                portCounters[j].tx_bytes += UInt64(out.count)
            } else {
                portCounters[j].tx_errors += 1
            }
        }
    }
}

extension PcapSwitch: SwitchTarget {
    public func check(_ program: VerifiedProgram) throws { _ = try Pipeline(program) }

    public func install(_ program: VerifiedProgram, seed: UInt64) throws {
        let p = try Pipeline(program, seed: seed)
        lock.withLock { pipeline = p }
    }

    public func withControlPlane<R>(_ body: (any ControlPlane) throws -> R) throws -> R? {
        try lock.withLock { () throws -> R? in try pipeline.map(body) }
    }

    /// `run` holds `lock` for each round of packets, as `withControlPlane` does for its body.
    public var dataplaneAtomic: Bool { true }

    public func inject(_ bytes: [UInt8], port: UInt16) -> Bool {
        lock.withLock {
            guard let pipeline else { return false }
            guard buffer.load(bytes) else { oversizeDrops += 1; return true }
            pipeline.process(buffer, port: port, timestamp: UInt64(max(MonotonicClock.nanoseconds, 0)))
            forwardOutputs(pipeline)
            return true
        }
    }
}
