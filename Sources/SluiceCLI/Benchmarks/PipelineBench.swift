import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceSupport
#if canImport(Glibc)
import Glibc
#endif

/// `sluice bench pipeline`: the compiled ipv4-router against a hand-written router over the same
/// LPM structure, on the same packets.
struct PipelineBench {
    let routes: Int
    let packets: Int
    let seed: UInt64
    let progress: Bool
    var engine: PipelineEngine = .default

    /// `closureMpps`: the closures on the same packets, when the native engine ran.
    struct Result { var mpps: Double; var baselineMpps: Double; var engine: PipelineEngine; var closureMpps: Double?; var engineNote: String? }

    /// A distinct packet pool cycled through (64 bytes each).
    static let poolSize = 1 << 16

    func run() throws -> Result {
        var rng = SplitMix64(seed: seed)
        let program = try IPv4Router.program(routes: max(routes + 1, 1024)).verified()
        let pipeline = try Pipeline(program, seed: seed, engine: engine)
        let closures = pipeline.engine == .native ? try Pipeline(program, seed: seed, engine: .closures) : nil
        let baseline = HandWrittenRouter()

        let prefixes = Self.prefixes(routes, &rng)
        func install(_ addr: UInt32, _ len: Int, mac: UInt64, port: UInt16) throws {
            for p in [pipeline] + (closures.map { [$0] } ?? []) {
                try p.insert("ipv4_lpm", TableEntry([.lpm(UInt128(addr), prefixLength: len)],
                                                     ActionCall("ipv4_forward", [UInt128(mac), UInt128(port)])))
            }
            baseline.add(addr, len, mac: mac, port: port)
        }
        for (i, (a, l)) in prefixes.enumerated() {
            try install(a, l, mac: 0x0800_0000_0000 | UInt64(i), port: UInt16(1 + i % 64))
        }
        try install(0, 0, mac: 0x0800_00FF_FFFF, port: 0)

        // Packets: 3 in 4 inside an installed prefix, the rest anywhere (default route).
        let pool = UnsafeMutablePointer<UInt8>.allocate(capacity: Self.poolSize * 64)
        defer { pool.deallocate() }
        for i in 0..<Self.poolSize {
            let dst = Self.destination(prefixes, &rng)
            Self.writePacket(pool + i * 64, dst: dst)
        }

        // Both sides must agree byte for byte before they are timed.
        let a = PacketBuffer(), b = PacketBuffer()
        for i in 0..<min(Self.poolSize, 4096) {
            let raw = UnsafeRawBufferPointer(start: pool + i * 64, count: 64)
            a.load(raw); b.load(raw)
            pipeline.process(a, port: 0)
            let port = baseline.process(b)
            let pOut = pipeline.outputCount == 1 ? Int(pipeline.output(0).port) : -1
            guard pOut == port, port < 0 || pipeline.output(0).buffer.bytes == b.bytes else {
                throw CLIError("pipeline and baseline disagree on packet \(i): port \(pOut) vs \(port)")
            }
        }

        let buffers = (PacketBuffer(), PacketBuffer())
        let mask = Self.poolSize - 1
        @inline(__always) func time(_ range: Range<Int>, _ body: (PacketBuffer) -> Int) -> Double {
            timeLoadedAhead(range, buffers, load: { buf, i in buf.load(UnsafeRawBufferPointer(start: pool + (i & mask) * 64, count: 64)) }) { buf, _ in body(buf) }
        }
        let labels = [pipeline.engine.rawValue, "hand-written"] + (closures == nil ? [] : ["closures"])
        let figures = timeInTurns(labels, packets: packets, progress: progress) { engine, range in
            switch engine {
            case 0:
                return time(range) { buf in
                    pipeline.process(buf, port: 0)
                    return pipeline.outputCount == 0 ? -1 : Int(pipeline.outputPort(0))
                }
            case 1:
                return time(range) { buf in baseline.process(buf) }
            default:
                let c = closures!
                return time(range) { buf in
                    c.process(buf, port: 0)
                    return c.outputCount == 0 ? -1 : Int(c.outputPort(0))
                }
            }
        }
        let mpps = figures[0], base = figures[1]
        let closureMpps = closures == nil ? nil : figures[2]
        return Result(mpps: mpps, baselineMpps: base, engine: pipeline.engine, closureMpps: closureMpps, engineNote: pipeline.engineNote)
    }

    /// `count` distinct routes: a quarter /16, the rest /24 (next hop and port come from the index).
    static func prefixes(_ count: Int, _ rng: inout SplitMix64) -> [(UInt32, Int)] {
        var prefixes: [(UInt32, Int)] = []
        var seen = Set<UInt64>()
        while prefixes.count < count {
            let len = prefixes.count % 4 == 0 ? 16 : 24
            let addr = UInt32(truncatingIfNeeded: rng.next()) & (len == 16 ? 0xFFFF_0000 : 0xFFFF_FF00)
            if !seen.insert(UInt64(addr) << 8 | UInt64(len)).inserted { continue }
            prefixes.append((addr, len))
        }
        return prefixes
    }

    /// A destination: 3 in 4 inside one of `prefixes`, the rest anywhere (the default route).
    static func destination(_ prefixes: [(UInt32, Int)], _ rng: inout SplitMix64) -> UInt32 {
        if rng.next() % 4 != 3 {
            let (a, l) = prefixes[Int(rng.next() % UInt64(prefixes.count))]
            return a | (UInt32(truncatingIfNeeded: rng.next()) & (l == 16 ? 0xFFFF : 0xFF))
        }
        return UInt32(truncatingIfNeeded: rng.next())
    }

    static func writePacket(_ p: UnsafeMutablePointer<UInt8>, dst: UInt32) {
        let bytes: [UInt8] = [
            0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x99, 0x08, 0x00,
            0x45, 0x00, 0x00, 50, 0x00, 0x01, 0x00, 0x00, 64, 17, 0, 0,
            10, 0, 9, 9,
            UInt8(dst >> 24), UInt8(truncatingIfNeeded: dst >> 16), UInt8(truncatingIfNeeded: dst >> 8), UInt8(truncatingIfNeeded: dst),
            0x04, 0xD2, 0x00, 0x50, 0x00, 30, 0x00, 0x00,
        ]
        for (i, b) in bytes.enumerated() { p[i] = b }
        for i in bytes.count..<64 { p[i] = UInt8(truncatingIfNeeded: i) }
        let sum = InternetChecksum.checksum(UnsafeRawBufferPointer(start: p + 14, count: 20))
        p[24] = UInt8(sum >> 8); p[25] = UInt8(truncatingIfNeeded: sum)
    }
}

/// Millions of packets per second of each of `labels`' engines over the same `packets`
/// packets, timed in turns (`Turns`: ten rounds); `run(engine, range)` returns the seconds of
/// one turn. With `progress`, each round prints the figures so far on standard error.
func timeInTurns(_ labels: [String], packets: Int, progress: Bool,
                 _ run: (_ engine: Int, _ packets: Range<Int>) -> Double) -> [Double] {
    let rounds = 10
    let seconds = Turns.seconds(engines: labels.count, count: packets, rounds: rounds, roundDone: { done, seconds in
        guard progress else { return }
        let so = zip(labels, seconds).map { "\($0) \(String(format: "%.2f", Double(done) / $1 / 1e6))" }.joined(separator: ", ")
        progressLine("  \(done * 100 / packets)% of \(packets) packets: \(so) Mpps")
    }, run)
    if progress { progressLine("") }
    return seconds.map { Double(packets) / $0 / 1e6 }
}

/// Seconds `body` takes over the packets of `range`, each loaded into one of `buffers` while
/// the one before it runs: a packet copied in just before it is processed makes every engine
/// wait for the copy's stores (a 64-byte store does not forward to the header loads after
/// it), about 4 ns a packet for all engines alike, which pulled their ratios toward 1.
@inline(__always) func timeLoadedAhead(_ range: Range<Int>, _ buffers: (PacketBuffer, PacketBuffer),
                                       load: (PacketBuffer, Int) -> Void, _ body: (PacketBuffer, Int) -> Int) -> Double {
    guard !range.isEmpty else { return 0 }
    // Unretained: choosing a buffer a packet must not cost a retain and a release.
    let a = Unmanaged.passUnretained(buffers.0), b = Unmanaged.passUnretained(buffers.1)
    return withExtendedLifetime(buffers) {
        (range.lowerBound & 1 == 0 ? a : b)._withUnsafeGuaranteedRef { load($0, range.lowerBound) }
        return timeSlice(range) { i in
            let (now, next) = i & 1 == 0 ? (a, b) : (b, a)
            if i + 1 < range.upperBound { next._withUnsafeGuaranteedRef { load($0, i + 1) } }
            return now._withUnsafeGuaranteedRef { body($0, i) }
        }
    }
}

/// Seconds `body` takes over the packet indexes of `range` (its results are kept, so the work
/// cannot be optimised away), on the monotonic clock.
@inline(__always) func timeSlice(_ range: Range<Int>, _ body: (Int) -> Int) -> Double {
    var sink = 0
    let t0 = MonotonicClock.nanoseconds
    for i in range { sink &+= body(i) }
    let dt = MonotonicClock.nanoseconds - t0
    if sink == Int.min { print(sink) }
    return Double(dt) / 1e9
}

/// The same semantics as `ipv4-router`, written by hand the way one would in Swift: read the
/// fields in place, look the destination up in the same LPM structure, rewrite in place with
/// an incremental checksum update.
final class HandWrittenRouter {
    /// The structure the runtime uses for single-key LPM tables.
    let index = LPMIndex(width: 32)
    @exclusivity(unchecked) var macs: [UInt64] = []
    @exclusivity(unchecked) var ports: [UInt16] = []

    func add(_ addr: UInt32, _ len: Int, mac: UInt64, port: UInt16) {
        index.insert(value: UInt64(addr), length: len, entry: Int32(macs.count))
        macs.append(mac); ports.append(port)
    }

    /// The egress port, or -1 when dropped.
    @inline(never)
    func process(_ buf: PacketBuffer) -> Int {
        let p = buf.data
        guard buf.length >= 34 else { return -1 }
        let raw = UnsafeMutableRawPointer(p)
        guard raw.loadUnaligned(fromByteOffset: 12, as: UInt16.self) == UInt16(0x0800).bigEndian else { return -1 }
        guard p[14] == 0x45, p[22] > 1 else { return -1 }
        if InternetChecksum.fold(InternetChecksum.sum(UnsafeRawBufferPointer(start: p + 14, count: 20))) != 0xFFFF { return -1 }
        let e = index.lookup(UInt64(UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 30, as: UInt32.self))))
        guard e >= 0 else { return -1 }
        // src MAC = old dst MAC; dst MAC = next hop.
        for i in 0..<6 { p[6 + i] = p[i] }
        let mac = macs[Int(e)]
        for i in 0..<6 { p[i] = UInt8(truncatingIfNeeded: mac >> UInt64(40 - 8 * i)) }
        let oldWord = UInt16(p[22]) << 8 | UInt16(p[23])
        p[22] -= 1
        let newWord = UInt16(p[22]) << 8 | UInt16(p[23])
        let ck = UInt16(p[24]) << 8 | UInt16(p[25])
        let nck = InternetChecksum.update(checksum: ck, old: oldWord, new: newWord)
        p[24] = UInt8(nck >> 8); p[25] = UInt8(truncatingIfNeeded: nck)
        return Int(ports[Int(e)])
    }
}
