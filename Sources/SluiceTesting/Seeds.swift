import Foundation

/// A seed for a randomized test: `SLUICE_TEST_SEED` replays a run, otherwise a fresh one. It
/// is printed, so a failure can always be reproduced.
public func testSeed(_ name: String) -> UInt64 {
    let seed = ProcessInfo.processInfo.environment["SLUICE_TEST_SEED"].flatMap { UInt64($0) }
        ?? UInt64.random(in: 0...UInt64.max)
    print("[\(name)] seed \(seed) (rerun with SLUICE_TEST_SEED=\(seed))")
    return seed
}
