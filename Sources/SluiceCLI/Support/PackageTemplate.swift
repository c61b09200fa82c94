/// The files `sluice new NAME` writes: a package whose programs run with every sluice command.
/// Each file is complete as written: `swift build` and `swift test` pass in a new package.
struct PackageTemplate {
    /// The package's and its command's name (`my-switch`).
    let name: String
    /// The Sluice checkout the package depends on, an absolute path.
    let sluicePath: String

    /// `my-switch` -> `MySwitch`: the stem of the package's module names.
    var stem: String {
        name.split(whereSeparator: { $0 == "-" || $0 == "_" }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
    var programsModule: String { stem + "Programs" }
    /// SwiftPM names a package on a path by its folder.
    var sluicePackage: String { String(sluicePath.split(separator: "/").last ?? "sluice") }

    /// Relative path and text of every file, in the order they are listed.
    var files: [(String, String)] {
        [("Package.swift", packageManifest),
         ("Sources/\(programsModule)/PortPair.swift", portPair),
         ("Sources/\(programsModule)/Programs.swift", programList),
         ("Sources/\(name)/main.swift", command),
         ("Tests/\(programsModule)Tests/PortPairTests.swift", test),
         ("topology.yaml", topology),
         ("README.md", readme),
         (".gitignore", ".build/\nPackage.resolved\n*.pcap\nreport/\n")]
    }

    var packageManifest: String {
        """
        // swift-tools-version:6.0
        // \(name): switch programs of its own, run with every sluice command (`swift run \(name) --help`).
        import PackageDescription

        let package = Package(
            name: "\(name)",
            platforms: [.macOS(.v15)],
            dependencies: [
                // Sluice, from a checkout on this machine (`sluice new --sluice PATH` picks another).
                .package(path: "\(sluicePath)"),
            ],
            targets: [
                // The programs, one file each, and the list the command adds to the built-in ones.
                .target(name: "\(programsModule)", dependencies: [
                    .product(name: "Sluice", package: "\(sluicePackage)"),
                    .product(name: "SluicePrograms", package: "\(sluicePackage)"),
                ]),
                // `swift run \(name) SUBCOMMAND`: every sluice subcommand, these programs beside the built-in ones.
                .executableTarget(name: "\(name)", dependencies: [
                    "\(programsModule)",
                    .product(name: "SluiceCLI", package: "\(sluicePackage)"),
                ]),
                .testTarget(name: "\(programsModule)Tests", dependencies: [
                    "\(programsModule)",
                    .product(name: "Sluice", package: "\(sluicePackage)"),
                    .product(name: "SluiceRuntime", package: "\(sluicePackage)"),
                    .product(name: "SluiceTesting", package: "\(sluicePackage)"),
                ]),
            ],
            swiftLanguageModes: [.v5]
        )

        """
    }

    var portPair: String {
        """
        import Sluice

        /// `port-pair`: a patch panel. Frames that enter on port 1 leave on port 2 and the other
        /// way round, unchanged; frames on any other port are dropped. `frames_in` counts frames
        /// by ingress port. Change it, or add a program beside it (and to `programs`).
        public enum PortPair {
            public static let name = "port-pair"
            public static let summary = "patch panel: port 1 <-> port 2, frames counted by ingress port"

            public static func program() -> SwitchProgram {
                SwitchProgram(name, doc: summary) {
                    HeaderType("ethernet_t") {
                        Field("dstAddr", 48)
                        Field("srcAddr", 48)
                        Field("etherType", 16)
                    }
                    Header("ethernet", "ethernet_t")
                    Counter("frames_in", size: 512, kind: .packets)
                    Parser {
                        State("start") {
                            Extract(hdr.ethernet)
                            Accept()
                        }
                    }
                    Ingress {
                        Count("frames_in", index: standard.ingressPort)
                        If(standard.ingressPort == 1) {
                            Forward(port: 2)
                        } else: {
                            If(standard.ingressPort == 2) {
                                Forward(port: 1)
                            } else: {
                                Drop()
                            }
                        }
                    }
                    Deparser {
                        Emit(hdr.ethernet)
                    }
                }
            }
        }

        """
    }

    var programList: String {
        """
        import SluicePrograms

        /// The programs this package adds to sluice's built-in ones: `swift run \(name) programs`
        /// lists them, and every command and topology file takes them by name.
        public let programs: [ProgramInfo] = [
            ProgramInfo(name: PortPair.name, summary: PortPair.summary, build: { PortPair.program() }),
        ]

        """
    }

    var command: String {
        """
        import SluiceCLI
        import \(programsModule)

        // Every sluice subcommand, with this package's programs beside the built-in ones.
        SluiceCLI.main(programs: programs)

        """
    }

    var test: String {
        """
        import Testing
        import Sluice
        import SluiceRuntime
        import SluiceTesting
        import \(programsModule)

        @Suite struct PortPairTests {
            let frame = Packet.ethernet(dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01", etherType: 0x88B5)
                .payload([0xDE, 0xAD, 0xBE, 0xEF]).bytes

            @Test func framesCrossThePairUnchanged() throws {
                let h = try SwitchHarness(PortPair.program().verified())
                try h.send(frame, port: 1)
                try h.expect(frame, port: 2)
                try h.send(frame, port: 2)
                try h.expect(frame, port: 1)
                try h.expectNoOtherPackets()
            }

            @Test func otherPortsDropAndEveryFrameIsCounted() throws {
                let h = try SwitchHarness(PortPair.program().verified())
                try h.expectDropped(frame, port: 3)
                try h.send(frame, port: 1)
                try h.expect(frame, port: 2)
                #expect(try h.pipeline.counter("frames_in", index: 3).packets == 1)
                #expect(try h.pipeline.counter("frames_in", index: 1).packets == 1)
                #expect(try h.pipeline.counter("frames_in", index: 2).packets == 0)
            }
        }

        """
    }

    var topology: String {
        """
        # h1 -- s1 -- h2, s1 running port-pair: h1 sends h2 1 MiB over the reliable transport.
        #   swift run \(name) emulate topology.yaml --report report
        name: \(name)
        topology:
          nodes:
            s1: {kind: switch, program: port-pair, routing: false}
            h1: {kind: host}
            h2: {kind: host}
          links:
            - endpoints: ["s1:p1", "h1:eth0"]
            - endpoints: ["s1:p2", "h2:eth0"]
          defaults:
            link: {rate: 10Gbps, delay: 1us}
        traffic:
          - {kind: bulk, from: h1, to: h2, size: 1MiB}
        until: 10ms

        """
    }

    var readme: String {
        """
        # \(name)

        Switch programs of its own, written with the Sluice DSL, run with every sluice command.

        ```sh
        swift build && swift test                       # the program's tests (SluiceTesting)
        swift run \(name) programs                     # the built-in programs and port-pair
        swift run \(name) run port-pair --packet 1:02000000000202000000000188b5deadbeef
        swift run \(name) emulate topology.yaml --report report
        swift run \(name) compile port-pair --emit ebpf-c
        swift run \(name) compile port-pair --emit program -o port-pair.json   # for the plain `sluice`
        ```

        - `Sources/\(programsModule)/PortPair.swift`: the starter program; add programs beside it and
          list them in `Programs.swift`.
        - `Tests/\(programsModule)Tests`: packets in, exact bytes out, counters read back.
        - `topology.yaml`: h1 -- s1 -- h2 with s1 running port-pair.
        - `Sources/\(name)/main.swift`: the command, every sluice subcommand with these programs.

        Sluice comes from \(sluicePath) (a path dependency in Package.swift).

        """
    }
}
