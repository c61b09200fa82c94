/// C literals.
enum CLiteral {
    /// The low `w` bits set, as a 64-bit constant.
    static func mask(_ w: Int) -> String {
        w >= 64 ? "0xFFFFFFFFFFFFFFFFULL" : "0x\(String((UInt64(1) << UInt64(w)) - 1, radix: 16, uppercase: true))ULL"
    }

    /// `v` cut to `w` bits (and to 64), as a 64-bit constant.
    static func hex(_ v: UInt128, _ w: Int) -> String {
        let m: UInt128 = w >= 128 ? ~0 : (UInt128(1) << UInt128(w)) - 1
        return "0x\(String(UInt64(truncatingIfNeeded: v & m), radix: 16, uppercase: true))ULL"
    }
}
