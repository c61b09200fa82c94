import Sluice
import SluiceIR

/// `conga`: CONGA (SIGCOMM 2014) on `ecmp-router`: leaves learn how congested each path to
/// every other leaf is from feedback carried in the data, and send each new flowlet to the
/// uplink that minimizes `max(local DRE of the uplink, remote metric of the path)`.
///
/// Overlay: the source leaf puts a 6-byte shim between the IPv4 header and the transport
/// header of every packet it sends to another leaf, with IP protocol 253 (RFC 3692's for
/// experiments) and the IPv4 total length 6 bytes longer; the destination leaf removes it, so
/// hosts never see it. (CONGA carries the same fields in VXLAN; this shim is the smallest
/// header that does.) The shim goes after IPv4, not before it, so the fabric's ECN marking
/// still finds the IPv4 header (a header before IPv4 hid it: DCTCP got no marks and queues
/// grew to their limits). Fabric links need an MTU 6 bytes above the hosts'.
///
///     Ethernet | IPv4 (protocol 253) | conga_t | UDP or TCP ...
///     conga_t  lb_tag 4 | ce 3 | fb_lb_tag 4 | fb_metric 3 | reserved 6 | src_leaf 12 | protocol 8 | reserved 8
///
/// - `lb_tag`: the source leaf's uplink (member of its uplink group) the packet left by.
/// - `ce`: the path's congestion, `max` over the ports it leaves by of their 3-bit DRE metric:
///   the source leaf's uplink, then each spine's port, written in the egress stage.
/// - `fb_lb_tag`, `fb_metric`: feedback for the destination leaf about its own paths to the
///   source leaf: one entry of the source's congestion-from-leaf table a packet, round robin
///   over the destination leaf's uplinks (its LBTags: `conga_leaf_uplinks[dst]`, which differs
///   from this leaf's count when a link failed).
/// - `src_leaf`: the source leaf's id (1 ...); `protocol`: the packet's own IP protocol.
///
/// Tables per leaf (registers, `leaves x 16` cells, index `leaf << 4 | uplink`):
/// `conga_to_leaf` (congestion to a leaf by my uplink: the feedback received) and
/// `conga_from_leaf` (congestion from a leaf by its uplink: the `ce` received, fed back).
///
/// Aging: a path nobody uses gets no `ce`, so its entries would keep the last (congested) value
/// and the path would never be tried again. So entries age: one not updated for
/// `age` ns counts as 0, both when it is fed back and when it is compared. The default, 100 us
/// (one flowlet timeout): a path in use is refreshed by its own packets far more often, so an
/// entry that old describes a path nobody has sent on for a flowlet gap, and the next flowlet
/// may try it again. A longer age keeps flowlets off a path for longer after it drained.
///
/// Choosing: a group route at a leaf to a host of another leaf picks, for a new flowlet
/// (`FlowletParts`, default timeout 100 us), the member `i < count` of the route's group with
/// the least `max(local, remote)`, scanning from a pseudo-random start (a CRC-32 of the
/// 5-tuple and the clock, as in `flowlet`) so that ties spread. Both are compared at 8 bits:
/// local is the 8-bit DRE metric of the member's port, remote the 3-bit
/// `conga_to_leaf[dst][its uplink]` shifted up by 5 (on the same scale: a 3-bit metric is the
/// 8-bit one without its low 5 bits). Only the header needs 3 bits; comparing the local
/// estimate finer lets flowlets that start together (a collective's ranks) see the uplinks the
/// ones before them just took: one 4 KB packet reads 3 at 8 bits but 0, like an idle port, at
/// 3 bits, so they all drew among "idle" uplinks and collided as often as ECMP. Up to
/// `uplinks` members (default 8) are compared. Members and uplinks are told apart because a
/// group may hold only some of the uplinks (a failed link leaves some leaves with fewer).
///
/// Tables and registers (`CONGASetup` in `SluiceML` fills them from a topology):
///
///     conga_config  no keys: default action    set_conga(leaf: 12, uplinks: 8, age: 48)
///                   leaf 0: a spine; uplinks: the feedback's round robin for a leaf without a
///                   `conga_leaf_uplinks` count; age: ns (default 100 us)
///     conga_leaf    hdr.ipv4.dstAddr: lpm      set_dst_leaf(leaf: 12)
///     flowlet_config, dre_config                as in `FlowletParts`, `RateEstimator`
///     ipv4_lpm, ecmp_nhop, switch_mac           as in ecmp-router
///     registers  conga_uplink[port] = uplink + 1 (0: not an uplink),
///                conga_member_port[group << 4 | member] = the member's port,
///                conga_leaf_uplinks[leaf] = that leaf's uplink count (0: this leaf's),
///                conga_fb_next[leaf], conga_to_leaf, conga_from_leaf, their `_time` (ns of
///                the last update), dre_rate_shift[port]
public enum CONGA {
    public static let name = "conga"
    public static let summary = "CONGA: leaf-to-leaf congestion feedback in an overlay header; flowlets take the least congested uplink"

    /// The IP protocol of a packet carrying the shim.
    public static let ipProtocol: UInt64 = 253
    /// 100 us: a metric not refreshed for this long counts as 0 (see Aging).
    public static let defaultAge: UInt64 = 100_000

    /// Bytes the overlay adds between leaves.
    public static let headerBytes = 6

    public static func program(routes: Int = 131_072, members: Int = 16_384, slots: Int = 65_536, leaves: Int = 256,
                               groups: Int = 256, uplinks: Int = 8, timeout: UInt64 = FlowletParts.defaultTimeout) -> SwitchProgram {
        precondition((1...16).contains(uplinks), "conga: uplinks = \(uplinks); valid: 1 ... 16 (4-bit LBTag)")
        precondition((1...4096).contains(leaves) && (1...4096).contains(groups), "conga: leaves and groups: 1 ... 4096")
        let cells = leaves * 16
        func cell(_ leaf: Value, _ uplink: Value) -> Value { (leaf.cast(16) << 4) | uplink.cast(16) }
        return SwitchProgram(name, doc: summary) {
            Common.ethernetAndIPv4Types
            Common.l4PortsType
            HeaderType("conga_t") {
                Field("lb_tag", 4)
                Field("ce", 3)
                Field("fb_lb_tag", 4)
                Field("fb_metric", 3)
                Field("reserved", 6)
                Field("src_leaf", 12)
                Field("protocol", 8)
                Field("reserved2", 8)
            }
            Header("ethernet", "ethernet_t")
            Header("ipv4", "ipv4_t")
            Header("conga", "conga_t")
            Header("l4", "l4_ports_t")
            Parser {
                Common.ethernetStart()
                // As Common.ipv4AndPortsStates, plus the shim (protocol 253) before the ports.
                State("parse_ipv4") {
                    Extract(hdr.ipv4)
                    Select(hdr.ipv4.fragOffset ++ hdr.ipv4.ihl ++ hdr.ipv4.protocol) {
                        Case(Keyset(UInt128(5 << 8 | 6)), next: "parse_l4")
                        Case(Keyset(UInt128(5 << 8 | 17)), next: "parse_l4")
                        Case(Keyset(UInt128(5 << 8 | ipProtocol)), next: "parse_conga")
                        Default(next: "accept")
                    }
                }
                State("parse_conga") {
                    Extract(hdr.conga)
                    Select(hdr.conga.protocol) {
                        Case(Keyset(6), next: "parse_l4")
                        Case(Keyset(17), next: "parse_l4")
                        Default(next: "accept")
                    }
                }
                State("parse_l4") {
                    Extract(hdr.l4)
                    Accept()
                }
            }
            Metadata {
                Field("conga_leaf", 12)
                Field("conga_uplinks", 8)
                Field("conga_age", 48)
                Field("conga_t", 48)
                Field("conga_dst_leaf", 12)
                Field("conga_count", 16)
                Field("conga_start", 16)
                Field("conga_i", 16)
                Field("conga_port", 16)
                Field("conga_local", 8)
                Field("conga_remote", 3)
                Field("conga_best", 16)
                Field("conga_up", 8)
                Field("conga_in_up", 8)
                Field("conga_out_up", 8)
                Field("conga_fb", 8)
                Field("conga_metric", 3)
                Field("conga_dst_uplinks", 8)
            }
            FlowletParts.declarations(slots: slots, timeout: timeout)
            RateEstimator.declarations
            Register("conga_uplink", width: 8, size: RateEstimator.ports)
            Register("conga_member_port", width: 16, size: groups * 16)
            Register("conga_fb_next", width: 8, size: leaves)
            Register("conga_leaf_uplinks", width: 8, size: leaves)
            Register("conga_to_leaf", width: 3, size: cells)
            Register("conga_from_leaf", width: 3, size: cells)
            Register("conga_to_leaf_time", width: 48, size: cells)
            Register("conga_from_leaf_time", width: 48, size: cells)
            Common.settings(table: "conga_config", action: "set_conga", [("leaf", 12, meta.conga_leaf, 0),
                                                                         ("uplinks", 8, meta.conga_uplinks, UInt128(uplinks)),
                                                                         ("age", 48, meta.conga_age, UInt128(defaultAge))])
            Common.destinationSwitch(table: "conga_leaf", action: "set_dst_leaf", param: "leaf", width: 12,
                                     into: meta.conga_dst_leaf, size: leaves * 64)
            ECMPRouter.routing(routes: routes, members: members) { count in
                If(meta.conga_leaf != 0 && meta.conga_dst_leaf != 0 && meta.conga_dst_leaf != meta.conga_leaf
                   && !hdr.conga.isValid) {
                    Assign(meta.conga_start, ECMPRouter.scaled(meta.flowlet_draw, onto: count))
                    Assign(meta.conga_best, 0xFFFF)
                    for j in 0..<uplinks {
                        If(Value(UInt128(j)) < count) {
                            Assign(meta.conga_i, meta.conga_start + Value(UInt128(j)))
                            If(meta.conga_i >= count) {
                                Assign(meta.conga_i, meta.conga_i - count)
                            }
                            RegisterRead("conga_member_port", index: cell(meta.ecmp_group, meta.conga_i), into: meta.conga_port)
                            RegisterRead("conga_uplink", index: meta.conga_port, into: meta.conga_up)
                            // The local estimate at 8 bits (a 3-bit metric m is 8-bit m << 5):
                            // flowlets starting together see the uplinks the ones before them
                            // just took, which a 3-bit metric still reads as idle.
                            RateEstimator.metric(port: meta.conga_port, bits: 8, into: meta.conga_local)
                            Assign(meta.conga_remote, 0)
                            If(meta.conga_up != 0) {
                                RegisterRead("conga_to_leaf", index: cell(meta.conga_dst_leaf, meta.conga_up - 1), into: meta.conga_remote)
                                RegisterRead("conga_to_leaf_time", index: cell(meta.conga_dst_leaf, meta.conga_up - 1), into: meta.conga_t)
                                If(meta.dre_now - meta.conga_t > meta.conga_age) {
                                    Assign(meta.conga_remote, 0)
                                }
                            }
                            If(meta.conga_remote.cast(8) << 5 > meta.conga_local) {
                                Assign(meta.conga_local, meta.conga_remote.cast(8) << 5)
                            }
                            If(meta.conga_local.cast(16) < meta.conga_best) {
                                Assign(meta.conga_best, meta.conga_local.cast(16))
                                Assign(meta.flowlet_candidate, meta.conga_i)
                            }
                        }
                    }
                } else: {
                    ECMPRouter.hashMember(count: count)
                    Assign(meta.flowlet_candidate, meta.ecmp_member)
                }
                FlowletParts.member(count: count)
            }
            Ingress {
                RateEstimator.prepare
                Apply("conga_config")
                ECMPRouter.route {
                    FlowletParts.prepare(slots: slots)
                    Apply("conga_leaf")
                }
                If(meta.conga_leaf != 0 && hdr.ipv4.isValid) {
                    RegisterRead("conga_uplink", index: standard.ingressPort, into: meta.conga_in_up)
                    RegisterRead("conga_uplink", index: standard.egressSpec, into: meta.conga_out_up)
                    If(!hdr.conga.isValid && meta.conga_in_up == 0 && meta.conga_out_up != 0
                       && meta.conga_dst_leaf != 0 && meta.conga_dst_leaf != meta.conga_leaf) {
                        encapsulate(cell)
                    }
                    If(hdr.conga.isValid && meta.conga_out_up == 0) {
                        decapsulate(cell)
                    }
                }
            }
            Egress {
                RateEstimator.update(port: standard.egressPort, bytes: standard.packetLength)
                If(hdr.conga.isValid) {
                    RateEstimator.metric(port: standard.egressPort, bits: 3, into: meta.conga_metric)
                    If(meta.conga_metric > hdr.conga.ce) {
                        Assign(hdr.conga.ce, meta.conga_metric)
                    }
                }
            }
            Deparser {
                UpdateChecksum(hdr.ipv4.hdrChecksum, over: hdr.ipv4)
                Emit(hdr.ethernet)
                Emit(hdr.ipv4)
                Emit(hdr.conga)
                Emit(hdr.l4)
            }
        }
    }

    /// The source leaf: add the overlay, with this leaf's id, the uplink taken and one
    /// feedback entry for the destination leaf.
    @StatementBuilder
    static func encapsulate(_ cell: (Value, Value) -> Value) -> [Stmt] {
        SetValid(hdr.conga)
        Assign(hdr.conga.lb_tag, (meta.conga_out_up - 1).cast(4))
        Assign(hdr.conga.ce, 0)
        Assign(hdr.conga.reserved, 0)
        Assign(hdr.conga.reserved2, 0)
        Assign(hdr.conga.src_leaf, meta.conga_leaf)
        Assign(hdr.conga.protocol, hdr.ipv4.protocol)
        Assign(hdr.ipv4.protocol, Value(UInt128(ipProtocol)))
        Assign(hdr.ipv4.totalLen, hdr.ipv4.totalLen + Value(UInt128(headerBytes)))
        // Round robin over the destination leaf's uplinks (its LBTags), not this leaf's: with a
        // failed link the two differ.
        RegisterRead("conga_leaf_uplinks", index: meta.conga_dst_leaf, into: meta.conga_dst_uplinks)
        If(meta.conga_dst_uplinks == 0) {
            Assign(meta.conga_dst_uplinks, meta.conga_uplinks)
        }
        RegisterAction("conga_fb_next", index: meta.conga_dst_leaf, result: meta.conga_fb) { old in
            mux(old + 1 >= meta.conga_dst_uplinks, Value.bits(0, 8), old + 1)
        }
        Assign(hdr.conga.fb_lb_tag, meta.conga_fb.cast(4))
        RegisterRead("conga_from_leaf", index: cell(meta.conga_dst_leaf, meta.conga_fb), into: hdr.conga.fb_metric)
        RegisterRead("conga_from_leaf_time", index: cell(meta.conga_dst_leaf, meta.conga_fb), into: meta.conga_t)
        If(meta.dre_now - meta.conga_t > meta.conga_age) {
            Assign(hdr.conga.fb_metric, 0)
        }
    }

    /// The destination leaf: learn from the overlay, then remove it.
    @StatementBuilder
    static func decapsulate(_ cell: (Value, Value) -> Value) -> [Stmt] {
        RegisterWrite("conga_from_leaf", index: cell(hdr.conga.src_leaf, hdr.conga.lb_tag), hdr.conga.ce)
        RegisterWrite("conga_to_leaf", index: cell(hdr.conga.src_leaf, hdr.conga.fb_lb_tag), hdr.conga.fb_metric)
        RegisterWrite("conga_from_leaf_time", index: cell(hdr.conga.src_leaf, hdr.conga.lb_tag), meta.dre_now)
        RegisterWrite("conga_to_leaf_time", index: cell(hdr.conga.src_leaf, hdr.conga.fb_lb_tag), meta.dre_now)
        Assign(hdr.ipv4.protocol, hdr.conga.protocol)
        Assign(hdr.ipv4.totalLen, hdr.ipv4.totalLen - Value(UInt128(headerBytes)))
        SetInvalid(hdr.conga)
    }
}
