/// Longest-prefix match on one key of 16 to 64 bits, for routing tables of 100k+ prefixes: one
/// exact-match table per prefix length, and for every value of the key's top 16 bits a bitmap of
/// the lengths that can match there. A lookup probes only those lengths, longest first (one or
/// two for a typical table), where tuple-space search would probe every length present. With
/// few lengths, a byte per bucket (its longest length) stands in for the bitmap: 64 KB that
/// stay in cache where the bitmaps' 512 KB do not.
public final class LPMIndex {
    public let width: Int
    @usableFromInline let shift: UInt64
    /// Bit `L - 1` of bucket `b`: a prefix of length `L` (1...64) covers part of bucket `b`.
    @usableFromInline let buckets: UnsafeMutablePointer<UInt64>
    /// Per bucket, the longest length of its bitmap (0 for none): with few lengths, a lookup
    /// probes the lengths present up to this one, and none where no prefix covers the bucket.
    @usableFromInline let longest: UnsafeMutablePointer<UInt8>
    /// Per length 1...64 (index L), unretained for the lookup; `owners` keeps them alive.
    @usableFromInline let tables: UnsafeMutablePointer<Unmanaged<TupleSpaceIndex>?>
    @usableFromInline let masks: UnsafeMutablePointer<UInt64>
    /// Bit `L - 1`: some prefix of length `L` is present. With few lengths, probing those up to
    /// the bucket's longest beats reading the bucket bitmap (which costs a cache miss of its own).
    @exclusivity(unchecked) @usableFromInline var present: UInt64 = 0
    @exclusivity(unchecked) @usableFromInline var fewLengths = true
    var perLength = [Int](repeating: 0, count: 65)
    /// The entry of the zero-length prefix (the default route), or -1.
    @exclusivity(unchecked) @usableFromInline var defaultEntry: Int32 = -1
    var owners: [TupleSpaceIndex?]
    /// How many prefixes of a length of 16 or more share a bucket (key: bucket << 7 | length).
    var shared: [UInt64: Int] = [:]
    public private(set) var count = 0

    public init(width: Int) {
        precondition((16...64).contains(width), "LPMIndex keys are 16 to 64 bits wide")
        self.width = width
        shift = UInt64(width - 16)
        buckets = .allocate(capacity: 1 << 16)
        buckets.initialize(repeating: 0, count: 1 << 16)
        longest = .allocate(capacity: 1 << 16)
        longest.initialize(repeating: 0, count: 1 << 16)
        tables = .allocate(capacity: 65)
        tables.initialize(repeating: nil, count: 65)
        masks = .allocate(capacity: 65)
        for l in 0...64 {
            masks[l] = l == 0 ? 0 : (l >= width ? (width == 64 ? ~0 : (1 << UInt64(width)) - 1) : (((1 << UInt64(l)) - 1) << UInt64(width - l)))
        }
        owners = Array(repeating: nil, count: 65)
    }

    deinit { buckets.deallocate(); longest.deallocate(); tables.deallocate(); masks.deallocate() }

    /// The buckets a prefix covers.
    func span(_ value: UInt64, _ length: Int) -> ClosedRange<Int> {
        let first = Int(value >> shift)
        return length >= 16 ? first...first : first...(first + (1 << (16 - length)) - 1)
    }

    /// Insert `value/length`; false if that prefix is present.
    @discardableResult
    public func insert(value: UInt64, length: Int, entry: Int32) -> Bool {
        let v = value & masks[length]
        if length == 0 {
            if defaultEntry >= 0 { return false }
            defaultEntry = entry; count += 1; return true
        }
        if owners[length] == nil {
            let t = TupleSpaceIndex(keyWords: 1)
            owners[length] = t
            tables[length] = Unmanaged.passUnretained(t)
        }
        guard owners[length]!.insert(value: [v], mask: [~0], priority: 0, entry: entry) else { return false }
        let bit: UInt64 = 1 << UInt64(length - 1)
        if length >= 16 { shared[UInt64(v >> shift) << 7 | UInt64(length), default: 0] += 1 }
        for b in span(v, length) { buckets[b] |= bit; longest[b] = max(longest[b], UInt8(length)) }
        perLength[length] += 1
        present |= bit
        fewLengths = present.nonzeroBitCount <= Self.fewLengthsLimit
        count += 1
        return true
    }

    /// Remove `value/length`; the entry it had, or nil.
    @discardableResult
    public func remove(value: UInt64, length: Int) -> Int32? {
        let v = value & masks[length]
        if length == 0 {
            guard defaultEntry >= 0 else { return nil }
            defer { defaultEntry = -1; count -= 1 }
            return defaultEntry
        }
        guard let t = owners[length], let e = t.remove(value: [v], mask: [~0]) else { return nil }
        var clear = true
        if length >= 16 {
            let k = UInt64(v >> shift) << 7 | UInt64(length)
            let n = (shared[k] ?? 1) - 1
            if n > 0 { shared[k] = n; clear = false } else { shared[k] = nil }
        }
        // Shorter prefixes of one length never overlap, so their buckets are theirs alone.
        if clear {
            for b in span(v, length) {
                buckets[b] &= ~(1 << UInt64(length - 1))
                longest[b] = UInt8(64 - buckets[b].leadingZeroBitCount)
            }
        }
        perLength[length] -= 1
        if perLength[length] == 0 { present &= ~(1 << UInt64(length - 1)) }
        fewLengths = present.nonzeroBitCount <= Self.fewLengthsLimit
        count -= 1
        return e
    }

    public func find(value: UInt64, length: Int) -> Int32? {
        let v = value & masks[length]
        if length == 0 { return defaultEntry >= 0 ? defaultEntry : nil }
        return owners[length]?.entry(value: [v], mask: [~0])
    }

    /// The entry of the longest prefix matching `key`, or -1.
    /// Up to this many distinct lengths, a lookup probes them all instead of reading the bucket.
    public static let fewLengthsLimit = 4

    @inlinable public func lookup(_ key: UInt64) -> Int32 {
        let b = Int(truncatingIfNeeded: key >> shift)
        var bits: UInt64
        if fewLengths {
            let top = UInt64(longest[b])
            bits = top == 0 ? 0 : present & (UInt64.max &>> (64 &- top))
        } else {
            bits = buckets[b]
        }
        while bits != 0 {
            let l = 64 - bits.leadingZeroBitCount
            var k = key & masks[l]
            let e = tables[l]!._withUnsafeGuaranteedRef { $0.lookup(&k) }
            if e >= 0 { return e }
            bits &= ~(1 << UInt64(l - 1))
        }
        return defaultEntry
    }
}
