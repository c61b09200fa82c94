import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A step that runs a child process (clang) and owns temporary files, made stoppable: while it
/// runs, SIGINT, SIGTERM and SIGHUP only set a flag. The wait for the child sees the flag, kills
/// the child and throws, so the step's `defer`s remove its folders on the way out. Without this
/// the signal's default action ends this process alone, mid-compile, leaving clang running and
/// `/tmp/sluice-*` folders behind. A handler the command had installed before (`StopSignal`'s) is
/// put back at the end and handed the signal too; a signal that was ignored stays ignored.
public enum InterruptibleStep {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    /// The first signal received while a step ran (0: none).
    static let received = Atomic<Int32>(0)
    /// Steps may run on several threads at once (tests do): the first installs the handlers,
    /// the last puts back what was there.
    nonisolated(unsafe) static var active = 0
    nonisolated(unsafe) static var saved: [(signal: Int32, action: sigaction)] = []
    static let lock = NSLock()

    /// Runs `body` with the signals held back as a flag; throws `EBPFToolError` naming the
    /// signal and `what` if one came (after `body`'s own clean-up), even when `body` succeeded.
    public static func run<T>(_ what: String, _ body: () throws -> T) throws -> T {
        enter()
        let result: Result<T, Error>
        do { result = .success(try body()) } catch { result = .failure(error) }
        let signal = leave()
        if signal != 0 { throw interrupted(signal, what) }
        return try result.get()
    }

    /// Starts `process` and waits for it inside `run`; on a signal kills it (SIGKILL: clang
    /// holds nothing worth a graceful end), reaps it and throws.
    public static func wait(for process: Process, _ what: String) throws {
        if received.load(ordering: .relaxed) == 0 { try process.run() }
        while process.isRunning {
            if received.load(ordering: .relaxed) != 0 { break }
            usleep(10_000)
        }
        let signal = received.load(ordering: .relaxed)
        guard signal != 0 else { return }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        throw interrupted(signal, what)
    }

    static func interrupted(_ signal: Int32, _ what: String) -> EBPFToolError {
        EBPFToolError("interrupted by \(signalName(signal)) while \(what); stopped it and removed its temporary files")
    }

    static func signalName(_ s: Int32) -> String {
        switch s {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        default: "signal \(s)"
        }
    }

    static func enter() {
        lock.lock()
        defer { lock.unlock() }
        active += 1
        guard active == 1 else { return }
        received.store(0, ordering: .relaxed)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = interruptibleStepHandler
        action.sa_flags = 0
        sigemptyset(&action.sa_mask)
        saved = []
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals {
            var old = sigaction()
            sigaction(s, nil, &old)
            guard disposition(old) != .ignored else { continue }
            sigaction(s, &action, nil)
            saved.append((s, old))
            sigaddset(&set, s)
        }
        // Threads of libdispatch block every signal and a parent may have blocked them too.
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Puts the handlers back when the last step ends; returns the signal received, if any.
    static func leave() -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        let signal = received.load(ordering: .relaxed)
        active -= 1
        guard active == 0 else { return signal }
        var forward = false
        for (s, old) in saved {
            var o = old
            sigaction(s, &o, nil)
            if s == signal && disposition(old) == .handler { forward = true }
        }
        saved = []
        if forward { raise(signal) }
        return signal
    }

    enum Disposition { case standard, ignored, handler }

    static func disposition(_ a: sigaction) -> Disposition {
        // SIG_DFL is 0 and SIG_IGN is 1 in the handler union (glibc, the kernel's ABI).
        let raw = withUnsafeBytes(of: a.__sigaction_handler) { $0.load(as: UInt.self) }
        return raw == 0 ? .standard : raw == 1 ? .ignored : .handler
    }
}

private func interruptibleStepHandler(_ signal: Int32) {
    _ = InterruptibleStep.received.compareExchange(expected: 0, desired: signal, ordering: .relaxed)
}
