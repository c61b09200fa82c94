import SluiceIR

/// IR to eBPF C for the XDP hook: one function per program, readable, each block commented
/// with the program element it comes from.
///
/// The packet's headers live in wire format in a per-CPU scratch map (`sluice_state`: too big
/// for the 512-byte stack), as the software runtime keeps them, so fields are read and written
/// with the same big-endian bit arithmetic, checksums run over the same bytes and the deparser
/// copies whole headers back. Metadata and standard fields are 64-bit slots.
///
/// Verdicts: drop is `XDP_DROP`; a packet sent back out of its ingress port is `XDP_TX`; any
/// other port is `bpf_redirect_map` through the `sluice_tx` DEVMAP (Sluice port -> interface).
/// Every packet's outcome is also written to the per-CPU `sluice_out` map (verdict, port), which
/// tests read after `BPF_PROG_TEST_RUN`.
///
/// The emitters: `Lowering/` turns the program's parts into C on the state (the parser, statements,
/// expressions, fields, stack elements, checksums, hashes, the deparser); `XDP/` wraps them for
/// the hook (the maps, table lookups, externs, multicast, the pipeline function and entry points).
public enum EBPFBackend {
    /// The whole C source for `program`.
    public static func emitC(_ program: VerifiedProgram) throws(EBPFError) -> String {
        try XDPProgramEmitter(try EBPFLayout(program)).emit()
    }
}

/// Verdict codes in `sluice_out`.
public enum EBPFVerdict: UInt32, Sendable {
    case dropParser = 1, dropIngress = 2, forward = 3, aborted = 4, tooLarge = 5, dropEgress = 6, emptyGroup = 7, multicast = 8
}
