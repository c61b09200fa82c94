/// What an event does. The emulator dispatches on this with a `switch`: no closures, no
/// protocol calls per event.
@usableFromInline enum EventKind: UInt8 {
    /// A link direction finished serializing a packet and may start the next (`target`: direction).
    case transmitDone
    /// The first packet in flight on a link direction reaches the far end (`target`: direction).
    case arrival
    /// A constant-rate UDP flow sends its next datagram (`target`: flow).
    case udpSend
    /// A transport connection's retransmission timer (`target`: connection).
    case transportTimer
    /// A bulk or application send starts (`target`: flow).
    case flowStart
    /// A recirculated packet re-enters a switch's ingress (`target`: switch, `arg`: packet).
    case recirculate
    /// Observers sample queue depths and link counters.
    case sample
    /// An application's timer (`target`: host, `arg`: the application's token).
    case appTimer
    /// A frame of an injected trace enters the network (`target`: trace, `arg`: frame).
    case inject
    /// A scheduled change to the network (`target`: index into `Emulator.networkEvents`).
    case network
    /// The routing controller learns of a change and rewrites routes (`target`: the change's index).
    case reroute
    /// An event that no longer applies (a link failed with it pending); does nothing.
    case cancelled
}

/// One scheduled event: 24 bytes, ordered by (time, sequence), so events at the same
/// picosecond run in the order they were scheduled (determinism).
@usableFromInline struct Event {
    @usableFromInline var time: VirtualTime
    /// Insertion order (upper 56 bits) and kind (lower 8 bits) in one word, so one compare
    /// orders events of the same time.
    @usableFromInline var seqKind: UInt64
    @usableFromInline var target: Int32
    @usableFromInline var arg: Int32

    @inline(__always) init(time: VirtualTime, sequence: UInt64, kind: EventKind, target: Int32, arg: Int32) {
        self.time = time
        seqKind = sequence << 8 | UInt64(kind.rawValue)
        self.target = target
        self.arg = arg
    }

    /// `kind`'s raw value (an index into per-kind counters).
    @inline(__always) var kindIndex: Int { Int(truncatingIfNeeded: seqKind & 0xFF) }
    @inline(__always) var kind: EventKind { EventKind(rawValue: UInt8(truncatingIfNeeded: seqKind))! }

    @inline(__always) static func < (a: Event, b: Event) -> Bool {
        a.time < b.time || (a.time == b.time && a.seqKind < b.seqKind)
    }
}

/// A binary min-heap of events in manually managed storage (no copy-on-write checks, no
/// allocation once grown). Emulations keep few events pending (at most two per link direction
/// plus timers), so the heap stays shallow.
@usableFromInline struct EventHeap {
    @usableFromInline var items: UnsafeMutablePointer<Event>
    @usableFromInline var count = 0
    @usableFromInline var capacity: Int
    @usableFromInline var nextSeq: UInt64 = 0

    init(capacity: Int = 1024) {
        self.capacity = capacity
        items = .allocate(capacity: capacity)
    }

    func deallocate() { items.deallocate() }

    @inline(__always) mutating func push(_ time: VirtualTime, _ kind: EventKind, target: Int32, arg: Int32 = 0) {
        if count == capacity { grow() }
        let e = Event(time: time, sequence: nextSeq, kind: kind, target: target, arg: arg)
        nextSeq &+= 1
        var i = count
        count += 1
        while i > 0 {
            let parent = (i - 1) >> 1
            if !(e < items[parent]) { break }
            items[i] = items[parent]
            i = parent
        }
        items[i] = e
    }

    @inline(__always) var top: Event? { count > 0 ? items[0] : nil }

    /// The earliest event, removed. Bottom-up (Wegener): the hole at the root goes down to a
    /// leaf along the earlier children, one compare a level, and the last event goes up from
    /// there; the last event almost always belongs near the bottom, so this halves the
    /// compares (and mispredicted branches) of sifting it down from the root.
    @inline(__always) mutating func pop() -> Event {
        let first = items[0]
        count -= 1
        if count > 0 {
            let last = items[count]
            var i = 0
            while true {
                let l = 2 * i + 1
                if l >= count { break }
                let c = l + 1 < count && items[l + 1] < items[l] ? l + 1 : l
                items[i] = items[c]
                i = c
            }
            while i > 0 {
                let parent = (i - 1) >> 1
                if !(last < items[parent]) { break }
                items[i] = items[parent]
                i = parent
            }
            items[i] = last
        }
        return first
    }

    /// Turn the pending event of `kind` for `target` into a `cancelled` one (its time and place
    /// in the order stay). A scan of the heap: for rare changes (a link failing), never per packet.
    @discardableResult
    mutating func cancel(_ kind: EventKind, target: Int32) -> Bool {
        for i in 0..<count where items[i].target == target && items[i].kindIndex == Int(kind.rawValue) {
            items[i].seqKind = items[i].seqKind & ~0xFF | UInt64(EventKind.cancelled.rawValue)
            return true
        }
        return false
    }

    mutating func grow() {
        let n = capacity * 2
        let p = UnsafeMutablePointer<Event>.allocate(capacity: n)
        p.moveInitialize(from: items, count: count)
        items.deallocate()
        items = p
        capacity = n
    }
}
