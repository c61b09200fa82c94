#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file's bytes, read with a limit: the one read loop of the text inputs (`FileIO.readText`)
/// and program files, so that `/dev/zero` or a wrong file is refused at the limit instead of
/// read until memory runs out.
public enum FileBytes {
    public enum Failure: Error, Sendable {
        /// The file could not be opened or read; the system's reason.
        case unreadable(String)
        /// More than `limit` bytes.
        case tooLarge(limit: Int)
    }

    public static func read(_ path: String, limit: Int) throws(Failure) -> [UInt8] {
        guard let f = fopen(path, "rb") else { throw .unreadable(reason(errno)) }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n > 0 { out += buf[0..<n] }
            if out.count > limit { throw .tooLarge(limit: limit) }
            if n < buf.count { break }
        }
        if ferror(f) != 0 { throw .unreadable(reason(errno)) }
        return out
    }

    /// The system's reason for `errno` `code`, worded to follow "cannot read 'path': ".
    public static func reason(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case EACCES: return "permission denied"
        case EISDIR: return "it is a directory"
        default:
            let s = String(cString: strerror(code))
            return s.prefix(1).lowercased() + s.dropFirst()
        }
    }
}
