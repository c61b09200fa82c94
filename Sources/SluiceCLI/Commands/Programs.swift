import SluiceControlPlane
import ArgumentParser
import Sluice
import SluiceIR
import SluicePrograms

struct Programs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the switch programs every command takes by name (built in, and a package's own).")

    @Flag(help: "Print a JSON array of {name, summary, routed, controller} instead of text.")
    var json = false

    func run() throws {
        if json {
            struct Listed: Encodable { var name: String; var summary: String; var routed: Bool; var controller: Bool }
            return try printJSON(programSource.named.map { Listed(name: $0.name, summary: $0.summary, routed: $0.routes != nil, controller: $0.controller != nil) })
        }
        let width = programSource.named.map(\.name.count).max() ?? 0
        for p in programSource.named {
            print(p.name.padding(width) + "  " + p.summary)
        }
    }
}

/// Where every command finds programs: the built-in ones by name, and program files
/// (`sluice compile P --emit program -o P.json`) by path.
nonisolated(unsafe) var programSource = ProgramRegistry.resolver

/// The program `ref` names (a built-in name, or a program file: a name ending in .json or
/// holding a '/'), verified, with its controller; errors list the valid names, or name the
/// file and the JSON path of its fault. A file's program runs without a controller.
func resolveProgram(_ ref: String) throws -> ResolvedProgram {
    // An unknown name is a usage error (the usage follows it); a bad file is not.
    if !ProgramResolver.isFile(ref) && programSource.program(named: ref) == nil { throw ValidationError(programSource.unknown(ref)) }
    do { return try programSource.resolve(ref) } catch { throw CLIError(error.description) }
}
