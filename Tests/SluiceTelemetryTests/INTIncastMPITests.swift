import Foundation
import SluiceTesting
import Testing

private let inCI = ProcessInfo.processInfo.environment["SLUICE_CI"] == "true"

/// Open MPI's mpirun on PATH, if any.
private let mpirunOnPath: String? = {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        let path = "\(dir)/mpirun"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}()

/// `mpirun -np 2 sluice experiment int-incast --mpi`: the collector runs on the rank of its
/// host, rank 0 prints and writes what one partition does. CI installs Open MPI (.ci/run) and
/// runs these; elsewhere they need `mpirun` on PATH.
@Suite(.serialized, .enabled(if: mpirunOnPath != nil || inCI,
                             "mpirun not found: install Open MPI (apt-get install -y openmpi-bin; .ci/run does)"))
struct INTIncastMPITests {
    /// `sluice args` as `ranks` MPI ranks: as root too (CI), on fewer cores than ranks, and
    /// with shared-memory messages that need no ptrace rights (containers).
    static func mpi(_ ranks: Int, _ args: [String]) throws -> ChildProcess.Result {
        let mpirun = try #require(mpirunOnPath, "mpirun not found: install Open MPI (apt-get install -y openmpi-bin)")
        return try ChildProcess.run("/usr/bin/env", ["OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
                                                     "OMPI_MCA_btl_vader_single_copy_mechanism=none",
                                                     mpirun, "--oversubscribe", "-np", "\(ranks)", sluiceBinaryPath] + args, seconds: 300)
    }

    static func files(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) {
            out[f] = try Data(contentsOf: URL(fileURLWithPath: dir).appendingPathComponent(f))
        }
        return out
    }

    /// One partition and two ranks: the same JSON (reports, lost, malformed, the hottest
    /// queue, every port's INT samples equal to the queue trace), the same lines, the same
    /// pcaps and report folder, byte for byte.
    @Test func twoRanksGiveOnePartitionsResultPcapsAndReport() throws {
        let dir = NSTemporaryDirectory() + "sluice-int-mpi-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["experiment", "int-incast", "--seed", "7"]
        let one = try ChildProcess.run(sluiceBinaryPath, args + ["--json"], seconds: 300)
        let two = try Self.mpi(2, args + ["--json", "--mpi"])
        #expect(one.status == 0 && two.status == 0, "\(one.err)\(two.err)")
        #expect(one.out == two.out, "\(two.out.prefix(600))")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(two.out.utf8)) as? [String: Any], "\(two.out)")
        #expect(json["reports"] as? Int == 720)
        #expect(json["lost_reports"] as? Int == 0 && json["malformed_reports"] as? Int == 0)
        #expect(json["hottest_switch"] as? String == "leaf1" && json["hottest_port"] as? Int == 11)
        #expect(json["trace_hottest_switch"] as? String == "leaf1" && json["trace_hottest_port"] as? Int == 11)
        #expect((json["max_occupancy_bytes"] as? Int ?? 0) > 0 && json["max_occupancy_bytes"] as? Int == json["trace_max_bytes"] as? Int)
        #expect(json["matches_queue_trace"] as? Bool == true)
        let ports = try #require(json["ports"] as? [[String: Any]])
        #expect(ports.count == 3 && ports.allSatisfy { $0["equal"] as? Bool == true && ($0["int_samples"] as? Int ?? 0) > 0 })

        // The lines, the report folder and the pcaps (staged, then moved in by rank 0).
        let oneText = try ChildProcess.run(sluiceBinaryPath, args + ["--report", "\(dir)/one/report", "--pcap-dir", "\(dir)/one/pcaps"], seconds: 300)
        let twoText = try Self.mpi(2, args + ["--report", "\(dir)/two/report", "--pcap-dir", "\(dir)/two/pcaps", "--mpi"])
        #expect(oneText.status == 0 && twoText.status == 0, "\(oneText.err)\(twoText.err)")
        #expect(oneText.out.contains("720 reports, 0 lost, 0 malformed") && oneText.out == twoText.out, "\(twoText.out)")
        let pcaps = (try Self.files("\(dir)/one/pcaps"), try Self.files("\(dir)/two/pcaps"))
        #expect(pcaps.0.count == 22 && pcaps.0.keys.sorted() == pcaps.1.keys.sorted(), "the staging folder is gone, every pcap moved in")
        for (name, bytes) in pcaps.0 { #expect(pcaps.1[name] == bytes, "\(name)") }
        let reports = (try Self.files("\(dir)/one/report"), try Self.files("\(dir)/two/report"))
        #expect(reports.0.keys.contains("int-incast.json") && reports.0.keys.contains("index.html"))
        #expect(reports.0.keys.sorted() == reports.1.keys.sorted())
        for (name, bytes) in reports.0 { #expect(reports.1[name] == bytes, "\(name)") }
    }

    /// `--mpi` alone names the command to run; with --threads it is refused; so is a number of
    /// ranks the fabric has no cut for, said once.
    @Test func refusalsSayWhatToDo() throws {
        let alone = try ChildProcess.run(sluiceBinaryPath, ["experiment", "int-incast", "--mpi"], seconds: 60)
        #expect(alone.status != 0 && alone.err.contains("--mpi: this process was not started by mpirun (OMPI_COMM_WORLD_SIZE is not set); run `mpirun -np 2 sluice experiment int-incast --mpi`"), "\(alone.err)")
        let both = try ChildProcess.run(sluiceBinaryPath, ["experiment", "int-incast", "--mpi", "--threads", "2"], seconds: 60)
        #expect(both.status != 0 && both.err.contains("--mpi and --threads 2: a run has one rank a partition (--mpi, under mpirun -np 2) or one thread a partition (--threads 2); drop one"), "\(both.err)")
        let other = try ChildProcess.run(sluiceBinaryPath, ["experiment", "lb", "--mpi"], seconds: 60)
        #expect(other.status != 0 && other.err.contains("--mpi is for int-incast"), "\(other.err)")
        let three = try Self.mpi(3, ["experiment", "int-incast", "--mpi"])
        let message = "mpirun -np 3 (valid: mpirun -np 2: each leaf with its hosts)"
        #expect(three.status != 0 && three.err.contains(message), "\(three.err)")
        #expect(three.err.components(separatedBy: message).count == 2, "said once: \(three.err)")
    }
}
