import ArgumentParser

/// An option's value must lie in `range` (NaN never does): values beyond it would trap where
/// they are scaled to integers (`Int64(1e300)`), divide to infinity, or ask for more memory or
/// time than a run can have. The error names the option, the value and the valid range, as
/// `--pps 1e-300: must be within 0.001 ... 1e9 packets per second`.
func requireWithin<T: Comparable>(_ range: ClosedRange<T>, _ value: T, option: String, valid: String) throws {
    guard range.contains(value) else { throw ValidationError("\(option) \(value): must be within \(valid)") }
}
