import Foundation
import Testing
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceXDP

/// `XDPCompanion` (the hand-written baseline of `sluice bench xdp`) shares a Sluice program's
/// maps by name: what the control plane writes, the companion reads.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct XDPCompanionTests {
    /// XDP_TX when `ipv4-router`'s default action forwards to port 7, XDP_DROP otherwise.
    static let reader = """
        #include <linux/bpf.h>
        #include <bpf/bpf_helpers.h>
        struct lpm_value { __u32 action; __u32 priority; __u64 seq; __u64 args[2]; __u64 packets; __u64 bytes; };
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct lpm_value); } t_ipv4_lpm_def SEC(".maps");
        SEC("xdp") int reader(struct xdp_md *ctx)
        {
            __u32 zero = 0;
            struct lpm_value *v = bpf_map_lookup_elem(&t_ipv4_lpm_def, &zero);
            return v && v->action == 0 && v->args[1] == 7 ? XDP_TX : XDP_DROP;
        }
        char LICENSE[] SEC("license") = "GPL";
        """

    @Test func aCompanionReadsTheTablesTheControlPlaneWrites() throws {
        let xdp = try XDPProgram(IPv4Router.program(routes: 16).verified())
        let cp = try XDPControlPlane(xdp)
        let companion = try XDPCompanion(name: "reader", source: Self.reader, sharingMapsWith: xdp)
        let frame = [UInt8](repeating: 0, count: 64)
        try cp.setDefault("ipv4_lpm", ActionCall("ipv4_forward", [0x0800_0000_0007, 7]))
        #expect(try companion.run(frame).action == 3)   // XDP_TX
        try cp.setDefault("ipv4_lpm", ActionCall("ipv4_forward", [0x0800_0000_0008, 8]))
        #expect(try companion.run(frame).action == 1)   // XDP_DROP
        // Alone, the same source has a map of its own (zeroed): drop.
        let alone = try XDPCompanion(name: "reader", source: Self.reader)
        #expect(try alone.run(frame).action == 1)
    }

    @Test func aMapOfAnotherShapeIsRefusedByName() throws {
        let xdp = try XDPProgram(IPv4Router.program(routes: 16).verified())
        let wrong = Self.reader.replacingOccurrences(of: "__u64 packets; __u64 bytes;", with: "__u64 packets;")
        #expect {
            _ = try XDPCompanion(name: "reader", source: wrong, sharingMapsWith: xdp)
        } throws: { error in
            "\(error)".contains("map 't_ipv4_lpm_def' has keys of 4 and values of 40 bytes, program 'ipv4-router' has 4 and 48")
        }
    }
}
