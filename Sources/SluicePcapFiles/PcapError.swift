/// Why a capture file could not be read: the file, the byte offset of the damage (nil when the
/// file could not be opened at all) and what is wrong there, saying what would be valid.
///
/// Readers throw it only after delivering every packet before `offset`, so a caller that
/// processes packets as they come has processed all the intact ones when it sees the error.
public struct PcapError: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let offset: Int?
    public let message: String

    public init(path: String, offset: Int?, message: String) {
        self.path = path
        self.offset = offset
        self.message = message
    }

    public var description: String {
        if let offset { return "\(path): byte \(offset): \(message)" }
        return "\(path): \(message)"
    }
}
