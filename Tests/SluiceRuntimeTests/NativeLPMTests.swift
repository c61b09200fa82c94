import SluiceControlPlane
import Testing
import Sluice
import SluiceIR
import SluiceTesting
@testable import SluiceRuntime

/// The native C's longest-prefix lookup (`sl_lpm`) against the closures' (`LPMIndex.lookup`) on
/// one table, small and large: the bucket's longest-length byte that limits the lengths probed,
/// before and after routes are deleted.
@Suite struct NativeLPMTests {
    static func program() -> SwitchProgram {
        SwitchProgram("lpm") {
            HeaderType("h_t") {
                Field("dst", 32)
            }
            Header("h", "h_t")
            Parser {
                State("start") {
                    Extract(hdr.h)
                    Accept()
                }
            }
            Action("drop") {
                Drop()
            }
            Action("to", Param("port", 9)) {
                Forward(port: param.port)
            }
            Table("routes") {
                Key(hdr.h.dst, .lpm)
                Actions("to", "drop")
                DefaultAction("drop")
                Size(100_000)
            }
            Ingress {
                Apply("routes")
            }
            Deparser {
                Emit(hdr.h)
            }
        }
    }

    /// `routes` prefixes of lengths 8, 16, 24 and 32 under a few top bytes (so that buckets hold
    /// several lengths), then keys inside them and anywhere; a third of the routes deleted
    /// half way. Every key goes where the closures send it.
    @Test(arguments: [12, 6000])
    func nativeLookupsAreTheClosures(routes: Int) throws {
        let ir = try Self.program().verified()
        let closures = try Pipeline(ir, engine: .closures), native = try Pipeline(ir, engine: .native)
        try #require(native.engine == .native, "\(native.engineNote ?? "")")
        var rng = SplitMix64(seed: testSeed("native-lpm-\(routes)"))
        var installed: [(UInt32, Int, [EntryHandle])] = []
        var seen = Set<UInt64>()
        while installed.count < routes {
            let len = [8, 16, 24, 32][Int(rng.next() % 4)]
            let top = UInt32(10 + rng.next() % 3) << 24
            let addr = (top | UInt32(truncatingIfNeeded: rng.next()) & 0x00FF_FFFF) & (len == 32 ? ~0 : ~(UInt32.max >> UInt32(len)))
            guard seen.insert(UInt64(addr) << 8 | UInt64(len)).inserted else { continue }
            let entry = TableEntry([.lpm(UInt128(addr), prefixLength: len)], ActionCall("to", [UInt128(1 + installed.count % 500)]))
            installed.append((addr, len, [try closures.insert("routes", entry), try native.insert("routes", entry)]))
        }

        func compare(_ phase: String) {
            for i in 0..<20_000 {
                let key: UInt32
                if i % 4 != 3, let (a, l, _) = installed.randomElement(using: &rng) {
                    key = a | (l == 32 ? 0 : UInt32(truncatingIfNeeded: rng.next()) & (UInt32.max >> UInt32(l)))
                } else {
                    key = UInt32(truncatingIfNeeded: rng.next())
                }
                let packet = [UInt8(key >> 24), UInt8(truncatingIfNeeded: key >> 16), UInt8(truncatingIfNeeded: key >> 8), UInt8(truncatingIfNeeded: key)]
                let a = closures.process(packet, port: 0), b = native.process(packet, port: 0)
                guard a.map(\.port) == b.map(\.port) else {
                    Issue.record("\(phase): key \(String(key, radix: 16)): closures \(a.map(\.port)), native \(b.map(\.port))")
                    return
                }
            }
        }
        compare("inserted")
        for _ in 0..<routes / 3 {
            let (_, _, handles) = installed.remove(at: Int(rng.next() % UInt64(installed.count)))
            try closures.delete(handles[0]); try native.delete(handles[1])
        }
        compare("after deletes")
        #expect(closures.stats == native.stats)
        #expect(native.stats.sent > 0 && native.stats.ingressDrops > 0)
    }
}
