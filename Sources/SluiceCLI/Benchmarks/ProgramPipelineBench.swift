import SluiceControlPlane
import SluiceIR
import SluiceRuntime
import SluiceSupport
import SluiceTesting
#if canImport(Glibc)
import Glibc
#endif

/// `sluice bench pipeline --program P` for a program with no hand-written counterpart (any
/// built-in program, a package's own, a program file): packets its parser takes, made from its
/// IR and the installed entries (`PacketSynthesizer`), pushed through the pipeline on one core.
/// The baseline is the other engine: with the native engine, the closures on the same packets
/// (the outputs of both are checked to agree first); with the closures, none.
struct ProgramPipelineBench {
    let program: ResolvedProgram
    let entries: String?
    let ports: [UInt16]
    let packets: Int
    let seed: UInt64
    let progress: Bool
    var engine: PipelineEngine = .default

    struct Result {
        var mpps: Double
        var engine: PipelineEngine
        var engineNote: String?
        /// The closures on the same packets, when the native engine ran.
        var closureMpps: Double?
        /// Of the pool's packets: how many left on a port (copies counted once a packet) and how many were dropped.
        var forwarded: Int, dropped: Int, pool: Int
        /// The pool's drops by stage.
        var parserDrops: UInt64, ingressDrops: UInt64, egressDrops: UInt64
        var averageBytes: Double
    }

    /// Distinct packets cycled through.
    static let poolSize = 1 << 12

    func run() throws -> Result {
        let ir = program.program
        let queues = ir.facts.readsQueueValues
        let pipeline = try Pipeline(ir, seed: seed, queues: queues, engine: engine)
        let closures = pipeline.engine == .native ? try Pipeline(ir, seed: seed, queues: queues, engine: .closures) : nil
        let file = try entries.map { path -> EntriesFile in
            do { return try EntriesFile(path: path) } catch { throw CLIError("\(error)") }
        }
        for p in [pipeline] + (closures.map { [$0] } ?? []) {
            // The controller's first entries (groups, defaults); it does not run per packet here.
            if let make = program.controller {
                do { try make(ports).setup(p) } catch { throw CLIError("\(program.name): controller: \(error)") }
            }
            do { try file?.apply(to: p) } catch { throw CLIError("\(error)") }
        }

        // The pool: one buffer of packets back to back, with their offsets, lengths and ports.
        var synthesizer = PacketSynthesizer(ir)
        synthesizer.learn(pipeline)
        var rng = SplitMix64(seed: seed)
        var bytes: [UInt8] = []
        var offsets: [Int] = [], lengths: [Int] = [], inPorts: [UInt16] = []
        for _ in 0..<Self.poolSize {
            let packet = synthesizer.packet(&rng).bytes
            offsets.append(bytes.count); lengths.append(packet.count)
            inPorts.append(ports[Int(rng.next() % UInt64(ports.count))])
            bytes += packet
        }

        // What the pool does, and (with two engines) that both do the same.
        var forwarded = 0, dropped = 0
        let before = pipeline.stats
        let a = PacketBuffer(), b = PacketBuffer()
        try bytes.withUnsafeBytes { raw in
            for i in 0..<Self.poolSize {
                let packet = UnsafeRawBufferPointer(rebasing: raw[offsets[i]..<offsets[i] + lengths[i]])
                a.load(packet)
                pipeline.process(a, port: inPorts[i])
                if pipeline.outputCount == 0 { dropped += 1 } else { forwarded += 1 }
                guard let c = closures else { continue }
                b.load(packet)
                c.process(b, port: inPorts[i])
                let same = c.outputCount == pipeline.outputCount && (0..<c.outputCount).allSatisfy {
                    c.output($0).port == pipeline.output($0).port && c.output($0).buffer.bytes == pipeline.output($0).buffer.bytes
                }
                guard same else {
                    throw CLIError("the native and closure engines disagree on pool packet \(i) (port \(inPorts[i]), \(lengths[i]) bytes; seed \(seed)): \(pipeline.outputCount) vs \(c.outputCount) outputs; run `sluice fuzz \(program.name)` to narrow it down")
                }
            }
        }

        let after = pipeline.stats

        let buffers = (PacketBuffer(), PacketBuffer())
        let mask = Self.poolSize - 1
        let engines = [pipeline] + (closures.map { [$0] } ?? [])
        let figures = bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            return timeInTurns(engines.map { $0.engine.rawValue }, packets: packets, progress: progress) { e, range in
                let p = engines[e]
                return timeLoadedAhead(range, buffers, load: { buf, i in
                    buf.load(UnsafeRawBufferPointer(start: base + offsets[i & mask], count: lengths[i & mask]))
                }) { buf, i in
                    p.process(buf, port: inPorts[i & mask])
                    return p.outputCount
                }
            }
        }
        let mpps = figures[0]
        let closureMpps = closures == nil ? nil : figures[1]
        return Result(mpps: mpps, engine: pipeline.engine, engineNote: pipeline.engineNote, closureMpps: closureMpps,
                      forwarded: forwarded, dropped: dropped, pool: Self.poolSize,
                      parserDrops: after.parserDrops - before.parserDrops, ingressDrops: after.ingressDrops - before.ingressDrops,
                      egressDrops: after.egressDrops - before.egressDrops,
                      averageBytes: Double(bytes.count) / Double(Self.poolSize))
    }

}
