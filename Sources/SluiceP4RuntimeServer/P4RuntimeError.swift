/// The canonical codes of `google.rpc.Code`, which P4Runtime errors carry.
public enum CanonicalCode: Int32, Sendable, CaseIterable {
    case ok = 0, cancelled = 1, unknown = 2, invalidArgument = 3, deadlineExceeded = 4, notFound = 5
    case alreadyExists = 6, permissionDenied = 7, resourceExhausted = 8, failedPrecondition = 9
    case aborted = 10, outOfRange = 11, unimplemented = 12, `internal` = 13, unavailable = 14
    case dataLoss = 15, unauthenticated = 16

    /// The name the specification and gRPC use (`INVALID_ARGUMENT`).
    public var name: String {
        switch self {
        case .ok: "OK"
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internal: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        }
    }
}

/// A P4Runtime request (or one update of a batch) failed: the canonical code the specification
/// gives the case, and a message naming the entity and field and what would be valid.
public struct P4RuntimeError: Error, Equatable, CustomStringConvertible, Sendable {
    public var code: CanonicalCode
    public var message: String
    public init(_ code: CanonicalCode, _ message: String) { self.code = code; self.message = message }
    public var description: String { "\(code.name): \(message)" }
}
