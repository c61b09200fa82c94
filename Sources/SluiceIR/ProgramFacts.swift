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
    }
}
