import Foundation
import Sluice
import SluiceIR
import SluicePrograms
import SluiceP4Runtime
import SluiceP4RuntimeServer
import SwiftProtobuf

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

/// `p4rt-externs`, a program with one of each resource a Write changes: table `fwd` (exact on
/// `key`, a direct counter), counter `hits`, meter `police` and register `last`, each used at the
/// index the packet's `idx` byte gives (the meter's color written into `color`), and `flood` to
/// multicast group 1.
enum Externs {
    static let name = "p4rt-externs"

    static func program() -> SwitchProgram {
        SwitchProgram(name) {
            HeaderType("h_t") { Field("key", 8); Field("idx", 8); Field("color", 8) }
            Header("h", "h_t")
            Counter("hits", size: 4)
            Meter("police", size: 2, unit: .packets)
            Register("last", width: 16, size: 4)
            Parser { State("start") { Extract(hdr.h) } }
            Action("drop") { Drop() }
            Action("to", Param("port", 9)) { Forward(port: param.port) }
            Action("flood") { Multicast(group: Value(UInt128(1))) }
            Table("fwd") {
                Key(hdr.h.key, .exact)
                Actions("to", "flood", "drop")
                DefaultAction("drop")
                DirectCounter()
                Size(8)
            }
            Ingress {
                Apply("fwd")
                Count("hits", index: hdr.h.idx)
                ExecuteMeter("police", index: hdr.h.idx, into: hdr.h.color)
                RegisterWrite("last", index: hdr.h.idx, hdr.h.key.cast(16))
            }
            Deparser { Emit(hdr.h) }
        }
    }

    static let verified: VerifiedProgram = try! program().verified()
    static let ids = P4Ids(verified.program)

    /// SetForwardingPipelineConfig with the program as a program file.
    static func setPipeline() throws -> P4_V1_SetForwardingPipelineConfigRequest {
        var r = try P4R.setPipeline("ipv4-router")
        r.config.p4Info = try P4InfoBuilder.p4Info(verified.program)
        r.config.p4DeviceConfig = try ProgramFile.encode(verified, writtenBy: "P4RuntimeTests")
        return r
    }

    /// A device on an in-memory switch running the program, with a primary controller.
    static func device() throws -> (P4RuntimeDevice, PipelineSwitch) {
        let (d, sw) = try P4RuntimeDeviceTests.device()
        try d.setPipeline(try setPipeline())
        return (d, sw)
    }

    /// fwd: key -> to(port).
    static func entry(_ key: UInt8, port: UInt16) -> P4_V1_TableEntry {
        var e = P4_V1_TableEntry()
        e.tableID = ids.id(.table, "fwd")!
        var f = P4_V1_FieldMatch(); f.fieldID = 1; f.exact.value = Data([key])
        e.match = [f]
        e.action.action.actionID = ids.id(.action, "to")!
        var p = P4_V1_Action.Param(); p.paramID = 1; p.value = P4R.bytes(UInt64(port), 2)
        e.action.action.params = [p]
        return e
    }

    static func packet(key: UInt8, idx: UInt8) -> [UInt8] { [key, idx, 0xEE] }

    static func update(_ type: P4_V1_Update.TypeEnum, _ set: (inout P4_V1_Entity) -> Void) -> P4_V1_Update {
        var u = P4_V1_Update(); u.type = type; set(&u.entity); return u
    }

    static func counter(_ index: Int64?, packets: Int64, bytes: Int64, type: P4_V1_Update.TypeEnum = .modify) -> P4_V1_Update {
        update(type) { e in
            e.counterEntry.counterID = ids.id(.counter, "hits")!
            if let index { e.counterEntry.index.index = index }
            e.counterEntry.data.packetCount = packets
            e.counterEntry.data.byteCount = bytes
        }
    }

    static func directCounter(_ key: UInt8, packets: Int64, bytes: Int64, type: P4_V1_Update.TypeEnum = .modify) -> P4_V1_Update {
        update(type) { e in
            e.directCounterEntry.tableEntry = entry(key, port: 0)
            e.directCounterEntry.tableEntry.clearAction()
            e.directCounterEntry.data.packetCount = packets
            e.directCounterEntry.data.byteCount = bytes
        }
    }

    static func register(_ index: Int64?, _ value: UInt64) -> P4_V1_Update {
        update(.modify) { e in
            e.registerEntry.registerID = ids.id(.register, "last")!
            if let index { e.registerEntry.index.index = index }
            e.registerEntry.data.bitstring = P4R.bytes(value, 2)
        }
    }

    static func meter(_ index: Int64?, cir: Int64, cburst: Int64, pir: Int64, pburst: Int64) -> P4_V1_Update {
        update(.modify) { e in
            e.meterEntry.meterID = ids.id(.meter, "police")!
            if let index { e.meterEntry.index.index = index }
            e.meterEntry.config.cir = cir; e.meterEntry.config.cburst = cburst
            e.meterEntry.config.pir = pir; e.meterEntry.config.pburst = pburst
        }
    }

    static func group(_ type: P4_V1_Update.TypeEnum, _ id: UInt32, ports: [UInt32]) -> P4_V1_Update {
        update(type) { e in
            e.packetReplicationEngineEntry.multicastGroupEntry.multicastGroupID = id
            e.packetReplicationEngineEntry.multicastGroupEntry.replicas = ports.map { p in
                var r = P4_V1_Replica(); r.egressPort = p; r.instance = 1; return r
            }
        }
    }

    /// Read of one entity kind, every instance (the specification's wildcards).
    static func read(_ set: (inout P4_V1_Entity) -> Void) -> P4_V1_ReadRequest {
        var r = P4_V1_ReadRequest(); r.deviceID = 1
        var e = P4_V1_Entity(); set(&e); r.entities = [e]
        return r
    }

    /// Every cell of `hits` as (packets, bytes).
    static func hits(_ d: P4RuntimeDevice) throws -> [[Int64]] {
        try d.read(read { $0.counterEntry.counterID = ids.id(.counter, "hits")! }).map { [$0.counterEntry.data.packetCount, $0.counterEntry.data.byteCount] }
    }

    /// Everything a Write can change, as text (for "the same as before").
    static func state(_ d: P4RuntimeDevice) throws -> [String] {
        let all: [P4_V1_ReadRequest] = [
            read { $0.tableEntry = P4_V1_TableEntry() },
            read { $0.tableEntry.tableID = ids.id(.table, "fwd")!; $0.tableEntry.isDefaultAction = true },
            read { $0.directCounterEntry = P4_V1_DirectCounterEntry() },
            read { $0.counterEntry = P4_V1_CounterEntry() },
            read { $0.meterEntry = P4_V1_MeterEntry() },
            read { $0.registerEntry = P4_V1_RegisterEntry() },
            read { $0.packetReplicationEngineEntry.multicastGroupEntry = P4_V1_MulticastGroupEntry() },
        ]
        return try all.flatMap { try d.read($0).map { $0.textFormatString() } }
    }
}
