import Foundation
import Testing
@testable import SluiceEBPF

/// The native engine's compiled objects: a cached object whose bytes are not the ones its
/// compile wrote (changed, cut short, replaced by another program's, its checksum gone) is
/// compiled again and the good object is what the caller gets; it is never handed out.
@Suite struct SharedObjectCacheTests {
    static func source(_ answer: Int) -> String { "int sl_answer(void) { return \(answer); }\n" }

    /// A folder of this test's own, removed afterwards.
    static func withDirectory(_ body: (String) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-cache-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    static func bytes(_ path: String) -> [UInt8] { FileManager.default.contents(atPath: path).map { Array($0) } ?? [] }

    static func write(_ bytes: [UInt8], _ path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    /// What `sl_answer` of the object at `path` returns (the object loaded once per path in a process).
    static func answer(_ path: String) throws -> Int32 {
        let h = try #require(dlopen(path, RTLD_NOW | RTLD_LOCAL), "\(path): \(dlerror().map { String(cString: $0) } ?? "")")
        defer { dlclose(h) }
        let f = unsafeBitCast(try #require(dlsym(h, "sl_answer")), to: (@convention(c) () -> Int32).self)
        return f()
    }

    /// Past `keep` objects, adding one removes the least recently used: a hit counts as a use.
    @Test func theLeastRecentlyUsedObjectsGo() throws {
        guard try EBPFObjectCompiler.findClang() != nil else { Issue.record("no clang: the native engine's cache cannot be tested"); return }
        try Self.withDirectory { dir in
            func add(_ n: Int) throws -> String {
                usleep(20_000)  // distinct modification times
                return try SharedObjectCache.object(for: Self.source(n), in: dir, keep: 3)
            }
            let first = try add(1), second = try add(2), third = try add(3)
            #expect(try add(1) == first)  // a hit: 1 is now the most recently used
            let fourth = try add(4), fifth = try add(5)
            let kept = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".so") }.map { "\(dir)/\($0)" }
            #expect(Set(kept) == [first, fourth, fifth], "kept \(kept); 2 (\(second)) and 3 (\(third)) were used least recently")
            #expect(try Self.answer(first) == 1 && Self.answer(fifth) == 5)
        }
    }

    @Test func replacedObjectIsRebuiltNotLoaded() throws {
        guard try EBPFObjectCompiler.findClang() != nil else { Issue.record("no clang: the native engine's cache cannot be tested"); return }
        try Self.withDirectory { dir in
            let path = try SharedObjectCache.object(for: Self.source(42), in: dir)
            let good = Self.bytes(path)
            // Another program's object, well formed and loadable, where this one's was.
            let other = Self.bytes(try SharedObjectCache.object(for: Self.source(7), in: dir + "/other"))
            #expect(other != good && !other.isEmpty)
            try Self.write(other, path)
            let again = try SharedObjectCache.object(for: Self.source(42), in: dir)
            #expect(again == path)
            #expect(Self.bytes(again) != other, "the replaced object was handed out")
            #expect(try Self.answer(again) == 42)
        }
    }

    @Test(arguments: ["a byte changed", "cut short", "emptied", "checksum removed", "checksum changed"])
    func damagedObjectIsRebuilt(_ damage: String) throws {
        guard try EBPFObjectCompiler.findClang() != nil else { Issue.record("no clang: the native engine's cache cannot be tested"); return }
        try Self.withDirectory { dir in
            let path = try SharedObjectCache.object(for: Self.source(42), in: dir)
            let sum = String(path.dropLast(3)) + ".sum"
            let good = Self.bytes(path)
            #expect(!good.isEmpty && FileManager.default.fileExists(atPath: sum))
            var damaged = good
            switch damage {
            case "a byte changed": damaged[good.count / 2] ^= 0x5A
            case "cut short": damaged = Array(good.prefix(good.count / 2))
            case "emptied": damaged = []
            case "checksum removed": try FileManager.default.removeItem(atPath: sum)
            default: try "0123456789abcdef".write(toFile: sum, atomically: true, encoding: .utf8)
            }
            if damaged != good { try Self.write(damaged, path) }
            let again = try SharedObjectCache.object(for: Self.source(42), in: dir)
            #expect(again == path)
            let rebuilt = Self.bytes(again)
            #expect(rebuilt != damaged || damaged == good, "\(damage): the damaged object was handed out")
            // The rebuilt object matches its new checksum: the next call takes it as it is.
            #expect(try String(contentsOfFile: sum, encoding: .utf8) == SharedObjectCache.hex(SharedObjectCache.fnv1a(rebuilt)))
            let modified = try FileManager.default.attributesOfItem(atPath: again)[.modificationDate] as? Date
            #expect(try SharedObjectCache.object(for: Self.source(42), in: dir) == path)
            #expect(try FileManager.default.attributesOfItem(atPath: again)[.modificationDate] as? Date == modified, "\(damage): a good object compiled again")
        }
    }

    /// Objects use x86-64-v3's instructions only where cpuinfo lists every feature of that level.
    @Test func theTargetFollowsTheCPUsFeatures() {
        let v3 = "processor\t: 0\nflags\t\t: fpu " + SharedObjectCache.x86_64_v3.sorted().joined(separator: " ") + " avx512f\n"
        #if arch(x86_64)
        #expect(SharedObjectCache.hostTarget(cpuinfo: v3) == ["-march=x86-64-v3"])
        #expect(SharedObjectCache.hostTarget(cpuinfo: v3 + "processor\t: 1\n") == ["-march=x86-64-v3"])
        #else
        #expect(SharedObjectCache.hostTarget(cpuinfo: v3) == [])
        #endif
        #expect(v3.contains(" bmi2 "))
        #expect(SharedObjectCache.hostTarget(cpuinfo: v3.replacingOccurrences(of: " bmi2 ", with: " ")) == [])
        #expect(SharedObjectCache.hostTarget(cpuinfo: "processor\t: 0\nmodel name\t: AMD EPYC\n") == [])
        #expect(SharedObjectCache.hostTarget(cpuinfo: "") == [])
        #if os(Linux) && arch(x86_64)
        // /proc/cpuinfo reports no size: what is read must still hold its flags.
        #expect(SharedObjectCache.cpuinfo().contains("flags"))
        #endif
    }
}
