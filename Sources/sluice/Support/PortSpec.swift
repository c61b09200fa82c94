import ArgumentParser

/// An interface as a numbered switch port (`--port N=IFACE`).
struct PortSpec { var number: UInt16; var interface: String }

/// `--port N=IFACE` options (attach, aggregator): N within `numbers`, each number and each
/// interface once; `interfaceIs` says what an interface stands for in the duplicate message.
func parsePortSpecs(_ specs: [String], numbers: ClosedRange<UInt16>, interfaceIs: String) throws -> [PortSpec] {
    var seen: [UInt16: String] = [:], interfaces: [String: UInt16] = [:]
    return try specs.map { spec in
        let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let n = UInt16(parts[0]), numbers.contains(n), !parts[1].isEmpty else {
            throw ValidationError("--port '\(spec)': expected N=IFACE with N in \(numbers.lowerBound)...\(numbers.upperBound), e.g. --port 1=veth1")
        }
        if let other = seen[n] { throw ValidationError("--port '\(spec)': port \(n) is already \(other); each port has one interface") }
        if let other = interfaces[parts[1]] { throw ValidationError("--port '\(spec)': \(parts[1]) is already port \(other); each interface is one \(interfaceIs)") }
        seen[n] = parts[1]
        interfaces[parts[1]] = n
        return PortSpec(number: n, interface: parts[1])
    }
}
