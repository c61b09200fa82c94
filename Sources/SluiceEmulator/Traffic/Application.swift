/// Code that runs on an emulated host: workloads (collectives, training steps) are written as
/// applications. Calls come per message and per timer, never per packet.
public protocol Application: AnyObject {
    /// At time 0, when the run starts.
    func start(_ host: HostAPI)
    /// A whole message from `from` (a host index) arrived here.
    func received(_ message: ReceivedMessage, _ host: HostAPI)
    /// Every byte of a message this application sent was acknowledged.
    func acknowledged(tag: UInt64, _ host: HostAPI)
    /// A timer this application set with `HostAPI.setTimer` fired (another application on
    /// the same host never sees it, whatever its token).
    func timer(_ token: Int, _ host: HostAPI)
}

extension Application {
    public func acknowledged(tag: UInt64, _ host: HostAPI) {}
    public func timer(_ token: Int, _ host: HostAPI) {}
}

public struct ReceivedMessage: @unchecked Sendable {
    public var from: Int
    public var bytes: Int
    public var tag: UInt64
    /// When the sender queued it and when its last byte arrived (picoseconds).
    public var sentAt: Int64
    public var receivedAt: Int64
    /// The object the sender attached (`HostAPI.send(to:bytes:tag:attachment:)`), if any.
    public var attachment: AnyObject? = nil
}

/// What an application can do on its host. Each application gets its own: the timers it sets
/// and the messages it sends come back to it alone; a message that arrives goes to every
/// application on the receiving host.
public struct HostAPI {
    unowned let emulator: Emulator
    let hostIndex: Int32
    /// The application this belongs to (its attach order over the run).
    let app: Int32

    init(emulator: Emulator, host: Int32, app: Int32) { self.emulator = emulator; self.hostIndex = host; self.app = app }

    public var now: Int64 { emulator.now }
    public var host: Int { Int(hostIndex) }
    public var name: String { emulator.hosts[Int(hostIndex)].name }
    public var hostCount: Int { emulator.hosts.count }
    /// The index of the host named `name`.
    public func host(named name: String) -> Int? { emulator.hosts.firstIndex { $0.name == name } }

    /// Send `bytes` reliably to host `to`; `tag` comes back in `received` and `acknowledged`.
    public func send(to: Int, bytes: Int, tag: UInt64) {
        emulator.sendMessage(from: hostIndex, to: Int32(to), bytes: bytes, tag: tag, flow: -1, app: app)
    }

    /// Send `bytes` reliably to host `to` with `attachment` riding along: the transport's
    /// packets carry no payload bytes, so collectives hand the values a message stands for to
    /// the receiver this way (like ns-3's packet tags). The timing is that of `bytes` bytes;
    /// the receiver gets the object in `ReceivedMessage.attachment` when the last byte arrives.
    public func send(to: Int, bytes: Int, tag: UInt64, attachment: AnyObject?) {
        emulator.sendMessage(from: hostIndex, to: Int32(to), bytes: bytes, tag: tag, flow: -1, attachment: attachment, app: app)
    }

    /// Call `timer(token)` after `delay` picoseconds.
    public func setTimer(after delay: Int64, token: Int) {
        emulator.events.push(emulator.clock.after(VirtualTime(picoseconds: delay)), .appTimer, target: app, arg: Int32(truncatingIfNeeded: token))
    }
}
