import Foundation
import SluiceSupport
#if canImport(Glibc)
import Glibc
#endif

/// A program run as a child process, its standard output and error collected as they come (so
/// neither pipe fills up and blocks it). For tests and benchmarks that drive `sluice`, `ip`,
/// `tcpreplay` and the like.
public final class ChildProcess: @unchecked Sendable {
    /// Bytes appended by a pipe's handler thread and read by the caller.
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func append(_ d: Data) { lock.lock(); data.append(d); lock.unlock() }
        var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
    }

    public let process = Process()
    private let outPipe = Pipe(), errPipe = Pipe()
    private let out = Collected(), err = Collected()

    /// Starts `tool` with `arguments`.
    public init(_ tool: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = outPipe
        process.standardError = errPipe
        for (pipe, store) in [(outPipe, out), (errPipe, err)] {
            pipe.fileHandleForReading.readabilityHandler = { h in store.append(h.availableData) }
        }
        try process.run()
    }

    /// What it printed so far (everything, once `wait` returned).
    public var outputText: String { out.text }
    public var errorText: String { err.text }

    /// Waits until its standard error contains `text` (true), it exits or `seconds` pass.
    public func waitForError(containing text: String, seconds: Double) -> Bool {
        let end = MonotonicClock.nanoseconds + Int64(seconds * 1e9)
        while MonotonicClock.nanoseconds < end {
            if errorText.contains(text) { return true }
            if !process.isRunning { return errorText.contains(text) }
            usleep(10_000)
        }
        return false
    }

    /// Waits for it to exit; kills it after `seconds`. Returns its status, nil if it had to be
    /// killed. Afterwards `outputText` and `errorText` hold everything it printed.
    @discardableResult
    public func wait(seconds: Double) -> Int32? {
        let end = MonotonicClock.nanoseconds + Int64(seconds * 1e9)
        while process.isRunning && MonotonicClock.nanoseconds < end { usleep(10_000) }
        let killed = process.isRunning
        terminate()
        process.waitUntilExit()
        for (pipe, store) in [(outPipe, out), (errPipe, err)] {
            pipe.fileHandleForReading.readabilityHandler = nil
            store.append(pipe.fileHandleForReading.readDataToEndOfFile())
        }
        return killed ? nil : process.terminationStatus
    }

    public func signal(_ s: Int32) { kill(process.processIdentifier, s) }

    /// SIGKILL, if it still runs.
    public func terminate() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }

    /// The outcome of `run`.
    public struct Result: Sendable {
        public var status: Int32
        public var out: String
        public var err: String
    }

    /// Runs `tool` to completion (killed after `seconds`; status -1 then).
    public static func run(_ tool: String, _ arguments: [String], seconds: Double = 600) throws -> Result {
        let p = try ChildProcess(tool, arguments)
        let status = p.wait(seconds: seconds) ?? -1
        return Result(status: status, out: p.outputText, err: p.errorText)
    }
}
