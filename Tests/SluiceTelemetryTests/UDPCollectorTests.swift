import Foundation
import SluiceTelemetry
import SluiceTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Sends `payloads` as UDP datagrams from an ephemeral port to 127.0.0.1:`port`.
func sendUDP(_ payloads: [[UInt8]], to port: UInt16) throws {
    let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard s >= 0 else { throw ScapyOracle.OracleError("socket: \(String(cString: strerror(errno)))") }
    defer { close(s) }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    a.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
    for p in payloads {
        let n = p.withUnsafeBytes { b in
            withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(s, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard n == p.count else { throw ScapyOracle.OracleError("sendto: \(String(cString: strerror(errno)))") }
        usleep(1000)
    }
}

/// The port `sluice collect --listen 0` printed.
func listeningPort(_ p: ChildProcess) throws -> UInt16 {
    #expect(p.waitForError(containing: "; Ctrl-C to stop", seconds: 30), "\(p.errorText)")
    let line = try #require(p.errorText.split(separator: "\n").first { $0.contains("collecting telemetry reports on UDP") })
    let after = try #require(line.split(separator: ":").dropFirst().first)
    return try #require(UInt16(after.prefix { $0.isNumber }))
}

@Suite(.serialized) struct UDPCollectorTests {
    /// Ten reports from one source with sequence 4 missing, and one malformed packet.
    static func traffic() throws -> [[UInt8]] {
        let seqs: [UInt32] = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10]
        var specs = seqs.map { s in
            ReportSpec(hwID: 2, seq: s, nodeID: 30, reports: [IndividualSpec(inner: InnerSpec(int: INTSpec(
                bitmap: 0xF000, hops: [HopSpec(nodeID: 20, ingressPort: 1, egressPort: 3, hopLatency: 500 + s, queueOccupancy: 100 * s),
                                       HopSpec(nodeID: 10, ingressPort: 2, egressPort: 1, hopLatency: 80, queueOccupancy: 0)])))])
        }
        var bad = specs[0]; bad.version = 3
        specs.insert(bad, at: 5)
        return try ScapyOracle.build(OracleRequest(packets: specs))
    }

    @Test func collectOnLoopbackCountsLostAndMalformedReports() throws {
        try #require(ScapyOracle.available, "scapy (python3-scapy) is the independent oracle")
        let payloads = try Self.traffic()
        let p = try ChildProcess(sluiceBinaryPath, ["collect", "--listen", "0", "--address", "127.0.0.1", "--count", "\(payloads.count)", "--json", "--duration", "60"])
        defer { p.terminate() }
        try sendUDP(payloads, to: try listeningPort(p))
        #expect(p.wait(seconds: 60) == 0, "\(p.errorText)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(p.outputText.utf8)) as? [String: Any], "\(p.outputText)")
        #expect(json["packets"] as? Int == 11)
        #expect(json["int_reports"] as? Int == 10)
        #expect(json["lost_reports"] as? Int == 1)
        #expect(json["malformed_total"] as? Int == 1)
        #expect((json["malformed"] as? [String: Int])?["bad_report_version"] == 1)
        let hops = try #require(json["hops"] as? [[String: Any]])
        #expect(hops.first?["node"] as? Int == 20 && hops.first?["egress_port"] as? Int == 3 && hops.first?["max_occupancy"] as? Int == 1000)
        let paths = try #require(json["paths"] as? [[String: Any]])
        #expect(paths.first?["nodes"] as? [Int] == [10, 20])
    }

    @Test func ctrlCWritesTheReport() throws {
        try #require(ScapyOracle.available, "scapy (python3-scapy) is the independent oracle")
        let payloads = try Self.traffic()
        let dir = NSTemporaryDirectory() + "sluice-collect-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try ChildProcess(sluiceBinaryPath, ["collect", "--listen", "0", "--address", "127.0.0.1", "--report", dir])
        defer { p.terminate() }
        try sendUDP(payloads, to: try listeningPort(p))
        // Give it time to drain the socket, then interrupt it as Ctrl-C would.
        usleep(300_000)
        p.signal(SIGINT)
        #expect(p.wait(seconds: 30) == 0, "\(p.errorText)")
        #expect(p.outputText.contains("stopped: interrupted (SIGINT)"))
        #expect(p.outputText.contains("11 report packets, 10 reports (10 INT-MD), 1 lost, 1 malformed"), "\(p.outputText)")
        #expect(p.errorText.contains("report: \(dir)/index.html"))
        let csv = try String(contentsOfFile: dir + "/hop-samples.csv", encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 1 + 20)
    }

    @Test func collectHelpExplainsItself() throws {
        let r = try ChildProcess.run(sluiceBinaryPath, ["collect", "--help"], seconds: 30)
        #expect(r.status == 0)
        #expect(r.out.contains("--listen <listen>") && r.out.contains("Telemetry Report v2.0") && r.out.contains("Ctrl-C"))
        let bad = try ChildProcess.run(sluiceBinaryPath, ["collect", "--listen", "1", "--address", "10.0.0"], seconds: 30)
        #expect(bad.status != 0 && bad.err.contains("--address '10.0.0': not an IPv4 address (valid: A.B.C.D, e.g. 127.0.0.1)"))
    }
}
