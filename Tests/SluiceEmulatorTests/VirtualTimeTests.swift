import Testing
import SluiceRuntime
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
        #expect(VirtualTime.after(Int64.max - 1, 2) == VirtualTime.never.picoseconds)
        #expect(VirtualTime.after(1, Int64.max) == VirtualTime.never.picoseconds)
        #expect(VirtualTime(picoseconds: 3).after(.never) == .never)
    }

    /// A zero-cost wrapper: events and links hold it by value, 8 bytes like the `Int64` it wraps.
    @Test func isOneWord() {
        #expect(MemoryLayout<VirtualTime>.size == 8)
        #expect(MemoryLayout<VirtualTime>.stride == 8)
    }

    @Test func namedConversions() {
        #expect(VirtualTime.nanoseconds(3).picoseconds == 3_000)
        #expect(VirtualTime.microseconds(2).picoseconds == 2_000_000)
        #expect(VirtualTime.seconds(1).picoseconds == 1_000_000_000_000)
        // Toward zero, as the programs' nanosecond timestamps were always taken.
        #expect(VirtualTime(picoseconds: 1_999).nanoseconds == 1)
        #expect(VirtualTime(picoseconds: -1_999).nanoseconds == -1)
        #expect(VirtualTime(picoseconds: 1_500_000_000_000).seconds == 1.5)
    }

    /// Serialization rounds up to the next picosecond; `transmission` agrees with it on frames
    /// and works past the 64-bit range `serialization` is limited to.
    @Test func serializationAtARate() {
        // 1500 bytes at 100 Gb/s: 120 ns exactly; at 3 bps the 12,000 bits need 4000 s.
        #expect(VirtualTime.serialization(bytes: 1500, rate: 100_000_000_000) == .nanoseconds(120))
        #expect(VirtualTime.serialization(bytes: 1, rate: 3) == VirtualTime(picoseconds: 2_666_666_666_667))
        #expect(VirtualTime.transmission(bits: 8, rate: 3) == VirtualTime.serialization(bytes: 1, rate: 3))
        // 10 GB at 1 Gb/s: 80 s; bits * 10^12 is far beyond 64 bits.
        #expect(VirtualTime.transmission(bits: 80_000_000_000, rate: 1_000_000_000) == .seconds(80))
        #expect(VirtualTime.transmission(bits: .max, rate: 1) == .never)
        // What a 100 Gb/s link sends in 1 us: 12,500 bytes; in 1 ps, nothing whole.
        #expect(VirtualTime.microseconds(1).bytes(atRate: 100_000_000_000) == 12_500)
        #expect(VirtualTime(picoseconds: 1).bytes(atRate: 100_000_000_000) == 0)
    }
}

/// A UDP flow's send times come from a quotient and remainder carried datagram by datagram
/// (`UDPFlowState.advance`): exactly the full-width division from the start each time, up to
/// and past the saturation at `never`.
@Suite struct UDPFlowScheduleTests {
    @Test(arguments: [UInt64(1), 3, 1_000_000_007, 45_000_000_000, 100_000_000_000, 400_000_000_000, UInt64.max])
    func advanceIsTheDivisionFromTheStart(_ rate: UInt64) {
        var rng = SplitMix64(seed: rate)
        var f = UDPFlowState(flow: 0, src: 0, dst: 1, rate: rate, payload: 4000, total: 1 << 40, start: .zero, srcPort: 1, dstPort: 2)
        var sentBits: UInt64 = 0
        for i in 0..<20_000 {
            // Mostly one length, now and then another (a flow's last datagram, a second flow's).
            let bytes: UInt64 = i % 97 == 96 ? 28 + rng.next() % 9000 : (rate & 1 == 0 ? 4028 : 1028)
            sentBits += bytes * 8
            let got = f.advance(ipBytes: bytes)
            #expect(got == .transmission(bits: sentBits, rate: rate), "rate \(rate) bps, datagram \(i) of \(bytes) IP bytes")
            if got == .never { break }
        }
    }

    /// At 1 bit/s a 60,000-byte datagram takes 480,000 s: the 20th passes `never` (about 107
    /// days), and the schedule stays there.
    @Test func advanceSaturatesAndStays() {
        var f = UDPFlowState(flow: 0, src: 0, dst: 1, rate: 1, payload: 60000, total: 1 << 60, start: .zero, srcPort: 1, dstPort: 2)
        let bytes: UInt64 = 60_000
        var bits: UInt64 = 0, n = 0
        while true {
            bits += bytes * 8
            n += 1
            let got = f.advance(ipBytes: bytes)
            #expect(got == .transmission(bits: bits, rate: 1))
            if got == .never { break }
        }
        #expect(n == Int(UInt64(Int64.max) / (bytes * 8 * 1_000_000_000_000)) + 1)
        #expect(f.advance(ipBytes: 28) == .never)
    }
}
