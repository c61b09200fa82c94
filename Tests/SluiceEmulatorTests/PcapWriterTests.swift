import Foundation
import Testing
@testable import SluiceEmulator
import SluicePcapFiles
import SluiceTesting

private func temporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-output-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
private func le16(_ v: UInt16) -> [UInt8] { [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }

private func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// "1.234567890" -> (1, 234567890), whatever the number of decimals.
private func secondsAndNanos(_ s: Substring) -> (Int, Int)? {
    let parts = s.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 2, let sec = Int(parts[0]) else { return nil }
    let digits = String(parts[1].prefix(9))
    guard let frac = Int(digits.padding(toLength: 9, withPad: "0", startingAt: 0)) else { return nil }
    return (sec, frac)
}

@Suite struct PcapWriterTests {
    @Test func globalAndRecordHeadersAreByteExact() throws {
        try #require(UInt32(1).littleEndian == 1, "expected bytes below are little-endian")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/two.pcap"
        let first = (0..<60).map { UInt8($0) }
        let second = (0..<100).map { UInt8(255 - $0) }
        let w = try PcapWriter(path: path, snaplen: 64)
        first.withUnsafeBytes { w.write(timestampPicoseconds: 1_234_567_890_123, bytes: $0) }
        second.withUnsafeBytes { w.write(timestampPicoseconds: 5_000_000_999_999, bytes: $0) }
        #expect(w.packetsWritten == 2)
        #expect(w.bytesWritten == 160)
        w.close()
        #expect(w.error == nil)

        var expected: [UInt8] = [0x4d, 0x3c, 0xb2, 0xa1] + le16(2) + le16(4) + le32(0) + le32(0) + le32(64) + le32(1)
        expected += le32(1) + le32(234_567_890) + le32(60) + le32(60) + first
        expected += le32(5) + le32(999) + le32(64) + le32(100) + Array(second.prefix(64))
        let written = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(written.count == expected.count)
        #expect(written == expected)

        guard let tcpdump = findTool("tcpdump") else {
            if let tshark = findTool("tshark") {
                let r = try run(tshark, ["-r", path, "-T", "fields", "-e", "frame.time_epoch"])
                #expect(r.status == 0, "tshark: \(r.err)")
                let stamps = r.out.split(separator: "\n").compactMap { secondsAndNanos($0) }
                #expect(stamps.map(\.0) == [1, 5])
                #expect(stamps.map(\.1) == [234_567_890, 999])
            } else {
                print("PcapWriterTests: neither tcpdump nor tshark found; skipping the read-back check")
            }
            return
        }
        let r = try run(tcpdump, ["-nn", "-tt", "--time-stamp-precision=nano", "-r", path])
        #expect(r.status == 0, "tcpdump: \(r.err)")
        // Unknown ethertypes come with an indented hex dump; records start at column 0.
        let lines = r.out.split(separator: "\n").filter { !($0.first?.isWhitespace ?? true) }
        #expect(lines.count == 2, "tcpdump printed: \(r.out)")
        let stamps = lines.compactMap { $0.split(separator: " ").first.flatMap(secondsAndNanos) }
        #expect(stamps.map(\.0) == [1, 5])
        #expect(stamps.map(\.1) == [234_567_890, 999])
    }

    @Test func flushesWhenTheBufferFillsAndCountsEverything() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/many.pcap"
        let frame = [UInt8](repeating: 0xab, count: 1500)
        do {
            let w = try PcapWriter(path: path, bufferSize: 4096)
            frame.withUnsafeBytes { bytes in
                for i in 0..<1000 { w.write(timestampPicoseconds: Int64(i) * 1_000_000, bytes: bytes) }
            }
            #expect(w.packetsWritten == 1000)
            #expect(w.bytesWritten == 1_500_000)
        } // deinit flushes and closes
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect(size == 24 + 1000 * (16 + 1500))
    }

    @Test func anUnwritablePathIsNamedInTheError() {
        let path = "/nonexistent-sluice-dir/x.pcap"
        do {
            _ = try PcapWriter(path: path)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "cannot create /nonexistent-sluice-dir/x.pcap: No such file or directory")
        }
    }
}

/// pcapng: the links' captures mark each frame's direction (epb_flags) and keep the original
/// length of frames cut to the snap length; tshark reads both.
@Suite struct PcapngWriterTests {
    @Test func blocksAreByteExactAndTsharkReadsDirectionsAndLengths() throws {
        try #require(UInt32(1).littleEndian == 1, "expected bytes below are little-endian")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/link.pcapng"
        let w = try PcapWriter(path: path, snaplen: 64, format: .pcapng(interfaces: [PcapngInterface(name: "s1:1", description: "d")]))
        let first = (0..<60).map { UInt8($0) }, second = (0..<100).map { UInt8(255 - $0) }
        first.withUnsafeBytes { w.write(timestampPicoseconds: 1_234_567_890_123, bytes: $0, direction: .outbound) }
        second.withUnsafeBytes { w.write(timestampPicoseconds: 5_000_000_999_999, bytes: $0, direction: .inbound) }
        w.close()
        #expect(w.error == nil)

        let shb = le32(0x0A0D_0D0A) + le32(28) + le32(0x1A2B_3C4D) + le16(1) + le16(0) + le32(.max) + le32(.max) + le32(28)
        // if_name "s1:1", if_description "d" (padded), if_tsresol 9 (padded), end of options.
        let idbOptions = le16(2) + le16(4) + Array("s1:1".utf8) + le16(3) + le16(1) + [UInt8(ascii: "d"), 0, 0, 0]
            + le16(9) + le16(1) + [9, 0, 0, 0] + le16(0) + le16(0)
        let idb = le32(1) + le32(UInt32(20 + idbOptions.count)) + le16(1) + le16(0) + le32(64) + idbOptions + le32(UInt32(20 + idbOptions.count))
        func epb(_ ns: UInt64, _ bytes: [UInt8], flags: UInt32) -> [UInt8] {
            let cut = Array(bytes.prefix(64)), padded = (cut.count + 3) & ~3, total = UInt32(44 + padded)
            return le32(6) + le32(total) + le32(0) + le32(UInt32(ns >> 32)) + le32(UInt32(ns & 0xffff_ffff))
                + le32(UInt32(cut.count)) + le32(UInt32(bytes.count)) + cut + [UInt8](repeating: 0, count: padded - cut.count)
                + le16(2) + le16(4) + le32(flags) + le32(0) + le32(total)
        }
        let expected = shb + idb + epb(1_234_567_890, first, flags: 2) + epb(5_000_000_999, second, flags: 1)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == expected)

        guard let tshark = findTool("tshark") else {
            Issue.record("tshark is not installed (apt-get install tshark; .ci/run installs it): cannot check the pcapng opens in it")
            return
        }
        let r = try run(tshark, ["-r", path, "-T", "fields", "-e", "frame.p2p_dir", "-e", "frame.packet_flags_direction",
                                 "-e", "frame.cap_len", "-e", "frame.len", "-e", "frame.interface_name"])
        #expect(r.status == 0, "tshark: \(r.err)")
        // p2p_dir: 0 sent, 1 received; the flags: 2 outbound, 1 inbound.
        #expect(r.out == "0\t0x00000002\t60\t60\ts1:1\n1\t0x00000001\t64\t100\ts1:1\n", "\(r.out)")
    }

    /// An emulated link's pcapng: a -> b outbound, b -> a inbound, frames cut to the snap length.
    @Test func emulatedLinksMarkDirectionAndCutToTheSnapLength() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var spec = Net.dumbbell(ecn: nil, bytes: 200_000, loss: 0, mtu: 1500)
        spec.links[0].capture = true
        spec.links[0].captureSnaplen = 54
        var o = EmulatorOptions()
        o.pcapDirectory = dir
        o.pcapSnaplen = 128
        let emu = try Emulator(spec, options: o, programs: .builtIn)
        try Net.dumbbellRoutes(emu)
        emu.run()
        let l = spec.links[0]
        let name = "\(spec.nodes[l.a.node].name)-\(l.a.port)--\(spec.nodes[l.b.node].name)-\(l.b.port).pcapng"
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [name])
        guard let tshark = findTool("tshark") else {
            Issue.record("tshark is not installed (apt-get install tshark; .ci/run installs it)")
            return
        }
        let r = try run(tshark, ["-r", dir + "/" + name, "-T", "fields", "-e", "frame.packet_flags_direction", "-e", "frame.cap_len",
                                 "-e", "frame.len", "-e", "eth.src"])
        #expect(r.status == 0, "tshark: \(r.err)")
        let rows = r.out.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let out = rows.filter { $0[0] == "0x00000002" }, back = rows.filter { $0[0] == "0x00000001" }
        // Data one way, acknowledgements the other; nothing without a direction.
        #expect(!out.isEmpty && !back.isEmpty && out.count + back.count == rows.count, "\(r.out.prefix(400))")
        #expect(rows.allSatisfy { Int($0[1])! == min(54, Int($0[2])!) })
        #expect(rows.contains { Int($0[2])! > 54 })
        // One sender per direction.
        #expect(Set(out.map { $0[3] }).count == 1 && Set(back.map { $0[3] }).count == 1 && out[0][3] != back[0][3])
    }
}
