import Foundation
import Testing
import SluiceEBPF
import SluiceIR
import SluicePrograms
import SluiceTesting

/// The eBPF C of every built-in program the XDP backend compiles, pinned byte for byte in
/// `Snapshots/<name>.c`, and each snapshot compiled by clang for the BPF target; the programs
/// it refuses, with the whole message. No kernel, no libbpf, no root.
///
/// A change to a program, the IR or the emitter shows up here as a diff. When the change is
/// intended, record the snapshots again and commit them with the change:
///
///     SLUICE_RECORD_SNAPSHOTS=1 swift test --filter SluiceEBPFTests
@Suite struct CSnapshotTests {
    static let snapshot = Snapshot(kind: "eBPF C", verb: "emitted",
                                   recordCommand: "SLUICE_RECORD_SNAPSHOTS=1 swift test --filter SluiceEBPFTests", ext: "c")

    /// The shipped programs the XDP backend refuses, with its message.
    static let refused: [String: String] = [
        "drill": "program 'drill': standard.deqQdepth in egress: XDP sees no queue: queue depth and egress timestamps do not exist at the XDP hook",
    ]

    static let compiled = ProgramRegistry.all.map(\.name).filter { refused[$0] == nil }

    static func emit(_ name: String) throws -> Result<String, EBPFError> {
        let ir = try #require(ProgramRegistry.named(name)).build().verified()
        do throws(EBPFError) { return .success(try EBPFBackend.emitC(ir)) } catch { return .failure(error) }
    }

    @Test(arguments: compiled)
    func emittedCMatchesSnapshot(_ name: String) throws {
        let c = try Self.emit(name).get()
        if let problem = try Self.snapshot.check(c, name: name, snapshot: Self.snapshot.url(name), record: Snapshot.recording) {
            Issue.record("\(problem)")
        }
    }

    @Test(arguments: refused.keys.sorted())
    func refusedProgramNamesWhatXDPCannotDo(_ name: String) throws {
        guard case .failure(let e) = try Self.emit(name) else {
            Issue.record("\(name) now compiles for XDP: take it out of `refused` and record its snapshot")
            return
        }
        #expect(e.description == Self.refused[name])
    }

    /// Every snapshot file belongs to a program the backend compiles (a renamed or refused
    /// program leaves none behind).
    @Test func noStaleSnapshots() {
        let dir = Self.snapshot.url("x").deletingLastPathComponent()
        for f in Self.snapshot.stale(in: dir, names: Set(Self.compiled)) {
            Issue.record("Snapshots/\(f) belongs to no program the XDP backend compiles; delete it")
        }
    }

    /// Emitting is deterministic: two emissions of a program are the same text.
    @Test(arguments: compiled)
    func emittingIsStable(_ name: String) throws {
        #expect(try Self.emit(name).get() == Self.emit(name).get())
    }

    /// Whether a clang is to be found; a wrong `SLUICE_CLANG` counts as one, so that the test
    /// runs and reports it rather than skipping.
    static let clangFound: Bool = {
        if case .success(nil) = Result(catching: { () throws -> String? in try EBPFObjectCompiler.findClang() }) { return false }
        return true
    }()

    /// The snapshot (not the emitter's output: the file a reader sees) is C that clang compiles
    /// for the BPF target, as `sluice compile --emit ebpf-object` does it.
    @Test(.enabled(if: clangFound, "no clang on PATH (nor SLUICE_CLANG): the snapshots cannot be compiled; install clang"),
          arguments: compiled)
    func snapshotCompilesWithClang(_ name: String) throws {
        let source = try String(contentsOf: Self.snapshot.url(name), encoding: .utf8)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-ebpf-snapshot-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let object = dir.appendingPathComponent("\(name).o")
        try EBPFObjectCompiler.compile(source: source, output: object.path)
        let bytes = try Data(contentsOf: object)
        #expect(bytes.prefix(4) == Data([0x7F, 0x45, 0x4C, 0x46]), "\(name): an ELF object")
        #expect(bytes.count > 19 && bytes[18] == 247, "\(name): machine EM_BPF (247)")
    }
}
