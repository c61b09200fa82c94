import SluiceEBPF

/// A runtime table as native code reads it: `HostTableABI`'s `struct sl_table`, pointing into
/// the memory the table's index and entry arrays already hold. Changes of entries (actions,
/// arguments) land in that memory in place; what moves (arrays grown, tuples added or removed,
/// lengths present, the default) is written again by `publish` after every change, so a packet
/// never sees a table the control plane has left.
extension RuntimeTable {
    /// Gives the table its descriptor (once) and fills it in.
    func bindNative() -> UnsafeMutableRawPointer {
        if let d = native { return d }
        let d = UnsafeMutableRawPointer.allocate(byteCount: HostTableABI.descriptorBytes, alignment: 16)
        d.initializeMemory(as: UInt8.self, repeating: 0, count: HostTableABI.descriptorBytes)
        native = d
        publish()
        return d
    }

    /// Writes the descriptor again (nothing when no native code reads the table).
    func publish() {
        guard let d = native else { return }
        func put(_ w: HostTableABI.Word, _ v: UInt64) { d.storeBytes(of: v, toByteOffset: w.offset, as: UInt64.self) }
        func put(_ w: HostTableABI.Word, _ p: UnsafeRawPointer?) { d.storeBytes(of: p, toByteOffset: w.offset, as: UnsafeRawPointer?.self) }
        func put(_ w: HostTableABI.Word, _ v: Int) { put(w, UInt64(bitPattern: Int64(v))) }
        if let ts = tuples {
            put(.tuples, UnsafeRawPointer(ts.tuples)); put(.tupleCount, ts.tupleCount_)
        }
        if let lin = linear {
            put(.rows, UnsafeRawPointer(lin.rows)); put(.rowEntries, UnsafeRawPointer(lin.entries)); put(.rowCount, lin.count_)
        }
        if let lpm {
            put(.lpmBuckets, UnsafeRawPointer(lpm.buckets)); put(.lpmPresent, lpm.present)
            put(.lpmFew, lpm.fewLengths ? 1 : 0); put(.lpmDefault, Int(lpm.defaultEntry))
            put(.lpmLongest, UnsafeRawPointer(lpm.longest))
            for l in 0..<HostTableABI.lengthSlots {
                let t = lpm.owners[l].flatMap { $0.tupleCount_ > 0 ? UnsafeRawPointer($0.tuples) : nil }
                d.storeBytes(of: t, toByteOffset: HostTableABI.Word.lpmLengths.offset + 8 * l, as: UnsafeRawPointer?.self)
            }
        }
        put(.entryAction, UnsafeRawPointer(entryAction)); put(.actionData, UnsafeRawPointer(actionData)); put(.stride, stride)
        put(.hitPackets, UnsafeRawPointer(hitPackets)); put(.hitBytes, UnsafeRawPointer(hitBytes))
        put(.defaultAction, Int(defaultAction)); put(.defaultData, UnsafeRawPointer(defaultData))
    }

    /// Where the runtime's tuples keep their fields, in `HostTableABI.TupleLayout`'s terms: the
    /// native engine runs only where this is what the C expects.
    static var tupleLayout: HostTableABI.TupleLayout {
        var l = HostTableABI.TupleLayout()
        l.slots = MemoryLayout<TupleTable>.offset(of: \.slots) ?? -1
        l.capacityMask = MemoryLayout<TupleTable>.offset(of: \.capacityMask) ?? -1
        l.mask = MemoryLayout<TupleTable>.offset(of: \.mask) ?? -1
        l.maxPriority = MemoryLayout<TupleTable>.offset(of: \.maxPriority) ?? -1
        l.stride = MemoryLayout<TupleTable>.stride
        l.slotHeader = MemoryLayout<TupleSlotHeader>.stride
        l.slotEntry = MemoryLayout<TupleSlotHeader>.offset(of: \.entry) ?? -1
        l.slotPriority = MemoryLayout<TupleSlotHeader>.offset(of: \.priority) ?? -1
        return l
    }
}
