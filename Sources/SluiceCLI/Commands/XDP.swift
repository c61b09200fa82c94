import ArgumentParser
import Foundation
import SluicePrograms
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

    @Argument(help: "A built-in program (see `sluice programs`) or a program file (.json).")
    var program: String

    @Flag(help: "Print one JSON object {program, accepted} instead of text (a refusal still exits non-zero with the verifier's log).")
    var json = false

    func run() throws {
        let info = try resolveProgram(program)
        let ir = info.program
        do {
            let p = try XDPProgram(ir)
            if json {
                struct Verdict: Encodable { var program: String; var accepted: Bool }
                try printJSON(Verdict(program: program, accepted: true))
            } else {
                print("\(program): the kernel's verifier accepted it (program fd \(p.programFD))")
            }
        } catch {
            throw CLIError("\(error)")
        }
    }
}

struct XDPStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List the interfaces of this network namespace with an XDP program attached: id, name, and whether Sluice attached it.")

    @Flag(help: "Print a JSON array of {interface, id, name, mode, by_sluice, program} instead of text.")
    var json = false

    struct Attached: Encodable { var interface: String; var id: UInt32; var name: String; var mode: String; var by_sluice: Bool; var program: String? }

    func run() throws {
        var any = false
        var listed: [Attached] = []
        for name in interfaceNames() {
            if let a = XDPProgram.attachedProgram(interface: name) {
                // The full name comes from the program's BTF; without it the kernel's 15
                // characters may be all there is, marked with `…`.
                let ident = String(a.displayName.dropFirst(7))
                // The entry point is `sluice_` + EBPFLayout.ident(name): the registry's spelling
                // when it is one of the shipped programs.
                let program = programSource.names.first { EBPFLayout.ident($0) == ident } ?? ident
                listed.append(Attached(interface: name, id: a.id, name: a.displayName, mode: "\(a.mode)", by_sluice: a.bySluice,
                                       program: a.bySluice ? program : nil))
                if json { continue }
                let ours = a.bySluice ? "attached by Sluice (program \(program); `sluice xdp detach -i \(name)` removes it)" : "not Sluice's"
                print("\(name)\tid \(a.id)\t\(a.displayName)\t\(a.mode)\t\(ours)")
                any = true
            }
        }
        if json { return try printJSON(listed) }
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
        guard if_nametoindex(interface) > 0 else {
            throw CLIError("-i \(interface): no such interface in this network namespace (`ip link` lists them; `sluice xdp status` those with XDP)")
        }
        // A `sluice attach --threaded-napi` killed before it could clean up leaves NAPI threaded:
        // put it back while the program (a veth's NAPI with it) is still there.
        if XDPProgram.attachedProgram(interface: interface) != nil, (try? NAPIThreads.isThreaded(interface)) == true {
            do {
                try NAPIThreads.set(interface, threaded: false)
                print("turned NAPI threads off on \(interface) (sysfs threaded 1 -> 0)")
            } catch { stderr("warning: \(error)") }
        }
        let removed: XDPProgram.Attached?
        do { removed = try XDPProgram.detach(interface: interface) } catch { throw CLIError("\(error)") }
        if let r = removed {
            print("removed \(r.displayName) (id \(r.id), \(r.mode)) from \(interface)")
        } else {
            print("nothing attached to \(interface)")
        }
    }
}
