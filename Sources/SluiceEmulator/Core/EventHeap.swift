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

/// One scheduled event: 32 bytes, ordered by (time, scheduled, order). `scheduled` is when it
/// was scheduled (for an arrival, when its packet was sent); `order` is the node that caused
/// it (the one whose event, or whose start, scheduled it), then that node's own count of the
/// events it scheduled, then the kind. Every partitioning of the network computes this key
/// alike, since a node schedules the same events at the same times wherever it runs, so
/// events at the same picosecond run in the same order on one thread, several threads or
/// several processes. Ordering by `scheduled` first keeps the order a single global
/// insertion counter gave wherever the two events were scheduled at different times.
@usableFromInline struct Event {
    @usableFromInline var time: VirtualTime
    /// `scheduled`'s picoseconds with the sign bit flipped: unsigned order is `scheduled`'s
    /// order, so the heap compares it and `order` as one 128-bit number, with nothing to flip
    /// a level.
    @usableFromInline var scheduledKey: UInt64
    /// `EventOrder`: cause (upper 24 bits), the cause's sequence number (32 bits) and kind
    /// (lower 8 bits) in one word, so one compare orders events of the same time.
    @usableFromInline var order: UInt64
    @usableFromInline var target: Int32
    @usableFromInline var arg: Int32

    @inline(__always) init(time: VirtualTime, scheduled: VirtualTime, order: UInt64, kind: EventKind, target: Int32, arg: Int32) {
        self.time = time
        self.scheduledKey = UInt64(bitPattern: scheduled.picoseconds) ^ 1 << 63
        self.order = order | UInt64(kind.rawValue)
        self.target = target
        self.arg = arg
    }

    /// When the event was scheduled.
    @inline(__always) var scheduled: VirtualTime { VirtualTime(picoseconds: Int64(bitPattern: scheduledKey ^ 1 << 63)) }

    /// `kind`'s raw value (an index into per-kind counters).
    @inline(__always) var kindIndex: Int { Int(truncatingIfNeeded: order & 0xFF) }
    @inline(__always) var kind: EventKind { EventKind(rawValue: UInt8(truncatingIfNeeded: order))! }

    @inline(__always) static func < (a: Event, b: Event) -> Bool {
        a.time < b.time || (a.time == b.time && (a.scheduledKey < b.scheduledKey || (a.scheduledKey == b.scheduledKey && a.order < b.order)))
    }

    /// `a < b` without branches, as 0 or 1: for the heap's pick between two children, which
    /// is a coin toss to the branch predictor (a mispredicted branch a level of every pop), and
    /// often decided past `time` (events of one picosecond are common when identical flows run
    /// in step). `time` compares signed; `scheduledKey` and `order` as one 128-bit number.
    @inline(__always) static func precedes(_ a: Event, _ b: Event) -> Int {
        let ta = a.time.picoseconds, tb = b.time.picoseconds
        let ra = UInt128(a.scheduledKey) << 64 | UInt128(a.order)
        let rb = UInt128(b.scheduledKey) << 64 | UInt128(b.order)
        let less = unsafeBitCast(ta < tb, to: UInt8.self)
        let tie = unsafeBitCast(ta == tb, to: UInt8.self) & unsafeBitCast(ra < rb, to: UInt8.self)
        return Int(less | tie)
    }
}

/// The order key of events a cause schedules: cause 0 is the run's start (flows, traces,
/// samples), cause n + 1 is topology node n. Each cause counts its own events in 32 bits; the
/// count wraps after 4 billion events from one node, which keeps the order deterministic (only
/// the tie-break among that node's same-picosecond events at the wrap changes).
@usableFromInline enum EventOrder {
    /// Causes that fit the key: topology nodes up to this many, less the start.
    static let maxCauses = 1 << 24
    @inline(__always) static func key(cause: Int, sequence: UInt32) -> UInt64 {
        UInt64(truncatingIfNeeded: cause) << 40 | UInt64(sequence) << 8
    }
    /// The cause of an order key (node index + 1, or 0 for the start).
    @inline(__always) static func cause(_ order: UInt64) -> Int { Int(truncatingIfNeeded: order >> 40) }
    @inline(__always) static func sequence(_ order: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: order >> 8) }
}

/// A binary min-heap of events in manually managed storage (no copy-on-write checks, no
/// allocation once grown; index arithmetic wraps, as indexes stay below the capacity): the
/// events past `EventHeap`'s calendar, and the reference its order is tested against.
@usableFromInline struct EventBinaryHeap {
    @usableFromInline var items: UnsafeMutablePointer<Event>
    @usableFromInline var count = 0
    @usableFromInline var capacity: Int

    init(capacity: Int = 64) {
        self.capacity = capacity
        items = .allocate(capacity: capacity)
    }

    func deallocate() { items.deallocate() }

    @inline(__always) mutating func push(_ e: Event) {
        if count == capacity { grow() }
        let i = count
        count &+= 1
        siftUp(e, from: i)
    }

    /// Put `e` into the hole at `i`, or above it where its parents come after it.
    @inline(__always) mutating func siftUp(_ e: Event, from hole: Int) {
        var i = hole
        while i > 0 {
            let parent = (i &- 1) >> 1
            if !(e < items[parent]) { break }
            items[i] = items[parent]
            i = parent
        }
        items[i] = e
    }

    /// The earliest event, still pending.
    @inline(__always) var top: Event? { count > 0 ? items[0] : nil }

    /// The earliest event, removed. Bottom-up (Wegener): the hole at the root goes down to a
    /// leaf along the earlier children, one compare a level, and the last event goes up from
    /// there; the last event almost always belongs near the bottom, so this halves the
    /// compares (and mispredicted branches) of sifting it down from the root.
    @inline(__always) mutating func pop() -> Event {
        let first = items[0]
        count &-= 1
        if count > 0 { fillRoot(with: items[count]) }
        return first
    }

    /// Put `e` into the heap of `count` events whose root is empty (`e` is not among them).
    @inline(__always) mutating func fillRoot(with e: Event) {
        var i = 0
        var l = 1
        // Down where both children are: the earlier one, picked without a branch
        // (`Event.precedes`), moves up into the hole.
        while l &+ 1 < count {
            let c = l &+ Event.precedes(items[l &+ 1], items[l])
            items[i] = items[c]
            i = c
            l = 2 &* c &+ 1
        }
        // At most one node has a single child: the last one's parent.
        if l < count {
            items[i] = items[l]
            i = l
        }
        siftUp(e, from: i)
    }

    /// Turn the pending event of `kind` for `target` into a `cancelled` one (its time and place
    /// in the order stay). A scan of the heap: for rare changes (a link failing), never per packet.
    @discardableResult
    mutating func cancel(_ kind: EventKind, target: Int32) -> Bool {
        for i in 0..<count where items[i].target == target && items[i].kindIndex == Int(kind.rawValue) {
            items[i].order = items[i].order & ~0xFF | UInt64(EventKind.cancelled.rawValue)
            return true
        }
        return false
    }

    mutating func grow() {
        items = items.moved(count: count, toCapacity: capacity * 2)
        capacity *= 2
    }
}

/// The emulator's event queue: a calendar of buckets `2^shift` picoseconds wide over the next
/// `buckets` of them, and a binary heap (`EventBinaryHeap`) for events past that horizon, which
/// move into the calendar as it reaches them. Most events land a link's delay or a packet's
/// serialization ahead, a few buckets on, so a push links the event into its bucket and a pop
/// takes the first of the first non-empty bucket (found through a bitmap; a bucket is sorted
/// when the calendar reaches it), where a heap of a few hundred events spent about 200
/// instructions sifting each one. Events come out in
/// exactly the heap's order (`Event.<`: no two share a key), which `EventOrderTests` check
/// against `EventBinaryHeap`.
@usableFromInline struct EventHeap {
    /// Bucket width: 2^11 ps (2.0 ns), under the spacing of events on a busy leaf-spine (16.4
    /// ns left leafspine-64 18% slower than 4.1; 2.0 sorts fewer events a bucket than 4.1,
    /// 0.9% fewer instructions in `bench emulator`, and 1.0 no fewer than 2.0).
    static let shift = 11
    /// Buckets in the calendar (a power of two): a horizon of 33.6 us, past a link's delay.
    static let buckets = 16384

    /// Events in the calendar, each linked to the next of its bucket (-1 ends a bucket).
    @usableFromInline var nodes: UnsafeMutablePointer<Event>
    @usableFromInline var next: UnsafeMutablePointer<Int32>
    @usableFromInline var nodeCapacity: Int
    /// Unused nodes, linked through `next`.
    @usableFromInline var freeNode: Int32 = -1
    /// Per bucket its first and last node (first -1: empty; last is kept only while it is not),
    /// a bit per non-empty bucket, and a bit per bucket whose events were not pushed in order.
    @usableFromInline var heads: UnsafeMutablePointer<Int32>
    @usableFromInline var tails: UnsafeMutablePointer<Int32>
    @usableFromInline var occupied: UnsafeMutablePointer<UInt64>
    @usableFromInline var unordered: UnsafeMutablePointer<UInt64>
    /// The bucket number (time >> shift) of the calendar's first bucket: every event in the
    /// calendar lies in buckets cursor ..< cursor + buckets, every event in `far` after them.
    @usableFromInline var cursor: Int64 = 0
    @usableFromInline var inCalendar = 0
    @usableFromInline var far: EventBinaryHeap
    /// The earliest event, found by `top` and not yet taken (the first of the sorted bucket at
    /// the cursor), -1 when not known.
    @usableFromInline var found: Int32 = -1
    /// The bucket (its number, as `cursor`) whose events are linked in order, earliest first:
    /// the one events are taken from. Events of one time often come many at once (identical
    /// flows in step), so the bucket is sorted once rather than searched at every take.
    @usableFromInline var sortedBucket: Int64 = .min
    /// Room to sort a bucket's nodes in.
    @usableFromInline var scratch: UnsafeMutableBufferPointer<Int32>
    /// Events scheduled so far by each cause (`EventOrder`): the start, then every node.
    @usableFromInline var sequences: UnsafeMutablePointer<UInt32>
    @usableFromInline let causes: Int
    /// The cause of the events pushed now and the time they are scheduled at: set before
    /// each event is handled.
    @usableFromInline var cause = 0
    @usableFromInline var now = VirtualTime.zero

    init(capacity: Int = 1024, nodes: Int = 0) {
        nodeCapacity = max(capacity, 2)
        self.nodes = .allocate(capacity: nodeCapacity)
        next = .allocate(capacity: nodeCapacity)
        for i in 0..<nodeCapacity { next[i] = i + 1 < nodeCapacity ? Int32(i + 1) : -1 }
        freeNode = 0
        heads = .allocate(capacity: Self.buckets)
        heads.initialize(repeating: -1, count: Self.buckets)
        tails = .allocate(capacity: Self.buckets)
        tails.initialize(repeating: -1, count: Self.buckets)
        occupied = .allocate(capacity: Self.buckets / 64)
        occupied.initialize(repeating: 0, count: Self.buckets / 64)
        unordered = .allocate(capacity: Self.buckets / 64)
        unordered.initialize(repeating: 0, count: Self.buckets / 64)
        far = EventBinaryHeap()
        scratch = .allocate(capacity: nodeCapacity)
        causes = nodes + 1
        sequences = .allocate(capacity: causes)
        sequences.initialize(repeating: 0, count: causes)
    }

    func deallocate() {
        self.nodes.deallocate(); next.deallocate(); heads.deallocate(); tails.deallocate()
        occupied.deallocate(); unordered.deallocate()
        far.deallocate(); sequences.deallocate(); scratch.deallocate()
    }

    /// Events pending.
    @inline(__always) var count: Int { inCalendar &+ far.count }

    /// The next order key of the current cause, used up whether or not an event is pushed
    /// with it now (a packet's arrival is keyed when it is sent).
    @inline(__always) mutating func nextOrder() -> UInt64 { nextOrder(cause: cause) }

    /// The next order key of `cause` (a packet's arrival is keyed by its sending node).
    @inline(__always) mutating func nextOrder(cause c: Int) -> UInt64 {
        let s = sequences[c]
        sequences[c] = s &+ 1
        return EventOrder.key(cause: c, sequence: s)
    }

    @inline(__always) mutating func push(_ time: VirtualTime, _ kind: EventKind, target: Int32, arg: Int32 = 0) {
        push(time, kind, target: target, arg: arg, scheduled: now, order: nextOrder())
    }

    /// Push with a schedule time and order key taken earlier (`nextOrder`).
    @inline(__always) mutating func push(_ time: VirtualTime, _ kind: EventKind, target: Int32, arg: Int32 = 0,
                                         scheduled: VirtualTime, order: UInt64) {
        insert(Event(time: time, scheduled: scheduled, order: order, kind: kind, target: target, arg: arg))
    }

    @inline(__always) mutating func insert(_ e: Event) {
        let ahead = Self.bucket(e) &- cursor
        if ahead >= 0 && ahead < Int64(Self.buckets) {
            link(e)
            // The earliest known so far may no longer be.
            found = -1
        } else if ahead >= 0 {
            far.push(e)
        } else {
            insertBeforeCursor(e)
        }
    }

    /// The bucket number of `e`'s time.
    @inline(__always) static func bucket(_ e: Event) -> Int64 { e.time.picoseconds >> Int64(shift) }
    /// Where bucket number `b` lives in the calendar.
    @inline(__always) static func slot(_ b: Int64) -> Int { Int(truncatingIfNeeded: b) & (buckets - 1) }

    /// Link `e` into its bucket, which lies in the calendar: after the events that precede it
    /// when the bucket is the sorted one, else last, noting when it precedes the last.
    @inline(__always) mutating func link(_ e: Event) {
        if freeNode < 0 { growNodes() }
        let n = freeNode
        freeNode = next[Int(n)]
        nodes[Int(n)] = e
        let b = Self.bucket(e), i = Self.slot(b)
        let h = heads[i]
        next[Int(n)] = -1
        if h < 0 {
            heads[i] = n
            tails[i] = n
            occupied[i >> 6] |= 1 << UInt64(i & 63)
        } else if b == sortedBucket {
            var previous: Int32 = -1, m = h
            while m >= 0 && nodes[Int(m)] < e { previous = m; m = next[Int(m)] }
            next[Int(n)] = m
            if previous < 0 { heads[i] = n } else { next[Int(previous)] = n }
            if m < 0 { tails[i] = n }
        } else {
            let t = tails[i]
            if e < nodes[Int(t)] { unordered[i >> 6] |= 1 << UInt64(i & 63) }
            next[Int(t)] = n
            tails[i] = n
        }
        inCalendar &+= 1
    }

    /// Link bucket `i` (number `b`) in order, earliest first. A bucket holds one event, or a
    /// few dozen when identical flows run in step; its list is in the order its events were
    /// pushed, and newer events mostly come later, so most buckets are in order already
    /// (`unordered` says which are not). The others are sorted by insertion, walking the list
    /// from its first event: the library's sort (a generic call, a closure per comparison)
    /// took 7% of `bench emulator`. Past `insertionLimit` events, the library sort keeps a
    /// crowded bucket O(k log k).
    @inline(never) mutating func sortBucket(_ i: Int, number b: Int64) {
        sortedBucket = b
        let bit: UInt64 = 1 << UInt64(i & 63)
        if unordered[i >> 6] & bit == 0 { return }
        unordered[i >> 6] &= ~bit
        let nodes = self.nodes
        var k = 0
        var n = heads[i]
        while n >= 0 { scratch[k] = n; k &+= 1; n = next[Int(n)] }
        let order = scratch.baseAddress!
        if k <= Self.insertionLimit {
            // order[0..<j] sorted; insert order[j] into it.
            var j = 1
            while j < k {
                let x = order[j], e = nodes[Int(x)]
                var p = j
                while p > 0 && e < nodes[Int(order[p &- 1])] { order[p] = order[p &- 1]; p &-= 1 }
                order[p] = x
                j &+= 1
            }
        } else {
            var part = UnsafeMutableBufferPointer(rebasing: scratch[0..<k])
            part.sort { nodes[Int($0)] < nodes[Int($1)] }
        }
        heads[i] = order[0]
        for j in 0..<k { next[Int(order[j])] = j &+ 1 < k ? order[j &+ 1] : -1 }
        tails[i] = order[k &- 1]
    }

    /// The most events of a bucket `sortBucket` sorts by insertion.
    static let insertionLimit = 48

    /// An event before the calendar's first bucket: a partition peeked past its window's end
    /// (`top` moves the calendar on to the next event) and then receives the packets that
    /// cross to it. The calendar starts at the event's bucket; the events of the slots it goes
    /// back over (its last buckets, or all of them when it goes back further than it spans)
    /// go to `far`, and return as far as the calendar now reaches.
    @inline(never) mutating func insertBeforeCursor(_ e: Event) {
        let b = Self.bucket(e)
        for x in b ..< b &+ min(cursor &- b, Int64(Self.buckets)) {
            let i = Self.slot(x)
            var n = heads[i]
            while n >= 0 {
                far.push(nodes[Int(n)])
                let m = next[Int(n)]
                next[Int(n)] = freeNode
                freeNode = n
                inCalendar &-= 1
                n = m
            }
            heads[i] = -1
            occupied[i >> 6] &= ~(1 << UInt64(i & 63))
            unordered[i >> 6] &= ~(1 << UInt64(i & 63))
        }
        found = -1
        sortedBucket = .min
        cursor = b
        link(e)
        refill()
    }

    /// The earliest event, still pending.
    @inline(__always) var top: Event? {
        mutating get {
            if found < 0 && !find() { return nil }
            return nodes[Int(found)]
        }
    }

    /// Find the earliest event (`found`); false when none is pending. Inlined, the common case:
    /// the next event is in the sorted bucket at the cursor (nine events in ten on a busy
    /// leaf-spine); the rest, outlined, keeps `pop(notAfter:)` small enough to inline.
    @inline(__always) mutating func find() -> Bool {
        let h = heads[Self.slot(cursor)]
        if h >= 0 && cursor == sortedBucket {
            found = h
            return true
        }
        return findFurther()
    }

    /// `find` when the bucket at the cursor is empty or not sorted yet.
    @inline(never) mutating func findFurther() -> Bool {
        if inCalendar == 0 {
            guard let f = far.top else { return false }
            // Nothing before the far events: the calendar starts at the first of them.
            cursor = Self.bucket(f)
            refill()
        }
        var i = Self.slot(cursor)
        if heads[i] < 0 {
            // On to the next event's bucket; the far events that then come within reach
            // belong after it.
            i = nextOccupied(after: i)
            cursor &+= Int64((i &- Self.slot(cursor)) & (Self.buckets - 1))
            refill()
        }
        if cursor != sortedBucket { sortBucket(i, number: cursor) }
        found = heads[i]
        return true
    }

    /// The first non-empty bucket at or after `i` in the calendar's circular order (there is one).
    @inline(__always) func nextOccupied(after i: Int) -> Int {
        var w = i >> 6
        var bits = occupied[w] & (~0 << UInt64(i & 63))
        while bits == 0 {
            w = (w &+ 1) & (Self.buckets / 64 - 1)
            bits = occupied[w]
        }
        return w << 6 | bits.trailingZeroBitCount
    }

    /// Move far events the calendar now reaches into it.
    @inline(__always) mutating func refill() {
        let end = cursor &+ Int64(Self.buckets)
        while far.count > 0, let f = far.top, Self.bucket(f) < end { link(far.pop()) }
    }

    /// The earliest event (`top`, not nil), removed.
    @inline(__always) mutating func take() -> Event {
        if found < 0 { _ = find() }
        let e = nodes[Int(found)]
        unlinkFound()
        return e
    }

    /// The earliest event if it is due by `limit`, removed; nil when none is. `top` and `take`
    /// in one: the run loop's, where the two calls and the event copied out twice cost about
    /// 20 instructions an event.
    @inline(__always) mutating func pop(notAfter limit: VirtualTime) -> Event? {
        if found < 0 && !find() { return nil }
        let e = nodes[Int(found)]
        if e.time > limit { return nil }
        unlinkFound()
        return e
    }

    /// Remove the earliest event (`found`, the first of the bucket at the cursor: `find` moved
    /// the calendar's start to its bucket already).
    @inline(__always) mutating func unlinkFound() {
        let n = found
        let i = Self.slot(cursor)
        heads[i] = next[Int(n)]
        if heads[i] < 0 { occupied[i >> 6] &= ~(1 << UInt64(i & 63)) }
        next[Int(n)] = freeNode
        freeNode = n
        inCalendar &-= 1
        found = -1
    }

    /// The earliest event, removed.
    @inline(__always) mutating func pop() -> Event {
        _ = find()
        return take()
    }

    /// Turn the pending event of `kind` for `target` into a `cancelled` one (its time and place
    /// in the order stay). A scan: for rare changes (a link failing), never per packet.
    @discardableResult
    mutating func cancel(_ kind: EventKind, target: Int32) -> Bool {
        for i in 0..<Self.buckets {
            var n = heads[i]
            while n >= 0 {
                if nodes[Int(n)].target == target && nodes[Int(n)].kindIndex == Int(kind.rawValue) {
                    nodes[Int(n)].order = nodes[Int(n)].order & ~0xFF | UInt64(EventKind.cancelled.rawValue)
                    return true
                }
                n = next[Int(n)]
            }
        }
        return far.cancel(kind, target: target)
    }

    mutating func growNodes() {
        let n = nodeCapacity * 2
        nodes = nodes.moved(count: nodeCapacity, toCapacity: n)
        next = next.moved(count: nodeCapacity, toCapacity: n)
        for i in nodeCapacity..<n { next[i] = i + 1 < n ? Int32(i + 1) : -1 }
        freeNode = Int32(nodeCapacity)
        nodeCapacity = n
        scratch.deallocate()
        scratch = .allocate(capacity: n)
    }
}
