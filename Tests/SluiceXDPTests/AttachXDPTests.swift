import Foundation
import Testing
import SluiceIR
import SluicePrograms
import SluiceTesting
import SluicePcap
import SluicePcapFiles
import SluiceEBPF

/// The `sluice` binary built beside the test bundle.
var sluiceBinary: String {
    var dir = Bundle.main.bundleURL
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("sluice").path) && dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent("sluice").path
}

@discardableResult
func sh(_ tool: String, _ args: [String], seconds: Double = 60) throws -> ChildProcess.Result {
    let r = try ChildProcess.run(tool, args, seconds: seconds)
    if r.status != 0 { throw LabError("\(tool) \(args.joined(separator: " ")) exited \(r.status): \(r.err)\(r.out)") }
    return r
}

/// h1 -- [sw] -- h2: three network namespaces, two veth pairs (h1's `a` to the switch's `sa`,
/// port 1; h2's `b` to `sb`, port 2), IPv6 off (the kernel sends nothing of its own). Unique
/// names; `remove()` in a defer.
final class RouterLab {
    let network: NetworkLab
    let h1: String, h2: String, sw: String
    let a: String, b: String, sa: String, sb: String
    let swA: String, h1MAC: String, h2MAC: String
    /// The start of every name.
    var tag: String { network.tag }

    /// `prefix` starts every name (namespaces and interfaces), so a suite's leftovers are recognisable.
    init(prefix: String = "sx") throws {
        network = NetworkLab(prefix: prefix)
        do {
            sw = try network.addNamespace("sw")
            let hosts = try network.addHosts(2, aroundSwitchIn: sw)
            (h1, h2) = (hosts.hosts[0], hosts.hosts[1])
            (a, b) = (hosts.hostInterfaces[0], hosts.hostInterfaces[1])
            (sa, sb) = (hosts.switchPorts[0], hosts.switchPorts[1])
            swA = try network.mac(of: sa, in: sw); h1MAC = try network.mac(of: a, in: h1); h2MAC = try network.mac(of: b, in: h2)
        } catch {
            network.remove()
            throw error
        }
    }

    func xdpAttached(_ ns: String, _ i: String) throws -> Bool { try network.xdpAttached(i, in: ns) }

    func remove() { network.remove() }
}

extension NetworkLab {
    /// Whether `ip link` shows an XDP program on `interface`.
    func xdpAttached(_ interface: String, in ns: String? = nil) throws -> Bool {
        try ip(in: ns, ["link", "show", interface]).out.contains("xdp")
    }
}

/// `sluice attach --backend xdp` forwarding between namespaces: the frames h2 captures are the
/// runtime's output for what h1 sent, byte for byte; nothing stays attached afterwards.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces and attaches XDP programs (CI runs as root)"))
struct AttachXDPTests {
    /// `native-threaded`: native mode with `--threaded-napi` (the ports poll in kernel threads
    /// while attached, and go back to softirq polling at exit).
    @Test(arguments: ["generic", "native", "native-threaded"])
    func routerForwardsBetweenNamespacesAndDetaches(_ variant: String) throws {
        let threaded = variant == "native-threaded"
        let mode = threaded ? "native" : variant
        let lab = try RouterLab()
        defer { lab.remove() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-xdp-attach-\(lab.tag)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let entries = "table_add ipv4_lpm ipv4_forward 10.0.2.0/24 => \(lab.h2MAC) 2\n"
        try entries.write(toFile: dir + "/routes.txt", atomically: true, encoding: .utf8)
        // 40 frames h1 -> 10.0.2.x (forwarded), 10 with TTL 1 (dropped).
        let swMAC = try MACAddress(lab.swA), h1MAC = try MACAddress(lab.h1MAC)
        var frames: [[UInt8]] = []
        for i in 0..<50 {
            frames.append(Packet.ethernet(dst: swMAC, src: h1MAC)
                .ipv4(src: "10.0.1.1", dst: IPv4Address(value: 0x0A00_0200 | UInt32(1 + i % 5)), ttl: i % 5 == 4 ? 1 : 64)
                .udp(sport: UInt16(4000 + i), dport: 9000).payload(count: 20 + i).bytes)
        }
        let w = try PcapWriter(path: dir + "/in.pcap")
        for (i, f) in frames.enumerated() { f.withUnsafeBytes { w.write(timestampNanoseconds: Int64(i) * 1000, bytes: $0) } }
        w.close()
        let runtime = try SwitchHarness(IPv4Router.program().verified(), entries: entries)
        var expected: [[UInt8]] = []
        for f in frames { try runtime.send(f, port: 1); expected += runtime.drain().filter { $0.port == 2 }.map(\.bytes) }
        #expect(expected.count == 40)

        if mode == "native" {
            // veth: a redirected frame is received only when the peer runs an XDP program, and
            // its checksum must be in the frame (no offload metadata survives native XDP).
            let pass = dir + "/pass.o"
            try XDPPassProgram.compile(to: pass)
            try lab.network.ip(in: lab.h2, ["link", "set", lab.b, "xdpdrv", "obj", pass, "sec", "xdp"])
        }
        let attach = try lab.network.start(in: lab.sw, [sluiceBinary, "attach", "--backend", "xdp", "--mode", mode,
                                                        "--program", "ipv4-router", "--entries", dir + "/routes.txt",
                                                        "--port", "1=\(lab.sa)", "--port", "2=\(lab.sb)", "--duration", "5", "--json"]
                                                       + (threaded ? ["--threaded-napi"] : []))
        defer { attach.terminate() }
        let capture = try lab.network.start(in: lab.h2, [sluiceBinary, "capture", "-Q", "in", "-i", lab.b, "-c", "\(expected.count)",
                                                         "--duration", "4", "-w", dir + "/out.pcap"])
        defer { capture.terminate() }
        // Wait until both are attached / capturing.
        var attached = false
        for _ in 0..<100 where !attached { usleep(50_000); attached = (try? lab.xdpAttached(lab.sw, lab.sa)) ?? false }
        #expect(attached, "the program never appeared on \(lab.sa)")
        usleep(500_000)
        func napiThreaded(_ i: String) throws -> String {
            try lab.network.execChecked(in: lab.sw, ["cat", "/sys/class/net/\(i)/threaded"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if threaded {
            #expect(try napiThreaded(lab.sa) == "1" && napiThreaded(lab.sb) == "1", "\(attach.errorText)")
            #expect(attach.errorText.contains("NAPI in threads"), "\(attach.errorText)")
        }
        try lab.network.execChecked(in: lab.h1, [sluiceBinary, "send", dir + "/in.pcap", "-i", lab.a])
        #expect(capture.wait(seconds: 10) == 0, "\(capture.errorText)")
        let status = attach.wait(seconds: 15)
        #expect(status == 0, "\(attach.errorText)")
        let json = attach.outputText
        #expect(jsonFields(json)?["forwarded"] as? Int == 40, "\(json)")
        #expect(jsonFields(json)?["ingress_drops"] as? Int == 10, "\(json)")
        let got = try PcapFileReader.readAll(path: dir + "/out.pcap").map(\.bytes)
        #expect(got == expected, "h2 captured \(got.count) frames; the runtime sent \(expected.count)")
        #expect(try !lab.xdpAttached(lab.sw, lab.sa) && !lab.xdpAttached(lab.sw, lab.sb), "an XDP program stayed attached")
        #expect(try napiThreaded(lab.sa) == "0" && napiThreaded(lab.sb) == "0", "NAPI threads were not put back")
    }

    /// --threaded-napi is for the XDP backend; on an interface without NAPI (a veth with the
    /// program attached in generic mode) it fails, names the interface, and leaves nothing
    /// attached.
    @Test func threadedNAPIErrorsNameTheProblem() throws {
        let bad = try ChildProcess.run(sluiceBinary, ["attach", "--program", "ipv4-router", "--port", "1=lo", "--threaded-napi"])
        #expect(bad.status != 0 && bad.err.contains("--threaded-napi needs --backend xdp"), "\(bad.err)")
        let lab = try RouterLab()
        defer { lab.remove() }
        let r = try lab.network.exec(in: lab.sw, [sluiceBinary, "attach", "--backend", "xdp", "--mode", "generic",
                                                  "--program", "ipv4-router", "--port", "1=\(lab.sa)", "--duration", "1", "--threaded-napi"])
        #expect(r.status != 0 && r.err.contains("--threaded-napi") && r.err.contains(lab.sa), "\(r.err)")
        #expect(try !lab.xdpAttached(lab.sw, lab.sa), "left attached after the error")
    }
}

/// SIGTERM detaches; after SIGKILL (a crash) the program stays, `sluice xdp status` names it,
/// and `sluice xdp detach` removes it.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces and attaches XDP programs (CI runs as root)"))
struct DetachXDPTests {
    func start(_ lab: RouterLab) throws -> ChildProcess {
        let p = try lab.network.start(in: lab.sw, [sluiceBinary, "attach", "--backend", "xdp", "--mode", "generic",
                                                  "--program", "ipv4-router", "--port", "1=\(lab.sa)", "--port", "2=\(lab.sb)"])
        var attached = false
        for _ in 0..<200 where !attached { usleep(50_000); attached = (try? lab.xdpAttached(lab.sw, lab.sb)) ?? false }
        #expect(attached, "never attached: \(p.errorText)")
        return p
    }

    @Test func sigtermDetachesAndACrashIsCleanedUp() throws {
        let lab = try RouterLab()
        defer { lab.remove() }
        let a = try start(lab)
        a.signal(SIGTERM)
        #expect(a.wait(seconds: 20) == 0, "\(a.errorText)")
        #expect(a.outputText.contains("outcomes:"))
        #expect(try !lab.xdpAttached(lab.sw, lab.sa) && !lab.xdpAttached(lab.sw, lab.sb), "SIGTERM left a program attached")

        let b = try start(lab)
        b.signal(SIGKILL)
        _ = b.wait(seconds: 20)
        #expect(try lab.xdpAttached(lab.sw, lab.sa), "after SIGKILL the kernel keeps the program attached")
        let status = try lab.network.execChecked(in: lab.sw, [sluiceBinary, "xdp", "status"]).out
        #expect(status.contains(lab.sa) && status.contains("attached by Sluice"), "\(status)")
        let listed = try lab.network.execChecked(in: lab.sw, [sluiceBinary, "xdp", "status", "--json"]).out
        let rows = try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]] ?? []
        #expect(Set(rows.compactMap { $0["interface"] as? String }) == [lab.sa, lab.sb], "\(listed)")
        #expect(rows.allSatisfy { $0["by_sluice"] as? Bool == true && $0["program"] as? String == "ipv4-router" }, "\(listed)")
        for i in [lab.sa, lab.sb] { try lab.network.execChecked(in: lab.sw, [sluiceBinary, "xdp", "detach", "-i", i]) }
        #expect(try !lab.xdpAttached(lab.sw, lab.sa) && !lab.xdpAttached(lab.sw, lab.sb))
        let after = try lab.network.execChecked(in: lab.sw, [sluiceBinary, "xdp", "status"]).out
        #expect(after.contains("no interface has an XDP program attached"), "\(after)")
    }
}

/// A program that passes everything, for a veth peer that must run XDP to receive redirects.
enum XDPPassProgram {
    static func compile(to path: String) throws {
        let c = "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC(\"xdp\") int pass(struct xdp_md *ctx) { return XDP_PASS; }\nchar LICENSE[] SEC(\"license\") = \"GPL\";\n"
        try EBPFObjectCompiler.compile(source: c, output: path)
    }
}

struct LabError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
