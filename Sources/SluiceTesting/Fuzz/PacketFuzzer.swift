import SluiceControlPlane
import SluiceIR
import SluiceRuntime

/// Seeded packets for `sluice fuzz`: packets the program's parser takes (`PacketSynthesizer`),
/// the same mutated (bits flipped, bytes overwritten, cut short, extended) and plain random
/// bytes. Packet `i` depends only on the seed and `i`, so any one can be made again alone.
public struct PacketFuzzer {
    public enum Kind: String, CaseIterable, Sendable {
        case parsed, mutated, truncated, random

        /// Its position in `allCases`, for counting in an array.
        public var index: Int {
            switch self { case .parsed: 0; case .mutated: 1; case .truncated: 2; case .random: 3 }
        }
    }

    public let seed: UInt64
    var synthesizer: PacketSynthesizer
    let ports: [UInt16]

    public init(_ program: VerifiedProgram, seed: UInt64, ports: [UInt16]) {
        precondition(!ports.isEmpty, "no ingress ports to fuzz")
        self.seed = seed
        synthesizer = PacketSynthesizer(program)
        self.ports = ports
    }

    /// Use the entries installed through `cp` for values worth trying (see `PacketSynthesizer.learn`).
    public mutating func learn(_ cp: any ControlPlane) { synthesizer.learn(cp) }

    /// Packet `i`: its bytes, its ingress port and how it was made.
    public func packet(_ i: Int) -> (bytes: [UInt8], port: UInt16, kind: Kind) {
        var rng = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: i) &* 0x9E37_79B9_7F4A_7C15))
        let port = ports[Int(rng.next() % UInt64(ports.count))]
        let roll = rng.next() % 100
        if roll < 5 {
            let n = Int(rng.next() % 200)
            return ((0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, port, .random)
        }
        var bytes = synthesizer.packet(&rng).bytes
        if roll < 50 { return (bytes, port, .parsed) }
        if roll < 62 {
            bytes.removeLast(bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count + 1)))
            return (bytes, port, .truncated)
        }
        for _ in 0..<(1 + Int(rng.next() % 3)) { Self.mutate(&bytes, &rng) }
        return (bytes, port, .mutated)
    }

    /// One mutation of `bytes`.
    static func mutate(_ bytes: inout [UInt8], _ rng: inout SplitMix64) {
        switch rng.next() % 6 {
        case 0, 1:   // a few bits flipped
            guard !bytes.isEmpty else { return }
            for _ in 0..<(1 + Int(rng.next() % 4)) { bytes[Int(rng.next() % UInt64(bytes.count))] ^= 1 << UInt8(rng.next() % 8) }
        case 2:      // a byte set to an edge value
            guard !bytes.isEmpty else { return }
            let edges: [UInt8] = [0, 0xFF, 0x7F, 0x80, 1]
            bytes[Int(rng.next() % UInt64(bytes.count))] = edges[Int(rng.next() % UInt64(edges.count))]
        case 3:      // a run of bytes overwritten
            guard !bytes.isEmpty else { return }
            let at = Int(rng.next() % UInt64(bytes.count)), n = min(bytes.count - at, 1 + Int(rng.next() % 8))
            for j in at..<(at + n) { bytes[j] = UInt8(truncatingIfNeeded: rng.next()) }
        case 4:      // extended with garbage
            for _ in 0..<(1 + Int(rng.next() % 64)) { bytes.append(UInt8(truncatingIfNeeded: rng.next())) }
        default:     // cut short
            bytes.removeLast(bytes.isEmpty ? 0 : Int(rng.next() % UInt64(min(bytes.count, 32) + 1)))
        }
    }
}
