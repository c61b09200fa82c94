import Testing
import SluiceTesting

/// What `attach --p4runtime --backend xdp` cannot do is refused before anything is attached,
/// saying why (no root needed: validation comes first).
@Suite struct P4RuntimeXDPOptionsTests {
    @Test func aCPUPortOnAnInterfaceAndThreadedNAPIAreRefusedOnXDP() throws {
        let cpu = try ChildProcess.run(sluiceBinary, ["attach", "--backend", "xdp", "--p4runtime", "9559", "--cpu-port", "1", "--port", "1=lo"])
        #expect(cpu.status != 0)
        #expect(cpu.err.contains("Error: --cpu-port 1 is also a --port; give the CPU port a number no interface has"), "\(cpu.err)")
        let napi = try ChildProcess.run(sluiceBinary, ["attach", "--backend", "xdp", "--p4runtime", "9559", "--threaded-napi", "--port", "1=lo"])
        #expect(napi.status != 0)
        #expect(napi.err.contains("Error: --threaded-napi is not served with --p4runtime yet (the controller attaches the program after start)"), "\(napi.err)")
    }
}
