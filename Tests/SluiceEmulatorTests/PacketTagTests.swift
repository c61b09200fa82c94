import Testing
@testable import SluiceEmulator

/// The pool's per-packet tag packs the ingress port, the replica flag and the replica id in
/// one word; each accessor reads back what was put in, and the steps keep the port.
@Suite struct PacketTagTests {
    @Test func fieldsReadBackWhatWasPacked() {
        let arrived = PacketTag.arrived(port: 511)
        #expect(arrived.ingressPort == 511)
        #expect(!arrived.isReplica)
        #expect(arrived.rid == 0)

        let copy = arrived.replica(rid: 0xBEEF)
        #expect(copy.ingressPort == 511)
        #expect(copy.isReplica)
        #expect(copy.rid == 0xBEEF)
        #expect(copy.raw == 511 << 20 | 0x1_0000 | 0xBEEF)

        // A copy made from a copy replaces the id; unicast drops both.
        #expect(copy.replica(rid: 2).rid == 2)
        #expect(copy.unicast.raw == arrived.raw)
        #expect(PacketTag.none.raw == 0)
        #expect(MemoryLayout<PacketTag>.size == 4)
    }
}
