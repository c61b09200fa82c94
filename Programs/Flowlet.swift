import Sluice
import SluiceIR

/// `flowlet`: LetFlow (NSDI 2017) on `ecmp-router`: a group route sends each flowlet, not each
/// flow, to a member of the group. A flow keeps its member while its packets are less than the
/// flowlet timeout apart (`FlowletParts`, default 100 us) and takes a new pseudo-random member
/// after a longer gap. LetFlow's point is that this needs no congestion signal: a flow on a
/// congested path slows down, its gaps grow, so it leaves that path more often than flows on
/// idle paths do.
///
/// Tables: `ecmp-router`'s (`ipv4_lpm`, `ecmp_nhop`, `switch_mac`, filled by the emulator's
/// routing controller), plus `flowlet_config` (the timeout). Register: `flowlet`.
///
/// Choices:
/// - The new member is `ECMPRouter.scaled(crc32(5-tuple ++ ingress timestamp)[15:0], count)`
///   (`FlowletParts.draw`),
///   not the `random` expression. LetFlow wants a random choice; the hash is random enough
///   (flows differ by their 5-tuple, flowlets of one flow by their start time) and is a
///   function of the packet and the clock only. `random` draws from each target's own
///   generator, so the runtime and the kernel would pick different members for the same
///   packets and differential conformance (same packets in, same packets out, with a test
///   clock) could not hold.
/// - Non-group routes (`forward`) do not touch the flowlet table.
public enum Flowlet {
    public static let name = "flowlet"
    public static let summary = "LetFlow: ecmp-router whose groups pick a pseudo-random member per flowlet (gap > timeout, default 100 us)"

    /// `slots` flowlet cells (a power of two); routes and members as in `ecmp-router`.
    public static func program(routes: Int = 131_072, members: Int = 16_384, slots: Int = 65_536,
                               timeout: UInt64 = FlowletParts.defaultTimeout) -> SwitchProgram {
        SwitchProgram(name, doc: summary) {
            ECMPRouter.headers
            FlowletParts.declarations(slots: slots, timeout: timeout)
            ECMPRouter.routing(routes: routes, members: members) { count in
                Assign(meta.flowlet_candidate, ECMPRouter.scaled(meta.flowlet_draw, onto: count))
                FlowletParts.member(count: count)
            }
            Ingress {
                ECMPRouter.route {
                    FlowletParts.prepare(slots: slots)
                }
            }
            ECMPRouter.deparser
        }
    }
}
