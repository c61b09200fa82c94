import SluiceTestingML
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
        let network = NetworkLab(prefix: "sg"), n = 3
        defer { network.remove() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-agg-\(network.tag)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (lab, members) = try network.addSwitchMLWorkers(n)
        let workers = lab.hosts
        if mode == "native" {
            let pass = dir + "/pass.o"
            try XDPPassProgram.compile(to: pass)
            for (w, e) in zip(workers, lab.hostInterfaces) {
                try network.ip(in: w, ["link", "set", e, "xdpdrv", "obj", pass, "sec", "xdp"])
            }
        }
        let xdp = try XDPProgram(try ProgramRegistry.named("switchml")!.build().verified())
        let cp = try XDPControlPlane(xdp)
        try SwitchML.install(SwitchML.Job(job: 1, udpPort: 0xBEE1, slotBase: 0, slots: 64, group: 2, workers: members), into: cp)
        defer { xdp.detachAll() }
        for (i, port) in lab.switchPorts.enumerated() { _ = try xdp.attach(interface: port, port: UInt16(i + 1), mode: mode == "native" ? .native : .generic) }
        if lossy { try injectLoss(network, namespace: workers[0], interface: lab.hostInterfaces[0], udpPort: 0xBEE1) }

        let runs = try (0..<n).map { i in
            try network.start(in: workers[i], [sluiceBinary, "allreduce", "--transport", "udp",
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
        for port in lab.switchPorts { #expect(try !network.xdpAttached(port), "left attached") }
    }

    /// The same through the command line: `sluice aggregator --backend xdp` (results to the
    /// broadcast MAC: no worker MACs given) and `sluice allreduce` workers.
    @Test func workersSumExactlyThroughTheXDPAggregatorCommand() throws {
        let network = NetworkLab(prefix: "sc"), n = 3
        defer { network.remove() }
        let lab = try network.addSwitchMLWorkers(n).hosts
        let workers = lab.hosts
        let agg = try ChildProcess(sluiceBinary, ["aggregator", "--backend", "xdp", "--mode", "generic", "--duration", "60"]
                                   + lab.portArguments + (1...n).flatMap { ["--worker", "10.0.0.\($0)"] })
        defer { agg.terminate() }
        #expect(agg.waitForError(containing: "Ctrl-C to stop", seconds: 60), "\(agg.errorText)")
        let runs = try (0..<n).map { i in
            try network.start(in: workers[i], [sluiceBinary, "allreduce", "--transport", "udp",
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
        for port in lab.switchPorts { #expect(try !network.xdpAttached(port), "left attached") }
    }

    /// A worker's interface deleted, or its program removed by someone else, under a running
    /// `sluice aggregator --backend xdp`: it stops with an error naming the interface, prints
    /// the counts, exits 1 and detaches the other port (it used to go on serving nothing).
    @Test(arguments: [true, false])
    func aVanishedPortStopsTheAggregator(_ deleted: Bool) throws {
        let lab = try RouterLab(prefix: "hg")
        defer { lab.remove() }
        let agg = try lab.network.start(in: lab.sw, [sluiceBinary, "aggregator", "--backend", "xdp", "--mode", "generic",
                                                     "--port", "1=\(lab.sa)", "--port", "2=\(lab.sb)", "--worker", "10.0.1.1", "--worker", "10.0.2.1"])
        defer { agg.terminate() }
        #expect(agg.waitForError(containing: "Ctrl-C to stop", seconds: 60), "\(agg.errorText)")
        #expect(try lab.xdpAttached(lab.sw, lab.sb), "never attached: \(agg.errorText)")
        try lab.network.ip(in: lab.sw, ["link"] + (deleted ? ["del", lab.sb] : ["set", "dev", lab.sb, "xdpgeneric", "off"]))
        #expect(agg.wait(seconds: 30) == 1)
        let why = deleted ? "interface \(lab.sb) is gone (deleted, or moved to another network namespace)"
                          : "the XDP program on \(lab.sb) was removed or replaced by someone else (now none)"
        #expect(agg.errorText.hasSuffix("Error: \(why); stopped and detached the other ports\n"), "\(agg.errorText)")
        #expect(agg.outputText == "updates 0, results multicast 0, slots cleared when idle 0 times\n", "\(agg.outputText)")
        #expect(try !lab.xdpAttached(lab.sw, lab.sa), "port 1 stayed attached")
    }
}
