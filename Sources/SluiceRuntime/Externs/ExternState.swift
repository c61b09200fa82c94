import SluiceControlPlane
import SluiceIR

/// A register array's cells. Out-of-range indices read 0 and ignore writes (counted).
final class RegisterState {
    let decl: Register
    let cells: UnsafeMutablePointer<UInt64>
    let mask: UInt64
    @exclusivity(unchecked) var outOfRange: UInt64 = 0
    init(_ d: Register) {
        decl = d
        cells = .allocate(capacity: max(d.size, 1)); cells.initialize(repeating: 0, count: max(d.size, 1))
        mask = Bits.mask(d.width)
    }
    deinit { cells.deallocate() }
}

/// Packet and byte counts of an indexed counter array (or a table's direct counters).
final class CounterState {
    let name: String
    let size: Int
    @exclusivity(unchecked) var packets: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) var bytes: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) var outOfRange: UInt64 = 0
    init(name: String, size: Int) {
        self.name = name; self.size = size
        packets = .allocate(capacity: max(size, 1)); packets.initialize(repeating: 0, count: max(size, 1))
        bytes = .allocate(capacity: max(size, 1)); bytes.initialize(repeating: 0, count: max(size, 1))
    }
    deinit { packets.deallocate(); bytes.deallocate() }
    /// What the counter counts; the other figure stays 0.
    @exclusivity(unchecked) var kind: CounterKind = .packetsAndBytes
    @inline(__always) func count(_ i: Int, bytes n: UInt64) {
        guard i >= 0 && i < size else { outOfRange &+= 1; return }
        if kind != .bytes { packets[i] &+= 1 }
        if kind != .packets { bytes[i] &+= n }
    }
    func reset() { packets.update(repeating: 0, count: max(size, 1)); bytes.update(repeating: 0, count: max(size, 1)) }
}


public enum MeterColor: UInt64, Sendable { case green = 0, yellow = 1, red = 2 }

/// RFC 2698 color-blind trTCM per index, in integer arithmetic: tokens are kept in
/// unit-nanoseconds (units x 1e9) so that no floating point is needed.
final class MeterState {
    struct Cell { var rates: MeterRates?; var tc: UInt128 = 0; var tp: UInt128 = 0; var last: UInt64 = 0 }
    let decl: Meter
    @exclusivity(unchecked) var cells: [Cell]
    init(_ d: Meter) { decl = d; cells = Array(repeating: Cell(), count: max(d.size, 1)) }

    func execute(_ i: Int, amount: UInt64, now: UInt64) -> UInt64 {
        guard i >= 0 && i < decl.size, let r = cells[i].rates else { return MeterColor.green.rawValue }
        let scale: UInt128 = 1_000_000_000
        let dt = UInt128(now >= cells[i].last ? now - cells[i].last : 0)
        cells[i].last = now
        cells[i].tp = min(UInt128(r.pbs) * scale, cells[i].tp + UInt128(r.pir) * dt)
        cells[i].tc = min(UInt128(r.cbs) * scale, cells[i].tc + UInt128(r.cir) * dt)
        let b = UInt128(amount) * scale
        if cells[i].tp < b { return MeterColor.red.rawValue }
        cells[i].tp -= b
        if cells[i].tc < b { return MeterColor.yellow.rawValue }
        cells[i].tc -= b
        return MeterColor.green.rawValue
    }

    func configure(_ i: Int, _ r: MeterRates) {
        cells[i] = Cell(rates: r, tc: UInt128(r.cbs) * 1_000_000_000, tp: UInt128(r.pbs) * 1_000_000_000, last: 0)
    }
}


/// Digests waiting for the control plane: a fixed ring, so the data plane never allocates.
/// When it is full, new digests are dropped and counted.
final class DigestRing {
    let capacity: Int
    let width: Int
    @exclusivity(unchecked) var ids: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) var values: UnsafeMutablePointer<UInt128>
    @exclusivity(unchecked) var head = 0, count = 0
    @exclusivity(unchecked) var dropped: UInt64 = 0
    init(capacity: Int, width: Int) {
        self.capacity = capacity; self.width = max(width, 1)
        ids = .allocate(capacity: capacity); ids.initialize(repeating: 0, count: capacity)
        values = .allocate(capacity: capacity * self.width); values.initialize(repeating: 0, count: capacity * self.width)
    }
    deinit { ids.deallocate(); values.deallocate() }
    /// Reserve a slot for a digest; nil when full.
    @inline(__always) func push(_ id: Int32) -> UnsafeMutablePointer<UInt128>? {
        guard count < capacity else { dropped &+= 1; return nil }
        let slot = (head + count) % capacity
        ids[slot] = id
        count += 1
        return values + slot * width
    }
    func drain(_ body: (Int32, UnsafePointer<UInt128>) -> Void) {
        while count > 0 {
            body(ids[head], values + head * width)
            head = (head + 1) % capacity; count -= 1
        }
    }
}

