import Foundation
import SluiceControlPlane
import SluiceIR
import SluiceP4Runtime

/// The controller headers of the running program as PacketIn and PacketOut see them: field
/// widths in order (metadata ids are 1, 2, ...), packed big-endian as the header is on the wire.
struct ControllerLayout: Sendable {
    var packetIn: [FieldDecl]?
    var packetOut: [FieldDecl]?

    init() {}
    init(_ program: Program) {
        for c in program.controllerHeaders ?? [] {
            guard let h = program.headers.first(where: { $0.name == c.header }),
                  let t = program.headerTypes.first(where: { $0.name == h.type }) else { continue }
            switch c.direction {
            case .packetIn: packetIn = t.fields
            case .packetOut: packetOut = t.fields
            }
        }
    }

    /// The header's fields read from the front of `bytes` (nil when `bytes` is shorter).
    static func unpack(_ bytes: [UInt8], _ fields: [FieldDecl]) -> (values: [UInt128], length: Int)? {
        let bits = fields.reduce(0) { $0 + $1.width }
        guard bits % 8 == 0, bytes.count >= bits / 8 else { return nil }
        var values: [UInt128] = []
        var offset = 0
        for f in fields {
            var v: UInt128 = 0
            for b in offset..<(offset + f.width) {
                v = v << 1 | UInt128((bytes[b / 8] >> (7 - UInt8(b % 8))) & 1)
            }
            values.append(v)
            offset += f.width
        }
        return (values, bits / 8)
    }

    /// The header's bytes for `values` (one per field, each within its width).
    static func pack(_ values: [UInt128], _ fields: [FieldDecl]) -> [UInt8] {
        let bits = fields.reduce(0) { $0 + $1.width }
        var out = [UInt8](repeating: 0, count: (bits + 7) / 8)
        var offset = 0
        for (f, v) in zip(fields, values) {
            for i in 0..<f.width where (v >> UInt128(f.width - 1 - i)) & 1 == 1 {
                out[(offset + i) / 8] |= 0x80 >> UInt8((offset + i) % 8)
            }
            offset += f.width
        }
        return out
    }
}

extension P4RuntimeDevice {
    /// A PacketOut's bytes as they enter the program at the CPU port: the program's packet_out
    /// header built from the metadata (fields not given are 0), then the payload.
    public func packetOutBytes(_ p: P4_V1_PacketOut) throws(P4RuntimeError) -> [UInt8] {
        guard let fields = layoutLock.withLock({ layout.packetOut }) else {
            guard p.metadata.isEmpty else {
                throw P4RuntimeError(.invalidArgument, "PacketOut: metadata given, but the program has no packet_out controller header")
            }
            return Array(p.payload)
        }
        var values = [UInt128](repeating: 0, count: fields.count)
        for m in p.metadata {
            let i = Int(m.metadataID) - 1
            guard i >= 0 && i < fields.count else {
                throw P4RuntimeError(.invalidArgument, "PacketOut: no packet_out metadata with id \(m.metadataID); valid: "
                                     + fields.enumerated().map { "\($0.element.name) (\($0.offset + 1))" }.joined(separator: ", "))
            }
            values[i] = try WireValues.decode(m.value, width: fields[i].width, "PacketOut metadata '\(fields[i].name)' (id \(i + 1), \(fields[i].width) bits)")
        }
        return ControllerLayout.pack(values, fields) + Array(p.payload)
    }

    /// What the program sent to the CPU port as a PacketIn: its packet_in header's fields as
    /// metadata, the rest as payload (all of it as payload when the program has no such header).
    func packetInMessage(_ bytes: [UInt8]) -> P4_V1_PacketIn {
        var p = P4_V1_PacketIn()
        guard let fields = layoutLock.withLock({ layout.packetIn }), let (values, length) = ControllerLayout.unpack(bytes, fields) else {
            p.payload = Data(bytes)
            return p
        }
        p.metadata = values.enumerated().map { i, v in
            var m = P4_V1_PacketMetadata(); m.metadataID = UInt32(i + 1); m.value = WireValues.encode(v); return m
        }
        p.payload = Data(bytes[length...])
        return p
    }
}

