import Foundation
import SluiceControlPlane
import SluiceEBPF
import SluiceIR

/// A switch whose program runs at the kernel's XDP hook of every port's interface, for a front
/// end that replaces the program and drives its maps while packets flow (the P4Runtime server
/// behind `sluice attach --backend xdp --p4runtime`). Until a program is installed the ports
/// have none (the kernel's stack gets their packets). With a CPU port the program also runs on
/// one end of a veth pair (`CPUPort`) through which controller packets go in and out.
public final class XDPSwitch: SwitchTarget, @unchecked Sendable {
    public let ports: [(number: UInt16, interface: String)]
    public let mode: XDPProgram.Mode
    /// Serializes the front end's calls on the running program and its replacement (the packets
    /// run in the kernel, under no lock of ours).
    let lock = SwitchLock()
    var running: XDPControlPlane?
    /// Set by `stop`: a pipeline still being compiled then is not attached (an XDP attachment
    /// outlives the process, so one made after the exit's detach would stay).
    var stopped = false
    /// The mode each port's interface got at the first attach (a replacement keeps it).
    public private(set) var modes: [XDPProgram.Mode] = []
    /// Notices for the operator (native-mode veths whose peer gets no program).
    public var log: (@Sendable (String) -> Void)?
    /// The CPU port (PacketIn and PacketOut), when the switch was given its number.
    public let cpu: CPUPort?
    /// The ports the program is attached to: `ports`, then the CPU port's end of its pair.
    var attachedPorts: [(number: UInt16, interface: String)] { ports + (cpu.map { [($0.number, $0.interface)] } ?? []) }

    /// Refuses an interface that does not exist or already has an XDP program (not taken over).
    /// With `cpuPort` the switch creates that port's veth pair (`CPUPort`); `stop` removes it.
    public init(ports: [(number: UInt16, interface: String)], mode: XDPProgram.Mode, cpuPort: UInt16? = nil) throws {
        for p in ports {
            guard if_nametoindex(p.interface) > 0 else { throw XDPError("no interface '\(p.interface)' (ip link lists them)") }
            if let there = XDPProgram.attachedProgram(interface: p.interface) { throw XDPProgram.occupied(p.interface, by: there) }
        }
        self.ports = ports
        self.mode = mode
        cpu = try cpuPort.map { try CPUPort(number: $0) }
    }

    /// Calls `handler` with every frame the program sends to the CPU port (its packet_in header
    /// first), on a thread of the CPU port's; nothing without a CPU port.
    public func receivePacketIn(_ handler: @escaping @Sendable ([UInt8]) -> Void) { cpu?.receive(handler) }

    /// What XDP cannot run (recirculation, queues, wide digest fields) is refused here, naming
    /// the construct, without clang or the kernel: generating the C is enough. What only clang
    /// or the verifier refuses shows at `install`.
    public func check(_ program: VerifiedProgram) throws { _ = try EBPFBackend.emitC(program) }

    /// Compiles and loads `program` (its maps start empty, entries const and defaults aside),
    /// then puts it at every port in place of the running one, one interface at a time with
    /// XDP_FLAGS_REPLACE: no interface is ever without a program, and packets arriving meanwhile
    /// meet either the old program or the new one. The old program and its maps go when the
    /// last reference to it does. A failure leaves the old program everywhere. The kernel's
    /// random numbers need no `seed`.
    public func install(_ program: VerifiedProgram, seed: UInt64) throws {
        let xdp = try XDPProgram(program)
        let cp = try XDPControlPlane(xdp)
        try lock.withLock { () throws in
            guard !stopped else { throw XDPError("program '\(program.name)' is not attached: the switch is stopping") }
            guard let old = running?.xdp else {
                var used: [XDPProgram.Mode] = []
                do {
                    for p in attachedPorts { used.append(try xdp.attach(interface: p.interface, port: p.number, mode: mode)) }
                } catch {
                    xdp.detachAll()
                    throw error
                }
                // The CPU port's peer has GRO on (`CPUPort`): it needs no warning.
                for (p, m) in zip(ports, used) where m == .native {
                    if let w = Veth.nativeWarning(p.interface, alsoPorts: ports.map(\.interface)) { log?("warning: \(w)") }
                }
                modes = used
                running = cp
                return
            }
            var moved: [(number: UInt16, interface: String)] = []
            do {
                for p in attachedPorts {
                    try xdp.attach(interface: p.interface, port: p.number, replacing: old)
                    moved.append(p)
                }
            } catch {
                for p in moved { try? old.attach(interface: p.interface, port: p.number, replacing: xdp) }
                xdp.detachAll()
                throw error
            }
            running = cp
        }
    }

    public func withControlPlane<R>(_ body: (any ControlPlane) throws -> R) throws -> R? {
        try lock.withLock { () throws -> R? in try running.map(body) }
    }

    /// The kernel runs packets while the maps change: a batch reaches them one update at a time.
    public var dataplaneAtomic: Bool { false }

    /// Sends `bytes` into the CPU port's end of its pair, where the running program receives
    /// them on that port and the kernel transmits what it decides. False when no program runs
    /// (or the port is not the CPU port).
    public func inject(_ bytes: [UInt8], port: UInt16) -> Bool {
        guard let cpu, port == cpu.number, lock.withLock({ running != nil }) else { return false }
        return cpu.send(bytes)
    }

    public var controllerPacketsRefusal: String? {
        cpu == nil ? "this XDP switch was started without a CPU port, so nothing carries packets between its program and the controller" : nil
    }

    /// Why an interface lost the running program (deleted, or someone replaced it), or nil.
    public func lostAttachment() -> String? { lock.withLock { running?.xdp.lostAttachment() } }

    /// Packets per outcome of the running program (`XDPProgram.outcomes`); empty without one.
    public func outcomes() -> [UInt32: UInt64] { lock.withLock { (try? running?.xdp.outcomes()) ?? [:] } }

    /// Removes the running program from every port and attaches no other (at exit); the switch
    /// keeps its maps for the counts printed last.
    public func stop() {
        lock.withLock {
            stopped = true
            running?.xdp.detachAll()
        }
        cpu?.remove()
    }
}
