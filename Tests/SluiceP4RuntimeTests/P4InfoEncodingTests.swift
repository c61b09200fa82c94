import Foundation
import Testing
import SwiftProtobuf
import SluiceIR
@testable import SluiceP4Runtime

/// The text and the binary forms say the same thing: each decodes back to the message built.
@Suite struct P4InfoEncodingTests {
    @Test func binaryAndTextDecodeToTheSameMessage() throws {
        for p in P4IdsTests.programs {
            let info = try P4InfoBuilder.p4Info(p)
            let fromBinary = try P4_Config_V1_P4Info(serializedBytes: P4InfoFormat.binary(info))
            let fromText = try P4_Config_V1_P4Info(textFormatString: P4InfoFormat.text(info))
            #expect(fromBinary == fromText, "\(p.name)")
            #expect(fromBinary == info, "\(p.name)")
        }
    }

    @Test func theTextStartsWithP4csHeader() throws {
        let text = try P4InfoFormat.text(P4InfoSnapshotTests.everyResource)
        #expect(text.hasPrefix("# proto-file: p4/config/v1/p4info.proto\n# proto-message: p4.config.v1.P4Info\n\npkg_info {\n"))
    }

    /// Action arguments are the specification's canonical binary strings.
    @Test func canonicalBytesHaveNoLeadingZeros() {
        #expect(P4InfoBuilder.canonicalBytes(0) == [0])
        #expect(P4InfoBuilder.canonicalBytes(0x1ff) == [0x01, 0xff])
        #expect(P4InfoBuilder.canonicalBytes(0x80_0000) == [0x80, 0, 0])
        #expect(P4InfoBuilder.canonicalBytes(UInt128.max) == [UInt8](repeating: 0xff, count: 16))
    }
}
