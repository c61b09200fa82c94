import Foundation
import Testing
import SluiceControlPlane
import SluiceIR
import SluicePrograms
import SluiceP4Runtime
import SluiceP4RuntimeServer
import SluiceXDP

/// The P4Runtime device on the XDP switch: what XDP cannot do is refused by name, before any
/// program is loaded (no root needed); with root, a pipeline loads and its maps are the tables.
@Suite struct P4RuntimeXDPTests {
    /// A device on an XDP switch with no ports (nothing is attached) and no CPU port, with a
    /// primary controller.
    static func device() throws -> (P4RuntimeDevice, XDPSwitch) {
        let sw = try XDPSwitch(ports: [], mode: .generic)
        let d = P4RuntimeDevice(deviceID: 1, target: sw, resolver: ProgramRegistry.resolver)
        _ = try d.arbitrate(token: nil, P4R.arbitration(P4R.election)) { _ in }
        return (d, sw)
    }

    @Test func whatXDPCannotRunIsRefusedAtVerify() throws {
        let (d, _) = try Self.device()
        #expect(P4RuntimeDeviceTests.error { try d.setPipeline(try P4R.setPipeline("drill", action: .verify)) } == P4RuntimeError(.invalidArgument,
            "program 'drill' cannot run on this switch: program 'drill': standard.deqQdepth in egress: XDP sees no queue: queue depth and egress timestamps do not exist at the XDP hook"))
        try d.setPipeline(try P4R.setPipeline("ipv4-router", action: .verify))
    }

    @Test func packetOutAndDataplaneAtomicAreRefusedSayingWhy() throws {
        let (d, sw) = try Self.device()
        #expect(!sw.dataplaneAtomic)
        var out = P4_V1_PacketOut()
        out.payload = Data([1, 2, 3])
        #expect(P4RuntimeDeviceTests.error { try d.packetOut(out, cpuPort: 510) } == P4RuntimeError(.unimplemented,
            "PacketOut: this XDP switch was started without a CPU port, so nothing carries packets between its program and the controller"))
        var w = P4R.write([P4R.update(.insert, P4R.route(0x0A00_0200, 24, mac: 0x0B, port: 2))])
        w.atomicity = .dataplaneAtomic
        #expect(P4RuntimeDeviceTests.error { try d.write(w) } == P4RuntimeError(.unimplemented,
            "Write: atomicity DATAPLANE_ATOMIC is not supported: this switch runs packets while its tables change; use ROLLBACK_ON_ERROR (every update or none) or CONTINUE_ON_ERROR"))
    }

    /// Loading needs root (or CAP_BPF): a pipeline set twice starts with empty tables each time;
    /// a stopped switch takes none.
    @Test(.enabled(if: getuid() == 0, "needs root: loads BPF programs (CI runs as root)"))
    func aNewPipelineLoadsWithEmptyMaps() throws {
        let (d, sw) = try Self.device()
        try d.setPipeline(try P4R.setPipeline("ipv4-router"))
        var w = P4R.write([P4R.update(.insert, P4R.route(0x0A00_0200, 24, mac: 0x0B, port: 2))])
        w.atomicity = .rollbackOnError
        try d.write(w)
        #expect(try sw.withControlPlane { try $0.entries("ipv4_lpm").count } == 1)
        #expect(try d.read(P4R.readTable(P4R.ids("ipv4-router").id(.table, "ipv4_lpm")!)).count == 1)
        var out = P4_V1_PacketOut()
        out.payload = Data([1, 2, 3])
        #expect(P4RuntimeDeviceTests.error { try d.packetOut(out, cpuPort: 510) }?.code == .unimplemented)
        try d.setPipeline(try P4R.setPipeline("ipv4-router"))
        #expect(try sw.withControlPlane { try $0.entries("ipv4_lpm").count } == 0)
        // Once stopped (at exit) no pipeline is attached any more.
        sw.stop()
        #expect(P4RuntimeDeviceTests.error { try d.setPipeline(try P4R.setPipeline("ipv4-router")) } == P4RuntimeError(.internal,
            "installing program 'ipv4-router' failed: program 'ipv4-router' is not attached: the switch is stopping"))
    }
}
