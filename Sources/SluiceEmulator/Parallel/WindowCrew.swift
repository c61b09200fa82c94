import Foundation
import Synchronization

/// Threads that run one window's partitions together: the caller runs partition 0 and
/// `count - 1` threads, started once, run the others. A window is short (a lookahead of one
/// microsecond is some hundred microseconds of work), so the threads spin on a generation
/// counter between windows, yielding the core after a while, instead of sleeping on a lock.
final class WindowCrew: @unchecked Sendable {
    let count: Int
    private let generation = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// The window's work (set before `generation` moves, read after the threads see it move).
    private var job: (Int) -> Void = { _ in }

    init(count: Int) {
        self.count = count
        for k in 1..<max(count, 1) {
            let t = Thread { self.serve(k) }
            t.stackSize = 1 << 22
            t.start()
        }
    }

    /// Wait until `condition` holds: spin, then yield the core between checks.
    @inline(__always) private func wait(_ condition: () -> Bool) {
        var spins = 0
        while !condition() {
            spins += 1
            if spins > 2_000 { sched_yield() }
        }
    }

    private func serve(_ k: Int) {
        var seen = 0
        while true {
            wait { self.generation.load(ordering: .acquiring) != seen }
            if stopping.load(ordering: .acquiring) { return }
            seen = generation.load(ordering: .acquiring)
            job(k)
            finished.add(1, ordering: .releasing)
        }
    }

    /// Run `body(k)` for every k in 0..<count, k = 0 on this thread; returns when all are done.
    /// The same closure every window costs no allocation (`ParallelEmulation.run`).
    func run(_ body: @escaping (Int) -> Void) {
        job = body
        finished.store(0, ordering: .relaxed)
        generation.add(1, ordering: .releasing)
        body(0)
        wait { self.finished.load(ordering: .acquiring) == self.count - 1 }
    }

    /// Let the threads end (they hold the crew until then).
    func stop() {
        stopping.store(true, ordering: .releasing)
        generation.add(1, ordering: .releasing)
    }
}
