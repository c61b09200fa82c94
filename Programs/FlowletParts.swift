import Sluice
import SluiceIR

/// The flowlet table `flowlet`, `conga` and `hula` share: which member of its ECMP group a flow
/// uses, kept while the flow's packets come closer together than the flowlet timeout, and
/// chosen afresh (by the program) after a longer gap. A gap longer than the difference in delay
/// between the paths lets the next packets take another path without overtaking the ones
/// before them, so a flow moves between paths without being reordered.
///
/// State: register `flowlet` (64 bits a cell, `slots` cells, indexed by the low bits of a
/// CRC-32 of the 5-tuple): `last seen (48 bits, ns) ++ member + 1 (16 bits)`, 0 = empty. One
/// read-modify-write per packet, so the check and the update cannot interleave.
///
/// The timeout is the default action of the keyless table `flowlet_config` (like `switch_mac`):
///
///     table_set_default flowlet_config set_flowlet_timeout 50000     # ns
public enum FlowletParts {
    /// 100 us. The timeout must exceed the delay spread between the paths (else a new flowlet
    /// can overtake the tail of the last one). In a 100 Gb/s leaf-spine the base delays differ
    /// by a few microseconds; the spread is queueing: 100 us is 1.25 MB of queue at 100 Gb/s,
    /// more than a switch lets one port hold in a fabric that keeps queues short (ECN marking
    /// at tens to hundreds of KB). LetFlow used 150-500 us at 10 Gb/s, where the same bytes of
    /// queue take ten times longer to drain.
    public static let defaultTimeout: UInt64 = 100_000

    /// Metadata, the register, `set_flowlet_timeout` and `flowlet_config`. `slots` is a power
    /// of two.
    public static func declarations(slots: Int, timeout: UInt64 = defaultTimeout) -> Components {
        Components {
            Metadata {
                Field("flowlet_timeout", 48)
                Field("flowlet_state", 64)
                Field("flowlet_candidate", 16)
                Field("flowlet_index", 32)
                Field("flowlet_draw", 16)
            }
            Register("flowlet", width: 64, size: slots)
            Action("set_flowlet_timeout", Param("timeout", 48)) {
                Assign(meta.flowlet_timeout, param.timeout)
            }
            Table("flowlet_config") {
                Actions("set_flowlet_timeout")
                DefaultAction("set_flowlet_timeout", UInt128(timeout))
                Size(1)
            }
        }
    }

    /// Bits of a flowlet index for `slots` cells.
    static func indexBits(_ slots: Int) -> Int {
        precondition(slots >= 2 && slots & (slots - 1) == 0 && slots <= 1 << 24,
                     "flowlet slots = \(slots); valid: a power of two from 2 to 2^24")
        return slots.trailingZeroBitCount
    }

    /// Before `ipv4_lpm` (in `ECMPRouter.route`'s `prepare`): apply `flowlet_config`, and
    /// hash the flow's cell index and the draw of a new flowlet (`draw`). Hashing here rather
    /// than in the `ecmp` action keeps the CRCs ahead of the LPM loop, so the kernel's verifier
    /// walks them once rather than once per way out of the loop (in the action, `flowlet`
    /// exceeded its million-instruction budget).
    @StatementBuilder
    public static func prepare(slots: Int) -> [Stmt] {
        Apply("flowlet_config")
        Assign(meta.flowlet_index, hash(.crc32, ECMPRouter.fiveTuple, width: indexBits(slots)).cast(32))
        Assign(meta.flowlet_draw, draw)
    }

    /// The pseudo-random draw of a new flowlet: the low 16 bits of a CRC-32 of the 5-tuple and
    /// the ingress timestamp (flows differ by the tuple, flowlets of one flow by the time).
    public static var draw: Value {
        hash(.crc32, ECMPRouter.fiveTuple + [standard.ingressTimestamp], width: 16)
    }

    /// Set `meta.ecmp_member` (inside `ECMPRouter.routing`'s `ecmp` action): the flow's
    /// member while its flowlet lasts, else `meta.flowlet_candidate` (which the program sets
    /// first, in `0 ..< count`). A stored member outside `0 ..< count` (another flow's, of a
    /// larger group, sharing the cell) also starts a new flowlet. Needs `prepare` run before
    /// `ipv4_lpm`.
    @StatementBuilder
    public static func member(count: Value) -> [Stmt] {
        let now = standard.ingressTimestamp
        RegisterAction("flowlet", index: meta.flowlet_index, result: meta.flowlet_state, returnsNew: true) { old in
            let stored = old[15, 0]
            let fresh = stored == 0 || stored > count || now - old[63, 16] > meta.flowlet_timeout
            return now ++ mux(fresh, meta.flowlet_candidate + 1, stored)
        }
        Assign(meta.ecmp_member, meta.flowlet_state[15, 0] - 1)
    }
}
