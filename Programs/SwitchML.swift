import Sluice
import SluiceIR
import SluiceControlPlane

/// `switchml`: SwitchML-style in-network aggregation (NSDI 2021), with `ecmp-router`'s routing
/// for everything else. Workers stream int32 vectors of k values through a pool of slots; the
/// switch adds them up and, when every worker of the job has contributed to a slot, multicasts
/// the sum to all of them. Hosts do reliability and quantization (`SluiceML`); the switch does
/// integer adds, max, bitmaps and counting, exactly the per-packet logic of the published
/// design (shadow copies included).
///
/// Packet (the host library speaks exactly this):
///
///     Ethernet | IPv4 (ihl 5) | UDP (dst port 0xBEE0 ... 0xBEEF) | switchml_t | exponents_t | k x int32 (big-endian)
///     switchml_t   msg_type 4 | unused 1 | size 3 | job 8 | pkt_id 32 | pool_index 16   (8 bytes)
///     exponents_t  e0 8 | e1 8                                                          (2 bytes)
///
/// - `msg_type` 0 is an update (worker to switch), 1 a result (the switch writes 1).
/// - `size`: 0 = 128 B (k = 32), 1 = 256 B (k = 64), 2 = 512 B (k = 128), 3 = 1024 B (k = 256).
/// - `pool_index`: bit 15 is the set (which shadow copy), bits 13...0 the slot index within the
///   job's slot range; bit 14 is ignored.
/// - `e0`, `e1`: biased unsigned exponents (0 = none), max-reduced as unsigned bytes.
/// - values are summed with 32-bit wrap-around.
///
/// Tables (entries files use these names; `SwitchML.install` writes them for a `Job`):
///
///     switchml_workers  hdr.ipv4.srcAddr: exact,
///                       hdr.l4.dstPort: exact       set_worker(job: 8, worker: 5, workers: 6, slot_base: 16, slots: 16, group: 16) | drop
///     switchml_rewrite  standard.egressRid: exact   set_dest(mac: 48, ip: 32, port: 16) | drop      (egress, multicast copies)
///     ipv4_lpm, ecmp_nhop, switch_mac               as in ecmp-router (`ECMPRouter.routing`)
///
///     table_add switchml_workers set_worker 10.0.0.1 0xBEE1 => 1 0 3 0 256 2
///     mc_group_set 2 1:32 2:33 3:34         # the job's group: port:rid, rid = job << 5 | worker
///     table_add switchml_rewrite set_dest 32 => 02:00:00:00:00:01 10.0.0.1 40001
///
/// Registers, one cell per physical slot and set (index 2 * physical + set; `shadow: false`:
/// index = physical): `switchml_bitmap` (32 bits, one bit per worker), `switchml_count` (8 bits,
/// the countdown), `switchml_sum_0` ... `switchml_sum_<k-1>` (32 bits), `switchml_e0` and
/// `switchml_e1` (8 bits). `slots` physical slots make up the pool all jobs share; a job owns
/// `slot_base ..< slot_base + slots` of it. The counter `switchml_updates` (index: worker)
/// counts the updates whose (source address, UDP port) has an entry.
///
/// Per update of worker w (its bit b = 1 << w) to slot i, set v of the job its
/// (source address, UDP port) entry names:
/// 1. Checks: no entry drops; a `job` field other than the entry's drops; a slot index at or
///    beyond the entry's `slots` drops; a physical slot beyond the pool drops. So no packet
///    reaches another job's slots (the control plane gives jobs disjoint ranges). A bad IPv4
///    header checksum drops too (the sums must not take corrupted headers).
/// 2. `before = bitmap[i][v]; bitmap[i][v] |= b; bitmap[i][1-v] &= ~b`. The bit already set
///    means a retransmission.
/// 3. New packets count down: `count = old == 0 ? n - 1 : old - 1`. The first packet of a round
///    (old 0, so the new count is n - 1) writes its values and exponents into the slot; later
///    ones add (and max) theirs and carry the running sums out in the packet. The slot is
///    complete when the new count is 0 (old 1; or n = 1, where the first is also the last).
/// 4. New and complete: `msg_type` 1, the sums and exponents in the packet, multicast to the
///    job's group; each copy's destination MAC, IPv4 address and UDP port come from
///    `switchml_rewrite` by its replica id. New and not complete: dropped (consumed).
/// 5. Retransmissions only read. To a complete slot (the count of that set is 0): the stored
///    result goes back out of the ingress port to the sender alone (destination = the update's
///    source MAC, IPv4 address and UDP source port). This is what recovers a lost result. To an
///    incomplete slot: dropped.
///
/// Results of both kinds come from the address workers send to: source MAC, IPv4 address and
/// UDP port are the update's destination ones. The UDP checksum is 0 (none) and the IPv4
/// checksum is recomputed; TTL, identification and lengths stay as in the update.
///
/// Everything else (not IPv4/UDP to 0xBEE0-0xBEEF with `msg_type` 0, e.g. ring and parameter
/// server traffic, or results crossing another switch) is routed exactly as `ecmp-router`
/// routes it, with the same tables, so the emulator's routing controller fills them.
///
/// Parser rules (everything else is accepted as in `ecmp-router`): a UDP packet to
/// 0xBEE0-0xBEEF too short for the UDP header and `switchml_t` is rejected; an update
/// (`msg_type` 0) whose size code is not this program's k, or too short for its exponents and
/// k values, is rejected. Rejected packets are dropped (and counted as parser drops).
///
/// Why the shadow copy (`shadow: false` builds the naive variant, for tests only): without it
/// a slot is reset the moment it completes, so the switch has nothing to answer a
/// retransmission with. If a result is lost on the way to one worker, that worker's
/// retransmitted update finds its bit clear (the slot was reset) and is counted as a new
/// contribution to the slot's next round: the old chunk is added into the next chunk's sum
/// (silently wrong), or, when the others have not started that round yet, it starts the round
/// itself and the worker waits forever for a result the others' later packets complete with
/// the wrong data. With two sets a worker uses set v for chunk c and 1 - v for chunk c + s
/// only after receiving chunk c's result, so set v keeps chunk c's result until every worker
/// has moved on, and a retransmission to it is answered from the registers.
public enum SwitchML {
    public static let name = "switchml"
    public static let summary = "SwitchML in-network aggregation (int32 sums, shadow copies, multicast results) with ecmp-router routing"

    /// Values a packet carries for a size code, and back.
    public static func elements(sizeCode: Int) -> Int? { (0...3).contains(sizeCode) ? 32 << sizeCode : nil }
    public static func sizeCode(elements k: Int) -> Int? {
        switch k { case 32: 0; case 64: 1; case 128: 2; case 256: 3; default: nil }
    }

    /// The UDP destination ports of aggregation traffic.
    public static let ports: ClosedRange<UInt16> = 0xBEE0...0xBEEF

    /// The most workers of a job (bits of the bitmap).
    public static let maxWorkers = 32

    /// `k` values a packet (32, 64, 128 or 256), `slots` physical slots in the pool all jobs
    /// share, `shadow: false` for the naive single-set variant (wrong, see above).
    public static func program(k: Int = 64, slots: Int = 4096, shadow: Bool = true) -> SwitchProgram {
        precondition(sizeCode(elements: k) != nil, "switchml: k = \(k); valid: 32, 64, 128, 256")
        precondition((1...0x4000).contains(slots), "switchml: slots = \(slots); valid: 1 ... 16384 (14-bit slot indices)")
        let code = UInt64(sizeCode(elements: k)!)
        let cells = shadow ? 2 * slots : slots
        let values = (0..<k).map { hdr.values[dynamicMember: "v\($0)"] }
        let idx = meta.sml_idx
        return SwitchProgram(name, doc: summary) {
            AggregationParts.types(k: k)
            HeaderType("switchml_t") {
                Field("msg_type", 4)
                Field("unused", 1)
                Field("size", 3)
                Field("job", 8)
                Field("pkt_id", 32)
                Field("pool_index", 16)
            }
            HeaderType("exponents_t") {
                Field("e0", 8)
                Field("e1", 8)
            }
            Header("ethernet", "ethernet_t")
            Header("ipv4", "ipv4_t")
            Header("l4", "l4_ports_t")
            Header("udp", "udp_rest_t")
            Header("switchml", "switchml_t")
            Header("exponents", "exponents_t")
            Header("values", "values_t")
            Metadata {
                Field("sml_job", 8)
                Field("sml_bit", 32)
                Field("sml_reset", 8)
                Field("sml_slots", 16)
                Field("sml_base", 32)
                Field("sml_group", 16)
                Field("sml_idx", 32)
                if shadow { Field("sml_other", 32) }
                Field("sml_before", 32)
                Field("sml_count", 8)
                Field("sml_mac", 48)
                Field("sml_ip", 32)
                Field("sml_port", 16)
            }
            Parser {
                Common.ethernetStart()
                for state in AggregationParts.ipv4States { state }
                State("parse_udp") {
                    Extract(hdr.l4)
                    Select(hdr.l4.dstPort[15, 4]) {
                        Case(Keyset(UInt128(ports.lowerBound >> 4)), next: "parse_switchml")
                        Default(next: "accept")
                    }
                }
                State("parse_switchml") {
                    Extract(hdr.udp)
                    Extract(hdr.switchml)
                    // msg_type ++ unused ++ size: updates of this k (the unused bit either
                    // way) go on to their values, other updates are rejected, anything else
                    // (results) is accepted with the values left as payload.
                    Select(hdr.switchml.msg_type ++ hdr.switchml.unused ++ hdr.switchml.size) {
                        Case(Keyset(UInt128(code)), next: "parse_values")
                        Case(Keyset(UInt128(8 | code)), next: "parse_values")
                        for other in 0..<16 where other & 7 != code {
                            Case(Keyset(UInt128(other)), next: "reject")
                        }
                        Default(next: "accept")
                    }
                }
                State("parse_values") {
                    Extract(hdr.exponents)
                    Extract(hdr.values)
                    Accept()
                }
            }
            ECMPRouter.routing()
            Register("switchml_bitmap", width: 32, size: cells)
            Register("switchml_count", width: 8, size: cells)
            Register("switchml_e0", width: 8, size: cells)
            Register("switchml_e1", width: 8, size: cells)
            for j in 0..<k { Register("switchml_sum_\(j)", width: 32, size: cells) }
            // Updates from each worker (index: its number in the job): an aggregator's idle timer
            // counts these, not any datagram, so junk from a non-member keeps no round alive.
            Counter(updatesCounter, size: maxWorkers, kind: .packets)
            Action("set_worker", Param("job", 8), Param("worker", 5), Param("workers", 6), Param("slot_base", 16),
                   Param("slots", 16), Param("group", 16)) {
                Assign(meta.sml_job, param.job)
                Assign(meta.sml_bit, Value.bits(1, 32) << param.worker.cast(32))
                Assign(meta.sml_reset, param.workers.cast(8) - 1)
                Assign(meta.sml_base, param.slot_base.cast(32))
                Assign(meta.sml_slots, param.slots)
                Assign(meta.sml_group, param.group)
                Count(updatesCounter, index: param.worker)
            }
            Table("switchml_workers") {
                Key(hdr.ipv4.srcAddr, .exact)
                Key(hdr.l4.dstPort, .exact)
                Actions("set_worker", "drop")
                DefaultAction("drop")
                Size(4096)
            }
            AggregationParts.rewrite(table: "switchml_rewrite")
            Ingress {
                If(hdr.values.isValid) {
                    VerifyChecksum(hdr.ipv4.hdrChecksum, over: hdr.ipv4)
                    If(standard.checksumError == 1) {
                        Drop()
                    } else: {
                        Switch(apply: "switchml_workers") {
                            On("set_worker") {
                                aggregate(k: k, slots: slots, shadow: shadow, values: values, idx: idx)
                            }
                        }
                    }
                } else: {
                    ECMPRouter.route
                }
            }
            AggregationParts.deparser([hdr.switchml, hdr.exponents, hdr.values])
        }
    }

    /// Ingress for an update whose worker entry was found (`set_worker` ran).
    @StatementBuilder
    static func aggregate(k: Int, slots: Int, shadow: Bool, values: [Value], idx: Value) -> [Stmt] {
        let slot = hdr.switchml.pool_index[13, 0]
        If(hdr.switchml.job != meta.sml_job || slot.cast(16) >= meta.sml_slots) {
            Drop()
            Exit()
        }
        // The register index, once: (slot_base + slot) * 2 + set, or slot_base + slot.
        if shadow {
            Assign(idx, ((meta.sml_base + slot.cast(32)) << 1) | hdr.switchml.pool_index[15, 15].cast(32))
            Assign(meta.sml_other, idx ^ 1)
            If(idx >= Value(UInt128(2 * slots))) {
                Drop()
                Exit()
            }
        } else {
            Assign(idx, meta.sml_base + slot.cast(32))
            If(idx >= Value(UInt128(slots))) {
                Drop()
                Exit()
            }
        }
        RegisterAction("switchml_bitmap", index: idx, result: meta.sml_before) { $0 | meta.sml_bit }
        if shadow {
            RegisterAction("switchml_bitmap", index: meta.sml_other) { $0 & ~meta.sml_bit }
        }
        If((meta.sml_before & meta.sml_bit) == 0) {
            // A new contribution: count down.
            RegisterAction.countdown("switchml_count", index: idx, reset: meta.sml_reset, newInto: meta.sml_count)
            If(meta.sml_count == meta.sml_reset) {
                // The first of the round: its values start the slot.
                for (j, v) in values.enumerated() { RegisterWrite("switchml_sum_\(j)", index: idx, v) }
                RegisterWrite("switchml_e0", index: idx, hdr.exponents.e0)
                RegisterWrite("switchml_e1", index: idx, hdr.exponents.e1)
            } else: {
                // Later ones add theirs and carry the running sums (the result, if last).
                for (j, v) in values.enumerated() {
                    RegisterAction("switchml_sum_\(j)", index: idx, result: v, returnsNew: true) { $0 + v }
                }
                RegisterAction("switchml_e0", index: idx, result: hdr.exponents.e0, returnsNew: true) { mux($0 > hdr.exponents.e0, $0, hdr.exponents.e0) }
                RegisterAction("switchml_e1", index: idx, result: hdr.exponents.e1, returnsNew: true) { mux($0 > hdr.exponents.e1, $0, hdr.exponents.e1) }
            }
            If(meta.sml_count == 0) {
                if !shadow {
                    // Naive: the slot is free again at once (and the result forgotten).
                    RegisterWrite("switchml_bitmap", index: idx, 0)
                }
                Assign(hdr.switchml.msg_type, 1)
                Assign(hdr.udp.checksum, 0)
                // From the address the workers send to; egress sets each copy's destination.
                Assign(hdr.ethernet.srcAddr, hdr.ethernet.dstAddr)
                Assign(hdr.ipv4.srcAddr, hdr.ipv4.dstAddr)
                Assign(hdr.l4.srcPort, hdr.l4.dstPort)
                Multicast(group: meta.sml_group)
            } else: {
                Drop()
            }
        } else: {
            if shadow {
                RegisterRead("switchml_count", index: idx, into: meta.sml_count)
                If(meta.sml_count == 0) {
                    // A retransmission to a complete slot: the stored result, to the sender alone.
                    for (j, v) in values.enumerated() { RegisterRead("switchml_sum_\(j)", index: idx, into: v) }
                    RegisterRead("switchml_e0", index: idx, into: hdr.exponents.e0)
                    RegisterRead("switchml_e1", index: idx, into: hdr.exponents.e1)
                    Assign(hdr.switchml.msg_type, 1)
                    Assign(hdr.udp.checksum, 0)
                    Assign(meta.sml_mac, hdr.ethernet.dstAddr)
                    Assign(hdr.ethernet.dstAddr, hdr.ethernet.srcAddr)
                    Assign(hdr.ethernet.srcAddr, meta.sml_mac)
                    Assign(meta.sml_ip, hdr.ipv4.dstAddr)
                    Assign(hdr.ipv4.dstAddr, hdr.ipv4.srcAddr)
                    Assign(hdr.ipv4.srcAddr, meta.sml_ip)
                    // The UDP ports swap: the update's source port is the worker's.
                    Assign(meta.sml_port, hdr.l4.dstPort)
                    Assign(hdr.l4.dstPort, hdr.l4.srcPort)
                    Assign(hdr.l4.srcPort, meta.sml_port)
                    Forward(port: standard.ingressPort)
                } else: {
                    Drop()
                }
            } else {
                // Naive: a bit still set means the round is incomplete (a complete slot was reset).
                Drop()
            }
        }
    }

    // MARK: control plane

    /// A worker of a job: its address, the UDP port it receives results on, and the switch
    /// port it hangs off.
    public struct Worker: Hashable, Sendable {
        public var ip: UInt32
        public var mac: UInt64
        public var udpPort: UInt16
        public var switchPort: UInt16
        public init(ip: UInt32, mac: UInt64, udpPort: UInt16, switchPort: UInt16) {
            self.ip = ip; self.mac = mac; self.udpPort = udpPort; self.switchPort = switchPort
        }
    }

    /// One aggregation job on a switch: its short id, the UDP port its workers send updates
    /// to, its slot range `slotBase ..< slotBase + slots` of the pool, its multicast group, and
    /// its workers in rank order (rank = worker index = bitmap bit).
    public struct Job: Hashable, Sendable {
        public var job: UInt8
        public var udpPort: UInt16
        public var slotBase: Int
        public var slots: Int
        public var group: UInt16
        public var workers: [Worker]
        public init(job: UInt8, udpPort: UInt16, slotBase: Int, slots: Int, group: UInt16, workers: [Worker]) {
            self.job = job; self.udpPort = udpPort; self.slotBase = slotBase; self.slots = slots
            self.group = group; self.workers = workers
        }

        /// The replica id of worker `i`'s copy of a result: `job << 5 | i`.
        public func rid(_ i: Int) -> UInt16 { UInt16(job) << 5 | UInt16(i) }
    }

    /// Physical slots of the pool of a `switchml` program (nil for another program).
    public static func poolSlots(of p: Program) -> Int? {
        // By its control-plane interface rather than its name: a program file or a user's
        // variant with switchml's tables and registers is served the same way.
        guard let r = p.registers.first(where: { $0.name == "switchml_count" }),
              p.tables.contains(where: { $0.name == "switchml_workers" }) else { return nil }
        return p.metadata.contains { $0.name == "sml_other" } ? r.size / 2 : r.size
    }

    /// The values a packet carries in a program with switchml's headers (the fields of
    /// `values_t`), or nil when it has none: what workers must send it.
    public static func elementsPerPacket(of p: Program) -> Int? {
        guard poolSlots(of: p) != nil, let t = p.headerTypes.first(where: { $0.name == "values_t" }),
              sizeCode(elements: t.fields.count) != nil else { return nil }
        return t.fields.count
    }

    /// Every slot's rounds forgotten (bitmaps and counts to 0; sums are overwritten by a
    /// round's first update): what an aggregator does after its workers have been silent long
    /// enough that no job is running (`sluice aggregator --idle-reset`), so that a job cut
    /// short (its slots left mid-round) cannot leave its state to the next one.
    /// The counter of updates per worker (index: the worker's number in its job).
    public static let updatesCounter = "switchml_updates"

    /// Updates taken from the job's workers so far (the sum of `updatesCounter` over them):
    /// what an aggregator's idle timer watches.
    public static func memberUpdates(_ cp: any ControlPlane, workers: Int) throws(ControlPlaneError) -> UInt64 {
        var n: UInt64 = 0
        for w in 0..<min(workers, maxWorkers) { n &+= try cp.counter(updatesCounter, index: w).packets }
        return n
    }

    public static func clearSlots(_ cp: any ControlPlane) throws(ControlPlaneError) {
        try cp.resetRegister("switchml_bitmap")
        try cp.resetRegister("switchml_count")
    }

    /// Install a job: its workers' entries, its multicast group (replica id `job << 5 | i` for
    /// worker i) and the per-replica rewrites; and clear the bitmaps and counts of its slots,
    /// so that a job installed again starts from empty slots. Entries of the same workers and
    /// replica ids are replaced. The caller keeps slot ranges of different jobs disjoint.
    public static func install(_ job: Job, into cp: any ControlPlane) throws {
        guard let pool = poolSlots(of: cp.program) else {
            throw ControlPlaneError("switchml: the switch runs '\(cp.program.name)', which lacks switchml's switchml_count register and switchml_workers table (valid: switchml, or a program with its tables)")
        }
        let n = job.workers.count
        guard (1...maxWorkers).contains(n) else {
            throw ControlPlaneError("switchml job \(job.job): \(n) workers (valid: 1 ... \(maxWorkers))")
        }
        guard ports.contains(job.udpPort) else {
            throw ControlPlaneError("switchml job \(job.job): UDP port \(job.udpPort) (valid: \(ports.lowerBound) ... \(ports.upperBound))")
        }
        guard job.slots >= 1, job.slots <= 0x4000, job.slotBase >= 0, job.slotBase + job.slots <= pool else {
            throw ControlPlaneError("switchml job \(job.job): slots \(job.slotBase) ..< \(job.slotBase + job.slots) (valid: 1 ... 16384 slots within the pool of \(pool))")
        }
        guard job.group != 0 else { throw ControlPlaneError("switchml job \(job.job): multicast group 0 (valid: 1 ... 65535)") }
        for (i, w) in job.workers.enumerated() {
            try cp.upsert("switchml_workers", TableEntry([.exact(UInt128(w.ip)), .exact(UInt128(job.udpPort))],
                ActionCall("set_worker", [UInt128(job.job), UInt128(i), UInt128(n), UInt128(job.slotBase), UInt128(job.slots), UInt128(job.group)])))
            try cp.upsert("switchml_rewrite", TableEntry([.exact(UInt128(job.rid(i)))],
                ActionCall("set_dest", [UInt128(w.mac), UInt128(w.ip), UInt128(w.udpPort)])))
        }
        try cp.setMulticastGroup(job.group, job.workers.enumerated().map { MulticastMember(port: $1.switchPort, rid: job.rid($0)) })
        let sets = cp.program.registers.first { $0.name == "switchml_count" }!.size / pool
        for cell in (job.slotBase * sets)..<((job.slotBase + job.slots) * sets) {
            try cp.writeRegister("switchml_bitmap", index: cell, 0)
            try cp.writeRegister("switchml_count", index: cell, 0)
        }
    }
}
