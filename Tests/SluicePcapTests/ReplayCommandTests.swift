import Foundation
import Testing
import SluicePcap
import SluicePcapFiles
import SluiceTesting
import SluicePrograms
import SluiceRuntime

/// `sluice replay`, run as a process, against pcaps made by the writer and read back by the
/// reader (and tshark for the checksums).
@Suite struct ReplayCommandTests {
    static let routes = """
        table_add ipv4_lpm ipv4_forward 10.0.1.0/24 => 08:00:00:00:01:11 1
        table_add ipv4_lpm ipv4_forward 10.0.2.0/24 => 08:00:00:00:02:22 2

        """

    static func udp(to dst: IPv4Address, ttl: UInt8, id: UInt16) -> [UInt8] {
        Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99")
            .ipv4(src: "10.0.9.9", dst: dst, id: id, ttl: ttl).udp(sport: 1000 + id, dport: 4791).payload(count: 18 + Int(id)).bytes
    }

    static func forwarded(to dst: IPv4Address, ttl: UInt8, id: UInt16, mac: MACAddress) -> [UInt8] {
        Packet.ethernet(dst: mac, src: "00:00:00:00:00:01")
            .ipv4(src: "10.0.9.9", dst: dst, id: id, ttl: ttl - 1).udp(sport: 1000 + id, dport: 4791).payload(count: 18 + Int(id)).bytes
    }

    static let t0: Int64 = 1_700_000_000_000_000_000

    /// Seven packets: three forwarded (two to port 1, one to port 2), an unrouted one, one with
    /// TTL 1, an ARP request (ingress drops) and a 10-byte runt (the parser rejects it).
    static func input() -> [CapturedPacket] {
        let arp = Packet.ethernet(dst: "ff:ff:ff:ff:ff:ff", src: "00:00:00:00:00:99")
            .arp(senderMAC: "00:00:00:00:00:99", senderIP: "10.0.9.9", targetIP: "10.0.9.1").bytes
        let frames: [[UInt8]] = [
            udp(to: "10.0.1.5", ttl: 64, id: 1),
            udp(to: "10.0.2.7", ttl: 10, id: 2),
            udp(to: "10.0.3.1", ttl: 64, id: 3),
            udp(to: "10.0.1.5", ttl: 1, id: 4),
            arp,
            Array(repeating: 0xee, count: 10),
            udp(to: "10.0.1.200", ttl: 2, id: 7),
        ]
        return frames.enumerated().map { i, f in CapturedPacket(timestamp: t0 + Int64(i) * 1_000_001 + 7, bytes: f) }
    }

    func prepare(_ dir: String) throws -> (pcap: String, entries: String) {
        let pcap = dir + "/in.pcap", entries = dir + "/routes.txt"
        try writePcap(pcap, Self.input())
        try Self.routes.write(toFile: entries, atomically: true, encoding: .utf8)
        return (pcap, entries)
    }

    @Test func ipv4RouterOutputsExactBytesPerPortWithOriginalStampsAndCountsDrops() throws {
        let dir = try temporaryDirectory("replay")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (pcap, entries) = try prepare(dir)
        let out = dir + "/out"
        let r = try sluice("replay", pcap, "--program", "ipv4-router", "--entries", entries, "--pcap-dir", out)
        #expect(r.status == 0, "\(r.err)")

        let port1 = try PcapFileReader.readAll(path: out + "/port-1.pcap")
        let port2 = try PcapFileReader.readAll(path: out + "/port-2.pcap")
        let input = Self.input()
        #expect(port1 == [
            CapturedPacket(timestamp: input[0].timestamp, bytes: Self.forwarded(to: "10.0.1.5", ttl: 64, id: 1, mac: "08:00:00:00:01:11")),
            CapturedPacket(timestamp: input[6].timestamp, bytes: Self.forwarded(to: "10.0.1.200", ttl: 2, id: 7, mac: "08:00:00:00:01:11")),
        ])
        #expect(port2 == [
            CapturedPacket(timestamp: input[1].timestamp, bytes: Self.forwarded(to: "10.0.2.7", ttl: 10, id: 2, mac: "08:00:00:00:02:22")),
        ])
        #expect(!FileManager.default.fileExists(atPath: out + "/port-0.pcap"))

        // The summary table, line by line (the first line has a time and a rate).
        let lines = r.out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first?.hasPrefix("replayed 7 packets (\(input.reduce(0) { $0 + $1.bytes.count }) bytes) from \(pcap) through ipv4-router on port 0 in ") == true)
        #expect(lines.first?.hasSuffix("Mpps); 3 sent; engine \(PipelineEngine.default.rawValue)") == true)
        #expect(Array(lines.dropFirst()) == [
            "  out port    packets        bytes  file",
            "         1          2\(String(port1.reduce(0) { $0 + $1.bytes.count }).leftPadded(13))  \(out)/port-1.pcap",
            "         2          1\(String(port2[0].bytes.count).leftPadded(13))  \(out)/port-2.pcap",
            "  drops       packets",
            "  parser                1",
            "  ingress               3",
            "  egress                0",
            "",
        ])

        // tshark agrees that the rewritten IPv4 checksums are right.
        if let tshark = findTool("tshark") {
            let t = try run(tshark, ["-r", out + "/port-1.pcap", "-o", "ip.check_checksum:TRUE", "-T", "fields", "-e", "ip.ttl", "-e", "ip.checksum.status"])
            #expect(t.status == 0, "tshark: \(t.err)")
            #expect(t.out == "63\t1\n1\t1\n")  // checksum status 1: good
        }
    }

    @Test func jsonSummaryIsOneObject() throws {
        let dir = try temporaryDirectory("replayjson")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (pcap, entries) = try prepare(dir)
        let r = try sluice("replay", pcap, "--program", "ipv4-router", "--entries", entries, "--pcap-dir", dir + "/o", "--json")
        #expect(r.status == 0, "\(r.err)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(obj["packets"] as? Int == 7)
        #expect(obj["sent"] as? Int == 3)
        #expect(obj["dropped"] as? Int == 4)
        let drops = try #require(obj["drops"] as? [String: Int])
        #expect(drops["parser"] == 1 && drops["ingress"] == 3 && drops["egress"] == 0)
        let outputs = try #require(obj["outputs"] as? [[String: Any]])
        #expect(outputs.map { $0["port"] as? Int } == [1, 2])
        #expect(outputs.map { $0["packets"] as? Int } == [2, 1])
        #expect(obj["error"] is NSNull)
    }

    @Test func aTruncatedFileIsProcessedUpToTheDamageAndNamed() throws {
        let dir = try temporaryDirectory("replaytrunc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (pcap, entries) = try prepare(dir)
        // Cut the last packet's record in the middle.
        let all = try bytes(ofFile: pcap)
        let lastRecord = all.count - 16 - Self.input()[6].bytes.count
        try write(Array(all.prefix(lastRecord + 20)), to: pcap)
        let r = try sluice("replay", pcap, "--program", "ipv4-router", "--entries", entries, "--pcap-dir", dir + "/o")
        #expect(r.status != 0)
        #expect(r.out.hasPrefix("replayed 6 packets"))
        #expect(r.err.contains("Error: \(pcap): byte \(lastRecord): truncated record of packet 7: its header says \(Self.input()[6].bytes.count) captured bytes, the file ends after 4 (the 6 packets before it were processed)"))
        #expect(try PcapFileReader.readAll(path: dir + "/o/port-1.pcap").count == 1)
        #expect(try PcapFileReader.readAll(path: dir + "/o/port-2.pcap").count == 1)
    }

    @Test func badInputsAreNamed() throws {
        let dir = try temporaryDirectory("replaybad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (pcap, _) = try prepare(dir)
        var r = try sluice("replay", pcap, "--program", "ipv5-router", "--pcap-dir", dir + "/o")
        #expect(r.status != 0)
        #expect(r.err.contains("Error: unknown program 'ipv5-router'; available: \(ProgramRegistry.all.map(\.name).joined(separator: ", ")) (see `sluice programs`)"))
        // Found out in run(), yet the usage printed is replay's, not the root's list of commands.
        #expect(r.status == 64 && r.err.contains("Usage: sluice replay ") && r.err.contains("See 'sluice replay --help'"), "\(r.err)")
        r = try sluice("compile", "ipv5-router", "--emit", "ebpf-c")
        #expect(r.status == 64 && r.err.contains("Usage: sluice compile <program>") && !r.err.contains("<subcommand>"), "\(r.err)")
        r = try sluice("replay", pcap, "--program", "ipv4-router", "--port", "600", "--pcap-dir", dir + "/o")
        #expect(r.status != 0)
        #expect(r.err.contains("Error: --port 600 is outside 0...511 (ports are 9 bits)"))
        let text = dir + "/notes.txt"
        try "not a capture\n".write(toFile: text, atomically: true, encoding: .utf8)
        r = try sluice("replay", text, "--program", "ipv4-router", "--pcap-dir", dir + "/o")
        #expect(r.status != 0)
        #expect(r.err.contains("Error: \(text): byte 0: bad magic: not a pcap or pcapng file (it starts with 6e 6f 74 20;"))
        r = try sluice("replay", dir + "/missing.pcap", "--program", "ipv4-router", "--pcap-dir", dir + "/o")
        #expect(r.err.contains("Error: \(dir)/missing.pcap: cannot open: No such file or directory"))
    }

    /// An input that is one of the outputs (OUT/port-K.pcap), reached through `..` or a
    /// symbolic link, is refused before anything is written: the file keeps every byte.
    @Test func anInputThatIsAnOutputFileIsRefusedAndKept() throws {
        let dir = try temporaryDirectory("replayself")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (pcap, entries) = try prepare(dir)
        let out = dir + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/x", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: pcap, toPath: out + "/port-1.pcap")
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.pcap", withDestinationPath: out + "/port-2.pcap")
        try FileManager.default.copyItem(atPath: pcap, toPath: out + "/port-2.pcap")
        let original = try bytes(ofFile: pcap)
        for (input, port) in [(dir + "/x/../out/port-1.pcap", 1), (dir + "/link.pcap", 2)] {
            let r = try sluice("replay", input, "--program", "ipv4-router", "--entries", entries, "--pcap-dir", out)
            #expect(r.status == 1)
            #expect(r.out == "")
            #expect(r.err == "Error: --pcap-dir \(out): the output \(out)/port-\(port).pcap is the input file \(input); replaying would overwrite it. Give --pcap-dir another folder, e.g. --pcap-dir \(out)-replayed\n")
            #expect(try bytes(ofFile: out + "/port-\(port).pcap") == original)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["port-1.pcap", "port-2.pcap"])
    }

    @Test func anEarlierReplaysOutputsAreRemovedFirstAndOtherFilesKept() throws {
        let dir = try temporaryDirectory("replayagain")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (pcap, entries) = try prepare(dir)
        let out = dir + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        // An earlier run's outputs: port 0 (this run sends nothing there) and port 1 (longer
        // than this run's); and files of the user's, which stay.
        let stale = Array(repeating: UInt8(0xAB), count: 4096)
        for name in ["port-0.pcap", "port-1.pcap", "port-511.pcap"] { try Data(stale).write(to: URL(fileURLWithPath: out + "/" + name)) }
        for name in ["notes.txt", "port-1.pcap.keep", "port-512.pcap"] { try Data([1, 2, 3]).write(to: URL(fileURLWithPath: out + "/" + name)) }
        let r = try sluice("replay", pcap, "--program", "ipv4-router", "--entries", entries, "--pcap-dir", out)
        #expect(r.status == 0, "\(r.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted()
                == ["notes.txt", "port-1.pcap", "port-1.pcap.keep", "port-2.pcap", "port-512.pcap"])
        let input = Self.input()
        #expect(try PcapFileReader.readAll(path: out + "/port-1.pcap") == [
            CapturedPacket(timestamp: input[0].timestamp, bytes: Self.forwarded(to: "10.0.1.5", ttl: 64, id: 1, mac: "08:00:00:00:01:11")),
            CapturedPacket(timestamp: input[6].timestamp, bytes: Self.forwarded(to: "10.0.1.200", ttl: 2, id: 7, mac: "08:00:00:00:01:11")),
        ])
        for name in ["notes.txt", "port-1.pcap.keep", "port-512.pcap"] { #expect(try bytes(ofFile: out + "/" + name) == [1, 2, 3]) }
    }

    @Test func l2SwitchLearnsThroughItsControllerDuringAReplay() throws {
        let dir = try temporaryDirectory("replayl2")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Both frames enter port 3. The first (from A, to unknown B) floods to ports 0-7 but 3
        // and teaches the controller that A is on port 3; the second (to A) then goes to port 3,
        // where egress drops it (never out of the port it came in on). Without learning it
        // would flood again.
        let a: MACAddress = "02:00:00:00:00:0a", b: MACAddress = "02:00:00:00:00:0b"
        let fromA = Packet.ethernet(dst: b, src: a).ipv4(src: "10.0.0.1", dst: "10.0.0.2").udp(sport: 1, dport: 2).bytes
        let toA = Packet.ethernet(dst: a, src: b).ipv4(src: "10.0.0.2", dst: "10.0.0.1").udp(sport: 2, dport: 1).bytes
        let pcap = dir + "/l2.pcap"
        try writePcap(pcap, [CapturedPacket(timestamp: 1, bytes: fromA), CapturedPacket(timestamp: 2, bytes: toA)])
        let r = try sluice("replay", pcap, "--program", "l2-switch", "--port", "3", "--pcap-dir", dir + "/o", "--json")
        #expect(r.status == 0, "\(r.err)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let outputs = try #require(obj["outputs"] as? [[String: Any]])
        #expect(outputs.map { $0["port"] as? Int } == [0, 1, 2, 4, 5, 6, 7])
        #expect(outputs.allSatisfy { $0["packets"] as? Int == 1 })
        // Egress drops the flooded copy for port 3 and the second frame.
        #expect((obj["drops"] as? [String: Int])?["egress"] == 2)
        for port in [0, 1, 2, 4, 5, 6, 7] {
            #expect(try PcapFileReader.readAll(path: dir + "/o/port-\(port).pcap") == [CapturedPacket(timestamp: 1, bytes: fromA)])
        }
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
