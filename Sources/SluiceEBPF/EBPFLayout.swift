import SluiceIR

/// What the XDP backend cannot compile, naming the program and the construct.
public struct EBPFError: Error, CustomStringConvertible, Sendable {
    public var program: String
    public var construct: String
    public var reason: String
    public init(program: String, construct: String, reason: String) {
        self.program = program; self.construct = construct; self.reason = reason
    }
    public var description: String { "program '\(program)': \(construct): \(reason)" }
}

/// Where everything of a program lives in the generated C and its maps. The emitter and the
/// map-backed control plane both derive from this, so they agree on every offset and id.
public struct EBPFLayout: Sendable {
    public let program: Program
    public let facts: ProgramFacts
    let index: ProgramIndex

    /// Header instances: byte offset in the state's `hdr` area, size, validity slot. A stack's
    /// elements are consecutive: element `i` at `offset + i * size`, its validity at `valid + i`.
    /// Each instance starts on 8 bytes, so that clang copies it to and from the packet in
    /// 8-byte words (a router's headers in 3 and 2 loads and stores rather than 7 and 10;
    /// 9% of its test-run time).
    public struct HeaderSlot: Sendable {
        public var name: String
        public var type: HeaderType
        public var offset: Int
        public var size: Int
        public var valid: Int
        /// 1, or a stack's size.
        public var elements: Int = 1
        public var isStack: Bool = false
        public func offset(element i: Int) -> Int { offset + i * size }
    }
    public let headers: [HeaderSlot]
    public let headerBytes: Int
    /// Validity slots: one per header, one per stack element.
    public let validSlots: Int
    /// Parser state entries a packet may make (the software runtime's default
    /// `Pipeline.maxParserSteps`): past them the parser rejects with `ParserTimeout`. A parser
    /// that loops counts its steps in a local variable the kernel verifier tracks exactly, so
    /// the loop it sees is bounded by this.
    public static let maxParserSteps = 256
    /// Metadata fields: slot in `meta[]`.
    public let metaSlots: [String: Int]

    /// How a table is looked up in the kernel.
    public enum TableKind: Sendable, Equatable {
        /// No keys: the default action only.
        case keyless
        /// HASH map on all keys.
        case exact
        /// Exact keys' bytes, then the LPM key's, in one HASH keyed by (prefix length, masked
        /// bytes), probed over the lengths in use, longest first (a `_lens` ARRAY lists them).
        case lpm
        /// A single LPM key of 17 to 32 bits, looked up in arrays, as DPDK's DIR-24-8 does, in
        /// three levels: `_l1` indexed by the key's top 16 bits, then blocks of `2^l2Bits`
        /// (the next bits) in `_l2` and of `2^l3Bits` (the rest) in `_l3`. A cell is 0 (no
        /// prefix: the default action), `slot + 1` (the entry in the values ARRAY named like the
        /// table) or `block | 0x80000000` (a block of the next level: longer prefixes below).
        /// The control plane expands prefixes into cells; no hashing per packet.
        case lpmDirect(l2Bits: Int, l3Bits: Int, blocks: Int)
        /// Tuple-space search: one HASH map keyed by (mask number, masked key), `maxMasks` masks.
        case ternary
        /// Linear scan over an ARRAY of at most `slots` entries (tables with range keys).
        case linear(slots: Int)
    }

    public struct TableInfo: Sendable {
        public var table: Table
        public var kind: TableKind
        /// Bytes of each key in LPM data (exact keys then the LPM key), widths in bits.
        public var keyWidths: [Int]
        /// Action argument slots in the value (the most any of the table's actions takes, at least 1).
        public var argSlots: Int
        /// Per action of the table (in `table.actions` order): its parameters.
        public var actionParams: [[FieldDecl]]
        /// Bytes of the LPM key's data, for `.lpm`.
        public var lpmDataBytes: Int
    }
    public let tables: [TableInfo]
    /// Registers share one ARRAY map (a program may use at most 64 maps): register r's cell i
    /// is at index `registerBase[r] + i`.
    public let registerBase: [String: Int]
    public let registerCells: Int

    public static let maxMasks = 16
    /// Blocks per level of a direct LPM table (16 MB of cells a level at 8-bit blocks): a table
    /// holds prefixes longer than /16 under at most this many /16s, and longer than /24 under
    /// at most this many /24s.
    public static let maxLPMBlocks = 16_384
    public static let maxLinearEntries = 256
    public static let maxPorts = 512

    public init(_ verified: VerifiedProgram) throws(EBPFError) {
        let program = verified.program
        self.program = program
        facts = verified.facts
        index = ProgramIndex(program)
        var slots: [HeaderSlot] = []
        var offset = 0, valid = 0
        for h in program.headers {
            guard let t = index.type(ofHeader: h.name) else {
                throw EBPFError(program: program.name, construct: "header \(h.name)", reason: "unknown type \(h.type)")
            }
            guard t.bitWidth % 8 == 0 else {
                throw EBPFError(program: program.name, construct: "header \(h.name)", reason: "\(t.bitWidth) bits is not a whole number of bytes")
            }
            for f in t.fields {
                let bit = t.bitOffset(of: f.name)!
                if f.width > 64 || bit % 8 + f.width > 64 {
                    throw EBPFError(program: program.name, construct: "field hdr.\(h.name).\(f.name)",
                                    reason: "\(f.width) bits at bit \(bit % 8) of a byte does not fit a 64-bit register (the XDP backend handles fields up to 64 bits that span at most 8 bytes)")
                }
            }
            let n = max(h.stackSize, 1)
            offset = (offset + 7) & ~7
            slots.append(HeaderSlot(name: h.name, type: t, offset: offset, size: t.byteWidth, valid: valid, elements: n, isStack: h.isStack))
            offset += t.byteWidth * n
            valid += n
        }
        headers = slots
        headerBytes = max(offset, 8)
        validSlots = max(valid, 1)
        var meta: [String: Int] = [:]
        for (i, f) in program.metadata.enumerated() {
            guard f.width <= 64 else {
                throw EBPFError(program: program.name, construct: "meta.\(f.name)", reason: "\(f.width)-bit metadata (the XDP backend handles up to 64 bits)")
            }
            meta[f.name] = i
        }
        metaSlots = meta

        var infos: [TableInfo] = []
        for t in program.tables {
            let kinds = t.keys.map(\.kind)
            var widths: [Int] = []
            for k in t.keys {
                guard let w = index.width(of: k.expr) else {
                    throw EBPFError(program: program.name, construct: "table \(t.name) key \(k.name)", reason: "cannot tell its width")
                }
                guard w <= 64 else {
                    throw EBPFError(program: program.name, construct: "table \(t.name) key \(k.name)", reason: "\(w)-bit keys (the XDP backend handles up to 64 bits)")
                }
                widths.append(w)
            }
            let kind: TableKind
            if t.keys.isEmpty {
                kind = .keyless
            } else if kinds.allSatisfy({ $0 == .exact }) {
                kind = .exact
            } else if kinds.filter({ $0 == .lpm }).count == 1 && kinds.allSatisfy({ $0 == .exact || $0 == .lpm }) && kinds.last == .lpm {
                guard widths.allSatisfy({ $0 % 8 == 0 }) else {
                    throw EBPFError(program: program.name, construct: "table \(t.name)", reason: "LPM tables need keys of whole bytes on XDP")
                }
                let w = widths[0]
                if t.keys.count == 1 && w > 16 && w <= 32 {
                    let l2 = min(8, w - 16)
                    kind = .lpmDirect(l2Bits: l2, l3Bits: w - 16 - l2, blocks: min(max(1, t.size), Self.maxLPMBlocks))
                } else {
                    kind = .lpm
                }
            } else if kinds.contains(.range) {
                kind = .linear(slots: min(t.size, Self.maxLinearEntries))
            } else {
                kind = .ternary
            }
            var params: [[FieldDecl]] = []
            for a in t.actions {
                guard let decl = index.actions[a] else {
                    throw EBPFError(program: program.name, construct: "table \(t.name)", reason: "unknown action \(a)")
                }
                for p in decl.params where p.width > 64 {
                    throw EBPFError(program: program.name, construct: "action \(a) parameter \(p.name)", reason: "\(p.width)-bit parameters (up to 64 on XDP)")
                }
                params.append(decl.params)
            }
            infos.append(TableInfo(table: t, kind: kind, keyWidths: widths, argSlots: max(1, params.map(\.count).max() ?? 0),
                                   actionParams: params, lpmDataBytes: widths.reduce(0) { $0 + $1 / 8 }))
        }
        tables = infos
        var base: [String: Int] = [:]
        var cells = 0
        for r in program.registers {
            guard r.width <= 64 else {
                throw EBPFError(program: program.name, construct: "register \(r.name)", reason: "\(r.width)-bit cells (up to 64 on XDP)")
            }
            base[r.name] = cells
            cells += max(1, r.size)
        }
        registerBase = base
        registerCells = max(1, cells)
    }

    public func header(_ name: String) -> HeaderSlot? { headers.first { $0.name == name } }
    public func table(_ name: String) -> TableInfo? { tables.first { $0.table.name == name } }

    /// Slot of a standard field in `std[]`.
    public static func standardSlot(_ f: StandardField) -> Int { StandardField.allCases.firstIndex(of: f)! }

    /// C identifier from a Sluice name.
    public static func ident(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }
    public static func mapName(table t: String) -> String { "t_" + ident(t) }
    public static func defaultMapName(table t: String) -> String { "t_" + ident(t) + "_def" }
    public static func masksMapName(table t: String) -> String { "t_" + ident(t) + "_masks" }
    public static func lengthsMapName(table t: String) -> String { "t_" + ident(t) + "_lens" }
    /// Level `n` (1, 2, 3) of a direct LPM table's cells.
    public static func levelMapName(table t: String, _ n: Int) -> String { "t_" + ident(t) + "_l\(n)" }
    /// The one map of every register's cells.
    public static let registersMap = "sluice_registers"
    /// The BPF ring buffer digests travel in: records of `digestWords` 64-bit words, the
    /// digest's index in `program.digests` first, then its field values.
    public static let digestsMap = "sluice_digests"
    /// What `sluice_test` takes standard.ingressTimestamp from (programs that read it).
    public static let testClockMap = "sluice_test_clock"
    /// 64-bit words of a digest record for `program` (1 + its widest digest's field count).
    public static func digestWords(_ program: Program) -> Int { 1 + (program.digests.map(\.fields.count).max() ?? 0) }
    public static func mapName(counter c: String) -> String { "c_" + ident(c) }
    public static func mapName(meter m: String) -> String { "m_" + ident(m) }
}
