import SluiceControlPlane
import Foundation
import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
import SluiceXDP

/// One corpus through the software runtime and through the kernel (BPF_PROG_TEST_RUN),
/// packet by packet in the same order: everything that leaves (the port and bytes of a
/// forwarded packet, of every multicast copy after egress) must be the same.
struct Differential {
    var compared = 0, forwarded = 0, multicast = 0, dropped = 0, tooShort = 0
    /// Packets that left by each port alike.
    var byPort: [UInt16: Int] = [:]
    var mismatches: [String] = []
    /// Nanoseconds: what both backends take as standard.ingressTimestamp.
    var clock: UInt64 = 0
    /// The ports each packet left the runtime by, in corpus order (nothing for a drop); the
    /// kernel's are the same unless the packet is in `mismatches`.
    var outPorts: [[UInt16]] = []

    /// Run `packets` (each on its ingress port) through `runtime` and `xdp`; `afterKernel` runs
    /// after each kernel run (a controller handles its digests there, as the harness does after
    /// each runtime packet). Frames under 14 bytes go to the runtime only (the kernel's test run
    /// wants an Ethernet header): nothing may come out. `times` (ns, one per packet, not
    /// decreasing) is the clock both backends get; without it packets are a microsecond apart,
    /// every 16th 0.1 ms after the last.
    mutating func run(_ runtime: SwitchHarness, _ xdp: XDPProgram, _ packets: [(bytes: [UInt8], port: UInt16)],
                      times: [UInt64]? = nil, afterKernel: () throws -> Void = {}) throws {
        precondition(times == nil || times!.count == packets.count, "\(times!.count) times for \(packets.count) packets")
        for (i, (packet, port)) in packets.enumerated() {
            // Both get the same clock.
            if let times { clock = times[i] } else { clock += i % 16 == 15 ? 100_000 : 1000 }
            try runtime.send(packet, port: port, timestamp: clock)
            let soft = runtime.drain()
            outPorts.append(soft.map(\.port))
            guard packet.count >= 14 else {
                tooShort += 1
                if !soft.isEmpty { mismatches.append("packet \(i): \(packet.count) bytes, \(soft.count) came out of the runtime") }
                continue
            }
            let k = try xdp.outputs(packet, port: port, timestamp: clock)
            try afterKernel()
            compared += 1
            if soft.map(\.port) == k.packets.map(\.port) && soft.map(\.bytes) == k.packets.map(\.bytes) {
                for o in soft { byPort[o.port, default: 0] += 1 }
                switch soft.count {
                case 0: dropped += 1
                case 1: forwarded += 1
                default: multicast += 1
                }
            } else if mismatches.count < 5 {
                func show(_ o: [(port: UInt16, bytes: [UInt8])]) -> String {
                    o.isEmpty ? "nothing" : o.map { "port \($0.port) \(Self.hex($0.bytes.prefix(64)))" }.joined(separator: "; ")
                }
                mismatches.append("packet \(i) on port \(port) (\(packet.count) bytes \(Self.hex(packet.prefix(64)))): runtime \(show(soft)), kernel \(show(k.packets)) (verdict \(k.run.verdict))")
            } else {
                mismatches.append("")
            }
        }
    }

    var summary: String {
        "\(compared) packets compared: \(forwarded) forwarded alike, \(multicast) multicast alike, \(dropped) dropped alike, \(tooShort) under 14 bytes (runtime only), \(mismatches.count) differ"
    }

    func expectAgreement(_ name: String) {
        let differ = mismatches.count   // not the array: a failure would print every empty placeholder
        #expect(differ == 0, "\(name): \(differ) of \(compared) differ:\n\(mismatches.filter { !$0.isEmpty }.joined(separator: "\n"))")
    }

    /// Every cell of every register, read back through both control planes: the cells that
    /// differ (at most `limit` described) and how many cells are not zero.
    static func compareRegisters(_ program: VerifiedProgram, _ a: any ControlPlane, _ b: any ControlPlane, limit: Int = 5) throws -> (differ: [String], nonzero: Int) {
        var differ: [String] = [], nonzero = 0
        for r in program.registers {
            for i in 0..<r.size {
                let x = try a.readRegister(r.name, index: i), y = try b.readRegister(r.name, index: i)
                if x != 0 { nonzero += 1 }
                if x != y { differ.append(differ.count < limit ? "\(r.name)[\(i)]: runtime \(x), kernel \(y)" : "") }
            }
        }
        return (differ, nonzero)
    }

    static func hex<C: Collection>(_ b: C) -> String where C.Element == UInt8 { b.map { String(format: "%02x", $0) }.joined() }
}
