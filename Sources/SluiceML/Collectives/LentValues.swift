/// The values a collective's message stands for, without a copy while they stay put: a range
/// of the sender's buffer, read when the receiver takes the message. Should the sender write
/// over the range first (`TensorBuffer.willWrite`), the values are copied out just before,
/// so the receiver still gets what was sent. A 100 MB parameter-server run sends its whole
/// tensor at once; copying it into every message made each worker's 100 MB of fresh pages.
///
/// A lent range lives in one emulation (one thread): the collectives run on one partition.
final class ValuesAttachment<T: AllReduceScalar> {
    /// The elements the message carries.
    let count: Int
    /// Where the values are while they are unchanged: the sender's buffer and range. Weak: the
    /// buffer's `lending` holds this attachment until it is taken, and a run stopped with
    /// messages still out must not keep the buffer alive through them.
    private(set) weak var source: TensorBuffer<T>?
    let range: Range<Int>
    /// The values once copied out of the sender (or given as a copy); nil while lent.
    private var copy: [T]?
    private var taken = false

    /// A message of these values, already a copy of their own.
    init(_ values: [T]) { count = values.count; range = 0..<values.count; copy = values }

    fileprivate init(lending range: Range<Int>, of buffer: TensorBuffer<T>) {
        count = range.count; self.range = range; source = buffer
    }

    /// Runs `body` on the values and lets the sender's range go: a message is taken once.
    func take<R>(_ body: (UnsafeBufferPointer<T>) -> R) -> R {
        precondition(!taken, "a collective's message (\(count) values) taken twice")
        taken = true
        if let c = copy { return c.withUnsafeBufferPointer(body) }
        guard let s = source else { preconditionFailure("a collective's message (\(count) values) taken after its sender's buffer went away") }
        defer { s.lending?.remove(self); source = nil }
        return s.values.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// The sender is about to write over (part of) the range: keep the values as they are.
    fileprivate func copyOut() {
        guard copy == nil, let s = source else { return }
        copy = s.values.withUnsafeBufferPointer { src in
            [T](unsafeUninitializedCapacity: range.count) { dst, n in
                _ = dst.initialize(fromContentsOf: UnsafeBufferPointer(rebasing: src[range]))
                n = range.count
            }
        }
        s.lending?.remove(self)
        source = nil
    }
}

/// A buffer's lent ranges, found by the 16 Ki-element stretches they cover: a write looks at
/// the lends of the stretches it touches, not at every lend (a parameter server's run has
/// thousands out at once).
final class Lending<T: AllReduceScalar> {
    static var shift: Int { 14 }
    var stretches: [[ValuesAttachment<T>]]
    var count = 0

    init(elements: Int) { stretches = Array(repeating: [], count: (elements >> Self.shift) + 1) }

    func stretchRange(_ r: Range<Int>) -> ClosedRange<Int> { (r.lowerBound >> Self.shift)...((r.upperBound - 1) >> Self.shift) }

    func add(_ a: ValuesAttachment<T>) {
        for b in stretchRange(a.range) { stretches[b].append(a) }
        count += 1
    }

    func remove(_ a: ValuesAttachment<T>) {
        for b in stretchRange(a.range) {
            if let i = stretches[b].firstIndex(where: { $0 === a }) { stretches[b].swapAt(i, stretches[b].count - 1); stretches[b].removeLast() }
        }
        count -= 1
    }
}

extension TensorBuffer {
    /// `range`'s values as a message attachment, read when taken (or copied out before a write
    /// over them).
    func lend(_ range: Range<Int>) -> ValuesAttachment<T> {
        guard !range.isEmpty else { return ValuesAttachment([]) }
        let a = ValuesAttachment(lending: range, of: self)
        if lending == nil { lending = Lending(elements: count) }
        lending!.add(a)
        return a
    }

    /// Elements `range` are about to change: the lent values among them are copied out first.
    func willWrite(_ range: Range<Int>) {
        guard let l = lending, l.count > 0, !range.isEmpty else { return }
        for b in l.stretchRange(range) {
            for a in l.stretches[b] where a.range.overlaps(range) { a.copyOut() }
        }
    }
}
