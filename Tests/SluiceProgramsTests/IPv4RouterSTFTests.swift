import Foundation
import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// `Specs/ipv4-router.stf` through `STFSpec`, and what a failing spec reports.
@Suite struct IPv4RouterSTFTests {
    static func specURL(_ name: String, filePath: String = #filePath) -> URL {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("Specs").appendingPathComponent(name)
    }

    static func spec() throws -> STFSpec {
        let url = specURL("ipv4-router.stf")
        return STFSpec(file: url.lastPathComponent, text: try String(contentsOf: url, encoding: .utf8))
    }

    func run(_ spec: STFSpec) throws -> STFSpec.Result {
        try spec.run(IPv4Router.program().verified())
    }

    /// The 1-based number of the first line of `text` that starts with `prefix`.
    func lineNumber(of prefix: String, in text: String) throws -> Int {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return try #require(lines.firstIndex { $0.hasPrefix(prefix) }) + 1
    }

    @Test func specPasses() throws {
        let result = try run(try Self.spec())
        #expect(result.packets == 11)
        #expect(result.expectations == 6)
    }

    @Test func aWrongExpectationFailsNamingItsLine() throws {
        let spec = try Self.spec()
        // The first expectation, with TTL 0x3e instead of 0x3f.
        let good = "expect 1 080000000111 000000000001 0800  45000024 00010000 3f115dbf"
        let line = try lineNumber(of: good, in: spec.text)
        let wrong = STFSpec(file: spec.file, text: spec.text.replacingOccurrences(of: good, with: good.replacingOccurrences(of: "3f115dbf", with: "3e115dbf")))
        do {
            _ = try run(wrong)
            Issue.record("a wrong expectation passed")
        } catch let e as STFError {
            #expect(e.line == line)
            #expect(e.description.hasPrefix("ipv4-router.stf:\(line): "))
            #expect(e.description.contains("port 1"))
            #expect(e.description.contains("byte 22: expected 3e, got 3f"), "\(e)")
        }
    }

    @Test func anExpectationOfAPacketThatNeverComesFailsNamingItsLine() throws {
        let spec = try Self.spec()
        let text = spec.text + "\nexpect 7 000000000001\n"
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        do {
            _ = try run(STFSpec(file: spec.file, text: text))
            Issue.record("an expectation of a packet on port 7 passed")
        } catch let e as STFError {
            #expect(e.line == line)
            #expect(e.description.contains("expected a packet on port 7"), "\(e)")
        }
    }

    @Test func anExactLengthExpectationRejectsALongerPacket() throws {
        let spec = try Self.spec()
        // The /24 expectation checks only the headers; with `$` after them it must fail.
        let prefix = "expect 2 080000000222 000000000001 0800  45000024 00010000 3f11**** 0a000909 0a000207"
        let line = try lineNumber(of: prefix, in: spec.text)
        let text = spec.text.replacingOccurrences(of: prefix + "\n", with: prefix + " $\n")
        #expect(throws: STFError.self) { _ = try run(STFSpec(file: spec.file, text: text)) }
        do { _ = try run(STFSpec(file: spec.file, text: text)) } catch let e as STFError {
            #expect(e.line == line)
            #expect(e.description.contains("length: expected 34, got 50"), "\(e)")
        }
    }

    @Test func anUnexpectedPacketFails() throws {
        let spec = try Self.spec()
        let line = "expect 3 0800000003** 000000000001"
        let text = spec.text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix(line) }.joined(separator: "\n")
        do {
            _ = try run(STFSpec(file: spec.file, text: text))
            Issue.record("an unexpected packet on port 3 passed")
        } catch let e as STFError {
            #expect(e.description.contains("unexpected packets: 1 on port 3"), "\(e)")
        }
    }

    @Test func aMalformedLineFailsNamingIt() throws {
        for (text, message) in [
            ("\n\npacket 0 00zz\n", "'z' is not a hex digit"),
            ("\n\npacket 0 000\n", "odd number of hex digits"),
            ("\n\nadd ipv4_lpm hdr.ipv4.srcAddr:1 drop()\n", "has no key 'hdr.ipv4.srcAddr'"),
            ("\n\nfrobnicate\n", "unknown command 'frobnicate'"),
        ] {
            do {
                _ = try run(STFSpec(file: "bad.stf", text: text))
                Issue.record("'\(text)' passed")
            } catch let e as STFError {
                #expect(e.line == 3, "\(e)")
                #expect(e.description.hasPrefix("bad.stf:3: "), "\(e)")
                #expect(e.description.contains(message), "\(e)")
            }
        }
    }
}
