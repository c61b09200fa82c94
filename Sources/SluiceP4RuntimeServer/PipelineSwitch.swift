import SluiceControlPlane
import SluiceIR
import SluiceRuntime

/// A switch with no interfaces: the runtime's pipeline in memory, for tests and `sluice bench
/// p4runtime`. Packets go in with `send` (or a controller's PacketOut); what comes out is
/// returned, and what goes to `cpuPort` reaches `packetIn`.
public final class PipelineSwitch: SwitchTarget, @unchecked Sendable {
    let lock = SwitchLock()
    var pipeline: Pipeline?
    let buffer = PacketBuffer()
    public let cpuPort: UInt16
    /// Receives what the program sends to `cpuPort`.
    public var packetIn: (@Sendable ([UInt8]) -> Void)?

    public init(cpuPort: UInt16 = 510) { self.cpuPort = cpuPort }

    public func check(_ program: VerifiedProgram) throws { _ = try Pipeline(program) }

    public func install(_ program: VerifiedProgram, seed: UInt64) throws {
        let p = try Pipeline(program, seed: seed)
        lock.withLock { pipeline = p }
    }

    public func withControlPlane<R>(_ body: (any ControlPlane) throws -> R) throws -> R? {
        try lock.withLock { () throws -> R? in try pipeline.map(body) }
    }

    /// `send` holds `lock` for each packet, as `withControlPlane` does for its body.
    public var dataplaneAtomic: Bool { true }

    public func inject(_ bytes: [UInt8], port: UInt16) -> Bool { send(bytes, port: port) != nil }

    /// Runs one packet in on `port`; returns the (port, bytes) it sent out other than to the CPU
    /// port, or nil when no program runs.
    @discardableResult
    public func send(_ bytes: [UInt8], port: UInt16) -> [(port: UInt16, bytes: [UInt8])]? {
        let result: (outs: [(port: UInt16, bytes: [UInt8])], cpu: [[UInt8]])? = lock.withLock {
            guard let pipeline, buffer.load(bytes) else { return nil }
            pipeline.process(buffer, port: port, timestamp: 0)
            var outs: [(port: UInt16, bytes: [UInt8])] = [], cpu: [[UInt8]] = []
            for i in 0..<pipeline.outputCount {
                let (p, b) = pipeline.output(i)
                let copy = Array(UnsafeBufferPointer(start: b.data, count: b.length))
                if p == cpuPort { cpu.append(copy) } else { outs.append((p, copy)) }
            }
            return (outs, cpu)
        }
        guard let result else { return nil }
        if let packetIn { for c in result.cpu { packetIn(c) } }
        return result.outs
    }
}
