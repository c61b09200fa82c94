// Hashing of key words for the software match tables (see TupleSpaceIndex).

/// wyhash-style 64-bit mixing: the 128-bit product of the two operands, folded.
@inlinable @inline(__always)
func tableMix(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let r = a.multipliedFullWidth(by: b)
    return r.high ^ r.low
}

@usableFromInline enum TableHash {
    @inlinable static var k0: UInt64 { 0xa076_1d64_78bd_642f }
    @inlinable static var k1: UInt64 { 0xe703_7ed1_a0b4_28db }

    /// Hash of one (already masked) key word.
    @inlinable @inline(__always)
    static func hash1(_ w: UInt64) -> UInt64 { tableMix(w ^ k0, k1) }

    /// Hash of `n` already-masked key words.
    @inlinable @inline(__always)
    static func hash(_ p: UnsafePointer<UInt64>, _ n: Int) -> UInt64 {
        var h = k0
        var i = 0
        while i < n { h = tableMix(h ^ p[i], k1); i &+= 1 }
        return h
    }

    /// Hash of `n` key words, each ANDed with the matching mask word.
    @inlinable @inline(__always)
    static func hashMasked(_ p: UnsafePointer<UInt64>, _ m: UnsafePointer<UInt64>, _ n: Int) -> UInt64 {
        var h = k0
        var i = 0
        while i < n { h = tableMix(h ^ (p[i] & m[i]), k1); i &+= 1 }
        return h
    }
}
