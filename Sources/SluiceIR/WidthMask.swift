/// All-ones masks of a bit width: the values an unsigned field of that width holds.
public enum WidthMask {
    /// The low `width` bits set (all 64 from 64 up).
    @inlinable @inline(__always)
    public static func u64(_ width: Int) -> UInt64 { width >= 64 ? ~0 : (1 << UInt64(width)) &- 1 }
    /// The low `width` bits set (all 128 from 128 up).
    @inlinable @inline(__always)
    public static func u128(_ width: Int) -> UInt128 { width >= 128 ? ~0 : (1 << UInt128(width)) &- 1 }
}
