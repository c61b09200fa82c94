import SluiceControlPlane
import SluiceIR
import SluiceRuntime

/// A packet as a test expects it: bytes plus a mask of the bits that matter (PTF's `Mask`).
public struct ExpectedPacket: Sendable, CustomStringConvertible {
    public var bytes: [UInt8]
    /// 0xFF where the byte must match; 0x00 for don't-care; any bit pattern in between.
    public var mask: [UInt8]
    /// When false, the output may be longer than `bytes` (the extra bytes are not checked).
    public var exactLength = true

    public init(_ bytes: [UInt8]) { self.bytes = bytes; mask = Array(repeating: 0xFF, count: bytes.count) }

    /// Ignore `width` bits at `bitOffset` (e.g. a field whose value the test does not care about).
    public func ignoring(bitOffset: Int, width: Int) -> ExpectedPacket {
        var c = self
        for b in bitOffset..<(bitOffset + width) where b / 8 < c.mask.count { c.mask[b / 8] &= ~(0x80 >> UInt8(b % 8)) }
        return c
    }

    /// Ignore whole bytes.
    public func ignoring(bytes r: Range<Int>) -> ExpectedPacket { ignoring(bitOffset: r.lowerBound * 8, width: r.count * 8) }

    public func matches(_ actual: [UInt8]) -> Bool {
        if exactLength ? actual.count != bytes.count : actual.count < bytes.count { return false }
        for i in 0..<bytes.count where (actual[i] ^ bytes[i]) & mask[i] != 0 { return false }
        return true
    }

    public var description: String {
        zip(bytes, mask).map { b, m in m == 0 ? "**" : m == 0xFF ? hex2(b) : hex2(b) + "?" }.joined(separator: " ")
    }
}

func hex2(_ b: UInt8) -> String { let s = String(b, radix: 16); return s.count == 1 ? "0" + s : s }

/// What a test saw that it did not expect.
public struct HarnessError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// A switch under test, PTF-style: `send` packets on ports, then `expect` exact packets on exact
/// ports and `expectNoOtherPackets`. Digests go to the program's controller after each packet.
public final class SwitchHarness {
    public let pipeline: Pipeline
    public let controller: (any ProgramController)?
    /// Outputs not yet claimed by an `expect`, per port, in order.
    public private(set) var pending: [UInt16: [[UInt8]]] = [:]
    public private(set) var sent = 0
    var clock: UInt64 = 0

    /// `queues: true` lets the program read queue fields (they read 0: the harness has no
    /// traffic manager), for programs written for the emulator. `trace`: trace every packet.
    public init(_ program: VerifiedProgram, entries: String? = nil, controller: (any ProgramController)? = nil, seed: UInt64 = 1,
                queues: Bool = false, trace: PipelineTracer? = nil) throws {
        pipeline = try Pipeline(program, seed: seed, queues: queues, trace: trace)
        self.controller = controller
        try controller?.setup(pipeline)
        if let entries { try EntriesFile(file: "<entries>", text: entries).apply(to: pipeline) }
    }

    /// Run one packet through the switch at `timestamp` (nanoseconds; default: 1 us after the last).
    public func send(_ bytes: [UInt8], port: UInt16, timestamp: UInt64? = nil) throws {
        clock = timestamp ?? clock + 1000
        sent += 1
        for (p, out) in pipeline.process(bytes, port: port, timestamp: clock) { pending[p, default: []].append(out) }
        let digests = pipeline.drainDigests()
        if !digests.isEmpty { try controller?.handle(digests, pipeline) }
    }

    /// The next packet on `port` must match.
    public func expect(_ expected: ExpectedPacket, port: UInt16) throws {
        guard var q = pending[port], !q.isEmpty else {
            throw HarnessError(message: "expected a packet on port \(port), but none came out there\(othersDescription())\n  expected: \(expected)")
        }
        let got = q.removeFirst()
        pending[port] = q
        if !expected.matches(got) {
            throw HarnessError(message: "port \(port): the packet differs from the expected one\n\(diff(expected, got))")
        }
    }

    public func expect(_ bytes: [UInt8], port: UInt16) throws { try expect(ExpectedPacket(bytes), port: port) }

    /// No output may remain unclaimed.
    public func expectNoOtherPackets() throws {
        let left = pending.filter { !$0.value.isEmpty }
        if !left.isEmpty {
            throw HarnessError(message: "unexpected packets: " + left.keys.sorted().map { "\(left[$0]!.count) on port \($0)" }.joined(separator: ", ")
                + "\n" + left.keys.sorted().flatMap { p in left[p]!.map { "  port \(p): \($0.map(hex2).joined(separator: " "))" } }.joined(separator: "\n"))
        }
    }

    /// Send a packet and expect it to be dropped (no output anywhere).
    public func expectDropped(_ bytes: [UInt8], port: UInt16) throws {
        try send(bytes, port: port)
        try expectNoOtherPackets()
    }

    /// Take every pending output, in port order.
    public func drain() -> [(port: UInt16, bytes: [UInt8])] {
        defer { pending = [:] }
        return pending.keys.sorted().flatMap { p in pending[p]!.map { (p, $0) } }
    }

    func othersDescription() -> String {
        let left = pending.filter { !$0.value.isEmpty }
        return left.isEmpty ? " (nothing came out at all)" : " (pending: " + left.keys.sorted().map { "port \($0): \(left[$0]!.count)" }.joined(separator: ", ") + ")"
    }

    func diff(_ e: ExpectedPacket, _ got: [UInt8]) -> String {
        var lines = ["  length: expected \(e.bytes.count)\(e.exactLength ? "" : "+"), got \(got.count)"]
        var shown = 0
        for i in 0..<max(e.bytes.count, got.count) where shown < 16 {
            let eb = i < e.bytes.count ? e.bytes[i] : nil, gb = i < got.count ? got[i] : nil
            let m = i < e.mask.count ? e.mask[i] : 0xFF
            if let eb, let gb, (eb ^ gb) & m == 0 { continue }
            if eb == nil && !e.exactLength { continue }
            lines.append("  byte \(i): expected \(eb.map(hex2) ?? "--"), got \(gb.map(hex2) ?? "--")")
            shown += 1
        }
        lines.append("  expected: \(e)")
        lines.append("  got:      \(got.map(hex2).joined(separator: " "))")
        return lines.joined(separator: "\n")
    }
}
