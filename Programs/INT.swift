import Sluice
import SluiceIR

/// `int-md`: In-band Network Telemetry, INT-MD v2.1 over UDP, on top of `ecmp-router`'s routing
/// (`ECMPRouter.routing`, so the emulator's routing controller fills its routes). A switch is a
/// source, transit hop and sink at once; which role a packet meets is set by table entries:
///
/// - Source: a UDP packet without INT that arrives on a port facing hosts and matches the
///   watchlist (ternary on ingress port and 5-tuple) gets the shim and INT-MD header after its
///   UDP header, and then (like every INT packet this switch forwards) its first hop metadata.
/// - Transit: an INT packet leaving towards another switch gets this hop's metadata pushed on
///   top of the stack, in egress (where the queue values are known).
/// - Sink: an INT packet routed to a port facing hosts is multicast to {that port, the
///   collector's port}. The host's copy leaves with the INT headers and stack removed and the
///   original packet restored byte for byte (DSCP, lengths, checksums; TTL and MACs as
///   `ecmp-router` sets them); the collector's copy becomes a Telemetry Report v2.0 carrying the
///   sink's own metadata and the received packet, INT stack included, truncated.
///
/// Wire format (P4.org INT v2.1; bit 0 is the most significant):
///
///     Ethernet | IPv4 (DSCP 0x17) | UDP | shim (4 B) | INT-MD header (12 B) | stack | payload
///     shim        type 4 = 1 | npt 2 = 0 | r 2 | length 8 (words after the shim) | r 8 | original DSCP 6 | r 2
///     INT-MD      ver 4 = 2 | D E M | r 12 | hop_ml 5 | remaining hop count 8 | bitmap 16 | ds id 16 | ds instr 16 | ds flags 16
///     stack       newest hop first, hop_ml words each, in bitmap order
///
/// INT is detected by DSCP (the shim keeps the original DSCP, NPT 0), not by a UDP destination
/// port: the 5-tuple is unchanged, so ECMP hashes an INT packet exactly as the flow's other
/// packets and the path measured is the flow's path.
///
/// Per-hop metadata, by bitmap bit (all of the baseline; units are this target's):
///
///     0  node id                    int_config's node_id
///     1  level-1 ports              ingress port 16 | egress port 16
///     2  hop latency                ns from arrival at the port to leaving the queue
///     3  queue id 8 | occupancy 24  queue 0 (one queue a port) | bytes queued once the packet joined, itself included
///     4  ingress timestamp 64       ns (the emulator's virtual time; the XDP backend: microseconds of bpf_ktime_get_ns)
///     5  egress timestamp 64        ns, when the packet leaves the queue
///     6  level-2 ports              ingress 32 | egress 32 (the same port numbers)
///     7  tx utilization             bytes sent on the egress port, a counter that halves every 2^16 timestamp units (65.5 us in the emulator)
///     8  buffer id 8 | occupancy 24 buffer 0 (one a switch) | bytes in all the switch's queues when the packet leaves its queue (saturating)
///     9-14 reserved                 all ones (pushed only when a foreign source set them)
///     15 checksum complement        0 16 | ones' complement of the hop's other metadata
///
/// Values a target cannot observe read all ones (`optional`): hop latency, queue and buffer
/// occupancy and egress timestamp at XDP (which runs before any queue) and in the software runtime without
/// queues. The emulator provides them all.
///
/// Checksums: the source always sets bit 15, so every hop's metadata sums to ones' complement
/// zero and leaves the UDP checksum alone; the shim, the header and the length changes update
/// it incrementally (RFC 1624), so it is right at every hop, and the sink's removal restores
/// the original value exactly. A packet whose source did not set bit 15 leaves the sink with UDP
/// checksum 0 (none). UDP checksum 0 is left alone everywhere. The IPv4 header checksum is
/// recomputed by the deparser.
///
/// Hop rules: remaining hop count 0 pushes nothing and sets E; a push that would make the IPv4
/// packet longer than int_config's mtu pushes nothing and sets M; a hop that pushes nothing
/// does not decrement the remaining hop count. A source whose 16 header bytes would pass the
/// mtu does not insert INT.
///
/// Telemetry report (UDP to the collector, checksum 0; IPv4 from int_config's switch_ip, TTL
/// 64; Ethernet from the switch MAC):
///
///     group header       ver 4 = 2 | hw_id 6 = 0 | sequence 22 (per int_report seq index) | node id 32
///     individual report  rep_type 4 = 1 | in_type 4 = 3 (Ethernet) | report length 8 | md length 8 | D Q F I = 0 0 1 0 | r 4
///     INT contents       rep_md_bits 16 (the packet's bitmap, bits 1-8) | ds id 16 | ds md bits 16 = 0 | ds md status 16 = 0
///     metadata           the sink's own, per rep_md_bits (measured on the report copy's queue)
///     inner packet       the packet as this switch routed it (INT included), truncated to `keep` bytes
///
/// Report length counts the words after the individual report's first word; it is 0xFF ("to the
/// end") when the inner packet is not a whole number of words or the report exceeds 254 words.
///
/// Tables (entries files use these names):
///
///     int_config     no keys: set its default action   int_config(node_id: 32, switch_ip: 32, mtu: 16)
///     int_watchlist  standard.ingressPort, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ipv4.protocol,
///                    hdr.l4.srcPort, hdr.l4.dstPort: ternary
///                                                      int_source(bitmap: 16, hops: 8) | NoAction
///     int_sink       standard.egressSpec: exact        int_sink(group: 16) | NoAction
///     int_report     standard.egressRid: exact         int_report(mac: 48, ip: 32, port: 16, seq: 16, keep: 16) | drop   (egress)
///     ipv4_lpm, ecmp_nhop, switch_mac                  as in ecmp-router
///
///     table_set_default int_config int_config 1 10.0.255.1 1500
///     table_add int_watchlist int_source 1&&&0x1FF 10.0.0.0&&&0xFF000000 0&&&0 17&&&0xFF 0&&&0 0&&&0 => 0xFF80 8 10
///     table_add int_sink int_sink 1 => 1
///     mc_group_set 1 1:0 5:32768                    # host port 1 (rid 0), collector port 5 (rid bit 15 set)
///     table_add int_report int_report 32768 => 02:00:00:00:0c:01 10.0.9.9 32766 0 128
///
/// A sink's multicast group has the host's port with a replica id below 0x8000 and the
/// collector's port with one at or above it: the parser skips the stack of the first kind
/// (`Advance(bytes:)`), so that copy leaves without it.
public enum INTProgram {
    public static let name = "int-md"
    public static let summary = "INT-MD v2.1 over UDP (source, transit, sink) with Telemetry Report v2.0, on ecmp-router routing"

    /// The DSCP that marks INT packets (the spec's example value).
    public static let dscp: UInt64 = 0x17
    /// Replica ids from this one up are report copies.
    public static let reportRid: UInt64 = 0x8000

    /// One per-hop metadata instruction of the bitmap.
    public struct Instruction: Sendable {
        /// Bit 0 is the bitmap's most significant bit.
        public let bit: Int
        public let name: String
        public let type: String
        public let words: Int
        public var mask: UInt64 { 0x8000 >> UInt64(bit) }
    }

    public static let instructions: [Instruction] = [
        Instruction(bit: 0, name: "node", type: "int_word_t", words: 1),
        Instruction(bit: 1, name: "l1_ports", type: "int_ports_t", words: 1),
        Instruction(bit: 2, name: "latency", type: "int_word_t", words: 1),
        Instruction(bit: 3, name: "queue", type: "int_occupancy_t", words: 1),
        Instruction(bit: 4, name: "ingress_ts", type: "int_time_t", words: 2),
        Instruction(bit: 5, name: "egress_ts", type: "int_time_t", words: 2),
        Instruction(bit: 6, name: "l2_ports", type: "int_l2_ports_t", words: 2),
        Instruction(bit: 7, name: "tx_util", type: "int_word_t", words: 1),
        Instruction(bit: 8, name: "buffer", type: "int_occupancy_t", words: 1),
    ] + (9...14).map { Instruction(bit: $0, name: "reserved\($0)", type: "int_word_t", words: 1) }
        + [Instruction(bit: 15, name: "checksum", type: "int_checksum_t", words: 1)]

    /// The instructions a report's metadata carries (bits 1-8: the node id is in the group
    /// header, the complement does not apply).
    static var reported: [Instruction] { instructions.filter { (1...8).contains($0.bit) } }
    /// The bitmap bits the source accepts from the watchlist (then it adds bit 15).
    static let sourceBits: UInt64 = 0xFF80

    static func hop(_ i: Instruction) -> HeaderValue { hdr[dynamicMember: "int_hop_\(i.name)"] }
    static func report(_ i: Instruction) -> HeaderValue { hdr[dynamicMember: "report_md_\(i.name)"] }

    public static func program(routes: Int = 131_072, members: Int = 16_384, watchlist: Int = 1024) -> SwitchProgram {
        SwitchProgram(name, doc: summary) {
            Common.ethernetAndIPv4Types
            Common.l4PortsType
            Common.udpRestType
            types
            Header("ethernet", "ethernet_t")
            Header("ipv4", "ipv4_t")
            Header("l4", "l4_ports_t")
            Header("udp", "udp_rest_t")
            Header("int_shim", "int_shim_t")
            Header("int_md", "int_md_t")
            for i in instructions { Header("int_hop_\(i.name)", i.type) }
            Header("report_ethernet", "ethernet_t")
            Header("report_ipv4", "ipv4_t")
            Header("report_l4", "l4_ports_t")
            Header("report_udp", "udp_rest_t")
            Header("report_group", "report_group_t")
            Header("report_individual", "report_individual_t")
            Header("report_int", "report_int_t")
            for i in reported { Header("report_md_\(i.name)", i.type) }
            Metadata {
                Field("int_node_id", 32)
                Field("int_switch_ip", 32)
                Field("int_mtu", 16)
                Field("int_bitmap", 16)
                Field("int_hops", 8)
                Field("int_hop_ml", 5)
                Field("int_sink", 1)
                Field("int_bytes", 16)
                Field("int_tx", 32)
                Field("int_tx_last", 64)
                Field("int_report_mac", 48)
                Field("int_report_ip", 32)
                Field("int_report_port", 16)
                Field("int_report_seq", 16)
                Field("int_keep", 16)
                Field("int_seq", 32)
                Field("int_report_ml", 16)
            }
            parser
            ECMPRouter.routing(routes: routes, members: members)
            tables(watchlist: watchlist)
            Register("int_report_seq", width: 32, size: 256)
            Register("int_tx_bytes", width: 32, size: 512)
            Register("int_tx_time", width: 64, size: 512)
            Ingress {
                Apply("int_config")
                ECMPRouter.route
                If(standard.drop == 0) {
                    ingress
                }
            }
            Egress {
                txUtilization
                If(hdr.int_md.isValid) {
                    If(meta.int_sink == 1) {
                        If(standard.egressRid >= Value(UInt128(reportRid))) {
                            Apply("int_report", hit: { buildReport }, miss: { Drop() })
                        } else: {
                            strip
                        }
                    } else: {
                        push
                    }
                }
            }
            Deparser {
                UpdateChecksum(hdr.report_ipv4.hdrChecksum, over: hdr.report_ipv4)
                UpdateChecksum(hdr.ipv4.hdrChecksum, over: hdr.ipv4)
                Emit(hdr.report_ethernet)
                Emit(hdr.report_ipv4)
                Emit(hdr.report_l4)
                Emit(hdr.report_udp)
                Emit(hdr.report_group)
                Emit(hdr.report_individual)
                Emit(hdr.report_int)
                for i in reported { Emit(report(i)) }
                Emit(hdr.ethernet)
                Emit(hdr.ipv4)
                Emit(hdr.l4)
                Emit(hdr.udp)
                Emit(hdr.int_shim)
                Emit(hdr.int_md)
                for i in instructions { Emit(hop(i)) }
            }
        }
    }

    static var types: Components {
        Components {
            HeaderType("int_shim_t") {
                Field("type", 4)
                Field("npt", 2)
                Field("r0", 2)
                Field("length", 8)
                Field("r1", 8)
                Field("dscp", 6)
                Field("r2", 2)
            }
            HeaderType("int_md_t") {
                Field("version", 4)
                Field("d", 1)
                Field("e", 1)
                Field("m", 1)
                Field("reserved", 12)
                Field("hop_ml", 5)
                Field("remaining", 8)
                Field("bitmap", 16)
                Field("ds_id", 16)
                Field("ds_instruction", 16)
                Field("ds_flags", 16)
            }
            HeaderType("int_word_t") { Field("value", 32) }
            HeaderType("int_time_t") { Field("value", 64) }
            HeaderType("int_ports_t") {
                Field("ingress", 16)
                Field("egress", 16)
            }
            HeaderType("int_l2_ports_t") {
                Field("ingress", 32)
                Field("egress", 32)
            }
            HeaderType("int_occupancy_t") {
                Field("id", 8)
                Field("occupancy", 24)
            }
            HeaderType("int_checksum_t") {
                Field("zero", 16)
                Field("complement", 16)
            }
            HeaderType("report_group_t") {
                Field("version", 4)
                Field("hw_id", 6)
                Field("sequence", 22)
                Field("node_id", 32)
            }
            HeaderType("report_individual_t") {
                Field("rep_type", 4)
                Field("in_type", 4)
                Field("length", 8)
                Field("md_length", 8)
                Field("d", 1)
                Field("q", 1)
                Field("f", 1)
                Field("i", 1)
                Field("reserved", 4)
            }
            HeaderType("report_int_t") {
                Field("rep_md_bits", 16)
                Field("ds_id", 16)
                Field("ds_md_bits", 16)
                Field("ds_md_status", 16)
            }
        }
    }

    /// `ecmp-router`'s states, UDP on to the INT headers when the DSCP says so; the stack of a
    /// sink's host copy is skipped (removed).
    static var parser: Sluice.Parser {
        Parser {
            Common.ethernetStart()
            for state in AggregationParts.ipv4States { state }
            State("parse_udp") {
                Extract(hdr.l4)
                Extract(hdr.udp)
                Select(hdr.ipv4.diffserv[7, 2]) {
                    Case(Keyset(UInt128(dscp)), next: "parse_int_shim")
                    Default(next: "accept")
                }
            }
            State("parse_int_shim") {
                Extract(hdr.int_shim)
                Select(hdr.int_shim.type) {
                    Case(1, next: "parse_int_md")
                    Default(next: "accept")
                }
            }
            State("parse_int_md") {
                Extract(hdr.int_md)
                // A sink's copy for the host (egress sees int_sink and its replica id).
                Select(meta.int_sink ++ standard.egressRid[15, 15]) {
                    Case(2, next: "skip_int_stack")
                    Default(next: "accept")
                }
            }
            State("skip_int_stack") {
                Advance(bytes: (hdr.int_shim.length.cast(16) << 2) - 12)
                Accept()
            }
        }
    }

    static func tables(watchlist: Int) -> Components {
        Components {
            NoAction()
            Common.settings(table: "int_config", action: "int_config", [("node_id", 32, meta.int_node_id, 0),
                                                                        ("switch_ip", 32, meta.int_switch_ip, 0),
                                                                        ("mtu", 16, meta.int_mtu, 1500)])
            Action("int_source", Param("bitmap", 16), Param("hops", 8)) {
                Assign(meta.int_bitmap, (param.bitmap & Value(UInt128(sourceBits))) | 1)
                Assign(meta.int_hops, param.hops)
            }
            Table("int_watchlist") {
                Key(standard.ingressPort, .ternary)
                Key(hdr.ipv4.srcAddr, .ternary)
                Key(hdr.ipv4.dstAddr, .ternary)
                Key(hdr.ipv4.protocol, .ternary)
                Key(hdr.l4.srcPort, .ternary)
                Key(hdr.l4.dstPort, .ternary)
                Actions("int_source", "NoAction")
                DefaultAction("NoAction")
                Size(watchlist)
            }
            Action("int_sink", Param("group", 16)) {
                Assign(meta.int_sink, 1)
                Multicast(group: param.group)
            }
            Table("int_sink") {
                Key(standard.egressSpec, .exact)
                Actions("int_sink", "NoAction")
                DefaultAction("NoAction")
                Size(512)
            }
            Action("int_report", Param("mac", 48), Param("ip", 32), Param("port", 16), Param("seq", 16), Param("keep", 16)) {
                Assign(meta.int_report_mac, param.mac)
                Assign(meta.int_report_ip, param.ip)
                Assign(meta.int_report_port, param.port)
                Assign(meta.int_report_seq, param.seq)
                Assign(meta.int_keep, param.keep)
            }
            Table("int_report") {
                Key(standard.egressRid, .exact)
                Actions("int_report", "drop")
                DefaultAction("drop")
                Size(512)
            }
        }
    }

    // MARK: ingress

    /// After routing: the source inserts the INT headers; a sink port takes the packet.
    @StatementBuilder
    static var ingress: [Stmt] {
        If(hdr.udp.isValid && !hdr.int_shim.isValid) {
            Switch(apply: "int_watchlist") {
                On("int_source") {
                    If(hdr.ipv4.totalLen + 16 <= meta.int_mtu) {
                        insert
                    }
                }
            }
        }
        If(hdr.int_md.isValid) {
            Apply("int_sink")
        }
    }

    /// The source's shim and INT-MD header (no metadata yet: egress pushes this hop's).
    @StatementBuilder
    static var insert: [Stmt] {
        udpChecksum(from: [lengths], to: [lengths(plus: 16)])
        SetValid(hdr.int_shim)
        Assign(hdr.int_shim.type, 1)
        Assign(hdr.int_shim.length, 3)
        Assign(hdr.int_shim.dscp, hdr.ipv4.diffserv[7, 2])
        SetValid(hdr.int_md)
        Assign(hdr.int_md.version, 2)
        Assign(hdr.int_md.hop_ml, hopML(meta.int_bitmap))
        Assign(hdr.int_md.remaining, meta.int_hops)
        Assign(hdr.int_md.bitmap, meta.int_bitmap)
        udpChecksum(from: zeros, to: intHeaders)
        Assign(hdr.ipv4.diffserv, Value.bits(UInt128(dscp << 2), 8) | (hdr.ipv4.diffserv & 3))
        Assign(hdr.ipv4.totalLen, hdr.ipv4.totalLen + 16)
        Assign(hdr.udp.length, hdr.udp.length + 16)
    }

    /// Words per hop for a bitmap: the sum of its instructions' sizes.
    static func hopML(_ bitmap: Value) -> Value {
        instructions.map { i in bitmap[15 - i.bit, 15 - i.bit].cast(5) * Value(UInt128(i.words)) }.reduce(Value.bits(0, 5), +)
    }

    // MARK: egress

    /// `int_tx_bytes[port]`: bytes sent, halved every 2^16 timestamp units since the last packet.
    @StatementBuilder
    static var txUtilization: [Stmt] {
        let port = standard.egressPort.cast(32)
        let now = standard.ingressTimestamp.cast(64)
        RegisterAction("int_tx_time", index: port, result: meta.int_tx_last) { _ in now }
        let halvings = (now - meta.int_tx_last) >> 16
        let shift = mux(halvings > 31, Value.bits(31, 64), halvings).cast(32)
        RegisterAction("int_tx_bytes", index: port, result: meta.int_tx, returnsNew: true) { ($0 >> shift) + standard.packetLength }
    }

    /// Nanoseconds from arrival to leaving the queue (32 bits, wrapping as the timestamps do).
    static var latency: Value {
        standard.enqTimestamp - standard.ingressTimestamp[31, 0] + standard.deqTimedelta
    }

    /// This hop's value for an instruction into header `h` (which is set valid).
    @StatementBuilder
    static func fill(_ i: Instruction, _ h: HeaderValue) -> [Stmt] {
        SetValid(h)
        switch i.bit {
        case 0: Assign(h.value, meta.int_node_id)
        case 1, 6:
            let w = i.bit == 1 ? 16 : 32
            Assign(h.ingress, standard.ingressPort.cast(w))
            Assign(h.egress, standard.egressPort.cast(w))
        case 2: Assign(h.value, optional(latency, width: 32))
        case 3: Assign(h.occupancy, optional(standard.enqQdepth, width: 24))
        case 4: Assign(h.value, standard.ingressTimestamp.cast(64))
        case 5: Assign(h.value, optional(standard.ingressTimestamp.cast(64) + latency.cast(64), width: 64))
        case 7: Assign(h.value, meta.int_tx)
        case 8: Assign(h.occupancy, optional(mux(standard.deqBufferDepth > 0xFF_FFFF, Value.bits(0xFF_FFFF, 32), standard.deqBufferDepth), width: 24))
        case 15: Assign(h.zero, Value.bits(0, 16))
        default: Assign(h.value, Value.bits(0xFFFF_FFFF, 32))
        }
    }

    /// Transit (and the source's own hop): push this hop's metadata, or set E or M.
    @StatementBuilder
    static var push: [Stmt] {
        If(hdr.int_md.remaining == 0) {
            If(hdr.int_md.e == 0) {
                udpChecksum(from: [mdWord], to: [mdWord(e: Value.bits(1, 1))])
                Assign(hdr.int_md.e, 1)
            }
        } else: {
            Assign(meta.int_bytes, hdr.int_md.hop_ml.cast(16) << 2)
            If(hdr.ipv4.totalLen + meta.int_bytes > meta.int_mtu) {
                If(hdr.int_md.m == 0) {
                    udpChecksum(from: [mdWord], to: [mdWord(m: Value.bits(1, 1))])
                    Assign(hdr.int_md.m, 1)
                }
            } else: {
                for i in instructions {
                    If((hdr.int_md.bitmap & Value(UInt128(i.mask))) != 0) {
                        fill(i, hop(i))
                    }
                }
                // The hop's metadata sums to ones' complement zero: the UDP checksum stays right.
                UpdateChecksum(hdr.int_hop_checksum.complement, over: instructions.map(hop))
                udpChecksum(from: [lengths, shimWord, mdWord],
                            to: [lengths(plus: meta.int_bytes), shimWord(length: hdr.int_shim.length + hdr.int_md.hop_ml.cast(8)),
                                 mdWord(remaining: hdr.int_md.remaining - 1)])
                Assign(hdr.int_shim.length, hdr.int_shim.length + hdr.int_md.hop_ml.cast(8))
                Assign(hdr.int_md.remaining, hdr.int_md.remaining - 1)
                Assign(hdr.ipv4.totalLen, hdr.ipv4.totalLen + meta.int_bytes)
                Assign(hdr.udp.length, hdr.udp.length + meta.int_bytes)
            }
        }
    }

    /// The sink's copy for the host: the parser skipped the stack; drop the shim and header and
    /// restore the DSCP, the lengths and the UDP checksum.
    @StatementBuilder
    static var strip: [Stmt] {
        Assign(meta.int_bytes, (hdr.int_shim.length.cast(16) << 2) + 4)
        If((hdr.int_md.bitmap & 1) != 0) {
            udpChecksum(from: [lengths] + intHeaders, to: [lengths(plus: -meta.int_bytes)] + zeros)
        } else: {
            Assign(hdr.udp.checksum, 0)
        }
        Assign(hdr.ipv4.diffserv, hdr.int_shim.dscp ++ hdr.ipv4.diffserv[1, 0])
        Assign(hdr.ipv4.totalLen, hdr.ipv4.totalLen - meta.int_bytes)
        Assign(hdr.udp.length, hdr.udp.length - meta.int_bytes)
        SetInvalid(hdr.int_shim)
        SetInvalid(hdr.int_md)
    }

    /// The sink's copy for the collector: a Telemetry Report around the received packet.
    @StatementBuilder
    static var buildReport: [Stmt] {
        let bitmap = hdr.int_md.bitmap & 0x7F80
        Assign(meta.int_report_ml, hopML(bitmap).cast(16))
        for i in reported {
            If((bitmap & Value(UInt128(i.mask))) != 0) {
                fill(i, report(i))
            }
        }
        let mdBytes = meta.int_report_ml << 2
        let inner = hdr.ipv4.totalLen + 14
        Assign(meta.int_keep, mux(inner < meta.int_keep, inner, meta.int_keep))
        SetValid(hdr.report_ethernet)
        Assign(hdr.report_ethernet.dstAddr, meta.int_report_mac)
        Assign(hdr.report_ethernet.srcAddr, meta.switch_mac)
        Assign(hdr.report_ethernet.etherType, Value(UInt128(Common.etherTypeIPv4)))
        SetValid(hdr.report_ipv4)
        Assign(hdr.report_ipv4.version, 4)
        Assign(hdr.report_ipv4.ihl, 5)
        Assign(hdr.report_ipv4.totalLen, 48 + mdBytes + meta.int_keep)
        Assign(hdr.report_ipv4.ttl, 64)
        Assign(hdr.report_ipv4.protocol, 17)
        Assign(hdr.report_ipv4.srcAddr, meta.int_switch_ip)
        Assign(hdr.report_ipv4.dstAddr, meta.int_report_ip)
        SetValid(hdr.report_l4)
        Assign(hdr.report_l4.srcPort, meta.int_report_port)
        Assign(hdr.report_l4.dstPort, meta.int_report_port)
        SetValid(hdr.report_udp)
        Assign(hdr.report_udp.length, 28 + mdBytes + meta.int_keep)
        SetValid(hdr.report_group)
        Assign(hdr.report_group.version, 2)
        RegisterAction("int_report_seq", index: meta.int_report_seq.cast(32), result: meta.int_seq) { $0 + 1 }
        Assign(hdr.report_group.sequence, meta.int_seq[21, 0])
        Assign(hdr.report_group.node_id, meta.int_node_id)
        SetValid(hdr.report_individual)
        Assign(hdr.report_individual.rep_type, 1)
        Assign(hdr.report_individual.in_type, 3)
        let words = (8 + mdBytes + meta.int_keep) >> 2
        Assign(hdr.report_individual.length,
               mux((meta.int_keep & 3) == 0 && words <= 254, words, Value.bits(0xFF, 16)).cast(8))
        Assign(hdr.report_individual.md_length, meta.int_report_ml.cast(8))
        Assign(hdr.report_individual.f, 1)
        SetValid(hdr.report_int)
        Assign(hdr.report_int.rep_md_bits, bitmap)
        Assign(hdr.report_int.ds_id, hdr.int_md.ds_id)
        Truncate(length: 62 + mdBytes + meta.int_keep)
    }

    // MARK: checksum pieces

    /// Incremental UDP checksum updates for values changing from `old` to `new` (pairwise, each
    /// a multiple of 16 bits), unless the packet has no UDP checksum. A computed checksum is
    /// never 0 (that means none): ones' complement zero is sent as 0xFFFF.
    @StatementBuilder
    static func udpChecksum(from old: [Value], to new: [Value]) -> [Stmt] {
        If(hdr.udp.checksum != 0) {
            for (o, n) in zip(old, new) {
                IncrementalChecksum(hdr.udp.checksum, old: o, new: n)
            }
            If(hdr.udp.checksum == 0) {
                Assign(hdr.udp.checksum, 0xFFFF)
            }
        }
    }

    /// The UDP length twice: in the pseudo-header and in the UDP header.
    static var lengths: Value { hdr.udp.length ++ hdr.udp.length }
    static func lengths(plus n: Value) -> Value { (hdr.udp.length + n) ++ (hdr.udp.length + n) }

    /// The shim's first 16 bits (type, NPT, length) with `length`.
    static var shimWord: Value { shimWord(length: hdr.int_shim.length) }
    static func shimWord(length: Value) -> Value {
        hdr.int_shim.type ++ hdr.int_shim.npt ++ hdr.int_shim.r0 ++ length
    }

    /// The INT-MD header's first word with the given E, M and remaining hop count.
    static var mdWord: Value { mdWord() }
    static func mdWord(e: Value = hdr.int_md.e, m: Value = hdr.int_md.m, remaining: Value = hdr.int_md.remaining) -> Value {
        let md = hdr.int_md
        return md.version ++ md.d ++ e ++ m ++ md.reserved ++ md.hop_ml ++ remaining
    }

    /// The shim and the INT-MD header, as two 64-bit values (the widest an incremental update
    /// takes on every backend), and zeros in their place.
    static var intHeaders: [Value] {
        let s = hdr.int_shim, md = hdr.int_md
        return [s.type ++ s.npt ++ s.r0 ++ s.length ++ s.r1 ++ s.dscp ++ s.r2
                    ++ md.version ++ md.d ++ md.e ++ md.m ++ md.reserved ++ md.hop_ml ++ md.remaining,
                md.bitmap ++ md.ds_id ++ md.ds_instruction ++ md.ds_flags]
    }
    static var zeros: [Value] { [Value.bits(0, 64), Value.bits(0, 64)] }
}
