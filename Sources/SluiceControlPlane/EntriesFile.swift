import Foundation
import SluiceIR
import SluiceSupport

/// A problem in an entries file, naming the file, the line and what would be valid.
public struct EntriesFileError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var message: String
    /// Line 0: the file as a whole (it cannot be read), no line to point at.
    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// Entries files in the style of BMv2's runtime CLI, one command a line, `#` comments:
///
///     table_add ipv4_lpm ipv4_forward 10.0.1.0/24 => 00:00:00:00:01:01 1
///     table_add acl deny 10.0.0.0&&&0xff000000 0->1023 => 10      # trailing priority
///     table_set_default ipv4_lpm drop
///     table_modify ipv4_lpm ipv4_forward 0 => 00:00:00:00:01:02 2   # by handle
///     table_delete ipv4_lpm 0
///     table_clear ipv4_lpm
///     mc_mgrp_create 1
///     mc_node_create 0 1 2 3        # replica id, then ports; prints a node handle
///     mc_node_associate 1 0         # group, node handle
///     mc_group_set 2 1 2 3:7        # shorthand: group, ports (port:rid)
///     register_write agg 3 42
///     register_reset agg
///     counter_reset per_rule
///     meter_set_rates m 0 1000000:2000 2000000:4000   # cir:cbs pir:pbs, per second
///     meter_array_set_rates m 1000000:2000 2000000:4000
///     table_reset_default ipv4_lpm
///     mc_node_update 0 4 5          # node handle, new ports
///     mc_node_dissociate 1 0        # group, node handle
///     mc_node_destroy 0
///     mc_mgrp_destroy 1
///
/// Names may be BMv2's fully qualified ones (`MyIngress.ipv4_lpm`, `MyIngress.ipv4_forward`):
/// when the whole name is unknown, its last component is used. BMv2 commands Sluice does not
/// take (reads such as `table_dump`, `mirroring_add`, action profiles, `set_queue_rate`, ...)
/// are refused by name, with what to do instead.
///
/// Match syntax: exact `v`; lpm `v/len`; ternary `v&&&mask`; range `lo->hi`; optional `v` or `*`.
/// Values: decimal, 0x hex, 0b binary, MAC, IPv4, IPv6.
public struct EntriesFile {
    public let file: String
    public let text: String

    public init(file: String, text: String) { self.file = file; self.text = text }

    public init(path: String) throws(EntriesFileError) {
        do { self.init(file: path, text: try FileIO.readText(path)) } catch {
            throw EntriesFileError(file: path, line: 0, message: error.unreadable ? "cannot read: \(error.reason)" : error.reason)
        }
    }

    /// The commands an entries file takes.
    public static let commands = ["table_add", "table_set_default", "table_reset_default", "table_modify", "table_delete", "table_clear",
                                  "mc_mgrp_create", "mc_mgrp_destroy", "mc_node_create", "mc_node_update", "mc_node_associate",
                                  "mc_node_dissociate", "mc_node_destroy", "mc_group_set", "register_write", "register_reset",
                                  "counter_reset", "meter_set_rates", "meter_array_set_rates"]

    /// BMv2 runtime CLI commands an entries file refuses, and what to do instead.
    static let unsupported: [String: String] = {
        var m: [String: String] = [:]
        let reads = "it reads state, and an entries file only writes it; read with the Swift control plane (entries, counter, readRegister) or a command's --json output"
        for c in ["table_dump", "table_dump_entry", "table_num_entries", "table_info", "show_tables", "show_actions", "register_read",
                  "counter_read", "meter_get_rates", "mc_dump"] { m[c] = reads }
        for c in ["mirroring_add", "mirroring_add_mc", "mirroring_delete", "mirroring_get"] {
            m[c] = "Sluice programs have no mirroring sessions; send copies through a multicast group (mc_group_set) instead"
        }
        for c in ["act_prof_create_member", "act_prof_delete_member", "act_prof_modify_member", "act_prof_create_group",
                  "act_prof_delete_group", "act_prof_add_member_to_group", "act_prof_remove_member_from_group",
                  "table_indirect_add", "table_indirect_add_with_group", "table_indirect_delete", "table_indirect_set_default"] {
            m[c] = "action profiles and selectors are not in Sluice; key a next-hop table by (group, bucket), as ecmp-router's ecmp_nhop is"
        }
        for c in ["set_queue_depth", "set_queue_rate"] { m[c] = "queues are set where the program runs: a link's queue in the topology file" }
        for c in ["port_add", "port_remove"] { m[c] = "ports are given where the program runs: attach --port N=IFACE, or links in a topology file" }
        for c in ["swap_configs", "load_new_config_file"] { m[c] = "a running program is not replaced from an entries file; start again with the new program or program file" }
        m["table_set_timeout"] = "entries do not age out in Sluice"
        return m
    }()

    /// Apply every command in order; stops at the first error.
    @discardableResult
    public func apply(to cp: some ControlPlane) throws(EntriesFileError) -> Int {
        do { return try applyUntyped(cp) } catch { throw error as! EntriesFileError }
    }

    func applyUntyped(_ cp: some ControlPlane) throws -> Int {
        var nodes: [(rid: UInt16, ports: [UInt16])] = []
        var groupNodes: [UInt16: [Int]] = [:]
        var destroyed: Set<Int> = []
        /// Group g's members: the ports of its nodes, each with its node's replica id.
        func members(_ g: UInt16) -> [MulticastMember] {
            (groupNodes[g] ?? []).flatMap { h in nodes[h].ports.map { MulticastMember(port: $0, rid: nodes[h].rid) } }
        }
        var applied = 0
        for (i, raw) in FileIO.lines(text).enumerated() {
            let lineNo = i + 1
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let cmd = words.first else { continue }
            let program = cp.program
            /// A table, action or extern by the name the program gives it, or by BMv2's fully
            /// qualified name (`MyIngress.ipv4_lpm`): the last component when the whole is unknown.
            func local(_ name: String, _ known: [String]) -> String {
                if known.contains(name) || !name.contains(".") { return name }
                let last = String(name.split(separator: ".").last ?? "")
                return known.contains(last) ? last : name
            }
            let tableName = { (n: String) in local(n, program.tables.map(\.name)) }
            let actionName = { (n: String) in local(n, program.actions.map(\.name) + ["NoAction"]) }
            let externName = { (n: String) in local(n, program.registers.map(\.name) + program.counters.map(\.name) + program.meters.map(\.name)) }
            func fail(_ m: String) -> EntriesFileError { EntriesFileError(file: file, line: lineNo, message: m) }
            func value(_ s: String, _ what: String) throws(EntriesFileError) -> UInt128 {
                guard let v = ValueSyntax.parse(s) else {
                    if isNumeral(s) { throw fail("\(what): '\(s)' is too large (values have at most 128 bits)") }
                    throw fail("\(what): '\(s)' is not a value (use decimal, 0x hex, 0b binary, a MAC, IPv4 or IPv6 address)")
                }
                return v
            }
            func int(_ s: String, _ what: String) throws(EntriesFileError) -> Int {
                guard let v = Int(s), v >= 0 else {
                    if !s.isEmpty, s.allSatisfy(\.isASCIIDigit) { throw fail("\(what) \(s) is too large") }
                    throw fail("\(what): '\(s)' is not a non-negative integer")
                }
                return v
            }
            /// A non-negative integer within `range`, named in the error otherwise.
            func int(_ s: String, _ what: String, in range: ClosedRange<Int>, _ note: String = "") throws(EntriesFileError) -> Int {
                let outside = "\(what) \(s) is outside \(range.lowerBound)...\(range.upperBound)\(note)"
                if !s.isEmpty, s.allSatisfy(\.isASCIIDigit), Int(s) == nil { throw fail(outside) }
                let v = try int(s, what)
                guard range.contains(v) else { throw fail(outside) }
                return v
            }
            func u16(_ s: String, _ what: String) throws(EntriesFileError) -> UInt16 {
                UInt16(try int(s, what, in: 0...Int(UInt16.max)))
            }
            func port(_ s: String) throws(EntriesFileError) -> UInt16 {
                UInt16(try int(s, "port", in: 0...511, " (ports are 9 bits)"))
            }
            func handle(_ s: String) throws(EntriesFileError) -> Int32 {
                Int32(try int(s, "entry handle", in: 0...Int(Int32.max)))
            }
            func need(_ n: Int, _ usage: String) throws(EntriesFileError) {
                if words.count < n { throw fail("\(cmd) needs more arguments; usage: \(usage)") }
            }
            do {
                switch cmd {
                case "table_add":
                    let usage = "table_add TABLE ACTION MATCH... => ARG... [PRIORITY]"
                    try need(3, usage)
                    let table = tableName(words[1]), action = actionName(words[2])
                    guard let t = cp.program.tables.first(where: { $0.name == table }) else {
                        throw fail("no table '\(table)'; tables: \(cp.program.tables.map(\.name).joined(separator: ", "))")
                    }
                    let rest = Array(words[3...])
                    let arrow = rest.firstIndex(of: "=>") ?? rest.count
                    let matchWords = Array(rest[..<arrow])
                    var argWords = arrow < rest.count ? Array(rest[(arrow + 1)...]) : []
                    guard matchWords.count == t.keys.count else {
                        throw fail("table '\(table)' has \(t.keys.count) key\(t.keys.count == 1 ? "" : "s") (\(t.keys.map { "\($0.name): \($0.kind.rawValue)" }.joined(separator: ", "))), the line gives \(matchWords.count) match\(matchWords.count == 1 ? "" : "es"); usage: \(usage)")
                    }
                    var matches: [Match] = []
                    for (k, w) in zip(t.keys, matchWords) { matches.append(try match(w, k, fail, value)) }
                    let needsPriority = t.keys.contains { $0.kind == .ternary || $0.kind == .range || $0.kind == .optional }
                    var priority = 0
                    let nparams = cp.program.actions.first(where: { $0.name == action })?.params.count ?? argWords.count
                    if needsPriority && argWords.count == nparams + 1 {
                        priority = try int(argWords.removeLast(), "priority", in: 0...Int(Int32.max))
                    }
                    let args = try argWords.map { (w: String) throws(EntriesFileError) -> UInt128 in try value(w, "argument of \(action)") }
                    try cp.insert(table, TableEntry(matches, ActionCall(action, args), priority: priority))
                case "table_set_default":
                    try need(3, "table_set_default TABLE ACTION [ARG...]")
                    let args = try words[3...].map { (w: String) throws(EntriesFileError) -> UInt128 in try value(w, "argument of \(words[2])") }
                    try cp.setDefault(tableName(words[1]), ActionCall(actionName(words[2]), args))
                case "table_reset_default":
                    try need(2, "table_reset_default TABLE")
                    let table = tableName(words[1])
                    guard let t = program.tables.first(where: { $0.name == table }) else {
                        throw fail("no table '\(table)'; tables: \(program.tables.map(\.name).joined(separator: ", "))")
                    }
                    try cp.setDefault(table, t.defaultAction)
                case "table_modify":
                    let usage = "table_modify TABLE ACTION HANDLE => ARG..."
                    try need(4, usage)
                    let handle = try handle(words[3])
                    let args = try words.drop { $0 != "=>" }.dropFirst().map { (w: String) throws(EntriesFileError) -> UInt128 in try value(w, "argument of \(words[2])") }
                    try cp.modify(EntryHandle(table: tableName(words[1]), id: handle), ActionCall(actionName(words[2]), args))
                case "table_delete":
                    try need(3, "table_delete TABLE HANDLE")
                    try cp.delete(EntryHandle(table: tableName(words[1]), id: try handle(words[2])))
                case "table_clear":
                    try need(2, "table_clear TABLE")
                    try cp.clear(tableName(words[1]))
                case "mc_mgrp_create":
                    try need(2, "mc_mgrp_create GROUP")
                    let g = try u16(words[1], "group")
                    groupNodes[g] = []
                    try cp.setMulticastGroup(g, [])
                case "mc_node_create":
                    try need(2, "mc_node_create RID PORT...")
                    let rid = try u16(words[1], "replica id")
                    let ports = try words[2...].map { (w: String) throws(EntriesFileError) -> UInt16 in try port(w) }
                    nodes.append((rid, ports))
                case "mc_node_associate":
                    try need(3, "mc_node_associate GROUP NODE_HANDLE")
                    let g = try u16(words[1], "group"), n = try int(words[2], "node handle")
                    guard n < nodes.count, !destroyed.contains(n) else { throw fail("no multicast node \(n); mc_node_create has made \(nodes.count)") }
                    groupNodes[g, default: []].append(n)
                    try cp.setMulticastGroup(g, members(g))
                case "mc_node_update":
                    try need(2, "mc_node_update NODE_HANDLE PORT...")
                    let n = try int(words[1], "node handle")
                    guard n < nodes.count, !destroyed.contains(n) else { throw fail("no multicast node \(n); mc_node_create has made \(nodes.count)") }
                    nodes[n].ports = try words[2...].map { (w: String) throws(EntriesFileError) -> UInt16 in try port(w) }
                    for g in groupNodes.keys.sorted() where groupNodes[g]!.contains(n) { try cp.setMulticastGroup(g, members(g)) }
                case "mc_node_dissociate":
                    try need(3, "mc_node_dissociate GROUP NODE_HANDLE")
                    let g = try u16(words[1], "group"), n = try int(words[2], "node handle")
                    guard let i = groupNodes[g]?.firstIndex(of: n) else { throw fail("multicast node \(n) is not in group \(g)") }
                    groupNodes[g]!.remove(at: i)
                    try cp.setMulticastGroup(g, members(g))
                case "mc_node_destroy":
                    try need(2, "mc_node_destroy NODE_HANDLE")
                    let n = try int(words[1], "node handle")
                    guard n < nodes.count, !destroyed.contains(n) else { throw fail("no multicast node \(n); mc_node_create has made \(nodes.count)") }
                    destroyed.insert(n)
                    for g in groupNodes.keys.sorted() where groupNodes[g]!.contains(n) {
                        groupNodes[g]!.removeAll { $0 == n }
                        try cp.setMulticastGroup(g, members(g))
                    }
                case "mc_mgrp_destroy":
                    try need(2, "mc_mgrp_destroy GROUP")
                    let g = try u16(words[1], "group")
                    groupNodes[g] = nil
                    try cp.deleteMulticastGroup(g)
                case "mc_group_set":
                    try need(3, "mc_group_set GROUP PORT[:RID]...")
                    let g = try u16(words[1], "group")
                    var members: [MulticastMember] = []
                    for w in words[2...] {
                        let parts = w.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                        guard (1...2).contains(parts.count), !parts.contains(where: \.isEmpty) else {
                            throw fail("'\(w)' is not PORT or PORT:RID")
                        }
                        let p = try port(parts[0])
                        let rid = parts.count > 1 ? try u16(parts[1], "replica id") : 0
                        members.append(MulticastMember(port: p, rid: rid))
                    }
                    try cp.setMulticastGroup(g, members)
                case "register_write":
                    try need(4, "register_write REGISTER INDEX VALUE")
                    let index = try int(words[2], "index")
                    guard let v = UInt64(exactly: try value(words[3], "value")) else {
                        throw fail("value '\(words[3])' does not fit in 64 bits (registers hold at most 64)")
                    }
                    try cp.writeRegister(externName(words[1]), index: index, v)
                case "register_reset":
                    try need(2, "register_reset REGISTER")
                    try cp.resetRegister(externName(words[1]))
                case "counter_reset":
                    try need(2, "counter_reset COUNTER")
                    try cp.resetCounter(externName(words[1]))
                case "meter_set_rates", "meter_array_set_rates":
                    let array = cmd == "meter_array_set_rates"
                    try need(array ? 4 : 5, array ? "meter_array_set_rates METER CIR:CBS PIR:PBS" : "meter_set_rates METER INDEX CIR:CBS PIR:PBS")
                    func pair(_ s: String) throws(EntriesFileError) -> (UInt64, UInt64) {
                        let p = s.split(separator: ":")
                        guard p.count == 2, let a = UInt64(p[0]), let b = UInt64(p[1]) else { throw fail("'\(s)' is not RATE:BURST (integers, per second)") }
                        return (a, b)
                    }
                    let meter = externName(words[1]), at = array ? 2 : 3
                    let (cir, cbs) = try pair(words[at]), (pir, pbs) = try pair(words[at + 1])
                    let rates = MeterRates(cir: cir, cbs: cbs, pir: pir, pbs: pbs)
                    if array {
                        // An unknown meter: the control plane's own error, from index 0.
                        let size = program.meters.first(where: { $0.name == meter })?.size ?? 1
                        for i in 0..<size { try cp.setMeter(meter, index: i, rates) }
                    } else {
                        try cp.setMeter(meter, index: try int(words[2], "index"), rates)
                    }
                default:
                    if let why = Self.unsupported[cmd] { throw fail("\(cmd) is a BMv2 command Sluice does not take: \(why)") }
                    throw fail("unknown command '\(cmd)'; commands: \(Self.commands.joined(separator: ", "))")
                }
                applied += 1
            } catch let e as ControlPlaneError {
                throw fail(e.message)
            } catch {
                throw error as! EntriesFileError
            }
        }
        return applied
    }

    /// Digits, or 0x hex / 0b binary digits: a number, if perhaps too large for a value.
    func isNumeral(_ s: String) -> Bool {
        let lower = s.lowercased().replacingOccurrences(of: "_", with: "")
        if lower.hasPrefix("0x") { let d = lower.dropFirst(2); return !d.isEmpty && d.allSatisfy(\.isHexDigit) }
        if lower.hasPrefix("0b") { let d = lower.dropFirst(2); return !d.isEmpty && d.allSatisfy { $0 == "0" || $0 == "1" } }
        return !s.isEmpty && s.allSatisfy(\.isASCIIDigit)
    }

    func match(_ w: String, _ k: TableKey, _ fail: (String) -> EntriesFileError,
               _ value: (String, String) throws(EntriesFileError) -> UInt128) throws(EntriesFileError) -> Match {
        let what = "key \(k.name)"
        switch k.kind {
        case .exact: return .exact(try value(w, what))
        case .lpm:
            let p = w.split(separator: "/", maxSplits: 1).map(String.init)
            guard p.count == 2, let len = Int(p[1]) else {
                if p.count == 1 { return .exact(try value(p[0], what)) }
                throw fail("\(what) is lpm: write VALUE/PREFIX_LENGTH, e.g. 10.0.1.0/24 (got '\(w)')")
            }
            return .lpm(try value(p[0], what), prefixLength: len)
        case .ternary:
            guard let r = w.range(of: "&&&") else { return .exact(try value(w, what)) }
            return .ternary(try value(String(w[..<r.lowerBound]), what), mask: try value(String(w[r.upperBound...]), what))
        case .range:
            guard let r = w.range(of: "->") else { return .exact(try value(w, what)) }
            return .range(try value(String(w[..<r.lowerBound]), what), try value(String(w[r.upperBound...]), what))
        case .optional:
            return w == "*" ? .optional(nil) : .optional(try value(w, what))
        }
    }
}

fileprivate extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
