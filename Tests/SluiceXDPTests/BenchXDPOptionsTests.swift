import Foundation
import Testing
import SluiceTesting

/// `sluice bench xdp` refuses bad options before it needs root or touches a device, and the
/// error names the option and what is valid.
@Suite struct BenchXDPOptionsTests {
    @Test(arguments: [
        (["--test-run-only", "--aggregation-only"], "--test-run-only and --aggregation-only exclude each other"),
        (["--agg-min-timeout", "0"], "--agg-min-timeout '0' (valid: more than 0, at most 1s)"),
        (["--agg-min-timeout", "5x"], "--agg-min-timeout '5x': unknown unit 'x'"),
        (["--agg-slots", "0"], "--agg-slots must be within 1...4096 (got 0)"),
        (["--agg-k", "256"], "--agg-k must be 32, 64 or 128 (got 256)"),
        (["--test-run-rounds", "0"], "--test-run-rounds must be within 1...1001 (got 0)"),
    ])
    func badOptionsAreNamed(args: [String], message: String) throws {
        let r = try ChildProcess.run(sluiceBinary, ["bench", "xdp"] + args)
        #expect(r.status != 0 && r.err.contains(message), "\(args): \(r.err)")
    }
}

/// `sluice allreduce` refuses bad options before it opens a socket, names the option, and
/// prints its own usage.
@Suite struct AllReduceOptionsTests {
    @Test(arguments: [
        (["--batch", "0"], "--batch 0 (valid: 1 ... 64 datagrams a system call)"),
        (["--min-timeout", "0"], "--min-timeout '0' (valid: more than 0, at most 1s)"),
        (["--min-timeout", "2s"], "--min-timeout '2s' (valid: more than 0, at most 1s)"),
        (["--size", "4x"], "--size '4x': unknown unit 'x'"),
        (["--size", "0"], "--size '0' (valid: a whole number of 4-byte values, at least 4B)"),
        (["--size", "1001"], "--size '1001' (valid: a whole number of 4-byte values, at least 4B)"),
        (["--k", "100"], "--k 100 (valid: 32, 64, 128, 256 values a packet, as the aggregator was started)"),
        (["--slots", "0"], "--slots 0 (valid: 1 ... 16383 packets in flight)"),
    ])
    func badOptionsAreNamed(args: [String], message: String) throws {
        let r = try ChildProcess.run(sluiceBinary, ["allreduce", "--aggregator", "127.0.0.1", "--rank", "0", "--workers", "2"] + args)
        #expect(r.status != 0 && r.err.contains(message) && r.err.contains("Usage: sluice allreduce"), "\(args): \(r.err)")
    }

    /// No aggregator answers: the timeout names what this worker used, for comparison with the
    /// aggregator's settings, and an earlier job's leftovers.
    @Test func aTimeoutSaysWhatToCheck() throws {
        let port: Int = 65_100 + Int(ProcessInfo.processInfo.processIdentifier % 400)   // above the ephemeral range
        let args = ["allreduce", "--aggregator", "127.0.0.1:9", "--rank", "0", "--workers", "1", "--size", "4KB",
                    "--k", "32", "--slots", "8", "--timeout", "0.3", "--port-base", String(port)]
        let r = try ChildProcess.run(sluiceBinary, args)
        #expect(r.status == 1 && r.err.contains("allreduce did not finish within 0.3 s"), "\(r.err)")
        #expect(r.err.contains("started with --k 32, --slots 8 (or more) and 1 --worker"), "\(r.err)")
        #expect(r.err.contains("--idle-reset (default 2s)"), "\(r.err)")
    }
}

/// `sluice aggregator`'s options: refused before anything binds or attaches, naming the flag
/// and what is valid (a k or pool the program cannot be built with used to trap).
@Suite struct AggregatorOptionsTests {
    @Test(arguments: [
        (["--k", "100"], "--k 100 (valid: 32, 64, 128, 256 values a packet)"),
        (["--slots", "100000"], "--slots 100000 (valid: 1 ... 16384)"),
        (["--port", "1=lo"], "--port and --mode are for --backend xdp"),
        (["--idle-reset", "10ms"], "--idle-reset '10ms' (valid: 0 for never, or at least 200ms"),
        (["--backend", "xdp", "--k", "256", "--port", "1=lo"], "--k 256 with --backend xdp (valid: 32, 64, 128;"),
        (["--backend", "xdp", "--slots", "5000", "--port", "1=lo"], "--slots 5000 with --backend xdp (valid: 1 ... 4096"),
        (["--backend", "xdp", "--listen", "0.0.0.0:9", "--port", "1=lo"], "--listen is for --backend socket"),
    ])
    func badOptionsAreNamed(args: [String], message: String) throws {
        let r = try ChildProcess.run(sluiceBinary, ["aggregator", "--worker", "127.0.0.1"] + args)
        #expect(r.status == 64 && r.err.contains(message) && r.err.contains("Usage: sluice aggregator"), "\(args): \(r.err)")
    }

    /// --program takes a program file; one without switchml's interface, or with other values
    /// a packet than --k, is refused by name before anything is bound.
    @Test func aProgramWithoutSwitchMLsInterfaceIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-agg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["ipv4-router", "switchml"] {
            #expect(try ChildProcess.run(sluiceBinary, ["compile", name, "--emit", "program", "-o", "\(dir)/\(name).json"]).status == 0)
        }
        let router = try ChildProcess.run(sluiceBinary, ["aggregator", "--worker", "127.0.0.1", "--program", "\(dir)/ipv4-router.json"])
        #expect(router.status == 1 && router.err.contains("--program \(dir)/ipv4-router.json: 'ipv4-router' lacks switchml's switchml_workers table"), "\(router.err)")
        let k = try ChildProcess.run(sluiceBinary, ["aggregator", "--worker", "127.0.0.1", "--program", "\(dir)/switchml.json", "--k", "32"])
        #expect(k.status == 1 && k.err.contains("--k 32, but --program \(dir)/switchml.json carries 64 values a packet (give --k 64, or leave --k out)"), "\(k.err)")
    }

    @Test func anInterfaceIsOneWorkersPort() throws {
        let r = try ChildProcess.run(sluiceBinary, ["aggregator", "--backend", "xdp", "--worker", "10.0.0.1", "--worker", "10.0.0.2",
                                                    "--port", "1=lo", "--port", "2=lo"])
        #expect(r.status == 64 && r.err.contains("--port '2=lo': lo is already port 1; each interface is one worker's port"), "\(r.err)")
    }
}
