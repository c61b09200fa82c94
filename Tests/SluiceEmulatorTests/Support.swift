import Foundation
import Testing
import SluiceIR
import SluiceRuntime
@testable import SluiceEmulator

/// Small hand-built topologies for the emulator's tests (independent of the YAML reader).
enum Net {
    static func ip(_ last: UInt32) -> UInt32 { 0x0A00_0000 | last }

    static func host(_ name: String, _ n: UInt32) -> NodeSpec {
        NodeSpec(name: name, kind: .host(HostSpec(ipv4: ip(n))), mac: 0x0200_0000_0000 | UInt64(n))
    }

    static func router(_ name: String, mac: UInt64, latency: Int64 = 0) -> NodeSpec {
        NodeSpec(name: name, kind: .switch(SwitchSpec(program: "ipv4-router", routing: false, pipelineLatency: latency)), mac: mac)
    }

    static func l2(_ name: String) -> NodeSpec {
        NodeSpec(name: name, kind: .switch(SwitchSpec(program: "l2-switch", routing: false)), mac: 0x0200_0000_00FF)
    }

    /// A /32 route on an `ipv4-router` switch of a built emulator.
    static func route(_ emu: Emulator, _ sw: String, to host: UInt32, mac: UInt64, port: UInt16) throws {
        let cp = try #require(emu.controlPlane(switch: sw))
        try cp.insert("ipv4_lpm", TableEntry([.lpm(UInt128(ip(host)), prefixLength: 32)],
                                             ActionCall("ipv4_forward", [UInt128(mac), UInt128(port)])))
    }

    static func serialization(_ bytes: Int, _ rate: UInt64) -> Int64 {
        Int64((UInt64(bytes) * 8 * 1_000_000_000_000 + rate - 1) / rate)
    }

    /// h1 -100G- s1 -10G- h2 (1 MiB queue), and `bytes` of UDP from h1 to h2 at 20 Gb/s in
    /// 1500-byte frames: the 10 Gb/s link saturates.
    static func bottleneck(bytes: Int) -> TopologySpec {
        TopologySpec(name: "bottleneck", nodes: [host("h1", 1), router("s1", mac: 0xA1), host("h2", 2)], links: [
            LinkSpec(a: Endpoint(node: 0, port: 0), b: Endpoint(node: 1, port: 1), rate: 100_000_000_000, delay: 1_000_000),
            LinkSpec(a: Endpoint(node: 1, port: 2), b: Endpoint(node: 2, port: 0), rate: 10_000_000_000, delay: 1_000_000,
                     queue: QueueSpec(limitBytes: 1 << 20)),
        ], flows: [FlowSpec(kind: .udp(rate: 20_000_000_000), src: 0, dst: 2, bytes: bytes, payload: 1458)])
    }

    /// Two bulk flows from the left to the right over a 10 Gb/s bottleneck between two routers.
    static func dumbbell(ecn: ECNSpec?, limit: Int = 1 << 20, bytes: Int, loss: Double = 0, mtu: Int = 9000) -> TopologySpec {
        let fast = QueueSpec(limitBytes: limit, ecn: ecn)
        return TopologySpec(name: "dumbbell", nodes: [
            host("h1", 1), host("h2", 2), host("h3", 3), host("h4", 4),
            router("left", mac: 0x0200_0000_0A01), router("right", mac: 0x0200_0000_0A02),
        ], links: [
            LinkSpec(a: Endpoint(node: 0, port: 0), b: Endpoint(node: 4, port: 1), rate: 100_000_000_000, delay: 1_000_000, mtu: mtu, queue: fast),
            LinkSpec(a: Endpoint(node: 1, port: 0), b: Endpoint(node: 4, port: 2), rate: 100_000_000_000, delay: 1_000_000, mtu: mtu, queue: fast),
            LinkSpec(a: Endpoint(node: 4, port: 3), b: Endpoint(node: 5, port: 3), rate: 10_000_000_000, delay: 5_000_000, loss: loss, mtu: mtu, queue: fast),
            LinkSpec(a: Endpoint(node: 2, port: 0), b: Endpoint(node: 5, port: 1), rate: 100_000_000_000, delay: 1_000_000, mtu: mtu, queue: fast),
            LinkSpec(a: Endpoint(node: 3, port: 0), b: Endpoint(node: 5, port: 2), rate: 100_000_000_000, delay: 1_000_000, mtu: mtu, queue: fast),
        ], flows: [
            FlowSpec(kind: .bulk, src: 0, dst: 2, bytes: bytes),
            FlowSpec(kind: .bulk, src: 1, dst: 3, bytes: bytes),
        ])
    }

    static func dumbbellRoutes(_ emu: Emulator) throws {
        try route(emu, "left", to: 1, mac: 0x0200_0000_0001, port: 1)
        try route(emu, "left", to: 2, mac: 0x0200_0000_0002, port: 2)
        try route(emu, "left", to: 3, mac: 0x0200_0000_0A02, port: 3)
        try route(emu, "left", to: 4, mac: 0x0200_0000_0A02, port: 3)
        try route(emu, "right", to: 3, mac: 0x0200_0000_0003, port: 1)
        try route(emu, "right", to: 4, mac: 0x0200_0000_0004, port: 2)
        try route(emu, "right", to: 1, mac: 0x0200_0000_0A01, port: 3)
        try route(emu, "right", to: 2, mac: 0x0200_0000_0A01, port: 3)
    }
}

extension Net {
    /// Run `spec` to completion with every link captured; `setUp` configures the emulator first
    /// (routes). Returns the pcaps by file name, the emulator and its run's figures.
    static func pcaps(_ spec: TopologySpec, engine: PipelineEngine = .default,
                      setUp: (Emulator) throws -> Void = { _ in }) throws -> (files: [String: Data], emu: Emulator, stats: RunStats) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-pcaps-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = EmulatorOptions()
        options.engine = engine
        options.pcapDirectory = dir
        let emu = try Emulator(spec, options: options, programs: .builtIn)
        try setUp(emu)
        let stats = emu.run()
        var files: [String: Data] = [:]
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) { files[f] = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(f)")) }
        return (files, emu, stats)
    }

    /// A new packet of `pool` holding a frame of `length` bytes, its first `filled` of them
    /// `byte` and recorded as written.
    static func packet(_ pool: PacketPool, length: Int, filled: Int, with byte: UInt8) -> Int32 {
        let p = pool.allocate()
        let d = pool.reset(p, length: length)
        for i in 0..<filled { d[i] = byte }
        pool.wrote(p, upTo: filled)
        return p
    }
}
