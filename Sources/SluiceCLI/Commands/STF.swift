import SluiceSupport
import ArgumentParser
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceTesting

struct STF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stf",
        abstract: "Run a p4c-style STF spec (add, setdefault, packet, expect) against a program.",
        discussion: """
            --trace prints, when an expectation fails, the pipeline trace of the packet it concerns \
            (the packet sent before the expect line; for unexpected outputs, the packets that sent them):
              sluice stf tests/router.stf --program ipv4-router --trace
            """)

    @Argument(help: "The .stf file.")
    var file: String

    @Option(help: "A built-in program (see `sluice programs`) or a program file (.json).")
    var program: String

    @Flag(help: "On a failure, print the pipeline trace of the packets it concerns.")
    var trace = false

    @Option(help: "The trace as text or json (JSON lines).")
    var traceFormat: PipelineTracer.Format = .text

    @Flag(help: "Print one JSON object {file, program, passed, result | failure} instead of text.")
    var json = false

    func run() throws {
        let info = try resolveProgram(program)
        let text: String
        do { text = try FileIO.readText(file) } catch { throw CLIError("\(error)") }
        let ir = info.program
        struct Output: Encodable { var file: String; var program: String; var passed: Bool; var result: Nullable<String>; var failure: Nullable<String> }
        do {
            let r = try STFSpec(file: file, text: text).run(ir, controller: info.controller?(Array(0..<8)), trace: trace ? traceFormat : nil)
            if json { return try printJSON(Output(file: file, program: program, passed: true, result: Nullable("\(r)"), failure: Nullable(nil))) }
            print("\(file): pass (\(r))")
        } catch {
            if json { try printJSON(Output(file: file, program: program, passed: false, result: Nullable(nil), failure: Nullable("\(error)"))) }
            else { print("\(error)") }
            throw ExitCode.failure
        }
    }
}
