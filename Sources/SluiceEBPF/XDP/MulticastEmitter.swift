import SluiceIR

/// Multicast, for programs that set standard.mcastGrp: after ingress, a packet for a group is
/// saved with its metadata in a per-CPU ring and broadcast through the group's DEVMAP; each
/// copy then runs `sluice_copy` (egress with its port and replica id) before it leaves.
struct MulticastEmitter {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }

    /// Slots of group DEVMAPs (`sluice_mc<n>`).
    static let groupSlots = 4

    /// After ingress: the ring slot goes in 4 bytes of XDP metadata (native mode keeps it;
    /// generic mode runs the copies at once, so the latest slot is the one), and the group's
    /// DEVMAP broadcasts the packet. Without metadata (a driver without it, or an object built
    /// with `SL_NO_XDP_META` for a kernel that refuses `bpf_xdp_adjust_meta`) each copy takes
    /// the latest slot.
    func branch() {
        let mc = cx.std(.mcastGrp)
        out.block("if (s->std[\(mc)] & 0xFFFF) { /* multicast */") {
            out.line("__u32 g = s->std[\(mc)] & 0xFFFF;")
            out.line("__u32 *slot = bpf_map_lookup_elem(&sluice_groups, &g);")
            out.line("if (!slot) return sl_finish(SL_EMPTY_GROUP, g);")
            out.line("__u32 z = 0;")
            out.line("__u32 *seq = bpf_map_lookup_elem(&sluice_copy_seq, &z);")
            out.line("if (!seq) return sl_finish(SL_ABORTED, 0);")
            out.line("__u32 k = (*seq + 1) & 255; *seq = k;")
            out.line("struct sluice_copy *c = bpf_map_lookup_elem(&sluice_copies, &k);")
            out.line("if (!c) return sl_finish(SL_ABORTED, 0);")
            out.line("__builtin_memcpy(c->meta, s->meta, sizeof(c->meta)); __builtin_memcpy(c->std, s->std, sizeof(c->std));")
            // A kernel whose verifier refuses the helper in XDP programs (seen on 6.18 here)
            // gets the object built with SL_NO_XDP_META: the copies then take the latest slot,
            // as on a driver without XDP metadata.
            out.line("#ifndef SL_NO_XDP_META")
            out.block("if (bpf_xdp_adjust_meta(ctx, -4) == 0) {") {
                out.line("void *m = (void *)(long)ctx->data_meta; void *d = (void *)(long)ctx->data;")
                out.line("if (m + 4 <= d) *(__u32 *)m = 0xA5000000 | k;")
            }
            out.line("#endif")
            out.line("sl_finish(SL_MULTICAST, g);")
            out.line("switch (*slot) {")
            for k in 0..<Self.groupSlots { out.line("case \(k): return bpf_redirect_map(&sluice_mc\(k), 0, BPF_F_BROADCAST);") }
            out.line("default: return XDP_DROP;")
            out.line("}")
        }
    }

    /// The program every copy of a multicast packet runs before it leaves its interface.
    func copyProgram() throws(EBPFError) -> [String] {
        out.line("__u32 zero = 0;")
        out.line("struct sluice_state *s = bpf_map_lookup_elem(&sluice_state, &zero);")
        out.line("if (!s) return XDP_DROP;")
        out.line("__builtin_memset(s, 0, sizeof(*s));")
        out.line("void *data = (void *)(long)ctx->data;")
        out.line("void *data_end = (void *)(long)ctx->data_end;")
        out.line("void *m = (void *)(long)ctx->data_meta;")
        out.line("__u32 k;")
        out.line("if (m + 4 <= data && (*(__u32 *)m >> 24) == 0xA5) k = *(__u32 *)m & 255;")
        out.line("else { __u32 *seq = bpf_map_lookup_elem(&sluice_copy_seq, &zero); if (!seq) return XDP_DROP; k = *seq & 255; }")
        out.line("struct sluice_copy *c = bpf_map_lookup_elem(&sluice_copies, &k);")
        out.line("if (!c) return XDP_DROP;")
        out.line("__builtin_memcpy(s->meta, c->meta, sizeof(c->meta)); __builtin_memcpy(s->std, c->std, sizeof(c->std));")
        out.line("__u32 rk = ((__u32)(s->std[\(cx.std(.mcastGrp))] & 0xFFFF) << 16) | (p & 0xFFFF);")
        out.line("__u32 *rid = bpf_map_lookup_elem(&sluice_rids, &rk);")
        out.line("s->std[\(cx.std(.egressPort))] = p; s->std[\(cx.std(.egressRid))] = rid ? *rid : 0;")
        out.line("s->std[\(cx.std(.instanceType))] = 3; /* replica */")
        out.line("s->std[\(cx.std(.packetLength))] = (__u64)(data_end - data);")
        out.line("s->std[\(cx.std(.drop))] = 0; s->std[\(cx.std(.parserError))] = 0;")
        out.line("__u32 cur = 0;")
        out.line("__u32 sl_trunc = 0xFFFFFFFF;")
        for l in cx.parser.locals() { out.line(l) }
        if let egress = cx.program.egress {
            try PipelineEmitter(cx: cx).egressStage(egress, prefix: "c_", dropPort: "p")
        }
        out.line("return XDP_PASS;")
        return ["", "/* Each copy of a multicast packet, before it leaves: egress with the replica's port `p` and rid. */",
                "static __always_inline int sl_copy(struct xdp_md *ctx, __u32 p)", "{"] + out.take() + ["}",
                "",
                "SEC(\"xdp/devmap\")",
                "int sluice_copy(struct xdp_md *ctx)",
                "{",
                "    __u32 ifx = ctx->egress_ifindex;",
                "    __u32 *port = ifx < SL_IFINDEX_MAX ? bpf_map_lookup_elem(&sluice_ports, &ifx) : 0;",
                "    return sl_copy(ctx, port ? *port : 0);",
                "}",
                "",
                "/* The same for BPF_PROG_TEST_RUN (the kernel does not test-run devmap programs): the",
                "   copy's port comes from sluice_test_port; XDP_PASS means the copy leaves. */",
                "SEC(\"xdp\")",
                "int sluice_test_copy(struct xdp_md *ctx)",
                "{",
                "    __u32 zero = 0;",
                "    __u32 *port = bpf_map_lookup_elem(&sluice_test_port, &zero);",
                "    return sl_copy(ctx, port ? *port : 0);",
                "}"]
    }

    static let maps = """

        /* Multicast: group -> DEVMAP slot; (group << 16 | port) -> replica id; one DEVMAP_HASH per
           slot (port -> interface and the per-copy program); the packets in flight, per CPU. */
        struct sluice_copy { __u64 meta[SL_META]; __u64 std[SL_STD]; };
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 256); __type(key, __u32); __type(value, struct sluice_copy); } sluice_copies SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } sluice_copy_seq SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u32); } sluice_groups SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4096); __type(key, __u32); __type(value, __u32); } sluice_rids SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_DEVMAP_HASH); __uint(max_entries, 512); __type(key, __u32); __type(value, struct bpf_devmap_val); } sluice_mc0 SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_DEVMAP_HASH); __uint(max_entries, 512); __type(key, __u32); __type(value, struct bpf_devmap_val); } sluice_mc1 SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_DEVMAP_HASH); __uint(max_entries, 512); __type(key, __u32); __type(value, struct bpf_devmap_val); } sluice_mc2 SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_DEVMAP_HASH); __uint(max_entries, 512); __type(key, __u32); __type(value, struct bpf_devmap_val); } sluice_mc3 SEC(".maps");
        struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } sluice_test_port SEC(".maps");
        """
}
