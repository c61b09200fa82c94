/// The maps of each table (see `EBPFLayout.TableKind`): the entries' values, struct
/// `<table>_value` (action, priority, insertion order, arguments, direct counter), in a map
/// whose key the kind decides, and the default action in an ARRAY of one.
enum TableMaps {
    static func declarations(_ layout: EBPFLayout) -> [String] {
        var lines: [String] = []
        for t in layout.tables {
            let name = EBPFLayout.ident(t.table.name)
            lines.append("")
            lines.append("/* table \(t.table.name): \(t.table.keys.map { "\($0.name): \($0.kind.rawValue)" }.joined(separator: ", ")); actions \(t.table.actions.joined(separator: ", ")) */")
            lines.append("struct \(name)_value { __u32 action; __u32 priority; __u64 seq; __u64 args[\(t.argSlots)]; __u64 packets; __u64 bytes; };")
            lines.append("struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct \(name)_value); } \(EBPFLayout.defaultMapName(table: t.table.name)) SEC(\".maps\");")
            let size = max(1, t.table.size)
            switch t.kind {
            case .keyless:
                break
            case .exact:
                lines.append("struct \(name)_key { __u64 k[\(t.table.keys.count)]; };")
                lines.append("struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, \(size)); __type(key, struct \(name)_key); __type(value, struct \(name)_value); } \(EBPFLayout.mapName(table: t.table.name)) SEC(\".maps\");")
            case .lpm:
                // Bucketed by prefix length: one HASH of (length, masked key), probed longest
                // length first over the lengths in use (the runtime's LPM index does the same).
                let lpmBits = t.keyWidths.last!
                lines.append("struct \(name)_key { __u32 prefixlen; __u8 data[\(t.lpmDataBytes)]; };")
                lines.append("struct \(name)_lens { __u32 count; __u32 len[\(lpmBits + 1)]; };")
                lines.append("struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, \(size)); __type(key, struct \(name)_key); __type(value, struct \(name)_value); } \(EBPFLayout.mapName(table: t.table.name)) SEC(\".maps\");")
                lines.append("struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct \(name)_lens); } \(EBPFLayout.lengthsMapName(table: t.table.name)) SEC(\".maps\");")
            case .lpmDirect(let l2, let l3, let blocks):
                // Cells in three ARRAY levels (see `EBPFLayout.TableKind.lpmDirect`); entries'
                // values in an ARRAY by slot.
                lines.append("struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, \(size)); __type(key, __u32); __type(value, struct \(name)_value); } \(EBPFLayout.mapName(table: t.table.name)) SEC(\".maps\");")
                for (n, cells) in [(1, 65536), (2, blocks << l2), (3, l3 > 0 ? blocks << l3 : 0)] where cells > 0 {
                    lines.append("struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, \(cells)); __type(key, __u32); __type(value, __u32); } \(EBPFLayout.levelMapName(table: t.table.name, n)) SEC(\".maps\");")
                }
            case .ternary:
                lines.append("struct \(name)_key { __u32 mask_id; __u32 pad; __u64 k[\(t.table.keys.count)]; };")
                lines.append("struct \(name)_mask { __u32 used; __u32 pad; __u64 m[\(t.table.keys.count)]; };")
                lines.append("struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, \(size)); __type(key, struct \(name)_key); __type(value, struct \(name)_value); } \(EBPFLayout.mapName(table: t.table.name)) SEC(\".maps\");")
                lines.append("struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, \(EBPFLayout.maxMasks)); __type(key, __u32); __type(value, struct \(name)_mask); } \(EBPFLayout.masksMapName(table: t.table.name)) SEC(\".maps\");")
            case .linear(let slots):
                lines.append("struct \(name)_entry { __u32 used; __u32 pad; __u64 lo[\(t.table.keys.count)]; __u64 hi[\(t.table.keys.count)]; struct \(name)_value v; };")
                lines.append("struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, \(slots)); __type(key, __u32); __type(value, struct \(name)_entry); } \(EBPFLayout.mapName(table: t.table.name)) SEC(\".maps\");")
            }
        }
        return lines
    }
}
