import Testing
import Foundation
import SluiceIR
import SluiceRuntime
import SluiceTesting
import SluicePrograms
@testable import SluiceML
#if canImport(Glibc)
import Glibc
#endif

/// The worker library over real UDP sockets on loopback, each worker in its own thread with
/// `allReduceSync`, against the real `switchml` program run by `SocketAggregator` (the runtime
/// behind one UDP socket). Every 7th update is dropped on arrival, so the timers and the shadow
/// copies work over the real sockets too. Sent one datagram a system call (batch 1) and in
/// batches (sendmmsg / recvmmsg), the sums are the same.
@Suite struct UDPAggregationTests {
    @Test(arguments: [1, 32])
    func workersOverLoopbackSocketsSumExactly(batch: Int) throws {
        let n = 3, k = 64, count = k * 40 + 11
        let config = AggregationConfig(job: 1, workers: n, elementsPerPacket: k, poolSlots: 8, timeout: 2_000_000_000)   // 2 ms
        let ports = try (0..<n).map { _ in try UDPAggregationPort(localIP: 0x7F00_0001, localPort: 0, serviceIP: 0x7F00_0001, servicePort: 1, batch: batch) }
        let shim = try SocketAggregator(ip: 0x7F00_0001, port: 0, workers: ports.map { .init(ip: 0x7F00_0001, port: $0.localPort) },
                                        elementsPerPacket: k, slots: 8, dropEvery: 7)
        for p in ports { p.retarget(serviceIP: 0x7F00_0001, servicePort: shim.port) }
        print("UDPAggregationTests seed 13")
        let inputs = (0..<n).map { SyntheticTensors.integers(count: count, worker: $0, seed: 13) }
        let buffers = inputs.map { TensorBuffer($0) }
        let workers = try ports.map { try AggregationWorker(config: config, port: $0) }
        let server = Thread { shim.serve() }
        server.start()
        defer { shim.stop() }
        let errors = NSLock()
        nonisolated(unsafe) var failures: [String] = []
        nonisolated(unsafe) let ws = workers, bs = buffers
        // One thread each (concurrentPerform would run no more workers at once than there are
        // cores, and a round needs all of them).
        let group = DispatchGroup()
        for w in 0..<n {
            group.enter()
            Thread {
                do { try ws[w].allReduceSync(bs[w], timeoutSeconds: 20) } catch { errors.withLock { failures.append("worker \(w): \(error)") } }
                group.leave()
            }.start()
        }
        group.wait()
        #expect(failures.isEmpty, "\(failures); the aggregator saw \(shim.updates) updates and sent \(shim.sent) packets; pipeline \(shim.pipelineStats); workers \(workers.map(\.stats))")
        let reference = Reference.sum(inputs)
        for (w, b) in buffers.enumerated() {
            let wrong = zip(b.values, reference).filter { $0 != $1 }.count
            #expect(wrong == 0, "worker \(w): \(wrong) of \(count) elements differ from the reference sum")
        }
        #expect(workers.contains { $0.stats.retransmissions > 0 }, "the shim dropped updates; someone must have retransmitted")
        for (w, p) in ports.enumerated() {
            #expect(p.datagramsSent == workers[w].stats.packetsSent && p.sendErrors == 0, "worker \(w): \(p.datagramsSent) datagrams left of \(workers[w].stats.packetsSent) sent")
            if batch == 1 {
                #expect(p.sendCalls == p.datagramsSent, "worker \(w): batch 1 sends each datagram alone")
            } else {
                // The first window (8 slots) leaves in one call, so there are fewer calls than datagrams.
                #expect(p.sendCalls < p.datagramsSent, "worker \(w): \(p.sendCalls) calls for \(p.datagramsSent) datagrams")
            }
        }
    }

    /// Three ports for the workers of test `i` (0 ... 3) of those binding fixed ports, above the
    /// kernel's ephemeral range (32768-60999), so that no socket another test opens on port 0
    /// meanwhile takes one between jobs; apart for each test and each test process.
    static func portBase(_ i: Int) -> UInt16 { UInt16(61_000 + i * 1_100 + Int(getpid() % 350) * 3) }

    /// One job on `shim`: fresh workers (as new processes: every slot on set 0) of `ranks` (all
    /// by default), `count` int32 values each, seeded by `seed`; how many elements of each
    /// worker's result differ from the reference sum (nil for a worker that failed).
    static func job(_ shim: SocketAggregator, _ members: [SocketAggregator.Member], _ config: AggregationConfig, count: Int, seed: UInt64,
                    leaveReusable: Bool, ranks: [Int]? = nil, timeoutSeconds: Double = 20) throws -> [Int?] {
        let n = members.count, ranks = ranks ?? Array(0..<n)
        let ports = try ranks.map { try UDPAggregationPort(localIP: 0x7F00_0001, localPort: members[$0].port, serviceIP: 0x7F00_0001, servicePort: shim.port) }
        let workers = try ports.map { try AggregationWorker(config: config, port: $0) }
        let inputs = (0..<n).map { SyntheticTensors.integers(count: count, worker: $0, seed: seed) }
        let buffers = ranks.map { TensorBuffer(inputs[$0]) }
        let lock = NSLock()
        nonisolated(unsafe) var failed = Set<Int>()
        nonisolated(unsafe) let ws = workers, bs = buffers
        let group = DispatchGroup()
        for w in ranks.indices {
            group.enter()
            Thread {
                do {
                    try ws[w].allReduceSync(bs[w], timeoutSeconds: timeoutSeconds)
                    if leaveReusable { try ws[w].leaveSlotsReusableSync(timeoutSeconds: timeoutSeconds) }
                } catch { lock.withLock { _ = failed.insert(w) } }
                group.leave()
            }.start()
        }
        group.wait()
        for p in ports { p.close() }   // the next job's workers bind these ports
        let reference = Reference.sum(inputs)
        return buffers.indices.map { w in failed.contains(w) ? nil : zip(buffers[w].values, reference).filter { $0 != $1 }.count }
    }

    /// A program file of a switchml variant (here 32 values a packet and a pool of 16 slots,
    /// read back from its JSON) served in place of the built-in one: the job sums exactly; a
    /// program without switchml's interface, or with other values a packet, is refused by name.
    @Test func aProgramFileWithSwitchMLsTablesIsServed() throws {
        let n = 3, k = 32, slots = 8
        let file = try ProgramFile.encode(try SwitchML.program(k: k, slots: 16).verified(), writtenBy: "test")
        let program = try ProgramFile.decode(file, file: "variant.json")
        let config = AggregationConfig(job: 1, workers: n, elementsPerPacket: k, poolSlots: slots, timeout: 2_000_000_000)
        let base = Self.portBase(0) + 600
        let members = (0..<n).map { SocketAggregator.Member(ip: 0x7F00_0001, port: base + UInt16($0)) }
        let shim = try SocketAggregator(ip: 0x7F00_0001, port: 0, workers: members, elementsPerPacket: k, slots: slots, program: program)
        let server = Thread { shim.serve() }
        server.start()
        defer { shim.stop() }
        print("UDPAggregationTests seed 51")
        #expect(try Self.job(shim, members, config, count: 8 * k + 5, seed: 51, leaveReusable: true) == [0, 0, 0])

        #expect(Self.failure {
            _ = try SocketAggregator(ip: 0x7F00_0001, port: 0, workers: members, elementsPerPacket: 64, slots: slots, program: program)
        } == "program 'switchml' carries 32 values a packet, not 64")
        #expect(Self.failure {
            _ = try SocketAggregator(ip: 0x7F00_0001, port: 0, workers: members, elementsPerPacket: k, slots: 32, program: program)
        } == "32 pool slots (valid: 1 ... 16, the pool of 'switchml')")
        #expect(Self.failure {
            _ = try SocketAggregator(ip: 0x7F00_0001, port: 0, workers: members, elementsPerPacket: k, slots: slots,
                                     program: try IPv4Router.program().verified())
        } == "program 'ipv4-router' lacks switchml's tables, registers or values header (valid: switchml, or a program with its control-plane interface)")
    }

    /// What `body` threw, as text ("no error" when it did not).
    static func failure(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    /// Jobs one after another on one aggregator, each with workers that start afresh (as
    /// `sluice allreduce` processes do: every slot on set 0) and other data. Tensor sizes
    /// leave slots last used on set 0, on set 1 and both. Each job ends with
    /// `leaveSlotsReusable` and every job sums exactly; without it, the job after one that
    /// left set 0 complete gets that job's sums back (the control run).
    @Test func consecutiveJobsOnOneAggregatorSumExactly() throws {
        let n = 3, k = 32, slots = 8
        let config = AggregationConfig(job: 1, workers: n, elementsPerPacket: k, poolSlots: slots, timeout: 2_000_000_000)
        // Every job's workers bind the same ports: the aggregator knows its workers by address
        // and port.
        let base = Self.portBase(0)
        let members = (0..<n).map { SocketAggregator.Member(ip: 0x7F00_0001, port: base + UInt16($0)) }
        let shim = try SocketAggregator(ip: 0x7F00_0001, port: 0, workers: members, elementsPerPacket: k, slots: slots)
        let server = Thread { shim.serve() }
        server.start()
        defer { shim.stop() }

        print("UDPAggregationTests seeds 21 ... 26")
        // 8 blocks: every slot once (set 0); 16: twice (set 1); 12: slots 0-3 on set 1, 4-7 on set 0;
        // 5 + 1 partial: slots 0-5 once, 6 and 7 untouched.
        for (i, blocks) in [8, 16, 12, 8, 5].enumerated() {
            let wrong = try Self.job(shim, members, config, count: blocks * k + (blocks == 5 ? 7 : 0), seed: 21 + UInt64(i), leaveReusable: true)
            #expect(wrong == [0, 0, 0], "job \(i + 1) (\(blocks) blocks): elements wrong per worker \(wrong)")
        }
        // The control: a job that leaves every slot on set 0, then one with other data.
        _ = try Self.job(shim, members, config, count: 8 * k, seed: 31, leaveReusable: false)
        let stale = try Self.job(shim, members, config, count: 8 * k, seed: 32, leaveReusable: false)
        #expect(stale.allSatisfy { ($0 ?? 1) > 0 }, "without leaveSlotsReusable the next job should get the last one's sums: \(stale)")
    }

    /// A job cut short (one worker never came, so its slots stay mid-round) and then a whole
    /// one: after `idleReset` without updates the aggregator forgets the rounds, and the next
    /// job sums exactly; without it (the control) that job is wrong or never finishes. With
    /// `junk`, a non-member sends a datagram every 50 ms meanwhile: it must not count as activity
    /// (it once did, kept the half-done rounds alive, and the next job summed wrong).
    @Test(arguments: [(reset: true, junk: false), (reset: false, junk: false), (reset: true, junk: true)])
    func aJobCutShortLeavesNothingAfterIdleReset(_ c: (reset: Bool, junk: Bool)) throws {
        let n = 3, k = 32, slots = 8
        let config = AggregationConfig(job: 1, workers: n, elementsPerPacket: k, poolSlots: slots, timeout: 2_000_000_000)
        let base = Self.portBase(c.junk ? 3 : (c.reset ? 1 : 2))
        let members = (0..<n).map { SocketAggregator.Member(ip: 0x7F00_0001, port: base + UInt16($0)) }
        let shim = try SocketAggregator(ip: 0x7F00_0001, port: 0, workers: members, elementsPerPacket: k, slots: slots)
        shim.idleReset = c.reset ? 300_000_000 : nil
        let server = Thread { shim.serve() }
        server.start()
        defer { shim.stop() }
        print("UDPAggregationTests seeds 41, 42")
        let cut = try Self.job(shim, members, config, count: 8 * k, seed: 41, leaveReusable: false, ranks: [0, 1], timeoutSeconds: 0.3)
        #expect(cut == [nil, nil], "two of three workers cannot finish: \(cut)")
        if c.junk {
            // A socket that is no member: 14 datagrams over 700 ms, never 300 ms apart.
            let junk = try UDPAggregationPort(localIP: 0x7F00_0001, localPort: 0, serviceIP: 0x7F00_0001, servicePort: shim.port, batch: 1)
            defer { junk.close() }
            for _ in 0..<14 {
                junk.send(length: 64) { p in for i in 0..<p.count { p[i] = 0 } }
                junk.flush()
                usleep(50_000)
            }
            #expect(shim.foreign >= 14)
        } else {
            usleep(700_000)
        }
        let next = try Self.job(shim, members, config, count: 8 * k, seed: 42, leaveReusable: true, timeoutSeconds: c.reset ? 20 : 2)
        if c.reset {
            #expect(next == [0, 0, 0] && shim.idleResets == 1, "\(next), idle resets \(shim.idleResets)")
        } else {
            #expect(next.contains { $0 != 0 }, "without the reset the half-done rounds should spoil the next job: \(next)")
        }
    }

    /// A worker takes results only from the aggregator it sends to: a forged result from another
    /// port on the same host, sent before the real one, is dropped unread (it once made the sum
    /// WRONG). The test plays the aggregator: it answers each update with its own values.
    @Test func aWorkerIgnoresResultsFromAnyoneButItsAggregator() throws {
        let k = 32
        let service = try UDPAggregationPort(localIP: 0x7F00_0001, localPort: 0, serviceIP: 0x7F00_0001, servicePort: 9, batch: 1)
        let forger = try UDPAggregationPort(localIP: 0x7F00_0001, localPort: 0, serviceIP: 0x7F00_0001, servicePort: 9, batch: 1)
        defer { service.close(); forger.close() }
        let workerPort = try UDPAggregationPort(localIP: 0x7F00_0001, localPort: 0, serviceIP: 0x7F00_0001, servicePort: service.localPort, batch: 1)
        defer { workerPort.close() }
        let worker = try AggregationWorker(config: AggregationConfig(job: 1, workers: 1, elementsPerPacket: k, poolSlots: 4, timeout: 2_000_000_000),
                                           port: workerPort)
        let values = (0..<(4 * k)).map { Int32($0 * 3 + 1) }
        let buffer = TensorBuffer(values)
        nonisolated(unsafe) let w = worker
        nonisolated(unsafe) var failure: Error?
        let done = DispatchSemaphore(value: 0)
        Thread { do { try w.allReduceSync(buffer, timeoutSeconds: 10) } catch { failure = error }; done.signal() }.start()
        // Each update: first a forged result (every value 777) from the forger, then the real one.
        var answered = 0
        var pfd = pollfd(fd: service.fd, events: Int16(POLLIN), revents: 0)
        var update = [UInt8](repeating: 0, count: 2048)
        var from = sockaddr_in(), len = socklen_t(MemoryLayout<sockaddr_in>.size)
        while answered < 4, poll(&pfd, 1, 5_000) > 0 {
            let n = update.withUnsafeMutableBytes { b in
                withUnsafeMutablePointer(to: &from) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(service.fd, b.baseAddress, b.count, 0, $0, &len) } }
            }
            guard n >= SwitchMLFormat.payloadBytes(elements: k) else { continue }
            var result = Array(update[0..<n])
            result[0] = (result[0] & 0x0F) | (SwitchMLFormat.result << 4)   // msg_type, the high nibble
            var forged = result
            for i in 0..<k { forged.withUnsafeMutableBytes { SwitchMLFormat.putInt32($0, SwitchMLFormat.prefixBytes + 4 * i, 777) } }
            for (socket, bytes) in [(forger.fd, forged), (service.fd, result)] {
                _ = bytes.withUnsafeBytes { b in
                    withUnsafePointer(to: &from) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket, b.baseAddress, b.count, 0, $0, len) } }
                }
            }
            answered += 1
        }
        done.wait()
        #expect(failure == nil, "\(failure.map { "\($0)" } ?? "")")
        #expect(buffer.values == values, "the forged results were summed")
        #expect(workerPort.foreignDatagrams == 4)
    }

    @Test func aBatchOutsideOneTo64IsRefused() {
        for bad in [0, 65] {
            #expect(throws: AggregationError.self) { try UDPAggregationPort(localPort: 0, serviceIP: 0x7F00_0001, servicePort: 1, batch: bad) }
        }
        do { _ = try UDPAggregationPort(localPort: 0, serviceIP: 0x7F00_0001, servicePort: 1, batch: 0) } catch {
            #expect("\(error)" == "batch 0 (valid: 1 ... 64 datagrams a system call)")
        }
    }
}
