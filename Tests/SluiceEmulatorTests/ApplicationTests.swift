import Testing
@testable import SluiceEmulator

/// Applications sharing a host: each gets the timers it set and the acknowledgements of the
/// messages it sent, never another's (HULA's probe agent shares the first host of each leaf
/// with a workload; its 10 us timers once drove the workload's own timer handler too).
@Suite struct ApplicationTests {
    final class Recorder: Application {
        let name: String, timerAt: Int64, sendTag: UInt64
        var timers: [(token: Int, at: Int64)] = []
        var acks: [UInt64] = []
        var received: [UInt64] = []
        init(_ name: String, timerAt: Int64, sendTag: UInt64) { self.name = name; self.timerAt = timerAt; self.sendTag = sendTag }
        func start(_ host: HostAPI) { if timerAt > 0 { host.setTimer(after: timerAt, token: 0) } }
        func timer(_ token: Int, _ host: HostAPI) {
            timers.append((token, host.now))
            if let peer = host.host(named: "h2") { host.send(to: peer, bytes: 10_000, tag: sendTag) }
        }
        func acknowledged(tag: UInt64, _ host: HostAPI) { acks.append(tag) }
        func received(_ message: ReceivedMessage, _ host: HostAPI) { received.append(message.tag) }
    }

    @Test func timersAndAcknowledgementsGoToTheApplicationThatAskedForThem() throws {
        let spec = try TopologyFile.parse("""
            name: apps
            topology:
              generator: {leaf-spine: {spines: 1, leaves: 1, hosts-per-leaf: 2}}
              defaults:
                link: {rate: 100Gbps, delay: 1us}
                switch: {program: ecmp-router}
            """, file: "(apps)", baseDirectory: ".", programs: .builtIn)
        let emu = try Emulator(spec, programs: .builtIn)
        let a = Recorder("a", timerAt: 5_000_000, sendTag: 1), b = Recorder("b", timerAt: 7_000_000, sendTag: 2)
        let sink = Recorder("sink", timerAt: 0, sendTag: 0)
        try emu.attach(a, host: "h1")
        try emu.attach(b, host: "h1")
        try emu.attach(sink, host: "h2")
        _ = emu.run()
        #expect(a.timers.map(\.at) == [5_000_000] && a.timers.map(\.token) == [0])
        #expect(b.timers.map(\.at) == [7_000_000] && b.timers.map(\.token) == [0])
        #expect(a.acks == [1] && b.acks == [2])
        #expect(sink.timers.isEmpty && sink.acks.isEmpty)
        // A message has no port: every application on the receiving host gets it.
        #expect(sink.received == [1, 2])
        #expect(a.received.isEmpty && b.received.isEmpty)
    }
}
