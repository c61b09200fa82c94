import SluiceControlPlane
import ArgumentParser
import Foundation
import SluiceEmulator
import SluiceIR
import SluicePcap
import SluicePcapFiles
import SluiceRuntime
import SluiceTesting
import SluiceXDP
import SluiceSupport

/// `sluice fuzz`: seeded random, mutated and truncated packets through a program on every backend
/// it runs on. Reports crashes (the packet that crashed, before the process ends) and any
/// disagreement between the runtime and the kernel, with the packets that show it as a pcap and
/// as an STF spec of what the runtime did.
struct Fuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fuzz a program: seeded packets through the runtime and XDP, crashes and disagreements reported.",
        discussion: """
            Packets are made from the program's own parser (a random walk through its states, each \
            select's key bits set to match the case taken; fields often given the constants the \
            program compares them with and the matches of the --entries; checksums it verifies \
            mostly right), then mutated (bits flipped, bytes \
            overwritten, cut short, extended), plus plain random bytes. Packet i depends only on \
            --seed and i: `--seed S --first I --packets 1` makes one again.

            Backends: runtime (always) and xdp (root; the program compiled to eBPF and run by the \
            kernel's BPF_PROG_TEST_RUN, packet for packet against the runtime: same ports, same \
            bytes, every multicast copy). A crash in the runtime prints the packet (seed, index, \
            port, hex) and writes it to DIR/crash.pcap before the process ends. Disagreements go \
            to DIR/disagreements.pcap and DIR/disagreements.stf (the runtime's outputs as \
            expectations; the kernel's in comments). Exit status: 0 clean, 1 disagreements, \
            70 crash. Controllers (l2-switch's learning) do not run.

            Examples:
              sluice fuzz ipv4-router --packets 1000000
              sudo sluice fuzz switchml --backends runtime,xdp --packets 100000 --seed 7
            """)

    @Argument(help: "A built-in program (see `sluice programs`) or a program file (.json).")
    var program: String

    @Option(help: "Packets to send through each backend.")
    var packets: Int = 100_000

    @Option(help: "The seed (decimal or 0x hex); printed, so any run can be repeated.")
    var seed: OptionValue<Seed> = "0x5eedf022"

    @Option(help: "The index of the first packet (to repeat part of a run).")
    var first: Int = 0

    @Option(help: "Backends, comma-separated: runtime, xdp.")
    var backends: OptionValue<Backends> = "runtime"

    @Option(help: "An entries file applied to every backend first (without one, tables are empty and most packets stop at their defaults).")
    var entries: String?

    @Option(help: "Ingress ports to pick from (a range A-B or a comma-separated list).")
    var ports: OptionValue<PortList> = "0-7"

    @Option(name: .customLong("pcap-dir"), help: "The folder for crash.pcap and disagreements.pcap (with disagreements.stf).")
    var out: String = "fuzz-out"

    /// The old spelling of --pcap-dir, refused with the new one.
    @Option(name: .customLong("out"), help: .hidden)
    var oldOut: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    static let maxPackets = 100_000_000

    func validate() throws {
        if oldOut != nil { throw ValidationError(renamed("--out", "--pcap-dir")) }
        guard (1...Self.maxPackets).contains(packets) else { throw ValidationError("--packets \(packets) (valid: 1 ... \(Self.maxPackets))") }
        guard first >= 0, first <= Int.max - packets else { throw ValidationError("--first \(first) (valid: 0 or more)") }
        _ = try seed.value("--seed")
        _ = try ports.value("--ports")
        _ = try backends.value("--backends")
    }

    /// A 64-bit seed, decimal or 0x hex.
    enum Seed: OptionSyntax {
        static func parse(_ text: String) throws(OptionProblem) -> UInt64 {
            let s = text.lowercased()
            guard let v = s.hasPrefix("0x") ? UInt64(s.dropFirst(2), radix: 16) : UInt64(s) else {
                throw OptionProblem(valid: "a 64-bit integer, decimal or 0x hex")
            }
            return v
        }
    }

    enum Backend: String { case runtime, xdp }

    /// The backends, comma-separated; the runtime among them.
    enum Backends: OptionSyntax {
        static func parse(_ text: String) throws(OptionProblem) -> [Backend] {
            var list: [Backend] = []
            for name in text.split(separator: ",") {
                guard let b = Backend(rawValue: String(name)) else { throw OptionProblem("unknown backend '\(name)'", valid: "runtime, xdp") }
                list.append(b)
            }
            guard list.contains(.runtime) else { throw OptionProblem("the runtime is the reference and always runs", valid: "runtime or runtime,xdp") }
            return list
        }
    }

    struct Report: Encodable {
        var program: String
        var seed: String
        var first: Int
        var packets: Int
        var kinds: [String: Int]
        var runtime_forwarded: Int
        var runtime_multicast: Int
        var runtime_dropped: Int
        var runtime_mpps: Double
        var xdp: String
        var xdp_compared: Int
        var disagreements: Int
        var files: [String]
    }

    func run() throws {
        let info = try resolveProgram(program)
        let ir = info.program
        let seed = seed.parsed, ports = ports.parsed, wanted = backends.parsed
        let seedText = "0x" + String(seed, radix: 16)
        let pipeline: Pipeline
        // A program that reads queue depths (drill) runs with them at 0 outside the emulator.
        do { pipeline = try Pipeline(ir, queues: ir.facts.readsQueueValues) } catch { throw CLIError("\(error)") }
        var xdp: (XDPProgram, XDPControlPlane)?
        var xdpState = "not asked for"
        if wanted.contains(.xdp) {
            guard getuid() == 0 else { throw CLIError("--backends xdp needs root: the kernel runs the program (run it with sudo, or --backends runtime)") }
            do {
                let p = try XDPProgram(ir)
                xdp = (p, try XDPControlPlane(p))
                xdpState = "ran"
            } catch {
                throw CLIError("--backends xdp: \(program) does not run at XDP: \(error)")
            }
        }
        if let entries {
            do {
                let file = try EntriesFile(path: entries)
                try file.apply(to: pipeline)
                if let (_, cp) = xdp { try file.apply(to: cp) }
            } catch { throw CLIError("\(error)") }
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var fuzzer = PacketFuzzer(ir, seed: seed, ports: ports)
        fuzzer.learn(pipeline)
        stderr("fuzz \(program): \(packets) packets from #\(first), seed \(seedText) (repeat: --seed \(seedText) --first \(first) --packets \(packets)), backends \(wanted.map(\.rawValue).joined(separator: ","))")
        CrashReport.install(path: (out as NSString).appendingPathComponent("crash.pcap"), program: program, seed: seedText)

        // Packets by kind (index: position in `PacketFuzzer.Kind.allCases`): no lookup per packet.
        var kinds = [Int](repeating: 0, count: PacketFuzzer.Kind.allCases.count)
        var forwarded = 0, multicast = 0, dropped = 0, compared = 0
        var disagreements: [(index: Int, port: UInt16, bytes: [UInt8], runtime: [(port: UInt16, bytes: [UInt8])], kernel: [(port: UInt16, bytes: [UInt8])])] = []
        var disagreementCount = 0
        let buffer = PacketBuffer()
        let start = MonotonicClock.nanoseconds
        var runtimeSeconds = 0.0
        var lastProgress = MonotonicClock.nanoseconds
        // The crash report's own test: a trap on this packet, as a bug in a backend would cause.
        let crashAt = ProcessInfo.processInfo.environment["SLUICE_FUZZ_SELFTEST_CRASH_AT"].flatMap { Int($0) }
        for i in first..<(first + packets) {
            let (bytes, port, kind) = fuzzer.packet(i)
            kinds[kind.index] += 1
            let timestamp = UInt64(i) &* 1000
            let t0 = MonotonicClock.nanoseconds
            CrashReport.current(index: i, port: port, bytes: bytes)
            if i == crashAt { raise(SIGILL) }
            var soft: [(port: UInt16, bytes: [UInt8])] = []
            if buffer.load(bytes) {
                pipeline.process(buffer, port: port, timestamp: timestamp)
                let n = pipeline.outputCount
                if n == 0 { dropped += 1 } else if n == 1 { forwarded += 1 } else { multicast += 1 }
                if xdp != nil { soft = (0..<n).map { let o = pipeline.output($0); return (o.port, o.buffer.bytes) } }
            } else {
                dropped += 1
            }
            runtimeSeconds += MonotonicClock.seconds(since: t0)
            if let (p, _) = xdp, bytes.count >= 14 {
                let k = try p.outputs(bytes, port: port, timestamp: timestamp).packets
                compared += 1
                if k.map(\.port) != soft.map(\.port) || k.map(\.bytes) != soft.map(\.bytes) {
                    disagreementCount += 1
                    if disagreements.count < 100 { disagreements.append((i, port, bytes, soft, k)) }
                }
            }
            if (i - first) & 0x3FFF == 0x3FFF, MonotonicClock.seconds(since: lastProgress) > 2 {
                lastProgress = MonotonicClock.nanoseconds
                stderr("  \(i - first + 1) of \(packets) packets, \(disagreementCount) disagreements")
            }
        }
        CrashReport.clear()

        var files: [String] = []
        if !disagreements.isEmpty { files = try writeDisagreements(disagreements, seed: seedText) }
        let report = Report(program: program, seed: seedText, first: first, packets: packets,
                            kinds: Dictionary(uniqueKeysWithValues: PacketFuzzer.Kind.allCases.map { ($0.rawValue, kinds[$0.index]) }),
                            runtime_forwarded: forwarded, runtime_multicast: multicast, runtime_dropped: dropped,
                            runtime_mpps: runtimeSeconds > 0 ? Double(packets) / runtimeSeconds / 1e6 : 0,
                            xdp: xdpState, xdp_compared: compared, disagreements: disagreementCount, files: files)
        if json {
            try printJSON(report)
        } else {
            print("fuzz \(program), seed \(seedText): \(packets) packets (\(Self.kindText(kinds))) in \(String(format: "%.1f", MonotonicClock.seconds(since: start))) s")
            print("  runtime: no crash; \(forwarded) forwarded, \(multicast) multicast, \(dropped) dropped; \(String(format: "%.2f", report.runtime_mpps)) Mpps")
            if xdp != nil {
                print("  xdp: \(compared) compared with the runtime (frames of 14 bytes or more), \(disagreementCount) disagree")
                for f in files { print("  wrote \(f)") }
            }
        }
        if disagreementCount > 0 { throw ExitCode(1) }
    }

    static func kindText(_ k: [Int]) -> String {
        PacketFuzzer.Kind.allCases.map { "\(k[$0.index]) \($0.rawValue)" }.joined(separator: ", ")
    }

    /// The disagreeing packets as a pcap (inputs, with the ingress port in the comment of the
    /// STF) and an STF spec that expects what the runtime did, the kernel's outputs beside.
    func writeDisagreements(_ d: [(index: Int, port: UInt16, bytes: [UInt8], runtime: [(port: UInt16, bytes: [UInt8])], kernel: [(port: UInt16, bytes: [UInt8])])],
                            seed: String) throws -> [String] {
        let pcapPath = (out as NSString).appendingPathComponent("disagreements.pcap")
        let stfPath = (out as NSString).appendingPathComponent("disagreements.stf")
        let writer = try PcapWriter(path: pcapPath)
        var stf = "# sluice fuzz \(program) --seed \(seed): packets on which the runtime and the kernel disagree.\n"
            + "# Expectations are the runtime's outputs (the reference); the kernel's are in comments.\n"
        for (n, x) in d.enumerated() {
            x.bytes.withUnsafeBytes { writer.write(timestampNanoseconds: Int64(n) * 1000, bytes: $0) }
            stf += "\n# packet #\(x.index)\npacket \(x.port) \(x.bytes.hexString(separator: ""))\n"
            for o in x.runtime { stf += "expect \(o.port) \(o.bytes.hexString(separator: "")) $\n" }
            if x.runtime.isEmpty { stf += "# the runtime dropped it\n" }
            for o in x.kernel { stf += "# kernel: port \(o.port) \(o.bytes.hexString(separator: ""))\n" }
            if x.kernel.isEmpty { stf += "# kernel: dropped\n" }
        }
        writer.close()
        guard FileIO.write(stfPath, stf) else { throw CLIError("cannot write \(stfPath)") }
        return [pcapPath, stfPath]
    }
}
