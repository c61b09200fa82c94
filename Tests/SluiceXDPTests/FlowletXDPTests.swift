import Testing
import SluiceEBPF
import SluiceIR
import SluicePrograms
import SluiceXDP

/// `flowlet` at XDP: it compiles to eBPF C (no `random`, no queue state) and the kernel's
/// verifier accepts the object. Differential conformance needs the runtime and the kernel on
/// the same clock (the XDP backend reads `bpf_ktime_get_ns`), so it is not in `subjects` yet.
@Suite struct FlowletXDPTests {
    @Test func compilesToEBPFC() throws {
        let c = try EBPFBackend.emitC(try Flowlet.program().verified())
        #expect(c.contains("SEC(\"xdp\")"))
        #expect(c.contains("/* table flowlet_config"), "the timeout's table is there")
    }

    @Test(.enabled(if: isRoot, "needs root: loads the eBPF program into the kernel (CI runs as root)"))
    func theKernelVerifierAcceptsIt() throws {
        let xdp = try XDPProgram(try Flowlet.program().verified())
        #expect(xdp.programFD > 0)
    }
}
