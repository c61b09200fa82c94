import SluiceRuntime
import SluiceSupport
#if canImport(Glibc)
import Glibc
#endif

/// `sluice bench tables`: lookups per second of the runtime's match structures, each against a
/// plain-Swift baseline over the same entries in the same run (a `Dictionary` for exact match; a
/// `Dictionary` per prefix length probed longest first for LPM). LPM is measured twice: with
/// tuple-space search, and with the bucketed `LPMIndex` that single-key LPM tables use.
struct TablesBench {
    let lookups: Int
    let seed: UInt64

    struct Row { var name: String; var entries: Int; var mlps: Double; var baselineMlps: Double; var insertMs: Double }

    func run() -> [Row] {
        var rng = SplitMix64(seed: seed)
        var rows: [Row] = []

        // Exact, 10k one-word keys, half the probes miss.
        do {
            let t = TupleSpaceIndex(keyWords: 1)
            var dict: [UInt64: Int32] = [:]
            var keys: [UInt64] = []
            let t0 = now()
            while t.count < 10_000 {
                let k = rng.next()
                if t.insert(value: [k], mask: [~0], priority: 0, entry: Int32(t.count)) { keys.append(k) }
            }
            let ms = (now() - t0) * 1000
            for (i, k) in keys.enumerated() { dict[k] = Int32(i) }
            var probes = keys + (0..<10_000).map { _ in rng.next() }
            probes.shuffle(using: &rng)
            rows.append(Row(name: "exact 10k (50% hits)", entries: 10_000,
                            mlps: measure(probes) { t.lookup($0) }, baselineMlps: measure(probes) { dict[$0.pointee] ?? -1 }, insertMs: ms))
        }
        // LPM: 10k /24 and /16 routes, then 100k random /8-/32 routes.
        for (name, count, lengths) in [("lpm 10k /24+/16", 10_000, [16, 24]), ("lpm 100k /8-/32", 100_000, Array(8...32))] {
            let t = TupleSpaceIndex(keyWords: 1)
            var byLength: [Int: [UInt64: Int32]] = [:]
            var routes: [(UInt64, UInt64)] = []
            var pending: [(UInt64, UInt64, Int)] = []
            while pending.count < count {
                let len = lengths[Int(rng.next() % UInt64(lengths.count))]
                let m: UInt64 = (0xFFFF_FFFF >> UInt64(32 - len)) << UInt64(32 - len)
                let v = rng.next() & m
                if byLength[len]?[v] != nil { continue }
                byLength[len, default: [:]][v] = Int32(pending.count)
                pending.append((v, m, len))
            }
            let t0 = now()
            for (i, r) in pending.enumerated() { _ = t.insert(value: [r.0], mask: [r.1], priority: Int32(r.2), entry: Int32(i)) }
            let ms = (now() - t0) * 1000
            routes = pending.map { ($0.0, $0.1) }
            let present = byLength.keys.sorted(by: >)
            let masks = present.map { len -> UInt64 in (0xFFFF_FFFF >> UInt64(32 - len)) << UInt64(32 - len) }
            let tables = present.map { byLength[$0]! }
            let probes: [UInt64] = (0..<65_536).map { i in
                if i % 4 == 3 { return rng.next() & 0xFFFF_FFFF }
                let r = routes[Int(rng.next() % UInt64(routes.count))]
                return r.0 | (rng.next() & ~r.1 & 0xFFFF_FFFF)
            }
            let baseline = measure(probes) { k -> Int32 in
                for i in 0..<masks.count { if let e = tables[i][k.pointee & masks[i]] { return e } }
                return -1
            }
            rows.append(Row(name: name + " tuple-space", entries: count, mlps: measure(probes) { t.lookup($0) }, baselineMlps: baseline, insertMs: ms))
            let b = LPMIndex(width: 32)
            let t1 = now()
            for (i, r) in pending.enumerated() { b.insert(value: r.0, length: r.2, entry: Int32(i)) }
            let ms1 = (now() - t1) * 1000
            rows.append(Row(name: name + " bucketed", entries: count, mlps: measure(probes) { b.lookup($0.pointee) }, baselineMlps: baseline, insertMs: ms1))
        }
        return rows
    }

    func measure(_ keys: [UInt64], _ body: (UnsafePointer<UInt64>) -> Int32) -> Double {
        var sink: Int32 = 0
        let n = keys.count
        let t0 = now()
        keys.withUnsafeBufferPointer { kb in
            var j = 0
            for _ in 0..<lookups {
                sink &+= body(kb.baseAddress! + j)
                j += 1; if j == n { j = 0 }
            }
        }
        let dt = now() - t0
        if sink == .min { print(sink) }
        return Double(lookups) / dt / 1e6
    }

    func now() -> Double { Double(MonotonicClock.nanoseconds) / 1e9 }
}
