import Foundation
import Testing
import SluiceIR
import SluicePrograms
@testable import SluiceEmulator

/// A topology whose switch runs a program file (relative to the topology file) runs exactly as
/// with the built-in program of the same IR; a bad file is named with the topology's line.
@Suite struct ProgramFileTopologyTests {
    static func folder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-pft-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func topology(program: String) -> String {
        """
        name: pf
        topology:
          generator: {star: {hosts: 2}}
          defaults:
            switch: {program: \(program), entries: routes.txt}
        traffic:
          - {pattern: shift, offset: 1, kind: udp, rate: 10Gbps, size: 100000}

        """
    }

    @Test func aProgramFileRunsAsTheBuiltInDoes() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ir = try IPv4Router.program().verified()
        try ProgramFile.encode(ir, writtenBy: "test").write(to: URL(fileURLWithPath: dir + "/router.json"))
        // Star: h1 on port 1, h2 on port 2 (10.0.0.1 and 10.0.0.2).
        try """
            table_add ipv4_lpm ipv4_forward 10.0.0.1/32 => 02:00:00:00:00:01 1
            table_add ipv4_lpm ipv4_forward 10.0.0.2/32 => 02:00:00:00:00:02 2

            """.write(toFile: dir + "/routes.txt", atomically: true, encoding: .utf8)
        var results: [[FlowResult]] = []
        for program in ["./router.json", "ipv4-router"] {
            try Self.topology(program: program).write(toFile: dir + "/t.yaml", atomically: true, encoding: .utf8)
            let spec = try TopologyFile.load(path: dir + "/t.yaml", programs: .builtIn)
            let emu = try Emulator(spec, programs: .builtIn)
            emu.run()
            results.append(emu.flows)
        }
        #expect(results[0].map(\.packetsReceived) == results[1].map(\.packetsReceived))
        #expect(results[0].map(\.lastArrival) == results[1].map(\.lastArrival))
        #expect(results[0].allSatisfy { $0.packetsReceived > 0 }, "\(results[0])")
    }

    @Test func aBadProgramFileIsNamedWithItsLine() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "{\"format\": \"other\"}".write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        try "".write(toFile: dir + "/routes.txt", atomically: true, encoding: .utf8)
        try Self.topology(program: "bad.json").write(toFile: dir + "/t.yaml", atomically: true, encoding: .utf8)
        do { _ = try TopologyFile.load(path: dir + "/t.yaml", programs: .builtIn); Issue.record("no error") } catch {
            #expect("\(error)".hasPrefix("\(dir)/t.yaml:5: defaults.switch.program: \(dir)/bad.json: not a Sluice program file"), "\(error)")
        }
    }

    static func routed(_ program: String, routing: String) -> String {
        """
        name: routed
        topology:
          generator: {leaf-spine: {spines: 2, leaves: 2, hosts-per-leaf: 2}}
          defaults:
            switch: {program: \(program), routing: \(routing)}
        traffic:
          - {pattern: shift, offset: 2, kind: bulk, size: 200000}

        """
    }

    /// `routing: ecmp-router` routes a program file made from ecmp-router as the built-in one is
    /// routed: the same groups, routes and flows to the picosecond.
    @Test func aProgramFileIsRoutedAsTheProgramItNames() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ProgramFile.encode(try ECMPRouter.program().verified(), writtenBy: "test").write(to: URL(fileURLWithPath: dir + "/ecmp.json"))
        var results: [[FlowResult]] = []
        for (program, routing) in [("./ecmp.json", "ecmp-router"), ("ecmp-router", "true")] {
            try Self.routed(program, routing: routing).write(toFile: dir + "/t.yaml", atomically: true, encoding: .utf8)
            let spec = try TopologyFile.load(path: dir + "/t.yaml", programs: .builtIn)
            let emu = try Emulator(spec, programs: .builtIn)
            emu.run()
            #expect(emu.routing?.routes.isEmpty == false)
            results.append(emu.flows)
        }
        #expect(results[0].count == 4)
        #expect(results[0].allSatisfy { $0.completed != nil }, "\(results[0])")
        #expect(results[0].map(\.packetsReceived) == results[1].map(\.packetsReceived))
        #expect(results[0].map(\.lastArrival) == results[1].map(\.lastArrival))
    }

    /// A program file without the routed program's tables is refused at its `routing` line, and
    /// one without `routing: NAME` is told how to route it.
    @Test func routingAProgramWithoutTheTablesNamesTheTable() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ProgramFile.encode(try IPv4Router.program().verified(), writtenBy: "test").write(to: URL(fileURLWithPath: dir + "/v4.json"))
        try Self.routed("./v4.json", routing: "ecmp-router").write(toFile: dir + "/t.yaml", atomically: true, encoding: .utf8)
        do { _ = try TopologyFile.load(path: dir + "/t.yaml", programs: .builtIn); Issue.record("no error") } catch {
            #expect("\(error)".hasPrefix("\(dir)/t.yaml:5: defaults.switch.routing: 'spine1' runs './v4.json', whose tables do not take ecmp-router's routes: no table 'switch_mac' in program 'ipv4-router'"), "\(error)")
        }
        try Self.routed("./v4.json", routing: "true").write(toFile: dir + "/t.yaml", atomically: true, encoding: .utf8)
        do { _ = try TopologyFile.load(path: dir + "/t.yaml", programs: .builtIn); Issue.record("no error") } catch {
            #expect("\(error)".contains("routing: NAME (one of those) for a program whose route tables are NAME's"), "\(error)")
        }
        try Self.routed("./v4.json", routing: "ecmp-ruoter").write(toFile: dir + "/t.yaml", atomically: true, encoding: .utf8)
        do { _ = try TopologyFile.load(path: dir + "/t.yaml", programs: .builtIn); Issue.record("no error") } catch {
            #expect("\(error)".contains("'ecmp-ruoter' is neither a boolean nor a program the routing controller fills; did you mean 'ecmp-router'?"), "\(error)")
        }
    }
}
