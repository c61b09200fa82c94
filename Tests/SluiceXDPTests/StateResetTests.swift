import Testing
@testable import SluiceEBPF
import SluiceIR
import SluicePrograms

/// The per-packet reset clears only the standard-field slots the generated code names. A slot
/// it missed would carry a value from one packet to the next; the conformance corpora (packets
/// in sequence through one program) would catch that as a divergence, and these pin the scan.
@Suite struct StateResetTests {
    @Test func clearsExactlyTheSlotsTheCodeNames() {
        let lines = XDPProgramEmitter.clearState(mentioning: [
            "if (s->std[3]) return sl_finish(SL_DROP_INGRESS, 0);",
            "s->std[12] = 1; goto parser_reject; s->std[0] = in_port ? *in_port : 0;",
            "c->std[5] = 1; t->std[7] = 2; /* not the state */",
            "s->std[x] = 0; s->std[] = 0; s->std[9",
            "__builtin_memcpy(c->std, s->std, sizeof(c->std));",
        ], setAtEntry: [0])
        #expect(lines.count == 3)
        #expect(lines[0] == "__builtin_memset(s->hdr, 0, sizeof(s->hdr)); __builtin_memset(s->valid, 0, sizeof(s->valid)); __builtin_memset(s->meta, 0, sizeof(s->meta));")
        #expect(lines[2] == "s->std[3] = 0; /* drop */ s->std[12] = 0; /* parserError */")
    }

    @Test func routerClearsWhatItReadsAndNotWhatEntrySets() throws {
        let c = try EBPFBackend.emitC(try #require(ProgramRegistry.named("ipv4-router")).build().verified())
        #expect(c.contains("s->std[1] = 0; /* egressSpec */ s->std[3] = 0; /* drop */ s->std[12] = 0; /* parserError */ s->std[13] = 0; /* checksumError */\n"))
        #expect(!c.contains("__builtin_memset(s, 0, sizeof(*s))"))
    }

    @Test func multicastCopyEgressSlotsAreClearedAtIngress() throws {
        // The ingress state's standard fields go whole to each copy, whose egress reads
        // egressRid and instanceType: the ingress reset must clear what the copy reads too.
        let c = try EBPFBackend.emitC(try #require(ProgramRegistry.named("switchml")).build().verified())
        let reset = try #require(c.split(separator: "\n").first { $0.contains("/* egressSpec */") })
        for name in ["egressSpec", "egressPort", "drop", "mcastGrp", "egressRid", "instanceType"] {
            #expect(reset.contains("/* \(name) */"), "\(name) not cleared")
        }
    }
}
