import ArgumentParser
import SluiceIR
import SluicePrograms
import SluiceRuntime

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks, each measured against a baseline in the same run (build with -c release).",
        subcommands: [PipelineBenchCommand.self, TablesBenchCommand.self, EmulatorBenchCommand.self, PcapBenchCommand.self, TrafficBenchCommand.self, XDPBenchCommand.self, CollectorBenchCommand.self, P4RuntimeBenchCommand.self])
}

struct PipelineBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Packets per second through a compiled program, against a baseline in the same run.",
        discussion: """
            ipv4-router (the default) has a hand-written counterpart: N 64-byte IPv4/UDP packets with \
            random destinations over ROUTES installed /24 and /16 routes plus a default route go \
            through the compiled pipeline on one core and through a hand-written Swift router with \
            the same semantics over the same route structure; both are checked to be byte-identical \
            first. overhead = baseline_mpps / mpps. Under the native engine (the default) the \
            closures run the same packets too (closure_mpps). The sides take turns: ten rounds, in \
            each of which every side runs the next tenth of the packets, a different side first \
            each round, so that a slow spell of a shared host falls on all of them alike.

            Any other program (built in, a package's own, or a program file from `sluice compile P \
            --emit program`) runs on packets its parser takes, made from its IR and the entries of \
            --entries (so they hit them), entering on --ports; its controller's first entries are \
            installed, but it does not run per packet. Under the native engine (the default) the \
            closure engine is the baseline on the same packets (outputs checked to agree first, then \
            timed in turns as above); with --engine closures there is no baseline, only the figure. \
            Examples:
              sluice bench pipeline --json
              sluice bench pipeline --program l2-switch --packets 2000000
              sluice bench pipeline --program my-router.json --entries routes.txt --engine closures
            """)

    @Option(help: "A built-in program (see `sluice programs`) or a program file (.json).")
    var program: String = "ipv4-router"

    @Option(help: "Packets to push through each side (in ten rounds of turns).")
    var packets: Int = 10_000_000

    @Option(help: "ipv4-router: installed routes (/24 and /16), plus a default route.")
    var routes: Int = 10_000

    @Option(help: "Other programs: an entries file (BMv2 runtime CLI commands) to install first.")
    var entries: String?

    @Option(help: "Other programs: ingress ports to pick from (a range A-B or a comma-separated list).")
    var ports: OptionValue<PortList> = "0-7"

    @Option(help: "Seed for routes, packets and the program's random values (printed).")
    var seed: UInt64?

    @Option(help: "What runs the program: native (C through clang) or closures; default $SLUICE_ENGINE, else native.")
    var engine: PipelineEngine?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    /// ipv4-router with no entries file: the hand-written baseline.
    var isRouter: Bool { program == IPv4Router.name && entries == nil }

    func validate() throws {
        try requireWithin(1...1_000_000_000, packets, option: "--packets", valid: "1 ... 1000000000")
        guard (1...1_000_000).contains(routes) else { throw ValidationError("--routes must be within 1...1000000 (got \(routes))") }
        _ = try ports.value("--ports")
    }

    func run() throws {
        let seed = self.seed ?? UInt64.random(in: 1...UInt64(UInt32.max))
        if !json { print("seed \(seed) (rerun with --seed \(seed))") }
        guard isRouter else { return try runProgram(seed: seed) }
        let r = try PipelineBench(routes: routes, packets: packets, seed: seed, progress: !json, engine: engine ?? .default).run()
        if json {
            struct Result: Encodable {
                var program: String; var packets: Int; var routes: Int; var seed: UInt64; var engine: String
                var closure_mpps: Nullable<Double>; var mpps: Double; var baseline_mpps: Double; var overhead: Double
                var ns_per_packet: Double; var baseline_ns_per_packet: Double
            }
            try printJSON(Result(program: program, packets: packets, routes: routes, seed: seed, engine: r.engine.rawValue,
                                 closure_mpps: Nullable(r.closureMpps), mpps: r.mpps, baseline_mpps: r.baselineMpps,
                                 overhead: r.baselineMpps / r.mpps, ns_per_packet: 1000 / r.mpps, baseline_ns_per_packet: 1000 / r.baselineMpps))
        } else {
            print("program \(program): \(packets) packets, \(routes) routes + default")
            print("  compiled pipeline (\(r.engine.rawValue)): \(fmt(r.mpps)) Mpps (\(fmt(1000 / r.mpps)) ns/packet)")
            if let note = r.engineNote { print("  native engine not used: \(note)") }
            if let c = r.closureMpps { print("  closures: \(fmt(c)) Mpps (native / closures: \(fmt(r.mpps / c)))") }
            print("  hand-written Swift: \(fmt(r.baselineMpps)) Mpps (\(fmt(1000 / r.baselineMpps)) ns/packet)")
            print("  overhead (baseline_mpps / mpps): \(fmt(r.baselineMpps / r.mpps))")
        }
    }

    /// Any program: synthesized packets, the other engine as the baseline.
    func runProgram(seed: UInt64) throws {
        let resolved = try resolveProgram(program)
        let r = try ProgramPipelineBench(program: resolved, entries: entries, ports: ports.parsed, packets: packets, seed: seed,
                                         progress: !json, engine: engine ?? .default).run()
        if json {
            struct Result: Encodable {
                var program: String; var packets: Int; var seed: UInt64; var engine: String; var engine_note: Nullable<String>
                var mpps: Double; var ns_per_packet: Double
                var closure_mpps: Nullable<Double>; var baseline: String; var baseline_mpps: Nullable<Double>; var speedup: Nullable<Double>
                var pool_packets: Int; var pool_forwarded: Int; var pool_dropped: Int
                var pool_parser_drops: UInt64; var pool_ingress_drops: UInt64; var pool_egress_drops: UInt64; var average_bytes: Double
            }
            try printJSON(Result(program: program, packets: packets, seed: seed, engine: r.engine.rawValue, engine_note: Nullable(r.engineNote),
                                 mpps: r.mpps, ns_per_packet: 1000 / r.mpps, closure_mpps: Nullable(r.closureMpps),
                                 baseline: r.closureMpps == nil ? "none" : "closures", baseline_mpps: Nullable(r.closureMpps),
                                 speedup: Nullable(r.closureMpps.map { r.mpps / $0 }),
                                 pool_packets: r.pool, pool_forwarded: r.forwarded, pool_dropped: r.dropped,
                                 pool_parser_drops: r.parserDrops, pool_ingress_drops: r.ingressDrops, pool_egress_drops: r.egressDrops,
                                 average_bytes: r.averageBytes))
        } else {
            print("program \(program): \(packets) packets cycling through \(r.pool) made from its parser (\(fmt(r.averageBytes)) bytes on average), \(entries.map { "entries \($0)" } ?? "no entries file")")
            print("  of the \(r.pool): \(r.forwarded) left on a port, \(r.dropped) dropped (parser \(r.parserDrops), ingress \(r.ingressDrops), egress \(r.egressDrops))")
            print("  compiled pipeline (\(r.engine.rawValue)): \(fmt(r.mpps)) Mpps (\(fmt(1000 / r.mpps)) ns/packet)")
            if let note = r.engineNote { print("  native engine not used: \(note)") }
            if let c = r.closureMpps {
                print("  closures (baseline): \(fmt(c)) Mpps (native / closures: \(fmt(r.mpps / c)))")
            } else {
                print("  no baseline: \(program) has no hand-written counterpart; --engine native compares native code with the closures")
            }
        }
    }
}

struct TablesBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tables",
        abstract: "Lookups per second of the match structures vs plain Swift dictionaries.",
        discussion: """
            exact: 10k one-word keys (half the probes miss) vs a Dictionary. lpm: 10k /24+/16 routes \
            and 100k random /8-/32 routes, with tuple-space search and with the bucketed LPM index, \
            vs a Dictionary per prefix length probed longest first. ratio = mlps / baseline_mlps.
            """)

    @Option(help: "Lookups per measurement.")
    var lookups: Int = 10_000_000

    @Option(help: "Seed (printed).")
    var seed: UInt64?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        try requireWithin(1...10_000_000_000, lookups, option: "--lookups", valid: "1 ... 10000000000")
    }

    func run() throws {
        let seed = self.seed ?? UInt64.random(in: 1...UInt64(UInt32.max))
        let rows = TablesBench(lookups: lookups, seed: seed).run()
        if json {
            struct Table: Encodable { var table: String; var entries: Int; var insert_ms: Double; var mlps: Double; var baseline_mlps: Double; var ratio: Double }
            struct Out: Encodable { var seed: UInt64; var lookups: Int; var tables: [Table] }
            try printJSON(Out(seed: seed, lookups: lookups, tables: rows.map {
                Table(table: $0.name, entries: $0.entries, insert_ms: $0.insertMs, mlps: $0.mlps, baseline_mlps: $0.baselineMlps, ratio: $0.mlps / $0.baselineMlps)
            }))
        } else {
            print("seed \(seed) (rerun with --seed \(seed)); \(lookups) lookups each")
            for r in rows {
                print("  \(r.name.padding(22)) insert \(fmt(r.insertMs)) ms, \(fmt(r.mlps)) M lookups/s; baseline \(fmt(r.baselineMlps)) M/s; ratio \(fmt(r.mlps / r.baselineMlps))")
            }
        }
    }
}

extension PipelineEngine: ExpressibleByArgument {}
