import SluiceControlPlane
import Testing
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceXDP

/// One entries file, one error on either backend: the XDP control plane words a bad entry as
/// the runtime does (parameter widths, the bad value).
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct EntriesMessagesXDPTests {
    func errors(_ text: String) throws -> (runtime: String, xdp: String) {
        let ir = try IPv4Router.program().verified()
        let file = EntriesFile(file: "bad.txt", text: text)
        var runtime = "", xdp = ""
        let pipeline = try Pipeline(ir), cp = try XDPControlPlane(try XDPProgram(ir))
        do { try file.apply(to: pipeline) } catch { runtime = error.description }
        do { try file.apply(to: cp) } catch { xdp = error.description }
        return (runtime, xdp)
    }

    @Test(arguments: [
        ("table_add ipv4_lpm ipv4_forward 10.0.2.0/24 => 00:00:00:00:00:01 999",
         "bad.txt:1: argument port = 0x3e7 of action 'ipv4_forward' does not fit in 9 bits"),
        ("table_add ipv4_lpm ipv4_forward 10.0.2.0/24 => 1",
         "bad.txt:1: action 'ipv4_forward' takes 2 arguments (dstAddr: 48 bits, port: 9 bits), got 1"),
        ("table_add ipv4_lpm ipv4_forward 10.0.2.0/24 => 0x1000000000000 1",
         "bad.txt:1: argument dstAddr = 0x1000000000000 of action 'ipv4_forward' does not fit in 48 bits"),
    ])
    func xdpErrorsMatchTheRuntime(_ line: String, _ expected: String) throws {
        let (runtime, xdp) = try errors(line)
        #expect(runtime == expected)
        #expect(xdp == expected)
    }
}
