import Foundation
import Testing
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceTesting
import SluiceXDP

/// In-network aggregation in the kernel: `switchml` attached at XDP to three switch ports (in
/// this namespace), a worker namespace on each, `sluice allreduce --transport udp` in each
/// against the switch's service address: every int32 sum is exact, also when one worker's
/// updates see 2% loss (`injectLoss`: the switch answers its retransmissions). Packets are
/// processed on one CPU (the program has registers), so each slot's multi-register update is
/// atomic.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces and attaches XDP programs (CI runs as root)"))
struct AggregationXDPTests {
    @Test(arguments: ["generic", "native"], [false, true])
    func workersSumExactlyThroughSwitchmlInXDP(_ mode: String, lossy: Bool) throws {
        let tag = "sg\(getpid() % 10_000)\(mode.prefix(1))\(lossy ? "l" : "")", n = 3
        let workers = (0..<n).map { "\(tag)w\($0)" }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-agg-\(tag)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer {
            for w in workers { _ = try? ChildProcess.run("/usr/sbin/ip", ["netns", "del", w]) }
            for i in 0..<n { _ = try? ChildProcess.run("/usr/sbin/ip", ["link", "del", "\(tag)s\(i)"]) }
            try? FileManager.default.removeItem(atPath: dir)
        }
        let members = try makeWorkers(tag, workers)
        if mode == "native" {
            let pass = dir + "/pass.o"
            try XDPPassProgram.compile(to: pass)
            for (i, w) in workers.enumerated() {
                try sh("/usr/sbin/ip", ["-n", w, "link", "set", "\(tag)e\(i)", "xdpdrv", "obj", pass, "sec", "xdp"])
            }
        }
        let xdp = try XDPProgram(try ProgramRegistry.named("switchml")!.build().verified())
        let cp = try XDPControlPlane(xdp)
        try SwitchML.install(SwitchML.Job(job: 1, udpPort: 0xBEE1, slotBase: 0, slots: 64, group: 2, workers: members), into: cp)
        defer { xdp.detachAll() }
        for i in 0..<n { _ = try xdp.attach(interface: "\(tag)s\(i)", port: UInt16(i + 1), mode: mode == "native" ? .native : .generic) }
        if lossy { try injectLoss(namespace: workers[0], interface: "\(tag)e0", udpPort: 0xBEE1) }

        let runs = try (0..<n).map { i in
            try ChildProcess("/usr/sbin/ip", ["netns", "exec", workers[i], sluiceBinary, "allreduce", "--transport", "udp",
                                              "--aggregator", "10.255.255.1", "--rank", "\(i)", "--workers", "\(n)", "--size", "1MB",
                                              "--seed", "11", "--timeout", "60", "--json"])
        }
        for (i, r) in runs.enumerated() {
            #expect(r.wait(seconds: 90) == 0, "worker \(i): \(r.errorText)")
            #expect(allReduceCorrect(r.outputText), "worker \(i): \(r.outputText)")
        }
        if lossy {
            #expect((jsonFields(runs[0].outputText)?["retransmissions"] as? Int ?? 0) > 0,
                    "the lossy worker must have retransmitted: \(runs[0].outputText)")
        }
        let o = try xdp.outcomes()
        #expect((o[8] ?? 0) > 0, "no result was multicast: \(o)")
        xdp.detachAll()
        for i in 0..<n { #expect(try !sh("/usr/sbin/ip", ["link", "show", "\(tag)s\(i)"]).out.contains("xdp"), "left attached") }
    }

    /// The same through the command line: `sluice aggregator --backend xdp` (results to the
    /// broadcast MAC: no worker MACs given) and `sluice allreduce` workers.
    @Test func workersSumExactlyThroughTheXDPAggregatorCommand() throws {
        let tag = "sc\(getpid() % 10_000)", n = 3
        let workers = (0..<n).map { "\(tag)w\($0)" }
        defer {
            for w in workers { _ = try? ChildProcess.run("/usr/sbin/ip", ["netns", "del", w]) }
            for i in 0..<n { _ = try? ChildProcess.run("/usr/sbin/ip", ["link", "del", "\(tag)s\(i)"]) }
        }
        _ = try makeWorkers(tag, workers)
        let agg = try ChildProcess(sluiceBinary, ["aggregator", "--backend", "xdp", "--mode", "generic", "--duration", "60"]
                                   + (0..<n).flatMap { ["--port", "\($0 + 1)=\(tag)s\($0)", "--worker", "10.0.0.\($0 + 1)"] })
        defer { agg.terminate() }
        #expect(agg.waitForError(containing: "Ctrl-C to stop", seconds: 60), "\(agg.errorText)")
        let runs = try (0..<n).map { i in
            try ChildProcess("/usr/sbin/ip", ["netns", "exec", workers[i], sluiceBinary, "allreduce", "--transport", "udp",
                                              "--aggregator", "10.255.255.1", "--rank", "\(i)", "--workers", "\(n)", "--size", "512KB",
                                              "--dtype", "int32", "--seed", "12", "--timeout", "60", "--json"])
        }
        for (i, r) in runs.enumerated() {
            #expect(r.wait(seconds: 90) == 0, "worker \(i): \(r.errorText)")
            #expect(allReduceCorrect(r.outputText), "worker \(i): \(r.outputText)")
        }
        agg.signal(SIGTERM)
        #expect(agg.wait(seconds: 20) == 0, "\(agg.errorText)")
        #expect(agg.outputText.contains("results multicast"), "\(agg.outputText)")
        for i in 0..<n { #expect(try !sh("/usr/sbin/ip", ["link", "show", "\(tag)s\(i)"]).out.contains("xdp"), "left attached") }
    }

    /// A worker's interface deleted, or its program removed by someone else, under a running
    /// `sluice aggregator --backend xdp`: it stops with an error naming the interface, prints
    /// the counts, exits 1 and detaches the other port (it used to go on serving nothing).
    @Test(arguments: [true, false])
    func aVanishedPortStopsTheAggregator(_ deleted: Bool) throws {
        let lab = try RouterLab(prefix: "hg")
        defer { lab.remove() }
        let agg = try ChildProcess("/usr/sbin/ip", ["netns", "exec", lab.sw, sluiceBinary, "aggregator", "--backend", "xdp", "--mode", "generic",
                                                    "--port", "1=\(lab.sa)", "--port", "2=\(lab.sb)", "--worker", "10.0.1.1", "--worker", "10.0.2.1"])
        defer { agg.terminate() }
        #expect(agg.waitForError(containing: "Ctrl-C to stop", seconds: 60), "\(agg.errorText)")
        #expect(try lab.xdpAttached(lab.sw, lab.sb), "never attached: \(agg.errorText)")
        try sh("/usr/sbin/ip", ["-n", lab.sw, "link"] + (deleted ? ["del", lab.sb] : ["set", "dev", lab.sb, "xdpgeneric", "off"]))
        #expect(agg.wait(seconds: 30) == 1)
        let why = deleted ? "interface \(lab.sb) is gone (deleted, or moved to another network namespace)"
                          : "the XDP program on \(lab.sb) was removed or replaced by someone else (now none)"
        #expect(agg.errorText.hasSuffix("Error: \(why); stopped and detached the other ports\n"), "\(agg.errorText)")
        #expect(agg.outputText == "updates 0, results multicast 0, slots cleared when idle 0 times\n", "\(agg.outputText)")
        #expect(try !lab.xdpAttached(lab.sw, lab.sa), "port 1 stayed attached")
    }

    /// Worker namespaces `workers`, worker i at 10.0.0.(i + 1) behind veth `<tag>e<i>`, whose
    /// other end `<tag>s<i>` is in this namespace; a route and a neighbour entry for the
    /// service address through it. Returns the job's workers (switch port i + 1).
    func makeWorkers(_ tag: String, _ workers: [String]) throws -> [SwitchML.Worker] {
        var members: [SwitchML.Worker] = []
        for (i, w) in workers.enumerated() {
            try sh("/usr/sbin/ip", ["netns", "add", w])
            try sh("/usr/sbin/ip", ["netns", "exec", w, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
            try sh("/usr/sbin/ip", ["-n", w, "link", "set", "lo", "up"])
            try sh("/usr/sbin/ip", ["link", "add", "\(tag)s\(i)", "type", "veth", "peer", "name", "\(tag)e\(i)", "netns", w])
            _ = try? ChildProcess.run("/usr/sbin/sysctl", ["-qw", "net.ipv6.conf.\(tag)s\(i).disable_ipv6=1"])
            try sh("/usr/sbin/ip", ["link", "set", "\(tag)s\(i)", "up"])
            try sh("/usr/sbin/ip", ["-n", w, "link", "set", "\(tag)e\(i)", "up"])
            try sh("/usr/sbin/ip", ["-n", w, "addr", "add", "10.0.0.\(i + 1)/24", "dev", "\(tag)e\(i)"])
            let swMAC = try mac(nil, "\(tag)s\(i)"), wMAC = try mac(w, "\(tag)e\(i)")
            try sh("/usr/sbin/ip", ["-n", w, "route", "add", "10.255.255.1", "dev", "\(tag)e\(i)"])
            try sh("/usr/sbin/ip", ["-n", w, "neigh", "add", "10.255.255.1", "lladdr", swMAC, "dev", "\(tag)e\(i)"])
            members.append(SwitchML.Worker(ip: 0x0A00_0001 + UInt32(i), mac: UInt64(wMAC.split(separator: ":").joined(), radix: 16)!,
                                           udpPort: UInt16(40_000 + i), switchPort: UInt16(i + 1)))
        }
        return members
    }

    func mac(_ ns: String?, _ i: String) throws -> String {
        let out = try sh("/usr/sbin/ip", (ns.map { ["-n", $0] } ?? []) + ["-o", "link", "show", i]).out
        guard let r = out.range(of: "link/ether ") else { throw LabError("no MAC for \(i): \(out)") }
        return String(out[r.upperBound...].prefix(17))
    }
}
