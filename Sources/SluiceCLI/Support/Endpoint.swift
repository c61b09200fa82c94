import SluiceControlPlane
import SluiceRuntime

/// `IP` or `IP:PORT` (IPv4), the address read by the one parser of entries files (`ValueSyntax`);
/// without a port, the command chooses it (`port(or:)`).
struct Endpoint: OptionSyntax {
    var ip: UInt32
    var port: UInt16?

    func port(or fallback: UInt16) -> UInt16 { port ?? fallback }

    static func parse(_ text: String) throws(OptionProblem) -> Endpoint {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let first = parts.first, let ip = ValueSyntax.ipv4(first) else {
            throw OptionProblem("not an IPv4 address", valid: "A.B.C.D or A.B.C.D:PORT, e.g. 10.0.0.1:48865")
        }
        guard parts.count == 2 else { return Endpoint(ip: ip, port: nil) }
        guard let p = UInt16(parts[1]), p > 0 else { throw OptionProblem("port '\(parts[1])'", valid: "1 ... 65535") }
        return Endpoint(ip: ip, port: p)
    }
}

/// An IPv4 address alone, `A.B.C.D`.
enum IPv4Address: OptionSyntax {
    static func parse(_ text: String) throws(OptionProblem) -> UInt32 {
        guard let ip = ValueSyntax.ipv4(text) else { throw OptionProblem("not an IPv4 address", valid: "A.B.C.D, e.g. 127.0.0.1") }
        return ip
    }
}

/// An aggregation worker: `IP[:PORT]`, and at XDP `IP[:PORT]=MAC`, the MAC its results are sent to.
struct WorkerAddress: OptionSyntax {
    var endpoint: Endpoint
    var mac: UInt64?

    static func parse(_ text: String) throws(OptionProblem) -> WorkerAddress {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        let endpoint = try Endpoint.parse(parts.first ?? "")
        guard parts.count == 2 else { return WorkerAddress(endpoint: endpoint, mac: nil) }
        guard let mac = ValueSyntax.mac(parts[1]) else { throw OptionProblem("MAC '\(parts[1])'", valid: "IP[:PORT]=aa:bb:cc:dd:ee:ff") }
        return WorkerAddress(endpoint: endpoint, mac: mac)
    }
}
