import ArgumentParser
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceTesting
import SluiceEmulator
import Foundation

struct Tour: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A guided tour of the toolkit: compile ipv4-router and l2-switch, install entries, trace packets, measure.",
        discussion: """
            Runs programs in the software runtime, then a whole leaf-spine fabric in the emulator             (Topologies/leafspine-16.yaml, run from the repository root) and writes its report             (plots, pcaps) to --report.
            """)

    @Option(help: "Where the emulation step writes its report and pcaps.")
    var report: String = "tour-report"

    @Option(help: "The topology of the emulation step.")
    var topology: String = "Topologies/leafspine-16.yaml"

    @Option(help: "Packets for the short throughput measurement at the end.")
    var packets: Int = 2_000_000

    func validate() throws {
        try requireWithin(1...1_000_000_000, packets, option: "--packets", valid: "1 ... 1000000000")
    }

    func run() throws {
        print("== 1. ipv4-router, written in the Sluice DSL (Programs/IPv4Router.swift)")
        let router = try IPv4Router.program(routes: 1024).verified()
        print("   verified: \(router.tables.count) table, \(router.actions.count) actions, \(router.parser.states.count) parser states")
        print("   `sluice compile ipv4-router --emit ir` shows its IR; the table:")
        for line in IRPrinter.print(router.program).split(separator: "\n") where line.contains("key {") || line.contains("default_action") {
            print("     \(line.trimmingCharacters())")
        }
        let entries = """
            table_add ipv4_lpm ipv4_forward 10.0.1.1/32 => 08:00:00:00:01:11 1
            table_add ipv4_lpm ipv4_forward 10.0.2.0/24 => 08:00:00:00:02:22 2
            """
        print("\n== 2. entries (BMv2 runtime CLI syntax):")
        for l in entries.split(separator: "\n") { print("     \(l)") }
        let h = try SwitchHarness(router, entries: entries)
        print("\n== 3. packets in, packets out")
        let cases: [(String, Packet)] = [
            ("to 10.0.1.1, ttl 64", Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99").ipv4(src: "10.0.9.9", dst: "10.0.1.1", ttl: 64).udp(sport: 1234, dport: 80).payload("hello")),
            ("to 10.0.2.7, ttl 2", Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99").ipv4(src: "10.0.9.9", dst: "10.0.2.7", ttl: 2).udp(sport: 1234, dport: 80).payload("hello")),
            ("to 10.0.2.7, ttl 1", Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99").ipv4(src: "10.0.9.9", dst: "10.0.2.7", ttl: 1).udp(sport: 1234, dport: 80)),
            ("to 192.168.1.1 (no route)", Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99").ipv4(src: "10.0.9.9", dst: "192.168.1.1").udp(sport: 1, dport: 2)),
        ]
        for (label, pkt) in cases {
            try h.send(pkt.bytes, port: 0)
            let outs = h.drain()
            if outs.isEmpty { print("   \(label): dropped"); continue }
            for o in outs {
                let p = SluiceTesting.parse(o.bytes)
                print("   \(label): out port \(o.port), dst MAC \(p.ethernet!.dst), ttl \(p.ipv4!.ttl), checksum \(p.ipv4!.checksumValid ? "valid" : "BAD")")
            }
        }
        print("\n== 4. l2-switch: flooding, learning through digests, then unicast")
        let l2 = try SwitchHarness(L2Switch.program().verified(), controller: L2Switch.Controller(ports: [0, 1, 2, 3]))
        let aToB = Packet.ethernet(dst: "00:00:00:00:00:0b", src: "00:00:00:00:00:0a", etherType: 0x88B5).payload(count: 46)
        let bToA = Packet.ethernet(dst: "00:00:00:00:00:0a", src: "00:00:00:00:00:0b", etherType: 0x88B5).payload(count: 46)
        try l2.send(aToB.bytes, port: 0)
        print("   A(port 0) -> B, B unknown: copies on ports \(l2.drain().map { String($0.port) }.joined(separator: ", "))")
        try l2.send(bToA.bytes, port: 2)
        print("   B(port 2) -> A, A learnt:  out on port \(l2.drain().map { String($0.port) }.joined(separator: ", "))")
        try l2.send(aToB.bytes, port: 0)
        print("   A -> B again, B learnt:    out on port \(l2.drain().map { String($0.port) }.joined(separator: ", "))")

        print("\n== 5. speed: \(packets) packets through the compiled router vs hand-written Swift")
        let r = try PipelineBench(routes: 10_000, packets: packets, seed: 42, progress: true).run()
        print("   compiled pipeline \(fmt(r.mpps)) Mpps, hand-written \(fmt(r.baselineMpps)) Mpps, overhead \(fmt(r.baselineMpps / r.mpps))")
        print("   (full benchmark: sluice bench pipeline --program ipv4-router --json, in a release build)")

        print("\n== 6. the emulator: \(topology)")
        let spec: TopologySpec
        do { spec = try TopologyFile.load(path: topology, programs: programSource) } catch { throw CLIError("\(error) (run the demo from the repository root, or give --topology)") }
        print("   \(spec.hosts.count) hosts, \(spec.switches.count) switches running \(Set(spec.nodes.compactMap { $0.switchSpec?.program }).sorted().joined(separator: ", ")), \(spec.links.count) links; routes installed by the routing controller (shortest paths, ECMP groups)")
        var options = EmulatorOptions()
        options.progress = true
        options.sampleInterval = 1_000_000
        options.pcapDirectory = (report as NSString).appendingPathComponent("pcaps")
        try FileManager.default.createDirectory(atPath: options.pcapDirectory!, withIntermediateDirectories: true)
        let emu = try Emulator(spec, options: options, programs: programSource)
        let stats = emu.run()
        let r2 = RunReport(emu, stats: stats)
        print(r2.summaryText(maxPorts: 8).split(separator: "\n", omittingEmptySubsequences: false).map { "   " + $0 }.joined(separator: "\n"))
        let index = try emu.writeReport(r2, to: report)
        print("   open \(index) in a browser for the plots; pcaps (nanosecond timestamps) are in \(options.pcapDirectory!)/")
        print("   (more: sluice emulate --help; sluice bench emulator --json)")
    }
}

extension Substring {
    func trimmingCharacters() -> String { String(drop { $0 == " " }) }
}
