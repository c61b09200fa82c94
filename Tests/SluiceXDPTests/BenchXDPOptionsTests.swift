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
    ])
    func badOptionsAreNamed(args: [String], message: String) throws {
        let r = try ChildProcess.run(sluiceBinary, ["allreduce", "--aggregator", "127.0.0.1", "--rank", "0", "--workers", "2"] + args)
        #expect(r.status != 0 && r.err.contains(message) && r.err.contains("Usage: sluice allreduce"), "\(args): \(r.err)")
    }
}
