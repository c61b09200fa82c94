import Foundation
import Testing
import SluiceEBPF
import SluiceTesting

/// Ctrl-C (SIGINT) while clang compiles a program's eBPF C: the command stops clang, removes its
/// temporary folders and says so, instead of dying alone and leaving both behind. No root: the
/// signal comes before anything is loaded or attached.
@Suite struct InterruptedCompileTests {
    /// The pid of a child of `parent` whose command name starts with "clang", if any.
    static func clangChild(of parent: Int32) -> Int32? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
            let name = stat[stat.index(after: open)..<close]
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if name.hasPrefix("clang"), fields.count > 1, Int32(fields[1]) == parent { return pid }
        }
        return nil
    }

    /// The temporary folders process `pid` made (`sluice-…-PID-…`).
    static func temporaryFolders(of pid: Int32) -> [String] {
        let tmp = FileManager.default.temporaryDirectory.path
        return ((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []).filter { $0.hasPrefix("sluice-") && $0.contains("-\(pid)-") }
    }

    static let output = FileManager.default.temporaryDirectory.appendingPathComponent("interrupted-\(getpid()).o").path

    @Test(arguments: [["compile", "ipv4-router", "--emit", "ebpf-object", "-o", output],
                      ["attach", "--backend", "xdp", "--program", "ipv4-router", "--port", "1=sluice-none0"]])
    func sigintWhileClangRunsStopsItAndRemovesTheTemporaryFolders(_ args: [String]) throws {
        let clang = try #require(try EBPFObjectCompiler.findClang(), "no clang: nothing to interrupt")
        defer { try? FileManager.default.removeItem(atPath: Self.output) }
        let p = try ChildProcess(CLITests.binary.path, args)
        defer { p.terminate() }
        let pid = p.process.processIdentifier
        var child: Int32?
        let end = Date().addingTimeInterval(60)
        while child == nil && p.process.isRunning && Date() < end {
            child = Self.clangChild(of: pid)
            if child == nil { usleep(2_000) }
        }
        let compiling = try #require(child, "clang never ran as a child of sluice \(args[0]): \(p.errorText)")
        p.signal(SIGINT)
        #expect(p.wait(seconds: 60) == 1)
        #expect(p.errorText == "Error: interrupted by SIGINT while clang (\(clang)) compiled the eBPF C; stopped it and removed its temporary files\n")
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(compiling)"), "clang (pid \(compiling)) still runs")
        #expect(Self.temporaryFolders(of: pid) == [])
        #expect(!FileManager.default.fileExists(atPath: Self.output))
    }
}
