import Sluice
import SluiceIR

/// `drill`: DRILL (SIGCOMM 2017) on `ecmp-router`: every packet of a group route goes to the
/// least loaded of three members: two drawn at random and the one that won last time (the
/// "power of two choices with memory", d = 2, m = 1). Only local queues count, so it reacts
/// within a packet time, and it reorders: packets of one flow take different paths. It needs
/// queue depths, so it runs in the emulator only (XDP cannot see queues).
///
/// Tables: `ecmp-router`'s, filled by the emulator's routing controller. Registers:
/// `drill_depth` (the queue behind each member of each group) and `drill_best` (the member
/// remembered per group).
///
/// Choices:
/// - A switch reads queue depths at egress, not at ingress, so the egress stage writes the
///   depth each packet leaves behind (`deq_qdepth`) into the cell of its (group, member), and
///   ingress compares those cells. A member's cell is as fresh as its last departure: a queue
///   that drained records 0 with its last packet, so an idle member never looks busy.
/// - Cells are per (group, member), not per port, because ingress knows members before it
///   knows ports (`ecmp_nhop` maps one to the other). At a leaf all uplink traffic is one group,
///   so a cell is a port's queue; groups beyond the first 64 and members beyond 64 share cells
///   (6 bits of each index the register), which costs balance, not correctness.
/// - Ties go to the remembered member, then to the first sample: a stable choice keeps
///   packets of a flow together while queues are equal.
public enum DRILL {
    public static let name = "drill"
    public static let summary = "DRILL: per packet, the least queued of two random group members and the last winner (emulator only)"

    /// Cells of `drill_depth`: 64 groups x 64 members.
    static let cells = 4096

    public static func program(routes: Int = 131_072, members: Int = 16_384) -> SwitchProgram {
        SwitchProgram(name, doc: summary) {
            ECMPRouter.headers
            Metadata {
                Field("drill_a", 16)
                Field("drill_b", 16)
                Field("drill_m", 16)
                Field("drill_da", 32)
                Field("drill_db", 32)
                Field("drill_dm", 32)
                Field("drill_grouped", 1)
            }
            Register("drill_depth", width: 32, size: cells)
            Register("drill_best", width: 16, size: 64)
            ECMPRouter.routing(routes: routes, members: members) { count in
                choose(count: count)
            }
            Ingress {
                ECMPRouter.route
            }
            Egress {
                If(meta.drill_grouped == 1) {
                    RegisterWrite("drill_depth", index: cell(meta.ecmp_member), standard.deqQdepth.cast(32))
                }
            }
            ECMPRouter.deparser
        }
    }

    /// The `drill_depth` cell of `member` of the packet's group.
    static func cell(_ member: Value) -> Value {
        meta.ecmp_group[5, 0] ++ member[5, 0]
    }

    /// Inside the `ecmp` action: two random members and the remembered one, the least deep wins
    /// and is remembered.
    @StatementBuilder
    static func choose(count: Value) -> [Stmt] {
        Assign(meta.drill_grouped, 1)
        Assign(meta.drill_a, ECMPRouter.scaled(random(0, 0xFFFF, width: 16), onto: count))
        Assign(meta.drill_b, ECMPRouter.scaled(random(0, 0xFFFF, width: 16), onto: count))
        RegisterRead("drill_best", index: meta.ecmp_group[5, 0], into: meta.drill_m)
        If(meta.drill_m >= count) {
            Assign(meta.drill_m, meta.drill_a)
        }
        RegisterRead("drill_depth", index: cell(meta.drill_a), into: meta.drill_da)
        RegisterRead("drill_depth", index: cell(meta.drill_b), into: meta.drill_db)
        RegisterRead("drill_depth", index: cell(meta.drill_m), into: meta.drill_dm)
        Assign(meta.ecmp_member, meta.drill_m)
        If(meta.drill_da < meta.drill_dm) {
            Assign(meta.ecmp_member, meta.drill_a)
            Assign(meta.drill_dm, meta.drill_da)
        }
        If(meta.drill_db < meta.drill_dm) {
            Assign(meta.ecmp_member, meta.drill_b)
        }
        RegisterWrite("drill_best", index: meta.ecmp_group[5, 0], meta.ecmp_member)
    }
}
