import Testing
@testable import SluiceML

/// A collective's message lends its range of the sender's buffer instead of copying it: the
/// receiver gets the values as they were sent, whatever the sender writes afterwards.
@Suite struct LentValuesTests {
    static func buffer(_ count: Int) -> TensorBuffer<Int32> { TensorBuffer((0..<count).map { Int32($0) }) }

    static func taken(_ a: ValuesAttachment<Int32>) -> [Int32] { a.take { Array($0) } }

    @Test func aLentRangeIsReadWhenTakenWithoutACopy() {
        let b = Self.buffer(100_000)
        let a = b.lend(40_000..<40_010)
        #expect(a.source === b)
        #expect(b.lending?.count == 1)
        #expect(Self.taken(a) == (40_000..<40_010).map { Int32($0) })
        // Taken: the range is the sender's again, a later write copies nothing.
        #expect(b.lending?.count == 0)
        #expect(a.source == nil)
    }

    @Test func aWriteOverALentRangeCopiesItOutFirst() {
        let b = Self.buffer(100_000)
        // Across two 16 Ki stretches, and one that the write does not touch.
        let across = b.lend(16_380..<16_390), apart = b.lend(90_000..<90_004)
        b.willWrite(16_389..<16_400)
        for i in 16_389..<16_400 { b.values[i] = -1 }
        #expect(across.source == nil, "the write overlaps it: copied out")
        #expect(apart.source === b)
        #expect(b.lending?.count == 1)
        #expect(Self.taken(across) == (16_380..<16_390).map { Int32($0) })
        #expect(Self.taken(apart) == [90_000, 90_001, 90_002, 90_003])
        #expect(b.lending?.count == 0)
    }

    @Test func aWriteBesideALentRangeLeavesItLent() {
        let b = Self.buffer(50_000)
        let a = b.lend(100..<200)
        b.willWrite(200..<300)
        b.willWrite(0..<100)
        #expect(a.source === b)
        b.willWrite(199..<200)
        #expect(a.source == nil)
    }

    @Test func oneRangeLentToManyMessagesIsCopiedOnceForEach() {
        let b = Self.buffer(20_000)
        let copies = (0..<8).map { _ in b.lend(1_000..<1_100) }
        let early = copies[0]
        #expect(Self.taken(early).count == 100)
        b.willWrite(0..<20_000)
        for i in 0..<20_000 { b.values[i] = 0 }
        for a in copies.dropFirst() { #expect(Self.taken(a) == (1_000..<1_100).map { Int32($0) }) }
    }

    @Test func anEmptyRangeIsAnEmptyMessage() {
        let b = Self.buffer(10)
        let a = b.lend(5..<5)
        #expect(a.count == 0)
        #expect(b.lending == nil)
        #expect(Self.taken(a).isEmpty)
    }

    /// The buffer's lends do not keep it alive: a run stopped with messages out frees it.
    @Test func messagesStillOutDoNotKeepTheBufferAlive() {
        weak var gone: TensorBuffer<Int32>?
        var out: [ValuesAttachment<Int32>] = []
        do {
            let b = Self.buffer(30_000)
            out = [b.lend(0..<10), b.lend(20_000..<20_010)]
            gone = b
        }
        #expect(gone == nil)
        #expect(out.count == 2)
    }
}
