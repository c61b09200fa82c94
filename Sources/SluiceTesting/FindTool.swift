import Foundation

/// The first of `names` found on PATH or, after it, in the usual sbin and local folders (tests
/// and benchmarks run tools such as `ip`, `tshark` and `setpriv` that a user's PATH may lack).
public func findTool(_ names: String...) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    let dirs = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"]
    for n in names {
        for d in dirs where FileManager.default.isExecutableFile(atPath: d + "/" + n) { return d + "/" + n }
    }
    return nil
}
