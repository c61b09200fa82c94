import Testing
import SluiceIR
import SluicePrograms
@testable import SluiceP4Runtime

/// P4Runtime ids: the resource type in the top byte, a hash of the name below, unique, and the
/// same on every build of the same program.
@Suite struct P4IdsTests {
    /// Every built-in program, plus the one with every resource.
    static var programs: [Program] { ProgramRegistry.all.map { $0.build().ir } + [P4InfoSnapshotTests.everyResource] }

    /// p4c's ids for the p4lang tutorials' basic.p4 (what its P4Info files say): the same hash,
    /// the same layout.
    @Test func hashAndLayoutAreP4c() {
        let ids = P4Ids([.table: ["MyIngress.ipv4_lpm"], .action: ["MyIngress.ipv4_forward", "MyIngress.drop", "NoAction"]])
        #expect(ids.id(.table, "MyIngress.ipv4_lpm") == 37_375_156)
        #expect(ids.id(.action, "MyIngress.ipv4_forward") == 28_792_405)
        #expect(ids.id(.action, "MyIngress.drop") == 25_652_968)
        #expect(ids.id(.action, "NoAction") == 21_257_015)
    }

    @Test func theTopByteIsTheResourceType() throws {
        let prefixes: [P4Ids.Kind: UInt32] = [.action: 0x01, .table: 0x02, .counter: 0x12, .directCounter: 0x13,
                                              .meter: 0x14, .register: 0x16, .digest: 0x17]
        for (kind, prefix) in prefixes { #expect(kind.rawValue == prefix) }
        #expect(P4_Config_V1_P4Ids.Prefix.action.rawValue == 0x01 && P4_Config_V1_P4Ids.Prefix.table.rawValue == 0x02
                && P4_Config_V1_P4Ids.Prefix.counter.rawValue == 0x12 && P4_Config_V1_P4Ids.Prefix.directCounter.rawValue == 0x13
                && P4_Config_V1_P4Ids.Prefix.meter.rawValue == 0x14 && P4_Config_V1_P4Ids.Prefix.register.rawValue == 0x16
                && P4_Config_V1_P4Ids.Prefix.digest.rawValue == 0x17)
        let info = try P4InfoBuilder.p4Info(P4InfoSnapshotTests.everyResource)
        let byKind: [(P4Ids.Kind, [UInt32])] = [
            (.table, info.tables.map(\.preamble.id)), (.action, info.actions.map(\.preamble.id)),
            (.counter, info.counters.map(\.preamble.id)), (.directCounter, info.directCounters.map(\.preamble.id)),
            (.meter, info.meters.map(\.preamble.id)), (.register, info.registers.map(\.preamble.id)),
            (.digest, info.digests.map(\.preamble.id)),
        ]
        for (kind, ids) in byKind {
            #expect(!ids.isEmpty, "\(kind)")
            for id in ids { #expect(id >> 24 == kind.rawValue && P4Ids.kind(of: id) == kind, "\(kind): \(id)") }
        }
        // References point at the right kind of resource.
        for t in info.tables {
            for r in t.actionRefs { #expect(P4Ids.kind(of: r.id) == .action) }
            for r in t.directResourceIds { #expect(P4Ids.kind(of: r) == .directCounter) }
        }
        for c in info.directCounters { #expect(info.tables.contains { $0.preamble.id == c.directTableID }) }
    }

    @Test func idsAreUniqueInEveryProgram() throws {
        for p in Self.programs {
            let info = try P4InfoBuilder.p4Info(p)
            let ids = info.tables.map(\.preamble.id) + info.actions.map(\.preamble.id) + info.counters.map(\.preamble.id)
                + info.directCounters.map(\.preamble.id) + info.meters.map(\.preamble.id)
                + info.registers.map(\.preamble.id) + info.digests.map(\.preamble.id)
            #expect(Set(ids).count == ids.count, "\(p.name)")
        }
    }

    /// Two builds of each program give the same message, and a program built with its
    /// resources in another order gives every name the same id (ids depend on names alone).
    @Test func idsAreStableAcrossBuildsAndDeclarationOrder() throws {
        for p in Self.programs {
            #expect(try P4InfoBuilder.p4Info(p) == P4InfoBuilder.p4Info(p), "\(p.name)")
            var reversed = p
            reversed.actions.reverse(); reversed.tables.reverse(); reversed.registers.reverse()
            reversed.counters.reverse(); reversed.meters.reverse(); reversed.digests.reverse()
            let a = P4Ids(p), b = P4Ids(reversed)
            #expect(a == b, "\(p.name)")
        }
    }

    /// Names whose hashes collide take the next free value in sorted order, whichever order
    /// they are declared in.
    @Test func collisionsProbeInSortedNameOrder() throws {
        var seen: [UInt32: String] = [:]
        var pair: (String, String)?
        for i in 0..<100_000 {
            let name = "t\(i)", low = P4Ids.jenkinsOneAtATime(name) & 0xFF_FFFF
            if let other = seen[low] { pair = (other, name); break }
            seen[low] = name
        }
        let (x, y) = try #require(pair)
        let (first, second) = x.utf8.lexicographicallyPrecedes(y.utf8) ? (x, y) : (y, x)
        let low = P4Ids.jenkinsOneAtATime(first) & 0xFF_FFFF
        for order in [[first, second], [second, first]] {
            let ids = P4Ids([.table: order])
            #expect(ids.id(.table, first) == 0x0200_0000 | low)
            #expect(ids.id(.table, second) == 0x0200_0000 | ((low + 1) & 0xFF_FFFF))
        }
    }
}
