import SluiceIR

/// The body of `sl_pipeline`: the parser, ingress, the deparser, the multicast branch, then
/// egress on the deparsed packet, and the verdict. Drops end the function with the outcome
/// recorded (`sl_finish`); a forward redirects (`sl_forward`).
struct PipelineEmitter {
    let cx: LoweringContext
    var out: CBlockWriter { cx.out }
    var program: Program { cx.program }

    /// The lines of the body, each indented one level.
    func emit(multicast: Bool) throws(EBPFError) -> [String] {
        try cx.parser.emit()
        out.line("")
        out.line("/* ---- ingress ---- */")
        cx.scope.exitLabel = "ingress_end"
        try cx.statements.block(program.ingress)
        out.line("ingress_end: ;")
        out.line("")
        out.line("/* ---- deparser ---- */")
        cx.scope.exitLabel = "deparser_end"
        try cx.statements.block(program.deparser.statements)
        out.line("deparser_end: ;")
        out.line("if (s->std[\(cx.std(.drop))]) return sl_finish(SL_DROP_INGRESS, 0);")
        try cx.deparser.emit()
        if multicast { MulticastEmitter(cx: cx).branch() }
        if let egress = program.egress {
            // As the runtime: the deparsed bytes are parsed again; metadata and standard fields
            // carry over, headers do not.
            out.line("")
            out.line("/* ---- egress (unicast: the copy leaves by standard.egressSpec) ---- */")
            out.line("__builtin_memset(s->hdr, 0, sizeof(s->hdr)); __builtin_memset(s->valid, 0, sizeof(s->valid));")
            out.line("s->std[\(cx.std(.egressPort))] = s->std[\(cx.std(.egressSpec))] & 0x1FF;")
            out.line("s->std[\(cx.std(.egressRid))] = 0;")
            out.line("s->std[\(cx.std(.packetLength))] = (__u64)(data_end - data);")
            out.line("s->std[\(cx.std(.drop))] = 0; s->std[\(cx.std(.parserError))] = 0;")
            out.line("cur = 0;")
            cx.parser.resetLocals()
            try egressStage(egress, prefix: "e_", dropPort: "0")
            out.line("return sl_forward(ctx, s->std[\(cx.std(.egressPort))] & 0x1FF, s->std[\(cx.std(.ingressPort))], on_cpu);")
        } else {
            out.line("return sl_forward(ctx, s->std[\(cx.std(.egressSpec))] & 0x1FF, s->std[\(cx.std(.ingressPort))], on_cpu);")
        }
        return out.take()
    }

    /// Egress on the packet as the deparser left it: parse again (labels prefixed `prefix`),
    /// the egress control, the deparser's statements, drop or deparse.
    func egressStage(_ egress: [Stmt], prefix: String, dropPort: String) throws(EBPFError) {
        cx.scope.parserPrefix = prefix
        cx.scope.parserDrop = "return sl_finish(SL_DROP_EGRESS, 0);"
        out.line("sl_trunc = 0xFFFFFFFF;")
        try cx.parser.emit()
        cx.scope.exitLabel = prefix + "egress_end"
        try cx.statements.block(egress)
        out.line("\(prefix)egress_end: ;")
        cx.scope.exitLabel = prefix + "deparser_end"
        try cx.statements.block(program.deparser.statements)
        out.line("\(prefix)deparser_end: ;")
        out.line("if (s->std[\(cx.std(.drop))]) return sl_finish(SL_DROP_EGRESS, \(dropPort));")
        try cx.deparser.emit()
    }
}
