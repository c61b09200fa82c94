import Foundation
import SluiceSupport

/// A program as a file: the verified IR as JSON, so a program built anywhere (a user's package,
/// another tool) runs with every command, as p4c's JSON runs in BMv2.
///
///     {
///       "format": "sluice-program",   // what the file is
///       "version": 1,                 // the format version that wrote it
///       "name": "ipv4-router",        // the program's name
///       "writtenBy": "sluice 0.9",    // the tool that wrote it
///       "program": { ... }            // the IR: SluiceIR's values in their Codable form
///     }
///
/// In `program`, structs are objects with their property names as keys; enums with values are an
/// object with one key, the case, holding its values (`{"lpm": {"_0": 167772160, "prefixLength": 8}}`);
/// enums without values are their names (`"lpm"`); numbers up to 128 bits are JSON integers.
/// Reading checks the format and version, names the JSON path of any fault, and verifies the IR
/// again: a file is never trusted further than a program built in Swift.
public enum ProgramFile {
    public static let format = "sluice-program"
    /// The format version this code writes and reads. A file of a newer version is refused.
    public static let version = 1
    /// The largest program file read (a program of the largest shipped kind is under 1 MiB).
    public static let maxBytes = 256 << 20

    struct Header: Decodable {
        var format: String?
        var version: Int?
    }

    struct Envelope: Codable {
        var format: String
        var version: Int
        var name: String
        var writtenBy: String
        var program: Program
    }

    /// The file's bytes for `program`: sorted keys, so files diff.
    public static func encode(_ program: VerifiedProgram, writtenBy: String) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var d = try e.encode(Envelope(format: format, version: version, name: program.name, writtenBy: writtenBy, program: program.program))
        d.append(UInt8(ascii: "\n"))
        return d
    }

    /// The verified program in `data`; errors name `file` and the JSON path of the fault.
    public static func decode(_ data: Data, file: String) throws(ProgramFileError) -> VerifiedProgram {
        func fail(_ m: String) -> ProgramFileError { ProgramFileError(file: file, message: m) }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: data) } catch {
            throw fail("not JSON (\(Self.describe(error))); a program file is what `sluice compile PROGRAM --emit program` writes")
        }
        guard header.format == format else {
            throw fail("not a Sluice program file (its \"format\" is \(header.format.map { "'\($0)'" } ?? "missing"); valid: '\(format)')")
        }
        guard let v = header.version, v >= 1 else { throw fail("version: missing or not a positive integer (valid: 1 ... \(version))") }
        guard v <= version else {
            throw fail("written in program file format version \(v); this sluice reads versions 1 ... \(version) (use a newer sluice, or write the file again with this one)")
        }
        let envelope: Envelope
        do { envelope = try JSONDecoder().decode(Envelope.self, from: data) } catch { throw fail(describe(error)) }
        do { return try Verifier.verify(envelope.program) } catch {
            throw fail("the program does not verify:\n\(error)")
        }
    }

    /// Reads and decodes the file at `path` (see `decode`).
    public static func load(path: String) throws(ProgramFileError) -> VerifiedProgram {
        let bytes: [UInt8]
        do { bytes = try FileBytes.read(path, limit: maxBytes) } catch {
            switch error {
            case .unreadable(let reason): throw ProgramFileError(file: path, message: "cannot read: \(reason)")
            case .tooLarge: throw ProgramFileError(file: path, message: "larger than \(maxBytes) bytes: not a program file")
            }
        }
        return try decode(Data(bytes), file: path)
    }

    /// Whether `name` means a program file rather than a built-in program's name.
    public static func looksLikePath(_ name: String) -> Bool {
        name.hasSuffix(".json") || name.contains("/")
    }

    /// A decoding error as `path: what is wrong`, the path in JSON terms (`program.tables[0].keys[0].kind`).
    static func describe(_ error: Error) -> String {
        func path(_ keys: [CodingKey]) -> String {
            var s = ""
            for k in keys {
                if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue }
            }
            return s.isEmpty ? "the file" : s
        }
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .typeMismatch(let type, let c): return "\(path(c.codingPath)): expected \(typeName(type)) (\(c.debugDescription))"
        case .valueNotFound(let type, let c): return "\(path(c.codingPath)): missing \(typeName(type))"
        case .keyNotFound(let key, let c): return "\(path(c.codingPath + [key])): missing"
        case .dataCorrupted(let c): return "\(path(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: "a string"
        case is Int.Type, is UInt128.Type, is UInt64.Type, is UInt16.Type: "an integer"
        case is Bool.Type: "true or false"
        default: "\(t)"
        }
    }
}

/// A program file that cannot be used: the file and what is wrong, with the JSON path.
public struct ProgramFileError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var message: String
    public var description: String { "\(file): \(message)" }
}

/// Enums read by name from program files: an unknown name is an error that lists the valid ones
/// (`unknown value 'lmp' (valid: exact, lpm, ternary, range, optional)`).
public protocol NamedCases: CaseIterable, RawRepresentable, Codable where RawValue == String {}

extension NamedCases {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let name = try c.decode(String.self)
        guard let v = Self(rawValue: name) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription:
                "unknown value '\(name)' (valid: \(Self.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = v
    }
}

extension MatchKind: NamedCases {}
extension BinaryOp: NamedCases {}
extension StandardField: NamedCases {}
extension HashAlgorithm: NamedCases {}
extension UnaryOp: NamedCases {}
extension CounterKind: NamedCases {}
extension MeterUnit: NamedCases {}
extension ParserRejectPolicy: NamedCases {}
