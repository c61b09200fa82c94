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

    /// Packets a program (`SLUICE_NATIVE_PACKETS` for more).
    static var packets: Int { ProcessInfo.processInfo.environment["SLUICE_NATIVE_PACKETS"].flatMap { Int($0) } ?? 20_000 }

    @Test(arguments: ProgramRegistry.all.map(\.name))
    func nativeMatchesClosures(_ name: String) throws {
        let ir = try #require(ProgramRegistry.named(name)).build().verified()
        let queues = (try? Pipeline(ir, engine: .closures)) == nil
        let closures = try Pipeline(ir, seed: 5, queues: queues, engine: .closures)
        let native = try Pipeline(ir, seed: 5, queues: queues, engine: .native)
        #expect(closures.engine == .closures)
        if let reason = Self.unsupported[name] {
            #expect(native.engine == .closures && native.engineNote?.contains(reason) == true, "\(name): \(native.engineNote ?? "runs natively")")
            return
        }
        #expect(native.engine == .native, "\(name): \(native.engineNote ?? "")")
        guard native.engine == .native else { return }

        let seed = 0x5EED ^ UInt64(name.utf8.count)
        print("NativeEngineTests[\(name)]: seed \(seed), \(Self.packets) packets")
        var rng = SplitMix64(seed: seed)
        let handles = try RandomState.install(ir.program, into: [closures, native], &rng)
        var fuzzer = PacketFuzzer(ir, seed: seed, ports: [0, 1, 2, 3])
        fuzzer.learn(closures)
        var mismatches = 0
        for i in 0..<Self.packets {
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
        #expect(mismatches == 0, "\(name): \(mismatches) of \(Self.packets) packets differ")
        #expect(closures.stats == native.stats)
        print("NativeEngineTests[\(name)]: \(native.stats)")
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
/// multicast groups 1...4 and meter rates, installed alike into several pipelines.
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
