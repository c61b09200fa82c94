// The Internet checksum (RFC 1071) and its incremental update (RFC 1624), for the checksum
// externs. Per-packet code: no allocation.

/// The 16-bit ones-complement Internet checksum used by IPv4, ICMP, UDP and TCP.
///
/// Sums are kept unfolded in a `UInt32` so that pieces (a pseudo-header, a header, a payload)
/// can be chained: `checksum = ~fold(sum(b, initial: sum(a)))`. Every piece but the last must
/// have even length; an odd final byte is padded with zero on the right.
public enum InternetChecksum {
    /// The ones-complement sum of `bytes` taken as big-endian 16-bit words, added to `initial`.
    /// The result is congruent (mod 0xFFFF) to the true sum and is zero only if `initial` and all
    /// bytes are zero; pass it to `fold` or back in as `initial`.
    @inlinable
    public static func sum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        // 32-bit big-endian words into a 64-bit accumulator: 2^16 ≡ 1 (mod 0xFFFF), so summing
        // 32-bit words and folding gives the 16-bit ones-complement sum. No overflow before 2^32 words.
        var acc = UInt64(initial)
        let count = bytes.count
        var i = 0
        while i + 4 <= count {
            acc &+= UInt64(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
            i &+= 4
        }
        if i + 2 <= count {
            acc &+= UInt64(UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt16.self)))
            i &+= 2
        }
        if i < count {
            acc &+= UInt64(bytes[i]) << 8
        }
        acc = (acc & 0xFFFF_FFFF) &+ (acc >> 32)
        acc = (acc & 0xFFFF_FFFF) &+ (acc >> 32)
        return UInt32(truncatingIfNeeded: acc)
    }

    @inlinable
    public static func sum(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { sum($0, initial: initial) }
    }

    /// Folds a partial sum to 16 bits with end-around carry (not complemented).
    @inlinable
    public static func fold(_ sum: UInt32) -> UInt16 {
        var s = (sum & 0xFFFF) &+ (sum >> 16)
        s = (s & 0xFFFF) &+ (s >> 16)
        return UInt16(truncatingIfNeeded: s)
    }

    /// The checksum field value for `bytes`: `~fold(sum(bytes))`. Over data that includes a
    /// correct checksum field, this is 0.
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        ~fold(sum(bytes))
    }

    @inlinable
    public static func checksum(_ bytes: [UInt8]) -> UInt16 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// RFC 1624 eqn. 3: the new checksum after a 16-bit word covered by `checksum` changes from
    /// `old` to `new`: `HC' = ~(~HC + ~m + m')`.
    @inlinable
    public static func update(checksum: UInt16, old: UInt16, new: UInt16) -> UInt16 {
        let s = UInt32(~checksum) &+ UInt32(~old) &+ UInt32(new)
        return ~fold(s)
    }

    /// RFC 1624 for a 32-bit value (two adjacent 16-bit words, e.g. an IPv4 address) that
    /// changes from `old` to `new`.
    @inlinable
    public static func update(checksum: UInt16, old: UInt32, new: UInt32) -> UInt16 {
        let o = ~old
        var s = UInt32(~checksum)
        s &+= (o >> 16) &+ (o & 0xFFFF)
        s &+= (new >> 16) &+ (new & 0xFFFF)
        return ~fold(s)
    }
}
