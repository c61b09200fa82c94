import Testing
@testable import SluiceML

@Suite struct TensorTests {
    @Test func outcomeIsTheLastWorker() {
        var o = CollectiveOutcome(workers: 3)
        #expect(o.time == nil)
        o.finished = [5, 9, 7]
        #expect(o.time == 9)
        #expect(Int32.sum(.max, 1) == .min)
    }
}
