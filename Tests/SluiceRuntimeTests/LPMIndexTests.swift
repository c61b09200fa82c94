import Testing
@testable import SluiceRuntime
import SluiceTesting

/// The bucketed LPM index against tuple-space search (itself tested against brute force), with
/// inserts and removes interleaved, on 32-, 48- and 64-bit keys.
@Suite struct LPMIndexTests {
    func mask(_ width: Int, _ len: Int) -> UInt64 {
        len == 0 ? 0 : (width == 64 && len == 64 ? ~0 : (((1 << UInt64(len)) - 1) << UInt64(width - len)))
    }

    /// `lengths` limits the prefix lengths drawn: a few (the present ones up to each bucket's
    /// longest are probed; lengths under 16 cover many buckets) or all (the bucket bitmaps).
    @Test(arguments: [(32, 64), (48, 64), (64, 64), (32, 3), (32, 5)])
    func agreesWithTupleSpaceSearch(width: Int, lengths: Int) {
        var rng = SplitMix64(seed: testSeed("lpm-index-\(width)-\(lengths)"))
        let lpm = LPMIndex(width: width)
        let ref = TupleSpaceIndex(keyWords: 1)
        let full: UInt64 = width == 64 ? ~0 : (1 << UInt64(width)) - 1
        var live: [(UInt64, Int)] = []
        var next: Int32 = 0
        // Prefixes cluster under a few top bits so that buckets are shared and lengths overlap.
        func randomPrefix() -> (UInt64, Int) {
            let few = lengths == 3 ? [0, 16, 24] : [0, 7, 12, 20, 32]
            let len = lengths >= width ? Int(rng.next() % UInt64(width + 1)) : few[Int(rng.next() % UInt64(few.count))]
            let base = (rng.next() & 0x3) << UInt64(width - 2)
            let v = (base | (rng.next() & (full >> 2))) & mask(width, len)
            return (v, len)
        }
        for step in 0..<6000 {
            if step % 3 == 2, !live.isEmpty {
                let i = Int(rng.next() % UInt64(live.count))
                let (v, l) = live.remove(at: i)
                let a = lpm.remove(value: v, length: l), b = ref.remove(value: [v], mask: [mask(width, l)])
                #expect(a == b && a != nil, "remove \(v)/\(l)")
            } else {
                let (v, l) = randomPrefix()
                let a = lpm.insert(value: v, length: l, entry: next)
                let b = ref.insert(value: [v], mask: [mask(width, l)], priority: Int32(l), entry: next)
                #expect(a == b, "insert \(v)/\(l)")
                if a { live.append((v, l)) }
                next += 1
            }
            #expect(lpm.count == ref.count)
            for _ in 0..<4 {
                var k: UInt64
                if let (v, l) = live.randomElement(using: &rng), rng.next() % 4 != 0 {
                    k = v | (rng.next() & ~mask(width, l) & full)
                } else {
                    k = rng.next() & full
                }
                let expected = ref.lookup(&k)
                #expect(lpm.lookup(k) == expected, "lookup \(k)")
            }
        }
    }

    @Test func defaultRouteAndFindAndDuplicates() {
        let lpm = LPMIndex(width: 32)
        #expect(lpm.lookup(0x0A00_0001) == -1)
        #expect(lpm.insert(value: 0, length: 0, entry: 7))
        #expect(!lpm.insert(value: 0, length: 0, entry: 8))
        #expect(lpm.insert(value: 0x0A00_0000, length: 8, entry: 1))
        #expect(lpm.insert(value: 0x0A01_0000, length: 16, entry: 2))
        #expect(lpm.insert(value: 0x0A01_0100, length: 24, entry: 3))
        #expect(!lpm.insert(value: 0x0A01_01FF, length: 24, entry: 4))  // same prefix once masked
        #expect(lpm.lookup(0x0A01_0105) == 3)
        #expect(lpm.lookup(0x0A01_0205) == 2)
        #expect(lpm.lookup(0x0A02_0205) == 1)
        #expect(lpm.lookup(0x0B00_0000) == 7)
        #expect(lpm.find(value: 0x0A01_0100, length: 24) == 3)
        #expect(lpm.remove(value: 0x0A01_0000, length: 16) == 2)
        #expect(lpm.lookup(0x0A01_0205) == 1)
        #expect(lpm.remove(value: 0, length: 0) == 7)
        #expect(lpm.lookup(0x0B00_0000) == -1)
        #expect(lpm.remove(value: 0, length: 0) == nil)
        #expect(lpm.count == 2)
    }
}
