import Foundation
import Testing
import SluiceTesting

/// The committed Swift of Sources/SluiceP4Runtime/Generated/ is what Protos/ generates.
///
/// With protoc and protoc-gen-swift at hand (PROTOC_GEN_SWIFT, or the plugin on PATH), the
/// test runs Scripts/generate-protos.sh into a temporary folder and compares every file byte for
/// byte. Without them, it checks the SHA-256 of each .proto and each generated file against
/// Generated/MANIFEST, which the script writes: an edited proto or hand-edited generated code
/// fails either way.
@Suite struct P4InfoGeneratedCodeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardized
    static let generated = root.appendingPathComponent("Sources/SluiceP4Runtime/Generated")

    static var plugin: String? {
        if let p = ProcessInfo.processInfo.environment["PROTOC_GEN_SWIFT"], FileManager.default.isExecutableFile(atPath: p) { return p }
        return findTool("protoc-gen-swift")
    }

    @Test func manifestMatchesProtosAndGeneratedCode() throws {
        let r = try ChildProcess.run("/bin/sh", ["-c", "cd '\(Self.root.path)' && sha256sum --strict -c Sources/SluiceP4Runtime/Generated/MANIFEST"])
        #expect(r.status == 0, "stale generated code: run Scripts/generate-protos.sh and commit the result\n\(r.out)\(r.err)")
        let manifest = try String(contentsOf: Self.generated.appendingPathComponent("MANIFEST"), encoding: .utf8)
        let listed = Set(manifest.split(separator: "\n").map { String($0.split(separator: " ").last ?? "") })
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.generated.path).filter { $0.hasSuffix(".pb.swift") }
        #expect(!files.isEmpty)
        for f in files { #expect(listed.contains("Sources/SluiceP4Runtime/Generated/\(f)"), "\(f) is not in MANIFEST") }
        #expect(listed.contains("Protos/p4/config/v1/p4info.proto") && listed.contains("Protos/p4/config/v1/p4types.proto"))
    }

    @Test(.enabled(if: plugin != nil && findTool("protoc") != nil, "needs protoc and protoc-gen-swift"))
    func regeneratingGivesTheCommittedFiles() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-protos-\(getpid())")
        defer { try? FileManager.default.removeItem(at: out) }
        let script = Self.root.appendingPathComponent("Scripts/generate-protos.sh").path
        let r = try ChildProcess.run("/usr/bin/env", ["OUT=\(out.path)", "PROTOC_GEN_SWIFT=\(Self.plugin!)", "/bin/sh", script])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        let committed = try FileManager.default.contentsOfDirectory(atPath: Self.generated.path).sorted()
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == committed)
        for f in committed {
            let a = try Data(contentsOf: Self.generated.appendingPathComponent(f)), b = try Data(contentsOf: out.appendingPathComponent(f))
            #expect(a == b, "\(f) differs from what Scripts/generate-protos.sh makes: run it and commit the result")
        }
    }
}
