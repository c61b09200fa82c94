import ArgumentParser
import Foundation
import SluicePrograms
import SluiceSupport

/// The sluice command line as a library: `sluice` itself, and the command a package made by
/// `sluice new` builds, which adds its own programs beside the built-in ones.
public enum SluiceCLI {
    /// The name in usage lines and help (the executable's name).
    nonisolated(unsafe) static var commandName = "sluice"

    /// Parses the process's arguments and runs the subcommand. `programs` join the built-in
    /// ones: every command, topology file and `programs` listing takes them by name (a name
    /// given twice: the package's program wins).
    public static func main(programs: [ProgramInfo] = []) {
        commandName = CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "sluice") } ?? "sluice"
        programSource = ProgramRegistry.resolver.adding(programs.map(\.resolvable))
        SluiceCommand.main()
    }
}

struct SluiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: SluiceCLI.commandName,
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
              sluice capture -i veth1 -c 1000 -f 'udp' -w trace.pcap
              sluice send trace.pcap -i veth0 --topspeed
              sluice replay in.pcap --program ipv4-router --entries routes.txt --pcap-dir out
              sluice attach --program ipv4-router --entries routes.txt --port 1=veth1 --port 2=veth2
              sluice experiment ina-e2 --report out/e2
              sluice traffic ddp model=100MB iterations=2 -w ddp.pcap
              sluice compile ipv4-router --emit ebpf-c
              sluice attach --backend xdp --program ipv4-router --entries routes.txt --port 1=veth1 --port 2=veth2
              sluice experiment lb-ecmp-collisions
              sluice collect --listen 32766 --report out/int
              sluice wireshark-dissector -o sluice.lua
              sluice demo
              sluice tour
            """,
        version: "sluice \(SluiceVersion.current)",
        subcommands: [Programs.self, New.self, Compile.self, Run.self, STF.self, Fuzz.self, Emulate.self, Capture.self, Send.self, Replay.self, Attach.self, TrafficCommand.self, XDPCommand.self, AggregatorCommand.self, AllReduceCommand.self, Bench.self, Experiment.self, Collect.self, WiresharkDissectorCommand.self, Demo.self, Tour.self]
    )

    /// ArgumentParser's `main`, except that a `ValidationError` thrown by a subcommand's `run()`
    /// (an option whose value only `run()` can judge, e.g. a program name) prints that
    /// subcommand's usage, as one thrown by `validate()` does, rather than the root's list.
    static func main() {
        var command: ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        do {
            try command.run()
        } catch let e as ValidationError {
            let usage = usageString(for: type(of: command))
            let path = usage.split(separator: " ").prefix { !["<", "[", "-"].contains($0.first ?? "-") }.joined(separator: " ")
            FileHandle.standardError.write("Error: \(e.message)\nUsage: \(usage)\n  See '\(path) --help' for more information.\n".data(using: .utf8)!)
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}
