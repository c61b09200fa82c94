import Testing
import SluiceEmulator
import SluiceRuntime
import SluiceTesting
import SluicePrograms
@testable import SluiceML

/// The work of E1's schemes at a small size, pinned: events by kind, packets, retransmissions
/// and timer firings. A change that makes a scheme do more work fails here on any machine, with
/// nothing timed. (A stale-timer bug once made switchml's rows process 20x the events for the
/// same simulated result, and the demo went from under 50 s to 132 s unnoticed.)
///
/// When a count moves on purpose, the failure prints every count of the run: pin the new ones.
/// Each scheme runs under both engines: the native one must do exactly the closures' work.
@Suite struct WorkCountTests {
    /// E1's setup (8 workers, one 100 Gb/s switch, its seed) with 1 MB of float32 per worker:
    /// 16 uses of every one of switchml-k64's 256 slots. (With the stale-timer bug back, k256's
    /// timer firings here are 80, not 64, and the full-size demo's switchml rows do 14x the events.)
    static let elements = 262_144
    static let seed: UInt64 = 1

    struct Pin: Sendable, CustomTestStringConvertible {
        var scheme: AllReduceScheme
        var events: UInt64
        var appTimer: UInt64
        var transportTimer: UInt64
        var packetHops: UInt64
        var packetsSent: UInt64
        var retransmissions: UInt64
        var timerFirings: UInt64
        var testDescription: String { scheme.description }
    }

    static let pins: [Pin] = [
        Pin(scheme: .inNetwork(k: 64), events: 104_584, appTimer: 144, transportTimer: 0, packetHops: 69_632,
            packetsSent: 34_816, retransmissions: 0, timerFirings: 136),
        Pin(scheme: .inNetwork(k: 256), events: 30_784, appTimer: 72, transportTimer: 0, packetHops: 20_480,
            packetsSent: 10_240, retransmissions: 0, timerFirings: 64),
        Pin(scheme: .baseline(.ring), events: 71_440, appTimer: 0, transportTimer: 8, packetHops: 41_216,
            packetsSent: 10_304, retransmissions: 0, timerFirings: 0),
        Pin(scheme: .baseline(.tree), events: 68_416, appTimer: 0, transportTimer: 32, packetHops: 41_216,
            packetsSent: 10_304, retransmissions: 0, timerFirings: 0),
        Pin(scheme: .baseline(.ps), events: 67_850, appTimer: 0, transportTimer: 80, packetHops: 47_104,
            packetsSent: 11_776, retransmissions: 0, timerFirings: 0),
        Pin(scheme: .baseline(.psSharded), events: 72_008, appTimer: 0, transportTimer: 56, packetHops: 41_216,
            packetsSent: 10_304, retransmissions: 0, timerFirings: 0),
    ]

    @Test(arguments: pins, PipelineEngine.allCases)
    func e1SchemeDoesItsPinnedWork(_ pin: Pin, engine: PipelineEngine) throws {
        let n = 8
        let inputs = (0..<n).map { SyntheticTensors.gradients(count: Self.elements, worker: $0, seed: Self.seed) }
        let buffers = inputs.map { TensorBuffer($0) }
        var setup = StarSetup(workers: n, rateGbps: 100)
        setup.seed = Self.seed
        setup.engine = engine
        let m = try AllReduceRunner.run(pin.scheme, setup: setup, buffers: buffers)
        #expect(m.time != nil, "\(pin.scheme) did not finish")
        let reference = FloatReference(inputs)
        let check: FloatReference.Check
        if case .inNetwork(let k) = pin.scheme { check = reference.checkBlocks(buffers, k: k) } else { check = reference.checkSummation(buffers) }
        #expect(check.withinBound && check.workersAgree, "\(pin.scheme): sums out of bound")

        let w = m.work
        var pins = WorkPins("\(pin.scheme) at \(Self.elements) elements (seed \(Self.seed), \(engine.rawValue) engine)")
        pins.check("events", w.events.total, pinned: pin.events)
        pins.check("appTimer events", w.events.appTimer, pinned: pin.appTimer)
        pins.check("transportTimer events", w.events.transportTimer, pinned: pin.transportTimer)
        pins.check("packet-hops", w.packetHops, pinned: pin.packetHops)
        pins.check("packets sent", w.packetsSent, pinned: pin.packetsSent)
        pins.check("retransmissions", w.retransmissions, pinned: pin.retransmissions)
        pins.check("timer firings", w.timerFirings, pinned: pin.timerFirings)
        #expect(pins.failure == nil, "\(pins.failure ?? "")")
    }

    /// The native runs above are native: E1's switch programs compile to native code here (with
    /// no clang, the closures would run and the comparison would prove nothing).
    @Test func theNativeRunsAreNative() throws {
        for program in [try SwitchML.program(k: 64, slots: 4096).verified(), try SwitchML.program(k: 256, slots: 4096).verified()] {
            let p = try Pipeline(program, queues: true, engine: .native)
            #expect(p.engine == .native, "\(program.program.name): \(p.engineNote ?? "")")
        }
    }
}
