import Foundation
import Testing
@testable import SluiceRuntime
import SluiceTesting

// MARK: Helpers

/// The mask of a `len`-bit prefix of a `width`-bit field.
private func prefixMask(width: Int, len: Int) -> UInt128 {
    if len == 0 { return 0 }
    let ones: UInt128 = width == 128 ? ~0 : (UInt128(1) << width) - 1
    return (ones >> (width - len)) << (width - len)
}

/// Splits a field value into its key words (1 word for width <= 64, else 2, high first).
private func fieldWords(_ v: UInt128, width: Int) -> [UInt64] {
    width <= 64 ? [UInt64(truncatingIfNeeded: v)]
        : [UInt64(truncatingIfNeeded: v >> 64), UInt64(truncatingIfNeeded: v)]
}

private func lookup(_ t: TupleSpaceIndex, _ key: [UInt64]) -> Int32 {
    key.withUnsafeBufferPointer { t.lookup($0.baseAddress!) }
}

private func ins(_ l: LinearIndex, _ c: [LinearIndex.Condition], _ p: Int32, _ e: Int32) -> Bool {
    l.insert(conditions: c, priority: p, entry: e)
}

private func lookup(_ t: LinearIndex, _ key: [UInt64]) -> Int32 {
    key.withUnsafeBufferPointer { t.lookup($0.baseAddress!) }
}

/// Brute-force reference for TupleSpaceIndex.
private struct RefTernary {
    struct Entry { var value: [UInt64]; var mask: [UInt64]; var priority: Int32; var entry: Int32; var seq: Int }
    var entries: [Entry] = []
    var seq = 0

    mutating func insert(value: [UInt64], mask: [UInt64], priority: Int32, entry: Int32) -> Bool {
        let mv = zip(value, mask).map { $0 & $1 }
        if entries.contains(where: { $0.value == mv && $0.mask == mask }) { return false }
        seq += 1
        entries.append(Entry(value: mv, mask: mask, priority: priority, entry: entry, seq: seq))
        return true
    }

    mutating func remove(value: [UInt64], mask: [UInt64]) -> Int32? {
        let mv = zip(value, mask).map { $0 & $1 }
        guard let i = entries.firstIndex(where: { $0.value == mv && $0.mask == mask }) else { return nil }
        return entries.remove(at: i).entry
    }

    func lookup(_ key: [UInt64]) -> Int32 {
        var best: Entry?
        for e in entries where zip(key, e.mask).map({ $0 & $1 }) == e.value {
            if let b = best, b.priority > e.priority || (b.priority == e.priority && b.seq < e.seq) { continue }
            best = e
        }
        return best?.entry ?? -1
    }
}

/// Distinct entry ids in random order, so ids say nothing about insertion order.
private struct EntryIds {
    var ids: [Int32]
    var next = 0
    init(_ n: Int, _ rng: inout SplitMix64) { ids = (0..<Int32(n)).shuffled(using: &rng) }
    mutating func take() -> Int32 { defer { next += 1 }; return ids[next] }
}

/// Drives a TupleSpaceIndex and the reference with interleaved inserts, removes and lookups.
/// `makeEntry` returns (value, mask, priority); `makeKey` returns a lookup key.
private func differential(
    name: String, keyWords: Int, operations: Int, removeEvery: Int = 4,
    makeEntry: (inout SplitMix64) -> ([UInt64], [UInt64], Int32),
    makeKey: (inout SplitMix64, [RefTernary.Entry]) -> [UInt64]
) {
    var rng = SplitMix64(seed: testSeed(name))
    let index = TupleSpaceIndex(keyWords: keyWords)
    var ref = RefTernary()
    var ids = EntryIds(operations + 1, &rng)
    var mismatches = 0
    for op in 0..<operations {
        if op % removeEvery == removeEvery - 1, !ref.entries.isEmpty, Bool.random(using: &rng) {
            // Remove a present entry, or try an absent one.
            let (v, m): ([UInt64], [UInt64])
            if Int.random(in: 0..<5, using: &rng) > 0 {
                let e = ref.entries.randomElement(using: &rng)!
                (v, m) = (e.value, e.mask)
            } else {
                let (v2, m2, _) = makeEntry(&rng); (v, m) = (v2, m2)
            }
            let expected = ref.remove(value: v, mask: m)
            let got = index.remove(value: v, mask: m)
            #expect(got == expected, "remove \(v) / \(m)")
        } else {
            let (v, m, p) = makeEntry(&rng)
            let id = ids.take()
            let expected = ref.insert(value: v, mask: m, priority: p, entry: id)
            let got = index.insert(value: v, mask: m, priority: p, entry: id)
            #expect(got == expected, "insert \(v) / \(m) prio \(p)")
            if !got { ids.next -= 1 }
        }
        #expect(index.count == ref.entries.count)
        for _ in 0..<4 {
            let key = makeKey(&rng, ref.entries)
            let expected = ref.lookup(key)
            let got = lookup(index, key)
            if got != expected {
                mismatches += 1
                if mismatches < 5 { Issue.record("[\(name)] op \(op): lookup \(key) got \(got) expected \(expected)") }
            }
        }
    }
    // Final full check against every entry's own value.
    for e in ref.entries { #expect(lookup(index, e.value) == ref.lookup(e.value)) }
    #expect(mismatches == 0, "[\(name)] \(mismatches) lookup mismatches")
}

/// A key that matches `e` with random bits wherever its mask is clear.
private func keyNear(_ e: RefTernary.Entry, _ rng: inout SplitMix64, widths: [Int]) -> [UInt64] {
    var key: [UInt64] = []
    var w = 0
    for width in widths {
        let words = width <= 64 ? 1 : 2
        for j in 0..<words {
            let fieldMask: UInt64 = words == 2 ? ~0 : (width == 64 ? ~0 : (1 << width) - 1)
            let r = rng.next() & fieldMask
            key.append(e.value[w + j] | (r & ~e.mask[w + j]))
        }
        w += words
    }
    return key
}

private func randomKey(_ rng: inout SplitMix64, widths: [Int]) -> [UInt64] {
    widths.flatMap { width -> [UInt64] in
        let v = UInt128(rng.next()) << 64 | UInt128(rng.next())
        let f: UInt128 = width == 128 ? ~0 : (UInt128(1) << width) - 1
        return fieldWords(v & f, width: width)
    }
}

/// A routing-ish LPM value generator: prefixes drawn from a small pool so they nest.
private func lpmEntry(_ rng: inout SplitMix64, width: Int, pool: [UInt128], minLen: Int = 0) -> (UInt128, UInt128, Int) {
    let len = Int.random(in: minLen...width, using: &rng)
    let base = pool.randomElement(using: &rng)!
    let noise = UInt128(rng.next()) << 64 | UInt128(rng.next())
    let f: UInt128 = width == 128 ? ~0 : (UInt128(1) << width) - 1
    // Mostly the pool address, with some random low bits so siblings differ.
    let value = (base ^ (noise & (f >> Int.random(in: max(1, len - 6)...width, using: &rng)))) & f
    let m = prefixMask(width: width, len: len)
    return (value & m, m, len)
}

private func randomPool(_ rng: inout SplitMix64, width: Int, count: Int) -> [UInt128] {
    let f: UInt128 = width == 128 ? ~0 : (UInt128(1) << width) - 1
    return (0..<count).map { _ in (UInt128(rng.next()) << 64 | UInt128(rng.next())) & f }
}

// MARK: TupleSpaceIndex differential tests

@Suite struct TupleSpaceDifferentialTests {
    @Test func exactOneWord() {
        differential(name: "exact1", keyWords: 1, operations: 3000,
                     makeEntry: { rng in ([rng.next() & 0xFFF], [~0], 0) },
                     makeKey: { rng, es in
                         if !es.isEmpty, Bool.random(using: &rng) { return es.randomElement(using: &rng)!.value }
                         return [rng.next() & 0xFFF] })
    }

    @Test func exactMultiWord() {
        // Fields: 16-bit (1 word), 128-bit (2 words): 3 words. Values from a small space so lookups hit.
        differential(name: "exact3", keyWords: 3, operations: 3000,
                     makeEntry: { rng in ([rng.next() & 3, rng.next() & 3, rng.next() & 0x3F], [~0, ~0, ~0], 0) },
                     makeKey: { rng, es in
                         if !es.isEmpty, Bool.random(using: &rng) { return es.randomElement(using: &rng)!.value }
                         return [rng.next() & 3, rng.next() & 3, rng.next() & 0x3F] })
    }

    @Test func lpmIPv4() {
        var prng = SplitMix64(seed: 1)
        let pool = randomPool(&prng, width: 32, count: 8)
        differential(name: "lpm4", keyWords: 1, operations: 4000,
                     makeEntry: { rng in
                         let (v, m, len) = lpmEntry(&rng, width: 32, pool: pool)
                         return ([UInt64(v)], [UInt64(m)], Int32(len)) },
                     makeKey: { rng, es in
                         if !es.isEmpty, Int.random(in: 0..<4, using: &rng) > 0 {
                             return keyNear(es.randomElement(using: &rng)!, &rng, widths: [32]) }
                         return randomKey(&rng, widths: [32]) })
    }

    @Test func lpmIPv6() {
        var prng = SplitMix64(seed: 2)
        let pool = randomPool(&prng, width: 128, count: 8)
        differential(name: "lpm6", keyWords: 2, operations: 4000,
                     makeEntry: { rng in
                         let (v, m, len) = lpmEntry(&rng, width: 128, pool: pool)
                         return (fieldWords(v, width: 128), fieldWords(m, width: 128), Int32(len)) },
                     makeKey: { rng, es in
                         if !es.isEmpty, Int.random(in: 0..<4, using: &rng) > 0 {
                             return keyNear(es.randomElement(using: &rng)!, &rng, widths: [128]) }
                         return randomKey(&rng, widths: [128]) })
    }

    @Test func exactPlusLPMv4() {
        // vrf (exact, 8 bits) + IPv4 dst (LPM): priority = prefix length.
        var prng = SplitMix64(seed: 3)
        let pool = randomPool(&prng, width: 32, count: 6)
        differential(name: "vrf+lpm4", keyWords: 2, operations: 4000,
                     makeEntry: { rng in
                         let (v, m, len) = lpmEntry(&rng, width: 32, pool: pool)
                         return ([rng.next() & 3, UInt64(v)], [0xFF, UInt64(m)], Int32(len)) },
                     makeKey: { rng, es in
                         if !es.isEmpty, Int.random(in: 0..<4, using: &rng) > 0 {
                             return keyNear(es.randomElement(using: &rng)!, &rng, widths: [8, 32]) }
                         return [rng.next() & 3, randomKey(&rng, widths: [32])[0]] })
    }

    @Test func exactPlusLPMv6() {
        var prng = SplitMix64(seed: 4)
        let pool = randomPool(&prng, width: 128, count: 6)
        differential(name: "vrf+lpm6", keyWords: 3, operations: 4000,
                     makeEntry: { rng in
                         let (v, m, len) = lpmEntry(&rng, width: 128, pool: pool)
                         return ([rng.next() & 3] + fieldWords(v, width: 128),
                                 [0xFFFF] + fieldWords(m, width: 128), Int32(len)) },
                     makeKey: { rng, es in
                         if !es.isEmpty, Int.random(in: 0..<4, using: &rng) > 0 {
                             return keyNear(es.randomElement(using: &rng)!, &rng, widths: [16, 128]) }
                         return [rng.next() & 3] + randomKey(&rng, widths: [128]) })
    }

    @Test func ternaryWithPrioritiesAndTies() {
        // Three fields (8, 128, 8 bits); masks from a small pool plus some random ones; few
        // priorities so ties are common; small value spaces so entries overlap.
        var prng = SplitMix64(seed: 5)
        let maskPool: [[UInt64]] = (0..<6).map { _ in [prng.next() & 0xF, prng.next() & 0xF, prng.next() & 0xF, prng.next() & 0xF] }
        differential(name: "ternary", keyWords: 4, operations: 4000, removeEvery: 3,
                     makeEntry: { rng in
                         let m = Int.random(in: 0..<8, using: &rng) == 0
                             ? [rng.next() & 0xF, rng.next() & 0xF, rng.next() & 0xF, rng.next() & 0xF]
                             : maskPool.randomElement(using: &rng)!
                         let v = [rng.next() & 0xF, rng.next() & 0xF, rng.next() & 0xF, rng.next() & 0xF]
                         return (v, m, Int32.random(in: 0..<4, using: &rng)) },
                     makeKey: { rng, _ in [rng.next() & 0xF, rng.next() & 0xF, rng.next() & 0xF, rng.next() & 0xF] })
    }

    @Test func ternaryOneWordNegativePriorities() {
        differential(name: "ternary1", keyWords: 1, operations: 4000, removeEvery: 3,
                     makeEntry: { rng in
                         ([rng.next() & 0xFF], [rng.next() & 0xFF], Int32.random(in: -3...3, using: &rng)) },
                     makeKey: { rng, _ in [rng.next() & 0xFF] })
    }

    @Test func optionalMatches() {
        // Three optional fields (16, 128, 32 bits): each either exact or wildcard.
        let full: [[UInt64]] = [[0xFFFF], [~0, ~0], [0xFFFF_FFFF]]
        differential(name: "optional", keyWords: 4, operations: 4000, removeEvery: 3,
                     makeEntry: { rng in
                         var v: [UInt64] = [], m: [UInt64] = []
                         for f in 0..<3 {
                             let on = Bool.random(using: &rng)
                             for w in full[f] { v.append(rng.next() & 3); m.append(on ? w : 0) }
                         }
                         return (v, m, Int32.random(in: 0..<3, using: &rng)) },
                     makeKey: { rng, _ in (0..<4).map { _ in rng.next() & 3 } })
    }
}

// MARK: TupleSpaceIndex edge cases

@Suite struct TupleSpaceEdgeTests {
    func v4(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) -> UInt64 { a << 24 | b << 16 | c << 8 | d }
    func m4(_ len: Int) -> UInt64 { UInt64(prefixMask(width: 32, len: len)) }

    @Test func defaultRouteAndHostRoute() {
        let t = TupleSpaceIndex(keyWords: 1)
        #expect(lookup(t, [0]) == -1)
        #expect(t.insert(value: [0x1234], mask: [0], priority: 0, entry: 7))   // 0.0.0.0/0
        #expect(lookup(t, [v4(10, 1, 2, 3)]) == 7)
        #expect(lookup(t, [0]) == 7)
        #expect(lookup(t, [0xFFFF_FFFF]) == 7)
        #expect(t.insert(value: [v4(10, 0, 0, 0)], mask: [m4(8)], priority: 8, entry: 8))
        #expect(t.insert(value: [v4(10, 1, 2, 3)], mask: [m4(32)], priority: 32, entry: 32))
        #expect(lookup(t, [v4(10, 1, 2, 3)]) == 32)
        #expect(lookup(t, [v4(10, 1, 2, 4)]) == 8)
        #expect(lookup(t, [v4(11, 1, 2, 3)]) == 7)
        #expect(t.tupleCount == 3)
        #expect(t.remove(value: [v4(10, 1, 2, 3)], mask: [m4(32)]) == 32)
        #expect(t.tupleCount == 2)
        #expect(lookup(t, [v4(10, 1, 2, 3)]) == 8)
        #expect(t.remove(value: [0], mask: [0]) == 7)          // /0 removed by any value
        #expect(lookup(t, [v4(11, 1, 2, 3)]) == -1)
        #expect(t.remove(value: [0], mask: [0]) == nil)
        #expect(t.count == 1)
    }

    @Test func ipv6DefaultAndSlash128() {
        let t = TupleSpaceIndex(keyWords: 2)
        let a: UInt128 = 0x2001_0db8_0000_0000_0000_0000_0000_0001
        #expect(t.insert(value: [0, 0], mask: [0, 0], priority: 0, entry: 0))
        #expect(t.insert(value: fieldWords(a, width: 128), mask: [~0, ~0], priority: 128, entry: 128))
        let m64 = fieldWords(prefixMask(width: 128, len: 64), width: 128)
        #expect(m64 == [~0, 0])
        #expect(t.insert(value: fieldWords(a, width: 128), mask: m64, priority: 64, entry: 64))
        let m65 = fieldWords(prefixMask(width: 128, len: 65), width: 128)
        #expect(m65 == [~0, 1 << 63])
        #expect(t.insert(value: fieldWords(a, width: 128), mask: m65, priority: 65, entry: 65))
        #expect(lookup(t, fieldWords(a, width: 128)) == 128)
        #expect(lookup(t, fieldWords(a + 1, width: 128)) == 65)
        #expect(lookup(t, fieldWords(a | (1 << 63), width: 128)) == 64)
        #expect(lookup(t, fieldWords(a ^ (1 << 64), width: 128)) == 0)
        #expect(t.remove(value: fieldWords(a, width: 128), mask: [~0, ~0]) == 128)
        #expect(lookup(t, fieldWords(a, width: 128)) == 65)
    }

    @Test func duplicateInsertAndAbsentRemove() {
        let t = TupleSpaceIndex(keyWords: 1)
        #expect(t.insert(value: [0xAB], mask: [0xF0], priority: 1, entry: 1))
        // Same masked value and mask, whatever the unmasked bits, priority or id: rejected.
        #expect(!t.insert(value: [0xA0], mask: [0xF0], priority: 9, entry: 2))
        #expect(!t.insert(value: [0xAB], mask: [0xF0], priority: 1, entry: 1))
        #expect(t.count == 1)
        #expect(lookup(t, [0xA5]) == 1)
        #expect(t.entry(value: [0xA7], mask: [0xF0]) == 1)
        // Same value, different mask: a different entry.
        #expect(t.insert(value: [0xAB], mask: [0xFF], priority: 0, entry: 3))
        #expect(t.count == 2)
        #expect(lookup(t, [0xAB]) == 1)                         // priority 1 beats 0
        #expect(t.remove(value: [0xB0], mask: [0xF0]) == nil)   // tuple exists, value absent
        #expect(t.remove(value: [0xAB], mask: [0x0F]) == nil)   // no such tuple
        #expect(t.count == 2)
        #expect(t.remove(value: [0xA0], mask: [0xF0]) == 1)
        #expect(lookup(t, [0xAB]) == 3)
        #expect(lookup(t, [0xA5]) == -1)
        t.removeAll()
        #expect(t.count == 0 && t.tupleCount == 0 && lookup(t, [0xAB]) == -1)
        #expect(t.insert(value: [0xAB], mask: [0xFF], priority: 0, entry: 4))
        #expect(lookup(t, [0xAB]) == 4)
    }

    @Test func tiesGoToFirstInsertedNotSmallestId() {
        let t = TupleSpaceIndex(keyWords: 1)
        #expect(t.insert(value: [0x10], mask: [0xF0], priority: 5, entry: 90))
        #expect(t.insert(value: [0x01], mask: [0x0F], priority: 5, entry: 10))
        #expect(t.insert(value: [0x11], mask: [0xFF], priority: 5, entry: 5))
        #expect(lookup(t, [0x11]) == 90)
        #expect(t.remove(value: [0x10], mask: [0xF0]) == 90)
        #expect(lookup(t, [0x11]) == 10)
        // Re-inserting makes it the newest: it loses the tie now.
        #expect(t.insert(value: [0x10], mask: [0xF0], priority: 5, entry: 90))
        #expect(lookup(t, [0x11]) == 10)
        #expect(t.insert(value: [0x00], mask: [0x00], priority: 6, entry: 1))
        #expect(lookup(t, [0x11]) == 1)
    }

    @Test func maxPriorityRecomputedOnRemove() {
        let t = TupleSpaceIndex(keyWords: 1)
        #expect(t.insert(value: [0x10], mask: [0xF0], priority: 10, entry: 1))
        #expect(t.insert(value: [0x20], mask: [0xF0], priority: 2, entry: 2))
        #expect(t.insert(value: [0x02], mask: [0x0F], priority: 7, entry: 3))
        #expect(lookup(t, [0x22]) == 3)
        #expect(t.remove(value: [0x10], mask: [0xF0]) == 1)
        #expect(t.insert(value: [0x00], mask: [0x00], priority: 5, entry: 4))
        #expect(lookup(t, [0x22]) == 3)
        #expect(lookup(t, [0x21]) == 4)
        #expect(t.remove(value: [0x02], mask: [0x0F]) == 3)
        #expect(lookup(t, [0x22]) == 4)
        #expect(lookup(t, [0x2F]) == 4)
        #expect(t.remove(value: [0x00], mask: [0x00]) == 4)
        #expect(lookup(t, [0x22]) == 2)
    }

    @Test func growthPastManyResizesAndShrinkByRemoval() {
        let seed = testSeed("growth")
        var rng = SplitMix64(seed: seed)
        for keyWords in [1, 2] {
            let t = TupleSpaceIndex(keyWords: keyWords)
            let n = 50_000   // 8 -> 131072 slots: 14 doublings
            var keys: [[UInt64]] = []
            var seen = Set<[UInt64]>()
            while keys.count < n {
                // Clustered keys (low bits vary) stress the hash.
                let k = (0..<keyWords).map { _ in rng.next() & 0xF_FFFF }
                if seen.insert(k).inserted { keys.append(k) }
            }
            let full = [UInt64](repeating: ~0, count: keyWords)
            for (i, k) in keys.enumerated() { #expect(t.insert(value: k, mask: full, priority: 0, entry: Int32(i))) }
            #expect(t.count == n && t.tupleCount == 1)
            var bad = 0
            for (i, k) in keys.enumerated() where lookup(t, k) != Int32(i) { bad += 1 }
            #expect(bad == 0)
            // Remove every other key; the rest must still be found, the removed not.
            for i in stride(from: 0, to: n, by: 2) { #expect(t.remove(value: keys[i], mask: full) == Int32(i)) }
            bad = 0
            for (i, k) in keys.enumerated() where lookup(t, k) != (i % 2 == 0 ? -1 : Int32(i)) { bad += 1 }
            #expect(bad == 0)
            #expect(t.count == n / 2)
            for i in stride(from: 1, to: n, by: 2) { #expect(t.remove(value: keys[i], mask: full) == Int32(i)) }
            #expect(t.count == 0 && t.tupleCount == 0)
            #expect(lookup(t, keys[1]) == -1)
        }
    }

    @Test func exactPathSwitchesWithTuples() {
        let t = TupleSpaceIndex(keyWords: 2)
        #expect(t.insert(value: [1, 2], mask: [~0, ~0], priority: 0, entry: 1))
        #expect(t.exactSingle)
        #expect(lookup(t, [1, 2]) == 1 && lookup(t, [1, 3]) == -1)
        #expect(t.insert(value: [1, 0], mask: [~0, 0], priority: 0, entry: 2))
        #expect(!t.exactSingle)
        #expect(lookup(t, [1, 2]) == 1 && lookup(t, [1, 3]) == 2)
        #expect(t.remove(value: [1, 0], mask: [~0, 0]) == 2)
        #expect(t.exactSingle)
        #expect(lookup(t, [1, 3]) == -1)
    }
}

// MARK: LinearIndex

/// Brute-force reference for LinearIndex.
private struct RefLinear {
    struct Entry { var conds: [LinearIndex.Condition]; var priority: Int32; var entry: Int32; var seq: Int }
    var entries: [Entry] = []
    var seq = 0
    mutating func insert(_ c: [LinearIndex.Condition], _ p: Int32, _ e: Int32) -> Bool {
        if entries.contains(where: { $0.entry == e }) { return false }
        seq += 1
        entries.append(Entry(conds: c, priority: p, entry: e, seq: seq))
        return true
    }
    mutating func remove(_ e: Int32) -> Bool {
        guard let i = entries.firstIndex(where: { $0.entry == e }) else { return false }
        entries.remove(at: i)
        return true
    }
    func lookup(_ key: [UInt128]) -> Int32 {
        var best: Entry?
        for e in entries where zip(key, e.conds).allSatisfy({ k, c in c.lo <= k & c.mask && k & c.mask <= c.hi }) {
            if let b = best, b.priority > e.priority || (b.priority == e.priority && b.seq < e.seq) { continue }
            best = e
        }
        return best?.entry ?? -1
    }
}

@Suite struct LinearIndexTests {
    /// A random condition for a field of `width` bits whose values live in `space` (low bits).
    private func condition(_ rng: inout SplitMix64, width: Int, space: UInt128) -> LinearIndex.Condition {
        let full: UInt128 = width == 128 ? ~0 : (UInt128(1) << width) - 1
        func r() -> UInt128 { (UInt128(rng.next()) << 64 | UInt128(rng.next())) % (space + 1) }
        // For 128-bit fields, also put some values in the high word.
        func shift(_ v: UInt128) -> UInt128 { width == 128 ? v << 60 : v }
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: let v = shift(r()); return (v, v, full)                       // exact
        case 1: let m = shift(r()), v = shift(r()) & m; return (v, v, m)      // ternary
        case 2: var a = shift(r()), b = shift(r()); if a > b { swap(&a, &b) }; return (a, b, full)  // range
        case 3: return (0, 0, 0)                                               // wildcard
        default: let len = Int.random(in: 0...width, using: &rng)              // LPM as ternary
            let m = prefixMask(width: width, len: len), v = shift(r()) & m; return (v, v, m)
        }
    }

    func differentialLinear(name: String, widths: [Int], space: UInt128) {
        var rng = SplitMix64(seed: testSeed(name))
        let index = LinearIndex(fieldWords: widths.map { $0 <= 64 ? 1 : 2 })
        var ref = RefLinear()
        var mismatches = 0
        for op in 0..<2500 {
            if op % 3 == 2, !ref.entries.isEmpty {
                let e = Int.random(in: 0..<5, using: &rng) == 0 ? Int32(10_000 + op)
                    : ref.entries.randomElement(using: &rng)!.entry
                #expect(index.remove(entry: e) == ref.remove(e))
            } else {
                let c = widths.map { condition(&rng, width: $0, space: space) }
                let p = Int32.random(in: 0..<4, using: &rng)
                // Occasionally reuse an id: both must reject it.
                let e = Int.random(in: 0..<20, using: &rng) == 0 && !ref.entries.isEmpty
                    ? ref.entries.randomElement(using: &rng)!.entry : Int32.random(in: 0..<Int32.max, using: &rng)
                #expect(index.insert(conditions: c, priority: p, entry: e) == ref.insert(c, p, e))
            }
            #expect(index.count == ref.entries.count)
            for _ in 0..<4 {
                let key128 = widths.map { w -> UInt128 in
                    let v = (UInt128(rng.next()) << 64 | UInt128(rng.next())) % (space + 1)
                    return w == 128 ? v << 60 : v }
                let key = zip(key128, widths).flatMap { fieldWords($0, width: $1) }
                let expected = ref.lookup(key128), got = lookup(index, key)
                if got != expected {
                    mismatches += 1
                    if mismatches < 5 { Issue.record("[\(name)] op \(op): key \(key128) got \(got) expected \(expected)") }
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test func rangeOneWordFields() { differentialLinear(name: "range1", widths: [16, 8, 32], space: 31) }
    @Test func rangeMixedWidthFields() { differentialLinear(name: "range2", widths: [16, 128, 8], space: 31) }

    @Test func edges() {
        let l = LinearIndex(fieldWords: [1, 2])
        #expect(lookup(l, [0, 0, 0]) == -1)
        let full: UInt128 = ~0
        // Range across the 64-bit boundary of a 128-bit field.
        do { let ok = ins(l, [(0, 0, 0), ((1 << 64) - 2, (1 << 64) + 1, full)], 1, 1); #expect(ok) }
        #expect(lookup(l, [9, 0, ~0 - 2]) == -1)
        #expect(lookup(l, [9, 0, ~0 - 1]) == 1)
        #expect(lookup(l, [9, 1, 1]) == 1)
        #expect(lookup(l, [9, 1, 2]) == -1)
        do { let ok = ins(l, [(5, 5, 0xFFFF), (0, 0, 0)], 1, 2); #expect(ok) }
        do { let ok = ins(l, [(5, 5, 0xFFFF), (0, 0, 0)], 2, 3); #expect(ok) }
        do { let ok = ins(l, [(5, 5, 0xFFFF), (0, 0, 0)], 2, 3); #expect(!ok) }
        #expect(lookup(l, [5, 1, 0]) == 3)
        #expect(l.remove(entry: 3))
        #expect(!l.remove(entry: 3))
        #expect(lookup(l, [5, 1, 0]) == 1)      // tie at priority 1: entry 1 inserted first
        #expect(l.remove(entry: 1))
        #expect(lookup(l, [5, 1, 0]) == 2)
        #expect(l.count == 1)
        // Full 64-bit range on a one-word field.
        let m = LinearIndex(fieldWords: [1])
        for i in 0..<100 { let ok = ins(m, [(UInt128(i) * 10, UInt128(i) * 10 + 4, UInt128(UInt64.max))], 0, Int32(i)); #expect(ok) }
        do { let ok = ins(m, [(0, UInt128(UInt64.max), UInt128(UInt64.max))], -1, 1000); #expect(ok) }
        #expect(lookup(m, [993]) == 99 && lookup(m, [995]) == 1000 && lookup(m, [UInt64.max]) == 1000)
    }
}

// MARK: Layout

@Test func tableIndexHotStructSizes() {
    #expect(MemoryLayout<TupleSlotHeader>.size == 16)
    #expect(MemoryLayout<TupleSlotHeader>.stride == 16)
    #expect(MemoryLayout<TupleTable>.stride == 48)
    #expect(TupleSpaceIndex(keyWords: 1).slotStride == 24)
    #expect(TupleSpaceIndex(keyWords: 2).slotStride == 32)
}

// MARK: Large tables (speed is measured by `sluice bench tables`, not here)

/// 100,000 random /8-/32 routes against a per-length dictionary reference (the brute-force
/// reference would be quadratic at this size).
@Test func lpm100kRoutesAgreeWithPerLengthReference() {
    var rng = SplitMix64(seed: testSeed("lpm100k"))
    var byLength: [Int: [UInt64: Int32]] = [:]
    let t = TupleSpaceIndex(keyWords: 1)
    var routes: [(UInt64, UInt64)] = []
    while t.count < 100_000 {
        let len = Int.random(in: 8...32, using: &rng)
        let m = UInt64(prefixMask(width: 32, len: len))
        let v = rng.next() & m
        if byLength[len]?[v] != nil { continue }
        let id = Int32(t.count)
        #expect(t.insert(value: [v], mask: [m], priority: Int32(len), entry: id))
        byLength[len, default: [:]][v] = id
        routes.append((v, m))
    }
    #expect(t.tupleCount == 25)
    func reference(_ k: UInt64) -> Int32 {
        for len in stride(from: 32, through: 8, by: -1) {
            let m = UInt64(prefixMask(width: 32, len: len))
            if let e = byLength[len]?[k & m] { return e }
        }
        return -1
    }
    for i in 0..<20_000 {
        let k: UInt64
        if i % 2 == 0 {
            let r = routes[Int(rng.next() % UInt64(routes.count))]
            k = r.0 | (rng.next() & ~r.1 & 0xFFFF_FFFF)
        } else {
            k = rng.next() & 0xFFFF_FFFF
        }
        #expect(lookup(t, [k]) == reference(k))
    }
}
