import Testing
import SluiceTesting
@testable import SluiceEmulator

/// `sluice bench emulator`'s scenario (Topologies/leafspine-16.yaml, run to completion), its
/// work pinned: events by kind, packet-hops, deliveries. The benchmark reports speed; this
/// says, on any machine and with nothing timed, when the same scenario starts doing more work.
/// When a count moves on purpose, the failure prints every count of the run: pin the new ones.
@Suite struct WorkCountTests {
    static let packageRoot: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    @Test func benchEmulatorScenarioDoesItsPinnedWork() throws {
        let spec = try TopologyFile.load(path: "\(Self.packageRoot)/Topologies/leafspine-16.yaml", programs: .builtIn)
        let emu = try Emulator(spec, programs: .builtIn)
        let stats = emu.run()
        let e = emu.eventCounts
        #expect(e.total == stats.events)
        // 16 flows of 10 MB in 4000-byte datagrams; ECMP puts some on one uplink, whose queue drops.
        #expect(emu.flows.reduce(0) { $0 + $1.packetsSent } == 16 * 2500)

        var pins = WorkPins("leafspine-16 (bench emulator's scenario)")
        pins.check("events", e.total, pinned: 215_785)
        pins.check("transmitDone events", e.transmitDone, pinned: 24_569)
        pins.check("arrival events", e.arrival, pinned: 151_216)
        pins.check("udpSend events", e.udpSend, pinned: 40_000)
        pins.check("packet-hops", emu.packetHops, pinned: 151_216)
        pins.check("packets delivered", emu.packetsDelivered, pinned: 37_072)
        pins.check("simulated ps", UInt64(emu.now), pinned: 2_114_570_720)
        #expect(pins.failure == nil, "\(pins.failure ?? "")")
    }
}
