/// The node an event happens at: the one whose state it changes, whose partition runs it, and
/// whose count keys the events it schedules (`EventOrder`). A link direction's transmission
/// happens at its sending node, an arrival at its receiving node, a flow's sends and a
/// connection's timer at the sending host, a timer at its application's host.
extension Emulator {
    /// Node index of the node `e` happens at, or -1 for an event of the whole network (sampling,
    /// a scheduled change and the routing controller's reaction to it; a cancelled event does nothing).
    @inline(__always) func node(of e: Event) -> Int32 {
        let t = Int(e.target)
        switch e.kind {
        case .arrival: return dirs[t].toNode
        case .transmitDone: return dirs[t].fromNode
        case .udpSend: return hostNode(udpFlows[t].src)
        case .transportTimer: return hostNode(connections[t].src)
        case .flowStart: return hostNode(flowResults[t].src)
        case .recirculate: return switchRefs[t]._withUnsafeGuaranteedRef { $0.node }
        case .appTimer: return hostNode(appHost[t])
        case .inject:
            let role = traces[t].role
            return role >= 0 ? switchRefs[Int(role)]._withUnsafeGuaranteedRef { $0.node } : hostNode(-role - 1)
        case .sample, .network, .reroute, .cancelled: return -1
        }
    }

    @inline(__always) func hostNode(_ h: Int32) -> Int32 {
        hostRefs[Int(h)]._withUnsafeGuaranteedRef { $0.node }
    }
}
