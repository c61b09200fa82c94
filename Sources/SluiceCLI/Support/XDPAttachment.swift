import SluicePcap
import SluiceSupport
import SluiceXDP
#if canImport(Glibc)
import Glibc
#endif

/// Attaches `xdp` at every port's interface in `mode`, all or none (a failure detaches the ones
/// done), then warns about native-mode veths whose peer is not one of the ports. Returns the mode
/// each port's interface got, in order. For `attach --backend xdp` and `aggregator --backend xdp`.
func attachAtEveryPort(_ xdp: XDPProgram, _ ports: [PortSpec], mode: XDPProgram.Mode) throws -> [XDPProgram.Mode] {
    var used: [XDPProgram.Mode] = []
    do {
        for p in ports { used.append(try xdp.attach(interface: p.interface, port: p.number, mode: mode)) }
    } catch {
        xdp.detachAll()
        throw CLIError("\(error)")
    }
    // Once every port is attached (a veth whose peer is a port of this run needs nothing).
    for (p, m) in zip(ports, used) where m == .native {
        if let w = Veth.nativeWarning(p.interface, alsoPorts: ports.map(\.interface)) { stderr("warning: \(w)") }
    }
    return used
}

/// While `xdp` runs in the kernel: `tick` every 20 ms until a stop signal or `deadline` (a
/// `MonotonicClock` reading), and about 4 times a second a check that every interface is still
/// there with the program on it. Returns why one is not, or nil.
func whileAttached(_ xdp: XDPProgram, until deadline: Int64?, _ tick: () -> Void) -> String? {
    whileAttached(lost: { xdp.lostAttachment() }, until: deadline, tick)
}

/// `whileAttached` for a program that may change meanwhile: `lost` says why an interface is
/// not as it should be, or nil.
func whileAttached(lost: () -> String?, until deadline: Int64?, _ tick: () -> Void) -> String? {
    var nextCheck = MonotonicClock.nanoseconds
    while StopSignal.requested == nil {
        if let d = deadline, MonotonicClock.nanoseconds >= d { break }
        usleep(20_000)
        if MonotonicClock.nanoseconds >= nextCheck {
            nextCheck = MonotonicClock.nanoseconds + 250_000_000
            if let why = lost() { return why }
        }
        tick()
    }
    return nil
}
