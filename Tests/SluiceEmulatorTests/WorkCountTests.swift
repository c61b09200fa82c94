import Foundation
import Testing
import SluiceRuntime
import SluiceTesting
@testable import SluiceEmulator

/// `sluice bench emulator`'s scenario (Topologies/leafspine-16.yaml, run to completion), its
/// work pinned: events by kind, packet-hops, deliveries. The benchmark reports speed; this
/// says, on any machine and with nothing timed, when the same scenario starts doing more work.
/// When a count moves on purpose, the failure prints every count of the run: pin the new ones.
/// The scenario runs under both engines: the native one must do exactly the closures' work.
@Suite struct WorkCountTests {
    static let packageRoot: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    @Test(arguments: PipelineEngine.allCases)
    func benchEmulatorScenarioDoesItsPinnedWork(engine: PipelineEngine) throws {
        let spec = try TopologyFile.load(path: "\(Self.packageRoot)/Topologies/leafspine-16.yaml", programs: .builtIn)
        var options = EmulatorOptions()
        options.engine = engine
        let emu = try Emulator(spec, options: options, programs: .builtIn)
        #expect(emu.engineSummary.engine == engine.rawValue, "\(emu.engineSummary)")
        let stats = emu.run()
        let e = emu.eventCounts
        #expect(e.total == stats.events)
        // 16 flows of 10 MB in 4000-byte datagrams; ECMP puts some on one uplink, whose queue drops.
        #expect(emu.flows.reduce(0) { $0 + $1.packetsSent } == 16 * 2500)

        var pins = WorkPins("leafspine-16 (bench emulator's scenario, \(engine.rawValue) engine)")
        pins.check("events", e.total, pinned: 215_785)
        pins.check("transmitDone events", e.transmitDone, pinned: 24_569)
        pins.check("arrival events", e.arrival, pinned: 151_216)
        pins.check("udpSend events", e.udpSend, pinned: 40_000)
        pins.check("packet-hops", emu.packetHops, pinned: 151_216)
        pins.check("packets delivered", emu.packetsDelivered, pinned: 37_072)
        pins.check("simulated ps", UInt64(emu.now), pinned: 2_114_570_720)
        #expect(pins.failure == nil, "\(pins.failure ?? "")")
    }

    /// Every link's pcap of a shipped topology, byte for byte, and every result the same under
    /// the native engine as under the closures.
    @Test func bothEnginesWriteTheSamePcaps() throws {
        let spec = try TopologyFile.load(path: "\(Self.packageRoot)/Topologies/leafspine-small.yaml", programs: .builtIn)
        var outputs: [[String: Data]] = []
        var reports: [[UInt64]] = []
        for engine in PipelineEngine.allCases {
            let (files, emu, stats) = try Net.pcaps(spec, engine: engine)
            #expect(emu.engineSummary.engine == engine.rawValue, "\(emu.engineSummary)")
            outputs.append(files)
            reports.append([stats.events, emu.packetHops, emu.packetsDelivered, UInt64(emu.now)]
                           + emu.flows.map { UInt64($0.completed ?? -1) } + emu.switchStats.map(\.received))
        }
        #expect(outputs[0].count > 4 && outputs[0].values.allSatisfy { $0.count > 24 }, "\(outputs[0].keys.sorted())")
        #expect(outputs[0].keys.sorted() == outputs[1].keys.sorted())
        for (name, bytes) in outputs[0] { #expect(outputs[1][name] == bytes, "\(name) differs between the engines") }
        #expect(reports[0] == reports[1])
    }
}
