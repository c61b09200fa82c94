import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import SwiftProtobuf
import Testing
import SluicePrograms
import SluiceTesting
import SluiceP4Runtime
import SluiceP4RuntimeServer

/// The server over real gRPC on loopback (a port the system picks), with grpc-swift-2's client:
/// arbitration on StreamChannel, a batch's per-update errors in the status details, malformed
/// bytes, a backup's refused write, and the server serving on after each.
@Suite(.serialized) struct P4RuntimeGRPCTests {
    /// A controller's open StreamChannel: what the server sent, and a way to end it.
    final class Controller: Sendable {
        let responses: AsyncStream<P4_V1_StreamMessageResponse>
        let close: AsyncStream<Void>.Continuation
        let task: Task<Void, any Error>

        init<T: ClientTransport>(_ p4: P4_V1_P4Runtime.Client<T>, election: UInt64) {
            let (responses, push) = AsyncStream.makeStream(of: P4_V1_StreamMessageResponse.self)
            let (closed, close) = AsyncStream.makeStream(of: Void.self)
            self.responses = responses
            self.close = close
            task = Task {
                defer { push.finish() }
                try await p4.streamChannel(requestProducer: { w in
                    var m = P4_V1_StreamMessageRequest(); m.arbitration = P4R.arbitration(election)
                    try await w.write(m)
                    for await _ in closed {}
                }, onResponse: { r in
                    defer { push.finish() }
                    for try await m in r.messages { push.yield(m) }
                })
            }
        }

        func next() async -> P4_V1_StreamMessageResponse? {
            var it = responses.makeAsyncIterator()
            return await it.next()
        }

        func end() async { close.finish(); _ = try? await task.value }
    }

    struct RawBytes: MessageSerializer {
        func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    }

    @Test func controllersOverGRPC() async throws {
        let sw = PipelineSwitch()
        let device = P4RuntimeDevice(deviceID: 1, target: sw, resolver: ProgramRegistry.resolver)
        let server = try P4RuntimeServer(device: device, cpuPort: 510, host: "127.0.0.1", port: 0)
        #expect(server.port > 0)
        try await withGRPCClient(transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: server.port), transportSecurity: .plaintext)) { client in
            let p4 = P4_V1_P4Runtime.Client(wrapping: client)
            #expect(try await p4.capabilities(P4_V1_CapabilitiesRequest()).p4RuntimeApiVersion == "1.5.0")

            // No controller has arbitrated: writes are refused.
            await #expect(throws: RPCError.self) { try await p4.setForwardingPipelineConfig(try P4R.setPipeline("ipv4-router")) }

            let primary = Controller(p4, election: P4R.election)
            let first = await primary.next()
            #expect(first?.arbitration.status.code == 0, "the first controller is primary")
            let backup = Controller(p4, election: 3)
            #expect(await backup.next()?.arbitration.status.code == 6, "ALREADY_EXISTS: a backup")

            _ = try await p4.setForwardingPipelineConfig(try P4R.setPipeline("ipv4-router"))
            let good = P4R.route(0x0A00_0100, 24, mac: 0x0000_0000_0202, port: 2)
            _ = try await p4.write(P4R.write([P4R.update(.insert, good)]))

            // A batch of three: OK, ALREADY_EXISTS, INVALID_ARGUMENT, as p4.v1.Error details.
            var wide = P4R.route(0x0A00_0200, 24, mac: 2, port: 2); wide.match[0].lpm.value = Data([1, 10, 0, 2, 0])
            let batch = P4R.write([P4R.update(.insert, P4R.route(0x0A00_0300, 24, mac: 3, port: 3)), P4R.update(.insert, good), P4R.update(.insert, wide)])
            do {
                _ = try await p4.write(batch)
                Issue.record("the batch should fail")
            } catch let e as RPCError {
                #expect(e.code == .unknown)
                let status = try #require(try e.unpackGoogleRPCStatus())
                let errors: [P4_V1_Error] = try status.details.map { d in
                    guard let any = d.any else { Issue.record("detail is not an Any: \(d)"); return P4_V1_Error() }
                    #expect(any.typeURL == "type.googleapis.com/p4.v1.Error")
                    return try P4_V1_Error(unpackingAny: any)
                }
                #expect(errors.map(\.canonicalCode) == [0, 6, 3])
                #expect(errors[1].message.hasPrefix("table 'ipv4_lpm' (id \(good.tableID)): an entry with these match fields exists"))
                #expect(errors[2].message.contains("match field 'hdr.ipv4.dstAddr' (id 1, lpm, 32 bits) value: value 0x010a000200 has 33 bits"))
            }

            // Malformed protobuf bytes for Write.
            do {
                _ = try await client.unary(request: ClientRequest(message: [0x0A, 0xFF, 0xFF, 0xFF]), descriptor: P4_V1_P4Runtime.Method.Write.descriptor,
                                           serializer: RawBytes(), deserializer: ProtobufDeserializer<P4_V1_WriteResponse>(), options: .defaults) { try $0.message }
                Issue.record("malformed bytes should fail")
            } catch let e as RPCError {
                #expect(e.code == .invalidArgument)
            }

            // The backup's write is refused; the primary's lands.
            do {
                _ = try await p4.write(P4R.write([P4R.update(.delete, good)], election: 3))
                Issue.record("a backup's write should fail")
            } catch let e as RPCError {
                #expect(e.code == .permissionDenied)
                #expect(e.message == "Write with election id 3: not the primary controller (the primary's election id is 10)")
            }

            // Reads show what landed: the good route and the batch's first update.
            let read = try await p4.read(P4R.readTable(0)) { r in
                var all: [P4_V1_Entity] = []
                for try await m in r.messages { all += m.entities }
                return all
            }
            #expect(read.count == 2)
            #expect(sw.send(P4RuntimeDeviceTests.packet(dst: "10.0.3.1"), port: 1)?.map(\.port) == [3])

            // The primary leaves: the backup becomes primary and can write.
            await primary.end()
            #expect(await backup.next()?.arbitration.status.code == 0)
            _ = try await p4.write(P4R.write([P4R.update(.delete, good)], election: 3))

            // Stopping the server with a controller's stream still open ends it.
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                Thread.detachNewThread { server.stop(); c.resume() }
            }
            while await backup.next() != nil {}
            await backup.end()
        }
    }

    /// The p4.v1.Error details of a failed Write.
    static func details(_ e: RPCError) throws -> [P4_V1_Error] {
        let status = try #require(try e.unpackGoogleRPCStatus())
        return try status.details.map { d in try P4_V1_Error(unpackingAny: try #require(d.any)) }
    }

    /// Every entity of p4rt-externs a Write can change, read over gRPC, as text.
    static func state<T: ClientTransport>(_ p4: P4_V1_P4Runtime.Client<T>) async throws -> [String] {
        var r = P4_V1_ReadRequest(); r.deviceID = 1
        var entities: [P4_V1_Entity] = []
        for set in [{ (e: inout P4_V1_Entity) in e.tableEntry = P4_V1_TableEntry() }, { $0.directCounterEntry = P4_V1_DirectCounterEntry() },
                    { $0.counterEntry = P4_V1_CounterEntry() }, { $0.meterEntry = P4_V1_MeterEntry() }, { $0.registerEntry = P4_V1_RegisterEntry() },
                    { $0.packetReplicationEngineEntry.multicastGroupEntry = P4_V1_MulticastGroupEntry() }] as [(inout P4_V1_Entity) -> Void] {
            var e = P4_V1_Entity(); set(&e); entities.append(e)
        }
        r.entities = entities
        return try await p4.read(r) { response in
            var all: [String] = []
            for try await m in response.messages { all += m.entities.map { $0.textFormatString() } }
            return all
        }
    }

    /// Counter and direct counter writes, and ROLLBACK_ON_ERROR and DATAPLANE_ATOMIC batches, over
    /// gRPC: a failed batch's status holds one p4.v1.Error per update (ABORTED for those undone or
    /// not tried), and a Read after it returns what it returned before; counters read back as
    /// written.
    @Test func countersAndRollbackOverGRPC() async throws {
        let sw = PipelineSwitch()
        let device = P4RuntimeDevice(deviceID: 1, target: sw, resolver: ProgramRegistry.resolver)
        let server = try P4RuntimeServer(device: device, cpuPort: 510, host: "127.0.0.1", port: 0)
        try await withGRPCClient(transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: server.port), transportSecurity: .plaintext)) { client in
            let p4 = P4_V1_P4Runtime.Client(wrapping: client)
            let primary = Controller(p4, election: P4R.election)
            #expect(await primary.next()?.arbitration.status.code == 0)
            _ = try await p4.setForwardingPipelineConfig(try Externs.setPipeline())
            _ = try await p4.write(P4R.write([P4R.update(.insert, Externs.entry(5, port: 2)), Externs.counter(nil, packets: 7, bytes: 70),
                                              Externs.counter(3, packets: 30, bytes: 3000), Externs.directCounter(5, packets: 50, bytes: 500)]))
            var r = P4_V1_ReadRequest(); r.deviceID = 1
            var c = P4_V1_Entity(); c.counterEntry.counterID = Externs.ids.id(.counter, "hits")!
            var dc = P4_V1_Entity(); dc.directCounterEntry.tableEntry.tableID = Externs.ids.id(.table, "fwd")!
            r.entities = [c, dc]
            let counts = try await p4.read(r) { response in
                var all: [[Int64]] = []
                for try await m in response.messages {
                    all += m.entities.map { e in
                        e.counterEntry.hasData ? [e.counterEntry.data.packetCount, e.counterEntry.data.byteCount]
                                               : [e.directCounterEntry.data.packetCount, e.directCounterEntry.data.byteCount]
                    }
                }
                return all
            }
            #expect(counts == [[7, 70], [7, 70], [7, 70], [30, 3000], [50, 500]])

            let before = try await Self.state(p4)
            var batch = P4R.write([P4R.update(.delete, Externs.entry(5, port: 2)), Externs.counter(nil, packets: 0, bytes: 0),
                                   Externs.register(nil, 9), Externs.counter(9, packets: 1, bytes: 1), Externs.meter(0, cir: 1, cburst: 1, pir: 1, pburst: 1)])
            batch.atomicity = .rollbackOnError
            do {
                _ = try await p4.write(batch)
                Issue.record("the batch should fail")
            } catch let e as RPCError {
                #expect(e.code == .unknown)
                #expect(e.message == "1 of 5 updates failed (4 more ABORTED: every update or none): update 3: OUT_OF_RANGE: counter 'hits' (id \(Externs.ids.id(.counter, "hits")!)): index 9; valid: 0...3")
                let errors = try Self.details(e)
                #expect(errors.map(\.canonicalCode) == [10, 10, 10, 11, 10])
                let undone = "undone: update 3 failed, and ROLLBACK_ON_ERROR applies every update or none"
                #expect(errors.map(\.message) == [undone, undone, undone, "counter 'hits' (id \(Externs.ids.id(.counter, "hits")!)): index 9; valid: 0...3",
                                                   "not attempted: update 3 failed, and ROLLBACK_ON_ERROR applies every update or none"])
            }
            #expect(try await Self.state(p4) == before)
            #expect(sw.send(Externs.packet(key: 5, idx: 0), port: 1)?.map(\.port) == [2])

            // DATAPLANE_ATOMIC: the same batch is undone the same way, in its own words.
            let sent = try await Self.state(p4)
            batch.atomicity = .dataplaneAtomic
            do {
                _ = try await p4.write(batch)
                Issue.record("the batch should fail")
            } catch let e as RPCError {
                let errors = try Self.details(e)
                #expect(errors.map(\.canonicalCode) == [10, 10, 10, 11, 10])
                #expect(errors[0].message == "undone: update 3 failed, and DATAPLANE_ATOMIC applies every update or none")
            }
            #expect(try await Self.state(p4) == sent)
            #expect(sent != before, "the packet counted")
            // A batch that succeeds lands whole.
            batch.updates.remove(at: 3)
            _ = try await p4.write(batch)
            #expect(sw.send(Externs.packet(key: 5, idx: 0), port: 1)?.isEmpty == true)
            await primary.end()
        }
        // stop() waits on a semaphore: off the concurrency pool.
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { server.stop(); c.resume() }
        }
    }
}
