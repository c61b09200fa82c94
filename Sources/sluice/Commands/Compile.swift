import ArgumentParser
import SluiceIR
import SluicePrograms
import SluiceRuntime

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a program and print it in a backend's form.",
        discussion: "`--emit ir` prints the verified IR as stable text (what snapshot tests pin).")

    enum Emit: String, ExpressibleByArgument, CaseIterable { case ir }

    @Argument(help: "A built-in program (see `sluice programs`).")
    var program: String

    @Option(help: "What to emit: \(Emit.allCases.map(\.rawValue).joined(separator: ", ")).")
    var emit: Emit = .ir

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    func run() throws {
        let info = try builtinProgram(program)
        let ir: Program
        do { ir = try info.build().verified() } catch { throw ValidationError("\(error)") }
        let text = IRPrinter.print(ir)
        if let output {
            guard FileIO.write(output, text) else { throw ValidationError("cannot write \(output)") }
        } else {
            print(text, terminator: "")
        }
    }
}
