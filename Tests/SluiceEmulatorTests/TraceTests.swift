import Foundation
import Testing
import SluiceRuntime
import SluicePcapFiles
import SluiceTesting
@testable import SluiceEmulator

/// Captured frames injected into a topology (`sluice replay --topology`): they enter at the
/// given node and port with their original spacing (or scaled), and the network treats them
/// like its own traffic.
@Suite struct TraceTests {
    /// h1 -- s1 (ipv4-router) -- h2, 10 Gb/s, 1 us links, every link captured.
    func network(_ dir: URL) throws -> Emulator {
        let spec = TopologySpec(name: "line", nodes: [Net.host("h1", 1), Net.router("s1", mac: 0x0200_0000_00A1), Net.host("h2", 2)], links: [
            LinkSpec(a: Endpoint(node: 0, port: 0), b: Endpoint(node: 1, port: 1), rate: 10_000_000_000, delay: 1_000_000),
            LinkSpec(a: Endpoint(node: 1, port: 2), b: Endpoint(node: 2, port: 0), rate: 10_000_000_000, delay: 1_000_000),
        ])
        var o = EmulatorOptions()
        o.pcapDirectory = dir.path
        let emu = try Emulator(spec, options: o, programs: .builtIn)
        try Net.route(emu, "s1", to: 2, mac: 0x0200_0000_0002, port: 2)
        return emu
    }

    func frame(ttl: UInt8, payload: Int) -> [UInt8] {
        Packet.ethernet(dst: "02:00:00:00:00:a1", src: "02:00:00:00:00:01")
            .ipv4(src: "10.0.0.1", dst: "10.0.0.2", ttl: ttl)
            .udp(sport: 5000, dport: 6000)
            .payload(Array(repeating: 0x5A, count: payload))
            .bytes
    }

    func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-trace-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test(arguments: [1.0, 2.0, 0.5])
    func framesEnterASwitchPortWithTheirSpacingScaled(speed: Double) throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let emu = try network(dir)
        // Capture stamps (ns since the epoch): 0, +10 us, +25 us. The second frame's TTL of 1
        // is dropped by the router's parser rules; a 12,042-byte frame is larger than any link allows.
        let t0: Int64 = 1_700_000_000_000_000_000
        var trace = InjectedTrace(node: "s1", port: 1)
        let frames = [frame(ttl: 64, payload: 100), frame(ttl: 1, payload: 100), frame(ttl: 9, payload: 1000), frame(ttl: 9, payload: 12_000)]
        for (f, dt) in zip(frames, [Int64(0), 10_000, 25_000, 30_000]) { trace.append(timestampNanoseconds: t0 + dt, bytes: f) }
        let start: Int64 = 3_000_000   // 3 us
        try emu.inject(trace, speed: speed, start: start)
        emu.run()

        let r = try #require(emu.injections.first)
        #expect(r.frames == 4 && r.injected == 3 && r.oversize == 1)
        #expect(r.first == start)
        #expect(r.last == start + Int64((25_000_000.0 / speed).rounded()))
        // The router sends frames 1 and 3 to h2 at once (the link is idle): the capture of
        // s1-2 -- h2-0 holds them at their injection times, TTL down by one, MACs rewritten.
        let out = try PcapFileReader.readAll(path: dir.appendingPathComponent("s1-2--h2-0.pcapng").path)
        #expect(out.count == 2)
        let expectedTimes = [start, start + Int64((25_000_000.0 / speed).rounded())].map { $0 / 1000 }
        #expect(out.map(\.timestamp) == expectedTimes)
        let expected = [(frames[0], UInt8(63)), (frames[2], UInt8(8))].map { f, ttl -> [UInt8] in
            Packet.ethernet(dst: "02:00:00:00:00:02", src: "02:00:00:00:00:a1")
                .ipv4(src: "10.0.0.1", dst: "10.0.0.2", ttl: ttl)
                .udp(sport: 5000, dport: 6000)
                .payload(Array(f[42...]))
                .bytes
        }
        #expect(out.map(\.bytes) == expected)
        #expect(emu.hostStats.first { $0.name == "h2" }?.rxPackets == 2)
        #expect(emu.packetsInFlight == 0)
    }

    @Test func framesInjectedAtAHostLeaveItsNIC() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let emu = try network(dir)
        var trace = InjectedTrace(node: "h1", port: 0)
        for i in 0..<5 { trace.append(timestampNanoseconds: Int64(i) * 1_000, bytes: frame(ttl: 64, payload: 200)) }
        try emu.inject(trace)
        emu.run()
        // Each frame (242 bytes, 193.6 ns at 10 Gb/s) leaves s1 when it has crossed the first
        // link: serialization plus 1 us, no queueing.
        let h2in = try PcapFileReader.readAll(path: dir.appendingPathComponent("s1-2--h2-0.pcapng").path)
        #expect(h2in.count == 5)
        let first = Net.serialization(frame(ttl: 64, payload: 200).count, 10_000_000_000) + 1_000_000
        #expect(h2in.map(\.timestamp) == (0..<5).map { (Int64($0) * 1_000_000 + first) / 1000 })
        #expect(emu.hostStats.first { $0.name == "h2" }?.rxPackets == 5)
    }

    @Test func badPlacesAreRefusedWithTheirName() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let emu = try network(dir)
        func message(_ body: () throws -> Void) -> String? {
            do { try body() } catch { return "\(error)" }
            return nil
        }
        #expect(message { try emu.inject(InjectedTrace(node: "s9", port: 1)) } == "trace: no node named 's9'; nodes: h1, s1, h2")
        #expect(message { try emu.inject(InjectedTrace(node: "h1", port: 3)) } == "trace: host 'h1' has one port, 0 (got 3); use h1:0")
        #expect(message { try emu.inject(InjectedTrace(node: "s1", port: 1), speed: 0) } == "trace at s1:1: speed must be a positive number (got 0.0)")
        // A capture whose first record is stamped 0 and the next one in 2023: beyond the
        // simulable time at speed 1 (an error, not a trap); 10^9 times faster it fits.
        var far = InjectedTrace(node: "s1", port: 1)
        far.append(timestampNanoseconds: 0, bytes: frame(ttl: 9, payload: 10))
        far.append(timestampNanoseconds: 1_700_000_000_000_000_000, bytes: frame(ttl: 9, payload: 10))
        let farMessage = message { try emu.inject(far) }
        #expect(farMessage?.hasPrefix("trace at s1:1: frame 2 comes 1700000000.0 s after the first; at speed 1.0 that is beyond the simulable time") == true, "\(farMessage ?? "no error")")
        #expect(message { try emu.inject(far, speed: 1e9) } == nil)
        #expect(emu.injections.count == 1)
    }
}
