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
