/// What the XDP object declares before the program: the kernel's headers, the per-packet state
/// (`sluice_state`), the port maps, the outcome map, and how a packet ends (`sl_finish`,
/// `sl_forward`).
enum XDPPrelude {
    static let includes = """
        #include <linux/bpf.h>
        #include <bpf/bpf_helpers.h>

        """

    static let stateAndMaps = """

        /* Per packet: headers in wire format, validity, metadata and standard fields. */
        struct sluice_state {
            __u8 hdr[SL_HDR_BYTES] __attribute__((aligned(8)));
            __u8 valid[SL_HEADERS];
            __u64 meta[SL_META];
            __u64 std[SL_STD];
            /* A sum or offset over headers that may be invalid, kept in memory rather than in a
               register: the verifier then does not follow one state per combination of valid
               headers (2^n paths for n optional headers). */
            __u64 acc;
        };
        /* Volatile, so that the compiler does not carry it in a register either. */
        #define SL_ACC (*(volatile __u64 *)&s->acc)
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct sluice_state); } sluice_state SEC(".maps");

        /* Sluice port -> interface, for bpf_redirect_map; interface index -> Sluice port. */
        struct { __uint(type, BPF_MAP_TYPE_DEVMAP); __uint(max_entries, 512); __type(key, __u32); __type(value, __u32); } sluice_tx SEC(".maps");
        #define SL_IFINDEX_MAX 4096
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, SL_IFINDEX_MAX); __type(key, __u32); __type(value, __u32); } sluice_ports SEC(".maps");

        /* Per CPU: the last packet's outcome (tests read it after BPF_PROG_TEST_RUN) and packets
           by outcome (index: verdict). */
        struct sluice_out { __u32 verdict; __u32 port; __u64 count[16]; };
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct sluice_out); } sluice_out SEC(".maps");

        #define SL_DROP_PARSER 1
        #define SL_DROP_INGRESS 2
        #define SL_FORWARD 3
        #define SL_ABORTED 4
        #define SL_TOO_LARGE 5
        #define SL_DROP_EGRESS 6
        #define SL_EMPTY_GROUP 7
        #define SL_MULTICAST 8

        static __always_inline int sl_finish(__u32 verdict, __u32 port)
        {
            __u32 zero = 0;
            struct sluice_out *o = bpf_map_lookup_elem(&sluice_out, &zero);
            if (o) { o->verdict = verdict; o->port = port; o->count[verdict & 15] += 1; }
            return verdict == SL_FORWARD ? XDP_TX : (verdict == SL_ABORTED ? XDP_ABORTED : XDP_DROP);
        }

        /* Out of `port`: back out of the ingress interface, or redirected through sluice_tx. */
        static __always_inline int sl_forward(struct xdp_md *ctx, __u32 port, __u64 in_port, int on_cpu)
        {
            int r = sl_finish(SL_FORWARD, port);
            if (port == in_port && !on_cpu) return r;   /* a CPUMAP program cannot XDP_TX */
            return bpf_redirect_map(&sluice_tx, port, 0);
        }
        """
}
