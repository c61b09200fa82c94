import Foundation

/// Compiles generated C to a BPF object with clang (`-O2 -g -target bpf`).
public enum EBPFObjectCompiler {
    /// The clang to use: `$SLUICE_CLANG` (which must then be an executable: a wrong path is an
    /// error, not a quiet fall-back), else the first `clang` on PATH (the Swift toolchain's
    /// works), else Debian's versioned ones.
    public static func findClang() throws(EBPFToolError) -> String? {
        let env = ProcessInfo.processInfo.environment
        if let c = env["SLUICE_CLANG"] {
            guard FileManager.default.isExecutableFile(atPath: c) else {
                throw EBPFToolError("SLUICE_CLANG=\(c) is not an executable file (set it to a clang's path, or unset it to use the first clang on PATH)")
            }
            return c
        }
        var candidates: [String] = (env["PATH"] ?? "/usr/bin").split(separator: ":").map { "\($0)/clang" }
        candidates += (14...21).reversed().map { "/usr/bin/clang-\($0)" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Compile `source` to the object file `output`. Errors carry clang's own message. Ctrl-C
    /// (SIGINT, SIGTERM, SIGHUP) while clang runs stops clang and removes the temporary folder
    /// (see `InterruptibleStep`); `output` appears only complete (clang writes it in the folder).
    /// `defines`: macros set for the C (`-D`), such as `SL_NO_XDP_META` (see `MulticastEmitter`).
    public static func compile(source: String, output: String, clang: String? = nil, defines: [String] = []) throws {
        guard let cc = try clang ?? findClang() else {
            throw EBPFToolError("no clang found to compile eBPF C (install clang, e.g. `apt-get install -y clang`, or set SLUICE_CLANG to its path)")
        }
        var uts = utsname()
        uname(&uts)
        let machine = withUnsafeBytes(of: &uts.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        try run(cc, source: source, output: output, what: "the eBPF C",
                flags: ["-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86", "-I/usr/include/\(machine)-linux-gnu",
                        "-Wno-unused-variable", "-Wno-unused-label", "-c"] + defines.map { "-D" + $0 }) { log in
            log.contains("bpf/bpf_helpers.h") || log.contains("linux/bpf.h")
                ? " (the headers come from libbpf-dev and linux-libc-dev: apt-get install -y libbpf-dev)" : ""
        }
    }

    /// clang `flags` on `source` in a temporary folder, its result moved to `output`; `hint`
    /// adds to the error what clang's log suggests.
    static func run(_ cc: String, source: String, output: String, what: String, flags: [String],
                    hint: (String) -> String = { _ in "" }) throws {
        try InterruptibleStep.run("clang (\(cc)) compiled \(what)") {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-ebpf-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let c = dir.appendingPathComponent("prog.c").path
            let object = dir.appendingPathComponent("prog.o").path
            let log = dir.appendingPathComponent("clang.log").path
            try source.write(toFile: c, atomically: true, encoding: .utf8)
            guard FileManager.default.createFile(atPath: log, contents: nil), let err = FileHandle(forWritingAtPath: log) else {
                throw EBPFToolError("cannot create \(log) for clang's messages")
            }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: cc)
            p.arguments = flags + [c, "-o", object]
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try InterruptibleStep.wait(for: p, "clang (\(cc)) compiled \(what)")
            try? err.close()
            guard p.terminationStatus == 0 else {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw EBPFToolError("clang (\(cc)) failed to compile the generated C\(hint(text)):\n\(text)")
            }
            do {
                if FileManager.default.fileExists(atPath: output) { try FileManager.default.removeItem(atPath: output) }
                try FileManager.default.moveItem(atPath: object, toPath: output)
            } catch {
                let ns = error as NSError
                let posix = (ns.userInfo[NSUnderlyingErrorKey] as? NSError).flatMap { $0.domain == NSPOSIXErrorDomain ? $0.code : nil }
                throw EBPFToolError("\(output): cannot write: \(posix.map { String(cString: strerror(Int32($0))) } ?? ns.localizedDescription)")
            }
        }
    }
}

public struct EBPFToolError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}
