import Foundation
import SluiceIR
import SluicePrograms
import SluiceP4Runtime
import SluiceP4RuntimeServer

/// Requests as a controller builds them, for ipv4-router and acl-firewall.
enum P4R {
    static let election: UInt64 = 10

    static func uint128(_ v: UInt64) -> P4_V1_Uint128 { var e = P4_V1_Uint128(); e.low = v; return e }

    static func arbitration(_ election: UInt64, device: UInt64 = 1) -> P4_V1_MasterArbitrationUpdate {
        var a = P4_V1_MasterArbitrationUpdate(); a.deviceID = device; a.electionID = uint128(election); return a
    }

    static func ids(_ program: String) -> P4Ids { P4Ids(try! ProgramRegistry.resolver.resolve(program).program.program) }

    static func setPipeline(_ program: String, action: P4_V1_SetForwardingPipelineConfigRequest.Action = .verifyAndCommit,
                            election: UInt64 = election) throws -> P4_V1_SetForwardingPipelineConfigRequest {
        var r = P4_V1_SetForwardingPipelineConfigRequest()
        r.deviceID = 1
        r.electionID = uint128(election)
        r.action = action
        r.config.p4Info = try P4InfoBuilder.p4Info(try ProgramRegistry.resolver.resolve(program).program.program)
        r.config.p4DeviceConfig = Data(program.utf8)
        return r
    }

    /// The canonical binary string of `v` (what the server reads back), for a field of `n` bytes.
    static func bytes(_ v: UInt64, _ n: Int) -> Data { Data(P4InfoBuilder.canonicalBytes(UInt128(v))) }

    /// ipv4_lpm: PREFIX/LEN -> ipv4_forward(mac, port).
    static func route(_ prefix: UInt32, _ len: Int32, mac: UInt64, port: UInt16, program: String = "ipv4-router") -> P4_V1_TableEntry {
        let ids = ids(program)
        var e = P4_V1_TableEntry()
        e.tableID = ids.id(.table, "ipv4_lpm")!
        var f = P4_V1_FieldMatch(); f.fieldID = 1
        var l = P4_V1_FieldMatch.LPM(); l.value = bytes(UInt64(prefix), 4); l.prefixLen = len; f.lpm = l
        e.match = [f]
        var a = P4_V1_Action(); a.actionID = ids.id(.action, "ipv4_forward")!
        var p1 = P4_V1_Action.Param(); p1.paramID = 1; p1.value = bytes(mac, 6)
        var p2 = P4_V1_Action.Param(); p2.paramID = 2; p2.value = bytes(UInt64(port), 2)
        a.params = [p1, p2]
        e.action.action = a
        return e
    }

    static func update(_ type: P4_V1_Update.TypeEnum, _ e: P4_V1_TableEntry) -> P4_V1_Update {
        var u = P4_V1_Update(); u.type = type; u.entity.tableEntry = e; return u
    }

    static func write(_ updates: [P4_V1_Update], election: UInt64 = election) -> P4_V1_WriteRequest {
        var w = P4_V1_WriteRequest(); w.deviceID = 1; w.electionID = uint128(election); w.updates = updates; return w
    }

    static func readTable(_ tableID: UInt32) -> P4_V1_ReadRequest {
        var r = P4_V1_ReadRequest(); r.deviceID = 1
        var e = P4_V1_Entity(); var t = P4_V1_TableEntry(); t.tableID = tableID; e.tableEntry = t
        r.entities = [e]
        return r
    }
}
