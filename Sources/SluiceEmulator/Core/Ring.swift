/// A growable FIFO of trivial values in manual storage (queues of packet indices, packets in
/// flight). Grows by doubling; never shrinks; no allocation in steady state.
@usableFromInline struct Ring<Element> {
    @usableFromInline var items: UnsafeMutablePointer<Element>
    @usableFromInline var mask: Int
    @usableFromInline var head = 0
    @usableFromInline var count = 0

    init(capacity: Int = 16) {
        var c = 1
        while c < capacity { c <<= 1 }
        items = .allocate(capacity: c)
        mask = c - 1
    }

    func deallocate() { items.deallocate() }

    @inline(__always) var isEmpty: Bool { count == 0 }
    @inline(__always) var first: Element { items[head] }

    @inline(__always) mutating func append(_ e: Element) {
        if count > mask { grow() }
        (items + ((head + count) & mask)).initialize(to: e)
        count += 1
    }

    @inline(__always) mutating func removeFirst() -> Element {
        let e = (items + head).move()
        head = (head + 1) & mask
        count -= 1
        return e
    }

    /// The element `i` places behind the head.
    @inline(__always) subscript(i: Int) -> Element { items[(head + i) & mask] }

    mutating func grow() {
        let old = mask + 1
        let p = UnsafeMutablePointer<Element>.allocate(capacity: old * 2)
        for i in 0..<count { (p + i).initialize(to: (items + ((head + i) & mask)).move()) }
        items.deallocate()
        items = p
        head = 0
        mask = old * 2 - 1
    }
}
