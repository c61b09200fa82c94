import Foundation
import Testing
import SluiceTesting
import SluiceEBPF

/// What `sluice attach --backend xdp` must not do to an interface: die on a signal with its
/// programs left behind, take over a program someone else attached, or leave NAPI threaded
/// after a crash without `sluice xdp detach` putting it back.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces and attaches XDP programs (CI runs as root)"))
struct AttachSafetyXDPTests {
    static let idle = "outcomes: forwarded 0, parser drops 0, ingress drops 0, egress drops 0, multicast 0, empty group 0, aborted 0, too large 0"

    func attach(_ lab: RouterLab, _ extra: [String], ports: [String]? = nil) throws -> ChildProcess {
        let ports = ports ?? [lab.sa, lab.sb]
        return try lab.network.start(in: lab.sw, [sluiceBinary, "attach", "--backend", "xdp", "--program", "ipv4-router"]
                                                 + ports.enumerated().flatMap { ["--port", "\($0.offset + 1)=\($0.element)"] } + extra)
    }

    func waitAttached(_ lab: RouterLab, _ i: String) -> Bool {
        for _ in 0..<200 { if (try? lab.xdpAttached(lab.sw, i)) == true { return true }; usleep(50_000) }
        return false
    }

    /// `ip -d link` names the program on `i`: its id.
    func programID(_ lab: RouterLab, _ i: String) throws -> String? {
        let out = try lab.network.ip(in: lab.sw, ["-d", "link", "show", i]).out
        guard let r = out.range(of: "prog/xdp id ") else { return nil }
        return String(out[r.upperBound...].prefix { $0.isNumber })
    }

    /// SIGUSR1 prints the outcomes and keeps running (with --json on stderr, standard output
    /// holding only the final object); SIGHUP stops it like SIGINT: exit 0, nothing attached.
    @Test(arguments: [false, true])
    func sigusr1PrintsAndSighupDetaches(_ json: Bool) throws {
        let lab = try RouterLab(prefix: "hx")
        defer { lab.remove() }
        let a = try attach(lab, ["--mode", "generic"] + (json ? ["--json"] : []))
        defer { a.terminate() }
        #expect(waitAttached(lab, lab.sb), "never attached: \(a.errorText)")
        a.signal(SIGUSR1)
        var printed = false
        for _ in 0..<100 where !printed { usleep(50_000); printed = (json ? a.errorText : a.outputText).contains(Self.idle) }
        #expect(printed, "no outcomes after SIGUSR1: \(a.outputText) \(a.errorText)")
        #expect(try lab.xdpAttached(lab.sw, lab.sa), "SIGUSR1 stopped it")
        a.signal(SIGHUP)
        #expect(a.wait(seconds: 20) == 0, "\(a.errorText)")
        if json {
            #expect(a.errorText.contains(Self.idle))
            let out = a.outputText.trimmingCharacters(in: .whitespacesAndNewlines)
            let fields = try #require(jsonFields(out), "\(out)")
            #expect(fields["backend"] as? String == "xdp" && fields["program"] as? String == "ipv4-router", "\(out)")
            let counts = ["forwarded", "parser_drops", "ingress_drops", "egress_drops", "multicast", "empty_group", "aborted", "too_large"]
            #expect(Set(fields.keys) == Set(counts + ["backend", "program"]) && counts.allSatisfy { fields[$0] as? Int == 0 }, "\(out)")
        } else {
            let lines = a.outputText.split(separator: "\n").map(String.init)
            #expect(lines.count == 3 && lines[0].hasPrefix("ipv4-router attached at XDP: ") && lines[1] == Self.idle && lines[2] == Self.idle, "\(lines)")
        }
        #expect(try !lab.xdpAttached(lab.sw, lab.sa) && !lab.xdpAttached(lab.sw, lab.sb), "SIGHUP left a program attached")
    }

    /// A foreign program on the second port: attach fails naming it and how to remove it,
    /// detaches the first port again and leaves the foreign program in place. A program another
    /// running `sluice attach` put there is refused the same way, and that run is unharmed.
    @Test func refusesAnInterfaceWithAnXDPProgram() throws {
        let lab = try RouterLab(prefix: "hx")
        defer { lab.remove() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-xdp-foreign-\(lab.tag)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try XDPPassProgram.compile(to: dir + "/pass.o")
        try lab.network.ip(in: lab.sw, ["link", "set", "dev", lab.sb, "xdpgeneric", "obj", dir + "/pass.o", "sec", "xdp"])
        let foreign = try #require(try programID(lab, lab.sb))

        let r = try attach(lab, ["--mode", "generic", "--duration", "2"])
        #expect(r.wait(seconds: 30) == 1)
        #expect(r.errorText.contains("Error: \(lab.sb): XDP program pass (id \(foreign), generic) is already attached (not Sluice's); Sluice does not replace it. Remove it first if it is no longer wanted: `sluice xdp detach -i \(lab.sb)` or `ip link set dev \(lab.sb) xdpgeneric off`"), "\(r.errorText)")
        #expect(try programID(lab, lab.sb) == foreign, "the foreign program was replaced or removed")
        #expect(try !lab.xdpAttached(lab.sw, lab.sa), "port 1 stayed attached after port 2 failed")

        // Another run's program: refused, and the first run still detaches cleanly.
        let first = try attach(lab, ["--mode", "generic"], ports: [lab.sa])
        defer { first.terminate() }
        #expect(waitAttached(lab, lab.sa), "never attached: \(first.errorText)")
        let ours = try #require(try programID(lab, lab.sa))
        // status gives the full name (from the program's BTF), not the kernel's 15 characters.
        let status = try lab.network.execChecked(in: lab.sw, [sluiceBinary, "xdp", "status"]).out
        #expect(status == "\(lab.sa)\tid \(ours)\tsluice_ipv4_router\tgeneric\tattached by Sluice (program ipv4-router; `sluice xdp detach -i \(lab.sa)` removes it)\n"
                + "\(lab.sb)\tid \(foreign)\tpass\tgeneric\tnot Sluice's\n", "\(status)")
        let second = try lab.network.exec(in: lab.sw, [sluiceBinary, "attach", "--backend", "xdp", "--mode", "generic",
                                                       "--program", "ipv4-router", "--port", "1=\(lab.sa)", "--duration", "2"])
        #expect(second.status == 1)
        #expect(second.err.contains("Error: \(lab.sa): XDP program sluice_ipv4_router (id \(ours), generic) is already attached (attached by Sluice: another `sluice attach` or `sluice aggregator` still running, or one that did not exit normally)"), "\(second.err)")
        #expect(try programID(lab, lab.sa) == ours)
        first.signal(SIGTERM)
        #expect(first.wait(seconds: 20) == 0, "\(first.errorText)")
        #expect(try !lab.xdpAttached(lab.sw, lab.sa))
        #expect(try programID(lab, lab.sb) == foreign)
    }

    /// A port's interface deleted, or its program removed by someone else, under a running
    /// attach: the run stops with an error naming the interface and exits 1, and the other port
    /// is detached (it used to go on counting nothing).
    @Test(arguments: [true, false])
    func aVanishedPortStopsTheRun(_ deleted: Bool) throws {
        let lab = try RouterLab(prefix: "hx")
        defer { lab.remove() }
        let a = try attach(lab, ["--mode", "generic"])
        defer { a.terminate() }
        #expect(waitAttached(lab, lab.sb), "never attached: \(a.errorText)")
        try lab.network.ip(in: lab.sw, ["link"] + (deleted ? ["del", lab.sb] : ["set", "dev", lab.sb, "xdpgeneric", "off"]))
        #expect(a.wait(seconds: 30) == 1)
        let why = deleted ? "interface \(lab.sb) is gone (deleted, or moved to another network namespace)"
                          : "the XDP program on \(lab.sb) was removed or replaced by someone else (now none)"
        #expect(a.errorText.hasSuffix("Error: \(why); stopped and detached the other ports\n"), "\(a.errorText)")
        #expect(a.outputText.hasSuffix(Self.idle + "\n"), "\(a.outputText)")
        #expect(try !lab.xdpAttached(lab.sw, lab.sa), "port 1 stayed attached")
    }

    /// The pcap backend on an interface where a killed XDP attach left its program: refused,
    /// naming the program and how to remove it; --force attaches with a warning.
    @Test func pcapAttachRefusesAnInterfaceWithAnOrphanedXDPProgram() throws {
        let lab = try RouterLab(prefix: "hx")
        defer { lab.remove() }
        let xdp = try attach(lab, ["--mode", "generic"], ports: [lab.sa])
        defer { xdp.terminate() }
        #expect(waitAttached(lab, lab.sa), "never attached: \(xdp.errorText)")
        xdp.signal(SIGKILL)
        _ = xdp.wait(seconds: 20)
        let id = try #require(try programID(lab, lab.sa), "SIGKILL should leave the program attached")

        func pcapAttach(_ extra: [String]) throws -> ChildProcess.Result {
            try lab.network.exec(in: lab.sw, [sluiceBinary, "attach", "--program", "ipv4-router",
                                              "--port", "1=\(lab.sa)", "--duration", "0.5"] + extra, seconds: 30)
        }
        let what = "\(lab.sa): XDP program sluice_ipv4_router (id \(id), generic) is attached (attached by Sluice: another `sluice attach` or `sluice aggregator` still running, or one that did not exit normally); it takes the packets before libpcap sees them, so port 1 would receive nothing"
        let refused = try pcapAttach([])
        #expect(refused.status == 1)
        #expect(refused.out == "")
        #expect(refused.err == "Error: \(what). Remove it first: `sluice xdp detach -i \(lab.sa)` or `ip link set dev \(lab.sa) xdpgeneric off`; or give --force to attach anyway\n")
        let forced = try pcapAttach(["--force"])
        #expect(forced.status == 0, "\(forced.err)")
        #expect(forced.err.hasPrefix("warning: \(what) (--force)\n"), "\(forced.err)")

        let detach = try lab.network.exec(in: lab.sw, [sluiceBinary, "xdp", "detach", "-i", lab.sa])
        #expect(detach.out == "removed sluice_ipv4_router (id \(id), generic) from \(lab.sa)\n", "\(detach.err)")
        let clean = try pcapAttach([])
        #expect(clean.status == 0, "\(clean.err)")
    }

    /// A program without BTF has only the kernel's 15 characters of its name: status marks it cut.
    @Test func statusMarksANameTheKernelCut() throws {
        let lab = try RouterLab(prefix: "hx")
        defer { lab.remove() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-xdp-nobtf-\(lab.tag)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let c = "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC(\"xdp\") int a_rather_long_pass_program(struct xdp_md *ctx) { return XDP_PASS; }\nchar LICENSE[] SEC(\"license\") = \"GPL\";\n"
        try c.write(toFile: dir + "/long.c", atomically: true, encoding: .utf8)
        let clang = try #require(try EBPFObjectCompiler.findClang())
        // No -g: no BTF to give the full name back.
        try sh(clang, ["-O2", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c", dir + "/long.c", "-o", dir + "/long.o"])
        try lab.network.ip(in: lab.sw, ["link", "set", "dev", lab.sa, "xdpgeneric", "obj", dir + "/long.o", "sec", "xdp"])
        let id = try #require(try programID(lab, lab.sa))
        let status = try lab.network.execChecked(in: lab.sw, [sluiceBinary, "xdp", "status"]).out
        #expect(status == "\(lab.sa)\tid \(id)\ta_rather_long_p…\tgeneric\tnot Sluice's\n", "\(status)")
    }

    /// Native on veths: one warning per port about redirected frames. After SIGKILL of a
    /// --threaded-napi run, `sluice xdp detach` turns NAPI threads off, says what it removed,
    /// then that nothing is attached; an unknown interface is named in the error.
    @Test func nativeVethWarningAndDetachAfterACrash() throws {
        let lab = try RouterLab(prefix: "hx")
        defer { lab.remove() }
        let a = try attach(lab, ["--mode", "native", "--threaded-napi"])
        defer { a.terminate() }
        #expect(waitAttached(lab, lab.sb), "never attached: \(a.errorText)")
        #expect(a.waitForError(containing: "warning: \(lab.sb) ", seconds: 10), "\(a.errorText)")
        for i in [lab.sa, lab.sb] {
            #expect(a.errorText.contains("warning: \(i) is a veth attached in native mode: frames redirected to it are silently lost unless its peer (in another network namespace) runs an XDP program (e.g. the one `sluice attach --backend xdp --port N=PEER` puts there) or has GRO on (`ethtool -K PEER gro on`); or attach with --mode generic\n"), "\(a.errorText)")
        }
        let id = try #require(try programID(lab, lab.sa))
        a.signal(SIGKILL)
        _ = a.wait(seconds: 20)
        func threaded() throws -> String {
            try lab.network.execChecked(in: lab.sw, ["cat", "/sys/class/net/\(lab.sa)/threaded"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try threaded() == "1", "SIGKILL should leave NAPI threaded")
        func detach(_ i: String) throws -> ChildProcess.Result {
            try lab.network.exec(in: lab.sw, [sluiceBinary, "xdp", "detach", "-i", i])
        }
        let d = try detach(lab.sa)
        #expect(d.status == 0 && d.out == "turned NAPI threads off on \(lab.sa) (sysfs threaded 1 -> 0)\nremoved sluice_ipv4_router (id \(id), native) from \(lab.sa)\n", "\(d.out)\(d.err)")
        #expect(try threaded() == "0")
        #expect(try !lab.xdpAttached(lab.sw, lab.sa))
        let again = try detach(lab.sa)
        #expect(again.status == 0 && again.out == "nothing attached to \(lab.sa)\n", "\(again.out)\(again.err)")
        _ = try detach(lab.sb)
        let missing = try detach(lab.tag + "zz")
        #expect(missing.status == 1 && missing.err.contains("Error: -i \(lab.tag)zz: no such interface in this network namespace"), "\(missing.err)")
    }
}
