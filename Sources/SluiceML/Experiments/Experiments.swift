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
    /// What ran the switches' pipelines (`native`, `closures`), where an emulation ran.
    public var engine: String? = nil

    enum CodingKeys: String, CodingKey {
        case experiment, scheme, workers, rateGbps = "rate_gbps", sizeBytes = "size_bytes",
             elementsPerPacket = "elements_per_packet", poolSlots = "pool_slots", loss, timeoutS = "timeout_s",
             timeS = "time_s", elementsPerS = "elements_per_s", exact, maxAbsError = "max_abs_error",
             withinBound = "within_bound", boundS = "bound_s", timeOverBound = "time_over_bound",
             retransmissions, jobs, job, note, wallS = "wall_s", events, engine
    }
}

/// Settings every experiment takes from the command line.
public struct ExperimentSettings: Sendable {
    public var seed: UInt64 = 1
    /// Multiplies every tensor size (0.01 for a quick look; 1 is the published setting).
    public var scale: Double = 1
    public var progress = false
    /// Rows run at once, each on a thread with its own tensor buffers (ina-e1; the others run
    /// one row at a time). The results are the same for any number.
    public var rowsAtOnce = 1
    public init() {}
}

/// The in-network aggregation experiments `ina-e1` ... `ina-e6`.
public enum Experiments {
    /// Every experiment with its summary at the published sizes.
    public static let all: [(name: String, summary: String)] = names.map { ($0, summary($0)) }

    static let names = ["ina-e1", "ina-e2", "ina-e3", "ina-e4", "ina-e5", "ina-e6"]

    /// The tensor bytes of `name` at scale 1.
    static func publishedBytes(_ name: String) -> Double {
        switch name {
        case "ina-e1": return 100e6
        case "ina-e5": return 4e6
        default: return 10e6
        }
    }

    /// The tensor bytes per worker `name` runs with under `s` (after --scale).
    public static func sizeBytes(_ name: String, _ s: ExperimentSettings) -> Int { elements(publishedBytes(name), s) * 4 }

    /// The summary of `name` as it runs: the tensor size it uses (`sizeBytes`, default the
    /// published one) and, for ina-e1, the link rates (default 10 and 100 Gb/s).
    public static func summary(_ name: String, sizeBytes: Int? = nil, rates: [Double]? = nil) -> String {
        let size = ExperimentReport.sizeText(sizeBytes ?? Int(publishedBytes(name)))
        let r = (rates ?? [10, 100]).map { String(format: "%g", $0) }
        let rateText = (r.count > 1 ? r.dropLast().joined(separator: ", ") + " and " : "") + (r.last ?? "?") + " Gb/s"
        switch name {
        case "ina-e1": return "\(size) float32 allreduce, 8 workers, \(rateText): switchml (k = 64, 256) vs ring, tree, parameter server"
        case "ina-e2": return "workers 2 ... 32 at \(size): in-network time stays flat, ring grows as 2(n-1)/n"
        case "ina-e3": return "pool size 4 ... 256 slots at \(size), 8 workers: throughput vs min(line rate, s x packet / RTT)"
        case "ina-e4": return "loss 0.01% ... 1% x timeouts 100 us ... 10 ms at \(size): completion-time inflation, results still exact"
        case "ina-e5": return "quantization error on \(size) of synthetic gradients: block floating point vs a fixed 1e6 scale"
        case "ina-e6": return "two jobs of \(size) sharing one switch; atp with aggregator supply 2x ... 0.25x of demand"
        default: return name
        }
    }

    public static func unknown(_ name: String) -> String {
        "unknown experiment '\(name)' (valid: \(all.map(\.name).joined(separator: ", ")))"
    }
}
