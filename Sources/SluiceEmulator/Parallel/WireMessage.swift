/// Plain values (`BitwiseCopyable`: crossing packets, captured frames, bridge words, bytes)
/// laid one array after another in a byte buffer, for a message between ranks of the same
/// binary on machines of one kind (no byte-order or layout conversion).
struct WireWriter {
    var bytes: [UInt8] = []

    mutating func append<T: BitwiseCopyable>(_ values: [T]) {
        var n = Int64(values.count)
        withUnsafeBytes(of: &n) { bytes.append(contentsOf: $0) }
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    /// Bytes `append` adds for `count` values of `T`.
    static func size<T: BitwiseCopyable>(_ type: T.Type, count: Int) -> Int { 8 + count * MemoryLayout<T>.stride }
}

/// Reads what `WireWriter` wrote, in the same order.
struct WireReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func read<T: BitwiseCopyable>(_ type: T.Type, appendingTo values: inout [T]) {
        var n: Int64 = 0
        withUnsafeMutableBytes(of: &n) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 8])) }
        offset += 8
        let length = Int(n) * MemoryLayout<T>.stride
        let source = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
        let read = [T](unsafeUninitializedCapacity: Int(n)) { buffer, count in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            count = Int(n)
        }
        values.append(contentsOf: read)
        offset += length
    }

    var atEnd: Bool { offset == bytes.count }
}

extension Outbox {
    /// This box's packets and application messages as a message (`WireWriter`). A message's
    /// attachment (an object) does not go: a run across processes refuses one before it gets
    /// here (`PartitionSlot.refuseAttachment`).
    func write(to w: inout WireWriter) {
        w.append(packets)
        w.append(bytes)
        w.append(bridge)
        w.append(messages.map(WireCrossingMessage.init))
    }

    /// Add the packets and messages of a message `write` made.
    func read(from r: inout WireReader) {
        let first = packets.count, base = bytes.count
        r.read(CrossingPacket.self, appendingTo: &packets)
        for i in first..<packets.count { packets[i].offset += base }
        r.read(UInt8.self, appendingTo: &bytes)
        r.read(UInt64.self, appendingTo: &bridge)
        var wire: [WireCrossingMessage] = []
        r.read(WireCrossingMessage.self, appendingTo: &wire)
        messages.append(contentsOf: wire.map(\.crossing))
    }
}

/// A `CrossingMessage` as plain values: every field but the attachment.
struct WireCrossingMessage {
    var connection: Int32
    var src: Int32
    var dst: Int32
    var flow: Int32
    var app: Int32
    var bytes: Int
    var end: UInt64
    var tag: UInt64
    var queuedAt: Int64

    init(_ m: CrossingMessage) {
        connection = m.connection; src = m.src; dst = m.dst
        flow = m.message.flow; app = m.message.app; bytes = m.message.bytes
        end = m.message.end; tag = m.message.tag; queuedAt = m.message.queuedAt
    }

    var crossing: CrossingMessage {
        CrossingMessage(connection: connection, src: src, dst: dst,
                        message: Connection.Message(end: end, bytes: bytes, tag: tag, queuedAt: queuedAt, flow: flow, app: app))
    }
}

extension CapturedFrames {
    var wireSize: Int {
        frames.isEmpty ? 0 : WireWriter.size(Frame.self, count: frames.count) + WireWriter.size(UInt8.self, count: bytes.count)
    }

    func write(to w: inout WireWriter) {
        w.append(frames)
        w.append(bytes)
    }

    static func read(from r: inout WireReader) -> CapturedFrames {
        var c = CapturedFrames()
        r.read(Frame.self, appendingTo: &c.frames)
        r.read(UInt8.self, appendingTo: &c.bytes)
        return c
    }
}
