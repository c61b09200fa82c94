import SluiceSupport
import ArgumentParser
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceTesting

struct STF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stf",
        abstract: "Run a p4c-style STF spec (add, setdefault, packet, expect) against a program.")

    @Argument(help: "The .stf file.")
    var file: String

    @Option(help: "A built-in program (see `sluice programs`) or a program file (.json).")
    var program: String

    func run() throws {
        let info = try resolveProgram(program)
        let text: String
        do { text = try FileIO.readText(file) } catch { throw CLIError("\(error)") }
        let ir = info.program
        do {
            let r = try STFSpec(file: file, text: text).run(ir, controller: info.controller?(Array(0..<8)))
            print("\(file): pass (\(r))")
        } catch {
            print("\(error)")
            throw ExitCode.failure
        }
    }
}
