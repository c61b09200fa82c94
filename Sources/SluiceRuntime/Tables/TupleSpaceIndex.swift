// Tuple space search for exact, LPM, ternary and optional matches.
//
// A key is `keyWords` UInt64s: each key field takes one word (up to 64 bits) or two words
// (65-128 bits, high word first). An entry is (value, mask, priority, entry id); it matches key k
// when k & mask == value & mask. Entries sharing a mask live in one open-addressing hash table
// (a "tuple"). Tuples are kept sorted by their maximum priority, descending, so a lookup stops as
// soon as the next tuple cannot beat the best match found. Among matches the highest priority
// wins; ties go to the entry inserted first.
//
// LPM is this structure with priority = prefix length. A table with one full-mask tuple is an
// exact-match table and takes a dedicated path.

/// The header of one hash-table slot. A slot is this header followed by `keyWords` key words.
@usableFromInline
struct TupleSlotHeader {
    /// Insertion sequence number (1, 2, ...); 0 marks an empty slot.
    @usableFromInline var seq: UInt64
    @usableFromInline var entry: Int32
    @usableFromInline var priority: Int32

    @inlinable init(seq: UInt64, entry: Int32, priority: Int32) {
        self.seq = seq; self.entry = entry; self.priority = priority
    }
}

/// One tuple: the entries sharing one mask, in a linear-probing hash table.
@usableFromInline
struct TupleTable {
    /// `capacityMask + 1` slots of `slotStride` bytes.
    @usableFromInline var slots: UnsafeMutableRawPointer
    @usableFromInline var capacityMask: Int
    /// The first mask word, kept here for the one-word path.
    @usableFromInline var mask0: UInt64
    /// `keyWords` mask words.
    @usableFromInline var mask: UnsafeMutablePointer<UInt64>
    @usableFromInline var maxPriority: Int32
    @usableFromInline var count: Int32
    /// How many entries have priority == maxPriority.
    @usableFromInline var maxCount: Int32
    @usableFromInline var fullMask: Bool

    @inlinable init(
        slots: UnsafeMutableRawPointer, mask: UnsafeMutablePointer<UInt64>, capacityMask: Int,
        mask0: UInt64, maxPriority: Int32, fullMask: Bool
    ) {
        self.slots = slots; self.mask = mask; self.capacityMask = capacityMask; self.count = 0
        self.mask0 = mask0; self.maxPriority = maxPriority; self.maxCount = 0; self.fullMask = fullMask
    }
}

public final class TupleSpaceIndex {
    public let keyWords: Int
    /// Bytes per slot: 16 (header) + 8 * keyWords.
    @usableFromInline let slotStride: Int
    @exclusivity(unchecked) @usableFromInline var tuples: UnsafeMutablePointer<TupleTable>
    @exclusivity(unchecked) @usableFromInline var tupleCapacity: Int
    @exclusivity(unchecked) @usableFromInline var tupleCount_: Int = 0
    /// True when there is exactly one tuple and its mask is all ones: the exact-match path.
    @exclusivity(unchecked) @usableFromInline var exactSingle: Bool = false
    @exclusivity(unchecked) @usableFromInline var count_: Int = 0
    @exclusivity(unchecked) @usableFromInline var nextSeq: UInt64 = 1
    /// keyWords words of scratch for control-plane operations (masked value).
    @usableFromInline let scratch: UnsafeMutablePointer<UInt64>

    /// Initial slots per tuple (power of two).
    @usableFromInline static var initialCapacity: Int { 8 }

    public init(keyWords: Int) {
        precondition(keyWords >= 1, "a key has at least one word")
        self.keyWords = keyWords
        self.slotStride = MemoryLayout<TupleSlotHeader>.stride + 8 * keyWords
        self.tupleCapacity = 4
        self.tuples = .allocate(capacity: 4)
        self.scratch = .allocate(capacity: keyWords)
        scratch.initialize(repeating: 0, count: keyWords)
    }

    deinit {
        for t in 0..<tupleCount_ { Self.freeTuple(tuples[t]) }
        tuples.deallocate()
        scratch.deallocate()
    }

    /// Number of entries.
    @inlinable public var count: Int { count_ }
    /// Number of distinct masks (tuples) currently held.
    @inlinable public var tupleCount: Int { tupleCount_ }

    // MARK: Lookup

    /// The entry id of the best match for `key` (keyWords words), or -1.
    @inlinable
    public func lookup(_ key: UnsafePointer<UInt64>) -> Int32 {
        if exactSingle {
            return keyWords == 1 ? lookupExact1(key.pointee) : lookupExactN(key)
        }
        return keyWords == 1 ? lookup1(key.pointee) : lookupN(key)
    }

    /// Exact path, one-word keys.
    @inlinable
    func lookupExact1(_ k: UInt64) -> Int32 {
        let t = tuples.pointee
        let stride = slotStride
        var i = Int(truncatingIfNeeded: TableHash.hash1(k)) & t.capacityMask
        while true {
            let s = t.slots + i &* stride
            if s.load(as: UInt64.self) == 0 { return -1 }
            if s.load(fromByteOffset: 16, as: UInt64.self) == k {
                return s.load(fromByteOffset: 8, as: Int32.self)
            }
            i = (i &+ 1) & t.capacityMask
        }
    }

    /// Exact path, multi-word keys.
    @inlinable
    func lookupExactN(_ key: UnsafePointer<UInt64>) -> Int32 {
        let t = tuples.pointee
        let stride = slotStride
        let n = keyWords
        var i = Int(truncatingIfNeeded: TableHash.hash(key, n)) & t.capacityMask
        while true {
            let s = t.slots + i &* stride
            if s.load(as: UInt64.self) == 0 { return -1 }
            let sk = (s + 16).assumingMemoryBound(to: UInt64.self)
            var w = 0
            while w < n && sk[w] == key[w] { w &+= 1 }
            if w == n { return s.load(fromByteOffset: 8, as: Int32.self) }
            i = (i &+ 1) & t.capacityMask
        }
    }

    /// General path, one-word keys.
    @inlinable
    func lookup1(_ k: UInt64) -> Int32 {
        var bestPriority = Int32.min
        var bestSeq = UInt64.max
        var best: Int32 = -1
        var tp = UnsafePointer(tuples)
        let end = tp + tupleCount_
        let stride = slotStride
        while tp < end {
            let t = tp.pointee
            if t.maxPriority < bestPriority { break }
            let mk = k & t.mask0
            var i = Int(truncatingIfNeeded: TableHash.hash1(mk)) & t.capacityMask
            while true {
                let s = t.slots + i &* stride
                let seq = s.load(as: UInt64.self)
                if seq == 0 { break }
                if s.load(fromByteOffset: 16, as: UInt64.self) == mk {
                    let p = s.load(fromByteOffset: 12, as: Int32.self)
                    if p > bestPriority || (p == bestPriority && seq < bestSeq) {
                        bestPriority = p; bestSeq = seq
                        best = s.load(fromByteOffset: 8, as: Int32.self)
                    }
                    break
                }
                i = (i &+ 1) & t.capacityMask
            }
            tp += 1
        }
        return best
    }

    /// General path, multi-word keys.
    @inlinable
    func lookupN(_ key: UnsafePointer<UInt64>) -> Int32 {
        var bestPriority = Int32.min
        var bestSeq = UInt64.max
        var best: Int32 = -1
        var tp = UnsafePointer(tuples)
        let end = tp + tupleCount_
        let stride = slotStride
        let n = keyWords
        while tp < end {
            let t = tp.pointee
            if t.maxPriority < bestPriority { break }
            let m = t.mask
            var i = Int(truncatingIfNeeded: TableHash.hashMasked(key, m, n)) & t.capacityMask
            while true {
                let s = t.slots + i &* stride
                let seq = s.load(as: UInt64.self)
                if seq == 0 { break }
                let sk = (s + 16).assumingMemoryBound(to: UInt64.self)
                var w = 0
                while w < n && sk[w] == key[w] & m[w] { w &+= 1 }
                if w == n {
                    let p = s.load(fromByteOffset: 12, as: Int32.self)
                    if p > bestPriority || (p == bestPriority && seq < bestSeq) {
                        bestPriority = p; bestSeq = seq
                        best = s.load(fromByteOffset: 8, as: Int32.self)
                    }
                    break
                }
                i = (i &+ 1) & t.capacityMask
            }
            tp += 1
        }
        return best
    }

    // MARK: Control plane

    /// Adds an entry matching keys k with k & mask == value & mask. Returns false (and changes
    /// nothing) if an entry with the same masked value and mask exists.
    @discardableResult
    public func insert(value: [UInt64], mask: [UInt64], priority: Int32, entry: Int32) -> Bool {
        precondition(value.count == keyWords && mask.count == keyWords, "value and mask need keyWords words")
        return mask.withUnsafeBufferPointer { mb in
            let m = mb.baseAddress!
            for w in 0..<keyWords { scratch[w] = value[w] & m[w] }
            var t = findTuple(m)
            if t < 0 {
                t = addTuple(m, priority: priority)
            } else if findSlot(t, scratch) >= 0 {
                return false
            }
            if (Int(tuples[t].count) + 1) * 10 > (tuples[t].capacityMask + 1) * 7 { grow(t) }
            let h = Int(truncatingIfNeeded: TableHash.hash(scratch, keyWords))
            let cm = tuples[t].capacityMask
            let base = tuples[t].slots
            var i = h & cm
            while base.load(fromByteOffset: i * slotStride, as: UInt64.self) != 0 { i = (i + 1) & cm }
            let s = base + i * slotStride
            s.storeBytes(of: TupleSlotHeader(seq: nextSeq, entry: entry, priority: priority), as: TupleSlotHeader.self)
            (s + 16).assumingMemoryBound(to: UInt64.self).update(from: scratch, count: keyWords)
            nextSeq += 1
            tuples[t].count += 1
            count_ += 1
            if tuples[t].count == 1 || priority > tuples[t].maxPriority {
                tuples[t].maxPriority = priority
                tuples[t].maxCount = 1
                resort(t)
            } else if priority == tuples[t].maxPriority {
                tuples[t].maxCount += 1
            }
            return true
        }
    }

    /// Removes the entry with this masked value and mask; returns its entry id, or nil if absent.
    @discardableResult
    public func remove(value: [UInt64], mask: [UInt64]) -> Int32? {
        precondition(value.count == keyWords && mask.count == keyWords, "value and mask need keyWords words")
        return mask.withUnsafeBufferPointer { mb -> Int32? in
            let m = mb.baseAddress!
            let t = findTuple(m)
            if t < 0 { return nil }
            for w in 0..<keyWords { scratch[w] = value[w] & m[w] }
            let i = findSlot(t, scratch)
            if i < 0 { return nil }
            let header = tuples[t].slots.load(fromByteOffset: i * slotStride, as: TupleSlotHeader.self)
            deleteSlot(t, i)
            tuples[t].count -= 1
            count_ -= 1
            if tuples[t].count == 0 {
                Self.freeTuple(tuples[t])
                (tuples + t).moveInitialize(from: tuples + t + 1, count: tupleCount_ - t - 1)
                tupleCount_ -= 1
                updateExactSingle()
            } else if header.priority == tuples[t].maxPriority {
                tuples[t].maxCount -= 1
                if tuples[t].maxCount == 0 {
                    recomputeMax(t)
                    resort(t)
                }
            }
            return header.entry
        }
    }

    /// The entry id stored for this masked value and mask, or nil.
    public func entry(value: [UInt64], mask: [UInt64]) -> Int32? {
        precondition(value.count == keyWords && mask.count == keyWords, "value and mask need keyWords words")
        return mask.withUnsafeBufferPointer { mb -> Int32? in
            let m = mb.baseAddress!
            let t = findTuple(m)
            if t < 0 { return nil }
            for w in 0..<keyWords { scratch[w] = value[w] & m[w] }
            let i = findSlot(t, scratch)
            if i < 0 { return nil }
            return tuples[t].slots.load(fromByteOffset: i * slotStride + 8, as: Int32.self)
        }
    }

    /// Removes every entry.
    public func removeAll() {
        for t in 0..<tupleCount_ { Self.freeTuple(tuples[t]) }
        tupleCount_ = 0
        count_ = 0
        exactSingle = false
    }

    // MARK: Internals

    static func freeTuple(_ t: TupleTable) {
        t.slots.deallocate()
        t.mask.deallocate()
    }

    func updateExactSingle() {
        exactSingle = tupleCount_ == 1 && tuples[0].fullMask
    }

    /// Index of the tuple with this mask, or -1.
    func findTuple(_ m: UnsafePointer<UInt64>) -> Int {
        let n = keyWords
        for t in 0..<tupleCount_ {
            let tm = tuples[t].mask
            var w = 0
            while w < n && tm[w] == m[w] { w += 1 }
            if w == n { return t }
        }
        return -1
    }

    /// Slot index holding masked key `k` in tuple `t`, or -1.
    func findSlot(_ t: Int, _ k: UnsafePointer<UInt64>) -> Int {
        let n = keyWords
        let cm = tuples[t].capacityMask
        let base = tuples[t].slots
        var i = Int(truncatingIfNeeded: TableHash.hash(k, n)) & cm
        while true {
            let s = base + i * slotStride
            if s.load(as: UInt64.self) == 0 { return -1 }
            let sk = (s + 16).assumingMemoryBound(to: UInt64.self)
            var w = 0
            while w < n && sk[w] == k[w] { w += 1 }
            if w == n { return i }
            i = (i + 1) & cm
        }
    }

    /// Appends a new empty tuple for mask `m` at its sorted position; returns its index.
    func addTuple(_ m: UnsafePointer<UInt64>, priority: Int32) -> Int {
        if tupleCount_ == tupleCapacity {
            let nc = tupleCapacity * 2
            let nt = UnsafeMutablePointer<TupleTable>.allocate(capacity: nc)
            nt.moveInitialize(from: tuples, count: tupleCount_)
            tuples.deallocate()
            tuples = nt
            tupleCapacity = nc
        }
        let cap = Self.initialCapacity
        let slots = UnsafeMutableRawPointer.allocate(byteCount: cap * slotStride, alignment: 16)
        slots.initializeMemory(as: UInt8.self, repeating: 0, count: cap * slotStride)
        let mask = UnsafeMutablePointer<UInt64>.allocate(capacity: keyWords)
        mask.initialize(from: m, count: keyWords)
        var full = true
        for w in 0..<keyWords where m[w] != ~0 { full = false }
        (tuples + tupleCount_).initialize(to: TupleTable(
            slots: slots, mask: mask, capacityMask: cap - 1, mask0: m[0], maxPriority: priority, fullMask: full))
        tupleCount_ += 1
        let t = resort(tupleCount_ - 1)
        updateExactSingle()
        return t
    }

    /// Moves tuple `t` to its place in the max-priority-descending order; returns its new index.
    @discardableResult
    func resort(_ t0: Int) -> Int {
        var t = t0
        while t > 0 && tuples[t - 1].maxPriority < tuples[t].maxPriority {
            swapTuples(t - 1, t); t -= 1
        }
        while t + 1 < tupleCount_ && tuples[t + 1].maxPriority > tuples[t].maxPriority {
            swapTuples(t + 1, t); t += 1
        }
        return t
    }

    func swapTuples(_ a: Int, _ b: Int) {
        let x = tuples[a]
        tuples[a] = tuples[b]
        tuples[b] = x
    }

    func recomputeMax(_ t: Int) {
        var mp = Int32.min
        var mc: Int32 = 0
        let base = tuples[t].slots
        for i in 0...tuples[t].capacityMask {
            let h = base.load(fromByteOffset: i * slotStride, as: TupleSlotHeader.self)
            if h.seq == 0 { continue }
            if h.priority > mp { mp = h.priority; mc = 1 } else if h.priority == mp { mc += 1 }
        }
        tuples[t].maxPriority = mp
        tuples[t].maxCount = mc
    }

    /// Doubles tuple `t`'s capacity and rehashes.
    func grow(_ t: Int) {
        let old = tuples[t].slots
        let oldCap = tuples[t].capacityMask + 1
        let cap = oldCap * 2
        let stride = slotStride
        let slots = UnsafeMutableRawPointer.allocate(byteCount: cap * stride, alignment: 16)
        slots.initializeMemory(as: UInt8.self, repeating: 0, count: cap * stride)
        for j in 0..<oldCap {
            let s = old + j * stride
            if s.load(as: UInt64.self) == 0 { continue }
            let k = UnsafePointer((s + 16).assumingMemoryBound(to: UInt64.self))
            var i = Int(truncatingIfNeeded: TableHash.hash(k, keyWords)) & (cap - 1)
            while slots.load(fromByteOffset: i * stride, as: UInt64.self) != 0 { i = (i + 1) & (cap - 1) }
            (slots + i * stride).copyMemory(from: s, byteCount: stride)
        }
        old.deallocate()
        tuples[t].slots = slots
        tuples[t].capacityMask = cap - 1
    }

    /// Backward-shift deletion of slot `i0` in tuple `t`.
    func deleteSlot(_ t: Int, _ i0: Int) {
        let base = tuples[t].slots
        let cm = tuples[t].capacityMask
        let stride = slotStride
        var i = i0
        var j = i0
        while true {
            j = (j + 1) & cm
            let sj = base + j * stride
            if sj.load(as: UInt64.self) == 0 { break }
            let k = UnsafePointer((sj + 16).assumingMemoryBound(to: UInt64.self))
            let home = Int(truncatingIfNeeded: TableHash.hash(k, keyWords)) & cm
            // The entry at j may move to i if its home is not cyclically within (i, j].
            if (j &- home) & cm >= (j &- i) & cm {
                (base + i * stride).copyMemory(from: sj, byteCount: stride)
                i = j
            }
        }
        (base + i * stride).storeBytes(of: 0, as: UInt64.self)
    }
}
