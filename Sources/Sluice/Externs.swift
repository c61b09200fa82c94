import SluiceIR

/// `into = register[index]`
public struct RegisterRead: Statement {
    public let statements: [Stmt]
    public init(_ register: String, index: Value, into dest: Value) {
        statements = [.registerRead(dest.ref ?? .notAssignable(), register: register, index: index.ir)]
    }
}

/// `register[index] = value`
public struct RegisterWrite: Statement {
    public let statements: [Stmt]
    public init(_ register: String, index: Value, _ value: Value) {
        statements = [.registerWrite(register, index: index.ir, value: value.ir)]
    }
}

/// An atomic read-modify-write: `register[index] = update(old)`, the old value (or the new one)
/// returned into `result`. `RegisterAction("agg", index: i, result: meta.prev) { old in old + x }`.
public struct RegisterAction: Statement {
    public let statements: [Stmt]
    public init(_ register: String, index: Value, result: Value? = nil, returnsNew: Bool = false, update: (Value) -> Value) {
        statements = [.registerAction(register, index: index.ir, update: update(old).ir, result: result?.ref, returnsNew: returnsNew)]
    }

    /// `register[index] += value`, returning the old value.
    public static func add(_ r: String, index: Value, _ v: Value, oldInto result: Value? = nil) -> RegisterAction {
        RegisterAction(r, index: index, result: result) { $0 + v }
    }
    /// `register[index] |= value`, returning the old value (set bits in a bitmap).
    public static func or(_ r: String, index: Value, _ v: Value, oldInto result: Value? = nil) -> RegisterAction {
        RegisterAction(r, index: index, result: result) { $0 | v }
    }
    /// `register[index] &= ~value`, returning the old value (clear bits in a bitmap).
    public static func andNot(_ r: String, index: Value, _ v: Value, oldInto result: Value? = nil) -> RegisterAction {
        RegisterAction(r, index: index, result: result) { $0 & ~v }
    }
    /// `register[index] = max(old, value)`, returning the old value.
    public static func max(_ r: String, index: Value, _ v: Value, oldInto result: Value? = nil) -> RegisterAction {
        RegisterAction(r, index: index, result: result) { mux($0 > v, $0, v) }
    }
    /// `register[index] += value` when `condition` holds, else `register[index] = value`
    /// (aggregate into a slot, or start it afresh). Returns the old value.
    public static func addOrSet(_ r: String, index: Value, _ v: Value, add condition: Value, oldInto result: Value? = nil) -> RegisterAction {
        RegisterAction(r, index: index, result: result) { mux(condition, $0 + v, v) }
    }
    /// A countdown: `old == 0 ? reset : old - 1`, returning the new value.
    public static func countdown(_ r: String, index: Value, reset: Value, newInto result: Value? = nil) -> RegisterAction {
        RegisterAction(r, index: index, result: result, returnsNew: true) { mux($0 == 0, reset, $0 - 1) }
    }
}
