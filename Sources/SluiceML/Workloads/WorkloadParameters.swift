import SluiceEmulator
import SluiceIR

/// A workload's parameters as the user wrote them: `key=value` words on the command line or
/// the keys of a topology file's `jobs` entry. Values take units (`100MB`, `2ms`, `100Gbps`).
public struct WorkloadArguments: Sendable {
    public struct Value: Sendable {
        public var key: String
        public var text: String
        /// Where it was written: "argument 'model=100MB'" or "topo.yaml:12".
        public var origin: String
        public init(key: String, text: String, origin: String) { self.key = key; self.text = text; self.origin = origin }
    }
    public var values: [Value]
    public init(_ values: [Value] = []) { self.values = values }

    /// `key=value` words, as `sluice traffic ddp model=100MB iterations=2` takes them.
    public static func parse(_ words: [String]) throws -> WorkloadArguments {
        var values: [Value] = []
        for w in words {
            guard let eq = w.firstIndex(of: "="), eq != w.startIndex else {
                throw WorkloadError("argument '\(w)' is not key=value (e.g. model=100MB, iterations=3)")
            }
            let key = String(w[..<eq]), text = String(w[w.index(after: eq)...])
            if values.contains(where: { $0.key == key }) { throw WorkloadError("argument '\(w)': \(key) is given twice") }
            values.append(Value(key: key, text: text, origin: "argument '\(w)'"))
        }
        return WorkloadArguments(values)
    }
}

/// Where a workload runs: how many ranks (hosts) it has, their link rate, the run's seed and
/// the folder relative file names are read from.
public struct WorkloadContext: Sendable {
    public var ranks: Int
    public var linkRate: UInt64
    public var seed: UInt64
    public var baseDirectory: String
    /// Graphs larger than this are refused (`GraphBuilder.maxOperations` by default).
    public var maxOperations = GraphBuilder.maxOperations
    public init(ranks: Int, linkRate: UInt64 = 100_000_000_000, seed: UInt64 = 1, baseDirectory: String = ".") {
        self.ranks = ranks; self.linkRate = linkRate; self.seed = seed; self.baseDirectory = baseDirectory
    }
}

/// Reads typed parameters, remembers which were used, and names the bad one on error.
final class ParameterReader {
    let family: String
    let arguments: WorkloadArguments
    var known: [(name: String, help: String, fallback: String)] = []
    /// Only listing the parameters (`WorkloadCatalog.parameters`): no required ones enforced.
    var describing = false

    init(family: String, arguments: WorkloadArguments) { self.family = family; self.arguments = arguments }

    func value(_ key: String, help: String, fallback: String = "") -> WorkloadArguments.Value? {
        known.append((key, help, fallback))
        return arguments.values.first { $0.key == key }
    }

    func fail(_ v: WorkloadArguments.Value, _ problem: String, valid: String) -> WorkloadError {
        WorkloadError("\(family) \(v.key) '\(v.text)': \(problem) (valid: \(valid))", origin: v.origin)
    }

    func size(_ key: String, _ fallback: Int, _ help: String, min: Int = 1) throws -> Int {
        guard let v = value(key, help: help, fallback: Self.bytes(fallback)) else { return fallback }
        let n: Int
        do { n = try Units.size(v.text) } catch { throw fail(v, error.message, valid: error.valid) }
        guard n >= min else { throw fail(v, "too small", valid: "at least \(min) bytes") }
        return n
    }

    func time(_ key: String, _ fallback: Int64, _ help: String) throws -> Int64 {
        guard let v = value(key, help: help, fallback: Self.time(fallback)) else { return fallback }
        do { return try Units.time(v.text) } catch { throw fail(v, error.message, valid: error.valid) }
    }

    func int(_ key: String, _ fallback: Int, _ help: String, in range: ClosedRange<Int>) throws -> Int {
        guard let v = value(key, help: help, fallback: "\(fallback)") else { return fallback }
        guard let n = Int(v.text.filter { $0 != "_" }), range.contains(n) else {
            throw fail(v, "not a whole number in range", valid: "\(range.lowerBound) ... \(range.upperBound)")
        }
        return n
    }

    func double(_ key: String, _ fallback: Double, _ help: String, in range: ClosedRange<Double>) throws -> Double {
        guard let v = value(key, help: help, fallback: "\(fallback)") else { return fallback }
        guard let x = Double(v.text), x.isFinite, range.contains(x) else {
            throw fail(v, "not a number in range", valid: "\(range.lowerBound) ... \(range.upperBound)")
        }
        return x
    }

    func bool(_ key: String, _ fallback: Bool, _ help: String) throws -> Bool {
        guard let v = value(key, help: help, fallback: "\(fallback)") else { return fallback }
        switch v.text.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw fail(v, "not a yes/no value", valid: "true, false")
        }
    }

    func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ fallback: E, _ help: String) throws -> E where E.RawValue == String {
        guard let v = value(key, help: help, fallback: fallback.rawValue + " (" + E.allCases.map(\.rawValue).joined(separator: "|") + ")") else { return fallback }
        guard let e = E(rawValue: v.text) else {
            throw fail(v, "unknown", valid: E.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return e
    }

    func string(_ key: String, _ help: String) -> WorkloadArguments.Value? { value(key, help: help) }

    static func bytes(_ n: Int) -> String {
        for (unit, m) in [("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000)] where n >= m && n % m == 0 { return "\(n / m)\(unit)" }
        for (unit, m) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where n >= m && n % m == 0 { return "\(n / m)\(unit)" }
        return "\(n)B"
    }
    static func time(_ t: Int64) -> String {
        for (unit, m) in [("s", Int64(1_000_000_000_000)), ("ms", 1_000_000_000), ("us", 1_000_000), ("ns", 1_000)] where t >= m && t % m == 0 { return "\(t / m)\(unit)" }
        return t == 0 ? "0s" : "\(t)ps"
    }

    /// After reading: any argument nobody asked for is an error naming the valid keys.
    func finish() throws {
        let names = known.map(\.name)
        for v in arguments.values where !names.contains(v.key) {
            let hint = Suggest.didYouMean(v.key, names, maxDistance: 2).map { " (\($0))" } ?? ""
            throw WorkloadError("\(family) has no parameter '\(v.key)'\(hint) (valid: \(names.joined(separator: ", ")))", origin: v.origin)
        }
    }
}
