import ArgumentParser
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

/// Look up a built-in program by name, with an error listing the valid names.
func builtinProgram(_ name: String) throws -> ProgramInfo {
    guard let p = ProgramRegistry.named(name) else { throw ValidationError(ProgramRegistry.unknown(name)) }
    return p
}
