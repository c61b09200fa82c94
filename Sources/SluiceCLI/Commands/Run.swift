import SluiceControlPlane
import ArgumentParser
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceTesting

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Push packets through a program in the software runtime and print what comes out.",
        discussion: """
            Each --packet is PORT:HEX (spaces not allowed; use the hex of a whole Ethernet frame).
            Example:
              sluice run ipv4-router --entries routes.txt --packet 0:000000000001000000000099080045...
            --trace prints why each packet went where it did (parser, tables, actions, traffic manager):
              sluice run ipv4-router --entries routes.txt --trace --packet 0:0000000000010000...
              sluice run l2-switch --trace --trace-format json --packet 1:ffffffffffff...
            """)

    @Argument(help: "A built-in program (see `sluice programs`) or a program file (.json).")
    var program: String

    @Option(help: "An entries file (BMv2 runtime CLI commands) to apply first.")
    var entries: String?

    @Option(name: .customLong("packet"), help: "PORT:HEX, repeatable.")
    var packets: [String] = []

    @Option(help: "Seed for the program's random values.")
    var seed: UInt64 = 1

    @OptionGroup var tracing: TraceOptions

    @Flag(help: "Print one JSON object (every packet's outputs as hex, the counts) instead of text; traces go to standard error.")
    var json = false

    /// The --json object.
    struct Output: Encodable {
        struct Sent: Encodable { var port: UInt16; var bytes: String }
        struct Packet: Encodable { var index: Int; var port: UInt16; var outputs: [Sent]; var dropped: Bool }
        struct Counts: Encodable {
            var received: UInt64; var sent: UInt64; var parser_drops: UInt64; var ingress_drops: UInt64; var egress_drops: UInt64
        }
        var program: String; var engine: String; var packets: [Packet]; var counts: Counts
    }

    func run() throws {
        let info = try resolveProgram(program)
        let ir = info.program
        let ports: [UInt16] = Array(0..<8)
        let h: SwitchHarness
        do {
            h = try SwitchHarness(ir, controller: info.controller?(ports), seed: seed,
                                  trace: try tracing.tracer(sink: traceSink(toStandardError: json)))
        } catch let e as TraceFilterError {
            throw CLIError("--trace-filter: \(e)")
        }
        if let entries {
            do { try EntriesFile(path: entries).apply(to: h.pipeline) } catch { throw CLIError("\(error)") }
        }
        var results: [Output.Packet] = []
        for (i, spec) in packets.enumerated() {
            let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let port = UInt16(parts[0]) else {
                throw ValidationError("--packet #\(i + 1) '\(spec.prefix(40))': expected PORT:HEX, e.g. 0:ffffffffffff...")
            }
            // The pipeline keeps only the port's low bits: 600 would silently enter on port 88.
            let width = StandardField.ingressPort.width
            guard port < 1 << width else {
                throw ValidationError("--packet #\(i + 1): port \(port) does not fit the program's \(width)-bit ingress port (valid: 0...\((1 << width) - 1))")
            }
            let bytes: [UInt8]
            do { bytes = try [UInt8](hex: parts[1]) } catch { throw ValidationError("--packet #\(i + 1): \(error)") }
            try h.send(bytes, port: port)
            let outs = h.drain()
            results.append(Output.Packet(index: i + 1, port: port, outputs: outs.map { Output.Sent(port: $0.port, bytes: $0.bytes.hexString(separator: "")) },
                                         dropped: outs.isEmpty))
            if json { continue }
            if outs.isEmpty { print("packet \(i + 1) in port \(port): dropped") }
            for o in outs { print("packet \(i + 1) in port \(port) -> out port \(o.port): \(o.bytes.hexString(separator: ""))") }
        }
        let s = h.pipeline.stats
        if json {
            return try printJSON(Output(program: program, engine: h.pipeline.engine.rawValue, packets: results,
                                        counts: Output.Counts(received: s.received, sent: s.sent, parser_drops: s.parserDrops,
                                                              ingress_drops: s.ingressDrops, egress_drops: s.egressDrops)))
        }
        print("received \(s.received), sent \(s.sent), parser drops \(s.parserDrops), ingress drops \(s.ingressDrops), egress drops \(s.egressDrops); \(engineLine(h.pipeline))")
    }
}
