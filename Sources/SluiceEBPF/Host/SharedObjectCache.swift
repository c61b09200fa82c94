import Foundation

/// Host C compiled once with clang (`-O2 -fPIC -shared`) into a shared object, kept in the user's
/// cache directory (`$XDG_CACHE_HOME/sluice/native`, else `~/.cache/sluice/native`) under a hash
/// of the C text, the emitter's version and clang's version. Beside each object is the hash of
/// its bytes: an object that does not match it (cut short, overwritten) is compiled again,
/// never loaded.
public enum SharedObjectCache {
    public static var directory: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return base + "/sluice/native"
    }

    /// The path of the object for `source` in `dir`, compiling it when the cache has no good one.
    public static func object(for source: String, in dir: String = directory) throws -> String {
        guard let cc = try EBPFObjectCompiler.findClang() else {
            throw EBPFToolError("no clang found to compile the native pipeline (set SLUICE_CLANG to its path)")
        }
        let key = hex(fnv1a(Array("\(HostBackend.emitterVersion)\n\(try clangVersion(cc))\n\(source)".utf8)))
        let path = "\(dir)/\(key).so", sum = "\(dir)/\(key).sum"
        if let bytes = FileManager.default.contents(atPath: path),
           let recorded = try? String(contentsOfFile: sum, encoding: .utf8),
           recorded == hex(fnv1a(Array(bytes))) {
            return path
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Written under a name of this process's, then renamed: another process never sees half.
        let tmp = "\(path).\(getpid()).tmp"
        try EBPFObjectCompiler.run(cc, source: source, output: tmp, what: "the native pipeline",
                                   flags: ["-O2", "-fPIC", "-shared", "-w"])
        guard let bytes = FileManager.default.contents(atPath: tmp) else { throw EBPFToolError("\(tmp): cannot read what clang wrote") }
        try hex(fnv1a(Array(bytes))).write(toFile: sum, atomically: true, encoding: .utf8)
        if FileManager.default.fileExists(atPath: path) { try? FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: tmp, toPath: path)
        return path
    }

    /// Forget `path`'s object (it failed to load): the next `object(for:)` compiles it again.
    public static func discard(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: String(path.dropLast(3)) + ".sum")
    }

    nonisolated(unsafe) static var versions: [String: String] = [:]
    static let lock = NSLock()

    /// `clang --version`'s first line, asked once per clang per process.
    static func clangVersion(_ cc: String) throws -> String {
        lock.lock(); defer { lock.unlock() }
        if let v = versions[cc] { return v }
        let p = Process(), pipe = Pipe()
        p.executableURL = URL(fileURLWithPath: cc)
        p.arguments = ["--version"]
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let v = String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? cc
        versions[cc] = v
        return v
    }

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
