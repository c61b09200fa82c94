import CPrefetch
import Foundation
import SluiceRuntime

/// Every packet in flight lives here and moves by index (`Int32`): buffers are allocated when
/// the pool grows and reused after, so a steady-state run allocates nothing per packet.
/// Per-packet state the traffic manager needs sits in parallel arrays (structure of arrays).
/// A pool that goes away leaves its buffers to the next pool of the process (`SparePackets`).
@usableFromInline final class PacketPool {
    /// Buffers hold a frame of the largest MTU plus headroom for pushed headers.
    let bufferCapacity: Int
    /// The largest frame any link carries (its MTU plus the Ethernet header).
    let maxFrame: Int
    let headroom = 256
    /// Words of bridged metadata per packet (the largest `bridgeWords` of any switch).
    let bridgeStride: Int

    @exclusivity(unchecked) var buffers: UnsafeMutablePointer<Unmanaged<PacketBuffer>>
    /// Time the packet joined its current queue.
    @exclusivity(unchecked) var enqueuedAt: UnsafeMutablePointer<VirtualTime>
    /// Queue depth in bytes when it joined (for the program's `enq_qdepth`).
    @exclusivity(unchecked) var enqueueDepth: UnsafeMutablePointer<UInt32>
    /// Ingress port and multicast replica (`PacketTag`).
    @exclusivity(unchecked) var tag: UnsafeMutablePointer<PacketTag>
    /// Passes through the switch it is in (recirculation).
    @exclusivity(unchecked) var pass: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) var bridge: UnsafeMutablePointer<UInt64>
    /// How far past the frame's start at the default headroom the buffer may hold bytes other
    /// than zero: every write into a packet raises it (`wrote`, `passRuns`, `clearPayload`'s
    /// caller), so a host zeroes a new frame's payload only up to here. Past it, a buffer is
    /// zero (calloc'd, or cleared), so a data frame's payload costs no writes.
    @exclusivity(unchecked) var dirtyEnd: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) var free: UnsafeMutablePointer<Int32>
    /// Per buffer, where a frame starts at the default headroom and its position words
    /// (`PacketBuffer.position`): what `prefetch` asks for without reading the buffer object.
    @exclusivity(unchecked) var frames: UnsafeMutablePointer<UnsafeMutableRawPointer>
    @exclusivity(unchecked) var positions: UnsafeMutablePointer<UnsafeMutableRawPointer>
    /// The buffers' memory: one calloc'd slab a growth step. Slabs this large are usually
    /// fresh mappings the kernel zeroes on first touch, so a pool sized for a deep queue costs
    /// little until packets use it (once glibc has raised its mmap threshold after frees,
    /// calloc zeroes them itself: correct, only slower).
    @exclusivity(unchecked) var slabs: [UnsafeMutableRawPointer] = []
    @exclusivity(unchecked) var freeCount = 0
    @exclusivity(unchecked) var capacity = 0
    /// Packets handed out and not yet released (a leak check for tests).
    @exclusivity(unchecked) var inUse = 0
    @exclusivity(unchecked) var peak = 0

    init(maxFrame: Int, bridgeWords: Int, initial: Int = 256) {
        bufferCapacity = 256 + maxFrame + 256
        self.maxFrame = maxFrame
        bridgeStride = max(bridgeWords, 1)
        buffers = .allocate(capacity: 1)
        enqueuedAt = .allocate(capacity: 1)
        enqueueDepth = .allocate(capacity: 1)
        tag = .allocate(capacity: 1)
        pass = .allocate(capacity: 1)
        bridge = .allocate(capacity: 1)
        dirtyEnd = .allocate(capacity: 1)
        free = .allocate(capacity: 1)
        frames = .allocate(capacity: 1)
        positions = .allocate(capacity: 1)
        if let spare = SparePackets.take(bufferCapacity: bufferCapacity, headroom: headroom) {
            adopt(spare)
        } else {
            grow(to: initial)
        }
    }

    deinit {
        SparePackets.keep(SparePackets.Batch(slabs: slabs, buffers: Array(UnsafeBufferPointer(start: buffers, count: capacity)),
                                             dirtyEnd: Array(UnsafeBufferPointer(start: dirtyEnd, count: capacity))),
                          bufferCapacity: bufferCapacity, headroom: headroom)
        buffers.deallocate(); enqueuedAt.deallocate(); enqueueDepth.deallocate(); tag.deallocate()
        pass.deallocate(); bridge.deallocate(); dirtyEnd.deallocate(); free.deallocate()
        frames.deallocate(); positions.deallocate()
    }

    @inline(__always) func allocate() -> Int32 {
        if freeCount == 0 { grow(to: capacity * 2) }
        freeCount -= 1
        inUse += 1
        if inUse > peak { peak = inUse }
        let p = free[freeCount]
        tag[Int(p)] = .none
        pass[Int(p)] = 0
        return p
    }

    @inline(__always) func release(_ p: Int32) {
        free[freeCount] = p
        freeCount += 1
        inUse -= 1
    }

    @inline(__always) func buffer(_ p: Int32) -> PacketBuffer { buffers[Int(p)].takeUnretainedValue() }
    /// Run `body` on packet `p`'s buffer without retaining it (the pool keeps every buffer alive).
    @inline(__always) func with<R>(_ p: Int32, _ body: (PacketBuffer) -> R) -> R { buffers[Int(p)]._withUnsafeGuaranteedRef(body) }
    @inline(__always) func length(_ p: Int32) -> Int { buffers[Int(p)]._withUnsafeGuaranteedRef { $0.length } }
    @inline(__always) func data(_ p: Int32) -> UnsafeMutablePointer<UInt8> { buffers[Int(p)]._withUnsafeGuaranteedRef { $0.data } }
    /// Make `p` a fresh frame of `length` bytes at the default headroom; returns its first byte.
    @inline(__always) func reset(_ p: Int32, length: Int) -> UnsafeMutablePointer<UInt8> {
        buffers[Int(p)]._withUnsafeGuaranteedRef { b in b.start = b.headroom; b.length = length; return b.data }
    }
    @inline(__always) func bridgeWords(_ p: Int32) -> UnsafeMutablePointer<UInt64> { bridge + Int(p) * bridgeStride }

    /// Packet `p` will be read soon: start bringing its buffer object, position and first
    /// bytes into the caches.
    @inline(__always) func prefetch(_ p: Int32) {
        sluice_prefetch(buffers[Int(p)].toOpaque())
        sluice_prefetch(positions[Int(p)])
        sluice_prefetch(frames[Int(p)])
    }

    /// Zero payload bytes [from, to) of a frame a host is building, whose headers it wrote
    /// before `from`: only those an earlier frame may have written (`dirtyEnd`), which for a
    /// data frame after a data frame is none.
    @inline(__always) func clearPayload(_ p: Int32, from: Int, to: Int) {
        let dirty = Int(dirtyEnd[Int(p)])
        let end = min(to, dirty)
        if end > from { (data(p) + from).update(repeating: 0, count: end - from) }
        // Old bytes past this frame's end stay old.
        dirtyEnd[Int(p)] = Int32(dirty > to ? dirty : from)
    }

    /// Something wrote packet `p`'s bytes up to `end` (from the frame's start at the default
    /// headroom), or may have.
    @inline(__always) func wrote(_ p: Int32, upTo end: Int) {
        if end > Int(dirtyEnd[Int(p)]) { dirtyEnd[Int(p)] = Int32(end) }
    }

    /// A switch's pass (`headerBytes`: `Pipeline.headerBytes`) is about to run on packet `p`:
    /// it writes at most that many bytes past the packet's start (pushed headers go before it).
    @inline(__always) func passRuns(_ p: Int32, headerBytes: Int) {
        wrote(p, upTo: buffers[Int(p)]._withUnsafeGuaranteedRef { $0.start - $0.headroom } + headerBytes)
    }

    /// A new packet holding a copy of `p` (multicast replication), at the default headroom.
    func clone(_ p: Int32) -> Int32 {
        let q = allocate()
        let shift = with(q) { dst in with(p) { src in dst.copy(from: src); return src.headroom - src.start } }
        bridgeWords(q).update(from: bridgeWords(p), count: bridgeStride)
        pass[Int(q)] = pass[Int(p)]
        wrote(q, upTo: Int(dirtyEnd[Int(p)]) + shift)
        return q
    }

    func grow(to n: Int) {
        let old = capacity
        guard let slab = calloc(n - old, bufferCapacity) else { fatalError("PacketPool: out of memory growing to \(n) packets") }
        slabs.append(slab)
        let bytes = slab.assumingMemoryBound(to: UInt8.self)
        add(n - old) { i in
            (Unmanaged.passRetained(PacketBuffer(zeroedStorage: bytes + i * bufferCapacity, capacity: bufferCapacity, headroom: headroom)), 0)
        }
    }

    /// Take over the buffers a pool of the same buffer size left (`SparePackets`): their old
    /// bytes are where `dirtyEnd` says, as when this pool reuses its own.
    func adopt(_ spare: SparePackets.Batch) {
        slabs = spare.slabs
        add(spare.buffers.count) { i in (spare.buffers[i], spare.dirtyEnd[i]) }
    }

    /// `count` more buffers, free, the `i`th of them zero from `dirty` (`dirtyEnd`) on.
    func add(_ count: Int, _ buffer: (_ i: Int) -> (Unmanaged<PacketBuffer>, dirty: Int32)) {
        func resize<T>(_ p: inout UnsafeMutablePointer<T>, _ old: Int, _ new: Int) { p = p.moved(count: old, toCapacity: new) }
        let old = capacity, n = old + count
        resize(&buffers, old, n)
        resize(&enqueuedAt, old, n)
        resize(&enqueueDepth, old, n)
        resize(&tag, old, n)
        resize(&pass, old, n)
        resize(&bridge, old * bridgeStride, n * bridgeStride)
        resize(&dirtyEnd, old, n)
        resize(&free, old, n)
        resize(&frames, old, n)
        resize(&positions, old, n)
        for i in old..<n {
            let (b, dirty) = buffer(i - old)
            (buffers + i).initialize(to: b)
            let a = b._withUnsafeGuaranteedRef { $0.addresses }
            (frames + i).initialize(to: a.frame)
            (positions + i).initialize(to: a.position)
            (enqueuedAt + i).initialize(to: .zero)
            (enqueueDepth + i).initialize(to: 0)
            (tag + i).initialize(to: .none)
            (pass + i).initialize(to: 0)
            (dirtyEnd + i).initialize(to: dirty)
        }
        (bridge + old * bridgeStride).initialize(repeating: 0, count: (n - old) * bridgeStride)
        // The free list is a stack: push the new buffers highest first so the lowest comes out first.
        var f = freeCount
        for i in stride(from: n - 1, through: old, by: -1) { (free + f).initialize(to: Int32(i)); f += 1 }
        freeCount = f
        capacity = n
    }
}

/// `free` for a slab (the pool's own `free` is its free list).
private func releaseSlab(_ p: UnsafeMutableRawPointer) { free(p) }

/// Packet buffers of pools that went away, kept for the next pool of the same buffer size in
/// this process: a benchmark's repeats, an experiment's runs, the demo's rows and the
/// partitions of a parallel run then touch memory the kernel has already given them. On this
/// kind of VM a buffer's first touch costs a page fault of about 1.3 us, 4 ms of a 30 ms
/// leafspine-16 run, and calloc's zeroing of reused heap memory costs as much.
enum SparePackets {
    /// One pool's buffers, their slabs and how far each may hold old bytes (`dirtyEnd`).
    struct Batch {
        var slabs: [UnsafeMutableRawPointer]
        var buffers: [Unmanaged<PacketBuffer>]
        var dirtyEnd: [Int32]
    }

    /// At most this many bytes of buffers are kept (address space: only the pages packets
    /// touched are memory); a pool beyond it is freed.
    static let limitBytes = 256 << 20

    nonisolated(unsafe) static var batches: [(bufferCapacity: Int, headroom: Int, batch: Batch)] = []
    static let lock = NSLock()

    /// The largest batch kept of buffers of this size and headroom, removed; nil if none.
    static func take(bufferCapacity: Int, headroom: Int) -> Batch? {
        lock.lock(); defer { lock.unlock() }
        let fits = batches.indices.filter { batches[$0].bufferCapacity == bufferCapacity && batches[$0].headroom == headroom }
        guard let i = fits.max(by: { batches[$0].batch.buffers.count < batches[$1].batch.buffers.count }) else { return nil }
        return batches.remove(at: i).batch
    }

    /// Keep `batch` for a later pool, dropping the oldest batches to stay within `limitBytes`;
    /// a batch larger than that alone is freed at once.
    static func keep(_ batch: Batch, bufferCapacity: Int, headroom: Int) {
        guard bufferCapacity * batch.buffers.count <= limitBytes else { return release(batch) }
        lock.lock()
        batches.append((bufferCapacity, headroom, batch))
        var dropped: [Batch] = []
        while batches.reduce(0, { $0 + $1.bufferCapacity * $1.batch.buffers.count }) > limitBytes {
            dropped.append(batches.removeFirst().batch)
        }
        lock.unlock()
        for b in dropped { release(b) }
    }

    static func release(_ batch: Batch) {
        for buffer in batch.buffers { buffer.release() }
        for s in batch.slabs { releaseSlab(s) }
    }
}
