import SluiceControlPlane
import SluiceEmulator
import SluicePrograms
import SluiceRuntime

/// The `atp` packet after UDP: atp_t then k int32 values (see `ATP`'s doc comment).
enum ATPFormat {
    static func payloadBytes(k: Int) -> Int { ATP.headerBytes + 4 * k }

    static func write(_ p: UnsafeMutableRawBufferPointer, bitmap: UInt32, workers: Int, job: UInt8, flags: UInt8, k: Int, seq: UInt32) {
        p.storeBytes(of: bitmap.bigEndian, toByteOffset: 0, as: UInt32.self)
        p[4] = UInt8(workers); p[5] = job; p[6] = flags; p[7] = UInt8(k & 0xFF)
        p.storeBytes(of: seq.bigEndian, toByteOffset: 8, as: UInt32.self)
    }

    struct Header { var bitmap: UInt32; var job: UInt8; var flags: UInt8; var seq: UInt32 }

    static func read(_ d: UnsafeRawBufferPointer, k: Int) -> Header? {
        guard d.count >= payloadBytes(k: k), Int(d[7]) == k & 0xFF else { return nil }
        return Header(bitmap: UInt32(bigEndian: d.loadUnaligned(fromByteOffset: 0, as: UInt32.self)), job: d[5], flags: d[6],
                      seq: UInt32(bigEndian: d.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
    }

    static func value(_ d: UnsafeRawBufferPointer, _ i: Int) -> Int32 {
        Int32(bitPattern: UInt32(bigEndian: d.loadUnaligned(fromByteOffset: ATP.headerBytes + 4 * i, as: UInt32.self)))
    }
    static func put(_ p: UnsafeMutableRawBufferPointer, _ i: Int, _ v: Int32) {
        p.storeBytes(of: UInt32(bitPattern: v).bigEndian, toByteOffset: ATP.headerBytes + 4 * i, as: UInt32.self)
    }
}

/// An ATP worker on an emulated host: streams its tensor in chunks of k values with
/// sequence numbers 0 ..< chunks, at most `window` outstanding, each with a retransmission
/// timer (`timeout`) that resends it flagged `resend`; copies each result into its buffer and
/// discards duplicates.
final class ATPWorker: Application, DatagramReceiver {
    let job: UInt8, rank: Int, workers: Int, k: Int, window: Int, timeout: Int64
    let buffer: TensorBuffer<Int32>
    let serverIP: UInt32, localPort: UInt16
    let done: (Int64) -> Void
    var api: HostAPI!
    var server = UDPEndpoint(mac: 0, ip: 0, port: 0)
    let chunks: Int
    var next = 0, received = 0
    var got: [Bool]
    var sentAt: [Int64]

    init(job: UInt8, rank: Int, workers: Int, k: Int, window: Int, timeout: Int64, buffer: TensorBuffer<Int32>,
         serverIP: UInt32, localPort: UInt16, done: @escaping (Int64) -> Void) {
        self.job = job; self.rank = rank; self.workers = workers; self.k = k; self.window = window; self.timeout = timeout
        self.buffer = buffer; self.serverIP = serverIP; self.localPort = localPort; self.done = done
        chunks = (buffer.count + k - 1) / k
        got = Array(repeating: false, count: chunks)
        sentAt = Array(repeating: 0, count: chunks)
    }

    func start(_ host: HostAPI) {
        api = host
        server = host.endpoint(ip: serverIP, port: ATP.updatePort)
        host.bind(port: localPort, self)
        if chunks == 0 { done(host.now); return }
        while next < min(window, chunks) { send(next, resend: false); next += 1 }
    }

    func send(_ seq: Int, resend: Bool) {
        let start = seq * k, k = self.k, n = min(k, buffer.count - start)
        sentAt[seq] = api.now
        buffer.values.withUnsafeBufferPointer { v in
            _ = api.sendDatagram(to: server, from: localPort, length: ATPFormat.payloadBytes(k: k)) { p in
                ATPFormat.write(p, bitmap: 1 << UInt32(rank), workers: workers, job: job, flags: resend ? ATP.resend : 0, k: k, seq: UInt32(seq))
                for i in 0..<n { ATPFormat.put(p, i, v[start + i]) }
                for i in n..<k { ATPFormat.put(p, i, 0) }
            }
        }
        api.setTimer(after: timeout, token: seq)
    }

    func received(_ message: ReceivedMessage, _ host: HostAPI) {}

    func timer(_ token: Int, _ host: HostAPI) {
        guard token < chunks, !got[token], host.now - sentAt[token] >= timeout else { return }
        send(token, resend: true)
    }

    func received(datagram d: UnsafeRawBufferPointer, from: UDPEndpoint, ce: Bool, _ host: HostAPI) {
        guard let h = ATPFormat.read(d, k: k), h.flags & ATP.result != 0, h.job == job else { return }
        let seq = Int(h.seq)
        guard seq < chunks, !got[seq] else { return }
        got[seq] = true
        let start = seq * k, n = min(k, buffer.count - start)
        buffer.values.withUnsafeMutableBufferPointer { v in for i in 0..<n { v[start + i] = ATPFormat.value(d, i) } }
        received += 1
        if next < chunks { send(next, resend: false); next += 1 }
        if received == chunks { done(host.now) }
    }
}

/// The parameter server of one ATP job: sums in software what the switch did not (collisions,
/// evictions, resends), merges the switch's aggregates by bitmap, and sends each completed
/// sequence's result towards the switch, which multicasts it. Anything for a completed
/// sequence gets its result again.
final class ATPServer: Application, DatagramReceiver {
    let job: UInt8, workers: Int, k: Int
    let full: UInt32
    var api: HostAPI!
    var resultTo = UDPEndpoint(mac: 0, ip: 0, port: 0)
    var bitmaps: [Int: UInt32] = [:]
    var sums: [Int: [Int32]] = [:]
    var results: [Int: [Int32]] = [:]
    /// Contributions summed by the switch / by this server; packets whose bits overlapped.
    var switchAggregated = 0, fallback = 0, overlaps = 0

    init(job: UInt8, workers: Int, k: Int) {
        self.job = job; self.workers = workers; self.k = k
        full = workers == 32 ? .max : (1 << UInt32(workers)) - 1
    }

    func start(_ host: HostAPI) {
        api = host
        // Any address: the switch takes every result to the result port.
        resultTo = host.endpoint(ip: InNetworkRun<Int32>.serviceIP, port: ATP.resultPort)
        host.bind(port: ATP.updatePort, self)
    }

    func received(_ message: ReceivedMessage, _ host: HostAPI) {}

    func received(datagram d: UnsafeRawBufferPointer, from: UDPEndpoint, ce: Bool, _ host: HostAPI) {
        guard let h = ATPFormat.read(d, k: k), h.flags & ATP.result == 0, h.job == job else { return }
        let seq = Int(h.seq)
        if let r = results[seq] { sendResult(seq, r); return }
        let have = bitmaps[seq, default: 0]
        let bits = h.bitmap & full
        guard bits != 0, have & bits == 0 else {
            if have & bits != bits { overlaps += 1 }
            return
        }
        var s = sums[seq] ?? Array(repeating: 0, count: k)
        for i in 0..<k { s[i] = s[i] &+ ATPFormat.value(d, i) }
        if h.flags & ATP.aggregated != 0 { switchAggregated += bits.nonzeroBitCount } else { fallback += bits.nonzeroBitCount }
        if have | bits == full {
            bitmaps[seq] = nil; sums[seq] = nil
            results[seq] = s
            sendResult(seq, s)
        } else {
            bitmaps[seq] = have | bits
            sums[seq] = s
        }
    }

    func sendResult(_ seq: Int, _ values: [Int32]) {
        let k = self.k
        _ = api.sendDatagram(to: resultTo, from: ATP.updatePort, length: ATPFormat.payloadBytes(k: k)) { p in
            ATPFormat.write(p, bitmap: full, workers: workers, job: job, flags: ATP.result, k: k, seq: UInt32(seq))
            for i in 0..<k { ATPFormat.put(p, i, values[i]) }
        }
    }
}

/// ATP jobs on an emulated switch running `atp`: installs each job, attaches its workers and
/// its parameter server. Reduces the buffers in place (int32).
public final class ATPRun {
    public struct JobSpec {
        public var workers: [String]
        public var server: String
        public var buffers: [TensorBuffer<Int32>]
        public var window: Int
        /// Retransmission timeout (ps).
        public var timeout: Int64
        public init(workers: [String], server: String, buffers: [TensorBuffer<Int32>], window: Int, timeout: Int64) {
            self.workers = workers; self.server = server; self.buffers = buffers; self.window = window; self.timeout = timeout
        }
    }

    var finished: [[Int64?]]
    var servers: [ATPServer] = []

    public init(emulator: Emulator, switchName: String, jobs: [JobSpec], k: Int) throws {
        finished = jobs.map { Array(repeating: nil, count: $0.workers.count) }
        let cp: any ControlPlane = try emulator.controlPlane(switch: switchName)
        for (j, spec) in jobs.enumerated() {
            let id = UInt8(j + 1)
            guard spec.workers.count == spec.buffers.count else {
                throw AggregationError("atp job \(id): \(spec.workers.count) workers but \(spec.buffers.count) buffers (valid: one buffer per worker)")
            }
            guard spec.window >= 1, spec.timeout > 0 else {
                throw AggregationError("atp job \(id): window \(spec.window), timeout \(spec.timeout) ps (valid: both above 0)")
            }
            let port = UInt16(41_000) + UInt16(id)
            var members: [SwitchML.Worker] = []
            for name in spec.workers {
                members.append(try Self.member(emulator, name, switchName: switchName, port: port))
            }
            let serverIP = try Self.member(emulator, spec.server, switchName: switchName, port: 0).ip
            try ATP.install(ATP.Job(job: id, serverIP: serverIP, group: UInt16(id) + 100, workers: members), into: cp)
            let server = ATPServer(job: id, workers: spec.workers.count, k: k)
            try emulator.attach(server, host: spec.server)
            servers.append(server)
            for (rank, name) in spec.workers.enumerated() {
                let w = ATPWorker(job: id, rank: rank, workers: spec.workers.count, k: k, window: spec.window, timeout: spec.timeout,
                                  buffer: spec.buffers[rank], serverIP: serverIP, localPort: port) { [unowned self] t in
                    self.finished[j][rank] = t
                }
                try emulator.attach(w, host: name)
            }
        }
    }

    static func member(_ emulator: Emulator, _ name: String, switchName: String, port: UInt16) throws -> SwitchML.Worker {
        guard let node = emulator.spec.node(named: name), case .host(let h) = emulator.spec.nodes[node].kind else {
            throw AggregationError("no host named '\(name)' (hosts: \(emulator.hostNames.joined(separator: ", ")))")
        }
        guard let up = emulator.uplink(ofHost: name), up.switch == switchName else {
            throw AggregationError("host '\(name)' is not connected to switch '\(switchName)' (atp needs every worker one hop from it)")
        }
        return SwitchML.Worker(ip: h.ipv4, mac: emulator.spec.nodes[node].mac, udpPort: port, switchPort: up.port)
    }

    /// Per job: when each worker had every result.
    public var outcomes: [CollectiveOutcome] {
        finished.map { f in var o = CollectiveOutcome(workers: f.count); o.finished = f; return o }
    }
    /// Contributions the switch summed, and those the parameter servers summed.
    public var switchAggregated: Int { servers.reduce(0) { $0 + $1.switchAggregated } }
    public var fallbackPackets: Int { servers.reduce(0) { $0 + $1.fallback } }
    /// Packets whose contributions partly overlapped what a server had counted (should stay 0).
    public var overlaps: Int { servers.reduce(0) { $0 + $1.overlaps } }
}
