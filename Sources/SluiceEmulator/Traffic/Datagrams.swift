import SluiceControlPlane
import SluiceRuntime

/// A UDP endpoint as a sender addresses it: the next hop's MAC, an IPv4 address, a port.
public struct UDPEndpoint: Hashable, Sendable {
    public var mac: UInt64
    public var ip: UInt32
    public var port: UInt16
    public init(mac: UInt64, ip: UInt32, port: UInt16) { self.mac = mac; self.ip = ip; self.port = port }
}

/// Code that takes raw UDP datagrams on a bound port of an emulated host: protocols whose
/// packets a switch program reads (in-network aggregation) rather than messages of the
/// reliable transport. Called per datagram, so keep it cheap: the bytes are valid only
/// during the call.
public protocol DatagramReceiver: AnyObject {
    func received(datagram: UnsafeRawBufferPointer, from: UDPEndpoint, ce: Bool, _ host: HostAPI)
}

struct BoundPort {
    var port: UInt16
    var receiver: any DatagramReceiver
    /// The application whose HostAPI bound the port: the receiver's calls get its HostAPI, so
    /// timers it sets come back to that application.
    var app: Int32
}

extension HostAPI {
    /// This host's IPv4 address and MAC.
    public var ipv4: UInt32 { emulator.hosts[Int(hostIndex)].ipv4 }
    public var mac: UInt64 { emulator.hosts[Int(hostIndex)].mac }

    /// The endpoint of host `index` at `port`, addressed from this host.
    public func endpoint(host index: Int, port: UInt16) -> UDPEndpoint {
        UDPEndpoint(mac: emulator.hosts[index].mac, ip: emulator.hosts[index].ipv4, port: port)
    }

    /// An endpoint that is not a host (an address a switch program answers for, such as an
    /// aggregation service): addressed to the MAC of the node this host's NIC connects to.
    public func endpoint(ip: UInt32, port: UInt16) -> UDPEndpoint {
        UDPEndpoint(mac: emulator.peerMAC(ofHost: Int(hostIndex)), ip: ip, port: port)
    }

    /// Deliver datagrams arriving for UDP `port` to `receiver` (before `run`, or from a call).
    public func bind(port: UInt16, _ receiver: any DatagramReceiver) {
        emulator.bound[Int(hostIndex)].removeAll { $0.port == port }
        emulator.bound[Int(hostIndex)].append(BoundPort(port: port, receiver: receiver, app: app))
    }

    /// Send one UDP datagram of `length` payload bytes, written by `fill` (over zeros), from
    /// `port` to `to`. It joins the NIC's queue (never dropped there: the NIC back-pressures).
    /// Returns false when the datagram cannot be sent (no NIC, or larger than the link's MTU
    /// allows).
    @discardableResult
    public func sendDatagram(to: UDPEndpoint, from port: UInt16, length: Int, tos: UInt8 = 0,
                             _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        emulator.sendDatagram(host: Int(hostIndex), to: to, from: port, length: length, tos: tos, fill)
    }

    /// Picoseconds until the NIC has sent everything queued on it (0 when idle): lets a sender
    /// pace itself instead of piling datagrams into the NIC queue.
    public var nicBacklog: Int64 { emulator.nicBacklog(host: Int(hostIndex)) }
}

extension Emulator {
    func peerMAC(ofHost h: Int) -> UInt64 {
        let d = hosts[h].nic
        guard d >= 0 else { return 0 }
        return spec.nodes[Int(dirs[Int(d)].toNode)].mac
    }

    func sendDatagram(host h: Int, to: UDPEndpoint, from port: UInt16, length: Int, tos: UInt8,
                      _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        let (nic, srcMAC, srcIP, id) = hostRefs[h]._withUnsafeGuaranteedRef { x in
            x.ipID &+= 1
            return (x.nic, x.mac, x.ipv4, x.ipID)
        }
        guard nic >= 0, length >= 0, HostStack.headers + length <= dirs[Int(nic)].maxFrame else { return false }
        let p = pool.allocate()
        let b = pool.reset(p, length: HostStack.headers + length)
        HostStack.writeUDP(b, srcMAC: srcMAC, dstMAC: to.mac, srcIP: srcIP, dstIP: to.ip,
                           srcPort: port, dstPort: to.port, tos: tos, id: id, payload: length)
        // What `fill` leaves is zero; what it writes, `dirtyEnd` records.
        pool.clearPayload(p, from: HostStack.headers, to: HostStack.headers + length)
        fill(UnsafeMutableRawBufferPointer(start: b + HostStack.headers, count: length))
        pool.wrote(p, upTo: HostStack.headers + length)
        enqueue(Int(nic), p)
        return true
    }

    func nicBacklog(host h: Int) -> Int64 {
        let d = hosts[h].nic
        guard d >= 0, !dirs[Int(d)].isDown else { return 0 }
        let dir = dirs[Int(d)]
        let onWire = max(.zero, dir.busyUntil - clock)
        return (onWire + .serialization(bytes: dir.queueBytes + dir.queue.count * options.wireOverhead, rate: dir.rate)).picoseconds
    }

    // MARK: switches, from outside

    /// The control plane of switch `name` (tables, registers, multicast groups), to configure
    /// a program before or during a run.
    public func controlPlane(switch name: String) throws -> any ControlPlane {
        guard let s = switches.first(where: { $0.name == name }) else {
            throw EmulatorError("no switch named '\(name)'; switches: \(switches.map(\.name).joined(separator: ", "))")
        }
        return s.pipeline
    }

    /// Where host `name` connects: the switch and its port, or nil for an unconnected host or one
    /// whose NIC reaches another host directly.
    public func uplink(ofHost name: String) -> (switch: String, port: UInt16)? {
        guard let h = hosts.firstIndex(where: { $0.name == name }), hosts[h].nic >= 0 else { return nil }
        let d = dirs[Int(hosts[h].nic)]
        guard d.toSwitchOrHost >= 0 else { return nil }
        return (switches[Int(d.toSwitchOrHost)].name, d.toPort)
    }

    /// Seeded per-port drops on arrival at switch `name` (as SwitchML's drop simulator does):
    /// each packet arriving on `port` is dropped with `probability`, before ingress runs.
    /// Independent of link loss. Counted in `SwitchStats.arrivalDrops`.
    public func setArrivalDrop(switch name: String, port: UInt16, probability: Double) throws {
        guard let s = switches.first(where: { $0.name == name }) else {
            throw EmulatorError("no switch named '\(name)'; switches: \(switches.map(\.name).joined(separator: ", "))")
        }
        guard probability >= 0, probability <= 1 else {
            throw EmulatorError("drop probability \(probability) on \(name):\(port) is not a probability (valid: 0 ... 1)")
        }
        guard s.direction(port: port) >= 0 else {
            throw EmulatorError("switch '\(name)' has no link on port \(port)")
        }
        if s.arrivalDropThreshold.count < s.portCount {
            s.arrivalDropThreshold = Array(repeating: 0, count: s.portCount)
            s.arrivalDrops = Array(repeating: 0, count: s.portCount)
            s.arrivalRNG = SplitMix64(seed: options.seed ^ 0xD80F_0000 ^ UInt64(s.node))
        }
        s.arrivalDropThreshold[Int(port)] = probability >= 1 ? .max : UInt64(probability * 18_446_744_073_709_551_616.0)
        s.dropsArrivals = true
    }

}
