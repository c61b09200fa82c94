#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// IPv4 UDP sockets as the aggregators, workers and the INT collector open them: the one place
/// that binds one, so every "address in use" names the address the same way.
public enum UDPSocket {
    /// Why a socket could not be opened or bound: the system's words and the address.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// A UDP socket bound to `ip`:`port` (host order; 0.0.0.0 and 0 for any). On failure the
    /// error reads `bind A.B.C.D:PORT: <reason> (<hint>)`.
    public static func bound(_ ip: UInt32, _ port: UInt16, hint: String) throws(Failure) -> Int32 {
        #if canImport(Glibc)
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        #else
        let s = socket(AF_INET, SOCK_DGRAM, 0)
        #endif
        guard s >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var local = address(ip, port)
        let r = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else {
            let e = String(cString: strerror(errno))
            close(s)
            throw Failure(description: "bind \(ipv4Text(ip)):\(port): \(e) (\(hint))")
        }
        return s
    }

    /// The socket address of `ip`:`port` (host order).
    public static func address(_ ip: UInt32, _ port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr = in_addr(s_addr: ip.bigEndian)
        return a
    }

    /// The port `fd` is bound to (useful after binding port 0).
    public static func localPort(_ fd: Int32) -> UInt16 {
        var a = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: a.sin_port)
    }
}
