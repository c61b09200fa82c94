import SluiceIR

/// Anything that lowers to statements.
public protocol Statement {
    var statements: [Stmt] { get }
}

/// Collects statements. Swift's own `if` and `for` inside run when the program is built (so a
/// `for` unrolls: that is how bounded loops are written); runtime conditions use `If`.
@resultBuilder
public enum StatementBuilder {
    public static func buildExpression(_ s: any Statement) -> [Stmt] { s.statements }
    public static func buildExpression(_ s: [Stmt]) -> [Stmt] { s }
    public static func buildBlock(_ parts: [Stmt]...) -> [Stmt] { parts.flatMap { $0 } }
    public static func buildOptional(_ s: [Stmt]?) -> [Stmt] { s ?? [] }
    public static func buildEither(first s: [Stmt]) -> [Stmt] { s }
    public static func buildEither(second s: [Stmt]) -> [Stmt] { s }
    public static func buildArray(_ s: [[Stmt]]) -> [Stmt] { s.flatMap { $0 } }
}

/// Collects fields of a header type, metadata or digest.
@resultBuilder
public enum FieldBuilder {
    public static func buildExpression(_ f: Field) -> [FieldDecl] { [f.decl] }
    public static func buildBlock(_ parts: [FieldDecl]...) -> [FieldDecl] { parts.flatMap { $0 } }
    public static func buildOptional(_ s: [FieldDecl]?) -> [FieldDecl] { s ?? [] }
    public static func buildEither(first s: [FieldDecl]) -> [FieldDecl] { s }
    public static func buildEither(second s: [FieldDecl]) -> [FieldDecl] { s }
    public static func buildArray(_ s: [[FieldDecl]]) -> [FieldDecl] { s.flatMap { $0 } }
}

/// A field of `width` bits (1...128).
public struct Field: Sendable {
    public let decl: FieldDecl
    public init(_ name: String, _ width: Int, signed: Bool = false) { decl = FieldDecl(name, width, signed: signed) }
}
