import Foundation
import Testing
import SluiceIR
import SluiceTesting
@testable import SluicePrograms

/// The `sluice` command line, run as a process: output, exit status and whole error messages.
@Suite struct CLITests {
    /// The `sluice` binary built beside the test bundle.
    static var binary: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("sluice").path) && dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("sluice")
    }

    func sluice(_ args: String...) throws -> (status: Int32, out: String, err: String) { try Self.run(args) }

    /// Runs the binary (or `executable`, such as mpirun) with `args` to completion: exit
    /// status, standard output and error.
    static func run(_ args: [String], environment: [String: String] = [:], executable: URL? = nil) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = executable ?? Self.binary
        p.arguments = args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Standard error is read beside standard output: a command that fills one pipe while
        // the other is being read to its end would wait forever.
        final class Box: @unchecked Sendable { var data = Data() }
        let e = Box(), done = DispatchSemaphore(value: 0)
        let reader = err.fileHandleForReading
        DispatchQueue.global().async { e.data = reader.readDataToEndOfFile(); done.signal() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e.data, as: UTF8.self))
    }

    /// A SLUICE_CLANG that is not an executable is named, not passed over for another clang.
    @Test func aWrongSluiceClangIsNamed() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-clang-\(getpid()).o").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try Self.run(["compile", "ipv4-router", "--emit", "ebpf-object", "-o", out], environment: ["SLUICE_CLANG": "/nonexistent/clang"])
        #expect(r.status != 0 && r.err.contains("SLUICE_CLANG=/nonexistent/clang is not an executable file"), "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// `--version` prints the version, and program files record the same one as their writer.
    @Test func versionIsPrintedAndRecordedInProgramFiles() throws {
        let v = try sluice("--version")
        let version = v.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(v.status == 0 && version.hasPrefix("sluice ")
                && version.dropFirst(7).split(separator: ".", omittingEmptySubsequences: false).map { $0.allSatisfy(\.isNumber) && !$0.isEmpty } == [true, true, true], "\(v.out)\(v.err)")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-version-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(try sluice("compile", "ipv4-router", "--emit", "program", "-o", file).status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any]
        #expect(json?["writtenBy"] as? String == version)
    }

    @Test func programsListsEveryRegisteredProgramWithItsSummary() throws {
        let r = try sluice("programs")
        #expect(r.status == 0)
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(lines.count == ProgramRegistry.all.count)
        for (line, p) in zip(lines, ProgramRegistry.all) {
            #expect(line.hasPrefix(p.name + " "))
            #expect(line.hasSuffix(p.summary))
        }
    }

    @Test func compileEmitsTheSameIRAsThePrinter() throws {
        let r = try sluice("compile", "ipv4-router", "--emit", "ir")
        #expect(r.status == 0)
        #expect(r.out == IRPrinter.print(IPv4Router.program().ir))
    }

    @Test func anUnknownProgramNamesTheValidOnes() throws {
        let r = try sluice("compile", "ipv5-router", "--emit", "ir")
        #expect(r.status != 0)
        #expect(r.err.contains("Error: unknown program 'ipv5-router'; available: \(ProgramRegistry.all.map(\.name).joined(separator: ", ")) (see `sluice programs`)"))
    }

    @Test func runForwardsAPacketGivenInHex() throws {
        let entries = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-cli-\(UUID().uuidString).txt")
        try "table_add ipv4_lpm ipv4_forward 10.0.1.0/24 => 08:00:00:00:01:11 1\n".write(to: entries, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: entries) }
        let input = Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99")
            .ipv4(src: "10.0.9.9", dst: "10.0.1.5", ttl: 64).udp(sport: 1, dport: 2).bytes
        let output = Packet.ethernet(dst: "08:00:00:00:01:11", src: "00:00:00:00:00:01")
            .ipv4(src: "10.0.9.9", dst: "10.0.1.5", ttl: 63).udp(sport: 1, dport: 2).bytes
        let r = try sluice("run", "ipv4-router", "--entries", entries.path, "--packet", "0:" + input.hexString(separator: ""))
        #expect(r.status == 0)
        #expect(r.out == """
            packet 1 in port 0 -> out port 1: \(output.hexString(separator: ""))
            received 1, sent 1, parser drops 0, ingress drops 0, egress drops 0; engine native

            """)
    }

    @Test func runAndSTFPrintJSON() throws {
        let entries = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-cli-\(UUID().uuidString).txt")
        try "table_add ipv4_lpm ipv4_forward 10.0.1.0/24 => 08:00:00:00:01:11 1\n".write(to: entries, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: entries) }
        let input = Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99")
            .ipv4(src: "10.0.9.9", dst: "10.0.1.5", ttl: 64).udp(sport: 1, dport: 2).bytes
        let output = Packet.ethernet(dst: "08:00:00:00:01:11", src: "00:00:00:00:00:01")
            .ipv4(src: "10.0.9.9", dst: "10.0.1.5", ttl: 63).udp(sport: 1, dport: 2).bytes
        let r = try sluice("run", "ipv4-router", "--entries", entries.path, "--json",
                           "--packet", "0:" + input.hexString(separator: ""), "--packet", "2:00")
        #expect(r.status == 0, "\(r.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let packets = try #require(json["packets"] as? [[String: Any]])
        #expect(packets.count == 2)
        #expect((packets[0]["outputs"] as? [[String: Any]])?.map { "\($0["port"]!):\($0["bytes"]!)" } == ["1:" + output.hexString(separator: "")])
        #expect(packets[1]["dropped"] as? Bool == true && packets[1]["port"] as? Int == 2)
        #expect((json["counts"] as? [String: Int]) == ["received": 2, "sent": 1, "parser_drops": 1, "ingress_drops": 0, "egress_drops": 0])

        let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Specs/ipv4-router.stf")
        let ok = try sluice("stf", spec.path, "--program", "ipv4-router", "--json")
        let passed = try #require(try JSONSerialization.jsonObject(with: Data(ok.out.utf8)) as? [String: Any])
        #expect(ok.status == 0 && passed["passed"] as? Bool == true && passed["failure"] is NSNull)
        let bad = try sluice("stf", spec.path, "--program", "l2-switch", "--json")
        let failed = try #require(try JSONSerialization.jsonObject(with: Data(bad.out.utf8)) as? [String: Any])
        #expect(bad.status == 1 && failed["passed"] as? Bool == false && (failed["failure"] as? String)?.hasPrefix(spec.path) == true, "\(failed)")

        let listed = try sluice("programs", "--json")
        let programs = try #require(try JSONSerialization.jsonObject(with: Data(listed.out.utf8)) as? [[String: Any]])
        #expect(programs.first { $0["name"] as? String == "ecmp-router" }?["routed"] as? Bool == true)
        #expect(programs.first { $0["name"] as? String == "l2-switch" }?["controller"] as? Bool == true)
    }

    @Test func aBadEntriesLineIsNamedByFileAndLine() throws {
        let entries = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-cli-\(UUID().uuidString).txt")
        try "# routes\ntable_add ipv4_lpm ipv4_forward 10.0.1.0/24 10.0.2.0/24 => 1 1\n".write(to: entries, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: entries) }
        let r = try sluice("run", "ipv4-router", "--entries", entries.path)
        #expect(r.status != 0)
        #expect(r.err.contains("\(entries.path):2: table 'ipv4_lpm' has 1 key (hdr.ipv4.dstAddr: lpm), the line gives 2 matches"))
    }

    @Test func stfRunsASpecFile() throws {
        let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Specs/ipv4-router.stf")
        let r = try sluice("stf", spec.path, "--program", "ipv4-router")
        #expect(r.status == 0)
        #expect(r.out.hasPrefix("\(spec.path): pass ("))
    }

    /// Any program, here a program file with an entries file: packets made from its parser, the
    /// closure engine as the native engine's baseline, both checked to agree before timing.
    @Test func benchMeasuresAProgramFileAgainstTheOtherEngine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let program = dir.appendingPathComponent("router.json").path, entries = dir.appendingPathComponent("routes.txt").path
        #expect(try sluice("compile", "ipv4-router", "--emit", "program", "-o", program).status == 0)
        try "table_add ipv4_lpm ipv4_forward 10.0.0.0/8 => 00:00:00:00:00:01 1\ntable_add ipv4_lpm ipv4_forward 10.1.0.0/16 => 00:00:00:00:00:02 2\n"
            .write(toFile: entries, atomically: true, encoding: .utf8)
        var pools: [[Int]] = []
        for engine in ["closures", "native"] {
            let r = try sluice("bench", "pipeline", "--program", program, "--entries", entries, "--packets", "5000", "--seed", "9",
                               "--engine", engine, "--json")
            #expect(r.status == 0, "\(r.err)")
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
            #expect(obj["program"] as? String == program)
            #expect((obj["mpps"] as? Double ?? 0) > 0)
            // The same seeded pool whatever the engine: what it does is pinned.
            pools.append(["pool_packets", "pool_forwarded", "pool_dropped", "pool_parser_drops", "pool_ingress_drops"].map { obj[$0] as? Int ?? -1 })
            if engine == "native" && obj["engine"] as? String == "native" {
                #expect(obj["baseline"] as? String == "closures")
                #expect((obj["speedup"] as? Double ?? 0) > 0)
            } else {
                #expect(obj["baseline"] as? String == "none")
            }
        }
        #expect(pools == [[4096, 152, 3944, 0, 3944], [4096, 152, 3944, 0, 3944]])
        let bad = try sluice("bench", "pipeline", "--program", "ipv4-ruoter", "--packets", "10")
        #expect(bad.status != 0)
        #expect(bad.err.contains("unknown program 'ipv4-ruoter'"))
        #expect(bad.err.contains("did you mean 'ipv4-router'"))
    }

    @Test func benchPrintsItsJSON() throws {
        let r = try sluice("bench", "pipeline", "--packets", "2000", "--routes", "100", "--seed", "5", "--json")
        #expect(r.status == 0)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(obj["program"] as? String == "ipv4-router")
        #expect(obj["packets"] as? Int == 2000)
        for k in ["mpps", "baseline_mpps", "overhead"] { #expect((obj[k] as? Double ?? 0) > 0, "\(k)") }
    }
    // MARK: experiments

    @Test func experimentPrintsJSONRowsWithCheckedResults() throws {
        let r = try sluice("experiment", "ina-e3", "--scale", "0.01", "--seed", "3", "--json")
        #expect(r.status == 0, "\(r.err)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
        #expect(rows.count == 7)                                   // pools of 4 ... 256 slots
        #expect(rows.map { $0["pool_slots"] as? Int } == [4, 8, 16, 32, 64, 128, 256])
        for row in rows {
            for k in ["experiment", "scheme", "workers", "rate_gbps", "size_bytes", "elements_per_packet", "loss",
                      "time_s", "elements_per_s", "exact"] {
                #expect(row[k] != nil, "missing \(k)")
            }
            #expect(row["exact"] as? Bool == true)
            #expect(row["experiment"] as? String == "ina-e3")
        }
        #expect(r.err.contains("seed 3"))
    }

    /// ina-e1's rows on two threads at once: the table in row order, every result checked.
    @Test func e1RunsRowsAtOnceInRowOrder() throws {
        let r = try sluice("experiment", "ina-e1", "--scale", "0.002", "--seed", "3", "--rows-at-once", "2", "--json")
        #expect(r.status == 0, "\(r.err)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
        #expect(rows.map { "\($0["scheme"] ?? "") \($0["rate_gbps"] ?? "")" } ==
                ["10", "100"].flatMap { rate in ["switchml-k64", "switchml-k256", "ring", "tree", "ps", "ps-sharded"].map { "\($0) \(rate)" } })
        #expect(rows.allSatisfy { $0["within_bound"] as? Bool == true })
    }

    @Test func rowsAtOnceIsRefusedWhereRowsRunOneAtATime() throws {
        let r = try sluice("experiment", "ina-e3", "--rows-at-once", "2")
        #expect(r.status != 0)
        #expect(r.err.contains("--rows-at-once is for ina-e1"))
        let zero = try sluice("demo", "--rows-at-once", "0")
        #expect(zero.status != 0)
        #expect(zero.err.contains("--rows-at-once 0 (valid: 1 ... 64)"))
    }

    @Test func anUnknownExperimentNamesTheValidOnes() throws {
        let r = try sluice("experiment", "ina-e9")
        #expect(r.status != 0)
        #expect(r.err.contains("ina-e9") && r.err.contains("ina-e1"))
    }

    // MARK: emulate

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func topology(_ name: String) -> String { root.appendingPathComponent("Topologies/\(name)").path }

    @Test func emulateRunsAShippedTopologyToCompletion() throws {
        let r = try sluice("emulate", Self.topology("leafspine-small.yaml"), "--json")
        #expect(r.status == 0, "\(r.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let flows = try #require(json["flows"] as? [[String: Any]])
        #expect(flows.count == 2)
        for f in flows {
            #expect(f["fct_ps"] != nil, "flow \(f) did not complete")
            #expect(f["bytes_received"] as? Int == f["bytes"] as? Int)
        }
        #expect((json["packet_hops"] as? Int ?? 0) > 0)
    }

    /// Every --json object names its fields in snake_case, whichever command printed it (the
    /// keys of name-keyed objects, node and counter names, are data and stay as they are: the
    /// shipped topologies and programs name theirs in lower case).
    @Test func jsonKeysAreSnakeCaseEverywhere() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func keys(_ value: Any, _ path: String, into out: inout [String]) {
            if let o = value as? [String: Any] {
                for (k, v) in o {
                    if k.contains(where: \.isUppercase) || k.contains("-") { out.append(path + "." + k) }
                    keys(v, path + "." + k, into: &out)
                }
            } else if let a = value as? [Any] {
                for v in a { keys(v, path + "[]", into: &out) }
            }
        }
        let commands: [[String]] = [
            ["emulate", Self.topology("leafspine-small.yaml"), "--json"],
            ["bench", "pipeline", "--packets", "1000", "--routes", "10", "--seed", "1", "--json"],
            ["bench", "pipeline", "--program", "l2-switch", "--packets", "1000", "--seed", "1", "--json"],
            ["fuzz", "ipv4-router", "--packets", "200", "--pcap-dir", dir + "/fuzz", "--json"],
            ["traffic", "ddp", "model=1MB", "iterations=1", "--hosts", "4", "-w", dir + "/t.pcap", "--json"],
            ["experiment", "ina-e3", "--scale", "0.01", "--seed", "3", "--json"],
            ["demo", "--scale", "0.01", "--report", dir + "/demo", "--json"],
            ["programs", "--json"],
        ]
        for args in commands {
            let r = try Self.run(args)
            #expect(r.status == 0, "\(args): \(r.err)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)), "\(args)")
            var bad: [String] = []
            keys(json, "", into: &bad)
            #expect(bad.isEmpty, "\(args.prefix(2)): keys not in snake_case: \(bad.sorted().prefix(20))")
        }
    }

    /// `emulate --trace SWITCH`: the switch's packets traced, as text on standard output, and as
    /// JSON lines on standard error beside a --json report; an unknown switch is refused by name.
    @Test func emulateTracesTheSwitchesNamed() throws {
        let text = try sluice("emulate", Self.topology("dumbbell.yaml"), "--until", "20us", "--trace", "left")
        #expect(text.status == 0, "\(text.err)")
        let lines = text.out.split(separator: "\n").map(String.init)
        #expect(lines.contains("left: packet 1 in port 1: 9014 bytes, time 1721 ns"), "\(lines.prefix(3))")
        #expect(lines.contains("      extract ethernet: dstAddr=02:00:00:00:00:05 srcAddr=02:00:00:00:00:03 etherType=0x0800"))
        #expect(!lines.contains { $0.hasPrefix("right: ") }, "only the switch named is traced")

        let json = try sluice("emulate", Self.topology("dumbbell.yaml"), "--until", "20us", "--trace", "left", "--trace-format", "json", "--json")
        #expect(json.status == 0, "\(json.err)")
        #expect(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) is [String: Any], "the report owns standard output")
        let events = json.err.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(events.first.map { $0["event"] as? String == "packet" && $0["switch"] as? String == "left" && $0["time_ns"] as? Int == 1721 } == true,
                "\(json.err.prefix(300))")

        let bad = try sluice("emulate", Self.topology("dumbbell.yaml"), "--trace", "s1")
        #expect(bad.status != 0 && bad.err.contains("s1") && bad.err.contains("left") && bad.err.contains("right"), "\(bad.err)")
    }

    @Test func emulateWritesAReportAndPcapsThatTsharkReads() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-emulate-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try sluice("emulate", Self.topology("dumbbell.yaml"), "--until", "2ms",
                           "--report", dir.appendingPathComponent("report").path, "--pcap-dir", dir.appendingPathComponent("pcaps").path)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("report: "))
        for f in ["index.html", "report.json", "flows.csv", "ports.csv", "timeseries.csv", "queue-depth.svg", "link-utilization.svg"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("report/\(f)").path), "missing \(f)")
        }
        let pcaps = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("pcaps").path).filter { $0.hasSuffix(".pcapng") }
        #expect(!pcaps.isEmpty)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark") else {
            Issue.record("tshark is not installed (apt-get install tshark; .ci/run installs it): cannot check the pcaps open in it")
            return
        }
        let bottleneck = try #require(pcaps.first { $0.hasPrefix("left-") && $0.contains("right") })
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
        p.arguments = ["-r", dir.appendingPathComponent("pcaps/\(bottleneck)").path, "-T", "fields", "-e", "ip.src", "-e", "udp.dstport", "-c", "5"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 5)
        #expect(lines.allSatisfy { $0.hasSuffix("\t4791") }, "\(text)")
    }

    /// A file that cannot be read has no line to point at: the file and the system's reason.
    @Test func aMissingEntriesFileSaysWhy() throws {
        let r = try sluice("run", "ipv4-router", "--entries", "/nonexistent/routes.txt")
        #expect(r.status != 0)
        #expect(r.err == "Error: /nonexistent/routes.txt: cannot read: no such file\n", "\(r.err)")
    }

    @Test func compileNamesAnUnwritableOutputAndWhy() throws {
        for emit in ["ir", "ebpf-c", "native-c"] {
            let r = try sluice("compile", "ipv4-router", "--emit", emit, "-o", "/nonexistent/x.c")
            #expect(r.status != 0)
            #expect(r.err == "Error: -o /nonexistent/x.c: cannot write: No such file or directory\n", "\(emit): \(r.err)")
        }
    }

    /// `--emit native-c` writes the C the native engine loads: clang builds it into a shared
    /// object with the entry points the runtime looks up.
    @Test func compileEmitsTheNativeEnginesC() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-native-c-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = dir.appendingPathComponent("router.c").path, so = dir.appendingPathComponent("router.so").path
        let r = try sluice("compile", "ipv4-router", "--emit", "native-c", "-o", c)
        #expect(r.status == 0 && r.err == "", "\(r.err)")
        let text = try String(contentsOfFile: c, encoding: .utf8)
        #expect(text.hasPrefix("/* Generated by Sluice (host target) from program 'ipv4-router'. Do not edit. */\n"))
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map { "\($0)/clang" }
        guard let clang = paths.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            Issue.record("no clang on PATH: the emitted C cannot be compiled"); return
        }
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: clang)
        cc.arguments = ["-O2", "-fPIC", "-shared", "-w", c, "-o", so]
        try cc.run()
        cc.waitUntilExit()
        #expect(cc.terminationStatus == 0)
        let handle = try #require(dlopen(so, RTLD_NOW | RTLD_LOCAL), "\(String(cString: dlerror()))")
        defer { dlclose(handle) }
        for symbol in ["sl_ingress", "sl_egress", "sl_bind", "sl_state_size"] { #expect(dlsym(handle, symbol) != nil, "\(symbol)") }
    }

    /// Report folders that cannot be: under a regular file, and in /proc.
    static func impossibleReportFolders() throws -> (paths: [(path: String, reason: String)], cleanup: () -> Void) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-report-file-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try "not a folder\n".write(toFile: file, atomically: true, encoding: .utf8)
        return ([(file + "/report", "Not a directory"), ("/proc/sluice-report/out", "No such file or directory")],
                { try? FileManager.default.removeItem(atPath: file) })
    }

    /// A --report path that cannot be written fails before the run (leafspine-64 would run for
    /// minutes and only then find out), naming the path: nothing is printed of a run.
    @Test func emulateChecksTheReportFolderBeforeRunning() throws {
        let (paths, cleanup) = try Self.impossibleReportFolders()
        defer { cleanup() }
        for (path, reason) in paths {
            let p = try ChildProcess(Self.binary.path, ["emulate", Self.topology("leafspine-64.yaml"), "--report", path])
            defer { p.terminate() }
            #expect(p.wait(seconds: 120) == 1)
            #expect(p.outputText == "")
            #expect(p.errorText == "Error: --report: cannot write \(path): \(reason)\n")
        }
    }

    /// `sluice collect --report` finds out before it listens, not when it stops (with no
    /// --duration it would otherwise run until Ctrl-C and lose what it collected).
    @Test func collectChecksTheReportFolderBeforeListening() throws {
        let (paths, cleanup) = try Self.impossibleReportFolders()
        defer { cleanup() }
        for (path, reason) in paths {
            let p = try ChildProcess(Self.binary.path, ["collect", "--listen", "0", "--address", "127.0.0.1", "--report", path])
            defer { p.terminate() }
            #expect(p.wait(seconds: 120) == 1)
            #expect(p.outputText == "")
            #expect(p.errorText == "Error: --report: cannot write \(path): \(reason)\n")
        }
    }

    @Test func emulateNamesAMissingTopologyFile() throws {
        let r = try sluice("emulate", "/nonexistent/topo.yaml")
        #expect(r.status != 0)
        #expect(r.err.contains("/nonexistent/topo.yaml"))
    }

    @Test func emulateRejectsABadUntil() throws {
        let r = try sluice("emulate", Self.topology("star.yaml"), "--until", "10 parsecs")
        #expect(r.status != 0)
        #expect(r.err.contains("--until"))
    }
}
