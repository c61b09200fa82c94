import Testing
import Foundation
@testable import SluiceEmulator

/// Applications in a parallel run: each runs in its host's partition, messages to a host in
/// the other partition cross the cut with their packets, and what every application saw is
/// what it sees on one partition. A connection opened during the run is named.
@Suite struct ParallelApplicationTests {
    /// h1 sends a message to h2 at the start and another on a timer; h2 answers each with a
    /// smaller one, h1 answers those, down to tag 4. Every arrival and acknowledgement is logged.
    final class Ping: Application {
        let peer: Int
        var log: [String] = []
        init(peer: Int) { self.peer = peer }
        func start(_ host: HostAPI) {
            guard peer >= 0 else { return }
            host.send(to: peer, bytes: 40_000, tag: 1)
            host.setTimer(after: 3_000_000, token: 9)
        }
        func received(_ m: ReceivedMessage, _ host: HostAPI) {
            log.append("\(host.now): \(m.bytes) bytes tag \(m.tag) from \(m.from), sent at \(m.sentAt)")
            if m.tag < 4 || (m.tag >= 100 && m.tag < 103) { host.send(to: m.from, bytes: m.bytes / 2, tag: m.tag + 1) }
        }
        func acknowledged(tag: UInt64, _ host: HostAPI) { log.append("\(host.now): acked \(tag)") }
        func timer(_ token: Int, _ host: HostAPI) { host.send(to: peer, bytes: 9_000, tag: 100) }
    }

    static let spec: TopologySpec = {
        let nodes = [Net.l2("s1"), Net.l2("s2"), Net.host("h1", 1), Net.host("h2", 2)]
        let links = [LinkSpec(a: Endpoint(node: 0, port: 1), b: Endpoint(node: 2, port: 0), delay: 1_000_000),
                     LinkSpec(a: Endpoint(node: 1, port: 1), b: Endpoint(node: 3, port: 0), delay: 1_000_000),
                     LinkSpec(a: Endpoint(node: 0, port: 2), b: Endpoint(node: 1, port: 2), delay: 2_000_000)]
        return TopologySpec(name: "two", nodes: nodes, links: links)
    }()

    /// Attach h1's and h2's applications (opening their connections first when `open`).
    static func attach(_ emu: Emulator, open: Bool) throws -> [Ping] {
        if open { emu.openConnection(from: 0, to: 1); emu.openConnection(from: 1, to: 0) }
        let apps = [Ping(peer: 1), Ping(peer: -1)]
        try emu.attach(apps[0], host: "h1")
        try emu.attach(apps[1], host: "h2")
        return apps
    }

    @Test func messagesCrossTheCutAsOnOnePartition() throws {
        let emu = try Emulator(Self.spec, programs: .builtIn)
        let one = try Self.attach(emu, open: true)
        let st = emu.run()
        let cut = try Partitioning(Self.spec, assignment: [0, 1, 0, 1], count: 2)
        let p = try ParallelEmulation(Self.spec, programs: .builtIn, partitioning: cut)
        let two = try p.eachPartition { try Self.attach($0, open: true) }
        let pst = p.run()
        #expect(one[0].log.count == 8 && one[1].log.count == 8, "\(one[0].log) \(one[1].log)")
        #expect(two[0][0].log == one[0].log && two[1][1].log == one[1].log)
        #expect(two[0][1].log.isEmpty && two[1][0].log.isEmpty)
        #expect(p.unplannedConnections.isEmpty && p.crossings > 0)
        #expect(try ParallelEmulationTests.network(RunReport(emu, stats: st)) == ParallelEmulationTests.network(p.report(pst)))
    }

    @Test func aConnectionOpenedDuringTheRunIsNamed() throws {
        let cut = try Partitioning(Self.spec, assignment: [0, 1, 0, 1], count: 2)
        let p = try ParallelEmulation(Self.spec, programs: .builtIn, partitioning: cut)
        _ = try p.eachPartition { try Self.attach($0, open: false) }
        // Its messages go astray (the receiver's number for it differs): the senders retransmit
        // until the run stops.
        p.run(until: 5_000_000)
        #expect(p.unplannedConnections == ["h1 -> h2"])
    }

    /// Between MPI ranks a crossing message goes as bytes (`Outbox.write`): every field but its
    /// attachment comes back, and a box with messages but no packets is not empty.
    @Test func messagesGoOnTheWireWithEveryFieldButTheAttachment() throws {
        let box = Outbox()
        let sent = CrossingMessage(connection: 3, src: 1, dst: 0,
                                   message: Connection.Message(end: 81_000, bytes: 40_000, tag: 1 << 41 | 7, queuedAt: 123_456, flow: -1, app: 2))
        box.messages = [sent, CrossingMessage(connection: 4, src: 0, dst: 1, message: Connection.Message(end: 1, bytes: 0, tag: 0, queuedAt: 0, flow: 5))]
        #expect(!box.isEmpty && box.packets.isEmpty)
        var w = WireWriter()
        box.write(to: &w)
        let back = Outbox()
        back.messages = [sent]
        w.bytes.withUnsafeBytes { b in
            var r = WireReader(b)
            back.read(from: &r)
            #expect(r.atEnd)
        }
        let fields = { (m: CrossingMessage) in
            [Int(m.connection), Int(m.src), Int(m.dst), Int(m.message.end), m.message.bytes, Int(m.message.tag), Int(m.message.queuedAt), Int(m.message.flow), Int(m.message.app)]
        }
        #expect(back.messages.map(fields) == ([sent] + box.messages).map(fields))
        #expect(back.messages.allSatisfy { $0.message.attachment == nil })
    }

    final class Attached: Application {
        func start(_ host: HostAPI) { host.send(to: 1, bytes: 1_000, tag: 5, attachment: Attached()) }
        func received(_ message: ReceivedMessage, _ host: HostAPI) {}
    }

    /// A partition whose others run in other processes (`refuseAttachment`, which ends an MPI
    /// job) names the message with an attachment it cannot send them.
    @Test func anAttachedMessageToAnotherProcessIsRefusedByName() throws {
        let cut = try Partitioning(Self.spec, assignment: [0, 1, 0, 1], count: 2)
        let p = try ParallelEmulation(Self.spec, programs: .builtIn, partitioning: cut)
        var said: [String] = []
        p.slots[0].refuseAttachment = { said.append($0) }
        _ = try p.eachPartition { emu in
            emu.openConnection(from: 0, to: 1)
            try emu.attach(Attached(), host: "h1")
        }
        p.run(until: 1_000_000)
        #expect(said == ["host h1 sent host h2 (partition 1, another rank) a message (tag 5) with an attachment, an object that cannot go to another process; run it with --threads (one process) or send it without an attachment"])
    }
}
