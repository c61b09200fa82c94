import Foundation
import Testing
import Sluice
import SluiceIR
import SluicePcap
import SluicePcapFiles
import SluiceTesting

/// The Python of a virtual environment with p4runtime-shell (PyPI), which `.ci/run` creates and
/// names in SLUICE_P4RUNTIME_SHELL_PYTHON.
let p4runtimeShellPython: String? = ProcessInfo.processInfo.environment["SLUICE_P4RUNTIME_SHELL_PYTHON"]
/// CI must run the test: there a missing Python fails it instead of skipping it.
let inCI = ProcessInfo.processInfo.environment["SLUICE_CI"] == "true"

/// `sluice attach --p4runtime` driven by p4runtime-shell between network namespaces the test
/// creates: the controller sets the pipeline (P4Info and program file from `sluice compile`),
/// writes routes and reads them back; packets sent on the veths come out forwarded exactly; a
/// direct counter read through P4Runtime equals the packets sent, and counts on from what a
/// controller writes; all-or-none batches that fail leave nothing; a backup is refused writes.
/// The same on the XDP backend, where each pipeline the controller sets replaces the previous one
/// at every port and DATAPLANE_ATOMIC is refused.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces and veth pairs and captures with libpcap (CI runs as root)"),
       .enabled(if: p4runtimeShellPython != nil || inCI, "set SLUICE_P4RUNTIME_SHELL_PYTHON to a Python with p4runtime-shell (.ci/run does)"))
struct AttachP4RuntimeTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../P4RuntimeShell/drive.py").standardized.path

    /// drive.py MODE in the switch's namespace, against the server there; its JSON.
    func drive(_ lab: SwitchLab, _ mode: String, _ dir: String) throws -> [String: Any] {
        let python = try #require(p4runtimeShellPython, "SLUICE_P4RUNTIME_SHELL_PYTHON is not set")
        let r = try lab.network.exec(in: lab.switchNS, [python, Self.script, "127.0.0.1:9559", mode, dir], seconds: 60)
        #expect(r.status == 0, "drive.py \(mode): \(r.err)")
        let line = r.out.split(separator: "\n").last.map(String.init) ?? ""
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
    }

    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func p4runtimeShellProgramsTheSwitch() throws { try scenario(backend: []) }

    @Test func p4runtimeShellProgramsTheXDPSwitch() throws { try scenario(backend: ["--backend", "xdp", "--mode", "generic"]) }

    /// The switch in the lab on `backend` (attach's options), driven through every step.
    func scenario(backend: [String]) throws {
        let xdp = backend.contains("xdp")
        let lab = try SwitchLab(hosts: 2)
        defer { lab.remove() }
        let dir = try temporaryDirectory("p4rt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try lab.network.ip(in: lab.switchNS, ["link", "set", "lo", "up"])
        for p in ["ipv4-router", "acl-firewall", "l2-switch"] {
            #expect(try sluice("compile", p, "--emit", "p4info", "-o", "\(dir)/\(p).p4info.txt").status == 0)
            #expect(try sluice("compile", p, "--emit", "program", "-o", "\(dir)/\(p).json").status == 0)
        }
        // No --program: the controller sets the pipeline.
        let sw = try lab.network.startSluice(in: lab.switchNS, ["attach", "--p4runtime", "127.0.0.1:9559"] + backend + lab.around.portArguments, ready: "Ctrl-C to stop")
        defer { sw.terminate() }

        let routes = try drive(lab, "routes", dir)
        let a = AttachTests()
        let ids = try #require(routes["routes"] as? [[String: Any]])
        #expect(ids.map { $0["prefix"] as? String } == ["0a000100", "0a000200"])
        #expect(ids.map { $0["prefix_len"] as? Int } == [24, 24])
        #expect(ids.map { $0["params"] as? [String] } == [["02000000000a", "01"], ["02000000000b", "02"]])
        let dup = try #require(routes["duplicate"] as? [[String]])
        #expect(dup.first?.first == "ALREADY_EXISTS")
        #expect(dup.first?.last?.hasPrefix("table 'ipv4_lpm' (id 34892705): an entry with these match fields exists") == true)
        #expect((routes["missing_delete"] as? [[String]])?.first?.first == "NOT_FOUND")
        let backup = try #require(routes["backup_write"] as? [String])
        #expect(backup == ["PERMISSION_DENIED", "Write with election id 5: not the primary controller (the primary's election id is 10)"])
        #expect(routes["entries_after"] as? Int == 2)

        // Packets from host A to B's prefix come out on port 2, rewritten as ipv4-router does.
        let frames = (0..<12).map { i in a.udp(dst: AttachTests.switchMAC, src: AttachTests.macA, ttl: UInt8(10 + i), to: "10.0.2.7", payload: Array(repeating: UInt8(i), count: 20 + 50 * i)) }
        let expected = frames.map { f in a.udp(dst: AttachTests.macB, src: AttachTests.switchMAC, ttl: f[22] - 1, to: "10.0.2.7", payload: Array(f[42...])) }
        let captured = dir + "/b.pcap"
        let cap = try lab.capture(host: 1, count: expected.count, seconds: 20, into: captured)
        defer { cap.terminate() }
        #expect(try lab.send(host: 0, try a.file(dir, "a.pcap", frames)).status == 0)
        #expect(cap.wait(seconds: 25) == 0, "capture: \(cap.errorText)")
        #expect(try PcapFileReader.readAll(path: captured).map(\.bytes) == expected)

        // acl-firewall: a UDP-allowing ACL entry with a direct counter; its count is what was sent.
        let acl = try drive(lab, "acl", dir)
        #expect(acl["acl_entries"] as? Int == 1)
        let udp = (0..<9).map { i in a.udp(dst: AttachTests.switchMAC, src: AttachTests.macA, to: "10.0.2.8", payload: Array(repeating: 0xA0, count: 30 + i)) }
        let captured2 = dir + "/b2.pcap"
        let cap2 = try lab.capture(host: 1, count: udp.count, seconds: 20, into: captured2)
        defer { cap2.terminate() }
        #expect(try lab.send(host: 0, try a.file(dir, "a2.pcap", udp)).status == 0)
        #expect(cap2.wait(seconds: 25) == 0, "capture: \(cap2.errorText)")
        #expect(try PcapFileReader.readAll(path: captured2).count == udp.count)
        let counters = try #require(try drive(lab, "counters", dir)["counters"] as? [[String: Any]])
        #expect(counters.count == 1)
        #expect(counters.first?["packets"] as? Int == udp.count)
        #expect(counters.first?["bytes"] as? Int == udp.map(\.count).reduce(0, +))

        // The counter set through P4Runtime; batches that fail leave it and the routes alone;
        // packets count on from what was written.
        let writes = try drive(lab, "writes", dir)
        #expect(writes["written"] as? [[Int]] == [[1000, 64000]])
        // XDP runs packets while its maps change: DATAPLANE_ATOMIC is refused as a whole.
        if xdp {
            let refused = try #require(writes["dataplane_atomic"] as? [[Any]], "\(writes)")
            #expect(refused.count == 1)
            #expect(refused.first?[0] as? Int == -1)
            #expect(refused.first?[1] as? String == "UNIMPLEMENTED")
            #expect(refused.first?[2] as? String == "Write: atomicity DATAPLANE_ATOMIC is not supported: this switch runs packets while its tables change; use ROLLBACK_ON_ERROR (every update or none) or CONTINUE_ON_ERROR")
        }
        for (mode, name) in [("rollback", "ROLLBACK_ON_ERROR"), ("dataplane_atomic", "DATAPLANE_ATOMIC")] where !(xdp && mode == "dataplane_atomic") {
            let errors = try #require(writes[mode] as? [[Any]], "\(mode): \(writes)")
            #expect(errors.map { $0[0] as? Int } == [0, 1, 2])
            #expect(errors.map { $0[1] as? String } == ["ABORTED", "ABORTED", "ALREADY_EXISTS"])
            #expect(errors.first?[2] as? String == "undone: update 2 failed, and \(name) applies every update or none")
            #expect((errors.last?[2] as? String)?.hasPrefix("table 'ipv4_lpm' (id 34892705): an entry with these match fields exists") == true)
        }
        #expect(writes["routes_after"] as? [String] == ["0a000200"])
        #expect(writes["counts_after"] as? [[Int]] == [[1000, 64000]])
        let more = (0..<5).map { i in a.udp(dst: AttachTests.switchMAC, src: AttachTests.macA, to: "10.0.2.8", payload: Array(repeating: 0xB0, count: 40 + i)) }
        let captured3 = dir + "/b3.pcap"
        let cap3 = try lab.capture(host: 1, count: more.count, seconds: 20, into: captured3)
        defer { cap3.terminate() }
        #expect(try lab.send(host: 0, try a.file(dir, "a3.pcap", more)).status == 0)
        #expect(cap3.wait(seconds: 25) == 0, "capture: \(cap3.errorText)")
        let after = try #require(try drive(lab, "counters", dir)["counters"] as? [[String: Any]])
        #expect(after.first?["packets"] as? Int == 1000 + more.count)
        #expect(after.first?["bytes"] as? Int == 64000 + more.map(\.count).reduce(0, +))

        // l2-switch: a frame from an unknown source reaches the controller as a `learn` digest.
        if xdp {
            let shown = try lab.network.ip(in: lab.switchNS, ["-d", "link", "show"]).out
            #expect(shown.contains("xdpgeneric"), "the program is attached while the switch runs: \(shown)")
        }
        let python = try #require(p4runtimeShellPython, "SLUICE_P4RUNTIME_SHELL_PYTHON is not set")
        let listener = try lab.network.start(in: lab.switchNS, [python, Self.script, "127.0.0.1:9559", "digests", dir])
        defer { listener.terminate() }
        #expect(listener.waitForError(containing: "ready", seconds: 30), "drive.py digests: \(listener.errorText)")
        let unknown = (0..<3).map { _ in a.udp(dst: AttachTests.macB, src: AttachTests.macA, to: "10.0.2.9", payload: Array(repeating: 0xC0, count: 30)) }
        #expect(try lab.send(host: 0, try a.file(dir, "a4.pcap", unknown)).status == 0)
        #expect(listener.wait(seconds: 30) == 0, "drive.py digests: \(listener.errorText)")
        let learnt = (try? JSONSerialization.jsonObject(with: Data((listener.outputText.split(separator: "\n").last.map(String.init) ?? "").utf8))) as? [String: Any]
        #expect((learnt?["learnt"] as? [[String]])?.first == ["02000000000a", "01"], "\(listener.outputText)")

        // PacketOut and PacketIn with the punt program; on XDP through the CPU port's veth pair.
        try packetIO(lab, dir, python)

        sw.signal(SIGTERM)
        #expect(sw.wait(seconds: 10) == 0, "attach: \(sw.errorText)")
        if xdp {
            // Detached at exit: no port keeps the program, and the CPU port's pair is gone.
            for port in lab.around.portArguments where !port.hasPrefix("--") {
                let iface = String(port.split(separator: "=").last ?? "")
                let shown = try lab.network.ip(in: lab.switchNS, ["-d", "link", "show", iface]).out
                #expect(!shown.contains("xdp"), "\(iface): \(shown)")
            }
            let left = try lab.network.ip(in: lab.switchNS, ["link", "show"]).out
            #expect(!left.contains("slcpu"), "the CPU port's veth pair outlived the switch: \(left)")
        }
    }

    /// PacketOut and PacketIn through the CPU port (510) with the punt program, which the
    /// controller sets: the controller's frame leaves on port 2 as it was given; host A's frame
    /// reaches the controller with its ingress port (1) and reason 5 as metadata, and nothing else
    /// does.
    func packetIO(_ lab: SwitchLab, _ dir: String, _ python: String) throws {
        let a = AttachTests()
        let punt = try ControllerPacketFixtures.punt(cpuPort: 510).verified()
        try ProgramFile.encode(punt, writtenBy: "test").write(to: URL(fileURLWithPath: dir + "/punt.json"))
        #expect(try sluice("compile", dir + "/punt.json", "--emit", "p4info", "-o", "\(dir)/punt.p4info.txt").status == 0)
        let out = a.udp(dst: AttachTests.macB, src: AttachTests.switchMAC, to: "10.0.2.7", payload: Array(repeating: 0x0C, count: 40))
        let punted = a.udp(dst: AttachTests.switchMAC, src: AttachTests.macA, to: "10.9.9.9", payload: Array(repeating: 0x1E, count: 24))
        let captured5 = dir + "/b5.pcap"
        let cap5 = try lab.capture(host: 1, count: 1, seconds: 25, into: captured5)
        defer { cap5.terminate() }
        let io = try lab.network.start(in: lab.switchNS, [python, Self.script, "127.0.0.1:9559", "packet_io", dir, hex(out), hex(punted)])
        defer { io.terminate() }
        #expect(io.waitForError(containing: "ready", seconds: 30), "drive.py packet_io: \(io.errorText)")
        #expect(cap5.wait(seconds: 25) == 0, "capture: \(cap5.errorText)")
        #expect(try PcapFileReader.readAll(path: captured5).map(\.bytes) == [out])
        #expect(try lab.send(host: 0, try a.file(dir, "a5.pcap", [punted])).status == 0)
        #expect(io.wait(seconds: 30) == 0, "drive.py packet_io: \(io.errorText)")
        let got = (try? JSONSerialization.jsonObject(with: Data((io.outputText.split(separator: "\n").last.map(String.init) ?? "").utf8))) as? [String: Any]
        let packetIn = try #require(got?["packet_in"] as? [String: Any], "\(io.outputText)")
        // Nothing else reached the controller (on XDP: the kernel sends nothing through the pair).
        #expect(got?["packet_ins"] as? Int == 1, "\(io.outputText)")
        #expect(packetIn["payload"] as? String == hex(punted))
        // Values in P4Runtime's canonical form: the fewest bytes that hold them.
        #expect((packetIn["metadata"] as? [[Any]])?.map { $0.map { "\($0)" } } == [["1", "01"], ["2", "05"]], "\(packetIn)")
    }

    /// PacketIn and PacketOut with the program at the veths' native XDP hook: the CPU port's pair
    /// gets the native program too, and its own end has GRO on (else redirects into the pair are
    /// lost). The hosts' ends get GRO here, for the frame the controller sends to host B.
    @Test func packetIOOnNativeXDP() throws {
        let python = try #require(p4runtimeShellPython, "SLUICE_P4RUNTIME_SHELL_PYTHON is not set")
        let lab = try SwitchLab(hosts: 2)
        defer { lab.remove() }
        let dir = try temporaryDirectory("p4rt-native")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try lab.network.ip(in: lab.switchNS, ["link", "set", "lo", "up"])
        for (ns, iface) in zip(lab.around.hosts, lab.around.hostInterfaces) {
            let r = try lab.network.exec(in: ns, ["python3", "-c", Self.groOn, iface])
            #expect(r.status == 0, "GRO on \(iface): \(r.err)")
        }
        let sw = try lab.network.startSluice(in: lab.switchNS, ["attach", "--p4runtime", "127.0.0.1:9559", "--backend", "xdp", "--mode", "native"]
                                             + lab.around.portArguments, ready: "Ctrl-C to stop")
        defer { sw.terminate() }
        try packetIO(lab, dir, python)
        let shown = try lab.network.ip(in: lab.switchNS, ["-d", "link", "show"]).out
        #expect(shown.contains("slcpu") && !shown.contains("xdpgeneric"), "every port, the CPU port's included, is native: \(shown)")
        sw.signal(SIGTERM)
        #expect(sw.wait(seconds: 10) == 0, "attach: \(sw.errorText)")
        #expect(!(try lab.network.ip(in: lab.switchNS, ["link", "show"]).out.contains("slcpu")))
    }

    /// `python3 -c groOn IFACE`: GRO on IFACE (SIOCETHTOOL, ETHTOOL_SGRO), without ethtool.
    static let groOn = """
        import ctypes, fcntl, socket, struct, sys
        v = ctypes.create_string_buffer(struct.pack("II", 0x2c, 1))
        ifr = struct.pack("16sP", sys.argv[1].encode(), ctypes.addressof(v)) + bytes(16)
        fcntl.ioctl(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), 0x8946, ifr)
        """
}
