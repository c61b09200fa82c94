import CBPF
import Foundation
import Synchronization

/// The switch's CPU port at XDP: a veth pair the switch creates, one end a port like the others
/// (the program is attached there as port `number`, so `sluice_ports` tells the program a frame
/// came from the CPU port and `sluice_tx` redirects what it sends there), the other end a raw
/// packet socket of ours. A PacketOut is written to our end and so enters the program as if
/// received on the CPU port, where the kernel transmits whatever the program decides (redirect,
/// XDP_TX, multicast), as for any packet; what the program sends to the CPU port comes out of
/// our end, a PacketIn with its packet_in header in front. So the kernel's own redirect path does
/// the work and the program needs nothing of its own for the CPU port.
///
/// Neither end gets an address, IPv6 or ARP: the kernel then sends nothing of its own through
/// the pair, and every frame on it is the controller's or the program's. Frames may be longer
/// than an Ethernet MTU by the controller header: both ends take `mtu` bytes.
public final class CPUPort: @unchecked Sendable {
    public let number: UInt16
    /// The end the program runs on.
    public let interface: String
    /// Our end.
    public let peer: String
    let peerIndex: Int32
    let fd: Int32
    let stopping = Atomic<Bool>(false)
    var reader: Thread?
    let removed = Mutex<Bool>(false)
    /// The pair's MTU: a 1500-byte frame and its controller header fit, and it is below what a
    /// veth allows under native XDP (a page less the kernel's headroom, about 3.5 KB).
    public static let mtu = 3000

    /// Creates the pair (names from this process's id), raises it and opens the socket. Root or
    /// CAP_NET_ADMIN and CAP_NET_RAW.
    public init(number: UInt16) throws {
        self.number = number
        let id = getpid()
        interface = "slcpu\(id)"
        peer = "slcpu\(id)c"
        try Self.ip(["link", "add", interface, "mtu", "\(Self.mtu)", "type", "veth", "peer", "name", peer, "mtu", "\(Self.mtu)"])
        do {
            for i in [interface, peer] {
                // Without IPv6 the kernel sends no router or neighbour solicitations of its own.
                if FileManager.default.fileExists(atPath: "/proc/sys/net/ipv6/conf/\(i)/disable_ipv6") {
                    try "1".write(toFile: "/proc/sys/net/ipv6/conf/\(i)/disable_ipv6", atomically: false, encoding: .utf8)
                }
                try Self.ip(["link", "set", i, "arp", "off", "up"])
            }
            // Native XDP redirects into a veth reach its peer only when the peer has NAPI.
            _ = sluice_set_gro(peer, 1)
            peerIndex = Int32(if_nametoindex(peer))
            let s = sluice_packet_socket(peerIndex)
            guard peerIndex > 0, s >= 0 else { throw XDPError("CPU port: a packet socket on \(peer): \(String(cString: strerror(-s)))") }
            fd = s
        } catch {
            try? Self.ip(["link", "del", interface])
            throw error
        }
    }

    /// Calls `handler` with every frame the program sends to the CPU port, on a thread of its
    /// own, until `remove`.
    public func receive(_ handler: @escaping @Sendable ([UInt8]) -> Void) {
        let fd = fd
        let t = Thread { [self] in
            var buf = [UInt8](repeating: 0, count: 65536)
            while !self.stopping.load(ordering: .acquiring) {
                let n = buf.withUnsafeMutableBytes { sluice_packet_receive(fd, $0.baseAddress, $0.count, 100) }
                if n > 0 { handler(Array(buf[..<n])) } else if n < 0 { usleep(10_000) }
            }
        }
        t.name = "sluice-cpu-port"
        t.start()
        reader = t
    }

    /// Sends `bytes` into the program as received on the CPU port.
    public func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { sluice_packet_send(fd, peerIndex, $0.baseAddress, $0.count) } == 0
    }

    /// Closes the socket and deletes the pair (both ends go), once.
    public func remove() {
        removed.withLock { done in
            guard !done else { return }
            done = true
            stopping.store(true, ordering: .releasing)
            // The reader wakes within its 100 ms poll and sees `stopping` before the fd closes.
            usleep(150_000)
            close(fd)
            try? Self.ip(["link", "del", interface])
        }
    }

    deinit { remove() }

    static let ipTool: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static func ip(_ args: [String]) throws {
        guard let tool = ipTool else { throw XDPError("CPU port: no `ip` tool (iproute2) to create its veth pair") }
        let p = Process(), err = Pipe()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw XDPError("CPU port: ip \(args.joined(separator: " ")): \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
