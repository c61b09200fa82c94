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

    func run() throws {
        let info = try resolveProgram(program)
        let ir = info.program
        let ports: [UInt16] = Array(0..<8)
        let h: SwitchHarness
        do {
            h = try SwitchHarness(ir, controller: info.controller?(ports), seed: seed, trace: try tracing.tracer())
        } catch let e as TraceFilterError {
            throw CLIError("--trace-filter: \(e)")
        }
        if let entries {
            do { try EntriesFile(path: entries).apply(to: h.pipeline) } catch { throw CLIError("\(error)") }
        }
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
            if outs.isEmpty { print("packet \(i + 1) in port \(port): dropped") }
            for o in outs { print("packet \(i + 1) in port \(port) -> out port \(o.port): \(o.bytes.hexString(separator: ""))") }
        }
        let s = h.pipeline.stats
        print("received \(s.received), sent \(s.sent), parser drops \(s.parserDrops), ingress drops \(s.ingressDrops), egress drops \(s.egressDrops)")
    }
}
