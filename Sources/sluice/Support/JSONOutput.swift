import Foundation
import SluiceEmulator

/// `--json` output of the commands: Encodable values printed as `ReportJSON` writes reports
/// (sorted keys), never strings put together by hand, so every name and path is escaped alike.
func printJSON<T: Encodable>(_ value: T) throws {
    FileHandle.standardOutput.write(try ReportJSON.data(value))
}

/// An optional that is written as `null` rather than left out: a field a reader can count on.
struct Nullable<T: Encodable>: Encodable {
    var value: T?
    init(_ value: T?) { self.value = value }
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let value { try c.encode(value) } else { try c.encodeNil() }
    }
}
