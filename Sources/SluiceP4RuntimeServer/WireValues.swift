import Foundation
import SluiceIR
import SluiceP4Runtime

/// P4Runtime's binary strings and field matches <-> the IR's values and matches, every value
/// checked against the width P4Info gives it.
enum WireValues {
    /// A binary string as a number of at most `width` bits. Padded strings (leading zero bytes)
    /// are accepted as the specification allows; an empty string or a value wider than the field
    /// is INVALID_ARGUMENT naming `what`.
    static func decode(_ bytes: Data, width: Int, _ what: @autoclosure () -> String) throws(P4RuntimeError) -> UInt128 {
        guard !bytes.isEmpty else { throw P4RuntimeError(.invalidArgument, "\(what()): empty value; a \(width)-bit field needs 1 to \((width + 7) / 8) bytes") }
        var v: UInt128 = 0
        var significant = 0
        for b in bytes {
            if significant == 0 && b == 0 { continue }
            significant += 1
            guard significant <= 16 else { break }
            v = v << 8 | UInt128(b)
        }
        let bits = significant > 16 ? 129 : (v == 0 ? 0 : 128 - v.leadingZeroBitCount)
        guard bits <= width else {
            throw P4RuntimeError(.invalidArgument, "\(what()): value 0x\(bytes.map { String($0, radix: 16).leftPadded(2) }.joined()) has \(bits) bits; the field is \(width) bits wide")
        }
        return v
    }

    /// The canonical binary string of `v` (big-endian, no leading zero bytes, one zero byte for 0).
    static func encode(_ v: UInt128) -> Data { Data(P4InfoBuilder.canonicalBytes(v)) }

    static func maxValue(_ width: Int) -> UInt128 { width >= 128 ? .max : (1 << UInt128(width)) - 1 }

    /// The IR's matches of a P4Runtime entry, one per key in key order: omitted ternary, range,
    /// optional and LPM fields are wildcards; an omitted exact field is an error.
    static func matches(_ fields: [P4_V1_FieldMatch], _ t: P4RuntimeSchema.TableInfo) throws(P4RuntimeError) -> [Match] {
        var given = [P4_V1_FieldMatch?](repeating: nil, count: t.keys.count)
        let where_ = "table '\(t.name)' (id \(t.id))"
        for f in fields {
            let i = Int(f.fieldID) - 1
            guard i >= 0 && i < t.keys.count else {
                throw P4RuntimeError(.invalidArgument, "\(where_): no match field with id \(f.fieldID); valid: "
                                     + t.keys.enumerated().map { "\($0.element.name) (\($0.offset + 1))" }.joined(separator: ", "))
            }
            guard given[i] == nil else { throw P4RuntimeError(.invalidArgument, "\(where_): match field '\(t.keys[i].name)' (id \(f.fieldID)) is given twice") }
            given[i] = f
        }
        var out: [Match] = []
        for (i, key) in t.keys.enumerated() {
            let what = "\(where_), match field '\(key.name)' (id \(i + 1), \(key.kind.rawValue), \(key.width) bits)"
            guard let f = given[i] else {
                switch key.kind {
                case .exact: throw P4RuntimeError(.invalidArgument, "\(what): missing; an exact field must be given")
                case .lpm: out.append(.lpm(0, prefixLength: 0))
                case .ternary: out.append(.ternary(0, mask: 0))
                case .range: out.append(.range(0, maxValue(key.width)))
                case .optional: out.append(.optional(nil))
                }
                continue
            }
            func wrongKind(_ given: String) -> P4RuntimeError {
                P4RuntimeError(.invalidArgument, "\(what): given as \(given); this field takes a \(key.kind.rawValue) match")
            }
            switch f.fieldMatchType {
            case .exact(let e)?:
                guard key.kind == .exact else { throw wrongKind("exact") }
                out.append(.exact(try decode(e.value, width: key.width, "\(what) value")))
            case .lpm(let l)?:
                guard key.kind == .lpm else { throw wrongKind("lpm (a value and a prefix length)") }
                let v = try decode(l.value, width: key.width, "\(what) value")
                guard l.prefixLen > 0 && Int(l.prefixLen) <= key.width else {
                    throw P4RuntimeError(.invalidArgument, "\(what): prefix length \(l.prefixLen); valid: 1...\(key.width) (omit the field for a wildcard)")
                }
                let hostBits = maxValue(key.width - Int(l.prefixLen))
                guard v & hostBits == 0 else {
                    throw P4RuntimeError(.invalidArgument, "\(what): value has bits set past the /\(l.prefixLen) prefix; clear them")
                }
                out.append(.lpm(v, prefixLength: Int(l.prefixLen)))
            case .ternary(let m)?:
                guard key.kind == .ternary else { throw wrongKind("ternary (a value and a mask)") }
                let v = try decode(m.value, width: key.width, "\(what) value")
                let mask = try decode(m.mask, width: key.width, "\(what) mask")
                guard mask != 0 else { throw P4RuntimeError(.invalidArgument, "\(what): mask is 0; omit the field for a wildcard") }
                guard v & ~mask == 0 else { throw P4RuntimeError(.invalidArgument, "\(what): value has bits set outside the mask; clear them") }
                out.append(.ternary(v, mask: mask))
            case .range(let r)?:
                guard key.kind == .range else { throw wrongKind("range (low and high)") }
                let lo = try decode(r.low, width: key.width, "\(what) low"), hi = try decode(r.high, width: key.width, "\(what) high")
                guard lo <= hi else { throw P4RuntimeError(.invalidArgument, "\(what): low \(lo) is above high \(hi)") }
                guard !(lo == 0 && hi == maxValue(key.width)) else {
                    throw P4RuntimeError(.invalidArgument, "\(what): the full range; omit the field for a wildcard")
                }
                out.append(.range(lo, hi))
            case .optional(let o)?:
                guard key.kind == .optional else { throw wrongKind("optional") }
                out.append(.optional(try decode(o.value, width: key.width, "\(what) value")))
            case .other?, nil:
                throw P4RuntimeError(.invalidArgument, "\(what): no match given (field_match_type is empty or 'other'); this field takes a \(key.kind.rawValue) match")
            }
        }
        return out
    }

    /// The P4Runtime field matches of IR matches, wildcards omitted.
    static func fieldMatches(_ matches: [Match], _ t: P4RuntimeSchema.TableInfo) -> [P4_V1_FieldMatch] {
        var out: [P4_V1_FieldMatch] = []
        for (i, m) in matches.enumerated() {
            var f = P4_V1_FieldMatch()
            f.fieldID = UInt32(i + 1)
            switch m {
            case .exact(let v):
                var e = P4_V1_FieldMatch.Exact(); e.value = encode(v); f.exact = e
            case .lpm(let v, let len):
                guard len > 0 else { continue }
                var l = P4_V1_FieldMatch.LPM(); l.value = encode(v); l.prefixLen = Int32(len); f.lpm = l
            case .ternary(let v, let mask):
                guard mask != 0 else { continue }
                var x = P4_V1_FieldMatch.Ternary(); x.value = encode(v); x.mask = encode(mask); f.ternary = x
            case .range(let lo, let hi):
                guard i < t.keys.count, !(lo == 0 && hi == maxValue(t.keys[i].width)) else { continue }
                var r = P4_V1_FieldMatch.Range(); r.low = encode(lo); r.high = encode(hi); f.range = r
            case .optional(let v):
                guard let v else { continue }
                var o = P4_V1_FieldMatch.Optional(); o.value = encode(v); f.optional = o
            }
            out.append(f)
        }
        return out
    }

    /// The IR call of a P4Runtime action: every parameter given once, each within its width.
    static func actionCall(_ a: P4_V1_Action, _ info: P4RuntimeSchema.ActionInfo, where_: String) throws(P4RuntimeError) -> ActionCall {
        var args = [UInt128?](repeating: nil, count: info.params.count)
        let what = "\(where_), action '\(info.name)' (id \(info.id))"
        for p in a.params {
            let i = Int(p.paramID) - 1
            guard i >= 0 && i < info.params.count else {
                throw P4RuntimeError(.invalidArgument, "\(what): no parameter with id \(p.paramID); "
                                     + (info.params.isEmpty ? "it takes none" : "valid: " + info.params.enumerated().map { "\($0.element.name) (\($0.offset + 1))" }.joined(separator: ", ")))
            }
            guard args[i] == nil else { throw P4RuntimeError(.invalidArgument, "\(what): parameter '\(info.params[i].name)' is given twice") }
            args[i] = try decode(p.value, width: info.params[i].width, "\(what), parameter '\(info.params[i].name)' (id \(i + 1), \(info.params[i].width) bits)")
        }
        if let missing = args.firstIndex(where: { $0 == nil }) {
            throw P4RuntimeError(.invalidArgument, "\(what): parameter '\(info.params[missing].name)' (id \(missing + 1)) is missing")
        }
        return ActionCall(info.name, args.map { $0! })
    }

    static func action(_ call: ActionCall, id: UInt32) -> P4_V1_TableAction {
        var a = P4_V1_Action()
        a.actionID = id
        for (i, v) in call.args.enumerated() {
            var p = P4_V1_Action.Param(); p.paramID = UInt32(i + 1); p.value = encode(v); a.params.append(p)
        }
        var t = P4_V1_TableAction(); t.action = a
        return t
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
