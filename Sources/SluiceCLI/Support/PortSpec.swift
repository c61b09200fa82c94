import ArgumentParser

/// An interface as a numbered switch port: `--port N=IFACE`, N a 9-bit port.
struct PortSpec: OptionSyntax {
    var number: UInt16
    var interface: String

    static func parse(_ text: String) throws(OptionProblem) -> PortSpec {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let n = UInt16(parts[0]), n <= 511, !parts[1].isEmpty else {
            throw OptionProblem("expected N=IFACE with N in 0...511, e.g. --port 1=veth1", valid: nil)
        }
        return PortSpec(number: n, interface: parts[1])
    }
}

/// `--port N=IFACE` options (attach, aggregator): N within `numbers`, each number and each
/// interface once; `interfaceIs` says what an interface stands for in the duplicate message.
func checkPortSpecs(_ specs: [OptionValue<PortSpec>], numbers: ClosedRange<UInt16>, interfaceIs: String) throws {
    var seen: [UInt16: String] = [:], interfaces: [String: UInt16] = [:]
    for spec in specs {
        let s = try spec.value("--port")
        guard numbers.contains(s.number) else {
            throw ValidationError("--port '\(spec.text)': expected N=IFACE with N in \(numbers.lowerBound)...\(numbers.upperBound), e.g. --port 1=veth1")
        }
        if let other = seen[s.number] { throw ValidationError("--port '\(spec.text)': port \(s.number) is already \(other); each port has one interface") }
        if let other = interfaces[s.interface] {
            throw ValidationError("--port '\(spec.text)': \(s.interface) is already port \(other); each interface is one \(interfaceIs)")
        }
        seen[s.number] = s.interface
        interfaces[s.interface] = s.number
    }
}

/// Ingress ports: a range `A-B` or a list `0,1,4`.
enum PortList: OptionSyntax {
    static func parse(_ text: String) throws(OptionProblem) -> [UInt16] {
        let bad = OptionProblem(valid: "a range such as 0-7 or a list such as 0,1,4; ports 0 ... 511")
        var out: [UInt16] = []
        for part in text.split(separator: ",") {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(ends.count), let lo = UInt16(ends[0]), let hi = UInt16(ends.last!), lo <= hi, hi <= 511 else { throw bad }
            out += Array(lo...hi)
        }
        guard !out.isEmpty else { throw bad }
        return out
    }
}
