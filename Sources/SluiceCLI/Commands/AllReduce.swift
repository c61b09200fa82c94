import SluiceControlPlane
import ArgumentParser
import Foundation
import SluiceML
import SluicePcap
import SluicePcapFiles
import SluiceEmulator
import SluiceIR
import SluiceRuntime
import SluicePrograms
import SluiceXDP
import SluiceSupport

struct AggregatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregator",
        abstract: "Serve in-network aggregation from user space: the switchml program in the runtime behind a UDP socket.",
        discussion: """
            --backend socket runs `switchml` (job 1) through the software runtime: each datagram from a \
            listed worker enters the program on that worker's port; every copy it sends goes back to \
            its worker as a datagram. Workers run `sluice allreduce --transport udp --aggregator THIS`. \
            List the workers in rank order (--worker IP or IP:PORT; the port defaults to 40000 + rank, \
            what `sluice allreduce` binds). Runs until Ctrl-C, SIGTERM, SIGHUP or --duration; SIGUSR1 \
            prints the counts. Workers must use the aggregator's --k and --slots and --workers = the \
            number of --worker. One aggregator serves job after job; after a job that failed, wait \
            --idle-reset before the next (its half-done rounds are forgotten then). Example:
              sluice aggregator --backend socket --worker 10.1.0.2 --worker 10.1.1.2 --worker 10.1.2.2
            --program serves another program with switchml's tables, registers and headers (a \
            program file from `sluice compile switchml --emit program`, a package's own variant); \
            --k is then the program's (its values_t fields), and --slots at most its pool.

            --backend xdp attaches `switchml` at XDP to one interface per worker (--port N=IFACE, \
            worker k behind port k + 1) and installs the job: workers send to 10.255.255.1 (give them \
            a route and a neighbour entry for it through the interface) and results come back to \
            each worker's address and port 40000 + rank, to its MAC (--worker IP[:PORT]=MAC; \
            broadcast when omitted). Needs root and clang. On veth use --mode generic, unless the \
            workers' ends run an XDP program (native redirects into a veth are lost otherwise). \
            When a port's interface vanishes or its program is removed, it stops, prints the \
            counts and exits 1 naming the interface. Example:
              sluice aggregator --backend xdp --mode generic --port 1=veth1 --port 2=veth2 --worker 10.0.0.1 --worker 10.0.0.2
            """)

    enum Backend: String, ExpressibleByArgument, CaseIterable { case socket, xdp }

    @Option(help: "Where the program runs: socket (the runtime over a UDP socket) or xdp (switchml in the kernel).")
    var backend: Backend = .socket

    @Option(name: .customLong("port"), help: "xdp: N=IFACE, the interface of the worker of rank N - 1; repeat for each.")
    var ports: [OptionValue<PortSpec>] = []

    @Option(help: "xdp: attach mode (native, generic, auto; default auto).")
    var mode: OptionValue<Choice<XDPProgram.Mode>>?

    @Option(help: "socket: address and port to listen on (default 0.0.0.0:\(SocketAggregator.servicePort)).")
    var listen: OptionValue<Endpoint>?

    @Option(name: .customLong("worker"), help: "A worker's IP[:PORT] (xdp: IP[:PORT][=MAC]), in rank order; repeat for each.")
    var workers: [OptionValue<WorkerAddress>] = []

    @Option(help: "A program with switchml's control-plane interface: a name or a program file (default: switchml, built for --k).")
    var program: String?

    @Option(help: "Values per packet the workers send (32, 64, 128, 256; at XDP 32, 64, 128; default 64, or the program's).")
    var k: Int?

    @Option(help: "Pool slots of the job (socket: 1 ... 16384; xdp: 1 ... 4096).")
    var slots: Int = 64

    @Option(help: "Stop after this long (10s, 500ms).")
    var duration: OptionValue<WallDuration>?

    @Flag(help: "When it stops, print one JSON object of the counts instead of a line of text.")
    var json = false

    @Option(help: "Forget every slot's rounds after this long without an update (workers of a running job retransmit within 100 ms), so that a job cut short cannot leave half-done rounds to the next; 0 never.")
    var idleReset: OptionValue<IdleReset> = "2s"

    /// Checked before `run`, so a bad option prints this command's usage.
    func validate() throws {
        guard !workers.isEmpty else { throw ValidationError("give the workers in rank order: --worker IP[:PORT] for each") }
        _ = try idleReset.value("--idle-reset")
        _ = try duration?.value("--duration")
        _ = try listen?.value("--listen")
        _ = try mode?.value("--mode")
        for w in workers { _ = try w.value("--worker") }
        switch backend {
        case .socket:
            if let w = workers.first(where: { $0.parsed.mac != nil }) {
                throw ValidationError("--worker '\(w.text)': =MAC is for --backend xdp (valid: IP[:PORT])")
            }
            if let k { guard SwitchML.sizeCode(elements: k) != nil else { throw ValidationError("--k \(k) (valid: 32, 64, 128, 256 values a packet)") } }
            guard (1...0x4000).contains(slots) else { throw ValidationError("--slots \(slots) (valid: 1 ... 16384)") }
            guard ports.isEmpty, mode == nil else {
                throw ValidationError("--port and --mode are for --backend xdp; the socket backend listens on --listen IP:PORT")
            }
        case .xdp:
            if let k, ![32, 64, 128].contains(k) {
                throw ValidationError("--k \(k) with --backend xdp (valid: 32, 64, 128; 256 values make 1,076 bytes of headers, and the XDP backend emits at most 1,024)")
            }
            guard (1...4096).contains(slots) else { throw ValidationError("--slots \(slots) with --backend xdp (valid: 1 ... 4096, the pool switchml is built with)") }
            guard listen == nil else {
                throw ValidationError("--listen is for --backend socket; at XDP workers send to 10.255.255.1:\(SocketAggregator.servicePort) through the interfaces given with --port")
            }
            guard ports.count == workers.count else {
                throw ValidationError("--backend xdp: \(workers.count) worker\(workers.count == 1 ? "" : "s") but \(ports.count) --port N=IFACE (valid: one port per worker, worker k on port k + 1)")
            }
            // Worker k behind port k + 1.
            try checkPortSpecs(ports, numbers: 1...UInt16(workers.count), interfaceIs: "worker's port")
        }
    }

    /// The program to serve (nil: switchml built for the values a packet) and the values a
    /// packet workers send: --program's own, which --k, when given, must equal.
    func served() throws -> (program: VerifiedProgram?, k: Int) {
        guard let ref = program else { return (nil, k ?? 64) }
        let p = try resolveProgram(ref).program
        guard let own = SwitchML.elementsPerPacket(of: p.program) else {
            throw CLIError("--program \(ref): '\(p.program.name)' lacks switchml's switchml_workers table, switchml_count register or values_t header (valid: switchml, or a program with its control-plane interface)")
        }
        if let k, k != own { throw CLIError("--k \(k), but --program \(ref) carries \(own) values a packet (give --k \(own), or leave --k out)") }
        if backend == .xdp, ![32, 64, 128].contains(own) {
            throw CLIError("--program \(ref) carries \(own) values a packet; the XDP backend takes 32, 64 or 128")
        }
        return (p, own)
    }

    func run() throws {
        if backend == .xdp { return try runXDP() }
        let (served, k) = try served()
        let l = listen?.parsed ?? Endpoint(ip: 0, port: nil)
        let members = workers.enumerated().map { r, w in
            SocketAggregator.Member(ip: w.parsed.endpoint.ip, port: w.parsed.endpoint.port(or: UInt16(40_000 + r)))
        }
        let agg: SocketAggregator
        do {
            agg = try SocketAggregator(ip: l.ip, port: l.port(or: SocketAggregator.servicePort), workers: members, elementsPerPacket: k, slots: slots,
                                   program: served)
        } catch { throw CLIError("\(error)") }
        agg.idleReset = idleReset.parsed
        StopSignal.install()
        let deadline = duration.map { MonotonicClock.nanoseconds + $0.parsed }
        FileHandle.standardError.write("aggregator (socket backend) on port \(agg.port) for \(members.count) worker\(members.count == 1 ? "" : "s"); Ctrl-C to stop\n".data(using: .utf8)!)
        StatusSignal.install()
        func summary() -> String {
            "updates \(agg.updates), results sent \(agg.sent), slots cleared when idle \(agg.idleResets) times, datagrams from non-members ignored \(agg.foreign)"
        }
        agg.serve {
            if StatusSignal.take() { stderr(summary()) }
            return StopSignal.requested != nil || (deadline.map { MonotonicClock.nanoseconds >= $0 } ?? false)
        }
        if json {
            struct Counts: Encodable { var backend: String; var program: String; var updates: Int; var results_sent: Int; var idle_resets: Int; var foreign: Int }
            return try printJSON(Counts(backend: "socket", program: program ?? "switchml", updates: Int(agg.updates), results_sent: Int(agg.sent),
                                        idle_resets: agg.idleResets, foreign: Int(agg.foreign)))
        }
        print(summary())
    }
}

extension AggregatorCommand {
    /// switchml at XDP on the workers' interfaces until a signal or --duration.
    func runXDP() throws {
        let xmode = mode?.parsed ?? .auto
        var members: [SwitchML.Worker] = []
        for (r, w) in workers.map(\.parsed).enumerated() {
            // Without a MAC, results are broadcast.
            members.append(SwitchML.Worker(ip: w.endpoint.ip, mac: w.mac ?? 0xFFFF_FFFF_FFFF, udpPort: w.endpoint.port(or: UInt16(40_000 + r)),
                                           switchPort: UInt16(r + 1)))
        }
        let specs = ports.map(\.parsed)
        let xdp: XDPProgram
        let cp: XDPControlPlane
        do {
            let (served, k) = try served()
            xdp = try XDPProgram(try served ?? SwitchML.program(k: k, slots: 4096).verified())
            cp = try XDPControlPlane(xdp)
            try SwitchML.install(SwitchML.Job(job: 1, udpPort: SocketAggregator.servicePort, slotBase: 0, slots: slots, group: 2, workers: members), into: cp)
        } catch { throw CLIError("\(error)") }
        _ = try attachAtEveryPort(xdp, specs, mode: xmode)
        defer { xdp.detachAll() }
        StopSignal.install()
        let deadline = duration.map { MonotonicClock.nanoseconds + $0.parsed }
        FileHandle.standardError.write("aggregator (xdp backend, switchml) on \(specs.map(\.interface).joined(separator: ", ")) for \(members.count) worker\(members.count == 1 ? "" : "s") at 10.255.255.1:\(SocketAggregator.servicePort); Ctrl-C to stop\n".data(using: .utf8)!)
        StatusSignal.install()
        func outcomes() -> String {
            let o = (try? xdp.outcomes()) ?? [:]
            return "updates \(o.values.reduce(0, +)), results multicast \(o[EBPFVerdictName.multicast.rawValue] ?? 0)"
        }
        let idleLimit = idleReset.parsed
        var seen: UInt64 = 0, lastUpdate = MonotonicClock.nanoseconds, dirty = false, idleResets = 0
        let lost = whileAttached(xdp, until: deadline) {
            if StatusSignal.take() { stderr(outcomes()) }
            // Updates from the job's members (the program's switchml_updates counter): junk from
            // anyone else must not keep half-done rounds alive.
            let now = (try? SwitchML.memberUpdates(cp, workers: members.count)) ?? seen
            if now != seen { seen = now; lastUpdate = MonotonicClock.nanoseconds; dirty = true }
            if dirty, let idle = idleLimit, MonotonicClock.nanoseconds - lastUpdate >= idle {
                do { try SwitchML.clearSlots(cp) } catch { stderr("warning: clearing the slots after \(idleReset.text) idle: \(error)") }
                dirty = false
                idleResets += 1
            }
        }
        xdp.detachAll()
        if json {
            struct Counts: Encodable { var backend: String; var program: String; var updates: UInt64; var results_multicast: UInt64; var idle_resets: Int; var interface_lost: Nullable<String> }
            let o = (try? xdp.outcomes()) ?? [:]
            try printJSON(Counts(backend: "xdp", program: program ?? "switchml", updates: o.values.reduce(0, +),
                                 results_multicast: o[EBPFVerdictName.multicast.rawValue] ?? 0, idle_resets: idleResets, interface_lost: Nullable(lost)))
        } else {
            print(outcomes() + ", slots cleared when idle \(idleResets) times")
        }
        if let lost { throw CLIError("\(lost); stopped and detached the other ports") }
    }
}

struct AllReduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "One worker of an in-network allreduce over real UDP (the SluiceML worker library).",
        discussion: """
            Sums a synthetic tensor (seeded by --seed and the rank, so every worker can compute \
            everyone's) with the other workers through an aggregation service (a switch running \
            switchml, in XDP or `sluice aggregator`), then checks the result: int32 bit for bit, \
            float32 within the block floating point bound. Binds --port-base + rank. Exit status 1 \
            when the result is wrong. Example (three workers):
              sluice allreduce --transport udp --aggregator 10.1.0.1 --rank 0 --workers 3 --size 4MB
            """)

    enum Transport: String, ExpressibleByArgument, CaseIterable { case udp }
    enum DType: String, ExpressibleByArgument, CaseIterable { case int32, float32 }

    @Option(help: "How updates travel: udp.")
    var transport: Transport = .udp

    @Option(help: "The aggregation service's IP[:PORT].")
    var aggregator: OptionValue<Endpoint>

    @Option(help: "This worker's rank (0 ... workers - 1).")
    var rank: Int

    @Option(help: "Workers in the job.")
    var workers: Int

    @Option(help: "Tensor size in bytes (e.g. 4MB).")
    var size: OptionValue<TensorSize> = "4MB"

    @Option(help: "Element type.")
    var dtype: DType = .int32

    @Option(help: "Values per packet (as the aggregator was started).")
    var k: Int = 64

    @Option(help: "Packets in flight (pool slots of the job).")
    var slots: Int = 64

    @Option(help: "Local port = this + rank.")
    var portBase: Int = 40_000

    @Option(help: "Floor of the adaptive retransmission timeout (e.g. 1ms, 200us): a worker process can be descheduled for milliseconds, and a shorter floor retransmits into a service that is only slow.")
    var minTimeout: OptionValue<RetransmissionFloor> = "1ms"

    @Option(help: "Most datagrams one system call sends or receives (sendmmsg / recvmmsg), 1 ... 64; 1 sends each packet on its own.")
    var batch: Int = 32

    @Option(help: "Local address to bind (default: any).")
    var local: OptionValue<Endpoint> = "0.0.0.0"

    @Option(help: "Seed of the synthetic tensors (the same on every worker; printed).")
    var seed: UInt64 = 1

    @Option(help: "Give up after this many seconds.")
    var timeout: Double = 60

    @Flag(help: "Print one JSON object.")
    var json = false

    /// Checked before `run`, so a bad option prints this command's usage.
    func validate() throws {
        guard (1...32).contains(workers) else { throw ValidationError("--workers \(workers) (valid: 1 ... 32)") }
        guard (0..<workers).contains(rank) else { throw ValidationError("--rank \(rank) (valid: 0 ... \(workers - 1))") }
        guard SwitchML.sizeCode(elements: k) != nil else { throw ValidationError("--k \(k) (valid: 32, 64, 128, 256 values a packet, as the aggregator was started)") }
        guard (1...0x3FFF).contains(slots) else { throw ValidationError("--slots \(slots) (valid: 1 ... 16383 packets in flight)") }
        try Self.requireTensor(size, option: "--size")
        try requireWithin(0.001...86_400, timeout, option: "--timeout", valid: "0.001 ... 86400 seconds")
        guard portBase + rank <= 65535, portBase > 0 else { throw ValidationError("--port-base \(portBase) + rank is not a port") }
        guard (1...UDPAggregationPort.maxBatch).contains(batch) else { throw ValidationError("--batch \(batch) (valid: 1 ... \(UDPAggregationPort.maxBatch) datagrams a system call)") }
        _ = try minTimeout.value("--min-timeout")
        _ = try aggregator.value("--aggregator")
        _ = try local.value("--local")
    }

    static let maxTensorBytes = 1 << 30

    /// A tensor size the workers can allocate whole (with its result): refuse what cannot be,
    /// not abort. Also `sluice bench xdp --agg-size`, which its workers are given.
    static func requireTensor(_ size: OptionValue<TensorSize>, option: String) throws {
        try requireWithin(4...maxTensorBytes, try size.value(option), option: option, valid: "4 ... \(maxTensorBytes) bytes (1GiB)")
    }

    func run() throws {
        let count = size.parsed / 4
        let a = aggregator.parsed
        let port: UDPAggregationPort
        do {
            port = try UDPAggregationPort(localIP: local.parsed.ip, localPort: UInt16(portBase + rank), serviceIP: a.ip,
                                          servicePort: a.port(or: SocketAggregator.servicePort), batch: batch)
        } catch { throw CLIError("\(error)") }
        let config = AggregationConfig(job: 1, workers: workers, elementsPerPacket: k, poolSlots: slots, minTimeout: minTimeout.parsed)
        let worker: AggregationWorker<UDPAggregationPort>
        do { worker = try AggregationWorker(config: config, port: port) } catch { throw CLIError("\(error)") }
        if !json { print("rank \(rank) of \(workers): \(count) \(dtype.rawValue) values, seed \(seed) (rerun with --seed \(seed))") }
        let t0 = MonotonicClock.nanoseconds
        var ok = false
        var maxError = 0.0
        switch dtype {
        case .int32:
            let all = (0..<workers).map { SyntheticTensors.integers(count: count, worker: $0, seed: seed) }
            let t = TensorBuffer(all[rank])
            do { try worker.allReduceSync(t, timeoutSeconds: timeout) } catch { throw CLIError("\(error)\n\(mismatchHint)") }
            ok = t.values == Reference.sum(all)
        case .float32:
            let all = (0..<workers).map { SyntheticTensors.gradients(count: count, worker: $0, seed: seed) }
            let t = TensorBuffer(all[rank])
            do { try worker.allReduceSync(t, timeoutSeconds: timeout) } catch { throw CLIError("\(error)\n\(mismatchHint)") }
            let c = FloatReference(all).checkBlocks([t], k: k)
            ok = c.withinBound
            maxError = c.maxAbsError
        }
        let seconds = MonotonicClock.seconds(since: t0)
        // Leave set 0 of every slot clear, so that the next job on this aggregator starts clean
        // (it is not part of the timed allreduce).
        let padded = worker.slotsLastOnSetZero
        do { try worker.leaveSlotsReusableSync(timeoutSeconds: min(timeout, 10)) } catch {
            throw CLIError("the sum is \(ok ? "right" : "WRONG"), but leaving the aggregator's \(padded) slots last used on set 0 ready for the next job failed: \(error); restart the aggregator before the next job")
        }
        let s = worker.stats
        if json {
            try printJSON(Summary(rank: rank, workers: workers, elements: count, dtype: dtype.rawValue, seconds: seconds,
                              elements_per_s: Double(count) / seconds, correct: ok, max_abs_error: Double(maxError),
                              packets_sent: s.packetsSent, retransmissions: s.retransmissions, timeouts: s.timeouts,
                              send_calls: port.sendCalls, receive_calls: port.receiveCalls, foreign_datagrams: port.foreignDatagrams))
        } else {
            print(String(format: "done in %.3f s (%.3g elements/s); %@; %d packets sent, %d retransmitted", seconds, Double(count) / seconds,
                         ok ? (dtype == .int32 ? "exact" : "within the bound") : "WRONG", s.packetsSent, s.retransmissions))
        }
        if port.foreignDatagrams > 0 {
            stderr("warning: \(port.foreignDatagrams) datagrams came from elsewhere than the aggregator \(aggregator.text) and were ignored")
        }
        if !ok {
            stderr("the sum is wrong. \(mismatchHint)")
            throw ExitCode(1)
        }
    }

    /// The --json object (`sluice bench xdp` reads its workers' back).
    struct Summary: Codable {
        var rank: Int; var workers: Int; var elements: Int; var dtype: String; var seconds: Double; var elements_per_s: Double
        var correct: Bool; var max_abs_error: Double; var packets_sent: Int; var retransmissions: Int; var timeouts: Int
        var send_calls: Int; var receive_calls: Int; var foreign_datagrams: Int
    }

    /// What makes a job hang or sum wrong that the protocol cannot tell a worker: settings the
    /// aggregator does not share, and an earlier job's leftovers.
    var mismatchHint: String {
        "Check that the aggregator was started with --k \(k), --slots \(slots) (or more) and \(workers) --worker, as this worker was; "
            + "and that no job on it failed less than its --idle-reset (default 2s) ago: a job cut short leaves half-done rounds that "
            + "answer or block the next one until the aggregator has been idle that long."
    }
}
