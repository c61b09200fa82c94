/// Bytes of one packet with headroom in front, so a deparser can push headers (INT) without
/// moving the payload. The buffer is allocated once and reused for packet after packet.
public final class PacketBuffer {
    /// The whole allocation: `headroom` bytes, then up to `capacity - headroom` bytes of packet.
    @usableFromInline let base: UnsafeMutablePointer<UInt8>
    public let capacity: Int
    public let headroom: Int
    /// `start` and `length` live behind a pointer: stored class properties would get dynamic
    /// exclusivity checks when other modules (the emulator) touch them per packet.
    @usableFromInline let position: UnsafeMutablePointer<Int>
    /// Offset of the first packet byte within the allocation.
    @inlinable public var start: Int {
        get { position[0] }
        set { position[0] = newValue }
    }
    @inlinable public var length: Int {
        get { position[1] }
        set { position[1] = newValue }
    }

    /// The default holds any packet up to 65,535 bytes of IP plus link headers (captures of
    /// offloaded traffic carry such packets), after 512 bytes of headroom.
    public static let defaultCapacity = 512 + 65_536 + 512

    /// Whether `base` is this buffer's own allocation (freed with it).
    let ownsStorage: Bool

    public convenience init(capacity: Int = PacketBuffer.defaultCapacity, headroom: Int = 512) {
        precondition(capacity > headroom)
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        storage.initialize(repeating: 0, count: capacity)
        self.init(storage: storage, capacity: capacity, headroom: headroom, owned: true)
    }

    /// A buffer over `capacity` zeroed bytes at `storage` that its caller owns and keeps alive
    /// longer than the buffer (a pool carving many buffers out of one lazily zeroed mapping,
    /// so that buffers cost no memory until packets touch them).
    public convenience init(zeroedStorage storage: UnsafeMutablePointer<UInt8>, capacity: Int, headroom: Int) {
        self.init(storage: storage, capacity: capacity, headroom: headroom, owned: false)
    }

    init(storage: UnsafeMutablePointer<UInt8>, capacity: Int, headroom: Int, owned: Bool) {
        precondition(capacity > headroom)
        base = storage
        ownsStorage = owned
        self.capacity = capacity
        self.headroom = headroom
        position = .allocate(capacity: 2)
        position.initialize(to: headroom)
        (position + 1).initialize(to: 0)
    }

    deinit { if ownsStorage { base.deallocate() }; position.deallocate() }

    /// The packet's first byte.
    @inlinable public var data: UnsafeMutablePointer<UInt8> { base + start }

    /// Where a packet starts at the default headroom, and where `start` and `length` are kept:
    /// for a pool that keeps them at hand (to prefetch them).
    public var addresses: (frame: UnsafeMutableRawPointer, position: UnsafeMutableRawPointer) {
        (UnsafeMutableRawPointer(base + headroom), UnsafeMutableRawPointer(position))
    }

    /// Largest packet that fits with the default headroom.
    public var maxPacketLength: Int { capacity - headroom }

    /// Replace the contents with `bytes`. Returns false (and keeps only `maxPacketLength`
    /// bytes) when the packet does not fit.
    @inlinable @discardableResult public func load(_ bytes: UnsafeRawBufferPointer) -> Bool {
        start = headroom
        length = min(bytes.count, capacity - headroom)
        if length > 0 { UnsafeMutableRawPointer(base + start).copyMemory(from: bytes.baseAddress!, byteCount: length) }
        return length == bytes.count
    }

    @discardableResult public func load(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { load($0) } }

    /// Copy another buffer's packet into this one. `other` may be this buffer: the packet then
    /// moves back to the default headroom (the regions may overlap).
    @inlinable public func copy(from other: PacketBuffer) {
        let source = other.data
        let n = min(other.length, capacity - headroom)
        start = headroom
        length = n
        if n > 0 { UnsafeMutableRawPointer(base + start).copyMemory(from: source, byteCount: n) }
    }

    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: data, count: length)) }
}
