import SluiceControlPlane
import ArgumentParser
import Foundation
import SluiceEmulator
import SluiceRuntime

// Option values that several commands parse: durations and IPv4 endpoints.

/// "10s", "500ms", "2.5s", or plain seconds ("3"), in nanoseconds.
func parseDuration(_ text: String, option: String) throws -> Int64 {
    let t = text.trimmingCharacters(in: .whitespaces)
    let withUnit = Double(t) != nil ? t + "s" : t
    let ps: Int64
    do { ps = try Units.time(withUnit) } catch { throw ValidationError("\(option): \(error)") }
    guard ps >= 1000 else { throw ValidationError("\(option) must be at least 1ns (got '\(text)')") }
    return ps / 1000
}

/// `IP` or `IP:PORT` (IPv4), with the port defaulting to `port`.
func parseEndpoint(_ text: String, defaultPort: UInt16, option: String) throws -> (ip: UInt32, port: UInt16) {
    let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
    guard let ip = ValueSyntax.ipv4(parts[0]) else {
        throw ValidationError("\(option) '\(text)': not an IPv4 address (valid: A.B.C.D or A.B.C.D:PORT, e.g. 10.0.0.1:48865)")
    }
    var port = defaultPort
    if parts.count == 2 {
        guard let p = UInt16(parts[1]), p > 0 else { throw ValidationError("\(option) '\(text)': port '\(parts[1])' (valid: 1 ... 65535)") }
        port = p
    }
    return (ip, port)
}
