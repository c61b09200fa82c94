import SluiceSupport
import SluiceControlPlane
import SluiceIR
import SluiceRuntime

/// A problem in an STF spec or a failed expectation, naming the file and line.
public struct STFError: Error, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String
    /// Pipeline traces of the packets the failure concerns (run with `trace:`), with what they are.
    public var traces: [(title: String, lines: [String])] = []
    /// Line 0: the spec as a whole.
    public var description: String {
        let head = line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)"
        return ([head] + traces.flatMap { ["\($0.title):"] + $0.lines.map { "  " + $0 } }).joined(separator: "\n")
    }
}

/// Collects each packet's trace lines while a spec runs.
final class STFTraces {
    var current: [String] = []
    var packets: [(line: Int, lines: [String], outputs: Int, expected: Int)] = []
}

/// Text specs in the style of p4c's STF files:
///
///     # comments
///     add ipv4_lpm hdr.ipv4.dstAddr:10.0.1.0/24 ipv4_forward(dstAddr:0x000000000101, port:1)
///     add acl 10 hdr.ipv4.srcAddr:0x0a****** deny()       # priority after the table; * nibbles
///     setdefault ipv4_lpm drop()
///     mc_group_set 1 1 2 3
///     packet 0 00000000 0101 ...                          # port, hex bytes (spaces ignored)
///     expect 1 000000000101 **** ... $                    # * is a don't-care nibble; $ ends the packet
///
/// Without `$`, the output may be longer than the expected bytes. Expectations are per port, in
/// order; at the end every output must have been expected.
public struct STFSpec {
    public let file: String
    public let text: String
    public init(file: String, text: String) { self.file = file; self.text = text }

    public struct Result: CustomStringConvertible {
        public var packets = 0, expectations = 0
        public var description: String { "\(packets) packets, \(expectations) expectations met" }
    }

    /// `trace`: trace every packet, and attach the traces of the packets a failure concerns to
    /// the error (an expectation: the packet sent before it; unexpected outputs: the packets
    /// that sent more than was expected of them).
    public func run(_ verified: VerifiedProgram, controller: (any ProgramController)? = nil,
                    trace: PipelineTracer.Format? = nil) throws -> Result {
        let traces = STFTraces()
        let tracer = trace.map { PipelineTracer(format: $0, sink: { traces.current.append($0) }) }
        let h = try SwitchHarness(verified, controller: controller, trace: tracer)
        func traced(_ i: Int?) -> [(title: String, lines: [String])] {
            guard tracer != nil, let i, i >= 0, i < traces.packets.count else { return [] }
            return [("trace of the packet at line \(traces.packets[i].line)", traces.packets[i].lines)]
        }
        let program = verified.program
        var result = Result()
        var expects: [(line: Int, port: UInt16, packet: ExpectedPacket, sentBy: Int?)] = []
        for (i, raw) in FileIO.lines(text).enumerated() {
            let n = i + 1
            let line = String(raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let cmd = words.first else { continue }
            func fail(_ m: String) -> STFError { STFError(file: file, line: n, message: m) }
            switch cmd {
            case "add":
                guard words.count >= 3 else { throw fail("usage: add TABLE [PRIORITY] KEY:VALUE... ACTION(PARAM:VALUE, ...)") }
                let table = words[1]
                guard let t = program.tables.first(where: { $0.name == table }) else {
                    throw fail("no table '\(table)'; tables: \(program.tables.map(\.name).joined(separator: ", "))")
                }
                var rest = Array(words[2...])
                var priority = 0
                if let p = Int(rest[0]) { priority = p; rest.removeFirst() }
                let actionStart = rest.firstIndex { $0.contains("(") } ?? rest.count
                let call = try parseCall(rest[actionStart...].joined(separator: " "), program, fail)
                var matches = Array(repeating: Match.exact(0), count: t.keys.count)
                var given = Set<Int>()
                for kv in rest[..<actionStart] {
                    guard let colon = kv.firstIndex(of: ":") else { throw fail("'\(kv)' is not KEY:VALUE") }
                    let name = String(kv[..<colon]), v = String(kv[kv.index(after: colon)...])
                    guard let ki = t.keys.firstIndex(where: { $0.name == name }) else {
                        throw fail("table '\(table)' has no key '\(name)'; keys: \(t.keys.map(\.name).joined(separator: ", "))")
                    }
                    matches[ki] = try parseMatch(v, t.keys[ki], width: keyWidth(program, t.keys[ki]), fail)
                    given.insert(ki)
                }
                for (ki, k) in t.keys.enumerated() where !given.contains(ki) {
                    // Keys left out are wildcards where the match kind allows it.
                    switch k.kind {
                    case .ternary: matches[ki] = .ternary(0, mask: 0)
                    case .lpm: matches[ki] = .lpm(0, prefixLength: 0)
                    case .optional: matches[ki] = .optional(nil)
                    case .range: matches[ki] = .range(0, WidthMask.u128(keyWidth(program, k)))
                    case .exact: throw fail("exact key '\(k.name)' of table '\(table)' needs a value")
                    }
                }
                do { try h.pipeline.insert(table, TableEntry(matches, call, priority: priority)) } catch { throw fail("\(error)") }
            case "setdefault":
                guard words.count >= 3 else { throw fail("usage: setdefault TABLE ACTION(ARGS)") }
                let call = try parseCall(words[2...].joined(separator: " "), program, fail)
                do { try h.pipeline.setDefault(words[1], call) } catch { throw fail("\(error)") }
            case "mc_group_set":
                let ports = words.dropFirst(2).compactMap { UInt16($0) }
                guard words.count >= 3, let g = UInt16(words[1]), ports.count == words.count - 2 else { throw fail("usage: mc_group_set GROUP PORT...") }
                do { try h.pipeline.setMulticastGroup(g, ports.map { MulticastMember(port: $0, rid: $0) }) } catch { throw fail("\(error)") }
            case "packet":
                guard words.count >= 2, let port = UInt16(words[1]) else { throw fail("usage: packet PORT HEX...") }
                let (bytes, _, _) = try parseHex(words[2...].joined(), wildcards: false, fail)
                let before = h.pending.values.reduce(0) { $0 + $1.count }
                traces.current = []
                try h.send(bytes, port: port)
                traces.packets.append((n, traces.current, h.pending.values.reduce(0) { $0 + $1.count } - before, 0))
                result.packets += 1
            case "expect":
                guard words.count >= 2, let port = UInt16(words[1]) else { throw fail("usage: expect PORT HEX... [$]") }
                let (bytes, mask, exact) = try parseHex(words[2...].joined(), wildcards: true, fail)
                var e = ExpectedPacket(bytes)
                e.mask = mask
                e.exactLength = exact
                let sentBy = traces.packets.isEmpty ? nil : traces.packets.count - 1
                if let sentBy { traces.packets[sentBy].expected += 1 }
                expects.append((n, port, e, sentBy))
            default:
                throw fail("unknown command '\(cmd)'; commands: add, setdefault, mc_group_set, packet, expect")
            }
        }
        for e in expects {
            do { try h.expect(e.packet, port: e.port) } catch {
                throw STFError(file: file, line: e.line, message: "\(error)", traces: traced(e.sentBy))
            }
            result.expectations += 1
        }
        do { try h.expectNoOtherPackets() } catch {
            let extra = traces.packets.indices.filter { traces.packets[$0].outputs > traces.packets[$0].expected }
            throw STFError(file: file, line: 0, message: "\(error)", traces: extra.flatMap { traced($0) })
        }
        // A spec that expects nothing proves nothing; it is also what a file read wrongly (one
        // long comment line) looks like, so it must never pass.
        guard result.expectations > 0 else {
            throw STFError(file: file, line: 0, message: "checks nothing: \(result.packets) packets sent and no `expect` line (a spec passes only when it expects at least one packet)")
        }
        return result
    }

    func keyWidth(_ p: Program, _ k: TableKey) -> Int { ProgramIndex(p).width(of: k.expr) ?? 64 }

    func parseCall(_ s: String, _ p: Program, _ fail: (String) -> STFError) throws -> ActionCall {
        guard let open = s.firstIndex(of: "("), s.hasSuffix(")") else { throw fail("'\(s)' is not ACTION(PARAM:VALUE, ...)") }
        let name = String(s[..<open]).trimmingSpaces
        guard let action = p.actions.first(where: { $0.name == name }) else {
            throw fail("no action '\(name)'; actions: \(p.actions.map(\.name).joined(separator: ", "))")
        }
        let inner = s[s.index(after: open)..<s.index(before: s.endIndex)]
        var args = Array(repeating: UInt128(0), count: action.params.count)
        for part in inner.split(separator: ",") {
            let kv = part.split(separator: ":", maxSplits: 1).map { String($0).trimmingSpaces }
            guard kv.count == 2, let pi = action.params.firstIndex(where: { $0.name == kv[0] }) else {
                throw fail("'\(part)' in \(name)(...) is not PARAM:VALUE with a parameter of \(name) (\(action.params.map(\.name).joined(separator: ", ")))")
            }
            guard let v = ValueSyntax.parse(kv[1]) else { throw fail("'\(kv[1])' is not a value") }
            args[pi] = v
        }
        return ActionCall(name, args)
    }

    func parseMatch(_ v: String, _ k: TableKey, width: Int, _ fail: (String) -> STFError) throws -> Match {
        if k.kind == .lpm, let slash = v.firstIndex(of: "/") {
            guard let val = ValueSyntax.parse(String(v[..<slash])), let len = Int(v[v.index(after: slash)...]) else { throw fail("'\(v)' is not VALUE/LENGTH") }
            return .lpm(val, prefixLength: len)
        }
        if k.kind == .range, let r = v.range(of: "..") {
            guard let lo = ValueSyntax.parse(String(v[..<r.lowerBound])), let hi = ValueSyntax.parse(String(v[r.upperBound...])) else { throw fail("'\(v)' is not LOW..HIGH") }
            return .range(lo, hi)
        }
        if v.contains("*"), v.hasPrefix("0x") {
            // Nibble wildcards: 0x0a****01
            var value: UInt128 = 0, mask: UInt128 = 0
            for ch in v.dropFirst(2) {
                value <<= 4; mask <<= 4
                if ch == "*" { continue }
                guard let d = UInt8(String(ch), radix: 16) else { throw fail("'\(v)': '\(ch)' is not a hex digit or *") }
                value |= UInt128(d); mask |= 0xF
            }
            if k.kind == .optional { return .optional(mask == 0 ? nil : value) }
            return .ternary(value, mask: mask)
        }
        guard let val = ValueSyntax.parse(v) else { throw fail("'\(v)' is not a value for key \(k.name)") }
        switch k.kind {
        case .exact: return .exact(val)
        case .lpm: return .lpm(val, prefixLength: width)
        case .ternary: return .ternary(val, mask: WidthMask.u128(width))
        case .range: return .range(val, val)
        case .optional: return .optional(val)
        }
    }

    func parseHex(_ s: String, wildcards: Bool, _ fail: (String) -> STFError) throws -> ([UInt8], [UInt8], Bool) {
        var text = Substring(s)
        var exact = false
        if text.hasSuffix("$") { exact = true; text = text.dropLast() }
        let digits = Array(text)
        guard digits.count % 2 == 0 else { throw fail("odd number of hex digits (\(digits.count)); bytes are two digits each") }
        var bytes: [UInt8] = [], mask: [UInt8] = []
        var i = 0
        while i < digits.count {
            var b: UInt8 = 0, m: UInt8 = 0
            for d in digits[i...i + 1] {
                b <<= 4; m <<= 4
                if d == "*" && wildcards { continue }
                guard let v = UInt8(String(d), radix: 16) else { throw fail("'\(d)' is not a hex digit\(wildcards ? " or *" : "")") }
                b |= v; m |= 0xF
            }
            bytes.append(b); mask.append(m)
            i += 2
        }
        return (bytes, mask, exact || !wildcards)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
