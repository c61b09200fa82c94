import Foundation
import Testing
import SluicePcap
import SluicePcapFiles
import SluiceTesting

/// A fresh folder under the temporary directory, removed by the caller.
func temporaryDirectory(_ tag: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-pcap-\(tag)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

typealias ToolResult = ChildProcess.Result
typealias Background = ChildProcess

/// Runs a program to completion, with its output.
@discardableResult
func run(_ tool: String, _ arguments: [String]) throws -> ToolResult { try ChildProcess.run(tool, arguments) }

/// The `sluice` binary built beside the test bundle.
var sluiceBinary: String {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("sluice").path) && dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent("sluice").path
}

func sluice(_ args: String...) throws -> ToolResult { try run(sluiceBinary, args) }

/// Writes frames as a nanosecond pcap with the writer under test.
func writePcap(_ path: String, _ packets: [CapturedPacket], snaplen: Int = 65535) throws {
    let w = try PcapWriter(path: path, snaplen: snaplen)
    for p in packets {
        p.bytes.withUnsafeBytes { w.write(timestampNanoseconds: p.timestamp, bytes: $0, originalLength: p.originalLength) }
    }
    w.close()
    if let e = w.error { throw e }
}

/// Every packet of a file and the error that ended the read, if any.
func readAllowingDamage(_ path: String) -> (packets: [CapturedPacket], error: PcapError?) {
    var packets: [CapturedPacket] = []
    do {
        let r = try PcapFileReader(path: path)
        try r.forEach { packets.append(CapturedPacket($0)) }
        return (packets, nil)
    } catch let e as PcapError {
        return (packets, e)
    } catch {
        Issue.record("unexpected error type: \(error)")
        return (packets, nil)
    }
}

func bytes(ofFile path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
func write(_ bytes: [UInt8], to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

// Little- and big-endian byte helpers for hand-built files.
func le16(_ v: UInt16) -> [UInt8] { [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }
func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
func be16(_ v: UInt16) -> [UInt8] { le16(v).reversed() }
func be32(_ v: UInt32) -> [UInt8] { le32(v).reversed() }

/// Distinct test frames of varied lengths (at least 60 bytes: no padding surprises).
func testFrames(_ count: Int, source: String = "02:53:4c:00:00:01") -> [[UInt8]] {
    let src = source.split(separator: ":").map { UInt8($0, radix: 16)! }
    return (0..<count).map { i in
        let length = 60 + (i * 37) % 1400
        var f: [UInt8] = [0x02, 0, 0, 0, 0, 0x02] + src + [0x88, 0xb5]
        f += le32(UInt32(i))
        while f.count < length { f.append(UInt8(truncatingIfNeeded: f.count &* 7 &+ i)) }
        return f
    }
}

/// Is this process root? (Tests that create namespaces and capture need it.)
let isRoot = getuid() == 0

/// Two network namespaces joined by a veth pair (`ifA` in `nsA`, `ifB` in `nsB`), created for
/// one test and removed by `remove()` (call it in a `defer`). IPv6 is off in both so the kernel
/// sends nothing of its own on the link.
final class VethLab {
    let network = NetworkLab(prefix: "st")
    let nsA: String, nsB: String, ifA: String, ifB: String

    init() throws {
        do {
            nsA = try network.addNamespace("a")
            nsB = try network.addNamespace("b")
            let pair = try network.addVeth("a", in: nsA, peer: "b", in: nsB)
            (ifA, ifB) = (pair.name, pair.peer)
        } catch {
            network.remove()
            throw error
        }
    }

    /// Deletes both namespaces (which deletes the veth pair). Safe to call twice.
    func remove() { network.remove() }

    /// Runs `sluice` inside a namespace to completion.
    func sluice(in ns: String, _ args: String...) throws -> ToolResult { try network.sluice(in: ns, args) }

    /// Starts `sluice` inside a namespace; returns once its standard error shows `ready`.
    func start(in ns: String, _ args: [String], ready: String) throws -> Background {
        try network.startSluice(in: ns, args, ready: ready)
    }
}

extension NetworkLab {
    /// Runs `sluice` inside network namespace `ns` to completion.
    func sluice(in ns: String, _ args: [String]) throws -> ToolResult { try exec(in: ns, [sluiceBinary] + args) }

    /// Starts `sluice` inside network namespace `ns`; returns once its standard error shows `ready`.
    func startSluice(in ns: String, _ args: [String], ready: String) throws -> Background {
        let b = try start(in: ns, [sluiceBinary] + args)
        guard b.waitForError(containing: ready, seconds: 20) else {
            b.terminate()
            throw LabError("sluice \(args.joined(separator: " ")) did not print '\(ready)'; stderr: \(b.errorText)")
        }
        return b
    }
}

struct LabError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
