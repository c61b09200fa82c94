// First-match linear scan for tables with range keys.
//
// An entry is one condition per key field, `lo <= (k & mask) <= hi`: exact is mask = all ones,
// lo = hi = value; ternary is lo = hi = value & mask; range is mask = all ones. Entries are kept
// sorted by priority, descending (ties: inserted first comes first), so a lookup returns the
// first entry whose conditions all hold.
//
// Conditions are stored flat, one row of 3 * keyWords words per entry; for each field of w words
// the row holds its mask words, then its lo words, then its hi words (high word first).

public final class LinearIndex {
    public typealias Condition = (lo: UInt128, hi: UInt128, mask: UInt128)

    /// Words per field (1 or 2), as given at init.
    public let fieldWords: [Int]
    public let keyWords: Int
    @usableFromInline let fieldCount: Int
    /// Words per row: 3 * keyWords.
    @usableFromInline let rowWords: Int
    /// fieldCount words per field (1 or 2); a manual copy of fieldWords for the lookup loop.
    @usableFromInline let widths: UnsafeMutablePointer<Int>
    /// True when every field is one word: lookup is a flat loop over (mask, lo, hi) triples.
    @usableFromInline let allSingle: Bool
    @exclusivity(unchecked) @usableFromInline var rows: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) @usableFromInline var entries: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) @usableFromInline var priorities: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) @usableFromInline var count_: Int = 0
    @exclusivity(unchecked) @usableFromInline var capacity: Int

    public init(fieldWords: [Int]) {
        precondition(!fieldWords.isEmpty && fieldWords.allSatisfy { $0 == 1 || $0 == 2 },
                     "each field takes 1 or 2 words")
        self.fieldWords = fieldWords
        self.fieldCount = fieldWords.count
        self.keyWords = fieldWords.reduce(0, +)
        self.rowWords = 3 * keyWords
        self.allSingle = fieldWords.allSatisfy { $0 == 1 }
        self.widths = .allocate(capacity: fieldWords.count)
        widths.initialize(from: fieldWords, count: fieldWords.count)
        self.capacity = 16
        self.rows = .allocate(capacity: 16 * 3 * keyWords)
        self.entries = .allocate(capacity: 16)
        self.priorities = .allocate(capacity: 16)
    }

    deinit {
        widths.deallocate()
        rows.deallocate()
        entries.deallocate()
        priorities.deallocate()
    }

    @inlinable public var count: Int { count_ }

    /// The entry id of the first (highest-priority, earliest-inserted) matching entry, or -1.
    @inlinable
    public func lookup(_ key: UnsafePointer<UInt64>) -> Int32 {
        let n = count_
        let rw = rowWords
        var row = UnsafePointer(rows)
        if allSingle {
            let kw = keyWords
            var e = 0
            while e < n {
                var w = 0
                while w < kw {
                    let k = key[w] & row[3 &* w]
                    if k < row[3 &* w &+ 1] || k > row[3 &* w &+ 2] { break }
                    w &+= 1
                }
                if w == kw { return entries[e] }
                row += rw
                e &+= 1
            }
            return -1
        }
        let fc = fieldCount
        var e = 0
        while e < n {
            var f = 0
            var kw = 0
            var off = 0
            var ok = true
            while f < fc {
                if widths[f] == 1 {
                    let k = key[kw] & row[off]
                    if k < row[off &+ 1] || k > row[off &+ 2] { ok = false; break }
                    kw &+= 1; off &+= 3
                } else {
                    let kh = key[kw] & row[off], kl = key[kw &+ 1] & row[off &+ 1]
                    let lh = row[off &+ 2], ll = row[off &+ 3]
                    let hh = row[off &+ 4], hl = row[off &+ 5]
                    if kh < lh || (kh == lh && kl < ll) || kh > hh || (kh == hh && kl > hl) { ok = false; break }
                    kw &+= 2; off &+= 6
                }
                f &+= 1
            }
            if ok { return entries[e] }
            row += rw
            e &+= 1
        }
        return -1
    }

    /// Adds an entry after every entry of priority >= `priority`. `conditions` has one element per
    /// field; values of one-word fields must fit in 64 bits. Returns false (and changes nothing)
    /// if an entry with this id is present.
    @discardableResult
    public func insert(conditions: [Condition], priority: Int32, entry: Int32) -> Bool {
        precondition(conditions.count == fieldCount, "one condition per field")
        for e in 0..<count_ where entries[e] == entry { return false }
        if count_ == capacity { grow() }
        // First position whose priority is lower than `priority`.
        var lo = 0, hi = count_
        while lo < hi {
            let mid = (lo + hi) / 2
            if priorities[mid] >= priority { lo = mid + 1 } else { hi = mid }
        }
        let pos = lo
        let tail = count_ - pos
        (rows + (pos + 1) * rowWords).moveInitialize(from: rows + pos * rowWords, count: tail * rowWords)
        (entries + pos + 1).moveInitialize(from: entries + pos, count: tail)
        (priorities + pos + 1).moveInitialize(from: priorities + pos, count: tail)
        let row = rows + pos * rowWords
        var off = 0
        for f in 0..<fieldCount {
            let c = conditions[f]
            if fieldWords[f] == 1 {
                precondition(c.lo >> 64 == 0 && c.hi >> 64 == 0, "one-word field values fit in 64 bits")
                row[off] = UInt64(truncatingIfNeeded: c.mask)
                row[off + 1] = UInt64(truncatingIfNeeded: c.lo)
                row[off + 2] = UInt64(truncatingIfNeeded: c.hi)
                off += 3
            } else {
                row[off] = UInt64(truncatingIfNeeded: c.mask >> 64)
                row[off + 1] = UInt64(truncatingIfNeeded: c.mask)
                row[off + 2] = UInt64(truncatingIfNeeded: c.lo >> 64)
                row[off + 3] = UInt64(truncatingIfNeeded: c.lo)
                row[off + 4] = UInt64(truncatingIfNeeded: c.hi >> 64)
                row[off + 5] = UInt64(truncatingIfNeeded: c.hi)
                off += 6
            }
        }
        entries[pos] = entry
        priorities[pos] = priority
        count_ += 1
        return true
    }

    /// Removes the entry with this id; false if absent.
    @discardableResult
    public func remove(entry: Int32) -> Bool {
        var pos = -1
        for e in 0..<count_ where entries[e] == entry { pos = e; break }
        if pos < 0 { return false }
        let tail = count_ - pos - 1
        (rows + pos * rowWords).moveInitialize(from: rows + (pos + 1) * rowWords, count: tail * rowWords)
        (entries + pos).moveInitialize(from: entries + pos + 1, count: tail)
        (priorities + pos).moveInitialize(from: priorities + pos + 1, count: tail)
        count_ -= 1
        return true
    }

    /// Removes every entry.
    public func removeAll() { count_ = 0 }

    func grow() {
        let nc = capacity * 2
        let nr = UnsafeMutablePointer<UInt64>.allocate(capacity: nc * rowWords)
        nr.moveInitialize(from: rows, count: count_ * rowWords)
        rows.deallocate(); rows = nr
        let ne = UnsafeMutablePointer<Int32>.allocate(capacity: nc)
        ne.moveInitialize(from: entries, count: count_)
        entries.deallocate(); entries = ne
        let np = UnsafeMutablePointer<Int32>.allocate(capacity: nc)
        np.moveInitialize(from: priorities, count: count_)
        priorities.deallocate(); priorities = np
        capacity = nc
    }
}
