import SluiceControlPlane
import SluiceIR
import SluiceP4Runtime

/// What undoes a batch's changes on the switch (ROLLBACK_ON_ERROR): for each change, a step that
/// puts back what it replaced, recorded once the change is made and run newest first. Steps find
/// entries by their match fields, never by handle: undoing a later DELETE inserts the entry again
/// under a new handle.
final class UndoLog {
    typealias Step = (any ControlPlane) throws -> Void
    private var steps: [(what: String, step: Step)] = []

    /// `what` names the change in a failed step's message.
    func add(_ what: String, _ step: @escaping Step) { steps.append((what, step)) }

    /// Every step, newest first (one failing does not stop the others); the failures' messages.
    func run(_ cp: any ControlPlane) -> [String] {
        var failed: [String] = []
        for (what, step) in steps.reversed() {
            do { try step(cp) } catch { failed.append("\(what): \(error)") }
        }
        steps.removeAll()
        return failed
    }

    /// The entry a step restores, found by its matches.
    static func installed(_ cp: any ControlPlane, _ table: String, _ matches: [Match], priority: Int) throws -> EntryHandle {
        guard let h = try cp.find(table, matches, priority: priority) else {
            throw ControlPlaneError("table '\(table)': the entry is no longer installed")
        }
        return h
    }
}

extension P4RuntimeDevice {
    /// ROLLBACK_ON_ERROR and DATAPLANE_ATOMIC (`mode`): the updates in order until one fails; then every change made so far is
    /// undone and the device's own records (default actions, multicast groups, meter configs,
    /// digests) put back as they were, so a Read sees the state from before the batch. The
    /// specification leaves the other updates' codes open: those undone and those not attempted
    /// are ABORTED, each saying which update failed.
    func applyAllOrNone(_ updates: [P4_V1_Update], _ cp: any ControlPlane, mode: String) -> [P4RuntimeError?] {
        let before = pipeline
        let undo = UndoLog()
        for (i, u) in updates.enumerated() {
            do throws(P4RuntimeError) { try apply(u, cp, undo: undo) } catch {
                let left = undo.run(cp)
                pipeline = before
                return updates.indices.map { j -> P4RuntimeError? in
                    if j == i { return error }
                    if !left.isEmpty {
                        return P4RuntimeError(.internal, "update \(i) failed and undoing the batch (\(mode)) left changes: \(left.joined(separator: "; ")); Read the switch to see what it holds")
                    }
                    return P4RuntimeError(.aborted, j < i ? "undone: update \(i) failed, and \(mode) applies every update or none"
                                                          : "not attempted: update \(i) failed, and \(mode) applies every update or none")
                }
            }
        }
        return Array(repeating: nil, count: updates.count)
    }
}
