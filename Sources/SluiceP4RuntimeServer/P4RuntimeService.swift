import Foundation
import GRPCCore
import GRPCProtobuf
import SluiceIR
import SluiceP4Runtime
import SwiftProtobuf

/// The `p4.v1.P4Runtime` gRPC service in front of one `P4RuntimeDevice`: messages in, the
/// device's answers or errors out (request errors as the status; a failed batch as UNKNOWN with
/// a `google.rpc.Status` whose details hold one `p4.v1.Error` per update, as the specification
/// says).
public struct P4RuntimeService: P4_V1_P4Runtime.SimpleServiceProtocol {
    public let device: P4RuntimeDevice
    /// The port PacketOut payloads enter the program on.
    public let cpuPort: UInt16

    public init(device: P4RuntimeDevice, cpuPort: UInt16) { self.device = device; self.cpuPort = cpuPort }

    public func write(request: P4_V1_WriteRequest, context: ServerContext) async throws -> P4_V1_WriteResponse {
        do { try device.write(request) } catch let e as P4RuntimeError { throw Self.rpcError(e) } catch let e as P4RuntimeBatchError {
            throw try Self.batchStatus(e)
        }
        return P4_V1_WriteResponse()
    }

    public func read(request: P4_V1_ReadRequest, response: RPCWriter<P4_V1_ReadResponse>, context: ServerContext) async throws {
        let entities: [P4_V1_Entity]
        do { entities = try device.read(request) } catch { throw Self.rpcError(error) }
        // Large reads go out in messages of at most 1,000 entities.
        var i = 0
        repeat {
            var r = P4_V1_ReadResponse()
            r.entities = Array(entities[i..<min(i + 1000, entities.count)])
            try await response.write(r)
            i += 1000
        } while i < entities.count
    }

    public func setForwardingPipelineConfig(request: P4_V1_SetForwardingPipelineConfigRequest, context: ServerContext) async throws -> P4_V1_SetForwardingPipelineConfigResponse {
        do { try device.setPipeline(request) } catch { throw Self.rpcError(error) }
        return P4_V1_SetForwardingPipelineConfigResponse()
    }

    public func getForwardingPipelineConfig(request: P4_V1_GetForwardingPipelineConfigRequest, context: ServerContext) async throws -> P4_V1_GetForwardingPipelineConfigResponse {
        do { return try device.getPipeline(request) } catch { throw Self.rpcError(error) }
    }

    public func capabilities(request: P4_V1_CapabilitiesRequest, context: ServerContext) async throws -> P4_V1_CapabilitiesResponse {
        device.capabilities()
    }

    public func streamChannel(request: RPCAsyncSequence<P4_V1_StreamMessageRequest, any Error>,
                              response: RPCWriter<P4_V1_StreamMessageResponse>, context: ServerContext) async throws {
        let (outgoing, continuation) = AsyncStream.makeStream(of: P4_V1_StreamMessageResponse.self)
        let device = self.device, cpuPort = self.cpuPort
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { for await m in outgoing { try await response.write(m) } }
            var token: Int?
            var election: UInt128 = 0
            func streamError(_ e: P4RuntimeError, _ other: (inout P4_V1_StreamError) -> Void) {
                var se = P4_V1_StreamError()
                se.canonicalCode = e.code.rawValue
                se.message = e.message
                other(&se)
                var m = P4_V1_StreamMessageResponse(); m.error = se
                continuation.yield(m)
            }
            do {
                for try await m in request {
                    switch m.update {
                    case .arbitration(let a)?:
                        token = try device.arbitrate(token: token, a) { continuation.yield($0) }
                        election = Arbitration.id(a.electionID)
                    case .packet(let p)?:
                        guard let t = token, device.isPrimary(token: t, election: election) else {
                            streamError(P4RuntimeError(.permissionDenied, "PacketOut from a controller that is not the primary")) { $0.packetOut.packetOut = p }
                            continue
                        }
                        do throws(P4RuntimeError) { try device.packetOut(p, cpuPort: cpuPort) } catch { streamError(error) { $0.packetOut.packetOut = p } }
                    case .digestAck?:
                        break // Lists are not resent: an ack has nothing to release.
                    case .other?, nil:
                        streamError(P4RuntimeError(.unimplemented, "StreamChannel: only arbitration, packet and digest_ack messages are served")) { _ in }
                    }
                }
            } catch let e as P4RuntimeError {
                if let token { device.streamEnded(token: token) }
                continuation.finish()
                throw Self.rpcError(e)
            } catch {
                if let token { device.streamEnded(token: token) }
                continuation.finish()
                throw error
            }
            if let token { device.streamEnded(token: token) }
            continuation.finish()
            try await group.waitForAll()
        }
    }

    static func code(_ c: CanonicalCode) -> RPCError.Code {
        switch c {
        case .ok, .unknown: .unknown
        case .cancelled: .cancelled
        case .invalidArgument: .invalidArgument
        case .deadlineExceeded: .deadlineExceeded
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .permissionDenied: .permissionDenied
        case .resourceExhausted: .resourceExhausted
        case .failedPrecondition: .failedPrecondition
        case .aborted: .aborted
        case .outOfRange: .outOfRange
        case .unimplemented: .unimplemented
        case .internal: .internalError
        case .unavailable: .unavailable
        case .dataLoss: .dataLoss
        case .unauthenticated: .unauthenticated
        }
    }

    static func rpcError(_ e: P4RuntimeError) -> RPCError { RPCError(code: code(e.code), message: e.message) }

    /// UNKNOWN with one `p4.v1.Error` per update in the status details (OK for those that succeeded).
    static func batchStatus(_ e: P4RuntimeBatchError) throws -> GoogleRPCStatus {
        let details: [ErrorDetails] = try e.results.map { r in
            var x = P4_V1_Error()
            x.canonicalCode = r?.code.rawValue ?? 0
            x.message = r?.message ?? ""
            return .any(try Google_Protobuf_Any(message: x))
        }
        return GoogleRPCStatus(code: .unknown, message: e.summary, details: details)
    }
}
