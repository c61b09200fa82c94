import ArgumentParser
import Sluice
import SluiceIR
import SluicePrograms

struct Programs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the built-in switch programs.")

    func run() throws {
        let width = ProgramRegistry.all.map(\.name.count).max() ?? 0
        for p in ProgramRegistry.all {
            print(p.name.padding(width) + "  " + p.summary)
        }
    }
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

/// A built-in program by name, or a program file (`sluice compile P --emit program -o P.json`)
/// by path (a name ending in .json or holding a '/'); errors list the valid names, or name the
/// file and the JSON path of its fault. A file's program runs without a controller.
func builtinProgram(_ name: String) throws -> ProgramInfo {
    if ProgramFile.looksLikePath(name) {
        let ir: Program
        do { ir = try ProgramFile.load(path: name) } catch { throw CLIError("\(error)") }
        return ProgramInfo(name: ir.name, summary: "from \(name)", build: { SwitchProgram(ir: ir) })
    }
    guard let p = ProgramRegistry.named(name) else { throw ValidationError(ProgramRegistry.unknown(name)) }
    return p
}
