import SluiceRuntime
import SluiceTesting

/// INT-MD v2.1 and Telemetry Report v2.0 encoded from the wire formats (int.md), independently of
/// the program: what the tests expect `int-md` to put on the wire.
enum INTReference {
    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(truncatingIfNeeded: v)] }
    static func be32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
    static func be64(_ v: UInt64) -> [UInt8] { be32(UInt32(v >> 32)) + be32(UInt32(truncatingIfNeeded: v)) }

    /// The baseline bitmap (bits 0-8) plus the checksum complement (bit 15), as the source sends it.
    static let fullBitmap: UInt16 = 0xFF81
    /// 4 bytes a word: node, l1, latency, queue, 2 x ingress ts, 2 x egress ts, 2 x l2, tx, buffer, complement.
    static let fullHopML = 13

    /// One hop's metadata: what the program observed there.
    struct Hop {
        var node: UInt32
        var ingressPort: UInt16
        var egressPort: UInt16
        var latency: UInt32
        var occupancy: UInt32
        var ingressTimestamp: UInt64
        var egressTimestamp: UInt64
        var txUtilization: UInt32
        /// Buffer occupancy (24 bits; all ones where not observable).
        var buffer: UInt32 = 0xFF_FFFF

        /// The metadata words for `bitmap`, in bitmap order (the complement makes them sum to
        /// ones' complement zero).
        func bytes(bitmap: UInt16) -> [UInt8] {
            var b: [UInt8] = []
            func has(_ bit: Int) -> Bool { bitmap & (0x8000 >> UInt16(bit)) != 0 }
            if has(0) { b += be32(node) }
            if has(1) { b += be16(ingressPort) + be16(egressPort) }
            if has(2) { b += be32(latency) }
            if has(3) { b += [0] + Array(be32(occupancy).suffix(3)) }
            if has(4) { b += be64(ingressTimestamp) }
            if has(5) { b += be64(egressTimestamp) }
            if has(6) { b += be32(UInt32(ingressPort)) + be32(UInt32(egressPort)) }
            if has(7) { b += be32(txUtilization) }
            if has(8) { b += [0] + Array(be32(buffer).suffix(3)) }
            for bit in 9...14 where has(bit) { b += [0xFF, 0xFF, 0xFF, 0xFF] }
            if has(15) { b += [0, 0] + be16(~InternetChecksum.fold(InternetChecksum.sum(b))) }
            return b
        }
    }

    /// Shim, INT-MD header and stack (newest hop first) for a packet whose original DSCP was `dscp`.
    static func intBlock(dscp: UInt8, bitmap: UInt16 = fullBitmap, hopML: Int = fullHopML, remaining: UInt8,
                         e: Bool = false, m: Bool = false, stack: [[UInt8]]) -> [UInt8] {
        let words = 3 + stack.reduce(0) { $0 + $1.count } / 4
        let shim: [UInt8] = [0x10, UInt8(words), 0, dscp << 2]
        let word0 = UInt32(2) << 28 | (e ? 1 << 26 : 0) | (m ? 1 << 25 : 0) | UInt32(hopML) << 8 | UInt32(remaining)
        return shim + be32(word0) + be16(bitmap) + be16(0) + be32(0) + stack.flatMap { $0 }
    }

    /// The Telemetry Report's UDP payload: group header, individual report with the sink's
    /// metadata (bits 1-8 of `bitmap`) and the inner packet truncated to `keep` bytes.
    static func reportPayload(sequence: UInt32, node: UInt32, bitmap: UInt16 = fullBitmap, sink: Hop,
                              inner: [UInt8], keep: Int) -> [UInt8] {
        let repBits = bitmap & 0x7F80
        let md = sink.bytes(bitmap: repBits)
        let kept = Array(inner.prefix(keep))
        let words = (8 + md.count + kept.count) / 4
        let length: UInt8 = kept.count % 4 == 0 && words <= 254 ? UInt8(words) : 0xFF
        let group = be32(2 << 28 | (sequence & 0x3F_FFFF)) + be32(node)
        let individual: [UInt8] = [1 << 4 | 3, length, UInt8(md.count / 4), 0b0010_0000]
        return group + individual + be16(repBits) + be16(0) + be32(0) + md + kept
    }
}
