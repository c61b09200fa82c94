import Foundation
import Testing
import Sluice
import SluiceIR
import SluicePrograms
import SluiceTesting
import SluiceP4Runtime
import SluiceP4RuntimeServer

/// PacketIn and PacketOut through the CPU port with controller headers: a program that punts
/// every packet to the controller with its ingress port in `packet_in`, and sends a controller's
/// packet-out to the port its `packet_out` names.
@Suite struct P4RuntimePacketIOTests {
    static let cpuPort: UInt16 = 510

    static let punt = ControllerPacketFixtures.punt(cpuPort: cpuPort)

    @Test func p4InfoListsTheControllerHeaders() throws {
        let info = try P4InfoBuilder.p4Info(try Self.punt.verified().program)
        #expect(info.controllerPacketMetadata.map(\.preamble.name) == ["packet_in", "packet_out"])
        #expect(info.controllerPacketMetadata.allSatisfy { $0.preamble.id >> 24 == 0x40 })
        #expect(info.controllerPacketMetadata[0].metadata.map { "\($0.id) \($0.name) \($0.bitwidth)" } == ["1 ingress_port 9", "2 reason 7"])
        #expect(info.controllerPacketMetadata[1].metadata.map { "\($0.id) \($0.name) \($0.bitwidth)" } == ["1 egress_port 9", "2 pad 7"])
    }

    @Test func packetInAndPacketOutCarryTheirMetadata() throws {
        let sw = PipelineSwitch(cpuPort: Self.cpuPort)
        let device = P4RuntimeDevice(deviceID: 1, target: sw, resolver: ProgramRegistry.resolver)
        final class Inbox: @unchecked Sendable { var packets: [P4_V1_PacketIn] = [] }
        let inbox = Inbox()
        _ = try device.arbitrate(token: nil, P4R.arbitration(P4R.election)) { m in if case .packet(let p)? = m.update { inbox.packets.append(p) } }
        sw.packetIn = { device.packetIn($0) }
        let program = try Self.punt.verified()
        var set = try P4R.setPipeline("ipv4-router")
        set.config.p4Info = try P4InfoBuilder.p4Info(program.program)
        set.config.p4DeviceConfig = try ProgramFile.encode(program, writtenBy: "test")
        try device.setPipeline(set)

        // In on port 7: the controller gets ingress_port 7, reason 5 and the frame untouched.
        let frame = Packet.ethernet(dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01", etherType: 0x88B5).payload(count: 40).bytes
        #expect(sw.send(frame, port: 7)?.isEmpty == true)
        #expect(inbox.packets.count == 1)
        #expect(inbox.packets.first?.metadata.map { "\($0.metadataID)=\($0.value.map { String($0) }.joined(separator: "."))" } == ["1=7", "2=5"])
        #expect(inbox.packets.first.map { Array($0.payload) } == frame)

        // A packet-out to port 3: it leaves on port 3 without the packet_out header.
        var out = P4_V1_PacketOut()
        out.payload = Data(frame)
        var m = P4_V1_PacketMetadata(); m.metadataID = 1; m.value = Data([3]); out.metadata = [m]
        let bytes = try #require(try? device.packetOutBytes(out))
        #expect(bytes == [0x01, 0x80] + frame)
        let forwarded = try #require(sw.send(bytes, port: Self.cpuPort))
        #expect(forwarded.map(\.port) == [3])
        #expect(forwarded.first?.bytes == frame)

        var bad = out; bad.metadata[0].metadataID = 9
        #expect(throws: P4RuntimeError.self) { try device.packetOut(bad, cpuPort: Self.cpuPort) }
        var wide = out; wide.metadata[0].value = Data([2, 0])
        #expect(throws: P4RuntimeError(.invalidArgument, "PacketOut metadata 'egress_port' (id 1, 9 bits): value 0x0200 has 10 bits; the field is 9 bits wide")) {
            try device.packetOut(wide, cpuPort: Self.cpuPort)
        }
    }
}
