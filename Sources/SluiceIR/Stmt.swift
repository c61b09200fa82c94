/// A statement of a control, an action, a parser state or the deparser.
public indirect enum Stmt: Hashable, Sendable, Codable {
    case assign(FieldRef, Expr)
    case setValid(String, index: StackIndex? = nil)
    case setInvalid(String, index: StackIndex? = nil)
    /// Shift a stack towards higher indices by `count`, invalid elements entering at index 0.
    case pushFront(String, count: Int)
    /// Shift a stack towards lower indices by `count`, invalid elements entering at the end.
    case popFront(String, count: Int)
    case ifElse(Expr, then: [Stmt], else: [Stmt])
    /// Apply a table, then run the branch for the outcome.
    case apply(String, outcome: ApplyOutcome = ApplyOutcome())
    /// Run an action directly with arguments.
    case call(String, args: [Expr])
    /// Mark the packet to be dropped (v1model's `mark_to_drop`).
    case drop
    /// Stop the current control (ingress or egress) here.
    case exit
    /// `dest = register[index]`
    case registerRead(FieldRef, register: String, index: Expr)
    /// `register[index] = value`
    case registerWrite(String, index: Expr, value: Expr)
    /// Atomically `register[index] = update(old)`; `update` reads the old value as
    /// `.registerOld`. When `result` is given it receives the old value (or the new one when
    /// `returnsNew`). The read-modify-write primitives of in-network aggregation are all
    /// instances of this one statement.
    case registerAction(String, index: Expr, update: Expr, result: FieldRef?, returnsNew: Bool = false)
    /// Count one packet (and its bytes) at `index` of an indexed counter.
    case count(String, index: Expr)
    /// Run a two-rate three-color meter at `index`; the color (0 green, 1 yellow, 2 red) goes to `result`.
    case meter(String, index: Expr, result: FieldRef)
    /// Send a digest to the control plane.
    case digest(String, values: [Expr])
    /// `field = ones-complement checksum over the headers` (the field itself taken as zero).
    case updateChecksum(FieldRef, over: [String])
    /// Set `standard.checksumError` when the ones-complement sum over the headers is not all ones.
    case verifyChecksum(FieldRef, over: [String])
    /// RFC 1624 incremental update of a 16-bit checksum field when a value changes from `old` to
    /// `new` (widths a multiple of 16 bits).
    case incrementalChecksum(FieldRef, old: Expr, new: Expr)
    /// Send the packet back to the parser after the egress deparser (bounded by the target).
    case recirculate
    /// Send the original packet back to the parser after ingress (bounded by the target).
    case resubmit
    // Parser-only statements.
    /// Copy the header at the cursor and advance (`index: .next` for a stack).
    case extract(String, index: StackIndex? = nil)
    /// Fail with `error` (reject) unless `condition` holds.
    case verify(Expr, error: String)
    /// Advance the cursor by a number of bits (a multiple of 8).
    case advance(Int)
    /// Advance the cursor by a run-time number of bytes (at most `SkipLimit.bytes`; rejects
    /// with `PacketTooShort` past the end). The bytes skipped are not emitted again: how a
    /// parser removes a variable-length block (INT's metadata stack at the sink).
    case skip(Expr)
    // Control-only statements.
    /// Send at most this many bytes of the packet (P4's `truncate`): the deparsed packet is cut
    /// after it; a larger value leaves the packet whole. The last truncate of a pass wins.
    case truncate(Expr)
}

/// The most bytes one `skip` may advance (the XDP backend needs a bound the kernel verifier can see).
public enum SkipLimit {
    public static let bytes = 2048
}

/// Branches after a table apply. A `switch` on the action that ran goes in `actions`.
public struct ApplyOutcome: Hashable, Sendable, Codable {
    public var hit: [Stmt]
    public var miss: [Stmt]
    public var actions: [ActionBranch]
    public init(hit: [Stmt] = [], miss: [Stmt] = [], actions: [ActionBranch] = []) {
        self.hit = hit; self.miss = miss; self.actions = actions
    }
    public var isEmpty: Bool { hit.isEmpty && miss.isEmpty && actions.isEmpty }
}

public struct ActionBranch: Hashable, Sendable, Codable {
    public var action: String
    public var body: [Stmt]
    public init(_ action: String, _ body: [Stmt]) { self.action = action; self.body = body }
}
