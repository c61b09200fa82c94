import Foundation
import SluiceIR

/// Asks a pipeline for a trace of each packet, as BMv2's `--log-console` gives: parser states
/// and extracted headers, tables with their keys, hit or miss and the entry or default, actions
/// and their arguments, extern updates, the traffic manager's decision, egress and the deparsed
/// bytes. A pipeline given a tracer compiles a traced variant of its closures (and runs them,
/// never the native engine); a pipeline without one compiles exactly what it always did.
///
/// A packet's lines are kept until the packet is done, then written to `sink` unless `filter`
/// (read after the ingress parser) rejected the packet. Not thread-safe, as the pipeline.
public final class PipelineTracer {
    public enum Format: String, Sendable, CaseIterable { case text, json }

    public let format: Format
    public let filter: TraceFilter?
    /// Names the switch in every packet's first line and in every JSON line (the emulator).
    public let label: String?
    let sink: (String) -> Void

    /// Packets begun and packets whose lines were written.
    public private(set) var packets = 0
    public private(set) var shown = 0

    var events: [TraceEvent] = []
    var context: [(key: String, value: TraceValue)] = []
    var depth = 0
    /// Whether this block's filter decision is still to be made (after its first parse).
    var filterPending = false
    var suppressed = false
    /// The statement that last marked the packet for drop, for the drop decision.
    var dropSite: String?
    /// Set by the pipeline: the filter bound to its layout, names of parser errors and of
    /// deparser spans.
    var bound: BoundTraceFilter?
    var errorNames: [UInt64: String] = [:]
    var spanNames: [String] = []

    /// `sink` receives one line at a time (no newline); by default standard output.
    public init(format: Format = .text, filter: TraceFilter? = nil, label: String? = nil, sink: @escaping (String) -> Void = { print($0) }) {
        self.format = format; self.filter = filter; self.label = label; self.sink = sink
    }

    // MARK: blocks (a packet through `process`, or one `runIngress`/`runEgress` call)

    func begin(port: UInt16, length: Int, timestamp: UInt64, egress: Bool) {
        if !egress { packets += 1 }
        events.removeAll(keepingCapacity: true)
        depth = 0
        suppressed = false
        dropSite = nil
        filterPending = bound != nil
        context = []
        if let label { context.append(("switch", .string(label))) }
        if !egress { context.append(("packet", .int(Int64(packets)))) }
        let who = label.map { "\($0): " } ?? ""
        let fields: [(key: String, value: TraceValue)] = [("port", .int(Int64(port))), ("length", .int(Int64(length))), ("time_ns", .int(Int64(bitPattern: timestamp)))]
        if egress {
            add("egress_queue", "\(who)from the queue of port \(port): \(length) bytes, enqueued at \(timestamp) ns", fields)
        } else {
            add("packet", "\(who)packet \(packets) in port \(port): \(length) bytes, time \(timestamp) ns", fields)
        }
        depth = 1
    }

    func end() {
        defer { events.removeAll(keepingCapacity: true) }
        guard !suppressed else { return }
        shown += 1
        for e in events { sink(render(e)) }
    }

    /// Extra lines from the host of the pipeline (the emulator's queues), in the packet's block:
    /// written at once when that block was shown.
    public func note(_ event: String, _ text: String, _ fields: [(key: String, value: TraceValue)] = []) {
        guard !suppressed else { return }
        sink(render(TraceEvent(event, depth: 1, text: text, fields)))
    }

    func render(_ e: TraceEvent) -> String {
        switch format {
        case .text:
            return String(repeating: "  ", count: e.depth) + e.text
        case .json:
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]  // the same line every run
            let data = (try? enc.encode(TraceLine(context: context, event: e))) ?? Data("{}".utf8)
            return String(decoding: data, as: UTF8.self)
        }
    }

    // MARK: events

    func add(_ event: String, _ text: String, _ fields: [(key: String, value: TraceValue)] = []) {
        guard !suppressed else { return }
        events.append(TraceEvent(event, depth: depth, text: text, fields))
    }

    /// After a parse: decide the filter (once a block), then say how the parser ended.
    func parsed(_ c: ExecContext, accepted: Bool) {
        if filterPending, let bound {
            filterPending = false
            if !bound.matches(c) { suppressed = true; return }
        }
        depth = 2
        // An accept shows as the last state's transition; a reject says why.
        if !accepted {
            let code = c.slots[Layout.standardSlot(.parserError)]
            let name = errorNames[code] ?? "error \(code)"
            add("parser_reject", "reject: \(name)", [("error", .string(name))])
        }
        depth = 1
    }

    func stage(_ name: String, _ text: String? = nil, _ fields: [(key: String, value: TraceValue)] = []) {
        depth = 1
        add(name, text ?? name, fields)
        depth = 2
    }

    func deparsed(_ c: ExecContext, _ buf: PacketBuffer, spans: [(valid: Int, offset: Int, size: Int)]) {
        depth = 2
        let emitted = spans.indices.filter { c.valid[spans[$0].valid] != 0 }.map { spanNames[$0] }
        add("deparse", "emit \(emitted.isEmpty ? "nothing" : emitted.joined(separator: ", ")): \(buf.length) bytes \(TraceValueText.bytes(buf.data, count: buf.length))",
            [("headers", .list(emitted)), ("length", .int(Int64(buf.length))), ("bytes", .string(TraceValueText.bytes(buf.data, count: buf.length, limit: Int.max)))])
        depth = 1
    }

    /// The packet is dropped: where (`stage`), and the statement that marked it if one did.
    func dropped(_ stage: String, _ why: String? = nil) {
        depth = 1
        let site = why ?? dropSite.map { "marked by drop in \($0)" } ?? "dropped"
        add("dropped", "dropped in \(stage): \(site)", [("stage", .string(stage)), ("reason", .string(site))])
    }

    func recordDrop(_ site: String) {
        dropSite = site
        add("drop", "drop (in \(site))", [("site", .string(site))])
    }

    /// Run `body` one level deeper.
    @inline(__always) func nested(_ body: () -> Void) {
        depth += 1
        body()
        depth -= 1
    }
}
