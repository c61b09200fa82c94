/// What more than one backend asks about a program, computed once when it is verified (see
/// `VerifiedProgram`) rather than by a scan of its own in each.
public struct ProgramFacts: Hashable, Sendable {
    /// Standard fields the program reads anywhere: in expressions (also inside `optional`),
    /// table keys, parser select keys and checksums it verifies.
    public let standardReads: Set<StandardField>
    /// Standard fields the program's statements write: by assignment, register read or result,
    /// meter color or checksum (not those a statement sets as its effect, such as `drop`).
    public let standardWrites: Set<StandardField>
    /// The program sets `standard.mcastGrp`: it sends packets to multicast groups.
    public let usesMulticast: Bool
    /// The program reads `standard.ingressTimestamp` or has a meter (meters measure rates on it):
    /// the target must give each packet its arrival time.
    public let usesTimestamps: Bool
    /// The program reads a traffic-manager value (queue depths, enqueue and dequeue times)
    /// outside `optional`: only a target with queues can run it.
    public let readsQueueValues: Bool
    /// Every packet leaves the deparser as its parsed bytes, edited in place: the headers valid
    /// there are exactly those the parser extracted, in emit order, one after another from the
    /// packet's first byte. True when no statement changes validity (setValid, setInvalid, push,
    /// pop), there are no stacks and no `advance`/`skip`, every extract is a parser state's
    /// top-level statement, and on every path through the parser the extracted headers follow
    /// the deparser's emit order (a loop in the parser counts as not). Targets then skip the
    /// check for headers that moved.
    public let deparsesInPlace: Bool
    /// The program has a `recirculate` statement: a target must be ready to send a packet
    /// through its pipeline again, and to carry the request from where it is made.
    public let recirculates: Bool

    init(_ p: Program) {
        var reads: Set<StandardField> = [], writes: Set<StandardField> = []
        Walk.fieldRefs(p) { r, _, use in
            guard case .standard(let f) = r else { return }
            if use == .write { writes.insert(f) } else { reads.insert(f) }
        }
        var queueValues = false
        Walk.topExpressions(p) { e, _, _ in queueValues = queueValues || e.readsQueueValues(inOptional: false) }
        standardReads = reads
        standardWrites = writes
        usesMulticast = writes.contains(.mcastGrp)
        usesTimestamps = reads.contains(.ingressTimestamp) || !p.meters.isEmpty
        readsQueueValues = queueValues
        deparsesInPlace = Self.deparsesInPlace(p)
        var recirculate = false
        Walk.statements(p) { s, _ in if case .recirculate = s { recirculate = true } }
        recirculates = recirculate
    }

    static func deparsesInPlace(_ p: Program) -> Bool {
        guard !p.headers.contains(where: \.isStack), Set(p.deparser.emit).count == p.deparser.emit.count else { return false }
        var changesHeaders = false
        Walk.statements(p) { s, _ in
            switch s {
            case .setValid, .setInvalid, .pushFront, .popFront, .advance, .skip: changesHeaders = true
            default: break
            }
        }
        guard !changesHeaders else { return false }
        let emitAt = Dictionary(p.deparser.emit.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        // Per state: the emit positions of its extracts, in order, or nil when one is nested
        // or not emitted.
        var extracts: [String: [Int]] = [:]
        for st in p.parser.states {
            var at: [Int] = []
            for s in st.statements {
                if case .extract(let h, _) = s {
                    guard let i = emitAt[h] else { return false }
                    at.append(i)
                } else {
                    var nested = false
                    func look(_ ss: [Stmt]) { for c in ss { if case .extract = c { nested = true }; look(Walk.children(of: c)) } }
                    look(Walk.children(of: s))
                    if nested { return false }
                }
            }
            extracts[st.name] = at
        }
        let byName = Dictionary(p.parser.states.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var done: Set<[Int]> = []
        var onPath: Set<String> = []
        let index = Dictionary(p.parser.states.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        // Depth first over (state, last emit position): false on a loop or an extract out of order.
        func walk(_ name: String, after last: Int) -> Bool {
            guard let st = byName[name], let i = index[name] else { return true }  // accept, reject
            guard !onPath.contains(name) else { return false }
            guard done.insert([i, last]).inserted else { return true }
            var last = last
            for at in extracts[name] ?? [] {
                guard at > last else { return false }
                last = at
            }
            onPath.insert(name); defer { onPath.remove(name) }
            switch st.transition {
            case .accept, .reject: return true
            case .goto(let n): return walk(n, after: last)
            case .select(_, let cases): return cases.allSatisfy { walk($0.next, after: last) }
            }
        }
        guard let start = p.parser.states.first else { return true }
        return walk(start.name, after: -1)
    }
}
