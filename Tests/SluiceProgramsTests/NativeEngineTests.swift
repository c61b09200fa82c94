import Foundation
import Testing
import SluiceControlPlane
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// The native engine (host C through clang) against the closures, the reference: every shipped
/// program with the same seeded random entries, multicast groups and meters, then the same
/// fuzzed and mutated packets; the same bytes, ports, drops, digests and statistics per packet,
/// and the same registers, counters and direct counters afterwards.
@Suite struct NativeEngineTests {
    /// Programs the native engine does not run yet, and why (the start of `engineNote`'s reason).
    static let unsupported: [String: String] = [:]

    /// Packets a program (`SLUICE_NATIVE_PACKETS` for another number).
    static var packets: Int { ProcessInfo.processInfo.environment["SLUICE_NATIVE_PACKETS"].flatMap { Int($0) } ?? 100_000 }

    @Test(arguments: ProgramRegistry.all.map(\.name))
    func nativeMatchesClosures(_ name: String) throws {
        guard let (ir, closures, native) = try Self.pipelines(name) else { return }
        let seed = 0x5EED ^ UInt64(name.utf8.count)
        print("NativeEngineTests[\(name)]: seed \(seed), \(Self.packets) packets")
        var rng = SplitMix64(seed: seed)
        let handles = try RandomState.install(ir.program, into: [closures, native], &rng)
        var fuzzer = PacketFuzzer(ir, seed: seed, ports: [0, 1, 2, 3])
        fuzzer.learn(closures)
        let mismatches = Self.compare(name, closures, native, fuzzer, packets: 0..<Self.packets)
        #expect(mismatches == 0, "\(name): \(mismatches) of \(Self.packets) packets differ")
        print("NativeEngineTests[\(name)]: \(native.stats)")
        try Self.expectSameState(name, ir, closures, native, handles)
    }

    /// Entries modified, deleted and added, and defaults changed, between packets (a change
    /// every 20 packets, to a random table): the native code reads each table as the control
    /// plane leaves it, arrays grown and tuples added or emptied included.
    @Test(arguments: ProgramRegistry.all.map(\.name))
    func nativeFollowsControlPlaneChanges(_ name: String) throws {
        guard let (ir, closures, native) = try Self.pipelines(name) else { return }
        let seed = 0xC4A6 ^ UInt64(name.utf8.count)
        let packets = Self.packets / 2
        print("NativeEngineTests[\(name)] changes: seed \(seed), \(packets) packets")
        var rng = SplitMix64(seed: seed)
        var handles = try RandomState.install(ir.program, into: [closures, native], &rng)
        var fuzzer = PacketFuzzer(ir, seed: seed, ports: [0, 1, 2, 3])
        fuzzer.learn(closures)
        var changes = RandomState.Changes()
        var mismatches = 0
        let tables = ir.program.tables.filter { !$0.keys.isEmpty }
        for start in stride(from: 0, to: packets, by: 20) {
            mismatches += Self.compare(name, closures, native, fuzzer, packets: start..<min(start + 20, packets))
            guard !tables.isEmpty else { continue }
            try RandomState.change(tables[Int(rng.next() % UInt64(tables.count))], ir.program, closures, native, &handles, &changes, &rng)
            if start % 1000 == 0 { fuzzer.learn(closures) }
        }
        print("NativeEngineTests[\(name)] changes: \(changes)")
        #expect(mismatches == 0, "\(name): \(mismatches) of \(packets) packets differ")
        if !tables.isEmpty {
            #expect(changes.modified > 0 && changes.deleted > 0 && changes.inserted > 0 && changes.defaults > 0, "\(name): \(changes)")
        }
        try Self.expectSameState(name, ir, closures, native, handles)
    }

    /// ipv4-router under the native engine with its routes changed between packets, each output
    /// checked against what the routes then say (port, next hop, TTL, checksum): a route, its
    /// action modified, a longer route over it and deleted again, the default changed; then
    /// 5,000 routes of lengths 8 to 32 (entry arrays and tuples grown, more lengths than are
    /// probed without the bucket bitmaps) against a brute-force longest match, and all deleted.
    @Test func nativeRouterFollowsRouteChanges() throws {
        let p = try Pipeline(IPv4Router.program(routes: 8192).verified(), engine: .native)
        try #require(p.engine == .native, "\(p.engineNote ?? "")")
        let me: MACAddress = "00:00:00:00:00:01"
        func packet(_ dst: IPv4Address, ttl: UInt8 = 64) -> Packet {
            Packet.ethernet(dst: me, src: "00:00:00:00:00:99").ipv4(src: "10.9.9.9", dst: dst, ttl: ttl).udp(sport: 1234, dport: 80).payload(count: 10)
        }
        func expect(_ dst: IPv4Address, _ route: (port: UInt16, mac: UInt64)?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let out = p.process(packet(dst).bytes, port: 0)
            let expected = route.map { [($0.port, packet(dst, ttl: 63).bytes(replacingEthernet: MACAddress(value: $0.mac), src: me))] } ?? []
            #expect(out.map(\.port) == expected.map(\.0) && out.map(\.bytes) == expected.map(\.1), "\(what): \(dst)", sourceLocation: sourceLocation)
        }
        func forward(_ mac: UInt64, _ port: UInt16) -> ActionCall { ActionCall("ipv4_forward", [UInt128(mac), UInt128(port)]) }

        expect("10.1.2.3", nil, "no route: the default drops")
        let r16 = try p.insert("ipv4_lpm", TableEntry([.lpm(0x0A01_0000, prefixLength: 16)], forward(0x0800_0000_0016, 5)))
        expect("10.1.2.3", (5, 0x0800_0000_0016), "10.1/16")
        try p.modify(r16, forward(0x0800_0000_0116, 6))
        expect("10.1.2.3", (6, 0x0800_0000_0116), "10.1/16 modified")
        let r24 = try p.insert("ipv4_lpm", TableEntry([.lpm(0x0A01_0200, prefixLength: 24)], forward(0x0800_0000_0024, 7)))
        expect("10.1.2.3", (7, 0x0800_0000_0024), "10.1.2/24 over 10.1/16")
        expect("10.1.3.3", (6, 0x0800_0000_0116), "beside 10.1.2/24")
        try p.delete(r24)
        expect("10.1.2.3", (6, 0x0800_0000_0116), "10.1.2/24 deleted")
        try p.setDefault("ipv4_lpm", forward(0x0800_0000_00DF, 9))
        expect("11.0.0.1", (9, 0x0800_0000_00DF), "default set to a route")
        try p.modify(r16, ActionCall("drop"))
        expect("10.1.2.3", nil, "10.1/16 modified to drop")
        try p.delete(r16)
        expect("10.1.2.3", (9, 0x0800_0000_00DF), "10.1/16 deleted")
        try p.setDefault("ipv4_lpm", ActionCall("drop"))
        expect("10.1.2.3", nil, "default back to drop")

        let seed: UInt64 = 0x10_7E5
        print("NativeEngineTests router: seed \(seed)")
        var rng = SplitMix64(seed: seed)
        var routes: [(value: UInt32, length: Int, handle: EntryHandle)] = []
        var seen = Set<UInt64>()
        while routes.count < 5000 {
            let length = 8 + Int(rng.next() % 25)
            let value = UInt32(truncatingIfNeeded: rng.next()) & ~UInt32(0) << UInt32(32 - length)
            guard seen.insert(UInt64(value) << 8 | UInt64(length)).inserted else { continue }
            let i = UInt64(routes.count)
            let h = try p.insert("ipv4_lpm", TableEntry([.lpm(UInt128(value), prefixLength: length)], forward(0x0A00_0000_0000 | i, UInt16(1 + i % 500))))
            routes.append((value, length, h))
        }
        for k in 0..<3000 {
            // Half inside a route (possibly under a longer one), half anywhere.
            let r = routes[Int(rng.next() % UInt64(routes.count))]
            let dst = k % 2 == 0 ? r.value | UInt32(truncatingIfNeeded: rng.next()) & ~(~UInt32(0) << UInt32(32 - r.length)) : UInt32(truncatingIfNeeded: rng.next())
            var best: (length: Int, index: Int)?
            for (i, x) in routes.enumerated() where dst & ~UInt32(0) << UInt32(32 - x.length) == x.value && x.length > (best?.length ?? -1) { best = (x.length, i) }
            expect(IPv4Address(value: dst), best.map { (port: UInt16(1 + $0.index % 500), mac: 0x0A00_0000_0000 | UInt64($0.index)) }, "route \(best.map { "\($0.index)" } ?? "none") of 5000")
        }
        for r in routes { try p.delete(r.handle) }
        expect(IPv4Address(value: routes[0].value), nil, "every route deleted")
    }

    /// The closures and the native engine for a program, or nil where the native engine is
    /// expected not to run it (checked).
    static func pipelines(_ name: String) throws -> (VerifiedProgram, Pipeline, Pipeline)? {
        let ir = try #require(ProgramRegistry.named(name)).build().verified()
        let queues = (try? Pipeline(ir, engine: .closures)) == nil
        let closures = try Pipeline(ir, seed: 5, queues: queues, engine: .closures)
        let native = try Pipeline(ir, seed: 5, queues: queues, engine: .native)
        #expect(closures.engine == .closures)
        if let reason = Self.unsupported[name] {
            #expect(native.engine == .closures && native.engineNote?.contains(reason) == true, "\(name): \(native.engineNote ?? "runs natively")")
            return nil
        }
        #expect(native.engine == .native, "\(name): \(native.engineNote ?? "")")
        return native.engine == .native ? (ir, closures, native) : nil
    }

    /// Runs `packets` of `fuzzer` through both; the packets whose outputs differ (the first three
    /// of a test recorded). Digests are compared every 1,000 packets.
    static func compare(_ name: String, _ closures: Pipeline, _ native: Pipeline, _ fuzzer: PacketFuzzer, packets: Range<Int>) -> Int {
        var mismatches = 0
        for i in packets {
            let p = fuzzer.packet(i)
            let ts = UInt64(i) * 1_000
            let a = closures.process(p.bytes, port: p.port, timestamp: ts), b = native.process(p.bytes, port: p.port, timestamp: ts)
            if a.map(\.port) != b.map(\.port) || a.map(\.bytes) != b.map(\.bytes) {
                mismatches += 1
                if mismatches <= 3 {
                    Issue.record("\(name) packet \(i) (\(p.kind.rawValue), port \(p.port)): closures \(a.map { ($0.port, $0.bytes.hexString()) }) native \(b.map { ($0.port, $0.bytes.hexString()) }) input \(p.bytes.hexString())")
                }
            }
            if i % 1000 == 999 { #expect(closures.drainDigests() == native.drainDigests(), "\(name): digests differ by packet \(i)") }
        }
        return mismatches
    }

    /// The same statistics, digests, registers, counters and direct counters in both.
    static func expectSameState(_ name: String, _ ir: VerifiedProgram, _ closures: Pipeline, _ native: Pipeline,
                                _ handles: [((table: Table, handle: EntryHandle), EntryHandle)]) throws {
        #expect(closures.stats == native.stats)
        #expect(closures.drainDigests() == native.drainDigests())
        for r in ir.registers {
            for i in 0..<r.size { #expect(try closures.readRegister(r.name, index: i) == native.readRegister(r.name, index: i), "\(name): register \(r.name)[\(i)]") }
        }
        for c in ir.counters {
            for i in 0..<c.size { #expect(try closures.counter(c.name, index: i) == native.counter(c.name, index: i), "\(name): counter \(c.name)[\(i)]") }
        }
        for (a, b) in handles where a.table.directCounter {
            #expect(try closures.directCounter(a.handle) == native.directCounter(b), "\(name): direct counter of \(a.table.name)")
        }
    }
}

/// Random entries for every table (actions, arguments, matches of each kind, priorities),
/// multicast groups 1...4 and meter rates, installed alike into several pipelines; random changes.
enum RandomState {
    /// The handles of the entries installed (the first pipeline's with its table, the second's).
    static func install(_ ir: Program, into pipelines: [Pipeline], _ rng: inout SplitMix64) throws -> [((table: Table, handle: EntryHandle), EntryHandle)] {
        let index = ProgramIndex(ir)
        var handles: [((table: Table, handle: EntryHandle), EntryHandle)] = []
        func call(_ t: Table, _ rng: inout SplitMix64) -> ActionCall {
            let action = t.actions[Int(rng.next() % UInt64(t.actions.count))]
            return ActionCall(action, (index.actions[action]?.params ?? []).map { UInt128(rng.next()) & WidthMask.u128($0.width) })
        }
        for t in ir.tables {
            let widths = t.keys.map { index.width(of: $0.expr) ?? 32 }
            // Half the tables get another default action: more paths than the programs' drops.
            if rng.next() % 2 == 0 {
                let d = call(t, &rng)
                for p in pipelines { try? p.setDefault(t.name, d) }
            }
            for _ in 0..<min(t.size, 48) {
                guard !t.keys.isEmpty else { break }
                let matches = zip(t.keys, widths).map { k, w in match(k.kind, width: w, &rng) }
                let entry = TableEntry(matches, call(t, &rng), priority: Int(rng.next() % 100))
                let results = pipelines.map { try? $0.insert(t.name, entry) }
                if let a = results[0], results.count > 1, let b = results[1] { handles.append(((t, a), b)) }
            }
        }
        for g in UInt16(1)...4 {
            let members = (0..<Int(rng.next() % 4)).map { _ in MulticastMember(port: UInt16(rng.next() % 8), rid: UInt16(rng.next() % 3)) }
            for p in pipelines { try p.setMulticastGroup(g, members) }
        }
        for m in ir.meters {
            for i in 0..<min(m.size, 8) {
                let rates = MeterRates(cir: 1000 + rng.next() % 100_000, cbs: 100 + rng.next() % 3000, pir: 200_000, pbs: 5000)
                for p in pipelines { try p.setMeter(m.name, index: i, rates) }
            }
        }
        return handles
    }

    /// How many changes of each kind `change` made.
    struct Changes: CustomStringConvertible {
        var modified = 0, deleted = 0, inserted = 0, defaults = 0
        var description: String { "\(modified) modified, \(deleted) deleted, \(inserted) inserted, \(defaults) defaults set" }
    }

    /// One random change of `t`, made alike in both pipelines (the same result expected of
    /// both): an entry's action modified, an entry deleted, an entry inserted, or the default
    /// action set. `handles` follows the entries.
    static func change(_ t: Table, _ ir: Program, _ a: Pipeline, _ b: Pipeline,
                       _ handles: inout [((table: Table, handle: EntryHandle), EntryHandle)], _ changes: inout Changes,
                       _ rng: inout SplitMix64) throws {
        let index = ProgramIndex(ir)
        func call() -> ActionCall {
            let action = t.actions[Int(rng.next() % UInt64(t.actions.count))]
            return ActionCall(action, (index.actions[action]?.params ?? []).map { UInt128(rng.next()) & WidthMask.u128($0.width) })
        }
        let live = handles.indices.filter { handles[$0].0.table.name == t.name }
        switch rng.next() % 4 {
        case 0 where !live.isEmpty:
            let h = handles[live[Int(rng.next() % UInt64(live.count))]], c = call()
            let ok = (try? a.modify(h.0.handle, c)) != nil
            #expect(ok == ((try? b.modify(h.1, c)) != nil), "modify \(t.name)")
            if ok { changes.modified += 1 }
        case 1 where !live.isEmpty:
            let i = live[Int(rng.next() % UInt64(live.count))], h = handles[i]
            let ok = (try? a.delete(h.0.handle)) != nil
            #expect(ok == ((try? b.delete(h.1)) != nil), "delete from \(t.name)")
            if ok { changes.deleted += 1; handles.remove(at: i) }
        case 2:
            let d = call()
            let ok = (try? a.setDefault(t.name, d)) != nil
            #expect(ok == ((try? b.setDefault(t.name, d)) != nil), "default of \(t.name)")
            if ok { changes.defaults += 1 }
        default:
            let widths = t.keys.map { index.width(of: $0.expr) ?? 32 }
            let entry = TableEntry(zip(t.keys, widths).map { k, w in match(k.kind, width: w, &rng) }, call(), priority: Int(rng.next() % 100))
            let ha = try? a.insert(t.name, entry), hb = try? b.insert(t.name, entry)
            #expect((ha == nil) == (hb == nil), "insert into \(t.name)")
            if let ha, let hb { changes.inserted += 1; handles.append(((t, ha), hb)) }
        }
    }

    /// Values mostly small (ports, indexes, protocol numbers), sometimes anything.
    static func value(width w: Int, _ rng: inout SplitMix64) -> UInt128 {
        let r = rng.next()
        let v: UInt128 = r % 3 == 0 ? UInt128(rng.next() % 16) : UInt128(rng.next()) << 64 | UInt128(rng.next())
        return v & WidthMask.u128(w)
    }

    static func match(_ kind: MatchKind, width w: Int, _ rng: inout SplitMix64) -> Match {
        switch kind {
        case .exact: return .exact(value(width: w, &rng))
        case .lpm:
            let len = Int(rng.next() % UInt64(w + 1))
            let mask = len == 0 ? 0 : (WidthMask.u128(w) >> UInt128(w - len)) << UInt128(w - len)
            return .lpm(value(width: w, &rng) & mask, prefixLength: len)
        case .ternary:
            let mask = value(width: w, &rng)
            return .ternary(value(width: w, &rng) & mask, mask: mask)
        case .range:
            let a = value(width: w, &rng), b = value(width: w, &rng)
            return .range(min(a, b), max(a, b))
        case .optional: return rng.next() % 2 == 0 ? .optional(nil) : .optional(value(width: w, &rng))
        }
    }
}

extension Packet {
    /// The bytes with the Ethernet addresses replaced (as a router rewrites them).
    func bytes(replacingEthernet dst: MACAddress, src: MACAddress) -> [UInt8] {
        var p = self
        p.layers[0] = .ethernet(.init(dst: dst, src: src))
        return p.bytes
    }
}
