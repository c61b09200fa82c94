import SluiceTesting
import SluiceControlPlane
import SluicePrograms
import SluiceIR
import SluiceRuntime

/// `switchml` packets built byte by byte from the wire format (the IPv4 checksum by the packet
/// builder, independently of the program): the behaviour tests and the XDP conformance corpus
/// share them. Member `w` is 10.0.0.(w + 1), MAC 02:00:00:00:00:(w + 1), on switch port w + 1.
public enum SwitchMLPackets {
    public static let serviceMAC: MACAddress = "02:00:00:00:ff:01"
    public static let serviceIP: IPv4Address = "10.255.255.1"

    public struct Member: Sendable {
        public var ip: IPv4Address, mac: MACAddress, port: UInt16
        public static func of(_ w: Int) -> Member {
            Member(ip: IPv4Address(value: 0x0A00_0001 + UInt32(w)), mac: MACAddress(value: 0x0200_0000_0001 + UInt64(w)), port: UInt16(w + 1))
        }
    }

    /// Member `w` as a worker of `job` (it receives results on UDP port 40000 + job).
    public static func worker(_ w: Int, job: UInt8) -> SwitchML.Worker {
        let m = Member.of(w)
        return SwitchML.Worker(ip: m.ip.value, mac: m.mac.value, udpPort: 40000 + UInt16(job), switchPort: m.port)
    }

    /// The SwitchML payload: type/size, job, packet id, pool index (set in bit 15), exponents, values.
    public static func payload(type: UInt8 = 0, size: UInt8 = 0, job: UInt8, id: UInt32, set: Int, slot: Int,
                               e0: UInt8, e1: UInt8, values: [Int32]) -> [UInt8] {
        var b: [UInt8] = [type << 4 | size, job]
        b += (0..<4).map { UInt8(truncatingIfNeeded: id >> (24 - 8 * UInt32($0))) }
        let pool = UInt16(set) << 15 | UInt16(truncatingIfNeeded: slot)
        b += [UInt8(pool >> 8), UInt8(truncatingIfNeeded: pool), e0, e1]
        for v in values { b += (0..<4).map { UInt8(truncatingIfNeeded: UInt32(bitPattern: v) >> (24 - 8 * UInt32($0))) } }
        return b
    }

    /// An update from member `w` of `job` (to the job's UDP port).
    public static func update(_ w: Int, job: UInt8 = 1, port: UInt16 = 0xBEE1, id: UInt32 = 7, set: Int = 0, slot: Int = 0,
                              e0: UInt8 = 0, e1: UInt8 = 0, values: [Int32], size: UInt8 = 0, ipChecksum: UInt16? = nil) -> [UInt8] {
        let m = Member.of(w)
        return Packet.ethernet(dst: serviceMAC, src: m.mac)
            .ipv4(src: m.ip, dst: serviceIP, id: 0x1234, ttl: 64, checksum: ipChecksum)
            .udp(sport: 40000 + UInt16(job), dport: port, checksum: 0)
            .payload(payload(size: size, job: job, id: id, set: set, slot: slot, e0: e0, e1: e1, values: values)).bytes
    }

    /// The result member `w` must receive.
    public static func result(to w: Int, job: UInt8 = 1, port: UInt16 = 0xBEE1, id: UInt32 = 7, set: Int = 0, slot: Int = 0,
                              e0: UInt8 = 0, e1: UInt8 = 0, values: [Int32]) -> [UInt8] {
        let m = Member.of(w)
        return Packet.ethernet(dst: m.mac, src: serviceMAC)
            .ipv4(src: serviceIP, dst: m.ip, id: 0x1234, ttl: 64)
            .udp(sport: port, dport: 40000 + UInt16(job), checksum: 0)
            .payload(payload(type: 1, job: job, id: id, set: set, slot: slot, e0: e0, e1: e1, values: values)).bytes
    }

    public static func vector(_ seed: Int32, _ k: Int = 32) -> [Int32] { (0..<k).map { seed &* 1_000_003 &+ Int32($0) &* 7919 } }
    public static func sum(_ vs: [[Int32]]) -> [Int32] { vs.dropFirst().reduce(vs[0]) { zip($0, $1).map { $0 &+ $1 } } }
}

/// `atp` packets from its wire format, shared like `SwitchMLPackets`: worker `w` is
/// 10.0.0.(w + 1) on port w + 1; the parameter server 10.0.0.9 on port 9.
public enum ATPPackets {
    public static let switchMAC: MACAddress = "02:00:00:00:0a:01"
    public static let server = (ip: IPv4Address("10.0.0.9"), mac: MACAddress("02:00:00:00:00:09"), port: UInt16(9))

    /// The behaviour tests' switch: job 1 = workers 0, 1, 2 (group 101), job 2 = workers 3, 4
    /// (group 102), both with the server 10.0.0.9; the switch's MAC and a route to the server.
    public static func install(into cp: any ControlPlane) throws {
        try cp.setDefault("switch_mac", ActionCall("set_switch_mac", [UInt128(switchMAC.value)]))
        try cp.upsert("ipv4_lpm", TableEntry([.lpm(UInt128(server.ip.value), prefixLength: 32)],
                                             ActionCall("forward", [UInt128(server.port), UInt128(server.mac.value)])))
        for (job, members) in [(UInt8(1), [0, 1, 2]), (2, [3, 4])] {
            let ws = members.map { w in
                let m = worker(w)
                return SwitchML.Worker(ip: m.ip.value, mac: m.mac.value, udpPort: 41000 + UInt16(job), switchPort: m.port)
            }
            try ATP.install(ATP.Job(job: job, serverIP: server.ip.value, group: 100 + UInt16(job), workers: ws), into: cp)
        }
    }

    public static func worker(_ w: Int) -> (ip: IPv4Address, mac: MACAddress, port: UInt16) {
        (IPv4Address(value: 0x0A00_0001 + UInt32(w)), MACAddress(value: 0x0200_0000_0001 + UInt64(w)), UInt16(w + 1))
    }

    public static func atp(bitmap: UInt32, workers: UInt8, job: UInt8, flags: UInt8, seq: UInt32, values: [Int32]) -> [UInt8] {
        var b: [UInt8] = (0..<4).map { UInt8(truncatingIfNeeded: bitmap >> (24 - 8 * UInt32($0))) }
        b += [workers, job, flags, 64]
        b += (0..<4).map { UInt8(truncatingIfNeeded: seq >> (24 - 8 * UInt32($0))) }
        for v in values { b += (0..<4).map { UInt8(truncatingIfNeeded: UInt32(bitPattern: v) >> (24 - 8 * UInt32($0))) } }
        return b
    }

    /// An update from worker w (its bit in a job of `n`) to the server.
    public static func update(_ w: Int, bit: Int, n: UInt8, job: UInt8 = 1, seq: UInt32, flags: UInt8 = 0, values: [Int32]) -> [UInt8] {
        let m = worker(w)
        return Packet.ethernet(dst: switchMAC, src: m.mac).ipv4(src: m.ip, dst: server.ip, ttl: 64)
            .udp(sport: 41000 + UInt16(job), dport: ATP.updatePort, checksum: 0)
            .payload(atp(bitmap: 1 << UInt32(bit), workers: n, job: job, flags: flags, seq: seq, values: values)).bytes
    }

    /// What reaches the server for an update from `src` carrying `bitmap`, `flags` and `values`.
    public static func atServer(from w: Int, job: UInt8 = 1, n: UInt8, bitmap: UInt32, flags: UInt8, seq: UInt32, values: [Int32]) -> [UInt8] {
        let m = worker(w)
        return Packet.ethernet(dst: server.mac, src: switchMAC).ipv4(src: m.ip, dst: server.ip, ttl: 63)
            .udp(sport: 41000 + UInt16(job), dport: ATP.updatePort, checksum: 0)
            .payload(atp(bitmap: bitmap, workers: n, job: job, flags: flags, seq: seq, values: values)).bytes
    }

    /// The server's result for (job, seq) with `bitmap` and the sums, sent from `src` (the
    /// server, or a forger) to the switch.
    public static func result(job: UInt8, workers: UInt8, bitmap: UInt32, seq: UInt32, values: [Int32],
                              src: (ip: IPv4Address, mac: MACAddress) = (server.ip, server.mac)) -> [UInt8] {
        Packet.ethernet(dst: switchMAC, src: src.mac).ipv4(src: src.ip, dst: "10.255.255.1", ttl: 64)
            .udp(sport: ATP.updatePort, dport: ATP.resultPort, checksum: 0)
            .payload(atp(bitmap: bitmap, workers: workers, job: job, flags: ATP.result, seq: seq, values: values)).bytes
    }

    public static func vector(_ s: Int32) -> [Int32] { (0..<64).map { s &* 1_000_003 &+ Int32($0) &* 7919 } }
    public static func sum(_ vs: [[Int32]]) -> [Int32] { vs.dropFirst().reduce(vs[0]) { zip($0, $1).map { $0 &+ $1 } } }
}
