import Sluice
import SluiceIR
import SluiceControlPlane

/// `atp`: ATP-style multi-tenant in-network aggregation (NSDI 2021), with `ecmp-router`'s
/// routing for everything else. Jobs share one pool of aggregators; a packet claims the
/// aggregator its (job, sequence) hashes to when that aggregator is free or already its own,
/// and on a collision goes on, unaggregated, to the job's parameter server, which aggregates
/// in software. The server's result frees the aggregator on its way back and is multicast to
/// the job's workers. int32 sums (32-bit wrap-around).
///
/// Packet (`SluiceML`'s ATP worker and server speak exactly this):
///
///     Ethernet | IPv4 (ihl 5) | UDP | atp_t | k x int32 (big-endian)
///     atp_t  bitmap 32 | workers 8 | job 8 | flags 8 | size 8 | seq 32       (12 bytes)
///
/// - updates go from a worker to its parameter server's address, UDP port 0xA7A0; results from
///   the server to UDP port 0xA7A1 (any destination address: the switch answers for it).
/// - `bitmap`: the workers whose values the packet carries (a worker sends its own bit).
/// - `flags`: 1 = resend (the worker's timer fired), 2 = aggregated (the switch summed it),
///   4 = collision (it found the aggregator taken), 8 = result (from the server).
/// - `size`: k, the values a packet carries (64 or 256, this program's k).
///
/// Tables (`ATP.install` writes them for a job):
///
///     atp_workers   hdr.ipv4.srcAddr: exact    set_worker(job: 8, workers: 8) | drop
///     atp_servers   hdr.ipv4.srcAddr: exact,
///                   hdr.atp.job: exact         set_server(group: 16) | drop
///     atp_rewrite   standard.egressRid: exact  set_dest(mac: 48, ip: 32, port: 16) | drop   (egress)
///
/// Registers, one cell per aggregator (`aggregators` of them, shared by every job):
/// `atp_owner` (41 bits: 1 << 40 | job << 32 | seq, 0 = free), `atp_bitmap` (32), `atp_count`
/// (8), `atp_sum_0` ... `atp_sum_<k-1>` (32). The index is `crc32(job, seq) % aggregators`.
///
/// Per update (from a worker with an `atp_workers` entry for its job; others are dropped):
/// 1. A resend to an aggregator owned by its (job, seq): eviction. The packet leaves with the
///    stored sums and bitmap (flags `aggregated`) for the server, and the aggregator is freed.
///    A resend that finds it otherwise goes on unchanged. Resends never claim.
/// 2. Not a resend, aggregator free or its own: claimed. A new bit adds the values (the first
///    one writes them); when all `workers` bits are in, the packet becomes the aggregate (sums,
///    full bitmap, flags `aggregated`) and goes to the server; the aggregator stays owned until
///    the server's result frees it. Otherwise the packet is consumed. A bit already in: dropped.
/// 3. Not a resend, aggregator owned by another (job, seq): flags `collision`, on to the server.
///
/// Per result (flags `result`, UDP port 0xA7A1, from the job's server per `atp_servers`): the
/// aggregator of its (job, seq) is freed if that pair owns it, and the result is multicast to
/// the job's group; egress gives each copy its worker's MAC, IPv4 address and UDP port and the
/// switch's own source address (the update's destination is the server: routing forwards
/// everything bound for it).
public enum ATP {
    public static let name = "atp"
    public static let summary = "ATP multi-tenant in-network aggregation (hashed aggregators, parameter-server fallback) with ecmp-router routing"

    public static let updatePort: UInt16 = 0xA7A0
    public static let resultPort: UInt16 = 0xA7A1
    public static let resend: UInt8 = 1, aggregated: UInt8 = 2, collision: UInt8 = 4, result: UInt8 = 8
    /// Bytes of atp_t.
    public static let headerBytes = 12
    public static let maxWorkers = 32

    public static func program(k: Int = 64, aggregators: Int = 4096) throws -> SwitchProgram {
        guard k == 64 || k == 256 else { throw ControlPlaneError("atp: k = \(k) (valid: 64, 256)") }
        guard (1...65536).contains(aggregators) else { throw ControlPlaneError("atp: \(aggregators) aggregators (valid: 1 ... 65536)") }
        let values = (0..<k).map { hdr.values[dynamicMember: "v\($0)"] }
        let key = (Value.bits(1, 41) << 40) | (meta.atp_job.cast(41) << 32) | hdr.atp.seq.cast(41)
        let index = hash(.crc32, [meta.atp_job, hdr.atp.seq], width: 32, modulo: UInt64(aggregators))
        return SwitchProgram(name, doc: summary) {
            AggregationParts.types(k: k)
            HeaderType("atp_t") {
                Field("bitmap", 32)
                Field("workers", 8)
                Field("job", 8)
                Field("flags", 8)
                Field("size", 8)
                Field("seq", 32)
            }
            Header("ethernet", "ethernet_t")
            Header("ipv4", "ipv4_t")
            Header("l4", "l4_ports_t")
            Header("udp", "udp_rest_t")
            Header("atp", "atp_t")
            Header("values", "values_t")
            Metadata {
                Field("atp_job", 8)
                Field("atp_workers", 8)
                Field("atp_idx", 32)
                Field("atp_key", 41)
                Field("atp_owner", 41)
                Field("atp_before", 32)
                Field("atp_count", 8)
                Field("atp_group", 16)
            }
            Parser {
                Common.ethernetStart()
                for state in AggregationParts.ipv4States { state }
                State("parse_udp") {
                    Extract(hdr.l4)
                    Select(hdr.l4.dstPort) {
                        Case(Keyset(UInt128(updatePort)), next: "parse_atp")
                        Case(Keyset(UInt128(resultPort)), next: "parse_atp")
                        Default(next: "accept")
                    }
                }
                State("parse_atp") {
                    Extract(hdr.udp)
                    Extract(hdr.atp)
                    // Only packets of this program's k carry values it can add; others are rejected.
                    Select(hdr.atp.size) {
                        Case(Keyset(UInt128(k & 0xFF)), next: "parse_values")
                        Default(next: "reject")
                    }
                }
                State("parse_values") {
                    Extract(hdr.values)
                    Accept()
                }
            }
            ECMPRouter.routing()
            Register("atp_owner", width: 41, size: aggregators)
            Register("atp_bitmap", width: 32, size: aggregators)
            Register("atp_count", width: 8, size: aggregators)
            for j in 0..<k { Register("atp_sum_\(j)", width: 32, size: aggregators) }
            Action("set_worker", Param("job", 8), Param("workers", 8)) {
                Assign(meta.atp_job, param.job)
                Assign(meta.atp_workers, param.workers)
            }
            Action("set_server", Param("group", 16)) {
                Assign(meta.atp_job, hdr.atp.job)
                Assign(meta.atp_group, param.group)
            }
            Table("atp_workers") {
                Key(hdr.ipv4.srcAddr, .exact)
                Actions("set_worker", "drop")
                DefaultAction("drop")
                Size(4096)
            }
            Table("atp_servers") {
                Key(hdr.ipv4.srcAddr, .exact)
                Key(hdr.atp.job, .exact)
                Actions("set_server", "drop")
                DefaultAction("drop")
                Size(256)
            }
            AggregationParts.rewrite(table: "atp_rewrite")
            Ingress {
                If(hdr.values.isValid && (hdr.atp.flags & Value(UInt128(result))) == 0 && hdr.l4.dstPort == Value(UInt128(updatePort))) {
                    Switch(apply: "atp_workers") {
                        On("set_worker") {
                            If(hdr.atp.job != meta.atp_job) {
                                Drop()
                                Exit()
                            }
                            update(k: k, values: values, key: key, index: index)
                        }
                    }
                } else: {
                    If(hdr.values.isValid && (hdr.atp.flags & Value(UInt128(result))) != 0 && hdr.l4.dstPort == Value(UInt128(resultPort))) {
                        Switch(apply: "atp_servers") {
                            On("set_server") {
                                Assign(meta.atp_key, key)
                                Assign(meta.atp_idx, index)
                                RegisterAction("atp_owner", index: meta.atp_idx, result: meta.atp_owner) {
                                    mux($0 == meta.atp_key, Value.bits(0, 41), $0)
                                }
                                If(meta.atp_owner == meta.atp_key) {
                                    RegisterWrite("atp_bitmap", index: meta.atp_idx, 0)
                                    RegisterWrite("atp_count", index: meta.atp_idx, 0)
                                }
                                Assign(hdr.udp.checksum, 0)
                                Multicast(group: meta.atp_group)
                            }
                        }
                    } else: {
                        ECMPRouter.route
                    }
                }
            }
            AggregationParts.deparser([hdr.atp, hdr.values])
        }
    }

    /// Ingress for an update of a known worker of its job.
    @StatementBuilder
    static func update(k: Int, values: [Value], key: Value, index: Value) -> [Stmt] {
        Assign(meta.atp_key, key)
        Assign(meta.atp_idx, index)
        If((hdr.atp.flags & Value(UInt128(resend))) != 0) {
            RegisterRead("atp_owner", index: meta.atp_idx, into: meta.atp_owner)
            If(meta.atp_owner == meta.atp_key) {
                // Eviction: the partial aggregate goes to the server, the aggregator is free.
                RegisterWrite("atp_owner", index: meta.atp_idx, Value.bits(0, 41))
                RegisterRead("atp_bitmap", index: meta.atp_idx, into: hdr.atp.bitmap)
                RegisterWrite("atp_bitmap", index: meta.atp_idx, 0)
                RegisterWrite("atp_count", index: meta.atp_idx, 0)
                for (j, v) in values.enumerated() { RegisterRead("atp_sum_\(j)", index: meta.atp_idx, into: v) }
                Assign(hdr.atp.flags, hdr.atp.flags | Value(UInt128(aggregated)))
            }
            Assign(hdr.udp.checksum, 0)
            ECMPRouter.route
        } else: {
            RegisterAction("atp_owner", index: meta.atp_idx, result: meta.atp_owner) {
                mux($0 == 0 || $0 == meta.atp_key, meta.atp_key, $0)
            }
            If(meta.atp_owner == 0 || meta.atp_owner == meta.atp_key) {
                RegisterAction("atp_bitmap", index: meta.atp_idx, result: meta.atp_before) { $0 | hdr.atp.bitmap }
                If((meta.atp_before & hdr.atp.bitmap) == 0) {
                    RegisterAction("atp_count", index: meta.atp_idx, result: meta.atp_count, returnsNew: true) { $0 + 1 }
                    If(meta.atp_owner == 0) {
                        for (j, v) in values.enumerated() { RegisterWrite("atp_sum_\(j)", index: meta.atp_idx, v) }
                    } else: {
                        for (j, v) in values.enumerated() {
                            RegisterAction("atp_sum_\(j)", index: meta.atp_idx, result: v, returnsNew: true) { $0 + v }
                        }
                    }
                    If(meta.atp_count == meta.atp_workers) {
                        Assign(hdr.atp.bitmap, meta.atp_before | hdr.atp.bitmap)
                        Assign(hdr.atp.flags, hdr.atp.flags | Value(UInt128(aggregated)))
                        Assign(hdr.udp.checksum, 0)
                        ECMPRouter.route
                    } else: {
                        Drop()
                    }
                } else: {
                    Drop()
                }
            } else: {
                Assign(hdr.atp.flags, hdr.atp.flags | Value(UInt128(collision)))
                Assign(hdr.udp.checksum, 0)
                ECMPRouter.route
            }
        }
    }

    // MARK: control plane

    /// One ATP job: its id, its parameter server (address), its multicast group and its
    /// workers in rank order (rank = bitmap bit).
    public struct Job: Hashable, Sendable {
        public var job: UInt8
        public var serverIP: UInt32
        public var group: UInt16
        public var workers: [SwitchML.Worker]
        public init(job: UInt8, serverIP: UInt32, group: UInt16, workers: [SwitchML.Worker]) {
            self.job = job; self.serverIP = serverIP; self.group = group; self.workers = workers
        }
        /// The replica id of worker `i`'s copy of a result: `job << 5 | i`.
        public func rid(_ i: Int) -> UInt16 { UInt16(job) << 5 | UInt16(i) }
    }

    /// Install a job: worker entries, the server's entry, the multicast group and the
    /// per-replica rewrites (a worker's `udpPort` is where it receives results).
    public static func install(_ job: Job, into cp: any ControlPlane) throws {
        guard cp.program.name == name else {
            throw ControlPlaneError("atp: the switch runs '\(cp.program.name)', not '\(name)'")
        }
        let n = job.workers.count
        guard (1...maxWorkers).contains(n) else { throw ControlPlaneError("atp job \(job.job): \(n) workers (valid: 1 ... \(maxWorkers))") }
        guard job.group != 0 else { throw ControlPlaneError("atp job \(job.job): multicast group 0 (valid: 1 ... 65535)") }
        for (i, w) in job.workers.enumerated() {
            try cp.upsert("atp_workers", TableEntry([.exact(UInt128(w.ip))], ActionCall("set_worker", [UInt128(job.job), UInt128(n)])))
            try cp.upsert("atp_rewrite", TableEntry([.exact(UInt128(job.rid(i)))],
                ActionCall("set_dest", [UInt128(w.mac), UInt128(w.ip), UInt128(w.udpPort)])))
        }
        try cp.upsert("atp_servers", TableEntry([.exact(UInt128(job.serverIP)), .exact(UInt128(job.job))],
            ActionCall("set_server", [UInt128(job.group)])))
        try cp.setMulticastGroup(job.group, job.workers.enumerated().map { MulticastMember(port: $1.switchPort, rid: job.rid($0)) })
    }
}
