import SluiceEBPF
import SluiceControlPlane

/// The cells of a direct LPM table (`EBPFLayout.TableKind.lpmDirect`) as the kernel holds them,
/// kept in user space so that prefixes can be expanded into cells and taken out again.
///
/// Level 1 is one block of 2^16 cells (the key's top 16 bits); levels 2 and 3 are blocks of
/// 2^l2Bits and 2^l3Bits cells. A level *reaches* the prefix lengths it resolves: 16,
/// 16 + l2Bits, the key width. Each cell remembers the longest prefix within its level's reach
/// that covers it (length and entry slot), how many longer prefixes lie below it, and its block
/// at the next level if there are any. The kernel's cell is then 0 (no prefix), `slot + 1`, or
/// `block | 0x80000000`.
///
/// Insert and remove return the cell writes in the order the kernel must see them: a new block
/// is filled before a cell points to it, and a cell stops pointing to a block before the block
/// is given back.
struct DirectLPM {
    struct Write: Equatable { var level: Int; var index: Int; var value: UInt32 }

    final class Block {
        var len: [Int8], slot: [Int32], deep: [Int32], child: [Int32]
        init(cells: Int, len: Int8, slot: Int32) {
            self.len = Array(repeating: len, count: cells)
            self.slot = Array(repeating: slot, count: cells)
            deep = Array(repeating: 0, count: cells)
            child = Array(repeating: -1, count: cells)
        }
    }

    let width: Int
    /// Index bits per level (16, l2Bits, l3Bits; a last level of 0 bits does not exist).
    let bits: [Int]
    /// Blocks per level (1 for level 1).
    let capacity: [Int]
    /// Per level, its blocks by number (nil: free).
    var blocks: [[Block?]]
    /// Entries by prefix length: masked key -> slot.
    var prefixes: [[UInt64: Int32]]

    init(width: Int, l2Bits: Int, l3Bits: Int, blocks: Int) {
        precondition(width > 16 && width <= 32 && 16 + l2Bits + l3Bits == width)
        self.width = width
        bits = l3Bits > 0 ? [16, l2Bits, l3Bits] : [16, l2Bits]
        capacity = l3Bits > 0 ? [1, blocks, blocks] : [1, blocks]
        self.blocks = [[Block(cells: 1 << 16, len: -1, slot: 0)]] + Array(repeating: [], count: bits.count - 1)
        prefixes = Array(repeating: [:], count: width + 1)
    }

    /// The longest prefix length level `n` (0-based) resolves.
    func reach(_ n: Int) -> Int { bits[0...n].reduce(0, +) }

    /// Cell of `key` within its block at level `n`.
    func cell(_ key: UInt64, _ n: Int) -> Int {
        Int((key >> UInt64(width - reach(n))) & ((1 << UInt64(bits[n])) - 1))
    }

    static func leaf(_ len: Int8, _ slot: Int32) -> UInt32 { len < 0 ? 0 : UInt32(slot + 1) }

    func prefixKey(_ key: UInt64, _ len: Int) -> UInt64 {
        len == 0 ? 0 : key & (((1 << UInt64(len)) - 1) << UInt64(width - len))
    }

    /// The entry slot for `key`, as the kernel finds it (nil: the default action).
    func lookup(_ key: UInt64) -> Int32? {
        var n = 0, b = 0
        while true {
            let blk = blocks[n][b]!, c = cell(key, n)
            if blk.child[c] >= 0 { b = Int(blk.child[c]); n += 1; continue }
            return blk.len[c] < 0 ? nil : blk.slot[c]
        }
    }

    /// Blocks a new prefix of `len` under `key` needs that are not there yet.
    func blocksNeeded(_ key: UInt64, _ len: Int) -> [Int] {
        var need = Array(repeating: 0, count: bits.count)
        var n = 0, b: Int? = 0
        while len > reach(n) {
            let c = cell(key, n)
            let child = b.map { Int(blocks[n][$0]!.child[c]) } ?? -1
            if child < 0 { need[n + 1] += 1 }
            b = child < 0 ? nil : child
            n += 1
        }
        return need
    }

    /// Adds the prefix `key`/`len` (`key` masked to it) for the entry in `slot`.
    mutating func insert(_ key: UInt64, _ len: Int, slot: Int32) throws(ControlPlaneError) -> [Write] {
        let need = blocksNeeded(key, len)
        for n in 1..<bits.count where need[n] > 0 {
            let used = blocks[n].count - blocks[n].filter { $0 == nil }.count
            guard used + need[n] <= capacity[n] else {
                throw ControlPlaneError("its \(capacity[n]) level-\(n + 1) blocks are all in use: prefixes longer than /\(reach(n - 1)) lie under \(capacity[n]) different /\(reach(n - 1))s already (the XDP direct LPM's limit)")
            }
        }
        prefixes[len][key] = slot
        var writes: [Write] = []
        var n = 0, b = 0
        while len > reach(n) {
            let blk = blocks[n][b]!, c = cell(key, n)
            blk.deep[c] += 1
            if blk.child[c] < 0 {
                let nb = allocate(n + 1, len: blk.len[c], slot: blk.slot[c])
                let base = nb << bits[n + 1], v = Self.leaf(blk.len[c], blk.slot[c])
                for i in 0..<(1 << bits[n + 1]) { writes.append(Write(level: n + 2, index: base + i, value: v)) }
                blk.child[c] = Int32(nb)
                writes.append(Write(level: n + 1, index: (b << bits[n]) + c, value: UInt32(nb) | 0x8000_0000))
            }
            b = Int(blk.child[c]); n += 1
        }
        let first = cell(key, n)
        spread(n, b, first..<(first + (1 << (reach(n) - len))), &writes) { l, _ in l < Int8(len) ? (Int8(len), slot) : nil }
        return writes
    }

    /// Takes the prefix `key`/`len` out: its cells fall back to the longest shorter prefix.
    mutating func remove(_ key: UInt64, _ len: Int) -> [Write] {
        guard let slot = prefixes[len].removeValue(forKey: key) else { return [] }
        // What the cells this prefix held fall back to: the longest shorter prefix over it.
        var back: (Int8, Int32) = (-1, 0)
        for l in stride(from: len - 1, through: 0, by: -1) {
            if let s = prefixes[l][prefixKey(key, l)] { back = (Int8(l), s); break }
        }
        var writes: [Write] = []
        var path: [(n: Int, b: Int, c: Int)] = []
        var n = 0, b = 0
        while len > reach(n) {
            let c = cell(key, n)
            path.append((n, b, c))
            b = Int(blocks[n][b]!.child[c]); n += 1
        }
        let first = cell(key, n)
        spread(n, b, first..<(first + (1 << (reach(n) - len))), &writes) { l, s in l == Int8(len) && s == slot ? back : nil }
        // Blocks no longer needed: the cell above first, then the block is free.
        for (pn, pb, c) in path.reversed() {
            let blk = blocks[pn][pb]!
            blk.deep[c] -= 1
            if blk.deep[c] == 0 {
                let child = Int(blk.child[c])
                blk.child[c] = -1
                writes.append(Write(level: pn + 1, index: (pb << bits[pn]) + c, value: Self.leaf(blk.len[c], blk.slot[c])))
                blocks[pn + 1][child] = nil
            }
        }
        return writes
    }

    /// Sets the cells `range` of block `b` at level `n`, and every cell below them, to what
    /// `change` makes of their (length, slot), where it returns one. A cell below holds a prefix
    /// at least as long as its parent's (the parent's covers it too), so where `change` leaves
    /// a cell alone (it holds a longer prefix than the one inserted or removed), it leaves the
    /// cells below alone.
    func spread(_ n: Int, _ b: Int, _ range: Range<Int>, _ writes: inout [Write], _ change: (Int8, Int32) -> (Int8, Int32)?) {
        let blk = blocks[n][b]!
        for c in range {
            guard let (l, s) = change(blk.len[c], blk.slot[c]) else { continue }
            blk.len[c] = l; blk.slot[c] = s
            if blk.child[c] >= 0 {
                spread(n + 1, Int(blk.child[c]), 0..<(1 << bits[n + 1]), &writes, change)
            } else {
                writes.append(Write(level: n + 1, index: (b << bits[n]) + c, value: Self.leaf(l, s)))
            }
        }
    }

    mutating func allocate(_ n: Int, len: Int8, slot: Int32) -> Int {
        let blk = Block(cells: 1 << bits[n], len: len, slot: slot)
        if let free = blocks[n].firstIndex(where: { $0 == nil }) { blocks[n][free] = blk; return free }
        blocks[n].append(blk)
        return blocks[n].count - 1
    }
}
