import SluiceIR
import SwiftProtobuf
import Foundation

/// The two forms P4Info files take: protobuf text format (what p4c's `--p4runtime-files x.txt`
/// writes and p4runtime-shell reads) and the binary wire format.
public enum P4InfoFormat {
    /// The header p4c writes so that tools know which message the text holds.
    public static let textHeader = "# proto-file: p4/config/v1/p4info.proto\n# proto-message: p4.config.v1.P4Info\n\n"

    public static func text(_ info: P4_Config_V1_P4Info) -> String {
        textHeader + info.textFormatString()
    }

    public static func binary(_ info: P4_Config_V1_P4Info) -> [UInt8] {
        // Serializing a message with only known, valid fields cannot fail.
        [UInt8]((try? info.serializedData()) ?? Data())
    }

    public static func text(_ program: Program) throws(P4InfoError) -> String {
        text(try P4InfoBuilder.p4Info(program))
    }

    public static func binary(_ program: Program) throws(P4InfoError) -> [UInt8] {
        binary(try P4InfoBuilder.p4Info(program))
    }
}
