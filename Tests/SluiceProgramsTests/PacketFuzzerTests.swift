import Foundation
import Testing
import SluiceIR
import SluicePcapFiles
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// `sluice fuzz` and the packets it makes from a program's parser.
@Suite struct PacketFuzzerTests {
    /// Walks of every shipped program's parser reach every state that does not depend on
    /// metadata, and the packets made for them mostly pass the runtime's parser.
    @Test(arguments: ProgramRegistry.all.map(\.name))
    func synthesizedPacketsReachEveryParserState(_ name: String) throws {
        let ir = try #require(ProgramRegistry.named(name)).build().verified()
        let synth = PacketSynthesizer(ir)
        var rng = SplitMix64(seed: 0xF022 ^ UInt64(name.utf8.count))
        print("PacketFuzzerTests[\(name)]: seed \(0xF022 ^ UInt64(name.utf8.count))")
        var reached = Set<String>()
        let pipeline = try Pipeline(ir, queues: ir.facts.readsQueueValues)
        let buffer = PacketBuffer()
        let walks = 3000
        for _ in 0..<walks {
            let (bytes, path) = synth.packet(&rng)
            reached.formUnion(path)
            if buffer.load(bytes) { pipeline.process(buffer, port: 1) }
        }
        let states = Set(ir.parser.states.map(\.name))
        #expect(states.subtracting(reached).isEmpty, "\(name): states never reached: \(states.subtracting(reached).sorted())")
        // Walks that end in reject (chosen now and then) or programs that verify more than the
        // parser selects on (a checksum, a length) drop some; most get through.
        #expect(pipeline.stats.parserDrops < UInt64(walks / 2), "\(name): \(pipeline.stats.parserDrops) of \(walks) dropped by the parser")
    }

    @Test func packetIDependsOnlyOnTheSeedAndI() throws {
        let ir = try IPv4Router.program().verified()
        let a = PacketFuzzer(ir, seed: 9, ports: [0, 1, 2])
        let b = PacketFuzzer(ir, seed: 9, ports: [0, 1, 2])
        for i in [0, 1, 77, 12_345] {
            let x = a.packet(i), y = b.packet(i)
            #expect(x.bytes == y.bytes && x.port == y.port && x.kind == y.kind)
        }
        #expect(a.packet(3).bytes != PacketFuzzer(ir, seed: 10, ports: [0, 1, 2]).packet(3).bytes)
    }

    @Test func fuzzCommandRunsAndRepeatsItself() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-fuzz-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["fuzz", "ecmp-router", "--packets", "20000", "--seed", "0x77", "--pcap-dir", dir, "--json"]
        let r1 = try CLITests.run(args), r2 = try CLITests.run(args)
        #expect(r1.status == 0, "\(r1.err)")
        func counts(_ out: String) throws -> [String: Int] {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
            var c: [String: Int] = [:]
            for k in ["packets", "runtime_forwarded", "runtime_multicast", "runtime_dropped", "disagreements"] { c[k] = o[k] as? Int }
            for (k, v) in (o["kinds"] as? [String: Int]) ?? [:] { c["kind " + k] = v }
            return c
        }
        let c1 = try counts(r1.out), c2 = try counts(r2.out)
        #expect(c1 == c2, "the same seed gave other packets")
        #expect(c1["packets"] == 20000 && c1["disagreements"] == 0)
        #expect((c1["runtime_forwarded"] ?? 0) + (c1["runtime_multicast"] ?? 0) + (c1["runtime_dropped"] ?? 0) == 20000)
        #expect(["parsed", "mutated", "truncated", "random"].allSatisfy { (c1["kind " + $0] ?? 0) > 500 }, "\(c1)")
    }

    /// A trap while a packet runs: the packet is printed and written to crash.pcap before the
    /// process ends with status 70.
    @Test func aCrashNamesAndSavesThePacket() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-fuzz-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLITests.run(["fuzz", "ipv4-router", "--packets", "100", "--seed", "5", "--pcap-dir", dir],
                                 environment: ["SLUICE_FUZZ_SELFTEST_CRASH_AT": "42"])
        #expect(r.status == 70, "\(r.err)")
        let ir = try IPv4Router.program().verified()
        let p = PacketFuzzer(ir, seed: 5, ports: Array(0...7)).packet(42)
        let hex = p.bytes.map { String(format: "%02x", $0) }.joined()
        #expect(r.err.contains("sluice fuzz ipv4-router --seed 0x5: CRASH (signal 4) on packet #42, port \(p.port), \(p.bytes.count) bytes:\n\(hex)\nwritten to \(dir)/crash.pcap"), "\(r.err)")
        let saved = try PcapFileReader.readAll(path: dir + "/crash.pcap")
        #expect(saved.count == 1 && saved.first.map { Array($0.bytes) } == p.bytes)
    }

    @Test func badOptionsAreNamed() throws {
        for (args, message) in [(["--packets", "0"], "--packets 0 (valid: 1 ... 100000000)"),
                                (["--seed", "zz"], "--seed 'zz' (valid: a 64-bit integer, decimal or 0x hex)"),
                                (["--ports", "3-1"], "--ports '3-1' (valid: a range such as 0-7"),
                                (["--backends", "xdp"], "the runtime is the reference and always runs"),
                                (["--backends", "runtime,bmv2"], "unknown backend 'bmv2' (valid: runtime, xdp)")] {
            let r = try CLITests.run(["fuzz", "ipv4-router"] + args)
            #expect(r.status != 0 && r.err.contains(message), "\(args): \(r.err)")
        }
    }
}
