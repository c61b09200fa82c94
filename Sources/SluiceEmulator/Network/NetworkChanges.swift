import SluiceControlPlane
import SluiceRuntime
import SluiceReports

/// What changed in the network during a run, and what each change did: one line of the
/// summary's event list, and an entry of the JSON's `network_events`.
public struct NetworkEventRecord: Sendable, Encodable, Hashable {
    /// Picoseconds.
    public var time: Int64
    /// `link leaf1:p5-spine1:p1 down`, `switch s1 entries more.txt`, `routing recompute after link …`.
    public var what: String
    /// `file:line` of the topology file's event, or empty.
    public var origin: String
    /// What it did: packets dropped, routes rewritten, entries applied, or why it failed.
    public var result: String
    /// The change could not be made (an entries file that a switch refused, routes that could
    /// not be installed); the run went on without it.
    public var failed: Bool

    enum CodingKeys: String, CodingKey {
        case what, origin, result, failed
        case time = "time_ps"
    }
}

/// The emulator's view of a changing network (none of it touched per packet): the scheduled
/// changes, which links and switches are up, what the routing controller knows of it, and
/// what happened.
struct NetworkState {
    var events: [NetworkEvent]
    /// Per link: not taken down by a link event. Per node: not taken down by a switch event.
    var linkUp: [Bool]
    var nodeUp: [Bool]
    /// The same as the routing controller knows it: each change reaches it `detection` later.
    var knownLinkUp: [Bool]
    var knownNodeUp: [Bool]
    /// Per link: its rate as the routing controller knows it (bits per second).
    var knownLinkRate: [UInt64]
    /// Per link direction: its queue's packet limit while it is up.
    var savedLimitPackets: [Int]
    /// Per node: the links that touch it.
    var linksOf: [[Int]]
    var log: [NetworkEventRecord] = []

    init(_ spec: TopologySpec) {
        events = spec.events
        linkUp = Array(repeating: true, count: spec.links.count)
        nodeUp = Array(repeating: true, count: spec.nodes.count)
        knownLinkUp = linkUp
        knownNodeUp = nodeUp
        knownLinkRate = spec.links.map(\.rate)
        savedLimitPackets = Array(repeating: 0, count: spec.links.count * 2)
        linksOf = Array(repeating: [], count: spec.nodes.count)
        for (i, l) in spec.links.enumerated() {
            linksOf[l.a.node].append(i)
            if l.b.node != l.a.node { linksOf[l.b.node].append(i) }
        }
    }

    /// The link `l` carries traffic: it and both its ends are up.
    func carries(_ l: Int, _ spec: TopologySpec) -> Bool {
        linkUp[l] && nodeUp[spec.links[l].a.node] && nodeUp[spec.links[l].b.node]
    }
}

extension Emulator {
    // MARK: scheduling (Swift API)

    /// Schedule a change to the network, before or during a run (not before `now`). Changes at
    /// the same time run in the order they were scheduled, after those of the topology file.
    public func schedule(_ event: NetworkEvent) throws {
        guard event.time >= now else {
            throw EmulatorError("a change at \(formatTime(picoseconds: event.time)) is in the past (the run is at \(formatTime(picoseconds: now)))")
        }
        switch event.target {
        case .link(let a, let b):
            guard linkIndex(a, b) != nil else { throw EmulatorError("no link joins \(endpointText(a)) and \(endpointText(b))") }
            switch event.change {
            case .entries: throw EmulatorError("entries go to a switch, not a link (valid for a link: down, up, rate, loss)")
            case .loss(let p) where !(p >= 0 && p < 1):
                throw EmulatorError("loss \(p) on \(endpointText(a))-\(endpointText(b)) is not a probability below 1 (valid: 0 ..< 1; down for a dead link)")
            case .rate(0): throw EmulatorError("rate 0 on \(endpointText(a))-\(endpointText(b)) (valid: above 0 bps; down for a dead link)")
            default: break
            }
        case .node(let n):
            guard n >= 0, n < spec.nodes.count, !spec.nodes[n].isHost else {
                throw EmulatorError("node \(n) is not a switch (valid: \(switches.map(\.name).joined(separator: ", ")))")
            }
            switch event.change {
            case .rate, .loss: throw EmulatorError("rate and loss belong to links, not to switch '\(spec.nodes[n].name)' (valid for a switch: down, up, entries)")
            default: break
            }
        }
        network.events.append(event)
        if started { events.push(VirtualTime(picoseconds: event.time), .network, target: Int32(network.events.count - 1)) }
    }

    /// Schedule a change to a link at `time` (picoseconds): `link` as topology files write it,
    /// `leaf1:p5-spine1:p1` (either end first).
    public func schedule(at time: Int64, link: String, _ change: NetworkEvent.Change) throws {
        let (a, b) = try parseLink(link)
        try schedule(NetworkEvent(time: time, target: .link(a, b), change: change))
    }

    /// Schedule a change to switch `name` at `time` (picoseconds): down, up or entries.
    public func schedule(at time: Int64, switch name: String, _ change: NetworkEvent.Change) throws {
        guard let n = spec.node(named: name), !spec.nodes[n].isHost else {
            throw EmulatorError("no switch named '\(name)' (valid: \(switches.map(\.name).joined(separator: ", ")))")
        }
        try schedule(NetworkEvent(time: time, target: .node(n), change: change))
    }

    /// The changes made so far and what each did, in the order they ran.
    public var networkEventLog: [NetworkEventRecord] { network.log }

    /// Whether link `link` (`a:p-b:q`) carries traffic now.
    public func isUp(link: String) throws -> Bool {
        let (a, b) = try parseLink(link)
        return network.carries(linkIndex(a, b)!, spec)
    }

    func endpointText(_ e: Endpoint) -> String { "\(spec.nodes[e.node].name):p\(e.port)" }

    func linkIndex(_ a: Endpoint, _ b: Endpoint) -> Int? {
        spec.links.firstIndex { ($0.a == a && $0.b == b) || ($0.a == b && $0.b == a) }
    }

    /// `a:p-b:q`: the first endpoint's port name runs to the first '-' after its colon.
    func parseLink(_ text: String) throws -> (Endpoint, Endpoint) {
        let valid = "two endpoints joined by '-', e.g. s1:p1-s2:p3"
        guard let colon = text.firstIndex(of: ":"), let dash = text[colon...].firstIndex(of: "-") else {
            throw EmulatorError("'\(text)' is not a link (valid: \(valid))")
        }
        func endpoint(_ t: Substring) throws -> Endpoint {
            guard let c = t.lastIndex(of: ":") else { throw EmulatorError("'\(t)' in '\(text)' has no port (valid: \(valid))") }
            guard let n = spec.node(named: String(t[..<c])) else {
                throw EmulatorError("unknown node '\(t[..<c])' in '\(text)' (valid: \(spec.nodes.map(\.name).joined(separator: ", ")))")
            }
            let digits = String(t[t.index(after: c)...].reversed().prefix { $0.isASCII && $0.isNumber }.reversed())
            guard let port = UInt16(digits) else { throw EmulatorError("port '\(t[t.index(after: c)...])' in '\(text)' has no number (valid: \(valid))") }
            return Endpoint(node: n, port: port)
        }
        let a = try endpoint(text[..<dash]), b = try endpoint(text[text.index(after: dash)...])
        guard linkIndex(a, b) != nil else { throw EmulatorError("no link joins \(endpointText(a)) and \(endpointText(b))") }
        return (a, b)
    }

    // MARK: running a change

    func describe(_ e: NetworkEvent) -> String {
        switch e.target {
        case .link(let a, let b): return "link \(endpointText(a))-\(endpointText(b)) \(e.change.text)"
        case .node(let n): return "switch \(spec.nodes[n].name) \(e.change.text)"
        }
    }

    func applyNetworkEvent(_ i: Int) {
        let e = network.events[i]
        var result = "", failed = false
        switch (e.target, e.change) {
        case (.link(let a, let b), .down), (.link(let a, let b), .up):
            let l = linkIndex(a, b)!
            network.linkUp[l] = e.change == .up
            result = refreshLinks([l])
        case (.node(let n), .down), (.node(let n), .up):
            network.nodeUp[n] = e.change == .up
            result = refreshLinks(network.linksOf[n])
        case (.link(let a, let b), .rate(let r)):
            let l = linkIndex(a, b)!
            for d in [2 * l, 2 * l + 1] { dirs[d].rate = max(r, 1) }
            result = "from the next frame on"
        case (.link(let a, let b), .loss(let p)):
            let l = linkIndex(a, b)!
            for d in [2 * l, 2 * l + 1] { dirs[d].lossThreshold = p <= 0 ? 0 : UInt64(p * 18_446_744_073_709_551_616.0) }
            result = "from the next frame on"
        case (.node(let n), .entries(let file, let text)):
            let s = switches[Int(nodeRole[n])]
            do {
                let count = try EntriesFile(file: file, text: text).apply(to: s.pipeline)
                result = "applied \(count) command\(count == 1 ? "" : "s")"
            } catch {
                result = "\(error)"; failed = true
            }
        default:
            result = "does not apply"; failed = true   // `schedule` refuses these
        }
        network.log.append(NetworkEventRecord(time: now, what: describe(e), origin: e.origin, result: result, failed: failed))
        if e.changesRouting && spec.routing.recompute && routing != nil {
            events.push(clock.after(VirtualTime(picoseconds: spec.routing.detection)), .reroute, target: Int32(i))
        }
    }

    /// Take down or bring up the directions of `links` whose state no longer matches the links
    /// and switches being up; says what that did.
    func refreshLinks(_ links: [Int]) -> String {
        var dropped: UInt64 = 0, down = 0, up = 0
        for l in links {
            let carries = network.carries(l, spec)
            guard carries == dirs[2 * l].isDown else { continue }
            for d in [2 * l, 2 * l + 1] {
                if carries { bringUp(d) } else { dropped += takeDown(d) }
            }
            if carries { up += 1 } else { down += 1 }
        }
        var parts: [String] = []
        if down > 0 { parts.append("took \(down) link\(down == 1 ? "" : "s") down, dropping \(dropped) packet\(dropped == 1 ? "" : "s") queued or on the wire") }
        if up > 0 { parts.append("brought \(up) link\(up == 1 ? "" : "s") up") }
        return parts.isEmpty ? "no link changed state" : parts.joined(separator: "; ")
    }

    /// Drop what direction `d` holds (its queue, the frame on the wire, the frames propagating),
    /// cancel its pending events, and make every later packet take `enqueue`'s drop branch.
    /// Returns the packets dropped.
    func takeDown(_ d: Int) -> UInt64 {
        let dir = dirs + d
        var dropped: UInt64 = 0
        while !dir.pointee.queue.isEmpty {
            let p = dir.pointee.queue.removeFirst()
            let len = pool.length(p)
            if dir.pointee.fromSwitch >= 0 { switches[Int(dir.pointee.fromSwitch)].bufferUsed -= len }
            pool.release(p)
            dropped += 1
        }
        dir.pointee.queueBytes = 0
        while !dir.pointee.pipe.isEmpty {
            pool.release(dir.pointee.pipe.removeFirst().packet)
            dropped += 1
        }
        if dir.pointee.arrivalPending { events.cancel(.arrival, target: Int32(d)); dir.pointee.arrivalPending = false }
        if dir.pointee.transmitPending { events.cancel(.transmitDone, target: Int32(d)); dir.pointee.transmitPending = false }
        dir.pointee.droppedAtFailure += dropped
        network.savedLimitPackets[d] = dir.pointee.limitPackets
        dir.pointee.limitPackets = 0
        dir.pointee.busyUntil = .never
        dir.pointee.isDown = true
        return dropped
    }

    /// Direction `d` carries traffic again, its wire free now.
    func bringUp(_ d: Int) {
        let dir = dirs + d
        dir.pointee.isDown = false
        dir.pointee.limitPackets = network.savedLimitPackets[d]
        dir.pointee.busyUntil = clock
        if dir.pointee.fromSwitch < 0 { resumeHeldConnections(nic: d) }
    }

    /// The routing controller learns of change `i` (`detection` after it) and rewrites the
    /// routes of the routed switches for the network as it now knows it.
    func reroute(learning i: Int) {
        let e = network.events[i]
        switch (e.target, e.change) {
        case (.link(let a, let b), .rate(let r)): network.knownLinkRate[linkIndex(a, b)!] = r
        case (.link(let a, let b), _): network.knownLinkUp[linkIndex(a, b)!] = e.change == .up
        case (.node(let n), _): network.knownNodeUp[n] = e.change == .up
        }
        guard let previous = routing else { return }
        let what = "routing recompute after " + describe(e)
        do {
            let r = try RoutingController.recompute(spec, previous: previous, linkUp: network.knownLinkUp, nodeUp: network.knownNodeUp,
                                                    linkRate: network.knownLinkRate,
                                                    routes: { self.routeInstallers[$0] }, controlPlane: { self.routedPipelines[$0] })
            routing = r.summary
            network.log.append(NetworkEventRecord(time: now, what: what, origin: e.origin, result: r.change, failed: false))
        } catch {
            network.log.append(NetworkEventRecord(time: now, what: what, origin: e.origin, result: "\(error)", failed: true))
        }
    }
}
