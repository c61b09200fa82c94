import SluiceRuntime

/// Hosts: UDP flows, the reliable transport and applications.
extension Emulator {
    // MARK: UDP flows

    func udpSend(_ i: Int) {
        let f = udpFlows.baseAddress.unsafelyUnwrapped + i
        let (nic, srcMAC, srcIP, id) = hostRefs[Int(f.pointee.src)]._withUnsafeGuaranteedRef { h in
            h.ipID &+= 1
            return (h.nic, h.mac, h.ipv4, h.ipID)
        }
        guard nic >= 0 else { return }
        let (dstMAC, dstIP) = hostRefs[Int(f.pointee.dst)]._withUnsafeGuaranteedRef { ($0.mac, $0.ipv4) }
        let payload = min(f.pointee.payload, max(f.pointee.total - f.pointee.sentPayload, UDPFlowState.tagBytes))
        let p = pool.allocate()
        let length = HostStack.headers + payload
        let b = pool.reset(p, length: length)
        HostStack.writeUDP(b, srcMAC: srcMAC, dstMAC: dstMAC, srcIP: srcIP, dstIP: dstIP,
                           srcPort: f.pointee.srcPort, dstPort: f.pointee.dstPort, tos: 0, id: id, payload: payload)
        let pl = b + HostStack.headers
        HostStack.put32(pl, UInt32(f.pointee.flow))
        HostStack.put32(pl + 4, f.pointee.seq)
        pool.clearPayload(p, from: HostStack.headers + UDPFlowState.tagBytes, to: length)
        f.pointee.seq &+= 1
        f.pointee.sentPayload += payload
        let elapsed = f.pointee.advance(ipBytes: UInt64(length - HostStack.ethernet))
        flowResults[Int(f.pointee.flow)].packetsSent += 1
        enqueue(Int(nic), p)
        if f.pointee.sentPayload < f.pointee.total {
            // From the start, not the last send, so the rate never drifts; in full width so long
            // flows never overflow.
            let next = f.pointee.start.after(elapsed)
            events.push(max(next, clock), .udpSend, target: Int32(i))
        }
    }

    // MARK: host receive

    func hostReceive(_ h: Int, packet p: Int32) {
        let b = pool.data(p)
        let len = pool.length(p)
        defer { pool.release(p) }
        let myIP = hostRefs[h]._withUnsafeGuaranteedRef { host in
            host.rxPackets += 1
            host.rxBytes += UInt64(len)
            return host.ipv4
        }
        guard len >= HostStack.headers, b[12] == 0x08, b[13] == 0x00 else { hosts[h].rxIgnored += 1; return }
        let ip = b + HostStack.ethernet
        let ihl = Int(ip[0] & 0x0F) * 4
        guard ip[0] >> 4 == 4, ihl >= 20, HostStack.get32(ip + 16) == myIP, ip[9] == 17,
              len >= HostStack.ethernet + ihl + HostStack.udp else { hosts[h].rxIgnored += 1; return }
        let ipLen = Int(HostStack.get16(ip + 2))
        let end = min(len, HostStack.ethernet + ipLen)
        let udp = ip + ihl
        let payload = udp + HostStack.udp
        let payloadLen = end - (HostStack.ethernet + ihl + HostStack.udp)
        let ce = ip[1] & 0b11 == 0b11
        if HostStack.get16(udp + 2) == layout.port {
            guard payloadLen >= layout.overhead else { hosts[h].rxIgnored += 1; return }
            transportReceive(host: Int32(h), payload, payloadLen - layout.trailer, ce: ce)
            return
        }
        if !bound[h].isEmpty {
            let port = HostStack.get16(udp + 2)
            for x in bound[h] where x.port == port {
                let from = UDPEndpoint(mac: HostStack.getMAC(b + 6), ip: HostStack.get32(ip + 12), port: HostStack.get16(udp))
                x.receiver.received(datagram: UnsafeRawBufferPointer(start: payload, count: max(0, payloadLen)),
                                    from: from, ce: ce, HostAPI(emulator: self, host: Int32(h), app: x.app))
                return
            }
        }
        guard payloadLen >= UDPFlowState.tagBytes else { hosts[h].rxIgnored += 1; return }
        let flow = Int(HostStack.get32(payload))
        guard flow < flowResults.count, flowResults[flow].dst == Int32(h), case .udp = flowResults[flow].kind else {
            hosts[h].rxIgnored += 1; return
        }
        let now = self.now
        withUnsafeMutablePointer(to: &flowResults[flow]) { r in
            r.pointee.packetsReceived += 1
            r.pointee.bytesReceived += payloadLen
            if r.pointee.firstArrival == nil { r.pointee.firstArrival = now }
            r.pointee.lastArrival = now
            if r.pointee.completed == nil && r.pointee.bytesReceived >= r.pointee.bytes { r.pointee.completed = now }
        }
    }

    // MARK: transport

    func bulkStart(_ f: Int) {
        let r = flowResults[f]
        sendMessage(from: r.src, to: r.dst, bytes: r.bytes, tag: UInt64(f), flow: Int32(f))
    }

    /// Open the connection from host `from` to host `to` now, unless it is open: its number (on
    /// the wire, its queue pair and source port) is its place in the order connections open, so
    /// one opened before the run has the same number whichever partition first sends on it. An
    /// application that runs in a parallel run opens its connections when it is attached (a
    /// `WorkloadRun` does, in the order of its sends); one opened during a parallel run is
    /// listed in `ParallelEmulation.unplannedConnections`.
    public func openConnection(from: Int, to: Int) {
        _ = connection(from: Int32(from), to: Int32(to))
    }

    func connection(from: Int32, to: Int32) -> Connection {
        let key = Int64(from) << 32 | Int64(to)
        if let c = connectionIndex[key] { return connections[Int(c)] }
        if slot != nil && started { unplannedConnections.append((from, to)) }
        let nicDir = hosts[Int(from)].nic
        let mtu = nicDir >= 0 ? dirs[Int(nicDir)].maxFrame - HostStack.ethernet : 1500
        let mss = max(64, mtu - HostStack.ipv4 - HostStack.udp - layout.overhead)
        let c = Connection(id: Int32(connections.count), src: from, dst: to, mss: mss,
                           initialWindowPackets: options.initialWindow, rto: max(VirtualTime(picoseconds: options.minRTO), Connection.minimumRTO))
        if let seed = options.sourcePortSeed {
            var r = SplitMix64(seed: seed ^ (UInt64(connections.count) &* 0x9E37_79B9_7F4A_7C15))
            c.sourcePort = 0xC000 | UInt16(truncatingIfNeeded: r.next() & 0x3FFF)
        }
        connections.append(c)
        connectionIndex[key] = c.id
        return c
    }

    func sendMessage(from: Int32, to: Int32, bytes: Int, tag: UInt64, flow: Int32, attachment: AnyObject? = nil, app: Int32 = -1) {
        let c = connection(from: from, to: to)
        c.sendLimit += UInt64(max(bytes, 1))
        c.messages.append(Connection.Message(end: c.sendLimit, bytes: bytes, tag: tag, queuedAt: now, flow: flow,
                                             attachment: attachment, app: app))
        // The receiver learns a bulk flow's message from the topology; an application's
        // message, when another partition runs the receiver, goes there beside its packets.
        if let slot, flow < 0, !slot.owns(hostNode(to)) { sendMessageAcross(c) }
        transmit(c)
    }

    /// Send what the window allows, as long as the NIC queue is below `hostQueueLimit`; a
    /// connection held back waits in its host's `held` list for the NIC to drain.
    func transmit(_ c: Connection) {
        let host = hosts[Int(c.src)]
        guard host.nic >= 0 else { return }
        let limit = options.hostQueueLimit > 0 ? options.hostQueueLimit : Int.max
        while c.canSend {
            if dirs[Int(host.nic)].queueBytes >= limit {
                if !c.held { c.held = true; host.held.append(c.id) }
                break
            }
            let seq = c.sndNxt
            let n = min(c.mss, Int(c.sendLimit - seq))
            // Messages end inside the stream: a packet never spans two of them.
            var last = false
            var msgEnd: UInt64 = 0
            var i = c.ackedMessages
            while i < c.messages.count && c.messages[i].end <= seq { i += 1 }
            var len = n
            var first = false
            if i < c.messages.count {
                msgEnd = c.messages[i].end
                if seq + UInt64(len) >= msgEnd { len = Int(msgEnd - seq); last = true }
                first = seq == (i > 0 ? c.messages[i - 1].end : 0)
            }
            sendTransport(c, type: TransportHeader.data, flags: last ? TransportHeader.lastFlag : 0, first: first,
                          seq: seq, second: msgEnd, timestamp: UInt64(now), payload: len)
            c.sndNxt = seq + UInt64(len)
            if c.sndNxt > c.sndMax { c.sndMax = c.sndNxt }
            c.packetsSent += 1
            let f = c.messages[min(i, c.messages.count - 1)].flow
            if f >= 0 { flowResults[Int(f)].packetsSent += 1 }
        }
        armTimer(c)
    }

    /// The NIC of a host drained (`transmitDone` on direction `nic`): let held connections
    /// send again, oldest first, while the queue stays below the limit.
    func resumeHeldConnections(nic d: Int) {
        let node = dirs[d].fromNode
        let h = hostOfNode[Int(node)]
        guard h >= 0, options.hostQueueLimit > 0, dirs[d].queueBytes < options.hostQueueLimit else { return }
        let host = hosts[Int(h)]
        while !host.held.isEmpty && dirs[d].queueBytes < options.hostQueueLimit {
            let c = connections[Int(host.held.removeFirst())]
            c.held = false
            transmit(c)
        }
    }

    func sendTransport(_ c: Connection, type: UInt8, flags: UInt8, first: Bool = false, seq: UInt64, second: UInt64, timestamp: UInt64, payload: Int) {
        let isData = type == TransportHeader.data
        let fromHost = isData ? c.src : c.dst
        let toHost = isData ? c.dst : c.src
        let host = hosts[Int(fromHost)], dst = hosts[Int(toHost)]
        guard host.nic >= 0 else { return }
        let p = pool.allocate()
        let udpPayload = layout.overhead + payload
        let b = pool.reset(p, length: HostStack.headers + udpPayload)
        host.ipID &+= 1
        HostStack.writeUDP(b, srcMAC: host.mac, dstMAC: dst.mac, srcIP: host.ipv4, dstIP: dst.ipv4,
                           srcPort: c.sourcePort, dstPort: layout.port,
                           tos: isData ? HostStack.ect0 : 0, id: host.ipID, payload: udpPayload)
        let psn: UInt32
        if isData { psn = c.psn; c.psn = (c.psn &+ 1) & 0xFF_FFFF } else { psn = c.ackPSN; c.ackPSN = (c.ackPSN &+ 1) & 0xFF_FFFF }
        layout.write(b + HostStack.headers, type: type, flags: flags, first: first, connection: c.id, psn: psn,
                     seq: seq, second: second, stamp: timestamp)
        pool.clearPayload(p, from: HostStack.headers + layout.header, to: HostStack.headers + udpPayload)
        enqueue(Int(host.nic), p)
    }

    func armTimer(_ c: Connection) {
        guard c.hasUnacked else { c.rtoDeadline = .never; return }
        if c.rtoDeadline == .never { c.rtoDeadline = clock.after(c.rto) }
        if !c.timerPending {
            c.timerPending = true
            events.push(c.rtoDeadline, .transportTimer, target: c.id)
        }
    }

    func transportTimer(_ id: Int) {
        let c = connections[id]
        c.timerPending = false
        guard c.hasUnacked, c.rtoDeadline != .never else { return }
        if clock < c.rtoDeadline {
            c.timerPending = true
            events.push(c.rtoDeadline, .transportTimer, target: c.id)
            return
        }
        c.onTimeout()
        c.rtoDeadline = .never
        transmit(c)
    }

    func transportReceive(host h: Int32, _ t: UnsafeMutablePointer<UInt8>, _ len: Int, ce: Bool) {
        let id = layout.connection(t)
        guard id >= 0, id < connections.count else { hosts[Int(h)].rxIgnored += 1; return }
        let c = connections[id]
        let seq = HostStack.get64(t + layout.seqAt)
        let second = HostStack.get64(t + layout.secondAt)
        let ts = HostStack.get64(t + layout.stampAt)
        let type = t[layout.typeAt]
        if type == TransportHeader.data {
            guard c.dst == h else { hosts[Int(h)].rxIgnored += 1; return }
            let n = len - layout.header
            if seq < c.rcvNxt { c.duplicatePackets += 1 } else if seq > c.rcvNxt { c.outOfOrderPackets += 1 }
            if seq == c.rcvNxt {
                c.deliveredPackets += 1
                c.rcvNxt += UInt64(n)
                while c.deliveredMessages < c.messages.count && c.messages[c.deliveredMessages].end <= c.rcvNxt {
                    c.deliveredMessages += 1
                    let m = c.messages[c.deliveredMessages - 1]
                    c.messages[c.deliveredMessages - 1].attachment = nil
                    deliver(c, m)
                }
                if let f = flowOf(c, seq), f >= 0 {
                    flowResults[f].packetsReceived += 1
                    flowResults[f].bytesReceived += n
                    if flowResults[f].firstArrival == nil { flowResults[f].firstArrival = now }
                    flowResults[f].lastArrival = now
                }
            }
            sendTransport(c, type: TransportHeader.ack, flags: ce ? TransportHeader.echoFlag : 0,
                          seq: 0, second: c.rcvNxt, timestamp: ts, payload: 0)
        } else if type == TransportHeader.ack {
            guard c.src == h else { hosts[Int(h)].rxIgnored += 1; return }
            let ack = second
            let marked = t[layout.flagsAt] & TransportHeader.echoFlag != 0
            // Up to the most ever sent: after a timeout rewinds `sndNxt`, an ack of data the
            // receiver already had (its ack was late, not lost) moves both forward.
            if ack > c.sndUna && ack <= c.sndMax {
                let acked = Int(ack - c.sndUna)
                c.sndUna = ack
                if c.sndNxt < ack { c.sndNxt = ack }
                c.dupAcks = 0
                c.rttSample(VirtualTime(picoseconds: now &- Int64(truncatingIfNeeded: ts)), minRTO: VirtualTime(picoseconds: options.minRTO))
                c.onAck(acked: acked, marked: marked)
                while c.ackedMessages < c.messages.count && c.messages[c.ackedMessages].end <= c.sndUna {
                    let m = c.messages[c.ackedMessages]
                    c.ackedMessages += 1
                    if m.flow >= 0 {
                        flowResults[Int(m.flow)].retransmittedBytes = c.retransmittedBytes
                    } else {
                        // Only the application that sent it.
                        apps[Int(m.app)].acknowledged(tag: m.tag, HostAPI(emulator: self, host: c.src, app: m.app))
                    }
                }
                c.rtoDeadline = c.hasUnacked ? clock.after(c.rto) : .never
                transmit(c)
            } else if ack == c.sndUna && c.hasUnacked {
                if marked { c.onAck(acked: 0, marked: true) }
                c.dupAcks += 1
                // One fast retransmit per window (NewReno's recovery point): the duplicates
                // that the rest of the lost window still causes must not rewind again, or
                // the retransmission keeps queueing behind its own resent copies.
                if c.dupAcks == 3 && c.sndUna >= c.recover {
                    c.recover = c.sndMax
                    c.onLoss()
                    transmit(c)
                }
            }
        } else {
            hosts[Int(h)].rxIgnored += 1
        }
    }

    /// The bulk flow the byte at `seq` belongs to, or nil.
    func flowOf(_ c: Connection, _ seq: UInt64) -> Int? {
        // A packet never spans two messages, so the one holding `seq` is the last delivered
        // (this packet completed it) or the next.
        var i = max(0, c.deliveredMessages - 1)
        while i < c.messages.count && c.messages[i].end <= seq { i += 1 }
        guard i < c.messages.count else { return nil }
        return Int(c.messages[i].flow)
    }

    func deliver(_ c: Connection, _ m: Connection.Message) {
        if m.flow >= 0 {
            flowResults[Int(m.flow)].completed = now
            return
        }
        let msg = ReceivedMessage(from: Int(c.src), bytes: m.bytes, tag: m.tag, sentAt: m.queuedAt, receivedAt: now,
                                  attachment: m.attachment)
        for a in applications[Int(c.dst)] { apps[Int(a)].received(msg, HostAPI(emulator: self, host: c.dst, app: a)) }
    }

    /// Only the application that set the timer (`app`) gets it.
    func appTimer(app: Int32, token: Int) {
        apps[Int(app)].timer(token, HostAPI(emulator: self, host: appHost[Int(app)], app: app))
    }
}
