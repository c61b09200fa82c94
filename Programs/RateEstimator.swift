import Sluice
import SluiceIR

/// A per-port rate estimator (CONGA's and HULA's DRE, discounting rate estimator) for the
/// bytes a switch sends out of each port: a register `X` gets every packet's bytes and halves
/// every `2^period_shift` ns, so `X` tracks the rate over `tau = 2 * 2^period_shift` ns (the DRE
/// with `alpha = 1/2`: `tau = T_dre / alpha`).
///
/// The decay is lazy: nothing runs between packets. A port's cell remembers when it last
/// decayed; a packet (or a read) halves `X` once per whole period since then, and moves that time
/// on by those whole periods only, so the phase is kept and frequent small updates do not
/// starve the decay. Halving rather than a finer `alpha` keeps the decay to one shift for any
/// number of periods (no loop, no multiply).
///
/// State: registers `dre_bytes` (32 bits) and `dre_time` (48 bits, ns) per port, and
/// `dre_rate_shift` per port: `log2(100 Gb/s / port rate)` (2 for 25 Gb/s), so that a metric is
/// a utilization, not a rate. Times come from `meta.dre_now` (the ingress timestamp, carried to
/// egress: per egress port a FIFO, so it never goes back).
///
/// Metrics: `min(2^bits - 1, X >> (metric_shift + 3 - bits - rate_shift))`. With the defaults
/// (`period_shift` 13: T = 8.2 us, tau = 16.4 us; `metric_shift` 15) a 100 Gb/s port at line
/// rate has X between C * T (102 KB) and 2 C * T, so a 3-bit metric of 3 to 6 (an 8-bit one of
/// 100 to 200), an idle port 0. The time constant is CONGA's 160 us at 10 Gb/s scaled to
/// 100 Gb/s: the same bytes pass ten times faster, and a 256 KiB chunk lasts 21 us.
///
///     table_set_default dre_config set_dre 13 15
public enum RateEstimator {
    public static let defaultPeriodShift: UInt64 = 13
    public static let defaultMetricShift: UInt64 = 15
    /// Cells: one per 9-bit port.
    public static let ports = 512

    public static var declarations: Components {
        Components {
            Metadata {
                Field("dre_now", 48)
                Field("dre_period", 8)
                Field("dre_qshift", 8)
                Field("dre_t", 48)
                Field("dre_elapsed", 48)
                Field("dre_x", 32)
                Field("dre_rs", 8)
            }
            Register("dre_bytes", width: 32, size: ports)
            Register("dre_time", width: 48, size: ports)
            Register("dre_rate_shift", width: 8, size: ports)
            Common.settings(table: "dre_config", action: "set_dre", [("period_shift", 8, meta.dre_period, UInt128(defaultPeriodShift)),
                                                                     ("metric_shift", 8, meta.dre_qshift, UInt128(defaultMetricShift))])
        }
    }

    /// Ingress, first: the clock and the configuration.
    @StatementBuilder
    public static var prepare: [Stmt] {
        Assign(meta.dre_now, standard.ingressTimestamp)
        Apply("dre_config")
    }

    /// Whole periods since the cell of `port` last decayed, into `meta.dre_elapsed`.
    @StatementBuilder
    static func periods(port: Value) -> [Stmt] {
        RegisterRead("dre_time", index: port, into: meta.dre_t)
        Assign(meta.dre_elapsed, (meta.dre_now - meta.dre_t) >> meta.dre_period.cast(48))
    }

    /// Egress: add `bytes` to `port`'s estimate, decayed first.
    @StatementBuilder
    public static func update(port: Value, bytes: Value) -> [Stmt] {
        periods(port: port)
        If(meta.dre_elapsed > 31) {
            // Long idle (or the first packet): nothing of the old bytes is left.
            RegisterWrite("dre_time", index: port, meta.dre_now)
            RegisterWrite("dre_bytes", index: port, bytes)
        } else: {
            If(meta.dre_elapsed != 0) {
                RegisterWrite("dre_time", index: port, meta.dre_t + (meta.dre_elapsed << meta.dre_period.cast(48)))
            }
            RegisterAction("dre_bytes", index: port) { ($0 >> meta.dre_elapsed.cast(32)) + bytes }
        }
    }

    /// `port`'s metric of `bits` bits (see above) into `into`, decayed to now (the register is
    /// not written).
    @StatementBuilder
    public static func metric(port: Value, bits: Int, into: Value) -> [Stmt] {
        periods(port: port)
        RegisterRead("dre_bytes", index: port, into: meta.dre_x)
        If(meta.dre_elapsed > 31) {
            Assign(meta.dre_x, 0)
        } else: {
            Assign(meta.dre_x, meta.dre_x >> meta.dre_elapsed.cast(32))
        }
        RegisterRead("dre_rate_shift", index: port, into: meta.dre_rs)
        let cap = UInt128(1) << bits - 1
        let scaled = meta.dre_x >> (meta.dre_qshift + Value(UInt128(3)) - Value(UInt128(bits)) - meta.dre_rs).cast(32)
        Assign(into, mux(scaled > Value(cap), Value(cap), scaled).cast(bits))
    }
}
