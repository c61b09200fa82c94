import Foundation
import Testing

/// Hostile or extreme input to the command-line tool: a clear error naming the input and what
/// would be valid, never a trap, a hang or a silent wrong result (issue 28).
@Suite struct HostileInputCLITests {
    static func temporaryFile(_ name: String, _ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-hostile-\(getpid())-\(name)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Two hosts on two switches with no link between them, and a flow from one to the other:
    /// refused when read, instead of retransmitting until virtual time overflowed.
    @Test func emulateRefusesAFlowBetweenUnconnectedHosts() throws {
        let path = try Self.temporaryFile("islands.yaml", """
            topology:
              defaults:
                switch: {program: ecmp-router}
              nodes:
                s1: {kind: switch}
                s2: {kind: switch}
                h1: {kind: host}
                h2: {kind: host}
              links:
                - endpoints: ["s1:p1", "h1:eth0"]
                - endpoints: ["s2:p1", "h2:eth0"]
            traffic:
              - {kind: bulk, from: h1, to: h2, size: 1MB}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try CLITests.run(["emulate", path])
        #expect(r.status == 1)
        #expect(r.err == "Error: \(path):13: traffic[0]: flow 0 (h1 -> h2): h2 cannot be reached from h1: no path of links between them (valid: hosts connected through switches)\n")
    }
}

extension HostileInputCLITests {
    /// A port wider than the program's 9-bit ingress port is refused, not cut to its low bits
    /// (600 entered as port 88).
    @Test(arguments: ["512", "600", "65535"])
    func runRefusesAPortWiderThanTheIngressPort(port: String) throws {
        let r = try CLITests.run(["run", "ipv4-router", "--packet", port + ":ffffffffffff000000000001080045000014000000004011000000000000000000000000"])
        #expect(r.status == 64)
        #expect(r.err.hasPrefix("Error: --packet #1: port \(port) does not fit the program's 9-bit ingress port (valid: 0...511)\n"), "\(r.err)")
        #expect(r.out.isEmpty)
    }

    @Test func runAcceptsTheWidestPort() throws {
        let r = try CLITests.run(["run", "l2-switch", "--packet", "511:ffffffffffff000000000001080045000014000000004011000000000000000000000000"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("packet 1 in port 511"))
    }
}

extension HostileInputCLITests {
    /// Extreme values of numeric options, each refused in `validate()` (status 64, before any
    /// file, interface or workload is touched) with the option, the value and the valid range.
    static let extremes: [(args: [String], message: String)] = [
        (["send", "none.pcap", "-i", "lo", "--pps", "1e-300"], "--pps 1e-300: must be within 0.001 ... 1e9 packets per second"),
        (["send", "none.pcap", "-i", "lo", "--pps", "1e300"], "--pps 1e+300: must be within 0.001 ... 1e9 packets per second"),
        (["send", "none.pcap", "-i", "lo", "--pps", "nan"], "--pps nan: must be within 0.001 ... 1e9 packets per second"),
        (["send", "none.pcap", "-i", "lo", "--pps", "inf"], "--pps inf: must be within 0.001 ... 1e9 packets per second"),
        (["send", "none.pcap", "-i", "lo", "--pps", "0"], "--pps 0.0: must be within 0.001 ... 1e9 packets per second"),
        (["send", "none.pcap", "-i", "lo", "--mbps", "1e-300"], "--mbps 1e-300: must be within 0.001 ... 1e7 megabits per second"),
        (["send", "none.pcap", "-i", "lo", "--mbps", "1e300"], "--mbps 1e+300: must be within 0.001 ... 1e7 megabits per second"),
        (["send", "none.pcap", "-i", "lo", "--multiplier", "1e-300"], "--multiplier 1e-300: must be within 0.001 ... 1e6 times the file's speed"),
        (["send", "none.pcap", "-i", "lo", "--multiplier=-1"], "--multiplier -1.0: must be within 0.001 ... 1e6 times the file's speed"),
        (["send", "none.pcap", "-i", "lo", "--loop", "0"], "--loop 0: must be within 1 ... 1000000000 passes over the file"),
        (["allreduce", "--aggregator", "127.0.0.1", "--rank", "0", "--workers", "1", "--timeout", "1e300"],
         "--timeout 1e+300: must be within 0.001 ... 86400 seconds"),
        (["allreduce", "--aggregator", "127.0.0.1", "--rank", "0", "--workers", "1", "--timeout", "nan"],
         "--timeout nan: must be within 0.001 ... 86400 seconds"),
        (["allreduce", "--aggregator", "127.0.0.1", "--rank", "0", "--workers", "1", "--size", "1000GB"],
         "--size 1000000000000: must be within 4 ... 1073741824 bytes (1GiB)"),
        (["bench", "pipeline", "--packets", "10000000000000"], "--packets 10000000000000: must be within 1 ... 1000000000"),
        (["bench", "pipeline", "--packets=-5"], "--packets -5: must be within 1 ... 1000000000"),
        (["bench", "tables", "--lookups=-1"], "--lookups -1: must be within 1 ... 10000000000"),
        (["tour", "--packets=-1"], "--packets -1: must be within 1 ... 1000000000"),
        (["capture", "-i", "lo", "-w", "none.pcap", "--snaplen", "0"], "--snaplen 0: must be within 1 ... 262144 bytes"),
        (["capture", "-i", "lo", "-w", "none.pcap", "--snaplen", "262145"], "--snaplen 262145: must be within 1 ... 262144 bytes"),
        (["capture", "-i", "lo", "-w", "none.pcap", "--buffer-size=-1"], "--buffer-size -1: must be within 1 ... 2047 MiB"),
        (["capture", "-i", "lo", "-w", "none.pcap", "--buffer-size", "2048"], "--buffer-size 2048: must be within 1 ... 2047 MiB"),
        (["capture", "-i", "lo", "-w", "none.pcap", "--buffer-size", "9223372036854775807"], "--buffer-size 9223372036854775807: must be within 1 ... 2047 MiB"),
        (["traffic", "ddp", "-w", "none.pcap", "--hosts", "1"], "--hosts 1: must be within 2 ... 1024 hosts (the generated topology)"),
        (["traffic", "ddp", "-w", "none.pcap", "--hosts", "100000000000"], "--hosts 100000000000: must be within 2 ... 1024 hosts (the generated topology)"),
        (["traffic", "ddp", "-w", "none.pcap", "--topology", "none.yaml", "--hosts", "0"], "--hosts 0: must be within 1 ... the topology's hosts"),
        (["traffic", "ddp", "-w", "none.pcap", "--mtu", "0"], "--mtu 0: must be within 576 ... 9000 bytes"),
        (["traffic", "ddp", "-w", "none.pcap", "--mtu", "9223372036854775807"], "--mtu 9223372036854775807: must be within 576 ... 9000 bytes"),
        (["bench", "traffic", "--iterations", "0"], "--iterations 0: must be within 1 ... 100 iterations"),
        (["bench", "traffic", "--iterations", "1000000000"], "--iterations 1000000000: must be within 1 ... 100 iterations"),
        (["bench", "collector", "--repeat", "0"], "--repeat 0: must be within 1 ... 100000 passes"),
        (["bench", "collector", "--repeat", "9223372036854775807"], "--repeat 9223372036854775807: must be within 1 ... 100000 passes"),
        (["bench", "emulator", "--repeat=-1"], "--repeat must be within 1...50 (got -1)"),
        (["bench", "emulator", "--repeat", "1000000000"], "--repeat must be within 1...50 (got 1000000000)"),
        (["bench", "pcap", "--repeat", "0"], "--repeat must be within 1...20 (got 0)"),
        (["bench", "pcap", "--repeat", "1000000000"], "--repeat must be within 1...20 (got 1000000000)"),
        (["bench", "xdp", "--repeat", "0"], "--repeat must be within 1...20 (got 0)"),
        (["bench", "xdp", "--repeat", "1000000000"], "--repeat must be within 1...20 (got 1000000000)"),
        (["bench", "xdp", "--repeat-run", "1000000000"],
         "--repeat-run must be within 1...60 (got 1000000000): the kernel repeats on the same bytes, and after 63 passes the TTL of 64 expires and the packet is dropped instead of routed"),
    ]

    @Test(arguments: extremes.indices)
    func extremeOptionValuesAreRefusedByName(_ i: Int) throws {
        let (args, message) = Self.extremes[i]
        let r = try CLITests.run(args)
        #expect(r.status == 64, "\(args): \(r.err)")
        #expect(r.err.hasPrefix("Error: \(message)\n"), "\(args): \(r.err)")
    }

    /// Addresses are read by the one parser of entries files (ValueSyntax): a fifth octet, an
    /// empty one or a letter is refused, where the old endpoint parser dropped what was not a number.
    @Test(arguments: ["10.0.x.0.1", "10.0..0.1", "10.0.0.1.9", "10.0.0.256"])
    func aMalformedAggregatorAddressIsRefused(_ address: String) throws {
        let r = try CLITests.run(["allreduce", "--aggregator", address, "--rank", "0", "--workers", "1", "--size", "4KB"])
        #expect(r.status == 64, "\(address): \(r.err)")
        #expect(r.err.hasPrefix("Error: --aggregator '\(address)': not an IPv4 address (valid: A.B.C.D or A.B.C.D:PORT"), "\(address): \(r.err)")
    }
}
