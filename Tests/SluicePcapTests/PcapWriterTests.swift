import Foundation
import Testing
import SluicePcap
import SluicePcapFiles
import SluiceTesting

@Suite struct PcapWriterFileTests {
    @Test func tsharkReadsEpochNanosecondsOriginalLengthsAndCutFrames() throws {
        let tshark = try #require(findTool("tshark"), "tshark is needed as the independent reader")
        let dir = try temporaryDirectory("writer")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/w.pcap"
        let frames = testFrames(4)
        let stamps: [Int64] = [1_700_000_000_000_000_001, 1_700_000_000_999_999_999, 1_700_000_123_456_789_012, -5]
        let w = try PcapWriter(path: path, snaplen: 100)
        for (f, t) in zip(frames, stamps) {
            f.withUnsafeBytes { w.write(timestampNanoseconds: t, bytes: $0, originalLength: f.count + 4) }
        }
        #expect(w.packetsWritten == 4)
        #expect(w.bytesWritten == frames.reduce(0) { $0 + $1.count + 4 })
        w.close()
        #expect(w.error == nil)

        let r = try run(tshark, ["-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "eth.src"])
        #expect(r.status == 0, "tshark: \(r.err)")
        let rows = r.out.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.map { $0[0] } == ["1700000000.000000001", "1700000000.999999999", "1700000123.456789012", "0.000000000"])
        #expect(rows.map { Int($0[1]) } == frames.map { $0.count + 4 })
        #expect(rows.map { Int($0[2]) } == frames.map { min($0.count, 100) })
        #expect(rows.allSatisfy { $0[3] == "02:53:4c:00:00:01" })
    }

    @Test func theLinkTypeGoesIntoTheHeader() throws {
        let dir = try temporaryDirectory("linktype")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/raw.pcap"
        let w = try PcapWriter(path: path, linkType: 101)  // LINKTYPE_RAW
        w.close()
        let r = try PcapFileReader(path: path)
        #expect(r.linkType == 101)
        #expect(try r.next() == nil)
    }
}
