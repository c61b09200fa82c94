import Sluice
import SluiceIR

/// `hula`: HULA (SOSR 2016) on `ecmp-router`: top-of-rack switches (ToRs) learn, from probes,
/// the uplink whose path to each other ToR is least utilized, and new flowlets take it.
///
/// Probes: a host agent on one host per ToR (`SluiceML`'s `HULAProbeAgent`) sends a UDP
/// datagram to port `probePort` every probe period. Its ToR turns it into a probe: writes its
/// ToR id and a utilization of 0, and multicasts it to its uplinks (group `probeGroup`). A
/// spine raises the probe's utilization to that of the port it came in on (the port data to
/// that ToR leaves by) and multicasts it to every ToR (group `probeGroup`). A ToR receiving a
/// probe of another ToR `t` on uplink `p` raises it the same way to `u`, then takes `p` as
/// `t`'s best hop when `u` is below the path utilization it has for `t`, when `p` already is
/// the best hop (its utilization is refreshed, up or down), or when its entry has aged (no
/// update for `aging` ns, default 4 probe periods of 10 us: the path behind the best hop went
/// quiet, so any probe replaces it). The probe ends there (dropped).
///
///     Ethernet | IPv4 | UDP (dst port 0x4855) | hula_t
///     hula_t   tor 16 | util 8 | reserved 8      (4 bytes; the agent sends zeros)
///
/// The UDP checksum of a probe is 0 (none): every hop rewrites the probe.
///
/// Data: a group route at a ToR looks up the destination's ToR (`hula_tor`); a new flowlet
/// takes the member of the route's group on that ToR's best hop, and an unknown ToR, a ToR without a best hop yet, or a best hop
/// outside the group, the ECMP hash. Flowlets as in `flowlet` (`FlowletParts`).
///
/// Timing: HULA probes every few hundred microseconds at 10 Gb/s with the estimator's time
/// constant about twice the probe period; at 100 Gb/s the defaults are a 10 us period and the
/// estimator's 16 us.
///
/// Utilization: the egress `RateEstimator` of each port, as an 8-bit metric (`u` up to 255;
/// 100 to 200 at line rate with the defaults).
///
/// Tables and registers (`HULASetup` in `SluiceML` fills them from a topology):
///
///     hula_config   no keys: default action    set_hula(tor: 16, aging: 48)     tor 0: a spine
///     hula_tor      hdr.ipv4.dstAddr: lpm      set_dst_tor(tor: 16)
///     flowlet_config, dre_config                as in `FlowletParts`, `RateEstimator`
///     ipv4_lpm, ecmp_nhop, switch_mac           as in ecmp-router
///     registers  hula_uplink[port] = uplink + 1 (0: not an uplink),
///                hula_member[group << 4 | uplink] = member + 1 of that group (0: not in it),
///                hula_best_hop[tor] = uplink + 1 (0: none), hula_path_util[tor],
///                hula_updated[tor] (ns), dre_rate_shift[port]
///     multicast  group 0x4855: a ToR's uplinks; a spine's ToR ports
public enum HULA {
    public static let name = "hula"
    public static let summary = "HULA: probes carry path utilization; ToRs send each new flowlet to the best hop per destination ToR"

    public static let probePort: UInt16 = 0x4855
    public static let probeGroup: UInt16 = 0x4855
    public static let defaultProbePeriod: Int64 = 10_000_000      // ps (10 us)
    public static let defaultAging: UInt64 = 40_000               // ns (4 periods)

    public static func program(routes: Int = 131_072, members: Int = 16_384, slots: Int = 65_536, tors: Int = 4096, groups: Int = 256,
                               timeout: UInt64 = FlowletParts.defaultTimeout) -> SwitchProgram {
        SwitchProgram(name, doc: summary) {
            Common.ethernetAndIPv4Types
            Common.l4PortsType
            HeaderType("udp_rest_t") {
                Field("length", 16)
                Field("checksum", 16)
            }
            HeaderType("hula_t") {
                Field("tor", 16)
                Field("util", 8)
                Field("reserved", 8)
            }
            Header("ethernet", "ethernet_t")
            Header("ipv4", "ipv4_t")
            Header("l4", "l4_ports_t")
            Header("udp", "udp_rest_t")
            Header("hula", "hula_t")
            Parser {
                Common.ethernetStart()
                for state in AggregationParts.ipv4States { state }
                State("parse_udp") {
                    Extract(hdr.l4)
                    Select(hdr.l4.dstPort) {
                        Case(Keyset(UInt128(probePort)), next: "parse_hula")
                        Default(next: "accept")
                    }
                }
                State("parse_hula") {
                    Extract(hdr.udp)
                    Extract(hdr.hula)
                    Accept()
                }
            }
            Metadata {
                Field("hula_tor", 16)
                Field("hula_aging", 48)
                Field("hula_dst_tor", 16)
                Field("hula_in_up", 16)
                Field("hula_util", 8)
                Field("hula_best", 16)
                Field("hula_member", 16)
                Field("hula_path", 8)
                Field("hula_time", 48)
            }
            FlowletParts.declarations(slots: slots, timeout: timeout)
            RateEstimator.declarations
            Register("hula_uplink", width: 16, size: RateEstimator.ports)
            Register("hula_member", width: 16, size: groups * 16)
            Register("hula_best_hop", width: 16, size: tors)
            Register("hula_path_util", width: 8, size: tors)
            Register("hula_updated", width: 48, size: tors)
            Common.settings(table: "hula_config", action: "set_hula", [("tor", 16, meta.hula_tor, 0),
                                                                       ("aging", 48, meta.hula_aging, UInt128(defaultAging))])
            Common.destinationSwitch(table: "hula_tor", action: "set_dst_tor", param: "tor", width: 16,
                                     into: meta.hula_dst_tor, size: tors * 4)
            ECMPRouter.routing(routes: routes, members: members) { count in
                ECMPRouter.hashMember(count: count)
                Assign(meta.flowlet_candidate, meta.ecmp_member)
                If(meta.hula_tor != 0 && meta.hula_dst_tor != 0 && meta.hula_dst_tor != meta.hula_tor) {
                    RegisterRead("hula_best_hop", index: meta.hula_dst_tor, into: meta.hula_best)
                    If(meta.hula_best != 0) {
                        RegisterRead("hula_member", index: (meta.ecmp_group.cast(20) << 4) | (meta.hula_best - 1).cast(20),
                                     into: meta.hula_member)
                        If(meta.hula_member != 0 && meta.hula_member <= count) {
                            Assign(meta.flowlet_candidate, meta.hula_member - 1)
                        }
                    }
                }
                FlowletParts.member(count: count)
            }
            Ingress {
                RateEstimator.prepare
                Apply("hula_config")
                If(hdr.hula.isValid) {
                    probe
                } else: {
                    ECMPRouter.route {
                        FlowletParts.prepare(slots: slots)
                        Apply("hula_tor")
                    }
                }
            }
            Egress {
                RateEstimator.update(port: standard.egressPort, bytes: standard.packetLength)
            }
            AggregationParts.deparser([hdr.hula])
        }
    }

    /// Ingress for a probe (see the type's documentation).
    @StatementBuilder
    static var probe: [Stmt] {
        // Every hop rewrites the probe: it carries no UDP checksum.
        Assign(hdr.udp.checksum, 0)
        RegisterRead("hula_uplink", index: standard.ingressPort, into: meta.hula_in_up)
        If(meta.hula_tor != 0 && meta.hula_in_up == 0) {
            // From the agent below this ToR: a new probe, up every uplink.
            Assign(hdr.hula.tor, meta.hula_tor)
            Assign(hdr.hula.util, 0)
            Multicast(group: Value(UInt128(probeGroup)))
            Exit()
        }
        RateEstimator.metric(port: standard.ingressPort, bits: 8, into: meta.hula_util)
        If(meta.hula_util > hdr.hula.util) {
            Assign(hdr.hula.util, meta.hula_util)
        }
        If(meta.hula_tor == 0) {
            // A spine: on to every ToR (its own comes back to it and is dropped there).
            Multicast(group: Value(UInt128(probeGroup)))
            Exit()
        }
        Drop()
        If(hdr.hula.tor != meta.hula_tor) {
            RegisterRead("hula_best_hop", index: hdr.hula.tor, into: meta.hula_best)
            RegisterRead("hula_path_util", index: hdr.hula.tor, into: meta.hula_path)
            RegisterRead("hula_updated", index: hdr.hula.tor, into: meta.hula_time)
            If(meta.hula_best == 0 || hdr.hula.util < meta.hula_path || meta.hula_best == meta.hula_in_up
               || meta.dre_now - meta.hula_time > meta.hula_aging) {
                RegisterWrite("hula_best_hop", index: hdr.hula.tor, meta.hula_in_up)
                RegisterWrite("hula_path_util", index: hdr.hula.tor, hdr.hula.util)
                RegisterWrite("hula_updated", index: hdr.hula.tor, meta.dre_now)
            }
        }
    }
}
