import Testing
@testable import SluiceML

/// The checks every float32 experiment row rests on: a wrong result must never pass.
@Suite struct FloatCheckTests {
    static let inputs: [[Float]] = [[1, 2, 3, 4.5], [0.5, -2, 1e-3, 8], [0.25, 0, -3, 1]]
    static var exact: [Float] { (0..<4).map { i in inputs.reduce(0) { $0 + $1[i] } } }

    func outputs(_ tensors: [[Float]]) -> [TensorBuffer<Float>] { tensors.map { TensorBuffer($0) } }

    @Test func exactSumsPassAndAgree() {
        let c = FloatReference(Self.inputs).checkSummation(outputs([Self.exact, Self.exact, Self.exact]))
        #expect(c.withinBound && c.workersAgree)
        #expect(c.maxAbsError < 1e-6)
    }

    @Test func aNaNFailsTheBound() {
        var bad = Self.exact
        bad[2] = .nan
        let c = FloatReference(Self.inputs).checkSummation(outputs([bad, bad, bad]))
        #expect(!c.withinBound)
        #expect(c.maxAbsError.isNaN)
        let b = FloatReference(Self.inputs).checkBlocks(outputs([bad, bad, bad]), k: 2)
        #expect(!b.withinBound)
    }

    @Test func oneWorkerWrongIsMeasuredAndDisagrees() {
        var off = Self.exact
        off[3] += 1
        let c = FloatReference(Self.inputs).checkSummation(outputs([Self.exact, Self.exact, off]))
        #expect(!c.withinBound)
        #expect(!c.workersAgree)
        #expect(abs(c.maxAbsError - 1) < 1e-6)
    }

    @Test func aShortResultFails() {
        let c = FloatReference(Self.inputs).checkSummation(outputs([Self.exact, Self.exact, Array(Self.exact.prefix(3))]))
        #expect(!c.withinBound && !c.workersAgree)
    }
}
