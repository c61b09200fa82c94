/// A program the verifier accepted, with the facts backends ask about it. Every backend takes
/// one, so none verifies again and none can be handed a program that was not verified.
///
/// Only `Verifier.verify` makes one: the initializer is internal to SluiceIR (a module that
/// imports SluiceIR cannot call it), and the stored program cannot be changed afterwards. To
/// change a program, change its `Program` and verify it again.
///
/// It reads as its program: `verified.tables` is `verified.program.tables`.
@dynamicMemberLookup
public struct VerifiedProgram: Hashable, Sendable {
    public let program: Program
    /// Computed once, when the program was verified.
    public let facts: ProgramFacts

    init(verified program: Program) {
        self.program = program
        facts = ProgramFacts(program)
    }

    public subscript<T>(dynamicMember path: KeyPath<Program, T>) -> T { program[keyPath: path] }
}
