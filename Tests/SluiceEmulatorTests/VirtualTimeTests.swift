import Testing
@testable import SluiceEmulator

/// Virtual time saturates at `Int64.max` ("never") instead of trapping: an event whose time
/// would overflow is never processed and the run ends.
@Suite struct VirtualTimeSaturationTests {
    /// Sets a timer `delay` after the start; when it fires, sends a message to h2 and sets
    /// another timer as far ahead again.
    final class LateSender: Application {
        let delay: Int64
        var fired: [Int64] = []
        var acknowledged = 0
        init(delay: Int64) { self.delay = delay }
        func start(_ host: HostAPI) { host.setTimer(after: delay, token: 0) }
        func timer(_ token: Int, _ host: HostAPI) {
            fired.append(host.now)
            host.send(to: host.host(named: "h2")!, bytes: 10_000, tag: 1)
            host.setTimer(after: delay, token: 0)
        }
        func acknowledged(tag: UInt64, _ host: HostAPI) { acknowledged += 1 }
        func received(_ message: ReceivedMessage, _ host: HostAPI) {}
    }

    static func twoHosts() throws -> TopologySpec {
        try TopologyFile.parse("""
            name: late
            topology:
              generator: {leaf-spine: {spines: 1, leaves: 1, hosts-per-leaf: 2}}
              defaults:
                switch: {program: ecmp-router}
            """, file: "late.yaml", baseDirectory: ".", programs: .builtIn)
    }

    /// A timer a whisker before the end of time sends a message: its transmission, arrival
    /// and retransmission timer all land beyond `Int64.max` and saturate; the run ends there.
    @Test func sendingNearTheEndOfTimeEndsTheRunInsteadOfTrapping() throws {
        let emu = try Emulator(try Self.twoHosts(), programs: .builtIn)
        let app = LateSender(delay: Int64.max - 1_000)
        try emu.attach(app, host: "h1")
        let stats = emu.run()
        #expect(app.fired == [Int64.max - 1_000])
        #expect(app.acknowledged == 0)
        #expect(stats.simulated == Int64.max - 1_000)
    }

    @Test func aTimerBeyondTheEndOfTimeNeverFires() throws {
        let emu = try Emulator(try Self.twoHosts(), programs: .builtIn)
        let app = LateSender(delay: Int64.max / 2)
        try emu.attach(app, host: "h1")
        emu.run()
        // Max / 2 fires; 2 * (max / 2) = max - 1 fires; the third saturates to never.
        #expect(app.fired == [Int64.max / 2, Int64.max - 1])
    }

    @Test func afterSaturates() {
        #expect(VirtualTime.after(5, 7) == 12)
        #expect(VirtualTime.after(5, -7) == 5)
        #expect(VirtualTime.after(Int64.max - 1, 1) == Int64.max - 1 + 1)
        #expect(VirtualTime.after(Int64.max - 1, 2) == VirtualTime.never)
        #expect(VirtualTime.after(1, Int64.max) == VirtualTime.never)
    }
}
