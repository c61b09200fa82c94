import Testing
import Foundation
import SluiceRuntime
import SluiceTesting
import SluicePrograms
@testable import SluiceML
#if canImport(Glibc)
import Glibc
#endif

/// The worker library over real UDP sockets on loopback, each worker in its own thread with
/// `allReduceSync`, against the real `switchml` program run by a small UDP shim: a datagram
/// from worker w's socket enters switch port w + 1 framed as 10.0.0.(w+1) -> 10.255.255.1:0xBEE1;
/// what leaves port p goes back to worker p - 1's socket. Every 7th update is dropped once, so
/// the timers and the shadow copies work over the real sockets too.
@Suite struct UDPAggregationTests {
    final class Shim: @unchecked Sendable {
        let fd: Int32
        let harness: SwitchHarness
        var workerPorts: [UInt16] = []
        var stop = false
        var updates = 0, sent = 0
        let lock = NSLock()

        init(n: Int, k: Int) throws {
            harness = try SwitchHarness(SwitchML.program(k: k, slots: 64).verified())
            let members = (0..<n).map { w in
                SwitchML.Worker(ip: 0x0A00_0001 + UInt32(w), mac: 0x0200_0000_0001 + UInt64(w), udpPort: 40001, switchPort: UInt16(w + 1))
            }
            try SwitchML.install(SwitchML.Job(job: 1, udpPort: 0xBEE1, slotBase: 0, slots: 8, group: 2, workers: members), into: harness.pipeline)
            fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var a = UDPAggregationPort.address(0x7F00_0001, 0)
            _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        deinit { close(fd) }

        var port: UInt16 {
            var a = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
            return UInt16(bigEndian: a.sin_port)
        }

        func serve() {
            var buf = [UInt8](repeating: 0, count: 65536)
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while !lock.withLock({ stop }) {
                guard poll(&pfd, 1, 20) > 0 else { continue }
                var from = sockaddr_in()
                var len = socklen_t(MemoryLayout<sockaddr_in>.size)
                let n = withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, 0, $0, &len) }
                }
                guard n > 0, let w = workerPorts.firstIndex(of: UInt16(bigEndian: from.sin_port)) else { continue }
                updates += 1
                if updates % 7 == 0 { continue }     // lost on the way in, once in a while
                let frame = Packet.ethernet(dst: "02:00:00:00:ff:01", src: MACAddress(value: 0x0200_0000_0001 + UInt64(w)))
                    .ipv4(src: IPv4Address(value: 0x0A00_0001 + UInt32(w)), dst: "10.255.255.1")
                    .udp(sport: 40001, dport: 0xBEE1, checksum: 0).payload(Array(buf[0..<n])).bytes
                try? harness.send(frame, port: UInt16(w + 1))
                for out in harness.drain() {
                    sent += 1
                    let payload = Array(out.bytes[42...])
                    var to = UDPAggregationPort.address(0x7F00_0001, workerPorts[Int(out.port) - 1])
                    _ = withUnsafePointer(to: &to) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(fd, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                }
            }
        }
    }

    @Test func workersOverLoopbackSocketsSumExactly() throws {
        let n = 3, k = 64, count = k * 40 + 11
        let shim = try Shim(n: n, k: k)
        let config = AggregationConfig(job: 1, workers: n, elementsPerPacket: k, poolSlots: 8, timeout: 2_000_000_000)   // 2 ms
        let ports = try (0..<n).map { _ in try UDPAggregationPort(localIP: 0x7F00_0001, localPort: 0, serviceIP: 0x7F00_0001, servicePort: shim.port) }
        shim.workerPorts = ports.map(\.localPort)
        print("UDPAggregationTests seed 13")
        let inputs = (0..<n).map { SyntheticTensors.integers(count: count, worker: $0, seed: 13) }
        let buffers = inputs.map { TensorBuffer($0) }
        let workers = try ports.map { try AggregationWorker(config: config, port: $0) }
        let server = Thread { shim.serve() }
        server.start()
        defer { shim.lock.withLock { shim.stop = true } }
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
        #expect(failures.isEmpty, "\(failures); the shim saw \(shim.updates) updates and sent \(shim.sent) packets; pipeline \(shim.harness.pipeline.stats); workers \(workers.map(\.stats))")
        let reference = Reference.sum(inputs)
        for (w, b) in buffers.enumerated() {
            let wrong = zip(b.values, reference).filter { $0 != $1 }.count
            #expect(wrong == 0, "worker \(w): \(wrong) of \(count) elements differ from the reference sum")
        }
        #expect(workers.contains { $0.stats.retransmissions > 0 }, "the shim dropped updates; someone must have retransmitted")
    }
}
