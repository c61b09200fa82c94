import SluiceEmulator

/// The collector as an application on an emulated host: report datagrams arriving on `port`
/// go to the same `TelemetryCollector` the socket collector uses, timed in virtual time.
public final class EmulatedTelemetryCollector: Application, DatagramReceiver {
    public let collector: TelemetryCollector
    public let port: UInt16

    public init(port: UInt16 = INTFormat.defaultReportPort, collector: TelemetryCollector = TelemetryCollector()) {
        self.port = port
        self.collector = collector
    }

    public func start(_ host: HostAPI) { host.bind(port: port, self) }
    public func received(_ message: ReceivedMessage, _ host: HostAPI) {}

    public func received(datagram: UnsafeRawBufferPointer, from: UDPEndpoint, ce: Bool, _ host: HostAPI) {
        collector.receive(datagram, at: host.now)
    }
}
