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
        (["--test-run-rounds", "0"], "--test-run-rounds must be within 1...1001 (got 0)"),
    ])
    func badOptionsAreNamed(args: [String], message: String) throws {
        let r = try ChildProcess.run(sluiceBinary, ["bench", "xdp"] + args)
        #expect(r.status != 0 && r.err.contains(message), "\(args): \(r.err)")
    }
}
