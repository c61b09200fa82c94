import SluiceTestingML
import SluiceControlPlane
import ArgumentParser
import Foundation
import SluiceEBPF
import SluiceIR
import SluicePcap
import SluicePcapFiles
import SluicePrograms
import SluiceRuntime
import SluiceTesting
import SluiceXDP
import SluiceSupport

struct XDPBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xdp",
        abstract: "ipv4-router in the kernel (XDP) against the runtime and the pcap switch (needs root; build with -c release).",
        discussion: """
            (a) Without a device: the same 64-byte packets and 10,000 routes as `sluice bench \
            pipeline` through the XDP program with BPF_PROG_TEST_RUN (--repeat-run runs per packet, \
            the kernel's own timing) and through the runtime: xdp_router_testrun_mpps, \
            runtime_router_mpps; beside them, in the same rounds, ipv4-router written by hand in XDP C \
            over the generated program's maps (the same routes; checked to leave every packet as the \
            generated one does): handwritten_router_testrun_mpps and testrun_vs_handwritten \
            (generated over hand-written), and a program that returns at once, \
            empty_program_testrun_mpps (the kernel's own cost of a pass). (b) On veth pairs between three namespaces it creates (and removes): \
            sender_mpps, `sluice send --topspeed` into a veth whose peer drops in XDP (the ceiling); \
            xdp_router_mpps, forwarded by `sluice attach --backend xdp` (native, the sink's veth \
            running an XDP program so redirects are received); pcap_router_mpps, forwarded by \
            `sluice attach --backend pcap`; router_ratio = xdp / pcap. The XDP figures come twice: \
            with the program's interface polled in a kernel thread (napi: threaded; `attach \
            --threaded-napi`, and the sender's drop likewise) and, in the *_softirq keys, in the \
            kernel's default softirq polling. Medians of --repeat runs. \
            socket_agg_elements_per_s: 4 `sluice allreduce` workers in namespaces of their own, each \
            with a veth to an aggregator namespace running `sluice aggregator --backend socket`, \
            reducing --agg-size of int32 with --agg-slots packets in flight (elements per second \
            per worker, the slowest; both sides batch their system calls, 32 datagrams a call). \
            xdp_agg_elements_per_s: the same workers through `switchml` attached at XDP (native mode) \
            to the switch ends of their veths (softirq polling, as `sluice aggregator --backend xdp` \
            runs); agg_ratio = xdp / socket. --aggregation-only measures just these. \
            SLUICE_BENCH_VERBOSE=1 prints each worker's JSON (retransmissions, system calls) on stderr.
            """)

    @Option(help: "Frames sent per veth run.")
    var packets: Int = 1_000_000

    @Option(help: "Runs of each veth measurement (the median is reported).")
    var `repeat`: Int = 3

    @Option(help: "BPF_PROG_TEST_RUN repetitions per packet (the kernel averages them; at most 60: the repetitions run on the same bytes, and every pass lowers the TTL of 64).")
    var repeatRun: Int = 50

    @Option(help: "Rounds of part (a): each times every packet in the kernel, then the runtime over them 100 times; medians are reported.")
    var testRunRounds: Int = 21

    @Option(help: "Tensor size of the aggregation measurement.")
    var aggSize: OptionValue<TensorSize> = "16MB"

    @Option(help: "The workers' --min-timeout (floor of their adaptive retransmission timeout).")
    var aggMinTimeout: OptionValue<RetransmissionFloor> = "1ms"

    @Option(help: "Pool slots of the aggregation job (packets each worker keeps in flight), the same for both aggregators.")
    var aggSlots: Int = 64

    @Option(help: "Values per aggregation packet (32, 64, 128), the same for both aggregators: per-packet costs (the workers' system calls, the kernel's delivery) are the same for both, so larger packets show more of the aggregators' own per-value work.")
    var aggK: Int = 64

    @Option(help: "Routes installed (/24 and /16, plus a default route), as `sluice bench pipeline`.")
    var routes: Int = 10_000

    @Flag(help: "Only the device-less part (a): no namespaces, no veth.")
    var testRunOnly = false

    @Flag(help: "Only part (c), the aggregation figures (xdp_agg_elements_per_s, socket_agg_elements_per_s, agg_ratio).")
    var aggregationOnly = false

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard (1...1_000_000).contains(routes) else { throw ValidationError("--routes must be within 1...1000000 (got \(routes))") }
        guard (1000...50_000_000).contains(packets) else { throw ValidationError("--packets must be within 1000...50000000 (got \(packets))") }
        guard (1...20).contains(`repeat`) else { throw ValidationError("--repeat must be within 1...20 (got \(`repeat`))") }
        guard !(testRunOnly && aggregationOnly) else { throw ValidationError("--test-run-only and --aggregation-only exclude each other: give one, or neither for every part") }
        _ = try aggMinTimeout.value("--agg-min-timeout")
        try AllReduceCommand.requireTensor(aggSize, option: "--agg-size")
        guard (1...1001).contains(testRunRounds) else { throw ValidationError("--test-run-rounds must be within 1...1001 (got \(testRunRounds))") }
        guard [32, 64, 128].contains(aggK) else {
            throw ValidationError("--agg-k must be 32, 64 or 128 (got \(aggK)): the values a switchml packet carries; 256 makes 1076 bytes of headers, and the XDP backend emits at most 1024")
        }
        guard (1...4096).contains(aggSlots) else { throw ValidationError("--agg-slots must be within 1...4096 (got \(aggSlots)): the switchml program has 4096 physical slots") }
        guard (1...60).contains(repeatRun) else {
            throw ValidationError("--repeat-run must be within 1...60 (got \(repeatRun)): the kernel repeats on the same bytes, and after 63 passes the TTL of 64 expires and the packet is dropped instead of routed")
        }
    }

    func run() throws {
        guard getuid() == 0 else { throw CLIError("bench xdp needs root: it loads eBPF programs and creates network namespaces (run it with sudo)") }
        func progress(_ s: String) { if !json { progressLine(s) } }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        if let stats = try? String(contentsOfFile: "/proc/sys/kernel/bpf_stats_enabled", encoding: .utf8),
           stats.trimmingCharacters(in: .whitespacesAndNewlines) != "0" {
            // Seen here: test-run 2.7 Mpps with it, 4.1 without, in the same minute.
            FileHandle.standardError.write("warning: kernel.bpf_stats_enabled is on, so the kernel times every BPF program run and the XDP figures come out lower (sysctl -w kernel.bpf_stats_enabled=0 turns it off)\n".data(using: .utf8)!)
        }
        if aggregationOnly {
            StopSignal.install()
            let (xdpAgg, socketAgg) = try aggregation(try selfPath(), progress)
            progress("")
            try printJSON(NamedFields(aggregationFields(xdp: median(xdpAgg), socket: median(socketAgg)) + [("repeat", integer(`repeat`))]))
            return
        }

        // (a) test-run against the runtime.
        progress("test run: loading")
        let seed: UInt64 = 7
        var rng = SplitMix64(seed: seed)
        let ir = try IPv4Router.program(routes: routes + 1024).verified()
        let pipeline = try Pipeline(ir, seed: seed)
        let xdp: XDPProgram, cp: XDPControlPlane
        let hand: XDPCompanion, empty: XDPCompanion
        // Each program is attached (native) to a veth of its own, no traffic on them, for part
        // (a) only: a test run with a repeat count above 1 puts an unattached program into the
        // kernel's XDP dispatcher and takes it out again (patching the dispatcher's code, every
        // CPU interrupted, and waiting for an RCU grace period) around the timed loop. An
        // attached program stays there, so nothing is patched. Unattached, the same runs came
        // out 30-50% slower, and took 17-30 ms a call on this host (a single run, repeat 1, as
        // the conformance tests do, does not touch the dispatcher: 2 us a call).
        StopSignal.install()   // Ctrl-C ends the rounds; the veths and their programs are removed
        let holderLab = NetworkLab(prefix: "sb")
        defer { holderLab.remove() }
        let holders = try (0..<3).map { try holderLab.addVeth("h\($0)", in: nil, peer: "h\($0)p", in: nil).name }
        do {
            xdp = try XDPProgram(ir); cp = try XDPControlPlane(xdp); try xdp.bindTestPorts(1...64)
            hand = try XDPCompanion(name: "hand-written ipv4-router", source: HandWrittenXDPRouter.source, sharingMapsWith: xdp)
            empty = try XDPCompanion(name: "empty", source: HandWrittenXDPRouter.empty)
            _ = try xdp.attach(interface: holders[0], port: 511, mode: .native)   // 511: no route leads there
            try hand.attach(interface: holders[1])
            try empty.attach(interface: holders[2])
        } catch { throw CLIError("\(error)") }
        defer { xdp.detachAll() }
        let prefixes = PipelineBench.prefixes(routes, &rng)
        for (i, (a, l)) in (prefixes + [(UInt32(0), 0)]).enumerated() {
            let e = TableEntry([.lpm(UInt128(a), prefixLength: l)], ActionCall("ipv4_forward", [UInt128(0x0800_0000_0000 | UInt64(i)), UInt128(1 + i % 64)]))
            try pipeline.insert("ipv4_lpm", e)
            try cp.insert("ipv4_lpm", e)
        }
        let count = 512
        var frames: [[UInt8]] = []
        let raw = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
        defer { raw.deallocate() }
        for _ in 0..<count {
            let dst = PipelineBench.destination(prefixes, &rng)
            PipelineBench.writePacket(raw, dst: dst)
            frames.append(Array(UnsafeBufferPointer(start: raw, count: 64)))
        }
        // All three agree on every packet before anything is timed.
        var generated: [XDPProgram.RunResult] = []
        for (i, f) in frames.enumerated() {
            progress("test run: packet \(i + 1)/\(count) compared")
            let outs = pipeline.process(f, port: 0)
            let r = try xdp.run(f, port: 0)
            guard (outs.first.map { ($0.0, $0.1) } ?? (0, [])) == (r.forwarded ? (UInt16(r.port), r.bytes) : (0, [])) else {
                throw CLIError("the runtime and the XDP program disagree on packet \(i): runtime \(outs.map { "port \($0.0) \($0.1.prefix(40).map { String(format: "%02x", $0) }.joined())" }), kernel verdict \(r.verdict) port \(r.port) \(r.bytes.prefix(40).map { String(format: "%02x", $0) }.joined()); in \(f.prefix(40).map { String(format: "%02x", $0) }.joined())")
            }
            generated.append(r)
        }
        for (i, (f, r)) in zip(frames, generated).enumerated() {
            let h = try hand.run(f)
            guard h.action == r.action, h.bytes == r.bytes else {
                throw CLIError("the hand-written baseline and the generated program disagree on packet \(i): action \(h.action) vs \(r.action), \(h.bytes.prefix(40).map { String(format: "%02x", $0) }.joined()) vs \(r.bytes.prefix(40).map { String(format: "%02x", $0) }.joined())")
            }
        }
        // Rounds of the kernel and of the runtime in turn, so both see the same moments of
        // this noisy host; a round of the kernel is every packet with --repeat-run passes
        // (repetitions run on the bytes the previous pass left). Medians of the rounds.
        var xdpRounds: [Double] = [], runtimeRounds: [Double] = [], handRounds: [Double] = [], emptyRounds: [Double] = []
        let buf = PacketBuffer()
        let runtimeRepeats = 100
        for round in 1...testRunRounds {
            try checkStop()
            progress("test run: round \(round)/\(testRunRounds)")
            var xdpNs = 0.0
            for (i, f) in frames.enumerated() {
                let timed = try xdp.run(f, port: 0, repeat: UInt32(repeatRun))
                guard timed.forwarded else { throw CLIError("packet \(i): the repeated runs were not forwarded (TTL expired?)") }
                xdpNs += Double(timed.nanoseconds)
            }
            xdpRounds.append(1000 / (xdpNs / Double(count)))
            var handNs = 0.0, emptyNs = 0.0
            for f in frames { handNs += Double(try hand.run(f, repeat: UInt32(repeatRun)).nanoseconds) }
            for f in frames.prefix(64) { emptyNs += Double(try empty.run(f, repeat: UInt32(repeatRun)).nanoseconds) }
            handRounds.append(1000 / (handNs / Double(count)))
            emptyRounds.append(1000 / (emptyNs / 64))
            let t0 = MonotonicClock.nanoseconds
            for _ in 0..<runtimeRepeats {
                for f in frames {
                    f.withUnsafeBytes { buf.load($0) }
                    pipeline.process(buf, port: 0)
                }
            }
            runtimeRounds.append(Double(runtimeRepeats * count) / MonotonicClock.seconds(since: t0) / 1e6)
        }
        let xdpTestrun = median(xdpRounds), runtimeMpps = median(runtimeRounds), handTestrun = median(handRounds), emptyTestrun = median(emptyRounds)
        if !json && !testRunOnly {
            progressLine(String(format: "test run: kernel %.2f-%.2f Mpps (hand-written %.2f-%.2f, empty program %.2f-%.2f), runtime %.2f-%.2f over %d rounds\n",
                                xdpRounds.min()!, xdpRounds.max()!, handRounds.min()!, handRounds.max()!, emptyRounds.min()!, emptyRounds.max()!,
                                runtimeRounds.min()!, runtimeRounds.max()!, testRunRounds))
        }
        let testRunFields: [(String, NamedFields.Value)] = [
            ("xdp_router_testrun_mpps", figure(xdpTestrun)), ("runtime_router_mpps", figure(runtimeMpps)), ("testrun_ratio", figure(xdpTestrun / runtimeMpps)),
            ("handwritten_router_testrun_mpps", figure(handTestrun)), ("testrun_vs_handwritten", figure(xdpTestrun / handTestrun)),
            ("empty_program_testrun_mpps", figure(emptyTestrun)), ("testrun_rounds", integer(testRunRounds)),
            ("xdp_router_testrun_mpps_min", figure(xdpRounds.min()!)), ("xdp_router_testrun_mpps_max", figure(xdpRounds.max()!)),
        ]

        if testRunOnly {
            progress("")
            try printJSON(NamedFields(testRunFields + [("routes", integer(routes))]))
            return
        }

        // (b) on veth pairs.
        let me = try selfPath()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-xdp-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lab = try BenchLab()
        defer { lab.remove() }
        StopSignal.install()
        let (file, entries) = try writeBenchFrames(packets, into: dir)
        // One XDP drop program, for the sender's ceiling (on the switch end) and for the sink:
        // redirected frames are received (veth needs a program there) and cost it nothing.
        let drop = dir + "/drop.o"
        try EBPFObjectCompiler.compile(source: "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC(\"xdp\") int sink(struct xdp_md *c) { return XDP_DROP; }\nchar LICENSE[] SEC(\"license\") = \"GPL\";\n", output: drop)
        try lab.network.ip(in: lab.sink, ["link", "set", lab.sinkIf, "xdpdrv", "obj", drop, "sec", "xdp"])

        func send() throws -> (mpps: Double, seconds: Double) {
            let s = try lab.network.exec(in: lab.source, [me, "send", file, "-i", lab.sourceIf, "--topspeed", "--json"])
            guard s.status == 0, let sent = decodeJSON(Send.Summary.self, s.out) else { throw CLIError("sluice send failed: \(s.err)\(s.out)") }
            return (sent.mpps, sent.elapsed_s)
        }
        // Threaded NAPI on the interface the XDP program runs on (see `NAPIThreads`).
        func napiThreads(_ on: Bool) throws {
            let r = try lab.network.exec(in: lab.switchNS, ["/bin/sh", "-c", "echo \(on ? 1 : 0) > /sys/class/net/\(lab.switchIf[0])/threaded"])
            if r.status != 0 { throw CLIError("cannot turn NAPI threads \(on ? "on" : "off") on \(lab.switchIf[0]): \(r.err)") }
        }
        // Index 0: NAPI in softirq (the kernel's default), 1: NAPI in threads.
        var sender: [[Double]] = [[], []], xdpFwd: [[Double]] = [[], []], pcapFwd: [Double] = []
        for r in 1...`repeat` {
            for threaded in [false, true] {
                let mode = threaded ? "threaded NAPI" : "softirq NAPI"
                try checkStop()
                progress("sender ceiling, \(mode): run \(r)/\(`repeat`)")
                try lab.network.ip(in: lab.switchNS, ["link", "set", lab.switchIf[0], "xdpdrv", "obj", drop, "sec", "xdp"])
                if threaded { try napiThreads(true) }
                sender[threaded ? 1 : 0].append(try send().mpps)
                if threaded { try napiThreads(false) }
                try lab.network.ip(in: lab.switchNS, ["link", "set", lab.switchIf[0], "xdpdrv", "off"])

                try checkStop()
                progress("xdp router, \(mode): run \(r)/\(`repeat`)")
                let sw = try lab.network.start(in: lab.switchNS, [me, "attach", "--backend", "xdp", "--mode", "native",
                                                                  "--program", "ipv4-router", "--entries", entries]
                                                                 + lab.around.portArguments + ["--json"] + (threaded ? ["--threaded-napi"] : []))
                defer { sw.terminate() }
                guard sw.waitForError(containing: "attached at XDP", seconds: 60) else {
                    throw CLIError("sluice attach --backend xdp did not attach: \(sw.errorText)")
                }
                let s = try send()
                usleep(200_000)
                sw.signal(SIGINT)
                _ = sw.wait(seconds: 30)
                // The outcome counts `attach --backend xdp --json` prints (of which forwarded is read).
                struct Outcomes: Decodable { var forwarded: UInt64 }
                guard let forwarded = decodeJSON(Outcomes.self, sw.outputText)?.forwarded else {
                    throw CLIError("attach --backend xdp printed no outcomes: \(sw.errorText)\(sw.outputText)")
                }
                xdpFwd[threaded ? 1 : 0].append(Double(forwarded) / s.seconds / 1e6)
            }

            try checkStop()
            progress("pcap router: run \(r)/\(`repeat`)")
            let pc = try lab.network.start(in: lab.switchNS, [me, "attach", "--program", "ipv4-router", "--entries", entries]
                                                             + lab.around.portArguments + ["--json"])
            defer { pc.terminate() }
            guard pc.waitForError(containing: "Ctrl-C to stop", seconds: 20) else { throw CLIError("sluice attach did not start: \(pc.errorText)") }
            let s2 = try send()
            usleep(300_000)
            pc.signal(SIGINT)
            _ = pc.wait(seconds: 30)
            guard let ports = decodeJSON(Attach.Counters.self, pc.outputText)?.ports, ports.count > 1 else {
                throw CLIError("sluice attach printed no counters: \(pc.errorText)")
            }
            pcapFwd.append(Double(ports[1].tx_packets) / s2.seconds / 1e6)
        }
        // (c) aggregation.
        let (xdpAgg, socketAgg) = try aggregation(me, progress)
        progress("")
        let fields: [(String, NamedFields.Value)] = testRunFields + [
            ("napi", .text("threaded")),
            ("sender_mpps", figure(median(sender[1]))), ("xdp_router_mpps", figure(median(xdpFwd[1]))), ("pcap_router_mpps", figure(median(pcapFwd))),
            ("router_ratio", figure(median(xdpFwd[1]) / median(pcapFwd))), ("xdp_share_of_sender", figure(median(xdpFwd[1]) / median(sender[1]))),
            ("sender_softirq_mpps", figure(median(sender[0]))), ("xdp_router_softirq_mpps", figure(median(xdpFwd[0]))),
            ("router_ratio_softirq", figure(median(xdpFwd[0]) / median(pcapFwd))), ("xdp_share_of_sender_softirq", figure(median(xdpFwd[0]) / median(sender[0]))),
            ("repeat_run", integer(repeatRun)),
        ] + aggregationFields(xdp: median(xdpAgg), socket: median(socketAgg)) + [
            ("packets", integer(packets)), ("repeat", integer(`repeat`)), ("routes", integer(routes)),
        ]
        if json {
            try printJSON(NamedFields(fields))
        } else {
            for (k, v) in fields {
                let text: String
                switch v {
                case .text(let s): text = "\"\(s)\""
                case .count(let n): text = "\(n)"
                case .figure(let f): text = f.description
                }
                print("\(k.padding(toLength: 26, withPad: " ", startingAt: 0)) \(text)")
            }
        }
    }

    func checkStop() throws { if StopSignal.requested != nil { throw CLIError("interrupted; the namespaces and files it made are removed") } }

    /// Part (c): `repeat` runs each through the socket aggregator and through XDP, interleaved.
    func aggregation(_ me: String, _ progress: (String) -> Void) throws -> (xdp: [Double], socket: [Double]) {
        var socketAgg: [Double] = [], xdpAgg: [Double] = []
        for r in 1...`repeat` {
            try checkStop()
            progress("socket aggregation: run \(r)/\(`repeat`)")
            socketAgg.append(try aggregationRun(me))
            try checkStop()
            progress("XDP aggregation: run \(r)/\(`repeat`)")
            xdpAgg.append(try xdpAggregationRun(me))
        }
        return (xdpAgg, socketAgg)
    }

    func figure(_ x: Double) -> NamedFields.Value { .figure(Rounded(x)) }
    func integer(_ n: Int) -> NamedFields.Value { .count(UInt64(n)) }

    /// Part (c)'s figures: the medians of elements per second through each aggregator, and the
    /// settings both ran with.
    func aggregationFields(xdp: Double, socket: Double) -> [(String, NamedFields.Value)] {
        [("xdp_agg_elements_per_s", figure(xdp)), ("socket_agg_elements_per_s", figure(socket)),
         ("agg_ratio", figure(xdp / socket)), ("agg_slots", integer(aggSlots)), ("agg_k", integer(aggK))]
    }

    /// Four workers in namespaces of their own, their veths' other ends in this namespace with
    /// `switchml` attached at XDP (native; the workers' ends run a pass program so redirected
    /// copies are received): elements per second of the slowest worker.
    func xdpAggregationRun(_ me: String) throws -> Double {
        let network = NetworkLab(prefix: "sb"), n = 4
        defer { network.remove() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-xagg-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pass = dir + "/pass.o"
        try EBPFObjectCompiler.compile(source: "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC(\"xdp\") int pass(struct xdp_md *c) { return XDP_PASS; }\nchar LICENSE[] SEC(\"license\") = \"GPL\";\n", output: pass)
        let (lab, members) = try network.addSwitchMLWorkers(n)
        for (w, e) in zip(lab.hosts, lab.hostInterfaces) { try network.ip(in: w, ["link", "set", e, "xdpdrv", "obj", pass, "sec", "xdp"]) }
        let xdp: XDPProgram
        do {
            xdp = try XDPProgram(try SwitchML.program(k: aggK).verified())
            let cp = try XDPControlPlane(xdp)
            try SwitchML.install(SwitchML.Job(job: 1, udpPort: 0xBEE1, slotBase: 0, slots: aggSlots, group: 2, workers: members), into: cp)
            for (i, port) in lab.switchPorts.enumerated() { _ = try xdp.attach(interface: port, port: UInt16(i + 1), mode: .native) }
        } catch { throw CLIError("\(error)") }
        defer { xdp.detachAll() }
        let runs = try (0..<n).map { w in
            try network.start(in: lab.hosts[w], [me, "allreduce", "--transport", "udp", "--aggregator", NetworkLab.switchMLServiceAddress,
                                                 "--rank", "\(w)", "--workers", "\(n)", "--size", aggSize.text, "--slots", "\(aggSlots)", "--k", "\(aggK)", "--min-timeout", aggMinTimeout.text, "--json"])
        }
        return try slowestWorker(runs)
    }

    /// Four workers and the socket aggregator in namespaces of their own (removed at the end):
    /// elements per second of the slowest worker.
    func aggregationRun(_ me: String) throws -> Double {
        let network = NetworkLab(prefix: "sb"), n = 4
        defer { network.remove() }
        let agg = try network.addNamespace("ag")
        let lab = try network.addHosts(n, aroundSwitchIn: agg)
        for w in 0..<n {
            try network.addAddress("10.8.\(w).1/24", to: lab.switchPorts[w], in: agg)
            try network.addAddress("10.8.\(w).2/24", to: lab.hostInterfaces[w], in: lab.hosts[w])
        }
        let server = try network.start(in: agg, [me, "aggregator", "--backend", "socket", "--slots", "\(aggSlots)", "--k", "\(aggK)", "--duration", "120"]
                                                + (0..<n).flatMap { ["--worker", "10.8.\($0).2"] })
        defer { server.terminate() }
        guard server.waitForError(containing: "Ctrl-C to stop", seconds: 20) else { throw CLIError("the aggregator did not start: \(server.errorText)") }
        let runs = try (0..<n).map { w in
            try network.start(in: lab.hosts[w], [me, "allreduce", "--transport", "udp", "--aggregator", "10.8.\(w).1",
                                                 "--rank", "\(w)", "--workers", "\(n)", "--size", aggSize.text, "--slots", "\(aggSlots)", "--k", "\(aggK)", "--min-timeout", aggMinTimeout.text, "--json"])
        }
        return try slowestWorker(runs)
    }

    /// Waits for `sluice allreduce --json` workers: the lowest elements per second, or an error
    /// when one failed or got a wrong sum.
    func slowestWorker(_ runs: [ChildProcess]) throws -> Double {
        var slowest = Double.infinity
        for r in runs {
            guard r.wait(seconds: 300) == 0, let worker = decodeJSON(AllReduceCommand.Summary.self, r.outputText), worker.correct else {
                throw CLIError("an aggregation worker failed: \(r.errorText)\(r.outputText)")
            }
            slowest = min(slowest, worker.elements_per_s)
            if ProcessInfo.processInfo.environment["SLUICE_BENCH_VERBOSE"] != nil { FileHandle.standardError.write((r.outputText + "\n").data(using: .utf8)!) }
        }
        return slowest
    }
}
