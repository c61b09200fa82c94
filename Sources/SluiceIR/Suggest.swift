/// "Did you mean" for a name that looks like a typo of a valid one: the one implementation that
/// the verifier, topology files and workload parameters share, so every message words it alike.
public enum Suggest {
    /// The candidate nearest `name` by case-insensitive edit distance, when it is within
    /// `maxDistance` (default: a third of the name's length, 1 ... 2); failing that, with
    /// `prefixes`, the first candidate that `name` (3 characters or more) begins.
    public static func closest(_ name: String, _ candidates: [String], maxDistance: Int? = nil, prefixes: Bool = false) -> String? {
        let limit = maxDistance ?? max(1, min(2, name.count / 3))
        let lower = name.lowercased()
        var best: (String, Int)? = nil
        for c in candidates {
            let d = distance(lower, c.lowercased())
            if d <= limit, best == nil || d < best!.1 { best = (c, d) }
        }
        if let best { return best.0 }
        if prefixes, name.count >= 3 { return candidates.first { $0.lowercased().hasPrefix(lower) } }
        return nil
    }

    /// "did you mean 'x'?" for the closest candidate (see `closest`), or nil.
    public static func didYouMean(_ name: String, _ candidates: [String], maxDistance: Int? = nil, prefixes: Bool = false) -> String? {
        closest(name, candidates, maxDistance: maxDistance, prefixes: prefixes).map { "did you mean '\($0)'?" }
    }

    /// A fix naming the valid choices, the closest one first when a name looks like a typo.
    /// `none` is the fix when there is nothing to choose from.
    static func oneOf(_ wrong: String, _ candidates: [String], none: String) -> String {
        if candidates.isEmpty { return none }
        let list = names(candidates)
        if let mean = didYouMean(wrong, candidates) { return "\(mean) (use one of: \(list))" }
        return "use one of: \(list)"
    }

    /// Up to 16 names, comma separated.
    static func names(_ xs: [String]) -> String {
        xs.count <= 16 ? xs.joined(separator: ", ") : xs.prefix(16).joined(separator: ", ") + ", ..."
    }

    /// Levenshtein distance (insertions, deletions and substitutions of characters).
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
