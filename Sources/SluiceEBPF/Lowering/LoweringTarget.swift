import SluiceIR

/// Where the lowered C runs, and so how its state outside the packet is reached: the XDP hook
/// (tables, externs and random numbers through BPF maps and helpers) or the host (a shared
/// object the software runtime loads: tables and externs through the runtime's own state).
/// Everything else (parser, expressions, statements, checksums, hashes) is lowered once for both.
enum LoweringTarget {
    case xdp
    /// `queues`: the host gives the traffic manager's values, so `optional` reads them.
    case host(queues: Bool)
}

/// `table.apply()` on a target: the lookup, the action the entry names, the branches after it.
protocol TableLowering {
    func apply(_ name: String, _ outcome: ApplyOutcome) throws(EBPFError)
}

/// Registers, counters, meters and digests on a target.
protocol ExternLowering {
    func registerRead(_ dest: FieldRef, _ r: String, _ idx: Expr) throws(EBPFError)
    func registerWrite(_ r: String, _ idx: Expr, _ value: Expr) throws(EBPFError)
    func registerAction(_ r: String, _ idx: Expr, _ update: Expr, _ result: FieldRef?, returnsNew: Bool) throws(EBPFError)
    func count(_ c: String, _ idx: Expr) throws(EBPFError)
    func digest(_ name: String, _ values: [Expr]) throws(EBPFError)
    func meter(_ m: String, _ idx: Expr, _ result: FieldRef) throws(EBPFError)
}

extension TableEmitter: TableLowering {}
extension ExternEmitter: ExternLowering {}
