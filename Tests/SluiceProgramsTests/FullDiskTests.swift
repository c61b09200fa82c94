import Foundation
import Testing
import SluicePcapFiles
import SluiceTesting

/// A disk that fills during a run (issue 28, faults mid-run): the command stops with an error
/// naming the file it could not write and why, never claims success. The disk is a 64 KiB tmpfs
/// the test mounts and unmounts.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root: mounts a small tmpfs (CI runs as root)"))
struct FullDiskTests {
    static func withFullDisk(_ body: (String) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-full-\(getpid())-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let mount = try ChildProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir])
        try #require(mount.status == 0, "mount: \(mount.err)")
        defer {
            _ = try? ChildProcess.run("/bin/umount", [dir])
            try? FileManager.default.removeItem(atPath: dir)
        }
        try body(dir)
    }

    @Test func emulatePcapsOnAFullDiskFailNamingTheFile() throws {
        try Self.withFullDisk { dir in
            let topology = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Topologies/leafspine-16.yaml").standardized.path
            let r = try CLITests.run(["emulate", topology, "--pcap-dir", dir + "/p"])
            #expect(r.status == 1)
            #expect(r.err.contains("cannot write \(dir)/p/") && r.err.contains(".pcapng: No space left on device"), "\(r.err)")
        }
    }

    @Test func replayOutputsOnAFullDiskFailNamingTheFile() throws {
        try Self.withFullDisk { dir in
            // 2,000 frames of 1,000 bytes routed to port 1: 2 MB for a 64 KiB disk.
            let input = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-full-in-\(getpid()).pcap").path
            defer { try? FileManager.default.removeItem(atPath: input) }
            let frame = Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99").ipv4(src: "10.0.9.9", dst: "10.0.1.1", ttl: 64)
                .udp(sport: 1, dport: 2).payload(count: 958).bytes
            let w = try PcapWriter(path: input)
            for i in 0..<2000 { frame.withUnsafeBytes { w.write(timestampNanoseconds: Int64(i) * 1000, bytes: $0) } }
            w.close()
            let entries = try HostileInputCLITests.temporaryFile("full-routes", "table_add ipv4_lpm ipv4_forward 10.0.1.1/32 => 08:00:00:00:01:11 1\n")
            let r = try CLITests.run(["replay", input, "--program", "ipv4-router", "--entries", entries, "--pcap-dir", dir + "/out"])
            #expect(r.status == 1, "\(r.out)\n\(r.err)")
            #expect(r.err.contains("\(dir)/out/port-1.pcap") && r.err.contains("No space left on device"), "\(r.err)")
        }
    }
}
