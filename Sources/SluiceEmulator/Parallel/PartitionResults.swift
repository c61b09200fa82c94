import Foundation

/// What one partition measured, as the place that writes the report needs it: a partition's
/// figures for every node (the merged report takes each from the node's owner), its engine
/// figures, and what went wrong with its pcaps. Codable: ranks under MPI send it to rank 0.
struct PartitionResults: Codable {
    /// Per flow, what its sender's or its receiver's partition counted.
    struct FlowCounters: Codable {
        var packetsSent: UInt64
        var packetsReceived: UInt64
        var bytesReceived: Int
        var firstArrival: Int64?
        var lastArrival: Int64?
        var completed: Int64?
        var retransmittedBytes: UInt64
    }
    var flows: [FlowCounters]
    var ports: [PortStats]
    var switches: [SwitchStats]
    var hosts: [HostStats]
    var eventCounts: EventCounts
    var eventsProcessed: UInt64
    var peakPackets: Int
    /// Packets this partition sent across a cut, and those it received exactly at a window's end.
    var crossed: UInt64
    /// Frame bytes those packets carried (up to each one's last non-zero byte).
    var crossedBytes: UInt64
    var arrivalsAtWindowEnd: UInt64
    /// Wall time spent taking in crossings and handling events.
    var busyNanoseconds: UInt64
    var pcapErrors: [String]

    init(_ emu: Emulator) {
        flows = emu.flowResults.map {
            FlowCounters(packetsSent: $0.packetsSent, packetsReceived: $0.packetsReceived, bytesReceived: $0.bytesReceived,
                         firstArrival: $0.firstArrival, lastArrival: $0.lastArrival, completed: $0.completed,
                         retransmittedBytes: $0.retransmittedBytes)
        }
        ports = emu.ports
        switches = emu.switchStats
        hosts = emu.hostStats
        eventCounts = emu.eventCounts
        eventsProcessed = emu.eventsProcessed
        peakPackets = emu.peakPackets
        let slot = emu.slot
        crossed = slot?.crossed ?? 0
        crossedBytes = slot?.crossedBytes ?? 0
        arrivalsAtWindowEnd = slot?.arrivalsAtWindowEnd ?? 0
        busyNanoseconds = slot?.busyNanoseconds ?? 0
        pcapErrors = emu.pcapErrors
    }
}
