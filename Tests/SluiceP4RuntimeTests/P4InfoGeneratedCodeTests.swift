import Foundation
import Testing
import SluiceTesting

/// The committed Swift of Sources/SluiceP4Runtime/Generated/ (messages) and
/// Sources/SluiceP4RuntimeServer/Generated/ (the gRPC service) is what Protos/ generates.
///
/// With protoc, protoc-gen-swift and protoc-gen-grpc-swift-2 at hand (PROTOC_GEN_SWIFT and
/// PROTOC_GEN_GRPC_SWIFT, or the plugins on PATH), the test runs Scripts/generate-protos.sh into
/// temporary folders and compares every file byte for byte. Without them, it checks the SHA-256 of each .proto and each generated file against
/// Generated/MANIFEST, which the script writes: an edited proto or hand-edited generated code
/// fails either way.
@Suite struct P4InfoGeneratedCodeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardized
    static let generated = root.appendingPathComponent("Sources/SluiceP4Runtime/Generated")
    static let generatedService = root.appendingPathComponent("Sources/SluiceP4RuntimeServer/Generated")

    static var plugin: String? {
        if let p = ProcessInfo.processInfo.environment["PROTOC_GEN_SWIFT"], FileManager.default.isExecutableFile(atPath: p) { return p }
        return findTool("protoc-gen-swift")
    }
    static var grpcPlugin: String? {
        if let p = ProcessInfo.processInfo.environment["PROTOC_GEN_GRPC_SWIFT"], FileManager.default.isExecutableFile(atPath: p) { return p }
        return findTool("protoc-gen-grpc-swift-2")
    }

    @Test func manifestMatchesProtosAndGeneratedCode() throws {
        let r = try ChildProcess.run("/bin/sh", ["-c", "cd '\(Self.root.path)' && sha256sum --strict -c Sources/SluiceP4Runtime/Generated/MANIFEST"])
        #expect(r.status == 0, "stale generated code: run Scripts/generate-protos.sh and commit the result\n\(r.out)\(r.err)")
        let manifest = try String(contentsOf: Self.generated.appendingPathComponent("MANIFEST"), encoding: .utf8)
        let listed = Set(manifest.split(separator: "\n").map { String($0.split(separator: " ").last ?? "") })
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.generated.path).filter { $0.hasSuffix(".pb.swift") }
        #expect(!files.isEmpty)
        for f in files { #expect(listed.contains("Sources/SluiceP4Runtime/Generated/\(f)"), "\(f) is not in MANIFEST") }
        let services = try FileManager.default.contentsOfDirectory(atPath: Self.generatedService.path).filter { $0.hasSuffix(".grpc.swift") }
        #expect(services == ["p4runtime.grpc.swift"])
        for f in services { #expect(listed.contains("Sources/SluiceP4RuntimeServer/Generated/\(f)"), "\(f) is not in MANIFEST") }
        for p in ["p4/config/v1/p4info.proto", "p4/config/v1/p4types.proto", "p4/v1/p4runtime.proto", "p4/v1/p4data.proto", "google/rpc/status.proto"] {
            #expect(listed.contains("Protos/\(p)"), "Protos/\(p) is not in MANIFEST")
        }
    }

    @Test(.enabled(if: plugin != nil && grpcPlugin != nil && findTool("protoc") != nil, "needs protoc, protoc-gen-swift and protoc-gen-grpc-swift-2"))
    func regeneratingGivesTheCommittedFiles() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-protos-\(getpid())")
        let grpcOut = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-grpc-\(getpid())")
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: grpcOut) }
        let script = Self.root.appendingPathComponent("Scripts/generate-protos.sh").path
        let r = try ChildProcess.run("/usr/bin/env", ["OUT=\(out.path)", "GRPC_OUT=\(grpcOut.path)", "PROTOC_GEN_SWIFT=\(Self.plugin!)",
                                                      "PROTOC_GEN_GRPC_SWIFT=\(Self.grpcPlugin!)", "/bin/sh", script])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        for (dir, made) in [(Self.generated, out), (Self.generatedService, grpcOut)] {
            let committed = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            #expect(try FileManager.default.contentsOfDirectory(atPath: made.path).sorted() == committed)
            for f in committed {
                let a = try Data(contentsOf: dir.appendingPathComponent(f)), b = try Data(contentsOf: made.appendingPathComponent(f))
                #expect(a == b, "\(f) differs from what Scripts/generate-protos.sh makes: run it and commit the result")
            }
        }
    }
}
