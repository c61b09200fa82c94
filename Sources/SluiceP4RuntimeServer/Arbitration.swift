import SluiceControlPlane
import SluiceP4Runtime

/// Controllers on `StreamChannel` and who is primary (the specification's section 5): for the
/// default role, the stream with the highest election id is primary, the others backups. A
/// write, or a pipeline change, carries an election id that must be the primary's.
final class Arbitration: @unchecked Sendable {
    struct Controller { var election: UInt128; var send: @Sendable (P4_V1_StreamMessageResponse) -> Void }
    private let lock = SwitchLock()
    private var controllers: [Int: Controller] = [:]
    private var nextToken = 0

    static func id(_ e: P4_V1_Uint128) -> UInt128 { UInt128(e.high) << 64 | UInt128(e.low) }
    static func wire(_ v: UInt128) -> P4_V1_Uint128 {
        var e = P4_V1_Uint128(); e.high = UInt64(truncatingIfNeeded: v >> 64); e.low = UInt64(truncatingIfNeeded: v); return e
    }

    var primary: UInt128? { lock.withLock { controllers.values.map(\.election).max() } }

    /// A new stream's arbitration (or a stream's new election id). Returns the stream's token.
    func arbitrate(token: Int?, _ update: P4_V1_MasterArbitrationUpdate, deviceID: UInt64,
                   send: @escaping @Sendable (P4_V1_StreamMessageResponse) -> Void) throws(P4RuntimeError) -> Int {
        guard !update.hasRole || update.role.name.isEmpty else {
            throw P4RuntimeError(.unimplemented, "arbitration: role '\(update.role.name)'; this server serves the default role only (leave role unset)")
        }
        let election = Self.id(update.electionID)
        let t: Int = try lock.withLock { () throws(P4RuntimeError) -> Int in
            if controllers.contains(where: { $0.key != token && $0.value.election == election }) {
                throw P4RuntimeError(.invalidArgument, "arbitration: election id \(election) is already another controller's; election ids must differ")
            }
            let t = token ?? { nextToken += 1; return nextToken }()
            controllers[t] = Controller(election: election, send: send)
            return t
        }
        announce(deviceID: deviceID)
        return t
    }

    func remove(_ token: Int, deviceID: UInt64) {
        let was = lock.withLock { controllers.removeValue(forKey: token) }
        if was != nil { announce(deviceID: deviceID) }
    }

    /// Tells every controller who is primary: OK to the primary, ALREADY_EXISTS to backups.
    func announce(deviceID: UInt64) {
        let all = lock.withLock { controllers }
        guard let top = all.values.map(\.election).max() else { return }
        for c in all.values {
            var u = P4_V1_MasterArbitrationUpdate()
            u.deviceID = deviceID
            u.electionID = Self.wire(top)
            u.status.code = c.election == top ? CanonicalCode.ok.rawValue : CanonicalCode.alreadyExists.rawValue
            u.status.message = c.election == top ? "primary" : "backup; the primary's election id is \(top)"
            var m = P4_V1_StreamMessageResponse(); m.arbitration = u
            c.send(m)
        }
    }

    /// Sends `message` to the primary, if any.
    func sendToPrimary(_ message: P4_V1_StreamMessageResponse) -> Bool {
        let p = lock.withLock { controllers.values.max { $0.election < $1.election } }
        guard let p else { return false }
        p.send(message)
        return true
    }

    func checkPrimary(_ e: P4_V1_Uint128, hasElectionID: Bool, role: String, what: String) throws(P4RuntimeError) {
        guard role.isEmpty else { throw P4RuntimeError(.unimplemented, "\(what): role '\(role)'; this server serves the default role only") }
        let given = Self.id(e)
        guard let p = primary else {
            throw P4RuntimeError(.permissionDenied, "\(what) with election id \(given): no controller has arbitrated; open StreamChannel and send a MasterArbitrationUpdate first")
        }
        guard given == p else {
            throw P4RuntimeError(.permissionDenied, "\(what) with election id \(given): not the primary controller (the primary's election id is \(p))")
        }
    }
}
