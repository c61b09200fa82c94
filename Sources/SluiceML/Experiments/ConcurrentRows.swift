import Foundation
import SluiceSupport

/// An experiment's rows run on several threads at once. Each row is an emulation of its own
/// (its own emulator, switch and workers; the same seed gives the same result on any thread),
/// so rows need nothing from each other but the read-only inputs and reference. Each lane (a
/// thread) makes its own state once, such as the tensor buffers its rows reduce in, and takes
/// the next row not yet taken; the calling thread hands the finished rows to `emit` in row
/// order, so the table reads as if they had run one after the other.
enum ConcurrentRows {
    /// Rows `0 ..< count` on `lanes` threads (1: on the calling thread, one after the other).
    /// `label(i)` names row i in the progress line, which shows (with `progress`, lanes above 1)
    /// the rows running and how long each has run. The first row (in row order) that throws
    /// stops the lanes taking more rows, and its error is thrown once the running rows finish.
    static func run<State, Row>(count: Int, lanes: Int, progress: Bool, label: (Int) -> String,
                                state makeState: @escaping () -> State,
                                row: @escaping (inout State, Int) throws -> Row,
                                emit: (Row) -> Void) throws {
        let lanes = max(1, min(lanes, count))
        if lanes == 1 {
            var state = makeState()
            for i in 0..<count { emit(try row(&state, i)) }
            return
        }
        let board = Board<Row>(count: count)
        var threads: [Thread] = []
        for _ in 0..<lanes {
            let t = Thread {
                var state: State? = nil
                while let i = board.take() {
                    if state == nil { state = makeState() }
                    board.finish(i, Result { try row(&state!, i) })
                }
                board.laneDone()
            }
            t.stackSize = 1 << 23
            threads.append(t)
        }
        for t in threads { t.start() }
        var line = BoardLine(enabled: progress, labels: (0..<count).map(label))
        var failure: Error? = nil
        for i in 0..<count {
            guard let result = board.wait(for: i, tick: { line.show($0, done: $1) }) else { break }
            line.clear()
            switch result {
            case .success(let r): emit(r)
            case .failure(let e): failure = e
            }
            if failure != nil { break }
        }
        board.waitForLanes(lanes)
        line.clear()
        if let e = failure { throw e }
    }

    /// What the lanes share, under one lock: the next row to take, the rows finished and the
    /// times the running ones started.
    final class Board<Row>: @unchecked Sendable {
        let cond = NSCondition()
        var next = 0
        var stopped = false
        var results: [Result<Row, Error>?]
        var started: [Int: Int64] = [:]
        var lanesDone = 0

        init(count: Int) { results = Array(repeating: nil, count: count) }

        func take() -> Int? {
            cond.lock(); defer { cond.unlock() }
            guard !stopped, next < results.count else { return nil }
            next += 1
            started[next - 1] = MonotonicClock.nanoseconds
            return next - 1
        }

        func finish(_ i: Int, _ r: Result<Row, Error>) {
            cond.lock(); defer { cond.unlock() }
            results[i] = r
            started[i] = nil
            if case .failure = r { stopped = true }
            cond.broadcast()
        }

        func laneDone() {
            cond.lock(); defer { cond.unlock() }
            lanesDone += 1
            cond.broadcast()
        }

        /// Row i's result once it is in (nil: a row before it failed and i never started);
        /// `tick` gets the running rows with their start times, and the rows done, every half
        /// second meanwhile.
        func wait(for i: Int, tick: ([(row: Int, since: Int64)], Int) -> Void) -> Result<Row, Error>? {
            cond.lock(); defer { cond.unlock() }
            while results[i] == nil {
                if stopped && i >= next { return nil }
                if !cond.wait(until: Date(timeIntervalSinceNow: 0.5)) {
                    let running = started.sorted { $0.key < $1.key }.map { (row: $0.key, since: $0.value) }
                    let done = results.count { $0 != nil }
                    cond.unlock()
                    tick(running, done)
                    cond.lock()
                }
            }
            return results[i]
        }

        func waitForLanes(_ n: Int) {
            cond.lock(); defer { cond.unlock() }
            stopped = true
            while lanesDone < n { cond.wait() }
        }
    }

    /// The progress line of rows running at once: on a terminal rewritten in place every half
    /// second, elsewhere a line every ten seconds.
    struct BoardLine {
        let enabled: Bool
        let labels: [String]
        let terminal = isatty(2) != 0
        var lastPrint: Int64 = 0
        var shown = false

        mutating func show(_ running: [(row: Int, since: Int64)], done: Int) {
            let now = MonotonicClock.nanoseconds
            guard enabled, !running.isEmpty, now - lastPrint >= (terminal ? 500_000_000 : 10_000_000_000) else { return }
            lastPrint = now
            let rows = running.map { String(format: "%@ %.0fs", labels[$0.row], Double(now - $0.since) / 1e9) }
            let text = "\(done) of \(labels.count) rows done; running " + rows.joined(separator: ", ")
            FileHandle.standardError.write(((terminal ? "\r\u{1B}[K" : "") + text + (terminal ? "" : "\n")).data(using: .utf8)!)
            shown = true
        }

        mutating func clear() {
            if shown && terminal { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!) }
            shown = false
        }
    }
}
