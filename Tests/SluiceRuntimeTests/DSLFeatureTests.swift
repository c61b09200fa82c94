// Every DSL feature exercised through the software runtime: small purpose-built programs,
// packets in, exact bytes and values out. One suite per area, in the DSLFeature*Tests.swift files;
// this file holds the shared helpers and the layout checks of small hot structs.

import SluiceControlPlane
import Testing
import Sluice
import SluiceIR
@testable import SluiceRuntime
import SluiceTesting

// MARK: - Helpers shared by the DSLFeature suites

/// Big-endian bit packing, independent of the runtime: `pack([(1, 1), (5, 3), ...])`.
func pack(_ fields: [(UInt128, Int)]) -> [UInt8] {
    let total = fields.reduce(0) { $0 + $1.1 }
    precondition(total % 8 == 0, "fields must add up to whole bytes")
    var out = [UInt8](repeating: 0, count: total / 8)
    var bit = 0
    for (v, w) in fields {
        for i in 0..<w {
            let b = (v >> UInt128(w - 1 - i)) & 1
            if b != 0 { out[(bit + i) / 8] |= 0x80 >> UInt8((bit + i) % 8) }
        }
        bit += w
    }
    return out
}

/// Reads `width` bits at `bitOffset` of `bytes`, big-endian (the inverse of `pack`).
func unpack(_ bytes: [UInt8], bitOffset: Int, width: Int) -> UInt128 {
    var v: UInt128 = 0
    for i in 0..<width {
        let b = bitOffset + i
        v = v << 1 | UInt128((bytes[b / 8] >> UInt8(7 - b % 8)) & 1)
    }
    return v
}

/// Big-endian bytes of the low `count` bytes of `v`.
func be(_ v: UInt128, _ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: v >> UInt128(8 * (count - 1 - $0))) }
}

/// A pipeline for a DSL program (verified first).
func pipeline(_ p: SwitchProgram, seed: UInt64 = 1) throws -> Pipeline {
    try Pipeline(p.verified(), seed: seed)
}

/// Runs one packet and returns the single output (port, bytes); fails when there is not exactly one.
func runOne(_ pl: Pipeline, _ bytes: [UInt8], port: UInt16 = 0, timestamp: UInt64 = 0,
            sourceLocation: SourceLocation = #_sourceLocation) throws -> (port: UInt16, bytes: [UInt8]) {
    let outs = pl.process(bytes, port: port, timestamp: timestamp)
    try #require(outs.count == 1, "expected one output, got \(outs.count)", sourceLocation: sourceLocation)
    return outs[0]
}

/// Statements built elsewhere, as one DSL statement (for builders that take only `Statement`s).
struct Stmts: Statement {
    let statements: [Stmt]
    init(_ s: [Stmt]) { statements = s }
}

// MARK: - Layout of small hot structs

@Suite struct DSLFeatureLayoutTests {
    @Test func smallStructsStayPacked() {
        // A multicast member is two 16-bit values; groups are arrays of them walked per copy.
        #expect(MemoryLayout<MulticastMember>.size == 4)
        #expect(MemoryLayout<MulticastMember>.stride == 4)
        #expect(MemoryLayout<MulticastMember>.alignment == 2)
        // The random generator is one word of state.
        #expect(MemoryLayout<SplitMix64>.size == 8)
        // Meter rates: four 64-bit numbers, no padding.
        #expect(MemoryLayout<MeterRates>.size == 32)
        // Colors are a one-byte enum.
        #expect(MemoryLayout<MeterColor>.size == 1)
    }
}

/// Hot per-packet structures of the compiler stay small: one closure (two words) per op and a
/// place that fits a register pair.
@Test func compiledOpsAndPlacesStaySmall() {
    #expect(MemoryLayout<StmtOp>.size == 16)
    #expect(MemoryLayout<StateOp>.size == 16)
    #expect(MemoryLayout<Place>.size <= 17)
}

/// The standard-metadata slot switch agrees with the declaration order it documents.
@Test func standardSlotsFollowDeclarationOrder() {
    for (i, f) in StandardField.allCases.enumerated() { #expect(Layout.standardSlot(f) == i, "\(f)") }
}
