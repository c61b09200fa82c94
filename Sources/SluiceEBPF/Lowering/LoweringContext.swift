import SluiceIR

/// What the emitters of one program's C share: the program, where its parts live, the text
/// written so far and what is in scope where it is being written. Each emitter (parser,
/// statements, expressions, ...) is a view on this, so they call each other freely.
final class LoweringContext {
    let layout: EBPFLayout
    let target: LoweringTarget
    let program: Program
    let index: ProgramIndex
    let out = CBlockWriter(depth: 1)
    var scope = Scope()

    /// What a statement or expression refers to by name at the point being emitted.
    struct Scope {
        /// The label `exit` jumps to in the control being emitted.
        var exitLabel = "ingress_end"
        /// Prefix of the parser's labels: "" for ingress's parse, another for each parse again.
        var parserPrefix = ""
        /// The C that ends a packet the parser rejects when the program drops it.
        var parserDrop = "return sl_finish(SL_DROP_PARSER, 0);"
        /// Action parameters: name -> (C expression, width), and their declarations.
        var params: [String: (String, Int)] = [:]
        var paramDecls: [FieldDecl] = []
        /// The cell's value before the update, inside a register action.
        var registerOld: String?
    }

    init(_ layout: EBPFLayout, target: LoweringTarget = .xdp) {
        self.layout = layout
        self.target = target
        program = layout.program
        index = ProgramIndex(layout.program)
    }

    var parser: ParserEmitter { ParserEmitter(cx: self) }
    var statements: StatementEmitter { StatementEmitter(cx: self) }
    var expressions: ExpressionEmitter { ExpressionEmitter(cx: self) }
    var hashes: HashEmitter { HashEmitter(cx: self) }
    var fields: FieldEmitter { FieldEmitter(cx: self) }
    var elements: StackElements { StackElements(cx: self) }
    var checksums: ChecksumEmitter { ChecksumEmitter(cx: self) }
    var deparser: DeparserEmitter { DeparserEmitter(cx: self) }
    var tables: any TableLowering {
        switch target {
        case .xdp: TableEmitter(cx: self)
        case .host: HostTableEmitter(cx: self)
        }
    }
    var externs: any ExternLowering {
        switch target {
        case .xdp: ExternEmitter(cx: self)
        case .host: HostExternEmitter(cx: self)
        }
    }

    func fail(_ construct: String, _ reason: String) -> EBPFError {
        EBPFError(program: program.name, construct: construct, reason: reason)
    }

    /// The slot of a standard field in `s->std`.
    func std(_ f: StandardField) -> Int { EBPFLayout.standardSlot(f) }

    /// The C of the standard fields' slots (indexed by `std(_:)`) and of the user metadata's.
    /// On the host, `sl_std`, a `restrict` parameter of each stage's body (the runtime's calls
    /// back never touch the slots, nor does anything else the stage reaches), and `sl_meta`
    /// past it. Through `s->std` clang loaded a field again after every store into the packet
    /// or a header (a byte store may alias any memory) and kept none in a register; through
    /// `sl_std` it takes a field from its last store and folds the fields the stage never
    /// wrote (ipv4-router: `mcast_grp`, zero, and `drop` need no load at the end).
    var stdArray: String {
        switch target {
        case .xdp: "s->std"
        case .host: "sl_std"
        }
    }
    var metaArray: String {
        switch target {
        case .xdp: "s->meta"
        case .host: "sl_meta"
        }
    }

    /// Whether the stage being emitted has a `truncate` (its `sl_trunc` may be below the
    /// packet's length): reset by the host's stage emitter, set by the statement emitter.
    var truncates = false

    func errorCode(_ name: String) -> Int { index.errorCodes[name] ?? 0 }

    /// The C pointer to the bytes of a header (a stack's element `e`). On XDP, the state's copy
    /// (`s->hdr`, where extract copies the packet's bytes). On the host, `sl_h<slot>`, a local:
    /// the stage's zeroed `sl_hdr` bytes until extract points it at the header in the packet,
    /// whose fields are then read and written in place (`HostDeparserEmitter` copies nothing
    /// when the headers still lie where they were parsed).
    func headerBytes(_ slot: EBPFLayout.HeaderSlot, element e: Int) -> String {
        switch target {
        case .xdp: "&s->hdr[\(slot.offset(element: e))]"
        case .host: Self.hostHeader(valid: slot.valid + e)
        }
    }

    /// The C of validity slot `i`: the state's byte on XDP; on the host a local (`sl_v<i>`),
    /// whose address is never taken, so that clang keeps it in a register across the stores
    /// into the packet (a byte store may alias any memory, and made it load `s->valid` again).
    func valid(_ i: Int) -> String {
        switch target {
        case .xdp: "s->valid[\(i)]"
        case .host: "sl_v\(i)"
        }
    }

    /// The host's pointer to the header whose validity slot is `valid`.
    static func hostHeader(valid: Int) -> String { "sl_h\(valid)" }

    /// Whether extract points at the packet rather than copying it (the host).
    var headersInPlace: Bool { if case .host = target { true } else { false } }

    func headerSlot(_ h: String) throws(EBPFError) -> EBPFLayout.HeaderSlot {
        guard let s = layout.header(h) else { throw fail("header \(h)", "unknown header") }
        return s
    }
}
