import Foundation
import SluiceEmulator

// The kinds of option that are quantities: read by `Units`, the parser of topology files, and
// held to the ranges the commands can use.

extension OptionProblem {
    init(_ p: Units.Problem) { self.init(p.message, valid: p.valid) }
}

/// A wall-clock duration in nanoseconds: `10s`, `500ms`, `2.5s`, or plain seconds (`3`), at
/// least 1ns (`--duration`).
enum WallDuration: OptionSyntax {
    static func parse(_ text: String) throws(OptionProblem) -> Int64 {
        let t = text.trimmingCharacters(in: .whitespaces)
        let withUnit = Double(t) != nil ? t + "s" : t
        let ps: Int64
        do { ps = try Units.time(withUnit) } catch { throw OptionProblem(error) }
        guard ps >= 1000 else { throw OptionProblem("must be at least 1ns", valid: nil) }
        return ps / 1000
    }
}

/// The aggregator's `--idle-reset`: nil (`0`) for never, else a `WallDuration` of at least
/// 200ms, longer than a worker of a running job waits before it retransmits.
enum IdleReset: OptionSyntax {
    static func parse(_ text: String) throws(OptionProblem) -> Int64? {
        if Double(text.trimmingCharacters(in: .whitespaces)) == 0 { return nil }
        let t = try WallDuration.parse(text)
        guard t >= 200_000_000 else { throw OptionProblem(valid: "0 for never, or at least 200ms: workers retransmit within 100 ms") }
        return t
    }
}

/// A flowlet timeout of the load-balancing programs, in nanoseconds: a `WallDuration` that fits
/// their 48-bit times.
enum FlowletTimeout: OptionSyntax {
    static func parse(_ text: String) throws(OptionProblem) -> UInt64 {
        let ns = try WallDuration.parse(text)
        guard ns < 1 << 48 else { throw OptionProblem("at most 2^48 ns (the programs keep 48-bit times)", valid: nil) }
        return UInt64(ns)
    }
}

/// A simulated time in picoseconds, with its unit (`10ms`, `500us`; a bare `0`): `--until`.
enum SimulatedTime: OptionSyntax {
    static func parse(_ text: String) throws(OptionProblem) -> Int64 {
        do { return try Units.time(text) } catch { throw OptionProblem(error) }
    }
}

/// The emulator's sampling interval: a `SimulatedTime` above 0.
enum SampleInterval: OptionSyntax {
    static func parse(_ text: String) throws(OptionProblem) -> Int64 {
        let t = try SimulatedTime.parse(text)
        guard t > 0 else { throw OptionProblem(valid: "more than 0, e.g. 1us") }
        return t
    }
}

/// A worker's retransmission-timeout floor in picoseconds: above 0, at most 1s.
enum RetransmissionFloor: OptionSyntax {
    static func parse(_ text: String) throws(OptionProblem) -> Int64 {
        let t = try SimulatedTime.parse(text)
        guard t > 0 && t <= 1_000_000_000_000 else { throw OptionProblem(valid: "more than 0, at most 1s") }
        return t
    }
}

/// A tensor's size in bytes (`4MB`, a plain number is bytes): whole 4-byte values, at least one.
enum TensorSize: OptionSyntax {
    static func parse(_ text: String) throws(OptionProblem) -> Int {
        let bytes: Int
        do { bytes = try Units.size(text) } catch { throw OptionProblem(error) }
        guard bytes >= 4, bytes % 4 == 0 else { throw OptionProblem(valid: "a whole number of 4-byte values, at least 4B") }
        return bytes
    }
}

/// A link rate in bits per second, with its unit (`100Gbps`).
enum BitRate: OptionSyntax {
    static func parse(_ text: String) throws(OptionProblem) -> UInt64 {
        do { return try Units.rate(text) } catch { throw OptionProblem(error) }
    }
}
