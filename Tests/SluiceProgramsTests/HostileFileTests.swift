import Foundation
import Testing
import SluiceTesting

/// Every text file the command line reads, by class of hostile content: encodings (a byte-order
/// mark and CR endings are read; NUL bytes and invalid UTF-8 are refused by byte), endless input
/// (`/dev/zero`) and a directory. The rule: a clear error naming the file, or correct handling;
/// never a crash, a hang or a silent pass (issue 28).
@Suite struct HostileFileTests {
    /// One reader: the command to run on a file, and text that it accepts.
    struct Reader: Sendable, CustomTestStringConvertible {
        var name: String
        var good: String
        var command: @Sendable (String) -> [String]
        var testDescription: String { name }
    }

    static let topology = """
        name: t
        topology:
          generator: {star: {hosts: 2}}
          defaults:
            switch: {program: ecmp-router, routing: true}
        traffic:
          - {pattern: shift, offset: 1, kind: udp, rate: 1Gbps, size: 4000}

        """

    static let readers: [Reader] = [
        Reader(name: "entries (run --entries)", good: "# routes\ntable_add ipv4_lpm ipv4_forward 10.0.1.0/24 => 08:00:00:00:01:01 1\n") {
            ["run", "ipv4-router", "--entries", $0]
        },
        Reader(name: "STF spec (stf)", good: """
            # a route, a packet, what comes out
            add ipv4_lpm hdr.ipv4.dstAddr:10.0.1.1/32 ipv4_forward(dstAddr:08:00:00:00:01:11, port:1)
            packet 0 000000000001 000000000099 0800  45000024 00010000 40115cbf 0a000909 0a000101  04d200500010d0920001020304050607
            expect 1 080000000111 000000000001 0800  45000024 00010000 3f115dbf 0a000909 0a000101  04d200500010d0920001020304050607 $

            """) { ["stf", $0, "--program", "ipv4-router"] },
        Reader(name: "topology (emulate)", good: topology) { ["emulate", $0] },
    ]

    static func file(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-hostile-\(UUID().uuidString)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func run(_ r: Reader, _ path: String) throws -> (status: Int32, out: String, err: String) {
        try CLITests.run(r.command(path))
    }

    @Test(arguments: readers)
    func aByteOrderMarkAndCREndingsAreRead(_ r: Reader) throws {
        for bytes in [[0xEF, 0xBB, 0xBF] + Array(r.good.utf8), Array(r.good.replacingOccurrences(of: "\n", with: "\r").utf8)] {
            let path = try Self.file(bytes)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let x = try Self.run(r, path)
            #expect(x.status == 0, "\(r.name): \(x.err)")
        }
    }

    /// A NUL byte, then invalid UTF-8 (0xC3 0x28), put on line 2 of a file the reader takes.
    @Test(arguments: readers)
    func badBytesAreRefusedByByteAndLine(_ r: Reader) throws {
        let good = Array(r.good.utf8)
        let at = good.firstIndex(of: 0x0A)! + 3
        for (bad, reason) in [([UInt8(0)], "a NUL byte"), ([0xC3, 0x28], "invalid UTF-8")] {
            var bytes = good
            bytes.replaceSubrange(at..<(at + bad.count), with: bad)
            let path = try Self.file(bytes)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let x = try Self.run(r, path)
            #expect(x.status == 1, "\(r.name): \(x.status) \(x.err)")
            #expect(x.err.contains(path) && x.err.contains("\(reason) at byte \(at) (line 2)"), "\(r.name): \(x.err)")
        }
    }

    @Test(arguments: readers)
    func endlessInputAndDirectoriesAreRefused(_ r: Reader) throws {
        let zero = try Self.run(r, "/dev/zero")
        #expect(zero.status == 1 && zero.err.contains("/dev/zero") && zero.err.contains("larger than 67108864 bytes"), "\(r.name): \(zero.err)")
        let dir = try Self.run(r, "/tmp")
        #expect(dir.status == 1 && dir.err.contains("'/tmp'") || dir.err.contains("/tmp:"), "\(r.name): \(dir.err)")
        #expect(dir.err.contains("directory"), "\(r.name): \(dir.err)")
    }
}
