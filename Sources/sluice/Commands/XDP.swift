import ArgumentParser
import Foundation
import SluiceEBPF
import SluiceIR
import SluiceXDP

struct XDPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xdp",
        abstract: "The XDP backend: load programs into the kernel, see and remove what is attached.",
        subcommands: [XDPVerify.self, XDPStatus.self, XDPDetach.self])
}

struct XDPVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Compile a program to eBPF and load it into the kernel (the verifier's check), then unload it.",
        discussion: "Needs root (or CAP_BPF and CAP_NET_ADMIN) and clang. Prints the verifier's log when it refuses.")

    @Argument(help: "A built-in program (see `sluice programs`).")
    var program: String

    func run() throws {
        let info = try builtinProgram(program)
        let ir: Program
        do { ir = try info.build().verified() } catch { throw CLIError("\(error)") }
        do {
            let p = try XDPProgram(ir)
            print("\(program): the kernel's verifier accepted it (program fd \(p.programFD))")
        } catch {
            throw CLIError("\(error)")
        }
    }
}

struct XDPStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List the interfaces of this network namespace with an XDP program attached: id, name, and whether Sluice attached it.")

    func run() throws {
        var any = false
        for name in interfaceNames() {
            if let id = XDPProgram.attachedID(interface: name) {
                let prog = XDPProgram.programName(id: id) ?? "?"
                let ours = prog.hasPrefix("sluice_") ? "attached by Sluice (program \(prog.dropFirst(7))…; `sluice xdp detach -i \(name)` removes it)" : "not Sluice's"
                print("\(name)\tid \(id)\t\(prog)\t\(ours)")
                any = true
            }
        }
        if !any { print("no interface has an XDP program attached") }
    }

    func interfaceNames() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net"))?.sorted() ?? []
    }
}

struct XDPDetach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Remove the XDP program from an interface (the clean-up after a crash).")

    @Option(name: .shortAndLong, help: "The interface.")
    var interface: String

    func run() throws {
        do { try XDPProgram.detach(interface: interface) } catch { throw CLIError("\(error)") }
        print("\(interface): no XDP program attached")
    }
}
