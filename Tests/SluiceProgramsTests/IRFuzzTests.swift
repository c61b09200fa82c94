import Foundation
import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// Mutates the IR of every registered program (and two hand-written ones) thousands of times:
/// near-miss and unknown names, nonsense widths, constants, sizes and stack indices, dropped and
/// duplicated declarations, statements moved between the parser, actions and controls, changed
/// match kinds, emit lists and select keysets. For every mutant the verifier must not trap; a
/// mutant it accepts must compile or throw, and a compiled one must process random packets.
/// Every `nativeEvery`th compiled mutant runs under the native engine too (each is a clang
/// run, so not all): its C must build, or the lowering refuse the program by name before
/// clang sees it, and the native pipeline must give the closures' outputs and statistics.
///
/// `SLUICE_TEST_SEED` replays a run; `SLUICE_IRFUZZ_MUTANTS` changes the mutants per program
/// (default 3,000); `SLUICE_IRFUZZ_TRACE=1` prints each mutant's mutations to stderr before it
/// is checked, so that a trap names the mutant that caused it.
@Suite struct IRFuzzTests {
    static var mutantsPerProgram: Int {
        ProcessInfo.processInfo.environment["SLUICE_IRFUZZ_MUTANTS"].flatMap { Int($0) } ?? 3_000
    }
    static var trace: Bool { ProcessInfo.processInfo.environment["SLUICE_IRFUZZ_TRACE"] != nil }
    static let nativeEvery = 60

    static var programs: [Program] {
        ProgramRegistry.all.map { $0.build().ir } + [IRFuzzPrograms.rich(), IRFuzzPrograms.stacks()]
    }

    @Test func handWrittenProgramsAreValid() throws {
        for p in [IRFuzzPrograms.rich(), IRFuzzPrograms.stacks()] {
            #expect(Verifier.diagnose(p) == [], "\(p.name)")
            _ = try Pipeline(try Verifier.verify(p))
        }
    }

    /// One test per program, so that they run in parallel.
    @Test(arguments: 0..<(ProgramRegistry.all.count + 2))
    func mutantsNeverTrap(_ pi: Int) throws {
        let original = Self.programs[pi]
        let seed = testSeed("IRFuzz \(original.name)")
        let start = ContinuousClock.now
        let buffer = PacketBuffer()
        var bytes = [UInt8](repeating: 0, count: 200)
        var summary: [String] = []
        do {
            var clean = 0, compiled = 0, threw = 0, packets = 0, native = 0, refused = 0
            for i in 0..<Self.mutantsPerProgram {
                let m = Mutator(seed: seed ^ (UInt64(pi) << 48) ^ UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
                var p = original
                let rounds = 1 + m.int(3)
                for _ in 0..<rounds { m.mutate(&p) }
                if Self.trace {
                    FileHandle.standardError.write("IRFuzz \(original.name) #\(i): \(m.log.joined(separator: "; "))\n".data(using: .utf8)!)
                }
                guard let verified = try? Verifier.verify(p) else { continue }
                clean += 1
                let pipeline: Pipeline
                let pipelineSeed = m.rng.next()
                do { pipeline = try Pipeline(verified, seed: pipelineSeed, engine: .closures) } catch { threw += 1; continue }
                compiled += 1
                var twin: Pipeline? = nil
                if compiled % Self.nativeEvery == 0, let n = try? Pipeline(verified, seed: pipelineSeed, engine: .native) {
                    if let note = n.engineNote {
                        refused += 1
                        // A machine without clang runs the closures only (CI has clang).
                        #expect(note.hasPrefix("no clang found") || !note.contains("clang"), "\(original.name) #\(i): the C of a verified program does not build: \(note.prefix(2000))")
                    } else {
                        native += 1
                        twin = n
                    }
                }
                let twinBuffer = PacketBuffer()
                for _ in 0..<50 {
                    let n = m.int(201)
                    for j in 0..<n { bytes[j] = UInt8(truncatingIfNeeded: m.rng.next()) }
                    let port = m.chance(90) ? UInt16(m.int(512)) : UInt16(truncatingIfNeeded: m.rng.next())
                    bytes.withUnsafeBytes { buffer.load(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                    pipeline.process(buffer, port: port, timestamp: UInt64(packets))
                    if let twin {
                        bytes.withUnsafeBytes { twinBuffer.load(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                        twin.process(twinBuffer, port: port, timestamp: UInt64(packets))
                        let same = Self.outputs(of: pipeline) == Self.outputs(of: twin)
                        #expect(same, "\(original.name) #\(i): native and closures differ on packet \(packets)")
                    }
                    packets += 1
                }
                if let twin { #expect(twin.stats == pipeline.stats, "\(original.name) #\(i): statistics differ") }
            }
            summary.append("\(original.name): \(clean) verified, \(compiled) compiled (\(native) also native, \(refused) refused by it), \(threw) threw, \(packets) packets")
        }
        print("IRFuzz (\(ContinuousClock.now - start)): " + summary.joined(separator: "; "))
    }

    /// The last packet's outputs, each its port and bytes.
    static func outputs(of p: Pipeline) -> [[UInt8]] {
        (0..<p.outputCount).map { [UInt8(p.output($0).port >> 8), UInt8(p.output($0).port & 0xFF)] + p.output($0).buffer.bytes }
    }
}

// MARK: - Regressions: mutants that trapped the verifier or the compiler

@Suite struct IRFuzzRegressionTests {
    private func diagnostics(_ change: (inout Program) -> Void) -> [String] {
        var p = IRFuzzPrograms.rich()
        change(&p)
        return Verifier.diagnose(p).map(\.description)
    }

    /// Registers, counters and meters of nonsense sizes were allocated by the compiler (and
    /// trapped); a constant index into one of size Int.min trapped the verifier's fix.
    @Test func externSizes() {
        let d = diagnostics {
            $0.counters[0].size = Int.max
            $0.registers[1].size = 0
            $0.meters[0].size = Int.min
            $0.ingress.append(.count("port_packets", index: .bits(1, 9)))
        }
        #expect(d.contains("program 'rich', counter 'port_packets': has size \(Int.max); a counter has 1 to 16777216 cells (fix: use a size from 1 to 16777216) [constant-range]"))
        #expect(d.contains("program 'rich', register 'wide_reg': has size 0; a register has 1 to 16777216 cells (fix: use a size from 1 to 16777216) [constant-range]"))
        #expect(d.contains("program 'rich', meter 'port_meter': has size \(Int.min); a meter has 1 to 16777216 cells (fix: use a size from 1 to 16777216) [constant-range]"))
        let index = diagnostics { $0.counters[0].size = Int.min; $0.ingress.append(.count("port_packets", index: .bits(1, 9))) }
        #expect(index.contains("program 'rich', control ingress: index 1 is out of range for counter 'port_packets' of size \(Int.min) (fix: make the counter larger) [constant-range]"))
    }

    /// Width arithmetic on nonsense slices, concatenations and fields overflowed.
    @Test func widthArithmeticDoesNotOverflow() {
        let slice = diagnostics { $0.ingress.append(.assign(.meta("bytes"), .slice(.field(.meta("bytes")), hi: Int.max, lo: 0))) }
        #expect(slice.contains { $0.contains("slice [\(Int.max):0] of meta.bytes in the value assigned to meta.bytes is out of bounds: the value has 32 bits") })
        let negative = diagnostics { $0.ingress.append(.assign(.meta("bytes"), .binary(.add, .slice(.field(.meta("bytes")), hi: Int.max, lo: -1), .bits(1, 32)))) }
        #expect(negative.contains { $0.contains("slice [\(Int.max):-1] of meta.bytes") && $0.contains("is empty") })
        let concat = diagnostics {
            $0.metadata[0].width = Int.max
            $0.ingress.append(.assign(.meta("bytes"), .concat(.field(.meta("flowHash")), .field(.meta("flowHash")))))
        }
        #expect(concat.contains { $0.contains("concatenation meta.flowHash ++ meta.flowHash in the value assigned to meta.bytes is more than \(Int.max) bits") })
        let field = diagnostics {
            $0.metadata[0].width = Int.min
            $0.ingress.append(.assign(.meta("bytes"), .cast(.slice(.field(.meta("flowHash")), hi: 3, lo: 0), width: 32)))
        }
        #expect(field.contains { $0.contains("is out of bounds: the value has \(Int.min) bits (fix: slice a value of 1 to 128 bits)") })
        let advance = diagnostics { $0.parser.states[4].statements.append(.advance(Int.max)) }
        #expect(advance.contains { $0.contains("advances by \(Int.max) bits") && $0.contains("advance(\(Int.max - 7))") })
    }
}

// MARK: - The mutator

final class Mutator {
    var rng: SplitMix64
    var log: [String] = []
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    func int(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.next() % UInt64(n)) }
    func chance(_ percent: Int) -> Bool { int(100) < percent }
    func pick<T>(_ xs: [T]) -> T? { xs.isEmpty ? nil : xs[int(xs.count)] }
    func note(_ s: String) { log.append(s) }

    static let widths = [0, 1, 2, 7, 8, 9, 15, 16, 31, 32, 33, 48, 63, 64, 65, 127, 128, 129, 256, -1, -64,
                         1 << 20, 1 << 40, Int.max, Int.min]
    static let sizes = [0, 1, 2, 3, 63, 64, 65, 1024, 65536, -1, -5, (1 << 24) + 1, 1 << 40, Int.max, Int.min]
    static let constants: [UInt128] = [0, 1, 2, 0xFF, 0x1FF, 0xFFFF, 1 << 32, UInt128(UInt64.max), 1 << 64,
                                       (1 << 127), UInt128.max]
    static let indices: [StackIndex?] = [nil, .at(0), .at(1), .at(-1), .at(999), .at(64), .at(Int.max), .at(Int.min), .last, .next]

    func width() -> Int { chance(15) ? int(140) - 5 : pick(Self.widths)! }
    func size() -> Int { pick(Self.sizes)! }
    func constant() -> UInt128 { chance(20) ? UInt128(rng.next()) : pick(Self.constants)! }
    func index() -> StackIndex? { pick(Self.indices)! }

    /// A near miss of `name`, an unknown name, or a name of another kind.
    func name(_ n: String, _ names: Names) -> String {
        switch int(8) {
        case 0: return n + "_"
        case 1: return n.isEmpty ? "x" : String(n.dropLast())
        case 2: return n.uppercased()
        case 3: return "unknown"
        case 4: return ""
        case 5: return pick(["accept", "reject", "NoAction", "start"])!
        default: return pick(names.all) ?? "x"
        }
    }

    // MARK: mutate

    func mutate(_ p: inout Program) {
        let names = Names(p)
        let ops: [(String, (inout Program, Names) -> Void)] = [
            ("renameRef", renameRef), ("renameRef", renameRef), ("renameDecl", renameDecl),
            ("width", changeWidth), ("width", changeWidth), ("exprWidth", changeExprWidth),
            ("constant", changeConstant), ("dropOrDup", dropOrDuplicate), ("dropOrDup", dropOrDuplicate),
            ("move", moveStatement), ("move", moveStatement), ("insert", insertStatement),
            ("stack", changeStacks), ("matchKind", changeMatchKind), ("tableSize", changeTable),
            ("parser", changeParser), ("emit", changeEmit), ("select", changeSelect),
            ("replaceExpr", replaceExpr), ("args", changeArgs), ("misc", changeMisc),
            ("deleteStmt", deleteStatement),
        ]
        let (label, op) = ops[int(ops.count)]
        note(label)
        op(&p, names)
    }

    func renameRef(_ p: inout Program, _ names: Names) {
        if chance(40) {
            // A field reference (header, field or metadata name).
            onRandomFieldRef(&p) { r in
                switch r {
                case .header(let h, let f, let i):
                    if self.chance(50) { r = .header(self.name(h, names), field: f, index: i) } else { r = .header(h, field: self.name(f, names), index: i) }
                case .meta(let m): r = .meta(self.name(m, names))
                case .standard: r = .meta(self.pick(StandardField.allCases)!.rawValue)
                }
                self.note("ref -> \(r)")
            }
            return
        }
        onRandomStmt(&p) { s in
            let n = { (x: String) in self.name(x, names) }
            switch s {
            case .setValid(let h, let i): s = .setValid(n(h), index: i)
            case .setInvalid(let h, let i): s = .setInvalid(n(h), index: i)
            case .pushFront(let h, let c): s = .pushFront(n(h), count: c)
            case .popFront(let h, let c): s = .popFront(n(h), count: c)
            case .apply(let t, var o):
                if !o.actions.isEmpty, self.chance(50) {
                    let k = self.int(o.actions.count); o.actions[k].action = n(o.actions[k].action)
                    s = .apply(t, outcome: o)
                } else { s = .apply(n(t), outcome: o) }
            case .call(let a, let args): s = .call(n(a), args: args)
            case .registerRead(let d, let r, let i): s = .registerRead(d, register: n(r), index: i)
            case .registerWrite(let r, let i, let v): s = .registerWrite(n(r), index: i, value: v)
            case .registerAction(let r, let i, let u, let res, let rn): s = .registerAction(n(r), index: i, update: u, result: res, returnsNew: rn)
            case .count(let c, let i): s = .count(n(c), index: i)
            case .meter(let c, let i, let r): s = .meter(n(c), index: i, result: r)
            case .digest(let d, let v): s = .digest(n(d), values: v)
            case .updateChecksum(let f, let hs): s = .updateChecksum(f, over: hs.isEmpty ? [n("")] : hs.map { self.chance(50) ? n($0) : $0 })
            case .verifyChecksum(let f, let hs): s = .verifyChecksum(f, over: hs.isEmpty ? [n("")] : hs.map { self.chance(50) ? n($0) : $0 })
            case .extract(let h, let i): s = .extract(n(h), index: i)
            case .verify(let c, let e): s = .verify(c, error: n(e))
            default: break
            }
            self.note("stmt -> \(s)")
        }
    }

    func renameDecl(_ p: inout Program, _ names: Names) {
        switch int(12) {
        case 0: if !p.headerTypes.isEmpty { let k = int(p.headerTypes.count); p.headerTypes[k].name = name(p.headerTypes[k].name, names) }
        case 1: if !p.headers.isEmpty { let k = int(p.headers.count); p.headers[k].name = name(p.headers[k].name, names) }
        case 2: if !p.headers.isEmpty { let k = int(p.headers.count); p.headers[k].type = name(p.headers[k].type, names) }
        case 3: if !p.tables.isEmpty { let k = int(p.tables.count); p.tables[k].name = name(p.tables[k].name, names) }
        case 4: if !p.actions.isEmpty { let k = int(p.actions.count); p.actions[k].name = name(p.actions[k].name, names) }
        case 5: if !p.parser.states.isEmpty { let k = int(p.parser.states.count); p.parser.states[k].name = name(p.parser.states[k].name, names) }
        case 6:
            if let k = randomIndex(p.headerTypes), !p.headerTypes[k].fields.isEmpty {
                let f = int(p.headerTypes[k].fields.count); p.headerTypes[k].fields[f].name = name(p.headerTypes[k].fields[f].name, names)
            }
        case 7: if let k = randomIndex(p.metadata) { p.metadata[k].name = name(p.metadata[k].name, names) }
        case 8:
            if let k = randomIndex(p.actions), let j = randomIndex(p.actions[k].params) {
                p.actions[k].params[j].name = name(p.actions[k].params[j].name, names)
            }
        case 9:
            if let k = randomIndex(p.tables) {
                if chance(50), let j = randomIndex(p.tables[k].actions) { p.tables[k].actions[j] = name(p.tables[k].actions[j], names) }
                else if chance(50), let j = randomIndex(p.tables[k].entries) { p.tables[k].entries[j].action.action = name(p.tables[k].entries[j].action.action, names) }
                else { p.tables[k].defaultAction.action = name(p.tables[k].defaultAction.action, names) }
            }
        case 10:
            if let k = randomIndex(p.registers) { p.registers[k].name = name(p.registers[k].name, names) }
            else if let k = randomIndex(p.counters) { p.counters[k].name = name(p.counters[k].name, names) }
        default:
            if let k = randomIndex(p.errors) { p.errors[k] = name(p.errors[k], names) } else { p.errors.append(name("NoMatch", names)) }
        }
        note("renamed a declaration")
    }

    func changeWidth(_ p: inout Program, _ names: Names) {
        let w = width()
        switch int(6) {
        case 0, 1:
            if let k = randomIndex(p.headerTypes), let j = randomIndex(p.headerTypes[k].fields) {
                p.headerTypes[k].fields[j].width = w
                if chance(40), let j2 = randomIndex(p.headerTypes[k].fields) { p.headerTypes[k].fields[j2].width &-= w &- 8 * int(3) }
                if chance(20) { p.headerTypes[k].fields[j].signed.toggle() }
            }
        case 2: if let k = randomIndex(p.metadata) { p.metadata[k].width = w; if chance(20) { p.metadata[k].signed.toggle() } }
        case 3: if let k = randomIndex(p.actions), let j = randomIndex(p.actions[k].params) { p.actions[k].params[j].width = w }
        case 4:
            if let k = randomIndex(p.registers) { p.registers[k].width = w }
            else if let k = randomIndex(p.digests), let j = randomIndex(p.digests[k].fields) { p.digests[k].fields[j].width = w }
        default:
            if let k = randomIndex(p.digests), let j = randomIndex(p.digests[k].fields) { p.digests[k].fields[j].width = w }
            else if let k = randomIndex(p.metadata) { p.metadata[k].width = w }
        }
        note("width \(w)")
    }

    func changeExprWidth(_ p: inout Program, _ names: Names) {
        onRandomExpr(&p) { e in
            let w = self.width()
            switch e {
            case .const(let v, _): e = .const(v, width: self.chance(30) ? nil : w)
            case .slice(let a, let hi, let lo):
                e = self.chance(50) ? .slice(a, hi: self.chance(50) ? w : hi, lo: lo) : .slice(a, hi: hi, lo: self.chance(50) ? w : -1)
            case .cast(let a, _, let s): e = .cast(a, width: w, signExtend: self.chance(50) ? !s : s)
            case .hash(let alg, let xs, _, let b, let m): e = .hash(alg, xs, width: w, base: b, modulo: m)
            case .random(let lo, let hi, _): e = .random(lo: lo, hi: hi, width: w)
            case .lookahead: e = .lookahead(width: w)
            default: e = .cast(e, width: w, signExtend: self.chance(30))
            }
            self.note("expr -> \(e)")
        }
    }

    func changeConstant(_ p: inout Program, _ names: Names) {
        switch int(4) {
        case 0:
            if let k = randomIndex(p.tables), let j = randomIndex(p.tables[k].entries) {
                var e = p.tables[k].entries[j]
                if let m = randomIndex(e.matches) {
                    let v = constant()
                    e.matches[m] = switch e.matches[m] {
                    case .exact: .exact(v)
                    case .lpm(let x, let l): chance(50) ? .lpm(v, prefixLength: l) : .lpm(x, prefixLength: pick([-1, 0, 129, 65, 1000, Int.max, Int.min])!)
                    case .ternary(let x, _): chance(50) ? .ternary(v, mask: 0) : .ternary(x, mask: v)
                    case .range(let lo, let hi): chance(50) ? .range(v, hi) : .range(lo, v)
                    case .optional: .optional(chance(30) ? nil : v)
                    }
                }
                if chance(30), !e.action.args.isEmpty { e.action.args[int(e.action.args.count)] = constant() }
                if chance(20) { e.priority = pick([Int.max, Int.min, -1, 0])! }
                p.tables[k].entries[j] = e
            }
        case 1:
            if let k = randomIndex(p.tables), !p.tables[k].defaultAction.args.isEmpty {
                p.tables[k].defaultAction.args[int(p.tables[k].defaultAction.args.count)] = constant()
            }
        case 2:
            if let k = randomIndex(p.parser.states), case .select(let keys, var cases) = p.parser.states[k].transition,
               let c = randomIndex(cases), let j = randomIndex(cases[c].keys) {
                let v = constant()
                cases[c].keys[j] = [.value(v), .mask(v, constant()), .range(v, constant()), .range(constant(), v), .any][int(5)]
                p.parser.states[k].transition = .select(keys, cases)
            }
        default:
            onRandomExpr(&p) { e in
                switch e {
                case .const(_, let w): e = .const(self.constant(), width: w)
                case .hash(let a, let xs, let w, _, _): e = .hash(a, xs, width: w, base: self.rng.next() >> UInt64(self.int(64)), modulo: self.pick([0, 1, UInt64.max, 1 << 63])!)
                case .random: e = .random(lo: self.rng.next() >> UInt64(self.int(65) % 64), hi: self.pick([0, 1, UInt64.max])!, width: self.width())
                default: e = .binary(self.pick(BinaryOp.allCases)!, e, .const(self.constant(), width: self.chance(50) ? nil : self.width()))
                }
            }
        }
        note("constant")
    }

    func dropOrDuplicate(_ p: inout Program, _ names: Names) {
        let dup = chance(40)
        func edit<T>(_ xs: inout [T]) {
            guard let k = randomIndex(xs) else { return }
            if dup { xs.insert(xs[k], at: int(xs.count + 1)) } else { xs.remove(at: k) }
        }
        let what = int(16)
        switch what {
        case 0: edit(&p.parser.states)
        case 1: if let k = randomIndex(p.tables) { edit(&p.tables[k].keys) }
        case 2: if let k = randomIndex(p.actions) { edit(&p.actions[k].params) }
        case 3: if let k = randomIndex(p.headerTypes) { edit(&p.headerTypes[k].fields) }
        case 4: if let k = randomIndex(p.tables), let j = randomIndex(p.tables[k].entries) { edit(&p.tables[k].entries[j].matches) }
        case 5: if let k = randomIndex(p.tables) { edit(&p.tables[k].entries) }
        case 6: if let k = randomIndex(p.tables) { edit(&p.tables[k].actions) }
        case 7: edit(&p.headers)
        case 8: edit(&p.headerTypes)
        case 9: edit(&p.metadata)
        case 10: edit(&p.actions)
        case 11: edit(&p.tables)
        case 12: if chance(50) { edit(&p.registers) } else { edit(&p.counters) }
        case 13: if chance(50) { edit(&p.meters) } else { edit(&p.digests) }
        case 14: if let k = randomIndex(p.digests) { edit(&p.digests[k].fields) } else { edit(&p.errors) }
        default: if let k = randomIndex(p.tables), let j = randomIndex(p.tables[k].entries) { edit(&p.tables[k].entries[j].action.args) }
        }
        note("\(dup ? "duplicate" : "drop") #\(what)")
    }

    /// Removes (or copies) a random statement and inserts it into a random statement list.
    func moveStatement(_ p: inout Program, _ names: Names) {
        var taken: Stmt?
        let copy = chance(30)
        onRandomStmtList(&p) { ss in
            guard let k = self.randomIndex(ss) else { return }
            taken = ss[k]
            if !copy { ss.remove(at: k) }
        }
        guard let s = taken else { return }
        onRandomStmtList(&p) { ss in ss.insert(s, at: self.int(ss.count + 1)) }
        note("\(copy ? "copy" : "move") \(s)")
    }

    func insertStatement(_ p: inout Program, _ names: Names) {
        let s = randomStmt(names, depth: 0)
        onRandomStmtList(&p) { ss in ss.insert(s, at: self.int(ss.count + 1)) }
        note("insert \(s)")
    }

    func deleteStatement(_ p: inout Program, _ names: Names) {
        onRandomStmtList(&p) { ss in
            if let k = self.randomIndex(ss) { ss.remove(at: k) }
        }
        note("delete a statement")
    }

    func changeStacks(_ p: inout Program, _ names: Names) {
        if chance(30), let k = randomIndex(p.headers) {
            p.headers[k].stackSize = pick([0, 1, 2, 64, 65, -1, Int.max, Int.min, 1 << 20])!
            note("stack size of \(p.headers[k].name): \(p.headers[k].stackSize)")
            return
        }
        if chance(30) {
            onRandomFieldRef(&p) { r in
                if case .header(let h, let f, _) = r { r = .header(h, field: f, index: self.index()) }
                self.note("index -> \(r)")
            }
            return
        }
        onRandomStmt(&p) { s in
            switch s {
            case .setValid(let h, _): s = .setValid(h, index: self.index())
            case .setInvalid(let h, _): s = .setInvalid(h, index: self.index())
            case .extract(let h, _): s = .extract(h, index: self.index())
            case .pushFront(let h, _): s = .pushFront(h, count: self.size())
            case .popFront(let h, _): s = .popFront(h, count: self.size())
            default:
                if let h = self.pick(names.headers) {
                    s = [Stmt.pushFront(h, count: self.size()), .popFront(h, count: self.size()),
                         .setValid(h, index: self.index()), .ifElse(.isValid(h, index: self.index()), then: [s], else: [])][self.int(4)]
                }
            }
            self.note("stack stmt -> \(s)")
        }
    }

    func changeMatchKind(_ p: inout Program, _ names: Names) {
        guard let k = randomIndex(p.tables) else { return }
        if chance(60), let j = randomIndex(p.tables[k].keys) {
            p.tables[k].keys[j].kind = pick(MatchKind.allCases)!
            if chance(30) { p.tables[k].keys[j].expr = randomExpr(names, depth: 1) }
            note("key kind \(p.tables[k].keys[j].kind)")
        } else if let j = randomIndex(p.tables[k].entries), let m = randomIndex(p.tables[k].entries[j].matches) {
            let v = constant()
            p.tables[k].entries[j].matches[m] = [Match.exact(v), .lpm(v, prefixLength: int(140) - 5), .ternary(v, mask: constant()),
                                                 .range(v, constant()), .optional(v), .optional(nil)][int(6)]
            note("entry match")
        } else {
            p.tables[k].keys.append(TableKey(randomExpr(names, depth: 1), pick(MatchKind.allCases)!, name: "k\(int(3))"))
            note("add key")
        }
    }

    func changeTable(_ p: inout Program, _ names: Names) {
        guard let k = randomIndex(p.tables) else { return }
        switch int(5) {
        case 0, 1: p.tables[k].size = size()
        case 2: p.tables[k].entries += p.tables[k].entries  // duplicates
        case 3: p.tables[k].keys = []
        default:
            p.tables[k].defaultIsConst.toggle(); p.tables[k].entriesAreConst.toggle(); p.tables[k].directCounter.toggle()
        }
        note("table \(p.tables[k].name)")
    }

    func changeParser(_ p: inout Program, _ names: Names) {
        switch int(6) {
        case 0: p.parser.states = []
        case 1: if let k = randomIndex(p.parser.states) { p.parser.states[k].statements = [] }
        case 2:
            if let k = randomIndex(p.parser.states) {
                let target = pick(names.states + ["accept", "reject", "nowhere"])!
                p.parser.states[k].transition = [Transition.accept, .reject, .goto(target),
                                                 .select([], [SelectCase([], next: target)]),
                                                 .select([.lookahead(width: width())], [SelectCase([.any], next: target)])][int(5)]
            }
        case 3: p.parser.states.shuffle(using: &rng)
        case 4:
            // A loop: the parser must stop at its step bound.
            if let k = randomIndex(p.parser.states) { p.parser.states[k].transition = .goto(p.parser.states[k].name) }
        default:
            p.parser.states.append(ParserState("extra", statements: [randomStmt(names, depth: 0)],
                                               transition: .goto(pick(names.states) ?? "accept")))
            if let k = randomIndex(p.parser.states) { p.parser.states[k].transition = .goto("extra") }
        }
        note("parser")
    }

    func changeEmit(_ p: inout Program, _ names: Names) {
        switch int(5) {
        case 0: p.deparser.emit = []
        case 1: p.deparser.emit.shuffle(using: &rng)
        case 2: if let k = randomIndex(p.deparser.emit) { p.deparser.emit.remove(at: k) }
        case 3: p.deparser.emit.insert(pick(names.headers + ["unknown"])!, at: int(p.deparser.emit.count + 1))
        default: if let k = randomIndex(p.deparser.emit) { p.deparser.emit[k] = name(p.deparser.emit[k], names) }
        }
        note("emit \(p.deparser.emit)")
    }

    func changeSelect(_ p: inout Program, _ names: Names) {
        let selects = p.parser.states.indices.filter { if case .select = p.parser.states[$0].transition { true } else { false } }
        guard let k = pick(selects), case .select(var keys, var cases) = p.parser.states[k].transition else {
            if let k = randomIndex(p.parser.states) {
                p.parser.states[k].transition = .select([randomExpr(names, depth: 1)], [SelectCase([.value(constant())], next: "accept"), SelectCase([.any], next: "reject")])
            }
            return
        }
        switch int(6) {
        case 0: keys.append(randomExpr(names, depth: 1))
        case 1: if !keys.isEmpty { keys.removeLast() }
        case 2: if let c = randomIndex(cases) { cases[c].keys.append(.any) }
        case 3: if let c = randomIndex(cases), !cases[c].keys.isEmpty { cases[c].keys.removeLast() }
        case 4: if let j = randomIndex(keys) { keys[j] = randomExpr(names, depth: 1) }
        default: cases = chance(50) ? [] : cases + cases
        }
        p.parser.states[k].transition = .select(keys, cases)
        note("select")
    }

    func replaceExpr(_ p: inout Program, _ names: Names) {
        onRandomExpr(&p) { e in e = self.randomExpr(names, depth: 0); self.note("expr -> \(e)") }
    }

    func changeArgs(_ p: inout Program, _ names: Names) {
        onRandomStmt(&p) { s in
            switch s {
            case .call(let a, var args):
                if self.chance(50) || args.isEmpty { args.append(self.randomExpr(names, depth: 1)) } else { args.removeLast() }
                s = .call(a, args: args)
            case .digest(let d, var vs):
                if self.chance(50) || vs.isEmpty { vs.append(self.randomExpr(names, depth: 1)) } else { vs.removeLast() }
                s = .digest(d, values: vs)
            default:
                if let a = self.pick(names.actions) { s = .call(a, args: (0..<self.int(3)).map { _ in self.randomExpr(names, depth: 1) }) }
            }
            self.note("args -> \(s)")
        }
    }

    func changeMisc(_ p: inout Program, _ names: Names) {
        switch int(7) {
        case 0: p.egress = p.egress == nil ? [] : nil
        case 1: p.onParserReject = p.onParserReject == .drop ? .continue : .drop
        case 2: if let k = randomIndex(p.registers) { p.registers[k].size = size() } else { p.registers.append(Register("r", width: width(), size: size())) }
        case 3: if let k = randomIndex(p.counters) { p.counters[k].size = size() } else { p.counters.append(Counter("c", size: size())) }
        case 4: if let k = randomIndex(p.meters) { p.meters[k].size = size() } else { p.meters.append(Meter("m", size: size())) }
        case 5: p.ingress = []
        default:
            // Swap two bodies between controls, actions and the deparser.
            let a = p.ingress
            if chance(50), let e = p.egress { p.ingress = e; p.egress = a }
            else if let k = randomIndex(p.actions) { p.ingress = p.actions[k].body; p.actions[k].body = a }
            else { p.ingress = p.deparser.statements; p.deparser.statements = a }
        }
        note("misc")
    }

    // MARK: random IR

    func randomRef(_ names: Names) -> FieldRef {
        switch int(5) {
        case 0, 1:
            guard let (h, f) = pick(names.headerFields) else { return .meta(pick(names.meta) ?? "x") }
            return .header(h, field: f, index: chance(70) ? nil : index())
        case 2: return .meta(pick(names.meta) ?? "x")
        default: return .standard(pick(StandardField.allCases)!)
        }
    }

    func randomExpr(_ names: Names, depth: Int) -> Expr {
        let leaf = depth >= 3 || chance(35)
        if leaf {
            switch int(8) {
            case 0, 1: return .const(constant(), width: chance(50) ? nil : width())
            case 2, 3, 4: return .field(randomRef(names))
            case 5: return .param(pick(names.params + ["nope"])!)
            case 6: return .isValid(pick(names.headers + ["nope"])!, index: index())
            default: return [Expr.lookahead(width: width()), .registerOld, .random(lo: rng.next() >> 60, hi: rng.next() >> UInt64(int(64)), width: width())][int(3)]
            }
        }
        let a = randomExpr(names, depth: depth + 1), b = randomExpr(names, depth: depth + 1)
        switch int(9) {
        case 0: return .unary([.bitNot, .negate, .logicalNot][int(3)], a)
        case 1, 2: return .binary(pick(BinaryOp.allCases)!, a, b)
        case 3: return .signed(pick(BinaryOp.allCases)!, a, b)
        case 4: return .slice(a, hi: int(130) - 2, lo: int(70) - 2)
        case 5: return .concat(a, b)
        case 6: return .cast(a, width: width(), signExtend: chance(50))
        case 7: return .mux(a, b, randomExpr(names, depth: depth + 1))
        default: return .hash(pick(HashAlgorithm.allCases)!, chance(20) ? [] : [a, b], width: width(), base: rng.next() >> UInt64(int(64)), modulo: pick([0, 1, 7, UInt64.max])!)
        }
    }

    func randomStmt(_ names: Names, depth: Int) -> Stmt {
        let e = { self.randomExpr(names, depth: 1) }
        let h = pick(names.headers + ["nope"])!
        switch int(24) {
        case 0, 1: return .assign(randomRef(names), e())
        case 2: return .setValid(h, index: index())
        case 3: return .setInvalid(h, index: index())
        case 4: return chance(50) ? .pushFront(h, count: size()) : .popFront(h, count: size())
        case 5: return .ifElse(e(), then: depth < 2 ? [randomStmt(names, depth: depth + 1)] : [], else: [])
        case 6: return .apply(pick(names.tables + ["nope"])!, outcome: ApplyOutcome(hit: depth < 2 ? [randomStmt(names, depth: depth + 1)] : [], actions: [ActionBranch(pick(names.actions + ["nope"])!, [])]))
        case 7: return .call(pick(names.actions + ["nope"])!, args: (0..<int(3)).map { _ in e() })
        case 8: return [Stmt.drop, .exit, .recirculate, .resubmit][int(4)]
        case 9: return .registerRead(randomRef(names), register: pick(names.registers + ["nope"])!, index: e())
        case 10: return .registerWrite(pick(names.registers + ["nope"])!, index: e(), value: e())
        case 11: return .registerAction(pick(names.registers + ["nope"])!, index: e(), update: chance(50) ? .binary(.add, .registerOld, e()) : e(), result: chance(50) ? randomRef(names) : nil, returnsNew: chance(50))
        case 12: return .count(pick(names.counters + ["nope"])!, index: e())
        case 13: return .meter(pick(names.meters + ["nope"])!, index: e(), result: randomRef(names))
        case 14: return .digest(pick(names.digests + ["nope"])!, values: (0..<int(4)).map { _ in e() })
        case 15: return .updateChecksum(randomRef(names), over: (0..<int(3)).map { _ in pick(names.headers + ["nope"])! })
        case 16: return .verifyChecksum(randomRef(names), over: (0..<int(3)).map { _ in pick(names.headers + ["nope"])! })
        case 17: return .incrementalChecksum(randomRef(names), old: e(), new: e())
        case 18, 19: return .extract(h, index: index())
        case 20: return .verify(e(), error: pick(names.errors + ["NoMatch", "nope"])!)
        case 21: return .advance(pick([0, 8, 16, 7, -8, 1 << 20, Int.max, Int.min, 2048])!)
        case 22: return .assign(randomRef(names), .lookahead(width: width()))
        default: return .assign(randomRef(names), .const(constant(), width: nil))
        }
    }

    // MARK: traversals

    func randomIndex<T>(_ xs: [T]) -> Int? { xs.isEmpty ? nil : int(xs.count) }

    /// Every statement list of the program, nested ones included.
    static func stmtLists(_ p: inout Program, _ f: (inout [Stmt]) -> Void) {
        func go(_ ss: inout [Stmt]) {
            f(&ss)
            for i in ss.indices {
                switch ss[i] {
                case .ifElse(let c, var t, var e): go(&t); go(&e); ss[i] = .ifElse(c, then: t, else: e)
                case .apply(let n, var o):
                    go(&o.hit); go(&o.miss)
                    for j in o.actions.indices { go(&o.actions[j].body) }
                    ss[i] = .apply(n, outcome: o)
                default: break
                }
            }
        }
        for k in p.parser.states.indices { go(&p.parser.states[k].statements) }
        for k in p.actions.indices { go(&p.actions[k].body) }
        go(&p.ingress)
        if p.egress != nil { go(&p.egress!) }
        go(&p.deparser.statements)
    }

    static func stmts(_ p: inout Program, _ f: (inout Stmt) -> Void) {
        stmtLists(&p) { ss in for i in ss.indices { f(&ss[i]) } }
    }

    static func visit(_ e: inout Expr, _ f: (inout Expr) -> Void) {
        f(&e)
        switch e {
        case .unary(let op, var a): visit(&a, f); e = .unary(op, a)
        case .binary(let op, var a, var b): visit(&a, f); visit(&b, f); e = .binary(op, a, b)
        case .signed(let op, var a, var b): visit(&a, f); visit(&b, f); e = .signed(op, a, b)
        case .slice(var a, let hi, let lo): visit(&a, f); e = .slice(a, hi: hi, lo: lo)
        case .concat(var a, var b): visit(&a, f); visit(&b, f); e = .concat(a, b)
        case .cast(var a, let w, let s): visit(&a, f); e = .cast(a, width: w, signExtend: s)
        case .mux(var c, var a, var b): visit(&c, f); visit(&a, f); visit(&b, f); e = .mux(c, a, b)
        case .hash(let alg, var xs, let w, let b, let m):
            for i in xs.indices { visit(&xs[i], f) }
            e = .hash(alg, xs, width: w, base: b, modulo: m)
        default: break
        }
    }

    /// Every expression of the program, subexpressions included.
    static func exprs(_ p: inout Program, _ f: (inout Expr) -> Void) {
        func v(_ e: inout Expr) { visit(&e, f) }
        stmts(&p) { s in
            switch s {
            case .assign(let r, var e): v(&e); s = .assign(r, e)
            case .ifElse(var c, let t, let el): v(&c); s = .ifElse(c, then: t, else: el)
            case .call(let a, var args): for i in args.indices { v(&args[i]) }; s = .call(a, args: args)
            case .registerRead(let d, let r, var i): v(&i); s = .registerRead(d, register: r, index: i)
            case .registerWrite(let r, var i, var x): v(&i); v(&x); s = .registerWrite(r, index: i, value: x)
            case .registerAction(let r, var i, var u, let res, let rn): v(&i); v(&u); s = .registerAction(r, index: i, update: u, result: res, returnsNew: rn)
            case .count(let c, var i): v(&i); s = .count(c, index: i)
            case .meter(let m, var i, let r): v(&i); s = .meter(m, index: i, result: r)
            case .digest(let d, var vs): for i in vs.indices { v(&vs[i]) }; s = .digest(d, values: vs)
            case .incrementalChecksum(let r, var a, var b): v(&a); v(&b); s = .incrementalChecksum(r, old: a, new: b)
            case .verify(var c, let err): v(&c); s = .verify(c, error: err)
            default: break
            }
        }
        for k in p.parser.states.indices {
            if case .select(var keys, let cases) = p.parser.states[k].transition {
                for i in keys.indices { v(&keys[i]) }
                p.parser.states[k].transition = .select(keys, cases)
            }
        }
        for k in p.tables.indices { for j in p.tables[k].keys.indices { v(&p.tables[k].keys[j].expr) } }
    }

    /// Every field reference: those in expressions and those statements write or check.
    static func fieldRefs(_ p: inout Program, _ f: (inout FieldRef) -> Void) {
        exprs(&p) { e in if case .field(var r) = e { f(&r); e = .field(r) } }
        stmts(&p) { s in
            switch s {
            case .assign(var r, let e): f(&r); s = .assign(r, e)
            case .registerRead(var d, let r, let i): f(&d); s = .registerRead(d, register: r, index: i)
            case .registerAction(let r, let i, let u, var res?, let rn): f(&res); s = .registerAction(r, index: i, update: u, result: res, returnsNew: rn)
            case .meter(let m, let i, var r): f(&r); s = .meter(m, index: i, result: r)
            case .updateChecksum(var r, let hs): f(&r); s = .updateChecksum(r, over: hs)
            case .verifyChecksum(var r, let hs): f(&r); s = .verifyChecksum(r, over: hs)
            case .incrementalChecksum(var r, let a, let b): f(&r); s = .incrementalChecksum(r, old: a, new: b)
            default: break
            }
        }
    }

    /// Runs `change` on one element chosen at random among those `walk` visits.
    func onRandom<T>(_ p: inout Program, _ walk: (inout Program, (inout T) -> Void) -> Void, _ change: @escaping (inout T) -> Void) {
        var n = 0
        walk(&p) { _ in n += 1 }
        guard n > 0 else { return }
        let k = int(n)
        var i = 0
        walk(&p) { x in
            if i == k { change(&x) }
            i += 1
        }
    }
    func onRandomStmtList(_ p: inout Program, _ change: @escaping (inout [Stmt]) -> Void) { onRandom(&p, Self.stmtLists, change) }
    func onRandomStmt(_ p: inout Program, _ change: @escaping (inout Stmt) -> Void) { onRandom(&p, Self.stmts, change) }
    func onRandomExpr(_ p: inout Program, _ change: @escaping (inout Expr) -> Void) { onRandom(&p, Self.exprs, change) }
    func onRandomFieldRef(_ p: inout Program, _ change: @escaping (inout FieldRef) -> Void) { onRandom(&p, Self.fieldRefs, change) }
}

/// The names a program declares, for mutations that pick an existing name.
struct Names {
    var headers: [String], headerTypes: [String], headerFields: [(String, String)], meta: [String]
    var tables: [String], actions: [String], states: [String], params: [String]
    var registers: [String], counters: [String], meters: [String], digests: [String], errors: [String]
    var all: [String]

    init(_ p: Program) {
        headers = p.headers.map(\.name)
        headerTypes = p.headerTypes.map(\.name)
        let types = Dictionary(p.headerTypes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        headerFields = p.headers.flatMap { h in (types[h.type]?.fields ?? []).map { (h.name, $0.name) } }
        meta = p.metadata.map(\.name)
        tables = p.tables.map(\.name)
        actions = p.actions.map(\.name)
        states = p.parser.states.map(\.name)
        params = p.actions.flatMap { $0.params.map(\.name) }
        registers = p.registers.map(\.name)
        counters = p.counters.map(\.name)
        meters = p.meters.map(\.name)
        digests = p.digests.map(\.name)
        errors = p.errors
        all = headers + headerTypes + headerFields.map(\.1) + meta + tables + actions + states + params
            + registers + counters + meters + digests + errors
    }
}

// MARK: - Hand-written programs with more constructs than the registry's

enum IRFuzzPrograms {
    /// Ethernet, an MPLS stack, IPv4 and UDP; selects on two keys and lookahead; lpm, ternary,
    /// range and optional tables with entries; every extern; egress; checksums.
    static func rich() -> Program {
        let eth = { (f: String) in Expr.field(.header("ethernet", field: f)) }
        let ip = { (f: String) in Expr.field(.header("ipv4", field: f)) }
        return Program(
            name: "rich",
            headerTypes: [
                HeaderType("ethernet_t", fields: [.init("dstAddr", 48), .init("srcAddr", 48), .init("etherType", 16)]),
                HeaderType("mpls_t", fields: [.init("label", 20), .init("tc", 3), .init("bos", 1), .init("ttl", 8)]),
                HeaderType("ipv4_t", fields: [
                    .init("version", 4), .init("ihl", 4), .init("diffserv", 8), .init("totalLen", 16),
                    .init("identification", 16), .init("flags", 3), .init("fragOffset", 13), .init("ttl", 8),
                    .init("protocol", 8), .init("hdrChecksum", 16), .init("srcAddr", 32), .init("dstAddr", 32),
                ]),
                HeaderType("udp_t", fields: [.init("srcPort", 16), .init("dstPort", 16), .init("len", 16), .init("checksum", 16, signed: true)]),
                HeaderType("wide_t", fields: [.init("blob", 128), .init("tag", 8)]),
            ],
            headers: [
                HeaderInstance("ethernet", type: "ethernet_t"),
                HeaderInstance("mpls", type: "mpls_t", stackSize: 3),
                HeaderInstance("ipv4", type: "ipv4_t"),
                HeaderInstance("udp", type: "udp_t"),
                HeaderInstance("wide", type: "wide_t"),
            ],
            metadata: [.init("flowHash", 16), .init("bytes", 32), .init("color", 2), .init("nhop", 32),
                       .init("delta", 8, signed: true), .init("big", 128)],
            parser: Parser(states: [
                ParserState("start", statements: [.extract("ethernet")], transition: .select(
                    [eth("etherType"), .lookahead(width: 8)],
                    [SelectCase([.value(0x0800), .mask(0x40, 0xF0)], next: "parse_ipv4"),
                     SelectCase([.value(0x8847), .any], next: "parse_mpls"),
                     SelectCase([.range(0x9000, 0x9001), .any], next: "parse_wide"),
                     SelectCase([.any, .any], next: "accept")])),
                ParserState("parse_mpls", statements: [.extract("mpls", index: .next)], transition: .select(
                    [.field(.header("mpls", field: "bos", index: .last))],
                    [SelectCase([.value(1)], next: "parse_ipv4"), SelectCase([.value(0)], next: "parse_mpls")])),
                ParserState("parse_ipv4", statements: [
                    .extract("ipv4"),
                    .verify(.binary(.eq, ip("version"), .int(4)), error: "BadVersion"),
                ], transition: .select([ip("protocol")], [SelectCase([.value(17)], next: "parse_udp"), SelectCase([.any], next: "accept")])),
                ParserState("parse_udp", statements: [.extract("udp")], transition: .accept),
                ParserState("parse_wide", statements: [.advance(16), .extract("wide"),
                                                       .assign(.meta("bytes"), .lookahead(width: 32))], transition: .accept),
            ]),
            actions: [
                Action("NoAction", body: []),
                Action("drop_packet", body: [.drop]),
                Action("forward", params: [.init("dstAddr", 48), .init("port", 9)], body: [
                    .assign(.header("ethernet", field: "srcAddr"), eth("dstAddr")),
                    .assign(.header("ethernet", field: "dstAddr"), .param("dstAddr")),
                    .assign(.standard(.egressSpec), .param("port")),
                    .assign(.header("ipv4", field: "ttl"), .binary(.sub, ip("ttl"), .int(1))),
                ]),
                Action("set_nhop", params: [.init("nhop", 32)], body: [
                    .assign(.meta("nhop"), .param("nhop")),
                    .registerWrite("flow_bytes", index: .cast(.param("nhop"), width: 16), value: .param("nhop")),
                ]),
                Action("mark", params: [.init("dscp", 6), .init("wide", 128)], body: [
                    .assign(.header("ipv4", field: "diffserv"), .concat(.param("dscp"), .bits(0, 2))),
                    .assign(.meta("big"), .param("wide")),
                    .count("port_packets", index: .bits(3, 9)),
                ]),
            ],
            tables: [
                Table("ipv4_lpm", keys: [TableKey(ip("dstAddr"), .lpm, name: "hdr.ipv4.dstAddr")],
                      actions: ["forward", "set_nhop", "drop_packet", "NoAction"], defaultAction: ActionCall("drop_packet"),
                      entries: [TableEntry([.lpm(0x0A00_0000, prefixLength: 8)], ActionCall("forward", [1, 1])),
                                TableEntry([.lpm(0x0B00_0000, prefixLength: 16)], ActionCall("set_nhop", [7]))],
                      size: 1024),
                Table("acl", keys: [
                    TableKey(ip("srcAddr"), .ternary, name: "src"),
                    TableKey(ip("protocol"), .range, name: "proto"),
                    TableKey(.isValid("mpls", index: .at(0)), .optional, name: "mpls"),
                    TableKey(.field(.meta("big")), .exact, name: "big"),
                ], actions: ["NoAction", "drop_packet", "mark"], defaultAction: ActionCall("NoAction"),
                      entries: [TableEntry([.ternary(0x0A00_0001, mask: 0xFFFF_FFFF), .range(6, 17), .optional(nil), .exact(0)], ActionCall("drop_packet"), priority: 1),
                                TableEntry([.ternary(0, mask: 0), .range(0, 255), .optional(1), .exact(0)], ActionCall("mark", [5, UInt128.max]), priority: 2)],
                      size: 16, directCounter: true),
                Table("udp_exact", keys: [TableKey(.field(.header("udp", field: "dstPort")), .exact, name: "port"),
                                          TableKey(.slice(eth("srcAddr"), hi: 47, lo: 40), .exact, name: "oui")],
                      actions: ["set_nhop", "NoAction"], defaultAction: ActionCall("set_nhop", [3]),
                      defaultIsConst: true, entries: [TableEntry([.exact(53), .exact(2)], ActionCall("NoAction"))], entriesAreConst: true, size: 4),
            ],
            registers: [Register("flow_bytes", width: 32, size: 65536), Register("wide_reg", width: 64, size: 4)],
            counters: [Counter("port_packets", size: 512)],
            meters: [Meter("port_meter", size: 512)],
            digests: [Digest("learn", fields: [.init("srcAddr", 48), .init("port", 9)])],
            ingress: [
                .verifyChecksum(.header("ipv4", field: "hdrChecksum"), over: ["ipv4"]),
                .count("port_packets", index: .field(.standard(.ingressPort))),
                .meter("port_meter", index: .field(.standard(.ingressPort)), result: .meta("color")),
                .ifElse(.binary(.eq, .field(.meta("color")), .int(2)), then: [.drop, .exit], else: []),
                .ifElse(.isValid("mpls", index: .at(0)), then: [.popFront("mpls", count: 1)], else: [.pushFront("mpls", count: 1), .setValid("mpls", index: .at(0))]),
                .assign(.meta("delta"), .mux(.signed(.lt, .field(.meta("delta")), .int(0)), .unary(.negate, .bits(1, 8)), .bits(3, 8))),
                .ifElse(.isValid("ipv4"), then: [
                    .assign(.meta("flowHash"), .hash(.crc16, [ip("srcAddr"), ip("dstAddr"), ip("protocol"), .bits(0, 8)], width: 16, base: 1, modulo: 1000)),
                    .registerAction("flow_bytes", index: .field(.meta("flowHash")),
                                    update: .binary(.add, .registerOld, .field(.standard(.packetLength))),
                                    result: .meta("bytes"), returnsNew: true),
                    .registerAction("wide_reg", index: .bits(1, 2), update: .binary(.shl, .registerOld, .bits(1, 64)), result: nil),
                    .apply("acl"),
                    .apply("ipv4_lpm", outcome: ApplyOutcome(
                        miss: [.digest("learn", values: [eth("srcAddr"), .field(.standard(.ingressPort))])],
                        actions: [ActionBranch("forward", [
                            .ifElse(.binary(.logicalAnd, .binary(.eq, ip("ttl"), .int(0)),
                                            .binary(.lt, .slice(.field(.meta("bytes")), hi: 15, lo: 0), .int(0xFFFF))),
                                    then: [.call("drop_packet", args: [])], else: []),
                        ])])),
                    .ifElse(.isValid("udp"), then: [
                        .apply("udp_exact", outcome: ApplyOutcome(hit: [.assign(.header("udp", field: "checksum"), .bits(0, 16))])),
                        .incrementalChecksum(.header("udp", field: "checksum"), old: ip("srcAddr"), new: .bits(0x0A00_0001, 32)),
                    ], else: []),
                ], else: [
                    .call("forward", args: [.bits(0xFFFF_FFFF_FFFF, 48), .int(511)]),
                    .ifElse(.binary(.eq, .field(.standard(.instanceType)), .int(0)), then: [.resubmit], else: []),
                ]),
                .ifElse(.isValid("wide"), then: [
                    .assign(.header("wide", field: "blob"), .concat(.bits(1, 64), .bits(2, 64))),
                    .assign(.header("wide", field: "tag"), .cast(.random(lo: 1, hi: 200, width: 8), width: 8)),
                ], else: []),
            ],
            egress: [
                .assign(.header("ipv4", field: "diffserv"), .concat(.slice(.field(.meta("flowHash")), hi: 5, lo: 0), .bits(0, 2))),
                .ifElse(.binary(.eq, .field(.standard(.passCount)), .int(0)), then: [.recirculate], else: []),
                .ifElse(.binary(.ne, .field(.standard(.egressPort)), .int(0x1FF)), then: [], else: [.drop]),
            ],
            deparser: Deparser(statements: [.updateChecksum(.header("ipv4", field: "hdrChecksum"), over: ["ipv4"])],
                               emit: ["ethernet", "mpls", "ipv4", "udp", "wide"]),
            onParserReject: .continue,
            errors: ["BadVersion"],
            doc: "Many constructs, for IR fuzzing."
        )
    }

    /// A stack-heavy parser loop with pushes and pops in an action, a single key-less table and
    /// no egress (shared with the XDP stack conformance tests).
    static func stacks() -> Program { Fixtures.stackTags(name: "stacks") }
}
