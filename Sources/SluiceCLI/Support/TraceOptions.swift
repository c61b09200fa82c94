import ArgumentParser
import Foundation
import SluiceIR
import SluiceRuntime

extension PipelineTracer.Format: ExpressibleByArgument {}

/// `--trace`, `--trace-format` and `--trace-filter` of run, replay, stf and attach.
struct TraceOptions: ParsableArguments {
    @Flag(help: ArgumentHelp("Print a pipeline trace of every packet: parser states and headers, tables (key, hit or miss, entry), actions, register and counter updates, the traffic manager's decision, egress and the deparsed bytes.",
                             discussion: "The closure engine runs while tracing (the native engine does not trace)."))
    var trace = false

    @Option(help: "The trace as text (indented, one line an event) or json (one JSON object a line, snake_case keys).")
    var traceFormat: PipelineTracer.Format = .text

    @Option(help: ArgumentHelp("Trace only packets this filter accepts, read after the ingress parser, e.g. 'ipv4.dstAddr == 10.0.2.2 && ingress_port == 1'.",
                               discussion: "Comparisons (== != < <= > >=) of header fields (HEADER.FIELD; a unique prefix and snake_case do: ipv4.dst), standard fields (ingress_port) and metadata with values (17, 0x11, 10.0.2.2, 00:00:00:00:00:01), joined by && || ! and parentheses; a header name alone tests that it is valid."))
    var traceFilter: String?

    func validate() throws {
        if !trace && (traceFilter != nil || traceFormat != .text) {
            throw ValidationError("--trace-filter and --trace-format need --trace")
        }
        _ = try parsedFilter()
    }

    func parsedFilter() throws -> TraceFilter? {
        guard let traceFilter else { return nil }
        do { return try TraceFilter(traceFilter) } catch { throw ValidationError("--trace-filter: \(error)") }
    }

    /// The tracer asked for (nil without --trace), writing to standard output.
    func tracer(label: String? = nil, sink: @escaping (String) -> Void = { print($0) }) throws -> PipelineTracer? {
        guard trace else { return nil }
        return PipelineTracer(format: traceFormat, filter: try parsedFilter(), label: label, sink: sink)
    }
}

/// A pipeline traced or not, with errors that say which option to fix.
func makePipeline(_ program: VerifiedProgram, name: String, seed: UInt64, trace: PipelineTracer?,
                  engine: PipelineEngine = .default) throws -> Pipeline {
    do {
        return try Pipeline(program, seed: seed, engine: engine, trace: trace)
    } catch let e as TraceFilterError {
        throw CLIError("--trace-filter: \(e) (program \(name))")
    } catch {
        throw CLIError("program '\(name)' does not compile: \(error)")
    }
}

/// A trace line to standard error (when standard output holds a --json object).
@Sendable func traceLineToStandardError(_ line: String) { stderr(line) }

/// Where trace lines go: standard output, or standard error when a --json object owns it.
func traceSink(toStandardError: Bool) -> @Sendable (String) -> Void {
    if toStandardError { return traceLineToStandardError }
    return { line in print(line) }
}

/// `--engine` of the commands that run one program (replay, attach): what runs it.
struct EngineOption: ParsableArguments {
    @Option(help: "What runs the program: native (C through clang) or closures; default $SLUICE_ENGINE, else native. The output says which ran.")
    var engine: PipelineEngine?

    var chosen: PipelineEngine { engine ?? .default }
}

/// The line saying which engine ran a pipeline, and why not the native one where it was asked for.
func engineLine(_ p: Pipeline) -> String {
    "engine \(p.engine.rawValue)" + (p.engineNote.map { " (native engine not used: \($0))" } ?? "")
}
