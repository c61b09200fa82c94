import Foundation
import SluiceControlPlane
import SluiceIR
import SluiceP4Runtime

extension P4RuntimeDevice {
    /// A stream's arbitration message: registers (or re-elects) the controller and tells every
    /// controller who is primary. Returns the stream's token.
    public func arbitrate(token: Int?, _ update: P4_V1_MasterArbitrationUpdate,
                          send: @escaping @Sendable (P4_V1_StreamMessageResponse) -> Void) throws(P4RuntimeError) -> Int {
        try checkDevice(update.deviceID)
        return try arbitration.arbitrate(token: token, update, deviceID: deviceID, send: send)
    }

    /// A stream ended: its controller leaves, and the others learn the new primary.
    public func streamEnded(token: Int) { arbitration.remove(token, deviceID: deviceID) }

    /// Whether the stream `token` belongs to the primary controller.
    public func isPrimary(token: Int, election: UInt128) -> Bool { arbitration.primary == election }

    /// A PacketOut from the primary: its packet_out header (from the metadata) and payload enter
    /// the program at `cpuPort`.
    /// A switch without that path (XDP) refuses it as UNIMPLEMENTED, saying why.
    public func packetOut(_ p: P4_V1_PacketOut, cpuPort: UInt16) throws(P4RuntimeError) {
        if let why = target.controllerPacketsRefusal { throw P4RuntimeError(.unimplemented, "PacketOut: \(why)") }
        guard lock.withLock({ pipeline != nil }) else {
            throw P4RuntimeError(.failedPrecondition, "PacketOut: no forwarding pipeline is set; send SetForwardingPipelineConfig first")
        }
        guard target.inject(try packetOutBytes(p), port: cpuPort) else { throw P4RuntimeError(.failedPrecondition, "PacketOut: the switch runs no program") }
    }

    /// A packet the program sent to the CPU port, to the primary controller (its packet_in header
    /// as metadata).
    public func packetIn(_ bytes: [UInt8]) {
        var m = P4_V1_StreamMessageResponse()
        m.packet = packetInMessage(bytes)
        _ = arbitration.sendToPrimary(m)
    }

    /// Digests the program sent since the last call, as one DigestList per digest the primary
    /// configured (a DigestEntry); the others are dropped. Returns how many lists went out.
    @discardableResult
    public func sendDigests() -> Int {
        let configured = lock.withLock { pipeline.map { p in (p.schema, p.digests) } }
        guard let (schema, digests) = configured else { return 0 }
        guard let drained = try? target.withControlPlane({ $0.drainDigests() }), !drained.isEmpty, !digests.isEmpty else { return 0 }
        var lists: [UInt32: P4_V1_DigestList] = [:]
        for d in drained {
            guard let id = schema.digestIDs[d.name], digests[id] != nil else { continue }
            var s = P4_V1_P4StructLike()
            s.members = d.values.map { v in var x = P4_V1_P4Data(); x.bitstring = WireValues.encode(v); return x }
            var data = P4_V1_P4Data(); data.struct = s
            lists[id, default: { var l = P4_V1_DigestList(); l.digestID = id; return l }()].data.append(data)
        }
        var sent = 0
        for (_, var l) in lists.sorted(by: { $0.key < $1.key }) {
            l.listID = lock.withLock { nextDigestList += 1; return nextDigestList }
            l.timestamp = Int64(Date().timeIntervalSince1970 * 1e9)
            var m = P4_V1_StreamMessageResponse(); m.digest = l
            if arbitration.sendToPrimary(m) { sent += 1 }
        }
        return sent
    }

    public func capabilities() -> P4_V1_CapabilitiesResponse {
        var r = P4_V1_CapabilitiesResponse(); r.p4RuntimeApiVersion = Self.apiVersion; return r
    }
}
