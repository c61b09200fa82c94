import SluiceIR

/// The P4Runtime id of every named resource in a program: the top byte is the resource type
/// (`p4.config.v1.P4Ids.Prefix`), the low 24 bits a hash of the name.
///
/// Ids are what a controller keeps between runs, so they must depend on the program alone: as
/// p4c does, each resource type's names are hashed in sorted order with Jenkins' one-at-a-time
/// hash, and a collision takes the next free value (linear probing), so the same program always
/// gets the same ids and adding a resource moves at most the ids it collides with.
public struct P4Ids: Sendable, Equatable {
    /// The resource types a Sluice program has, with the top byte the specification gives each.
    public enum Kind: UInt32, Sendable, CaseIterable {
        case action = 0x01
        case table = 0x02
        case counter = 0x12
        case directCounter = 0x13
        case meter = 0x14
        case register = 0x16
        case digest = 0x17
        case controllerHeader = 0x40
    }

    private var ids: [Kind: [String: UInt32]] = [:]

    /// Ids for the given names of each kind (duplicates of a name share its id).
    public init(_ names: [Kind: [String]]) {
        for (kind, list) in names {
            var taken: Set<UInt32> = []
            var table: [String: UInt32] = [:]
            for name in Set(list).sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
                var low = P4Ids.jenkinsOneAtATime(name) & 0xFF_FFFF
                // 2^24 ids per kind; a program never comes close, so probing always ends.
                while taken.contains(low) { low = (low &+ 1) & 0xFF_FFFF }
                taken.insert(low)
                table[name] = kind.rawValue << 24 | low
            }
            ids[kind] = table
        }
    }

    /// The ids of a program's tables, actions and externs. A table's direct counter has the
    /// table's name (it has no name of its own in the IR).
    public init(_ program: Program) {
        self.init([
            .action: program.actions.map(\.name),
            .table: program.tables.map(\.name),
            .counter: program.counters.map(\.name),
            .directCounter: program.tables.filter(\.directCounter).map(\.name),
            .meter: program.meters.map(\.name),
            .register: program.registers.map(\.name),
            .digest: program.digests.map(\.name),
            .controllerHeader: (program.controllerHeaders ?? []).map(\.direction.rawValue),
        ])
    }

    /// The id of `name` of `kind`, or `nil` when the program has no such resource.
    public func id(_ kind: Kind, _ name: String) -> UInt32? { ids[kind]?[name] }

    /// The resource type an id names, from its top byte.
    public static func kind(of id: UInt32) -> Kind? { Kind(rawValue: id >> 24) }

    /// Bob Jenkins' one-at-a-time hash of the UTF-8 bytes, as p4c computes it.
    public static func jenkinsOneAtATime(_ s: String) -> UInt32 {
        var h: UInt32 = 0
        for b in s.utf8 {
            h &+= UInt32(b)
            h &+= h << 10
            h ^= h >> 6
        }
        h &+= h << 3
        h ^= h >> 11
        h &+= h << 15
        return h
    }
}
