/// The baseline of `sluice bench xdp`'s test-run part: `ipv4-router` as a programmer would
/// write it in XDP C, straight on the packet bytes, over the generated program's own maps
/// (shared by name through `XDPCompanion`: the same routes in the same direct LPM cells). The
/// bench checks it leaves every packet exactly as the generated program does before timing
/// either. What it skips is what generated code pays for being general: headers copied into
/// a per-CPU state and back, metadata cleared per packet, fields read and written through bit
/// offsets.
enum HandWrittenXDPRouter {
    static let source = """
        #include <linux/bpf.h>
        #include <bpf/bpf_helpers.h>

        /* The generated program's maps (same names, key and value sizes). */
        struct lpm_value { __u32 action; __u32 priority; __u64 seq; __u64 args[2]; __u64 packets; __u64 bytes; };
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct lpm_value); } t_ipv4_lpm_def SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct lpm_value); } t_ipv4_lpm SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } t_ipv4_lpm_l1 SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } t_ipv4_lpm_l2 SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } t_ipv4_lpm_l3 SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4096); __type(key, __u32); __type(value, __u32); } sluice_ports SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_DEVMAP); __uint(max_entries, 512); __type(key, __u32); __type(value, __u32); } sluice_tx SEC(".maps");
        struct sluice_out { __u32 verdict; __u32 port; __u64 count[16]; };
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct sluice_out); } sluice_out SEC(".maps");

        static __always_inline int finish(__u32 verdict, __u32 port)
        {
            __u32 zero = 0;
            struct sluice_out *o = bpf_map_lookup_elem(&sluice_out, &zero);
            if (o) { o->verdict = verdict; o->port = port; o->count[verdict & 15] += 1; }
            return verdict == 3 ? XDP_TX : XDP_DROP;
        }

        static __always_inline __u32 ipv4_sum(const __u8 *ip)
        {
            __u32 sum = 0;
        #pragma unroll
            for (int i = 0; i < 20; i += 2) sum += ((__u32)ip[i] << 8) | ip[i + 1];
            sum = (sum & 0xFFFF) + (sum >> 16);
            return (sum & 0xFFFF) + (sum >> 16);
        }

        SEC("xdp")
        int hand_ipv4_router(struct xdp_md *ctx)
        {
            __u8 *d = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
            if (d + 14 > end) return finish(1, 0);
            if (d[12] != 0x08 || d[13] != 0x00) return finish(2, 0);
            if (d + 34 > end) return finish(1, 0);
            __u8 *ip = d + 14;
            if (ipv4_sum(ip) != 0xFFFF || ip[8] <= 1 || (ip[0] & 15) != 5) return finish(2, 0);
            __u32 a = ((__u32)ip[16] << 24) | ((__u32)ip[17] << 16) | ((__u32)ip[18] << 8) | ip[19];
            __u32 i = a >> 16;
            __u32 *c = bpf_map_lookup_elem(&t_ipv4_lpm_l1, &i);
            __u32 cell = c ? *c : 0;
            if (cell & 0x80000000) {
                i = ((cell & 0x7FFFFFFF) << 8) | ((a >> 8) & 255);
                c = bpf_map_lookup_elem(&t_ipv4_lpm_l2, &i);
                cell = c ? *c : 0;
                if (cell & 0x80000000) {
                    i = ((cell & 0x7FFFFFFF) << 8) | (a & 255);
                    c = bpf_map_lookup_elem(&t_ipv4_lpm_l3, &i);
                    cell = c ? *c : 0;
                }
            }
            struct lpm_value *v = 0;
            if (cell && !(cell & 0x80000000)) { i = cell - 1; v = bpf_map_lookup_elem(&t_ipv4_lpm, &i); }
            if (!v) { __u32 zero = 0; v = bpf_map_lookup_elem(&t_ipv4_lpm_def, &zero); }
            if (!v) return XDP_ABORTED;
            if (v->action != 0) return finish(2, 0);       /* drop */
            __u64 mac = v->args[0];
            __u32 port = v->args[1] & 0x1FF;
            __builtin_memcpy(d + 6, d, 6);
            d[0] = mac >> 40; d[1] = mac >> 32; d[2] = mac >> 24; d[3] = mac >> 16; d[4] = mac >> 8; d[5] = mac;
            ip[8] -= 1;
            ip[10] = 0; ip[11] = 0;
            __u32 sum = ~ipv4_sum(ip);
            ip[10] = sum >> 8; ip[11] = sum;
            __u32 ifindex = ctx->ingress_ifindex;
            __u32 *in = ifindex < 4096 ? bpf_map_lookup_elem(&sluice_ports, &ifindex) : 0;
            int r = finish(3, port);
            if ((in ? *in : 0) == port) return r;
            return bpf_redirect_map(&sluice_tx, port, 0);
        }

        char LICENSE[] SEC("license") = "GPL";
        """

    /// The floor: a program that returns at once (the kernel's own cost of a test-run pass).
    static let empty = """
        #include <linux/bpf.h>
        #include <bpf/bpf_helpers.h>
        SEC("xdp") int empty(struct xdp_md *ctx) { return XDP_TX; }
        char LICENSE[] SEC("license") = "GPL";
        """
}
