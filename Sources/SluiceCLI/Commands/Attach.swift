import SluiceControlPlane
import ArgumentParser
import Foundation
import SluiceIR
import SluicePcap
import SluicePrograms
import SluiceRuntime
import SluiceXDP
import SluiceEBPF
import SluiceSupport
import SluiceP4RuntimeServer
#if canImport(Glibc)
import Glibc
#endif

/// `sluice attach`: a software switch on real interfaces. Every port is a live capture of the
/// packets its interface receives; the program runs on each; what it sends is injected on the
/// interfaces of the output ports.
struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a program as a switch on real interfaces: in user space (libpcap) or in the kernel (XDP).",
        discussion: """
            Each --port N=IFACE makes IFACE the switch's port N: the packets IFACE receives (not the \
            ones sent through it) enter the program on port N, stamped with their capture time \
            (nanoseconds); what the program sends to port K is injected on port K's interface, one \
            copy per multicast member. Programs with a controller (l2-switch: learning from digests) \
            get theirs. Runs until Ctrl-C (SIGINT), SIGTERM, SIGHUP or --duration, then prints the counters; \
            SIGUSR1 prints them while it runs. Examples:
              sluice attach --program ipv4-router --entries routes.txt --port 1=veth1 --port 2=veth2
              sluice attach --program l2-switch --port 1=eth1 --port 2=eth2 --port 3=eth3
              sluice attach --program ipv4-router --entries routes.txt --port 1=veth1 --port 2=veth2 --trace --trace-filter 'ipv4.dst == 10.0.2.2'
            The interfaces should carry nothing else the switch would forward twice: give it \
            interfaces of its own (a veth end, a spare NIC), not the host's uplink. An interface with \
            an XDP program on it is refused (the program takes the packets before libpcap sees them; \
            `sluice xdp detach -i IFACE` removes one a killed run left), unless --force.

            --backend xdp compiles the program to eBPF (clang), loads it (root, or CAP_BPF and \
            CAP_NET_ADMIN) and attaches it to every port's interface at the XDP hook (--mode native, \
            generic or auto); the entries go into its maps. Packets then never reach user space \
            (digests do, through a BPF ring buffer the controller drains every 20 ms: l2-switch \
            learns as in user space): \
            a packet to another port is redirected to that interface, back out of its own port \
            with XDP_TX. At exit (Ctrl-C, SIGTERM, SIGHUP, --duration) every interface is detached and the \
            outcomes are printed; after a crash, `sluice xdp detach -i IFACE` cleans up and \
            `sluice xdp status` lists what is attached.
              sluice attach --backend xdp --mode generic --program ipv4-router --entries routes.txt --port 1=veth1 --port 2=veth2

            --p4runtime ADDR serves P4Runtime v1 (gRPC, plaintext) for the switch: a controller \
            (p4runtime-shell, ONOS, a test framework) sets the pipeline with SetForwardingPipelineConfig \
            (the P4Info from `sluice compile P --emit p4info`, as device config a program file from \
            `sluice compile P --emit program` or a built-in program's name) and writes the tables; \
            --program may then be omitted (packets are dropped until a pipeline is set). ADDR is \
            HOST:PORT, HOST (port 9559) or PORT (on 127.0.0.1); listen beyond loopback only on a \
            network you trust (no TLS, no authentication). Packets the program sends to --cpu-port \
            go to the primary controller as PacketIn; PacketOut payloads enter the program there. \
            With --backend xdp a pipeline the controller sets is compiled, loaded and put at every \
            port in place of the previous one (its tables start empty); its maps are the tables the \
            controller writes, while packets run (DATAPLANE_ATOMIC is refused); digests reach the \
            controller. The CPU port is a veth pair the switch creates (slcpuPID, and slcpuPIDc \
            for itself) and deletes at exit (after a crash, `ip link del slcpuPID`): the program runs on the first end as the CPU port, \
            PacketOuts are sent into it from the second and leave where the program sends them; \
            what the program sends to the CPU port comes out of the second as a PacketIn.
              sluice attach --p4runtime 9559 --device-id 1 --port 1=veth1 --port 2=veth2
              sluice attach --p4runtime 127.0.0.1:9559 --program ipv4-router --port 1=veth1 --port 2=veth2
              sluice attach --p4runtime 9559 --backend xdp --mode generic --port 1=veth1 --port 2=veth2
            """)

    enum Backend: String, ExpressibleByArgument, CaseIterable { case pcap, xdp }

    @Option(help: "Where the program runs: pcap (user space, libpcap) or xdp (the kernel's XDP hook).")
    var backend: Backend = .pcap

    @Option(help: "XDP attach mode: native (the driver's hook), generic (any interface) or auto (native, else generic).")
    var mode: OptionValue<Choice<XDPProgram.Mode>> = "auto"

    @Option(help: "A built-in program (see `sluice programs`) or a program file (.json); optional with --p4runtime.")
    var program: String?

    @Option(help: ArgumentHelp("Serve P4Runtime on ADDR: HOST:PORT, HOST (port 9559) or PORT (on 127.0.0.1).", valueName: "addr"))
    var p4runtime: OptionValue<ListenAddress>?

    @Option(help: "--p4runtime: the device id controllers address.")
    var deviceId: UInt64 = 1

    @Option(name: .customLong("cpu-port"), help: "--p4runtime: the switch port of the controller (PacketIn and PacketOut), 0...511 (default 510).")
    var cpuPortOption: UInt16?

    /// The CPU port: --cpu-port, else 510.
    var cpuPort: UInt16 { cpuPortOption ?? 510 }

    @Option(name: .customLong("port"), help: "N=IFACE: interface IFACE is switch port N (0...511); repeat for every port.")
    var ports: [OptionValue<PortSpec>] = []

    @Option(help: "An entries file (BMv2 runtime CLI commands) to apply first.")
    var entries: String?

    @Option(help: "Stop after this long: 10s, 500ms (a plain number is seconds).")
    var duration: OptionValue<WallDuration>?

    @Option(help: "Seed for the program's random values.")
    var seed: UInt64 = 1

    @Flag(help: "pcap: attach even to an interface with an XDP program on it (which takes its packets before libpcap sees them).")
    var force = false

    @Flag(help: "Print the counters at exit as one JSON object.")
    var json = false

    @OptionGroup var tracing: TraceOptions

    @OptionGroup var engineOption: EngineOption

    @Flag(help: ArgumentHelp("xdp: poll the ports in kernel threads (sysfs `threaded`), put back at exit.",
                             discussion: "On a veth the program then runs in a thread the scheduler can put on another core than the sender's, not in the sender's softirq (sluice bench xdp on 2 cores: 1.02 against 0.40 Mpps forwarded)."))
    var threadedNapi = false

    func validate() throws {
        guard !ports.isEmpty else { throw ValidationError("give at least one --port N=IFACE, e.g. --port 1=veth1") }
        _ = try p4runtime?.value("--p4runtime")
        if program == nil && p4runtime == nil {
            throw ValidationError("give --program P (a built-in program or a program file), or --p4runtime ADDR for a controller to set it")
        }
        if threadedNapi && p4runtime != nil {
            throw ValidationError("--threaded-napi is not served with --p4runtime yet (the controller attaches the program after start)")
        }
        guard cpuPort <= 511 else { throw ValidationError("--cpu-port \(cpuPort): switch ports are 0...511") }
        if p4runtime != nil, ports.contains(where: { $0.parsed.number == cpuPort }) {
            throw ValidationError("--cpu-port \(cpuPort) is also a --port; give the CPU port a number no interface has")
        }
        try checkPortSpecs(ports, numbers: 0...511, interfaceIs: "port")
        _ = try mode.value("--mode")
        _ = try duration?.value("--duration")
        if force && backend != .pcap {
            throw ValidationError("--force is for --backend pcap (XDP never replaces a program already attached)")
        }
        if tracing.trace && backend != .pcap {
            throw ValidationError("--trace needs --backend pcap (XDP runs in the kernel; trace the program offline with `sluice replay --trace` on a capture)")
        }
        if threadedNapi && backend != .xdp {
            throw ValidationError("--threaded-napi needs --backend xdp (the pcap backend polls nothing itself)")
        }
    }

    /// The pcap backend's --json object (`sluice bench pcap` and `bench xdp` read it back).
    struct Counters: Codable {
        var program: String
        var ports: [PcapSwitch.PortCounters]
        var received: UInt64, sent: UInt64
        var parser_drops: UInt64, ingress_drops: UInt64, egress_drops: UInt64, pass_limit_drops: UInt64
        var empty_group_drops: UInt64, no_interface_drops: UInt64, oversize_drops: UInt64
        var engine: String?
    }

    /// The program's name as the counters print it.
    var programName: String { program ?? "(set by the controller)" }

    func run() throws {
        if backend == .xdp {
            if let p4runtime { return try runP4RuntimeXDP(p4runtime.parsed) }
            return try runXDP()
        }
        if let p4runtime { return try runP4Runtime(p4runtime.parsed) }
        guard let program else { throw ValidationError("give --program P") }
        let specs = ports.map(\.parsed)
        let info = try resolveProgram(program)
        let ir = info.program
        let pipeline: Pipeline
        pipeline = try makePipeline(ir, name: program, seed: seed, trace: try tracing.tracer(sink: traceSink(toStandardError: json)),
                                    engine: engineOption.chosen)
        let controller = info.controller?(specs.map(\.number))
        if let controller {
            do { try controller.setup(pipeline) } catch { throw CLIError("the controller of '\(program)' failed: \(error)") }
        }
        if let entries {
            do { try EntriesFile(path: entries).apply(to: pipeline) } catch { throw CLIError("\(error)") }
        }
        try checkNoXDPProgram(on: specs)
        let sw: PcapSwitch
        do {
            sw = try PcapSwitch(pipeline: pipeline, controller: controller, ports: specs.map { ($0.number, $0.interface) })
        } catch {
            throw CLIError("\(error)")
        }
        for w in sw.warnings { stderr("warning: \(w)") }

        StopSignal.install()
        sw.stopOnSignal()
        StatusSignal.install()
        let deadline = duration.map { MonotonicClock.nanoseconds + $0.parsed }
        let names = specs.map { "\($0.number)=\($0.interface)" }.joined(separator: ", ")
        stderr("sluice attach: \(program) on \(names), \(engineLine(pipeline)); Ctrl-C to stop, SIGUSR1 for counters")
        var failure: Error?
        do {
            // With --json, standard output holds only the final object: interim tables go to stderr.
            try sw.run(until: deadline) { if StatusSignal.take() { printCounters(sw, json: false, toStandardError: json) } }
        } catch {
            failure = error
        }
        printCounters(sw, json: json)
        if let failure { throw CLIError("\(failure)") }
    }

    /// An XDP program on a port's interface (one a killed `attach --backend xdp` left, say)
    /// takes the packets before libpcap sees them: the switch would receive nothing, silently.
    /// Refused, naming the program and how to remove it, unless --force (then a warning).
    func checkNoXDPProgram(on specs: [PortSpec]) throws {
        for s in specs {
            guard let a = XDPProgram.attachedProgram(interface: s.interface) else { continue }
            let what = "\(s.interface): XDP program \(a.displayName) (id \(a.id), \(a.mode)) is attached (\(a.owner)); "
                + "it takes the packets before libpcap sees them, so port \(s.number) would receive nothing"
            guard force else { throw CLIError("\(what). Remove it first: \(a.removal(s.interface)); or give --force to attach anyway") }
            stderr("warning: \(what) (--force)")
        }
    }

    func printCounters(_ sw: PcapSwitch, json: Bool, toStandardError: Bool = false) {
        func emit(_ line: String) { if toStandardError { stderr(line) } else { print(line) } }
        let counters = sw.counters, noInterface = sw.noInterfaceDrops, oversize = sw.oversizeDrops
        let s = sw.pipeline?.stats ?? Pipeline.Stats()
        if json {
            try? printJSON(Counters(program: programName, ports: counters, received: s.received, sent: s.sent, parser_drops: s.parserDrops,
                                    ingress_drops: s.ingressDrops, egress_drops: s.egressDrops, pass_limit_drops: s.passLimitDrops,
                                    empty_group_drops: s.emptyGroupDrops, no_interface_drops: noInterface, oversize_drops: oversize,
                                    engine: sw.pipeline?.engine.rawValue))
            fflush(stdout)
            return
        }
        let width = max(9, counters.map(\.interface.count).max() ?? 0)
        emit("port  " + "interface".padding(toLength: width, withPad: " ", startingAt: 0)
              + "  rx packets     rx bytes  tx packets     tx bytes  tx errors  kernel drops")
        for c in counters {
            emit(rightAligned(c.port, 4) + "  " + c.interface.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                  + rightAligned(c.rx_packets, 10) + " " + rightAligned(c.rx_bytes, 12) + "  " + rightAligned(c.tx_packets, 10) + " "
                  + rightAligned(c.tx_bytes, 12) + "  " + rightAligned(c.tx_errors, 9) + "  " + rightAligned(c.kernel_dropped, 12))
        }
        emit("pipeline: received \(s.received), sent \(s.sent); drops: parser \(s.parserDrops), ingress \(s.ingressDrops), egress \(s.egressDrops), pass limit \(s.passLimitDrops), empty group \(s.emptyGroupDrops), no interface on the output port \(noInterface), larger than a buffer \(oversize)")
        fflush(Glibc.stdout)
    }
}

extension Attach {
    /// The program in the kernel at every port's XDP hook until a signal or --duration.
    func runXDP() throws {
        guard let program else { throw ValidationError("give --program P") }
        let specs = ports.map(\.parsed)
        let info = try resolveProgram(program)
        let ir = info.program
        let xdp: XDPProgram
        let cp: XDPControlPlane
        do {
            xdp = try XDPProgram(ir)
            cp = try XDPControlPlane(xdp)
        } catch { throw CLIError("\(error)") }
        let controller = info.controller?(specs.map(\.number))
        if let controller {
            do { try controller.setup(cp) } catch { throw CLIError("the controller of '\(program)' failed on XDP: \(error)") }
        }
        if let entries {
            do { try EntriesFile(path: entries).apply(to: cp) } catch { throw CLIError("\(error)") }
        }
        StopSignal.install()
        StatusSignal.install()
        let used = try attachAtEveryPort(xdp, specs, mode: mode.parsed)
        var modes = zip(specs, used).map { s, m in "\(s.interface)=port \(s.number) (\(m.rawValue))" }
        // NAPI threads after attaching (a veth has NAPI only with XDP on it); put back first at
        // exit, while the interface still has its NAPI.
        var threadedBefore: [(String, Bool)] = []
        func restoreThreads() {
            for (i, was) in threadedBefore.reversed() {
                do { try NAPIThreads.set(i, threaded: was) } catch { stderr("warning: \(error)") }
            }
            threadedBefore = []
        }
        if threadedNapi {
            do {
                for s in specs { threadedBefore.append((s.interface, try NAPIThreads.set(s.interface, threaded: true))) }
            } catch {
                restoreThreads()
                xdp.detachAll()
                throw CLIError("--threaded-napi: \(error)")
            }
            modes.append("NAPI in threads")
        }
        defer { restoreThreads(); xdp.detachAll() }
        // With --json standard output holds only the final object: the notice goes to stderr.
        let notice = "\(program) attached at XDP: \(modes.joined(separator: ", ")); Ctrl-C detaches"
        if json { stderr(notice) } else { print(notice); fflush(stdout) }
        let deadline = duration.map { MonotonicClock.nanoseconds + $0.parsed }
        let lost = whileAttached(xdp, until: deadline) {
            // With --json, standard output holds only the final object: interim outcomes go to stderr.
            if StatusSignal.take() { printXDP((try? xdp.outcomes()) ?? [:], json: false, toStandardError: json) }
            // Digests (l2-switch's learning) reach the controller as in the runtime, in order.
            if let controller {
                let digests = cp.drainDigests()
                if !digests.isEmpty {
                    do { try controller.handle(digests, cp) } catch { stderr("warning: the controller of '\(program)': \(error)") }
                }
            }
        }
        restoreThreads()
        xdp.detachAll()
        printXDP((try? xdp.outcomes()) ?? [:], json: json)
        if let lost { throw CLIError("\(lost); stopped and detached the other ports") }
    }

    /// Packets per outcome (`XDPProgram.outcomes`).
    func printXDP(_ o: [UInt32: UInt64], json: Bool, toStandardError: Bool = false) {
        let names: [(String, EBPFVerdictName)] = [("forwarded", .forward), ("parser_drops", .dropParser), ("ingress_drops", .dropIngress),
                                                   ("egress_drops", .dropEgress), ("multicast", .multicast), ("empty_group", .emptyGroup),
                                                   ("aborted", .aborted), ("too_large", .tooLarge)]
        if json {
            try? printJSON(NamedFields([("backend", .text("xdp")), ("program", .text(programName))]
                                       + names.map { ($0.0, .count(UInt64(o[$0.1.rawValue] ?? 0))) }))
            fflush(stdout)
        } else {
            let line = "outcomes: " + names.map { "\($0.0.replacingOccurrences(of: "_", with: " ")) \(o[$0.1.rawValue] ?? 0)" }.joined(separator: ", ")
            if toStandardError { stderr(line) } else { print(line); fflush(stdout) }
        }
    }
}

typealias EBPFVerdictName = SluiceEBPF.EBPFVerdict

extension Attach {
    /// The pcap switch behind a P4Runtime server: the program (if given) installed first, then
    /// the controller's writes land between rounds of packets (the switch's lock).
    func runP4Runtime(_ address: ListenAddress) throws {
        let specs = ports.map(\.parsed)
        try checkNoXDPProgram(on: specs)
        let sw: PcapSwitch
        do {
            sw = try PcapSwitch(pipeline: nil, controller: nil, ports: specs.map { ($0.number, $0.interface) }, cpuPort: cpuPort)
        } catch {
            throw CLIError("\(error)")
        }
        for w in sw.warnings { stderr("warning: \(w)") }
        let device = P4RuntimeDevice(deviceID: deviceId, target: sw, resolver: programSource, seed: seed)
        if let program {
            let info = try resolveProgram(program)
            do { try device.start(with: info.program) } catch { throw CLIError("program '\(program)' does not compile: \(error)") }
            if let entries {
                do { _ = try sw.withControlPlane { try EntriesFile(path: entries).apply(to: $0) } } catch { throw CLIError("\(error)") }
            }
        } else if entries != nil {
            throw ValidationError("--entries needs --program (without it the controller sets the pipeline and writes the entries)")
        }
        sw.packetIn = { bytes in device.packetIn(Array(bytes)) }
        let server: P4RuntimeServer
        do { server = try P4RuntimeServer(device: device, cpuPort: cpuPort, host: address.host, port: address.port) } catch {
            throw CLIError("--p4runtime \(address.host):\(address.port): \(error)")
        }
        StopSignal.install()
        sw.stopOnSignal()
        StatusSignal.install()
        let deadline = duration.map { MonotonicClock.nanoseconds + $0.parsed }
        let names = specs.map { "\($0.number)=\($0.interface)" }.joined(separator: ", ")
        let shown = server.host.contains(":") ? "[\(server.host)]:\(server.port)" : "\(server.host):\(server.port)"
        stderr("sluice attach: P4Runtime on \(shown), device id \(deviceId), CPU port \(cpuPort); \(program ?? "no pipeline yet") on \(names); Ctrl-C to stop")
        var failure: Error?
        do {
            try sw.run(until: deadline) { if StatusSignal.take() { printCounters(sw, json: false, toStandardError: json) } }
        } catch {
            failure = error
        }
        server.stop()
        printCounters(sw, json: json)
        if let failure { throw CLIError("\(failure)") }
    }
}

extension Attach {
    /// The XDP switch behind a P4Runtime server: each pipeline the controller sets (or --program)
    /// is loaded and put at every port; the controller's writes go into its maps while the
    /// kernel runs packets. Digests reach the controller as on the pcap backend: the server polls
    /// the switch's control plane for them every 10 ms (`P4RuntimeDevice.sendDigests`).
    func runP4RuntimeXDP(_ address: ListenAddress) throws {
        let specs = ports.map(\.parsed)
        let sw: XDPSwitch
        do {
            sw = try XDPSwitch(ports: specs.map { ($0.number, $0.interface) }, mode: mode.parsed, cpuPort: cpuPort)
        } catch {
            throw CLIError("\(error)")
        }
        sw.log = { stderr($0) }
        // Whatever happens next, no port keeps the program and the CPU port's pair goes.
        defer { sw.stop() }
        let device = P4RuntimeDevice(deviceID: deviceId, target: sw, resolver: programSource, seed: seed)
        if let program {
            let info = try resolveProgram(program)
            do { try device.start(with: info.program) } catch { throw CLIError("program '\(program)' cannot run at XDP: \(error)") }
            if let entries {
                do { _ = try sw.withControlPlane { try EntriesFile(path: entries).apply(to: $0) } } catch { throw CLIError("\(error)") }
            }
        } else if entries != nil {
            throw ValidationError("--entries needs --program (without it the controller sets the pipeline and writes the entries)")
        }
        sw.receivePacketIn { device.packetIn($0) }
        let server: P4RuntimeServer
        do { server = try P4RuntimeServer(device: device, cpuPort: cpuPort, host: address.host, port: address.port) } catch {
            throw CLIError("--p4runtime \(address.host):\(address.port): \(error)")
        }
        StopSignal.install()
        StatusSignal.install()
        let deadline = duration.map { MonotonicClock.nanoseconds + $0.parsed }
        let names = specs.map { "\($0.number)=\($0.interface)" }.joined(separator: ", ")
        let shown = server.host.contains(":") ? "[\(server.host)]:\(server.port)" : "\(server.host):\(server.port)"
        let modes = sw.modes.isEmpty ? mode.parsed.rawValue : Set(sw.modes.map(\.rawValue)).sorted().joined(separator: "/")
        stderr("sluice attach: P4Runtime on \(shown), device id \(deviceId); \(program ?? "no pipeline yet") at XDP (\(modes)) on \(names); "
               + "CPU port \(cpuPort) on \(sw.cpu?.interface ?? "-") (PacketIn/PacketOut through \(sw.cpu?.peer ?? "-")); Ctrl-C to stop")
        let lost = whileAttached(lost: { sw.lostAttachment() }, until: deadline) {
            if StatusSignal.take() { printXDP(sw.outcomes(), json: false, toStandardError: json) }
        }
        server.stop()
        sw.stop()
        printXDP(sw.outcomes(), json: json)
        if let lost { throw CLIError("\(lost); stopped and detached the other ports") }
    }
}

/// Where a server listens: HOST:PORT, [V6]:PORT, HOST (port 9559, P4Runtime's) or PORT (on 127.0.0.1).
struct ListenAddress: OptionSyntax {
    var host: String
    var port: Int

    static func parse(_ text: String) throws(OptionProblem) -> ListenAddress {
        let hint = "expected HOST:PORT, HOST or PORT, e.g. 127.0.0.1:9559, [::1]:9559 or 9559"
        if let p = Int(text) {
            guard (0...65535).contains(p) else { throw OptionProblem("port \(p) is not in 0...65535; \(hint)", valid: nil) }
            return ListenAddress(host: "127.0.0.1", port: p)
        }
        var host = text, port = 9559
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw OptionProblem("unclosed '[' in '\(text)'; \(hint)", valid: nil) }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()), (0...65535).contains(p) else { throw OptionProblem("bad port in '\(text)'; \(hint)", valid: nil) }
                port = p
            }
        } else if let colon = text.lastIndex(of: ":"), text.filter({ $0 == ":" }).count == 1 {
            host = String(text[..<colon])
            guard let p = Int(text[text.index(after: colon)...]), (0...65535).contains(p) else { throw OptionProblem("bad port in '\(text)'; \(hint)", valid: nil) }
            port = p
        }
        guard !host.isEmpty else { throw OptionProblem("no host in '\(text)'; \(hint)", valid: nil) }
        return ListenAddress(host: host, port: port)
    }
}
