import ArgumentParser

@main
struct SluiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Write switch programs in Swift; run them in the runtime, an emulator, on real interfaces or in XDP.",
        discussion: """
            Programs are written with the Sluice DSL and lower to a verified IR. Built-in programs \
            are listed by `sluice programs`. Examples:
              sluice programs
              sluice compile ipv4-router --emit ir
              sluice run ipv4-router --entries routes.txt --packet 0:<hex>
              sluice stf spec.stf --program ipv4-router
              sluice bench pipeline --program ipv4-router --json
              sluice emulate Topologies/leafspine-16.yaml --report out/ls16 --pcap-dir out/ls16/pcaps
              sluice bench emulator --json
              sluice demo
            """,
        subcommands: [Programs.self, Compile.self, Run.self, STF.self, Emulate.self, Bench.self, Demo.self]
    )
}
