import SluiceEmulator
import Foundation

/// One line of an experiment's table and JSON (`--json` prints an array of these).
public struct ExperimentRow: Encodable, Sendable {
    public var experiment: String
    public var scheme: String
    public var workers: Int
    public var rateGbps: Double
    public var sizeBytes: Int
    public var elementsPerPacket: Int?
    public var poolSlots: Int?
    public var loss: Double
    public var timeoutS: Double?
    public var timeS: Double?
    public var elementsPerS: Double?
    public var exact: Bool
    public var maxAbsError: Double?
    /// The float32 result is within the scheme's documented error bound.
    public var withinBound: Bool?
    /// The bandwidth bound for this scheme and packet format (s), and time / bound.
    public var boundS: Double?
    public var timeOverBound: Double?
    public var retransmissions: Int?
    public var jobs: Int?
    public var job: Int?
    /// Extra context (aggregator supply, the quantization scale...).
    public var note: String?
    public var wallS: Double
    /// Events the emulator processed for this run: the run's work, the same on every machine
    /// (where `wallS` is not).
    public var events: UInt64? = nil

    enum CodingKeys: String, CodingKey {
        case experiment, scheme, workers, rateGbps = "rate_gbps", sizeBytes = "size_bytes",
             elementsPerPacket = "elements_per_packet", poolSlots = "pool_slots", loss, timeoutS = "timeout_s",
             timeS = "time_s", elementsPerS = "elements_per_s", exact, maxAbsError = "max_abs_error",
             withinBound = "within_bound", boundS = "bound_s", timeOverBound = "time_over_bound",
             retransmissions, jobs, job, note, wallS = "wall_s", events
    }
}

/// Settings every experiment takes from the command line.
public struct ExperimentSettings: Sendable {
    public var seed: UInt64 = 1
    /// Multiplies every tensor size (0.01 for a quick look; 1 is the published setting).
    public var scale: Double = 1
    public var progress = false
    /// Called with a line per finished run (the table grows as it runs).
    public init() {}
}

/// The in-network aggregation experiments `ina-e1` ... `ina-e6`.
public enum Experiments {
    public static let all: [(name: String, summary: String)] = [
        ("ina-e1", "100 MB float32 allreduce, 8 workers, 10 and 100 Gb/s: switchml (k = 64, 256) vs ring, tree, parameter server"),
        ("ina-e2", "workers 2 ... 32 at 10 MB: in-network time stays flat, ring grows as 2(n-1)/n"),
        ("ina-e3", "pool size 4 ... 256 slots at 10 MB, 8 workers: throughput vs min(line rate, s x packet / RTT)"),
        ("ina-e4", "loss 0.01% ... 1% x timeouts 100 us ... 10 ms: completion-time inflation, results still exact"),
        ("ina-e5", "quantization error on synthetic gradients: block floating point vs a fixed 1e6 scale"),
        ("ina-e6", "two jobs sharing one switch; atp with aggregator supply 2x ... 0.25x of demand"),
    ]

    public static func unknown(_ name: String) -> String {
        "unknown experiment '\(name)' (valid: \(all.map(\.name).joined(separator: ", ")))"
    }
}
