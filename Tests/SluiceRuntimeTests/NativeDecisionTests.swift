import SluiceControlPlane
import Testing
import Sluice
import SluiceIR
@testable import SluiceRuntime

/// `sl_ingress` returns where a packet goes (its port or multicast group in bits 16-31 of the
/// result) and `process` and `runIngress` take it from there, without reading the metadata
/// back: each decision, drop statistic, output and bridged word as the closures give them, for
/// ports and groups that use every bit of the returned value.
@Suite struct NativeDecisionTests {
    static func program() -> SwitchProgram {
        SwitchProgram("decisions") {
            HeaderType("h_t") {
                Field("cmd", 8)
                Field("arg", 16)
            }
            Header("h", "h_t")
            Metadata {
                Field("seen", 16)
            }
            Parser {
                State("start") {
                    Extract(hdr.h)
                    Accept()
                }
            }
            Ingress {
                Assign(meta.seen, hdr.h.arg)
                If(hdr.h.cmd == 1) {
                    Drop()
                } else: {
                    If(hdr.h.cmd == 2) {
                        Multicast(group: hdr.h.arg)
                    } else: {
                        Forward(port: hdr.h.arg.cast(9))
                    }
                }
            }
            Deparser {
                Emit(hdr.h)
            }
        }
    }

    /// Commands 0 (forward), 1 (drop), 2 (multicast) and 3 (forward) with arguments whose bits
    /// reach past the 9-bit port and into both bytes of a group; and a packet too short to parse.
    static let packets: [[UInt8]] = {
        var ps: [[UInt8]] = []
        for cmd: UInt8 in 0...3 {
            for arg: UInt16 in [0, 1, 0xFF, 0x100, 0x101, 0x1FF, 0x200, 0x1234, 0x8000, 0xFFFF] {
                ps.append([cmd, UInt8(arg >> 8), UInt8(truncatingIfNeeded: arg), 0xA5])
            }
        }
        ps.append([2])
        return ps
    }()

    static let groups: [UInt16] = [1, 0x100, 0x101, 0x1234, 0x8000, 0xFFFF]

    static func pipelines() throws -> (closures: Pipeline, native: Pipeline) {
        let ir = try program().verified()
        let closures = try Pipeline(ir, engine: .closures), native = try Pipeline(ir, engine: .native)
        #expect(native.engine == .native, "\(native.engineNote ?? "")")
        for p in [closures, native] {
            for g in groups { try p.setMulticastGroup(g, [MulticastMember(port: g & 0x1FF, rid: 1), MulticastMember(port: 7, rid: 2)]) }
        }
        return (closures, native)
    }

    @Test func processGivesTheClosuresOutputsAndStatistics() throws {
        let (closures, native) = try Self.pipelines()
        for (i, p) in Self.packets.enumerated() {
            let a = closures.process(p, port: 3, timestamp: UInt64(i)), b = native.process(p, port: 3, timestamp: UInt64(i))
            #expect(a.map(\.port) == b.map(\.port) && a.map(\.bytes) == b.map(\.bytes), "packet \(p)")
        }
        #expect(closures.stats == native.stats)
        // Every kind of outcome happened: the comparison covered them all.
        // Group 0 is no group (the packet goes to port 0); 0xFF, 0x1FF and 0x200 have no members.
        #expect(native.stats.parserDrops == 1 && native.stats.ingressDrops == 10 && native.stats.emptyGroupDrops == 3)
        #expect(native.stats.sent == 20 + 1 + 2 * 6)
    }

    @Test func runIngressGivesTheClosuresDecisionsAndBridge() throws {
        let (closures, native) = try Self.pipelines()
        #expect(closures.bridgeWords == native.bridgeWords)
        let words = closures.bridgeWords
        let ba = UnsafeMutablePointer<UInt64>.allocate(capacity: words), bb = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        defer { ba.deallocate(); bb.deallocate() }
        let a = PacketBuffer(), b = PacketBuffer()
        var decisions: [Pipeline.IngressDecision] = []
        for (i, p) in Self.packets.enumerated() {
            a.load(p); b.load(p)
            ba.initialize(repeating: 0xDEAD, count: words); bb.initialize(repeating: 0xDEAD, count: words)
            let da = closures.runIngress(a, port: 5, timestamp: UInt64(i), bridge: ba)
            let db = native.runIngress(b, port: 5, timestamp: UInt64(i), bridge: bb)
            #expect(da == db, "packet \(p)")
            #expect(a.bytes == b.bytes, "packet \(p)")
            #expect(Array(UnsafeBufferPointer(start: ba, count: words)) == Array(UnsafeBufferPointer(start: bb, count: words)), "packet \(p)")
            decisions.append(db)
        }
        #expect(closures.stats == native.stats)
        #expect(decisions.contains(.unicast(port: 0x1FF)) && decisions.contains(.multicast(group: 0xFFFF)) && decisions.contains(.multicast(group: 0x100)))
    }
}
