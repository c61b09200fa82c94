import Foundation

/// The `sluice` binary built beside the test bundle (tests that drive the command line).
public var sluiceBinaryPath: String {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("sluice").path) && dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent("sluice").path
}
