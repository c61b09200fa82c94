/// The maps of the externs: registers, meters (with the meter code), counters, digests.
enum ExternMaps {
    static func declarations(_ layout: EBPFLayout) -> [String] {
        let program = layout.program
        var lines: [String] = []
        if !program.registers.isEmpty {
            // No lock per cell: a program with registers runs on one CPU (`serialized`), so a
            // read-modify-write, and a multi-register update, is never interleaved with another packet's.
            lines.append("/* registers, one ARRAY of 64-bit cells (no locks: every packet runs on CPU 0, in order): " + program.registers.map { "\($0.name)[\($0.size)] at \(layout.registerBase[$0.name]!)" }.joined(separator: ", ") + " */")
            lines.append("struct sl_cell { __u64 v; };")
            lines.append("struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, \(layout.registerCells)); __type(key, __u32); __type(value, struct sl_cell); } \(EBPFLayout.registersMap) SEC(\".maps\");")
        }
        if !program.meters.isEmpty { lines.append(Self.meterCode) }
        for m in program.meters {
            lines.append("/* meter \(m.name): \(m.size) two-rate three-colour meters (\(m.unit.rawValue)) */")
            lines.append("struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, \(max(1, m.size))); __type(key, __u32); __type(value, struct sl_meter); } \(EBPFLayout.mapName(meter: m.name)) SEC(\".maps\");")
        }
        for c in program.counters {
            lines.append("/* counter \(c.name): \(c.size) cells of packets and bytes, per CPU */")
            lines.append("struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, \(max(1, c.size))); __type(key, __u32); __type(value, struct sl_count); } \(EBPFLayout.mapName(counter: c.name)) SEC(\".maps\");")
        }
        if !program.digests.isEmpty {
            lines.append("/* digests to the control plane: a record is the digest's number, then its fields (" + program.digests.map { "\($0.name)(\($0.fields.map(\.name).joined(separator: ", ")))" }.joined(separator: "; ") + ") */")
            lines.append("struct sl_digest { __u64 w[\(EBPFLayout.digestWords(program))]; };")
            lines.append("struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 18); } \(EBPFLayout.digestsMap) SEC(\".maps\");")
        }
        return lines
    }

    /// Meters: a cell per index with its rates and buckets (units x 1e9, as the runtime keeps
    /// them without floating point) under a spin lock. The refill `min(cap, t + rate * dt)` is
    /// computed without overflowing 64 bits (the runtime's are 128): a long gap fills the bucket.
    static let meterCode = """
        struct sl_meter { struct bpf_spin_lock lock; __u32 set; __u64 cir, cbs, pir, pbs, tc, tp, last; };

        static __always_inline __u64 sl_refill(__u64 t, __u64 cap, __u64 rate, __u64 dt)
        {
            if (t >= cap) return cap;
            if (rate == 0) return t;
            return dt > (cap - t) / rate ? cap : t + rate * dt;
        }

        /* The colour (0 green, 1 yellow, 2 red) of `amount` units at `now` nanoseconds; green if unset. */
        static __always_inline __u64 sl_meter(struct sl_meter *m, __u64 amount, __u64 now)
        {
            __u64 color = 0, b = amount * 1000000000ULL;
            bpf_spin_lock(&m->lock);
            if (m->set) {
                __u64 dt = now >= m->last ? now - m->last : 0;
                m->last = now;
                m->tp = sl_refill(m->tp, m->pbs * 1000000000ULL, m->pir, dt);
                m->tc = sl_refill(m->tc, m->cbs * 1000000000ULL, m->cir, dt);
                if (m->tp < b) color = 2;
                else {
                    m->tp -= b;
                    if (m->tc < b) color = 1;
                    else m->tc -= b;
                }
            }
            bpf_spin_unlock(&m->lock);
            return color;
        }
        """
}
