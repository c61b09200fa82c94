import SluiceIR

/// Per-packet state of a compiled pipeline, allocated once and reused: header bytes, validity,
/// metadata slots, the parser cursor and the current action's parameters. Compiled closures
/// take it as their only argument.
final class ExecContext {
    let hdr: UnsafeMutablePointer<UInt8>
    let valid: UnsafeMutablePointer<UInt8>
    let slots: UnsafeMutablePointer<UInt64>
    let headerBytes: Int
    let validCount: Int
    let slotCount: Int
    /// Stack next-index counters: `slots[stackSlots]`.
    let stackSlots: Range<Int>
    /// Key words for table lookups (large enough for any table of the program).
    let key: UnsafeMutablePointer<UInt64>
    /// Bytes for hash inputs.
    let hashBuf: UnsafeMutablePointer<UInt8>

    /// The packet being parsed.
    @exclusivity(unchecked) var pkt: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) var pktLen: Int = 0
    @exclusivity(unchecked) var cursor: Int = 0
    /// Parameters of the running action.
    @exclusivity(unchecked) var params: UnsafePointer<UInt64>
    @exclusivity(unchecked) var exited = false
    @exclusivity(unchecked) var registerOld: UInt64 = 0
    @exclusivity(unchecked) var resubmit = false
    @exclusivity(unchecked) var recirculate = false
    /// The most bytes the deparsed packet keeps (`truncate`); `Int.max` when not truncated.
    @exclusivity(unchecked) var truncateTo = Int.max
    @exclusivity(unchecked) var rng: SplitMix64


    init(layout: Layout, keyWords: Int, hashBytes: Int, seed: UInt64) {
        headerBytes = layout.headerBytes
        validCount = layout.validCount
        slotCount = layout.slotCount
        stackSlots = layout.stackSlots
        // 8 bytes of slack after the headers: `Bits.loadFixed` reads a whole word at any field.
        hdr = .allocate(capacity: headerBytes + 8); hdr.initialize(repeating: 0, count: headerBytes + 8)
        valid = .allocate(capacity: max(validCount, 1)); valid.initialize(repeating: 0, count: max(validCount, 1))
        slots = .allocate(capacity: slotCount); slots.initialize(repeating: 0, count: slotCount)
        key = .allocate(capacity: max(keyWords, 1)); key.initialize(repeating: 0, count: max(keyWords, 1))
        hashBuf = .allocate(capacity: max(hashBytes, 1)); hashBuf.initialize(repeating: 0, count: max(hashBytes, 1))
        pkt = hdr
        params = UnsafePointer(key)
        rng = SplitMix64(seed: seed)
    }

    deinit {
        hdr.deallocate(); valid.deallocate(); slots.deallocate(); key.deallocate(); hashBuf.deallocate()
        savedSlots.deallocate()
    }

    /// Metadata as ingress left it, restored for each multicast copy.
    lazy var savedSlots: UnsafeMutablePointer<UInt64> = {
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: slotCount); p.initialize(repeating: 0, count: slotCount); return p
    }()
    func saveMetadata() { savedSlots.update(from: slots, count: slotCount) }
    func restoreMetadata() { slots.update(from: savedSlots, count: slotCount) }

    @inline(__always) func std(_ f: StandardField) -> UInt64 { slots[Layout.standardSlot(f)] }
    @inline(__always) func setStd(_ f: StandardField, _ v: UInt64) { slots[Layout.standardSlot(f)] = v }

    /// Clear headers, validity and stack counters (metadata too unless `keepMetadata`).
    @inline(__always) func reset(keepMetadata: Bool) {
        hdr.update(repeating: 0, count: headerBytes)
        valid.update(repeating: 0, count: validCount)
        if !keepMetadata { slots.update(repeating: 0, count: slotCount) } else if !stackSlots.isEmpty {
            (slots + stackSlots.lowerBound).update(repeating: 0, count: stackSlots.count)
        }
        exited = false; resubmit = false; recirculate = false; truncateTo = Int.max
    }
}

/// A small, fast, seedable generator (Steele et al.); the program's `random` uses it.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    @inline(__always) public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Big-endian bit-field access on byte memory, the layout of headers on the wire.
enum Bits {
    @inline(__always) static func mask(_ w: Int) -> UInt64 { WidthMask.u64(w) }
    @inline(__always) static func mask128(_ w: Int) -> UInt128 { WidthMask.u128(w) }

    /// Read `width` (≤ 64) bits starting `bitOffset` bits after `p`.
    @inline(__always) static func load(_ p: UnsafePointer<UInt8>, bitOffset: Int, width: Int) -> UInt64 {
        let first = bitOffset >> 3
        let shift = bitOffset & 7
        let nbytes = (shift + width + 7) >> 3
        if nbytes <= 8 {
            var v: UInt64 = 0
            for i in 0..<nbytes { v = (v << 8) | UInt64(p[first + i]) }
            return (v >> UInt64(nbytes * 8 - shift - width)) & mask(width)
        }
        var v: UInt128 = 0
        for i in 0..<nbytes { v = (v << 8) | UInt128(p[first + i]) }
        let drop = nbytes * 8 - shift - width
        return UInt64(truncatingIfNeeded: v >> UInt128(drop)) & mask(width)
    }

    /// Write the low `width` (≤ 64) bits of `value` starting `bitOffset` bits after `p`.
    @inline(__always) static func store(_ p: UnsafeMutablePointer<UInt8>, bitOffset: Int, width: Int, _ value: UInt64) {
        let first = bitOffset >> 3
        let shift = bitOffset & 7
        let nbytes = (shift + width + 7) >> 3
        if nbytes <= 8 {
            var old: UInt64 = 0
            for i in 0..<nbytes { old = (old << 8) | UInt64(p[first + i]) }
            let drop = UInt64(nbytes * 8 - shift - width)
            let m = mask(width) << drop
            let v = (old & ~m) | (((value & mask(width)) << drop) & m)
            for i in 0..<nbytes { p[first + i] = UInt8(truncatingIfNeeded: v >> UInt64((nbytes - 1 - i) * 8)) }
            return
        }
        var old: UInt128 = 0
        for i in 0..<nbytes { old = (old << 8) | UInt128(p[first + i]) }
        let drop = UInt128(nbytes * 8 - shift - width)
        let m = mask128(width) << drop
        let v = (old & ~m) | ((UInt128(value & mask(width)) << drop) & m)
        for i in 0..<nbytes { p[first + i] = UInt8(truncatingIfNeeded: v >> UInt128((nbytes - 1 - i) * 8)) }
    }

    /// Copy `n` bytes between regions that do not overlap. Headers are mostly 4 to 40 bytes,
    /// where a call to memcpy costs more than the copy: up to 32 bytes take two or four
    /// (possibly overlapping) word moves.
    @inline(__always) static func copy(_ d: UnsafeMutablePointer<UInt8>, _ s: UnsafePointer<UInt8>, _ n: Int) {
        let src = UnsafeRawPointer(s), dst = UnsafeMutableRawPointer(d)
        if n >= 8 && n <= 16 {
            let a = src.loadUnaligned(as: UInt64.self), b = src.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            dst.storeBytes(of: a, as: UInt64.self)
            dst.storeBytes(of: b, toByteOffset: n - 8, as: UInt64.self)
        } else if n > 16 && n <= 32 {
            let a = src.loadUnaligned(as: UInt64.self), b = src.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            let c = src.loadUnaligned(fromByteOffset: n - 16, as: UInt64.self), e = src.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            dst.storeBytes(of: a, as: UInt64.self)
            dst.storeBytes(of: b, toByteOffset: 8, as: UInt64.self)
            dst.storeBytes(of: c, toByteOffset: n - 16, as: UInt64.self)
            dst.storeBytes(of: e, toByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 && n < 8 {
            let a = src.loadUnaligned(as: UInt32.self), b = src.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
            dst.storeBytes(of: a, as: UInt32.self)
            dst.storeBytes(of: b, toByteOffset: n - 4, as: UInt32.self)
        } else {
            d.update(from: s, count: n)
        }
    }

    /// `load` for a field at a fixed offset whose bits fit in one 8-byte word read from its
    /// first byte (`bitOffset & 7 + width <= 64`); the memory must extend 8 bytes past it.
    @inline(__always) static func loadFixed(_ p: UnsafePointer<UInt8>, byte: Int, shift: UInt64, width: UInt64) -> UInt64 {
        let word = UInt64(bigEndian: UnsafeRawPointer(p + byte).loadUnaligned(as: UInt64.self))
        return (word << shift) >> (64 &- width)
    }

    static func load128(_ p: UnsafePointer<UInt8>, bitOffset: Int, width: Int) -> UInt128 {
        if width <= 64 { return UInt128(load(p, bitOffset: bitOffset, width: width)) }
        let hiW = width - 64
        return (UInt128(load(p, bitOffset: bitOffset, width: hiW)) << 64) | UInt128(load(p, bitOffset: bitOffset + hiW, width: 64))
    }

    static func store128(_ p: UnsafeMutablePointer<UInt8>, bitOffset: Int, width: Int, _ v: UInt128) {
        if width <= 64 { store(p, bitOffset: bitOffset, width: width, UInt64(truncatingIfNeeded: v)); return }
        let hiW = width - 64
        store(p, bitOffset: bitOffset, width: hiW, UInt64(truncatingIfNeeded: v >> 64))
        store(p, bitOffset: bitOffset + hiW, width: 64, UInt64(truncatingIfNeeded: v))
    }

    @inline(__always) static func signExtend(_ v: UInt64, _ w: Int) -> Int64 {
        w >= 64 ? Int64(bitPattern: v) : (Int64(bitPattern: v << UInt64(64 - w)) >> Int64(64 - w))
    }
}
