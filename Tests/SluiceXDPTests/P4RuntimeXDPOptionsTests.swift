import Testing
import SluiceTesting

/// What `attach --p4runtime --backend xdp` cannot do is refused before anything is attached,
/// saying why (no root needed: validation comes first).
@Suite struct P4RuntimeXDPOptionsTests {
    @Test func cpuPortAndThreadedNAPIAreRefusedOnXDP() throws {
        let cpu = try ChildProcess.run(sluiceBinary, ["attach", "--backend", "xdp", "--p4runtime", "9559", "--cpu-port", "5", "--port", "1=lo"])
        #expect(cpu.status != 0)
        #expect(cpu.err.contains("Error: --cpu-port needs --backend pcap: XDP has no CPU port path, so PacketIn and PacketOut need the pcap backend"), "\(cpu.err)")
        let napi = try ChildProcess.run(sluiceBinary, ["attach", "--backend", "xdp", "--p4runtime", "9559", "--threaded-napi", "--port", "1=lo"])
        #expect(napi.status != 0)
        #expect(napi.err.contains("Error: --threaded-napi is not served with --p4runtime yet (the controller attaches the program after start)"), "\(napi.err)")
    }
}
