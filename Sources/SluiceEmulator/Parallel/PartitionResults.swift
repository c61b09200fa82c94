import Foundation

/// What one partition measured, as the place that writes the report needs it: a partition's
/// figures for every node (the merged report takes each from the node's owner), its engine
/// figures, what went wrong with its pcaps, its time series, queue trace and per-host trace
/// files. Codable: ranks under MPI send it to rank 0.
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
    /// Its time series: every direction sampled, the merge keeps those it sends on.
    var series: TimeSeries
    /// Its switches' enqueues (`EmulatorOptions.queueTrace`; empty without).
    var queueLog: QueueTrace
    /// The per-host trace files it wrote (`EmulatorOptions.hostTraceDirectory`): its hosts'.
    struct TraceFile: Codable {
        var host: Int
        var path: String
        var packets: Int
        var bytes: Int
        var error: String?
    }
    var hostTraceFiles: [TraceFile]

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
        series = emu.series
        queueLog = emu.queueLog
        hostTraceFiles = emu.hostTraceWriters.enumerated().compactMap { h, w in
            w.map { TraceFile(host: h, path: $0.path, packets: $0.packetsWritten, bytes: $0.bytesWritten, error: $0.error.map { "\($0)" }) }
        }
    }
}
