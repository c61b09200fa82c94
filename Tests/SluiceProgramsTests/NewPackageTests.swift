import Foundation
import Testing
import SluicePcapFiles
import SluiceTesting

/// `sluice new` as a user meets it: a package made in a folder outside the repository builds and
/// passes its own tests as created; a program added to it (a MAC-swapping reflector with a
/// counter) runs through the package's command everywhere the built-in ones run: the runtime,
/// offline replay, an emulated topology, eBPF C and, as root, XDP test runs against the runtime.
/// The package builds Sluice from this checkout, so this test takes minutes.
@Suite(.serialized) struct NewPackageTests {
    static let name = "refl-pkg"

    /// An Ethernet frame from 02:..:01 to 02:..:02 (EtherType 0x88b5, a payload of 4 bytes), and
    /// what the reflector makes of it: the two addresses swapped, nothing else changed.
    static let frame = "02000000000202000000000188b5deadbeef"
    static let reflected = "02000000000102000000000288b5deadbeef"

    static let reflector = """
        import Sluice

        /// `reflector`: every frame goes back out of the port it came in on, its Ethernet
        /// addresses swapped; `reflected` counts frames and bytes.
        public enum Reflector {
            public static let name = "reflector"

            public static func program() -> SwitchProgram {
                SwitchProgram(name, doc: "MAC-swapping reflector") {
                    HeaderType("ethernet_t") {
                        Field("dstAddr", 48)
                        Field("srcAddr", 48)
                        Field("etherType", 16)
                    }
                    Header("ethernet", "ethernet_t")
                    Metadata {
                        Field("mac", 48)
                    }
                    Counter("reflected", size: 1)
                    Parser {
                        State("start") {
                            Extract(hdr.ethernet)
                            Accept()
                        }
                    }
                    Ingress {
                        Assign(meta.mac, hdr.ethernet.dstAddr)
                        Assign(hdr.ethernet.dstAddr, hdr.ethernet.srcAddr)
                        Assign(hdr.ethernet.srcAddr, meta.mac)
                        Forward(port: standard.ingressPort)
                        Count("reflected", index: 0)
                    }
                    Deparser {
                        Emit(hdr.ethernet)
                    }
                }
            }
        }

        """

    static let programList = """
        import SluicePrograms

        public let programs: [ProgramInfo] = [
            ProgramInfo(name: PortPair.name, summary: PortPair.summary, build: { PortPair.program() }),
            ProgramInfo(name: Reflector.name, summary: "MAC-swapping reflector", build: { Reflector.program() }),
        ]

        """

    static let reflectorTest = """
        import Testing
        import Sluice
        import SluiceRuntime
        import SluiceTesting
        import ReflPkgPrograms

        @Suite struct ReflectorTests {
            @Test func framesGoBackWithTheirAddressesSwapped() throws {
                let h = try SwitchHarness(Reflector.program().verified())
                try h.send(try [UInt8](hex: "\(frame)"), port: 7)
                try h.expect(try [UInt8](hex: "\(reflected)"), port: 7)
                try h.expectNoOtherPackets()
                let c = try h.pipeline.counter("reflected", index: 0)
                #expect(c.packets == 1 && c.bytes == 18)
            }
        }

        """

    func run(_ tool: String, _ args: [String], in dir: String? = nil, seconds: Double = 600) throws -> ChildProcess.Result {
        let r = try ChildProcess.run(dir == nil ? tool : "/usr/bin/env", dir == nil ? args : ["-C", dir!, tool] + args, seconds: seconds)
        return r
    }

    @Test func aNewPackageRunsItsOwnProgramEverywhere() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-new-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let pkg = base + "/" + Self.name

        // Made as the README says, in a folder outside the repository.
        let made = try run(sluiceBinaryPath, ["new", Self.name, "--directory", base])
        try #require(made.status == 0, "sluice new: \(made.err)")
        for f in ["Package.swift", "Sources/ReflPkgPrograms/PortPair.swift", "Sources/ReflPkgPrograms/Programs.swift",
                  "Sources/refl-pkg/main.swift", "Tests/ReflPkgProgramsTests/PortPairTests.swift", "topology.yaml", "README.md"] {
            #expect(FileManager.default.fileExists(atPath: pkg + "/" + f), "sluice new wrote no \(f)")
        }
        let again = try run(sluiceBinaryPath, ["new", Self.name, "--directory", base])
        #expect(again.status != 0 && again.err.contains("already exists"), "a second `sluice new` over the package: \(again.err)")

        // A program of the user's own, listed beside the starter, with a test of its own.
        try Self.reflector.write(toFile: pkg + "/Sources/ReflPkgPrograms/Reflector.swift", atomically: true, encoding: .utf8)
        try Self.programList.write(toFile: pkg + "/Sources/ReflPkgPrograms/Programs.swift", atomically: true, encoding: .utf8)
        try Self.reflectorTest.write(toFile: pkg + "/Tests/ReflPkgProgramsTests/ReflectorTests.swift", atomically: true, encoding: .utf8)

        let build = try run("swift", ["build", "--build-tests"], in: pkg, seconds: 2400)
        try #require(build.status == 0, "swift build in the new package:\n\(build.out.suffix(3000))\n\(build.err.suffix(3000))")
        let test = try run("swift", ["test", "--skip-build"], in: pkg, seconds: 600)
        #expect(test.status == 0, "swift test in the new package:\n\(test.out.suffix(3000))\n\(test.err.suffix(2000))")
        #expect((test.out + test.err).contains("framesGoBackWithTheirAddressesSwapped()") && (test.out + test.err).contains("framesCrossThePairUnchanged()"),
                "the package's tests did not run: \(test.out.suffix(2000))")

        let command = pkg + "/.build/debug/" + Self.name
        let listed = try run(command, ["programs"])
        #expect(listed.status == 0 && ["reflector", "port-pair", "ipv4-router", "switchml"].allSatisfy { name in
            listed.out.split(separator: "\n").contains { $0.hasPrefix(name + " ") } }, "programs: \(listed.out)")

        // The runtime: exact bytes out of the port the frame came in on.
        let ran = try run(command, ["run", "reflector", "--packet", "3:" + Self.frame])
        #expect(ran.status == 0 && ran.out.contains("packet 1 in port 3 -> out port 3: \(Self.reflected)"), "run: \(ran.out)\(ran.err)")

        // A program file for the plain sluice, which runs it the same way.
        let file = base + "/reflector.json"
        let compiled = try run(command, ["compile", "reflector", "--emit", "program", "-o", file])
        try #require(compiled.status == 0, "compile --emit program: \(compiled.err)")
        let plain = try run(sluiceBinaryPath, ["run", file, "--packet", "3:" + Self.frame])
        #expect(plain.status == 0 && plain.out.contains("packet 1 in port 3 -> out port 3: \(Self.reflected)"), "sluice run FILE: \(plain.out)\(plain.err)")

        // Offline replay: every frame of a capture comes out of its port, swapped.
        let pcap = base + "/in.pcap", out = base + "/replayed"
        let frames = try (0..<5).map { i in try [UInt8](hex: Self.frame) + [UInt8(i)] }
        let writer = try PcapWriter(path: pcap)
        for (i, f) in frames.enumerated() { f.withUnsafeBytes { writer.write(timestampNanoseconds: Int64(i) * 1_000, bytes: $0) } }
        writer.close()
        let replayed = try run(command, ["replay", pcap, "--program", "reflector", "--port", "5", "--pcap-dir", out])
        #expect(replayed.status == 0, "replay: \(replayed.err)")
        let back = try PcapFileReader.readAll(path: out + "/port-5.pcap").map(\.bytes)
        #expect(back == frames.map { f in try! [UInt8](hex: Self.reflected) + [f.last!] }, "replay's port-5.pcap: \(back.count) frames")

        // An emulated topology: the starter program carries h1's transfer to h2.
        let emulated = try run(command, ["emulate", "topology.yaml", "--json"], in: pkg)
        #expect(emulated.status == 0, "emulate: \(emulated.err)")
        let json = try JSONSerialization.jsonObject(with: Data(emulated.out.utf8)) as? [String: Any]
        let flows = json?["flows"] as? [[String: Any]] ?? []
        #expect(flows.count == 1 && flows.allSatisfy { ($0["bytes_received"] as? Int) == 1 << 20 && ($0["fct_ps"] as? Int ?? 0) > 0 },
                "emulate's flows: \(flows)")

        // eBPF: C that clang turns into an object, and (as root) the kernel agrees with the runtime.
        let c = try run(command, ["compile", "reflector", "--emit", "ebpf-c"])
        #expect(c.status == 0 && c.out.contains("SEC(\"xdp\")"), "compile --emit ebpf-c: \(c.err)")
        let object = base + "/reflector.o"
        let o = try run(command, ["compile", "reflector", "--emit", "ebpf-object", "-o", object])
        #expect(o.status == 0 && FileManager.default.fileExists(atPath: object), "compile --emit ebpf-object: \(o.err)")
        guard getuid() == 0 else {
            print("NewPackageTests: XDP test runs need root (BPF_PROG_TEST_RUN); skipped here, run as root in CI")
            return
        }
        let loaded = try run(command, ["xdp", "verify", "reflector"])
        #expect(loaded.status == 0 && loaded.out.contains("the kernel's verifier accepted it"), "xdp verify: \(loaded.out)\(loaded.err)")
        let fuzz = try run(command, ["fuzz", "reflector", "--backends", "runtime,xdp", "--packets", "300", "--pcap-dir", base + "/fuzz", "--json"])
        #expect(fuzz.status == 0, "fuzz runtime vs xdp: \(fuzz.out)\(fuzz.err)")
        let verdict = try JSONSerialization.jsonObject(with: Data(fuzz.out.utf8)) as? [String: Any]
        #expect((verdict?["disagreements"] as? Int) == 0 && (verdict?["packets"] as? Int) == 300, "fuzz: \(fuzz.out)")

        // A program that does not compile: the compiler's own file:line diagnostic, exit non-zero,
        // and the command built before is left as it was.
        let broken = pkg + "/Sources/ReflPkgPrograms/Broken.swift"
        try "import Sluice\n\nlet broken: Int = \"not a number\"\n".write(toFile: broken, atomically: true, encoding: .utf8)
        let failed = try run("swift", ["build"], in: pkg, seconds: 900)
        #expect(failed.status != 0, "a program that does not compile built")
        #expect((failed.out + failed.err).contains("Sources/ReflPkgPrograms/Broken.swift:3:19: error: cannot convert value of type 'String' to specified type 'Int'"),
                "swift build's diagnostics: \(failed.out.suffix(2000))\(failed.err.suffix(2000))")
        try FileManager.default.removeItem(atPath: broken)
        #expect(try run(command, ["run", "reflector", "--packet", "3:" + Self.frame]).status == 0)

        // On real interfaces: port-pair attached to veths between namespaces made here carries
        // host 1's frames to host 2 unchanged.
        try attachCarriesFrames(command: command, dir: base)
    }

    func attachCarriesFrames(command: String, dir: String) throws {
        let network = NetworkLab(prefix: "sn")
        defer { network.remove() }
        let sw = try network.addNamespace("sw")
        let around = try network.addHosts(2, aroundSwitchIn: sw)
        let attach = try network.start(in: sw, [command, "attach", "--program", "port-pair"] + around.portArguments)
        defer { attach.terminate() }
        try #require(attach.waitForError(containing: "Ctrl-C to stop", seconds: 30), "attach did not start: \(attach.errorText)")
        let frames = try (0..<3).map { i in try [UInt8](hex: Self.frame) + [UInt8(i)] }
        let input = dir + "/to-send.pcap", captured = dir + "/captured.pcap"
        let writer = try PcapWriter(path: input)
        for (i, f) in frames.enumerated() { f.withUnsafeBytes { writer.write(timestampNanoseconds: Int64(i) * 20_000, bytes: $0) } }
        writer.close()
        let capture = try network.start(in: around.hosts[1], [sluiceBinaryPath, "capture", "-i", around.hostInterfaces[1], "-w", captured,
                                                              "-c", "3", "--duration", "20s"])
        defer { capture.terminate() }
        try #require(capture.waitForError(containing: "Ctrl-C to stop", seconds: 20), "capture did not start: \(capture.errorText)")
        let sent = try network.exec(in: around.hosts[0], [sluiceBinaryPath, "send", input, "-i", around.hostInterfaces[0], "--pps", "50000"])
        #expect(sent.status == 0, "send: \(sent.err)")
        #expect(capture.wait(seconds: 25) == 0, "capture: \(capture.errorText)")
        #expect(try PcapFileReader.readAll(path: captured).map(\.bytes) == frames, "port-pair on veths")
        attach.signal(SIGTERM)
        #expect(attach.wait(seconds: 10) == 0, "attach: \(attach.errorText)")
    }
}
