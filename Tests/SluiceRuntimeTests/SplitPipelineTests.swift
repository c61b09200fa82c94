import Testing
import Sluice
import SluiceIR
@testable import SluiceRuntime
import SluiceTesting

/// Ingress and egress run separately, as a host with its own traffic manager (the emulator)
/// runs them: the decision, the bridged metadata and the queue values egress sees.
@Suite struct SplitPipelineTests {
    static func program() -> SwitchProgram {
        SwitchProgram("split") {
            HeaderType("h_t") {
                Field("tag", 8)
                Field("depth", 32)
                Field("note", 8)
            }
            Header("h", "h_t")
            Metadata {
                Field("mark", 8)
            }
            Parser {
                State("start") {
                    Extract(hdr.h)
                    Accept()
                }
            }
            Ingress {
                Assign(meta.mark, hdr.h.tag + 1)
                If(hdr.h.tag == 0) {
                    Drop()
                } else: {
                    If(hdr.h.tag == 9) {
                        Multicast(group: 5)
                    } else: {
                        Forward(port: 3)
                    }
                }
            }
            Egress {
                Assign(hdr.h.depth, standard.enqQdepth.cast(32))
                Assign(hdr.h.note, meta.mark)
            }
            Deparser {
                Emit(hdr.h)
            }
        }
    }

    @Test func ingressDecidesAndEgressSeesBridgedMetadataAndQueueDepth() throws {
        let p = try Pipeline(Self.program().verified(), queues: true)
        let bridge = UnsafeMutablePointer<UInt64>.allocate(capacity: p.bridgeWords)
        defer { bridge.deallocate() }
        let buf = PacketBuffer()
        buf.load([7, 0, 0, 0, 0, 0xAA, 0xBB])
        #expect(p.runIngress(buf, port: 1, timestamp: 10, bridge: bridge) == .unicast(port: 3))
        // Another packet in between must not disturb the first one's egress.
        let other = PacketBuffer()
        other.load([9, 0, 0, 0, 0, 0])
        let bridge2 = UnsafeMutablePointer<UInt64>.allocate(capacity: p.bridgeWords)
        defer { bridge2.deallocate() }
        #expect(p.runIngress(other, port: 2, timestamp: 11, bridge: bridge2) == .multicast(group: 5))
        #expect(p.runEgress(buf, port: 3, bridge: bridge, queue: .init(enqQdepth: 0x01020)) == .send)
        #expect(buf.bytes == [7, 0, 0, 0x10, 0x20, 8, 0xBB])
        buf.load([0, 0, 0, 0, 0, 0])
        #expect(p.runIngress(buf, port: 1, timestamp: 12, bridge: bridge) == .drop)
    }

    @Test func queueValuesAreRejectedWithoutQueues() throws {
        #expect(throws: CompileError.self) { try Pipeline(Self.program().verified()) }
    }

    /// A program without an egress control: `tag` 1 recirculates on the first pass.
    static func ingressOnly(recirculating: Bool) -> SwitchProgram {
        SwitchProgram("ingress-only") {
            HeaderType("h_t") {
                Field("tag", 8)
            }
            Header("h", "h_t")
            Parser {
                State("start") {
                    Extract(hdr.h)
                    Accept()
                }
            }
            Ingress {
                Forward(port: 2)
                if recirculating {
                    If(hdr.h.tag == 1 && standard.passCount == 0) {
                        Recirculate()
                    }
                }
            }
            Deparser {
                Emit(hdr.h)
            }
        }
    }

    /// Without an egress control the bridged words carry only the recirculation request, and
    /// only for a program that can make one: the emulator's hop touches no bridge otherwise.
    @Test(arguments: [PipelineEngine.closures, .native])
    func recirculationWithoutEgressRidesTheBridgeOnlyWhenPossible(engine: PipelineEngine) throws {
        let buf = PacketBuffer()
        let plain = try Self.ingressOnly(recirculating: false).verified()
        #expect(!plain.facts.recirculates)
        let p = try Pipeline(plain, engine: engine)
        #expect(p.engine == engine, "\(p.engineNote ?? "")")
        // As many words as a host gives a packet (the metadata, then the recirculation flag).
        let words = p.bridgeWords
        let bridge = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        defer { bridge.deallocate() }
        bridge.initialize(repeating: 0xDEAD, count: words)
        buf.load([1])
        #expect(p.runIngress(buf, port: 1, timestamp: 0, bridge: bridge) == .unicast(port: 2))
        #expect(Array(UnsafeBufferPointer(start: bridge, count: words)) == Array(repeating: 0xDEAD, count: words), "nothing written")
        #expect(p.runEgressWithoutControl(bridge: bridge) == .send, "and nothing read")
        #expect(p.stats.sent == 1)

        // The native engine refuses recirculation; the closures carry it.
        guard engine == .closures else { return }
        let again = try Self.ingressOnly(recirculating: true).verified()
        #expect(again.facts.recirculates)
        let r = try Pipeline(again, engine: engine)
        #expect(r.bridgeWords <= words, "the same metadata: the bridge above holds its words")
        buf.load([1])
        #expect(r.runIngress(buf, port: 1, timestamp: 0, bridge: bridge) == .unicast(port: 2))
        #expect(r.runEgressWithoutControl(bridge: bridge) == .recirculate)
        #expect(r.runIngress(buf, port: 1, timestamp: 0, pass: 1, bridge: bridge) == .unicast(port: 2))
        #expect(r.runEgressWithoutControl(bridge: bridge) == .send)
        buf.load([2])
        #expect(r.runIngress(buf, port: 1, timestamp: 0, bridge: bridge) == .unicast(port: 2))
        #expect(r.runEgressWithoutControl(bridge: bridge) == .send)
    }
}
