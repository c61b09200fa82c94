// swift-tools-version:6.0
// Sluice: a Swift toolkit for programmable data planes. See README.md and ../shared/DESIGN.md.
import PackageDescription

let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Sluice", targets: ["Sluice"]),
        .library(name: "SluiceIR", targets: ["SluiceIR"]),
        .library(name: "SluiceControlPlane", targets: ["SluiceControlPlane"]),
        .library(name: "SluiceRuntime", targets: ["SluiceRuntime"]),
        .library(name: "SluiceTesting", targets: ["SluiceTesting"]),
        .library(name: "SluicePrograms", targets: ["SluicePrograms"]),
        .library(name: "SluiceEmulator", targets: ["SluiceEmulator"]),
        .library(name: "SluicePcapFiles", targets: ["SluicePcapFiles"]),
        .library(name: "SluicePcap", targets: ["SluicePcap"]),
        .library(name: "SluiceML", targets: ["SluiceML"]),
        .library(name: "SluiceEBPF", targets: ["SluiceEBPF"]),
        .library(name: "SluiceXDP", targets: ["SluiceXDP"]),
        .library(name: "SluiceTelemetry", targets: ["SluiceTelemetry"]),
        .library(name: "SluiceReports", targets: ["SluiceReports"]),
        .library(name: "SluiceP4Runtime", targets: ["SluiceP4Runtime"]),
        .library(name: "SluiceP4RuntimeServer", targets: ["SluiceP4RuntimeServer"]),
        .library(name: "SluiceCLI", targets: ["SluiceCLI"]),
        .executable(name: "sluice", targets: ["sluice"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // The P4Runtime server only (SluiceP4RuntimeServer).
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
    ],
    targets: [
        // Utilities with no dependencies, one implementation each (the monotonic clock, file reading).
        .target(name: "SluiceSupport"),
        // Report folders (index.html linking plots and data), SVG line and bar plots, CSV, JSON,
        // text tables and unit formatting: what the emulator, experiments and telemetry write.
        .target(name: "SluiceReports"),
        // IR: plain values, a verifier (one rule a file) and a printer. Knows nothing of backends.
        .target(name: "SluiceIR", dependencies: ["SluiceSupport"]),
        // The DSL users import. It only builds IR.
        .target(name: "Sluice", dependencies: ["SluiceIR"]),
        // The one control-plane interface every backend implements, the checks of entries and
        // extern writes they share, entries files and the protocol of program controllers.
        .target(name: "SluiceControlPlane", dependencies: ["SluiceIR", "SluiceSupport"]),
        // IR -> executable pipeline, tables, externs; implements the control plane. Its native
        // engine takes the host C of SluiceEBPF's lowering.
        .target(name: "SluiceRuntime", dependencies: ["SluiceIR", "SluiceControlPlane", "SluiceSupport", "SluiceEBPF"]),
        // PTF-like send/expect, STF-like specs, packet builders, fuzzing, snapshots: what a
        // program author's tests need, and no emulator or ML stack.
        .target(name: "SluiceTesting", dependencies: ["SluiceControlPlane", "Sluice", "SluiceIR", "SluiceRuntime", "SluiceSupport"]),
        // Tests of the built-in aggregation programs and ML workloads: switchml and atp packets,
        // the workload replay harness (emulated topologies).
        .target(name: "SluiceTestingML", dependencies: ["SluiceTesting", "SluiceControlPlane", "SluiceIR", "SluiceRuntime", "SluiceEmulator", "SluiceML", "SluicePcapFiles", "SluicePrograms"]),
        // Built-in switch programs, one file each, plus the registry.
        .target(name: "SluicePrograms", dependencies: ["Sluice", "SluiceIR", "SluiceControlPlane"], path: "Programs"),
        // Discrete-event emulator: links, queues, switches running pipelines, hosts, transports,
        // topology files, routing, traces and its run report.
        .target(name: "SluiceEmulator", dependencies: ["SluiceControlPlane", "CMPI", "CPrefetch",
            "SluiceIR", "SluiceRuntime", "SluicePcapFiles", "SluiceSupport", "SluiceReports",
            .product(name: "Yams", package: "Yams"),
        ]),
        // IR -> C: the lowering (parser, expressions, statements, checksums, hashes, deparser)
        // and its XDP wrapping; clang -target bpf makes the object.
        .target(name: "SluiceEBPF", dependencies: ["SluiceIR"]),
        .systemLibrary(name: "CBPF", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev"])]),
        // libbpf: load and attach at XDP, maps as tables (the XDP control plane), test runs.
        .target(name: "SluiceXDP", dependencies: ["CBPF", "SluiceEBPF", "SluiceIR", "SluiceControlPlane"]),
        // Collectives (ring, halving-doubling, parameter server), the in-network aggregation host
        // protocol (worker, quantization) on emulated hosts and real UDP sockets, experiments.
        .target(name: "SluiceML", dependencies: ["SluiceControlPlane", "Sluice", "SluiceEmulator", "SluiceRuntime", "SluicePrograms", "SluiceIR", "CSockets", "SluiceSupport", "SluiceReports"]),
        // INT telemetry: the Telemetry Report v2.0 / INT-MD v2.1 decoder and collector (on a UDP
        // socket and on emulated hosts), its report folder, the int-incast experiment, and the
        // Wireshark Lua dissector (embedded, written out by `sluice wireshark-dissector`).
        .target(name: "SluiceTelemetry", dependencies: ["SluiceControlPlane", "SluiceEmulator", "SluicePrograms", "SluicePcap", "SluicePcapFiles", "SluiceRuntime", "SluiceIR", "SluiceSupport", "SluiceReports"],
                resources: [.embedInCode("Resources/sluice.lua")]),
        // pcap and pcapng files in pure Swift (reader, nanosecond writer, in-memory traces): no
        // libpcap, so the emulator and the testing harness build without libpcap-dev.
        .target(name: "SluicePcapFiles"),
        // libpcap, as a system library: the module map and a shim header in Sources/CPcap.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        // Live capture and injection through libpcap (every libpcap call is in LibPcap.swift), the
        // sender that paces a trace onto an interface and the pcap-attached software switch.
        .target(name: "SluicePcap", dependencies: ["CPcap", "CSockets", "SluiceSupport", "SluicePcapFiles", "SluiceRuntime", "SluiceControlPlane"]),
        // sendmmsg (batched datagrams) for `sluice send --topspeed`.
        .target(name: "CSockets"),
        // The few MPI calls `sluice emulate --mpi` makes, on Open MPI's libmpi.so.40 loaded at run
        // time (dlopen): no build or run dependency on Open MPI where --mpi is not given.
        .target(name: "CMPI"),
        // __builtin_prefetch, which Swift cannot spell, for the emulator's packets.
        .target(name: "CPrefetch"),
        // P4Runtime: the P4Info of a program (ids by the specification's layout), on swift-protobuf
        // code generated from Protos/ by Scripts/generate-protos.sh (committed in Generated/).
        .target(name: "SluiceP4Runtime", dependencies: ["SluiceIR", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["Generated/MANIFEST"]),
        // The P4Runtime v1 server (grpc-swift-2 over HTTP/2, plaintext) in front of any backend
        // that implements the control plane as a `SwitchTarget`; its service code is generated
        // into Generated/ by Scripts/generate-protos.sh.
        .target(name: "SluiceP4RuntimeServer", dependencies: [
            "SluiceP4Runtime", "SluiceControlPlane", "SluiceIR", "SluiceRuntime", "SluiceSupport",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        ]),
        // The command line as a library: every subcommand, for `sluice` and for the command a
        // package made by `sluice new` builds with its own programs beside the built-in ones.
        .target(
            name: "SluiceCLI",
            dependencies: [
                "SluiceControlPlane", "Sluice", "SluiceIR", "SluiceRuntime", "SluicePrograms", "SluiceTesting", "SluiceTestingML", "SluiceEmulator", "SluicePcap", "SluiceML", "SluiceEBPF", "SluiceXDP", "SluiceTelemetry", "SluiceSupport", "SluicePcapFiles", "SluiceReports", "SluiceP4Runtime", "SluiceP4RuntimeServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "sluice", dependencies: ["SluiceCLI"]),
        .testTarget(name: "SluiceIRTests", dependencies: ["Sluice", "SluiceIR", "SluicePrograms"]),
        .testTarget(name: "SluiceRuntimeTests", dependencies: ["SluiceControlPlane", "Sluice", "SluiceIR", "SluiceRuntime", "SluiceTesting"]),
        .testTarget(name: "SluiceReportsTests", dependencies: ["SluiceReports"]),
        // Snapshots/ holds the expected P4Info texts, read from the source tree by path.
        .testTarget(name: "SluiceP4RuntimeTests", dependencies: ["SluiceP4Runtime", "SluiceP4RuntimeServer", "SluiceControlPlane", "SluiceRuntime",
                                                                 .product(name: "GRPCCore", package: "grpc-swift-2"),
                                                                 .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                                                                 .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"), "SluiceIR", "Sluice", "SluicePrograms", "SluiceTesting", "SluiceXDP", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                    exclude: ["Snapshots"]),
        .testTarget(name: "SluiceEmulatorTests", dependencies: ["SluiceControlPlane", "SluiceEmulator", "SluiceRuntime", "SluicePrograms", "SluiceTesting", "SluicePcapFiles"]),
        .testTarget(name: "SluiceMLTests", dependencies: ["SluiceTestingML", "SluiceControlPlane", "SluiceML", "SluiceEmulator", "SluiceRuntime", "SluicePrograms", "SluiceTesting", "SluicePcapFiles"]),
        // The emitted C of every built-in program against Snapshots/ (read by path), each compiled
        // with clang: no kernel, no libbpf, no root.
        .testTarget(name: "SluiceEBPFTests", dependencies: ["SluiceEBPF", "SluiceIR", "SluicePrograms", "SluiceTesting"],
                    exclude: ["Snapshots"]),
        .testTarget(name: "SluiceXDPTests", dependencies: ["SluiceTestingML", "SluiceControlPlane", "SluiceXDP", "SluiceEBPF", "SluiceIR", "SluiceRuntime", "SluiceTesting", "SluicePrograms", "Sluice", "SluicePcap", "SluicePcapFiles"]),
        .testTarget(name: "SluiceTelemetryTests", dependencies: ["SluiceControlPlane", "SluiceTelemetry", "SluiceML", "SluiceEmulator", "SluicePcap", "SluiceTesting", "SluicePrograms", "SluiceRuntime", "SluicePcapFiles"]),
        .testTarget(name: "SluicePcapTests", dependencies: ["Sluice", "SluiceIR", "SluicePcap", "SluiceRuntime", "SluiceTesting", "SluicePrograms", "SluicePcapFiles"]),
        // Snapshots/ and Specs/ are read from the source tree by path (see IRSnapshotTests).
        .testTarget(name: "SluiceProgramsTests", dependencies: ["SluiceTestingML", "SluiceControlPlane", "Sluice", "SluiceIR", "SluiceRuntime", "SluiceTesting", "SluicePrograms", "SluicePcapFiles"],
                    exclude: ["Snapshots", "Specs"]),
    ],
    swiftLanguageModes: [.v5]
)
