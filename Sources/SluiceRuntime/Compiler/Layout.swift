import SluiceIR

/// Where every named thing of a program lives at run time: header bytes in one scratch area,
/// validity bytes, 64-bit metadata slots. Computed once when a program is compiled.
struct Layout {
    struct HeaderSlot {
        var name: String
        var type: HeaderType
        /// Byte offset of element 0 in the header scratch area.
        var offset: Int
        var size: Int
        /// Index of element 0's validity byte.
        var validIndex: Int
        /// 0 for plain headers.
        var stackSize: Int
        /// Slot of the stack's next-index counter (stacks only).
        var nextSlot: Int
        var elements: Int { max(stackSize, 1) }
        var isStack: Bool { stackSize > 0 }
    }

    var headers: [HeaderSlot] = []
    var headerIndex: [String: Int] = [:]
    var headerBytes = 0
    var validCount = 0
    /// Metadata slots: standard fields first, then user metadata (two slots for fields over 64 bits).
    var metaSlot: [String: Int] = [:]
    var slotCount = 0
    /// The slots of the stacks' next-index counters, after the metadata: per-parse state, not
    /// metadata, so they are cleared whenever headers are.
    var stackSlots: Range<Int> = 0..<0

    /// Standard fields occupy the first slots, in declaration order (a switch: no lookup).
    @inline(__always) static func standardSlot(_ f: StandardField) -> Int {
        switch f {
        case .ingressPort: 0
        case .egressSpec: 1
        case .egressPort: 2
        case .drop: 3
        case .mcastGrp: 4
        case .egressRid: 5
        case .packetLength: 6
        case .ingressTimestamp: 7
        case .enqTimestamp: 8
        case .enqQdepth: 9
        case .deqTimedelta: 10
        case .deqQdepth: 11
        case .parserError: 12
        case .checksumError: 13
        case .instanceType: 14
        case .passCount: 15
        case .deqBufferDepth: 16
        }
    }

    init(_ p: Program, _ index: ProgramIndex) {
        slotCount = StandardField.allCases.count
        for m in p.metadata {
            metaSlot[m.name] = slotCount
            slotCount += m.width > 64 ? 2 : 1
        }
        let firstStackSlot = slotCount
        for h in p.headers {
            guard let t = index.headerTypes[h.type] else { continue }
            let slot = HeaderSlot(
                name: h.name, type: t, offset: headerBytes, size: t.byteWidth, validIndex: validCount,
                stackSize: h.stackSize, nextSlot: h.isStack ? slotCount : -1)
            if h.isStack { slotCount += 1 }
            headerIndex[h.name] = headers.count
            headers.append(slot)
            headerBytes += t.byteWidth * slot.elements
            validCount += slot.elements
        }
        stackSlots = firstStackSlot..<slotCount
    }

    func header(_ name: String) -> HeaderSlot { headers[headerIndex[name]!] }
}
