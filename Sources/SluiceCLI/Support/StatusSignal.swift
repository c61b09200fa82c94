import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// SIGUSR1 as "print the counters now": the handler only sets a flag the loop reads.
enum StatusSignal {
    static let pending = Atomic<Bool>(false)

    static func install() {
        signal(SIGUSR1, statusSignalHandler)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGUSR1)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Whether a SIGUSR1 came since the last call.
    static func take() -> Bool { pending.exchange(false, ordering: .relaxed) }
}

private func statusSignalHandler(_ signal: Int32) {
    StatusSignal.pending.store(true, ordering: .relaxed)
}
