import Foundation
import SluiceEmulator
import SluiceTelemetry
import SluiceTesting
import Testing

@Suite(.serialized) struct INTIncastTests {
    /// The library run, checked against the emulator's own figures: the queue trace (each
    /// port's occupancies as a multiset), the per-port deepest queue the emulator counts on its
    /// own (`PortStats.maxQueueBytes`), and the datagrams the receivers got.
    @Test func intOccupanciesAreTheEmulatorsQueueTrace() throws {
        var settings = INTIncast.Settings()
        settings.seed = 7
        let setup = try INTIncast.setUp(settings)
        let stats = setup.run()
        let result = try INTIncast.result(setup)
        let emulator = setup.emulator, c = setup.collector
        let run = RunReport(emulator, stats: stats)

        // The trace's deepest entry per port is the emulator's own deepest-queue counter.
        for (sw, port) in emulator.queueTracePorts {
            let traceMax = try emulator.queueTrace(switch: sw, port: port).map(\.bytes).max() ?? 0
            let counted = try #require(run.ports.first { $0.node == sw && $0.port == port })
            #expect(Int(traceMax) == counted.maxQueueBytes, "\(sw):\(port)")
        }
        // Every INT sample of a port is a trace entry of that port, and none is missing.
        var ports = Set<String>()
        for s in c.samples { ports.insert("\(s.node):\(s.egressPort)") }
        #expect(ports.count == 3, "leaf1's uplink, spine1's downlink, leaf2's collector port: \(ports)")
        for key in ports {
            let parts = key.split(separator: ":").map { UInt32($0)! }
            let name = setup.name(ofNode: parts[0])
            let reported = c.samples.filter { $0.node == parts[0] && UInt32($0.egressPort) == parts[1] }.map(\.occupancy).sorted()
            let trace = try emulator.queueTrace(switch: name, port: UInt16(parts[1])).map(\.bytes).sorted()
            #expect(reported == trace, "\(name):\(parts[1])")
        }
        // The hottest queue: where the emulator counted its deepest switch queue.
        let deepest = try #require(run.ports.filter { p in setup.switchNames.contains(p.node) }.max { $0.maxQueueBytes < $1.maxQueueBytes })
        #expect(deepest.node == "leaf1" && deepest.port == 11, "the incast meets leaf1's uplink")
        #expect(result.hottestSwitch == deepest.node && result.hottestPort == deepest.port)
        #expect(Int(result.maxOccupancyBytes) == deepest.maxQueueBytes)
        #expect(result.matchesQueueTrace)
        // One report per datagram delivered (every flow is watched; nothing is lost).
        let delivered = run.flows.reduce(0) { $0 + Int($1.packetsReceived) }
        #expect(delivered == 8 * 40 + 400)
        #expect(result.reports == delivered && result.lostReports == 0 && result.malformedReports == 0)
        #expect(result.paths == [["leaf1", "spine1", "leaf2"]])
    }

    /// The experiment on two threads (`ParallelEmulation`: leaf1 and its hosts in one
    /// partition, leaf2, the collector's host and the spine in the other, every INT packet
    /// crossing the cut): the collector receives the same reports at the same times, the
    /// result is the same, and so is every pcap, byte for byte.
    @Test func twoThreadsGiveOnePartitionsCollectorAndPcaps() throws {
        let dir = NSTemporaryDirectory() + "sluice-int-threads-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var outcomes: [(result: Data, samples: [HopSample], reports: Int, pcaps: [String: Data])] = []
        for threads in [1, 2] {
            var settings = INTIncast.Settings()
            settings.seed = 7
            settings.threads = threads
            settings.pcapDirectory = "\(dir)/\(threads)"
            try FileManager.default.createDirectory(atPath: settings.pcapDirectory!, withIntermediateDirectories: true)
            let setup = try INTIncast.setUp(settings)
            #expect((setup.parallel != nil) == (threads > 1))
            setup.run()
            if let p = setup.parallel { #expect(p.crossings > 0 && p.unplannedConnections.isEmpty) }
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            let result = try e.encode(try INTIncast.result(setup))
            var pcaps: [String: Data] = [:]
            for f in try FileManager.default.contentsOfDirectory(atPath: settings.pcapDirectory!) {
                pcaps[f] = try Data(contentsOf: URL(fileURLWithPath: settings.pcapDirectory!).appendingPathComponent(f))
            }
            outcomes.append((result, setup.collector.samples, setup.collector.reports, pcaps))
        }
        let (one, two) = (outcomes[0], outcomes[1])
        #expect(one.reports == 720 && two.reports == 720)
        #expect(one.samples.count > 0 && one.samples == two.samples)
        #expect(one.result == two.result, "\(String(decoding: two.result, as: UTF8.self).prefix(600))")
        #expect(try JSONSerialization.jsonObject(with: one.result) as? [String: Any] != nil)
        #expect(one.pcaps.count == 22 && one.pcaps.keys.sorted() == two.pcaps.keys.sorted())
        for (name, bytes) in one.pcaps { #expect(two.pcaps[name] == bytes, "\(name)") }
    }

    /// What a run under MPI hands rank 0 (`MPIWorld.gather`): the collector, encoded and
    /// decoded, holds the same record (encoded again, the same bytes) and gives the same result.
    @Test func theCollectorTravelsWhole() throws {
        var settings = INTIncast.Settings()
        settings.seed = 7
        let setup = try INTIncast.setUp(settings)
        setup.run()
        let c = setup.collector
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        let bytes = try e.encode(c)
        let d = try JSONDecoder().decode(TelemetryCollector.self, from: bytes)
        #expect(try e.encode(d) == bytes)
        #expect(d.reports == 720 && d.packets == c.packets && d.intReports == c.intReports && d.samples == c.samples)
        #expect(d.lostReports == c.lostReports && d.malformed == c.malformed && d.nodeNames == c.nodeNames && d.nodeNames.count == 3)
        #expect(d.sources.count == c.sources.count && d.sources.allSatisfy { c.sources[$0.key] == $0.value })
        #expect(d.flows.map(\.key) == c.flows.map(\.key) && d.flows.map(\.reports) == c.flows.map(\.reports))
        #expect(d.paths.map(\.nodes) == c.paths.map(\.nodes) && d.paths.map(\.latencies) == c.paths.map(\.latencies))
        #expect(d.summary().hottest?.maxOccupancy == c.summary().hottest?.maxOccupancy)
        // A record that does not hold together is refused, not trusted.
        var broken = try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
        broken["malformed"] = [1]
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TelemetryCollector.self, from: try JSONSerialization.data(withJSONObject: broken)) }
    }

    /// `--threads 2` prints the JSON one partition prints; a cut the fabric cannot have is refused.
    @Test func theCommandOnTwoThreads() throws {
        let one = try ChildProcess.run(sluiceBinaryPath, ["experiment", "int-incast", "--json"], seconds: 300)
        let two = try ChildProcess.run(sluiceBinaryPath, ["experiment", "int-incast", "--json", "--threads", "2"], seconds: 300)
        #expect(one.status == 0 && two.status == 0, "\(one.err)\(two.err)")
        #expect(one.out.contains("\"reports\" : 720") && one.out == two.out, "\(two.out.prefix(400))")
        let three = try ChildProcess.run(sluiceBinaryPath, ["experiment", "int-incast", "--threads", "3"], seconds: 60)
        #expect(three.status != 0 && three.err.contains("--threads 3 (valid: 1, or 2: each leaf with its hosts)"), "\(three.err)")
    }

    /// The command: its JSON, its report folder, and its pcaps read by tshark with the Lua
    /// dissector (reports and INT over UDP marked by DSCP), against the library run's trace.
    @Test func theCommandsJSONReportAndPcaps() throws {
        let dir = NSTemporaryDirectory() + "sluice-int-incast-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try ChildProcess.run(sluiceBinaryPath, ["experiment", "int-incast", "--json", "--seed", "7",
                                                        "--report", dir + "/report", "--pcap-dir", dir + "/pcaps"], seconds: 300)
        #expect(r.status == 0, "\(r.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.out)")
        var settings = INTIncast.Settings()
        settings.seed = 7
        let setup = try INTIncast.setUp(settings)
        setup.run()
        let trace = try setup.emulator.queueTrace(switch: "leaf1", port: 11).map(\.bytes)
        #expect(json["reports"] as? Int == 720)
        #expect(json["lost_reports"] as? Int == 0)
        #expect(json["hottest_switch"] as? String == "leaf1")
        #expect(json["hottest_port"] as? Int == 11)
        #expect(json["max_occupancy_bytes"] as? Int == Int(trace.max()!))
        #expect(json["matches_queue_trace"] as? Bool == true)
        for f in ["index.html", "queue-occupancy.svg", "path-latency.svg", "trace-vs-int.svg", "hop-samples.csv", "int-incast.json"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/report/" + f), "\(f)")
        }

        let t = try TShark()
        defer { t.remove() }
        // The collector's link: every report, in sequence, with leaf1's hop read by tshark.
        let leaf1 = UInt32(setup.switchNames.firstIndex(of: "leaf1")! + 1)
        let rows = try t.fields(dir + "/pcaps/leaf2-10--h20-0.pcapng", filter: "int_report",
                                ["int_report.seq", "int_report.node_id", "int_md.hop.node_id", "int_md.hop.queue_occupancy", "int_md.hop.egress_timestamp"])
        #expect(rows.count == 720)
        #expect(rows.map { Int($0[0]) ?? -1 } == Array(0..<720))
        #expect(Set(rows.map { $0[1] }) == ["\(setup.switchNames.firstIndex(of: "leaf2")! + 1)"])
        var leaf1Hops: [(egress: UInt64, occupancy: UInt32)] = []
        for row in rows {
            let nodes = row[2].split(separator: ","), occ = row[3].split(separator: ","), eg = row[4].split(separator: ",")
            #expect(nodes.count == 2 && occ.count == 2 && eg.count == 2)
            if let i = nodes.firstIndex(of: Substring("\(leaf1)")) { leaf1Hops.append((UInt64(eg[i])!, UInt32(occ[i])!)) }
        }
        #expect(leaf1Hops.sorted { $0.egress < $1.egress }.map(\.occupancy) == trace, "tshark's leaf1 occupancies, in departure order, are the trace")
        // INT over UDP on the fabric link, found by its DSCP: two hops, the spine's newest.
        let fabric = try t.fields(dir + "/pcaps/leaf2-11--spine1-2.pcapng", ["ip.dsfield.dscp", "int_md.shim.npt", "int_md.hops", "int_md.hop.node_id"])
        #expect(fabric.count == 720)
        let spine = setup.switchNames.firstIndex(of: "spine1")! + 1
        #expect(fabric.allSatisfy { $0 == ["23", "0", "2", "\(spine),\(leaf1)"] })
    }
}
