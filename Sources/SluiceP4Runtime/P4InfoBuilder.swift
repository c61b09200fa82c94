import SluiceIR
import SwiftProtobuf
import Foundation

/// A program the P4Info cannot describe: a table key whose width the IR does not determine, or a
/// table action that is not declared (the verifier rejects both, so only an unverified IR gets
/// here).
public struct P4InfoError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// IR -> P4Info (`p4.config.v1.P4Info`): what a P4Runtime controller learns about a program.
///
/// Names are the IR's (a Sluice program has no control blocks, so `ipv4_lpm` rather than p4c's
/// `MyIngress.ipv4_lpm`), and aliases equal names. Every listed action may run in entries and as
/// the default (the IR has no `@defaultonly` or `@tableonly`); a const default action is
/// `const_default_action_id`. A table's direct counter is named after the table. Controller
/// packet metadata ("packet_in", "packet_out") lists the fields of the program's controller
/// headers, ids from 1 in field order.
public enum P4InfoBuilder {
    /// The architecture named in `pkg_info`: Sluice's own model (standard metadata like
    /// v1model's, but not v1model).
    public static let arch = "sluice"

    public static func p4Info(_ program: Program) throws(P4InfoError) -> P4_Config_V1_P4Info {
        let ids = P4Ids(program)
        let ix = ProgramIndex(program)
        var info = P4_Config_V1_P4Info()
        info.pkgInfo.name = program.name
        info.pkgInfo.arch = arch
        if !program.doc.isEmpty { info.pkgInfo.doc.brief = program.doc }

        for t in program.tables {
            var table = P4_Config_V1_Table()
            table.preamble = preamble(ids.id(.table, t.name)!, t.name)
            for (i, key) in t.keys.enumerated() {
                guard let width = ix.width(of: key.expr) else {
                    throw P4InfoError("table '\(t.name)': key '\(key.name)' has no width")
                }
                var field = P4_Config_V1_MatchField()
                field.id = UInt32(i + 1)
                field.name = key.name
                field.bitwidth = Int32(width)
                field.matchType = matchType(key.kind)
                table.matchFields.append(field)
            }
            func actionID(_ a: String) throws(P4InfoError) -> UInt32 {
                guard let id = ids.id(.action, a) else { throw P4InfoError("table '\(t.name)': action '\(a)' is not declared") }
                return id
            }
            for a in t.actions {
                var ref = P4_Config_V1_ActionRef()
                ref.id = try actionID(a)
                table.actionRefs.append(ref)
            }
            let defaultID = try actionID(t.defaultAction.action)
            if t.defaultIsConst { table.constDefaultActionID = defaultID }
            table.initialDefaultAction = actionCall(t.defaultAction, id: defaultID, params: ix.actions[t.defaultAction.action]?.params ?? [])
            if t.directCounter { table.directResourceIds = [ids.id(.directCounter, t.name)!] }
            table.size = Int64(t.size)
            table.isConstTable = t.entriesAreConst
            table.hasInitialEntries_p = !t.entries.isEmpty
            info.tables.append(table)
        }

        for a in program.actions {
            var action = P4_Config_V1_Action()
            action.preamble = preamble(ids.id(.action, a.name)!, a.name)
            for (i, p) in a.params.enumerated() {
                var param = P4_Config_V1_Action.Param()
                param.id = UInt32(i + 1)
                param.name = p.name
                param.bitwidth = Int32(p.width)
                action.params.append(param)
            }
            info.actions.append(action)
        }

        for c in program.counters {
            var counter = P4_Config_V1_Counter()
            counter.preamble = preamble(ids.id(.counter, c.name)!, c.name)
            counter.spec.unit = counterUnit(c.kind)
            counter.size = Int64(c.size)
            info.counters.append(counter)
        }
        for t in program.tables where t.directCounter {
            var counter = P4_Config_V1_DirectCounter()
            counter.preamble = preamble(ids.id(.directCounter, t.name)!, t.name)
            counter.spec.unit = .both
            counter.directTableID = ids.id(.table, t.name)!
            info.directCounters.append(counter)
        }
        for m in program.meters {
            var meter = P4_Config_V1_Meter()
            meter.preamble = preamble(ids.id(.meter, m.name)!, m.name)
            meter.spec.unit = m.unit == .bytes ? .bytes : .packets
            meter.spec.type = .twoRateThreeColor
            meter.size = Int64(m.size)
            info.meters.append(meter)
        }
        for r in program.registers {
            var register = P4_Config_V1_Register()
            register.preamble = preamble(ids.id(.register, r.name)!, r.name)
            register.typeSpec = bits(r.width)
            register.size = Int32(clamping: r.size)
            info.registers.append(register)
        }
        for d in program.digests {
            var digest = P4_Config_V1_Digest()
            digest.preamble = preamble(ids.id(.digest, d.name)!, d.name)
            var named = P4_Config_V1_P4NamedType()
            named.name = d.name
            digest.typeSpec.struct = named
            var spec = P4_Config_V1_P4StructTypeSpec()
            for f in d.fields {
                var member = P4_Config_V1_P4StructTypeSpec.Member()
                member.name = f.name
                member.typeSpec = bits(f.width, signed: f.signed)
                spec.members.append(member)
            }
            info.typeInfo.structs[d.name] = spec
            info.digests.append(digest)
        }
        for c in program.controllerHeaders ?? [] {
            guard let h = program.headers.first(where: { $0.name == c.header && !$0.isStack }),
                  let type = program.headerTypes.first(where: { $0.name == h.type }) else {
                throw P4InfoError("controller header \(c.direction.rawValue): '\(c.header)' is not a header of the program (a stack cannot be one)")
            }
            var m = P4_Config_V1_ControllerPacketMetadata()
            m.preamble = preamble(ids.id(.controllerHeader, c.direction.rawValue)!, c.direction.rawValue)
            m.preamble.annotations = ["@controller_header(\"\(c.direction.rawValue)\")"]
            for (i, f) in type.fields.enumerated() {
                var field = P4_Config_V1_ControllerPacketMetadata.Metadata()
                field.id = UInt32(i + 1)
                field.name = f.name
                field.bitwidth = Int32(f.width)
                m.metadata.append(field)
            }
            info.controllerPacketMetadata.append(m)
        }
        return info
    }

    static func preamble(_ id: UInt32, _ name: String) -> P4_Config_V1_Preamble {
        var p = P4_Config_V1_Preamble()
        p.id = id
        p.name = name
        p.alias = name
        return p
    }

    static func matchType(_ kind: MatchKind) -> P4_Config_V1_MatchField.MatchType {
        switch kind {
        case .exact: .exact
        case .lpm: .lpm
        case .ternary: .ternary
        case .range: .range
        case .optional: .optional
        }
    }

    static func counterUnit(_ kind: CounterKind) -> P4_Config_V1_CounterSpec.Unit {
        switch kind {
        case .packets: .packets
        case .bytes: .bytes
        case .packetsAndBytes: .both
        }
    }

    /// `bit<W>` (or `int<W>`) as a P4 data type.
    static func bits(_ width: Int, signed: Bool = false) -> P4_Config_V1_P4DataTypeSpec {
        var spec = P4_Config_V1_P4DataTypeSpec()
        if signed {
            var s = P4_Config_V1_P4IntTypeSpec()
            s.bitwidth = Int32(width)
            spec.bitstring.int = s
        } else {
            var b = P4_Config_V1_P4BitTypeSpec()
            b.bitwidth = Int32(width)
            spec.bitstring.bit = b
        }
        return spec
    }

    static func actionCall(_ call: ActionCall, id: UInt32, params: [FieldDecl]) -> P4_Config_V1_TableActionCall {
        var c = P4_Config_V1_TableActionCall()
        c.actionID = id
        for (i, v) in call.args.enumerated() where i < params.count {
            var arg = P4_Config_V1_TableActionCall.Argument()
            arg.paramID = UInt32(i + 1)
            arg.value = Data(canonicalBytes(v))
            c.arguments.append(arg)
        }
        return c
    }

    /// The specification's canonical binary string: big-endian, no leading zero bytes, and one
    /// zero byte for 0.
    public static func canonicalBytes(_ v: UInt128) -> [UInt8] {
        var out: [UInt8] = []
        var x = v
        repeat { out.append(UInt8(truncatingIfNeeded: x)); x >>= 8 } while x != 0
        return out.reversed()
    }
}
