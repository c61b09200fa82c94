import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SluiceControlPlane
import SluiceIR
import SluiceP4Runtime
import SluiceSupport

/// What `sluice bench p4runtime` measures: table entries written per second through the P4Runtime server (in
/// batches, over gRPC on loopback, a client in the same process) and read back per second,
/// against inserting the same entries through the control plane directly (no gRPC, no protobuf).
/// The program is ipv4-router (its `ipv4_lpm` table and `ipv4_forward` action), which `resolver`
/// must know by name.
public struct P4RuntimeBench: Sendable {
    public var program: VerifiedProgram
    public var resolver: ProgramResolver
    public var entries: Int
    public var batch: Int
    public var seed: UInt64
    public init(program: VerifiedProgram, resolver: ProgramResolver, entries: Int, batch: Int, seed: UInt64) {
        self.program = program; self.resolver = resolver; self.entries = entries; self.batch = batch; self.seed = seed
    }

    public struct Result: Sendable {
        public var writesPerSecond: Double
        public var readsPerSecond: Double
        public var directInsertsPerSecond: Double
        public var readBack: Int
    }

    /// Distinct /32 routes (seeded), as P4Runtime table entries for ipv4-router's ipv4_lpm.
    func routes() -> [P4_V1_TableEntry] {
        let ids = P4Ids(program.program)
        let table = ids.id(.table, "ipv4_lpm")!, action = ids.id(.action, "ipv4_forward")!
        var rng = SplitMix(seed)
        var seen = Set<UInt32>()
        var out: [P4_V1_TableEntry] = []
        out.reserveCapacity(entries)
        while out.count < entries {
            let addr = UInt32(truncatingIfNeeded: rng.next())
            guard seen.insert(addr).inserted else { continue }
            var e = P4_V1_TableEntry()
            e.tableID = table
            var f = P4_V1_FieldMatch(); f.fieldID = 1
            var l = P4_V1_FieldMatch.LPM(); l.value = Data(P4InfoBuilder.canonicalBytes(UInt128(addr))); l.prefixLen = 32; f.lpm = l
            e.match = [f]
            var a = P4_V1_Action(); a.actionID = action
            var p1 = P4_V1_Action.Param(); p1.paramID = 1; p1.value = Data(P4InfoBuilder.canonicalBytes(UInt128(rng.next() & 0xFFFF_FFFF_FFFF)))
            var p2 = P4_V1_Action.Param(); p2.paramID = 2; p2.value = Data(P4InfoBuilder.canonicalBytes(UInt128(1 + rng.next() % 4)))
            a.params = [p1, p2]
            e.action.action = a
            out.append(e)
        }
        return out
    }

    public func run() async throws -> Result {
        let routes = routes()

        // Baseline: the same entries straight into the control plane of a pipeline.
        let direct = PipelineSwitch()
        try direct.install(program, seed: 1)
        let matches = routes.map { e -> TableEntry in
            let ip = e.match[0].lpm.value.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
            let args = e.action.action.params.map { $0.value.reduce(UInt128(0)) { $0 << 8 | UInt128($1) } }
            return TableEntry([.lpm(ip, prefixLength: 32)], ActionCall("ipv4_forward", args))
        }
        let d0 = MonotonicClock.nanoseconds
        _ = try direct.withControlPlane { cp in for m in matches { try cp.insert("ipv4_lpm", m) } }
        let directSeconds = Double(MonotonicClock.nanoseconds - d0) / 1e9

        let sw = PipelineSwitch()
        let device = P4RuntimeDevice(deviceID: 1, target: sw, resolver: resolver)
        let server = try P4RuntimeServer(device: device, cpuPort: 510, host: "127.0.0.1", port: 0)
        defer { server.stop() }
        return try await withGRPCClient(transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: server.port), transportSecurity: .plaintext)) { client in
            let p4 = P4_V1_P4Runtime.Client(wrapping: client)
            let (closed, close) = AsyncStream.makeStream(of: Void.self)
            let (arbitrated, arrived) = AsyncStream.makeStream(of: Int32.self)
            let stream = Task {
                try await p4.streamChannel(requestProducer: { w in
                    var m = P4_V1_StreamMessageRequest()
                    m.arbitration.deviceID = 1
                    m.arbitration.electionID.low = 1
                    try await w.write(m)
                    for await _ in closed {}
                }, onResponse: { r in
                    for try await m in r.messages where m.arbitration.deviceID == 1 { arrived.yield(m.arbitration.status.code) }
                })
            }
            defer { close.finish(); stream.cancel() }
            var it = arbitrated.makeAsyncIterator()
            guard await it.next() == 0 else { throw P4RuntimeError(.internal, "bench p4runtime: the controller did not become primary") }

            var set = P4_V1_SetForwardingPipelineConfigRequest()
            set.deviceID = 1
            set.electionID.low = 1
            set.action = .verifyAndCommit
            set.config.p4Info = try P4InfoBuilder.p4Info(program.program)
            set.config.p4DeviceConfig = Data(program.program.name.utf8)
            _ = try await p4.setForwardingPipelineConfig(set)

            var requests: [P4_V1_WriteRequest] = []
            var i = 0
            while i < routes.count {
                var w = P4_V1_WriteRequest()
                w.deviceID = 1
                w.electionID.low = 1
                w.updates = routes[i..<min(i + batch, routes.count)].map { e in
                    var u = P4_V1_Update(); u.type = .insert; u.entity.tableEntry = e; return u
                }
                requests.append(w)
                i += batch
            }
            let w0 = MonotonicClock.nanoseconds
            for w in requests { _ = try await p4.write(w) }
            let writeSeconds = Double(MonotonicClock.nanoseconds - w0) / 1e9

            var read = P4_V1_ReadRequest()
            read.deviceID = 1
            var ent = P4_V1_Entity(); ent.tableEntry.tableID = routes[0].tableID
            read.entities = [ent]
            let r0 = MonotonicClock.nanoseconds
            let count = try await p4.read(read) { r in
                var n = 0
                for try await m in r.messages { n += m.entities.count }
                return n
            }
            let readSeconds = Double(MonotonicClock.nanoseconds - r0) / 1e9
            return Result(writesPerSecond: Double(routes.count) / writeSeconds, readsPerSecond: Double(count) / readSeconds,
                          directInsertsPerSecond: Double(routes.count) / directSeconds, readBack: count)
        }
    }
}

/// SplitMix64: the bench's seeded values.
struct SplitMix: Sendable {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

