import SluiceIR
import SluicePrograms
import Testing

// This file imports SluiceIR without @testable on purpose: it sees what a backend sees. There,
// `VerifiedProgram(verified: p)` does not compile (the initializer is internal to SluiceIR) and
// `verified.program = p` does not either (`program` is a `let`): the verifier is the only way to
// a `VerifiedProgram`. The tests below check the runtime half: what it refuses.

/// `VerifiedProgram`: only from the verifier, and the facts backends read from it.
@Suite struct VerifiedProgramTests {
    /// A program whose ingress assigns metadata it does not declare.
    static let undeclared = Program(name: "bad", ingress: [.assign(.meta("missing"), .int(1))])

    @Test func theVerifierRefusesABadProgram() {
        #expect(throws: VerificationError.self) { try Verifier.verify(Self.undeclared) }
    }

    @Test func theVerifierHandsBackTheProgramItChecked() throws {
        let ir = IPv4Router.program().ir
        let verified = try Verifier.verify(ir)
        #expect(verified.program == ir)
        #expect(verified.name == "ipv4-router" && verified.tables == ir.tables, "it reads as its program")
    }

    /// The facts of `name` from the registry.
    func facts(_ name: String) throws -> ProgramFacts {
        try #require(ProgramRegistry.named(name)).build().verified().facts
    }

    @Test func ipv4RouterUsesNeitherMulticastNorTimestampsNorQueues() throws {
        let f = try facts("ipv4-router")
        #expect(f.standardReads == [.checksumError])
        #expect(f.standardWrites == [.egressSpec])
        #expect(!f.usesMulticast && !f.usesTimestamps && !f.readsQueueValues)
    }

    @Test func switchmlMulticastsItsResults() throws {
        let f = try facts("switchml")
        #expect(f.standardReads == [.checksumError, .egressRid, .ingressPort, .instanceType])
        #expect(f.standardWrites == [.egressSpec, .mcastGrp])
        #expect(f.usesMulticast && !f.usesTimestamps && !f.readsQueueValues)
    }

    @Test func drillReadsQueueDepth() throws {
        let f = try facts("drill")
        #expect(f.standardReads == [.checksumError, .deqQdepth])
        #expect(!f.usesMulticast && !f.usesTimestamps && f.readsQueueValues)
    }

    @Test func flowletReadsTheClock() throws {
        let f = try facts("flowlet")
        #expect(f.standardReads == [.checksumError, .ingressTimestamp])
        #expect(!f.usesMulticast && f.usesTimestamps && !f.readsQueueValues)
    }

    /// INT reads queue values only through `optional`: any target runs it.
    @Test func intReadsQueueValuesOnlyWhereOptional() throws {
        let f = try facts("int-md")
        #expect(f.standardReads.isSuperset(of: [.enqQdepth, .deqTimedelta, .deqBufferDepth, .ingressTimestamp]))
        #expect(f.usesMulticast && f.usesTimestamps && !f.readsQueueValues)
    }

    /// Writes by register read count as writes; a meter needs the clock without reading it.
    @Test func registerReadsWriteAndMetersNeedTheClock() throws {
        let p = Program(name: "facts", metadata: [FieldDecl("color", 2)],
                        parser: Parser(states: [ParserState("start", statements: [], transition: .accept)]),
                        registers: [Register("group", width: 16, size: 1)],
                        meters: [Meter("m", size: 1, unit: .packets)],
                        ingress: [.registerRead(.standard(.mcastGrp), register: "group", index: .int(0)),
                                  .meter("m", index: .int(0), result: .meta("color"))])
        let f = try Verifier.verify(p).facts
        #expect(f.standardWrites == [.mcastGrp])
        #expect(f.standardReads == [])
        #expect(f.usesMulticast && f.usesTimestamps && !f.readsQueueValues)
    }

    /// Headers a, b (one byte each): start extracts a, then `second` (b); `loop` adds a way back.
    static func twoHeaders(emit: [String], loop: Bool = false, ingress: [Stmt] = []) -> Program {
        let next: Transition = loop ? .select([.field(.header("b", field: "x"))], [SelectCase([.value(1)], next: "start"), SelectCase([.any], next: "accept")]) : .accept
        return Program(name: "two", headerTypes: [HeaderType("h", fields: [FieldDecl("x", 8)])],
                       headers: [HeaderInstance("a", type: "h"), HeaderInstance("b", type: "h")],
                       parser: Parser(states: [ParserState("start", statements: [.extract("a")], transition: .goto("second")),
                                               ParserState("second", statements: [.extract("b")], transition: next)]),
                       ingress: ingress, deparser: Deparser(emit: emit))
    }

    /// Where the deparser can only give back the parsed bytes, the host target skips its check.
    @Test func deparsesInPlaceOnlyWhenNoHeaderCanMove() throws {
        #expect(try facts("ipv4-router").deparsesInPlace)
        #expect(try !facts("int-md").deparsesInPlace, "it adds INT headers")
        #expect(try Verifier.verify(Self.twoHeaders(emit: ["a", "b"])).facts.deparsesInPlace)
        #expect(try !Verifier.verify(Self.twoHeaders(emit: ["b", "a"])).facts.deparsesInPlace, "emitted in another order")
        #expect(try !Verifier.verify(Self.twoHeaders(emit: ["a"])).facts.deparsesInPlace, "b is parsed but not emitted")
        #expect(try !Verifier.verify(Self.twoHeaders(emit: ["a", "b"], loop: true)).facts.deparsesInPlace, "a parser loop")
        #expect(try !Verifier.verify(Self.twoHeaders(emit: ["a", "b"], ingress: [.setInvalid("b")])).facts.deparsesInPlace, "setInvalid")
    }
}
