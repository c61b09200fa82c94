import Foundation

/// Host C compiled once with clang (`flags`) into a shared object, kept in the user's cache
/// directory (`$XDG_CACHE_HOME/sluice/native`, else `~/.cache/sluice/native`) under a hash of
/// the C text, the emitter's version, clang's version and the flags. Beside each object is the
/// hash of its bytes: an object that does not match it (cut short, overwritten) is compiled
/// again, never loaded. The folder keeps the `keep` objects used last: adding one removes the
/// least recently used past that (a hit marks its object used, through the checksum file's time).
public enum SharedObjectCache {
    public static var directory: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return base + "/sluice/native"
    }

    /// clang's flags, part of the key. No SLP vectorizing: it merges a checksum's 32-bit loads of
    /// a header into 16-byte ones, which wait for the narrower stores just made into the header
    /// to reach the cache (ipv4-router's update_checksum after its TTL: 12.4 -> 15 Mpps without).
    /// On a CPU with x86-64-v3's instructions, the object may use them (`hostTarget`).
    static let flags = ["-O2", "-fno-slp-vectorize", "-fPIC", "-shared", "-w"] + hostTarget(cpuinfo: cpuinfo())

    /// `-march=x86-64-v3` where `/proc/cpuinfo`'s flags have all of that level's features
    /// (Haswell and Zen on): header fields load byte-swapped in one instruction (MOVBE), shifts
    /// and bit scans leave the flags alone (BMI2, LZCNT); the ECMP router's pipeline runs 3.6%
    /// fewer instructions. Not AVX-512 (`-march=native` on Zen 4), which valgrind cannot run.
    /// A CPU without them (or a cpuinfo without flags) gets baseline x86-64 code; the flags are
    /// in the cache key, so an object built for one never loads on the other.
    static func hostTarget(cpuinfo: String) -> [String] {
        #if arch(x86_64)
        guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        let have = Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        return x86_64_v3.isSubset(of: have) ? ["-march=x86-64-v3"] : []
        #else
        return []
        #endif
    }

    /// x86-64-v3's features as Linux names them (v2's, then v3's; `abm` is LZCNT).
    static let x86_64_v3: Set<String> = ["cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3",
                                         "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"]

    static func cpuinfo() -> String { (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "" }

    /// Objects a cache folder keeps.
    public static let keep = 256

    /// The path of the object for `source` in `dir`, compiling it when the cache has no good one.
    public static func object(for source: String, in dir: String = directory, keep: Int = keep) throws -> String {
        guard let cc = try EBPFObjectCompiler.findClang() else {
            throw EBPFToolError("no clang found to compile the native pipeline (set SLUICE_CLANG to its path)")
        }
        let key = hex(fnv1a(Array("\(HostBackend.emitterVersion)\n\(try clangVersion(cc))\n\(flags.joined(separator: " "))\n\(source)".utf8)))
        let path = "\(dir)/\(key).so", sum = "\(dir)/\(key).sum"
        if let bytes = FileManager.default.contents(atPath: path),
           let recorded = try? String(contentsOfFile: sum, encoding: .utf8),
           recorded == hex(fnv1a(Array(bytes))) {
            try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: sum)
            return path
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Written under a name of this process's, then renamed: another process never sees half.
        let tmp = "\(path).\(getpid()).tmp"
        try EBPFObjectCompiler.run(cc, source: source, output: tmp, what: "the native pipeline", flags: flags)
        guard let bytes = FileManager.default.contents(atPath: tmp) else { throw EBPFToolError("\(tmp): cannot read what clang wrote") }
        try hex(fnv1a(Array(bytes))).write(toFile: sum, atomically: true, encoding: .utf8)
        if FileManager.default.fileExists(atPath: path) { try? FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: tmp, toPath: path)
        prune(dir, keep: keep)
        return path
    }

    /// Removes the least recently used objects of `dir` past `keep`. A process that has one of
    /// them open keeps it; one about to open it finds it gone and compiles it again.
    static func prune(_ dir: String, keep: Int) {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: dir) else { return }
        let sums = names.filter { $0.hasSuffix(".sum") }
        guard sums.count > keep else { return }
        func used(_ name: String) -> Date { ((try? fm.attributesOfItem(atPath: "\(dir)/\(name)"))?[.modificationDate] as? Date) ?? .distantPast }
        for (name, _) in sums.map({ ($0, used($0)) }).sorted(by: { $0.1 < $1.1 }).prefix(sums.count - max(keep, 0)) {
            let base = "\(dir)/\(name.dropLast(4))"
            try? fm.removeItem(atPath: base + ".so")
            try? fm.removeItem(atPath: base + ".sum")
        }
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
