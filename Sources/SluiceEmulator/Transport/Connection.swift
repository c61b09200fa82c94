/// The emulator's reliable transport, one connection per (source host, destination host)
/// pair and direction: a byte stream carrying messages, sent in MSS-sized UDP datagrams
/// shaped as `TransportShape` says (RoCEv2 by default: port 4791, a base transport header,
/// source port from the connection id), acknowledged packet by packet with cumulative ACKs.
///
/// - Loss recovery is go-back-N: three duplicate ACKs or a retransmission timeout (RFC 6298
///   estimator, `minRTO` floor, exponential backoff) resend from the first unacknowledged byte;
///   the receiver keeps only in-order data.
/// - Congestion control is DCTCP (RFC 8257): data is ECN-capable (ECT(0)); the receiver echoes
///   CE per packet; the sender keeps `alpha`, the EWMA (g = 1/16) of the fraction of marked bytes
///   per window, and cuts the window by alpha/2 once per window with marks. Slow start and
///   additive increase otherwise; a loss halves the window, a timeout resets it to one MSS.
final class Connection {
    let id: Int32
    let src: Int32   // host index
    let dst: Int32   // host index
    /// The highest `sndNxt` so far (a timeout rewinds `sndNxt`, not this).
    var sndMax: UInt64 = 0
    /// Until `sndUna` passes this, duplicate acks start no second fast retransmit.
    var recover: UInt64 = 0
    /// In its host's `held` list (the NIC queue was full when it could send).
    var held = false
    let mss: Int

    // Sender.
    var sndUna: UInt64 = 0
    var sndNxt: UInt64 = 0
    /// End of the bytes the application has queued.
    var sendLimit: UInt64 = 0
    var cwnd: Double
    var ssthresh = Double.greatestFiniteMagnitude
    var dupAcks = 0
    /// No second window cut before the ACK passes this point.
    var reduceEnd: UInt64 = 0
    var alpha = 1.0
    var ackedInWindow = 0
    var markedInWindow = 0
    var alphaWindowEnd: UInt64 = 0
    var srtt = VirtualTime.zero
    var rttvar = VirtualTime.zero
    var rto: VirtualTime
    var rtoDeadline = VirtualTime.never
    var timerPending = false

    // Receiver.
    var rcvNxt: UInt64 = 0

    /// Messages in stream order: the sender completes them as ACKs pass their end; the
    /// receiver delivers them as in-order data reaches their end.
    var messages: [Message] = []
    var ackedMessages = 0
    var deliveredMessages = 0

    // Counters.
    var packetsSent: UInt64 = 0
    /// RoCEv2 packet sequence numbers of the data and the ack direction (24 bits on the wire).
    var psn: UInt32 = 0
    var ackPSN: UInt32 = 0
    /// Receiver: data packets that arrived already delivered (a retransmission's copy) and
    /// packets that arrived ahead of a gap (dropped: go-back-N keeps only in-order data).
    var duplicatePackets: UInt64 = 0
    var outOfOrderPackets: UInt64 = 0
    var deliveredPackets: UInt64 = 0
    var retransmittedBytes: UInt64 = 0
    var timeouts: UInt64 = 0
    var fastRetransmits: UInt64 = 0
    var windowCuts: UInt64 = 0

    struct Message {
        var end: UInt64
        var bytes: Int
        var tag: UInt64
        var queuedAt: Int64
        /// Flow this message belongs to (bulk flows), or -1 for application messages.
        var flow: Int32
        /// What the application sent along (`HostAPI.send(...attachment:)`), until delivered.
        var attachment: AnyObject? = nil
        /// The application that sent it (its acknowledgement goes there); -1 for bulk flows.
        var app: Int32 = -1
    }

    /// UDP source port of its packets: 0xC000 | 14 bits (the queue pair's, as RoCEv2).
    var sourcePort: UInt16

    init(id: Int32, src: Int32, dst: Int32, mss: Int, initialWindowPackets: Int, rto: VirtualTime) {
        self.id = id; self.src = src; self.dst = dst; self.mss = mss
        sourcePort = 0xC000 | UInt16(truncatingIfNeeded: id & 0x3FFF)
        cwnd = Double(initialWindowPackets * mss)
        self.rto = rto
    }

    var hasUnacked: Bool { sndUna < sndNxt }

    /// Bytes the window allows to send now.
    @inline(__always) var canSend: Bool {
        sndNxt < sendLimit && Double(sndNxt - sndUna) + Double(min(mss, Int(sendLimit - sndNxt))) <= max(cwnd, Double(mss))
    }

    /// Update the RTT estimator with a sample (RFC 6298).
    func rttSample(_ r: VirtualTime, minRTO: VirtualTime) {
        if srtt == .zero { srtt = r; rttvar = r / 2 } else {
            rttvar = (3 * rttvar + VirtualTime(picoseconds: abs((srtt - r).picoseconds))) / 4
            srtt = (7 * srtt + r) / 8
        }
        rto = max(minRTO, srtt + max(4 * rttvar, Self.minimumRTO))
    }

    /// The smallest timeout and variance term, and the largest the timeout doubles to.
    static let minimumRTO = VirtualTime.microseconds(1)
    static let maximumRTO = VirtualTime.seconds(1)

    /// DCTCP's response to an ACK of `acked` new bytes, `marked` if it echoed CE.
    func onAck(acked: Int, marked: Bool, g: Double = 1.0 / 16.0) {
        ackedInWindow += acked
        if marked { markedInWindow += acked }
        if sndUna >= alphaWindowEnd {
            if ackedInWindow > 0 {
                alpha = (1 - g) * alpha + g * Double(markedInWindow) / Double(ackedInWindow)
            }
            ackedInWindow = 0; markedInWindow = 0
            alphaWindowEnd = sndNxt
        }
        if marked && sndUna > reduceEnd {
            cwnd = max(Double(mss), cwnd * (1 - alpha / 2))
            ssthresh = cwnd
            reduceEnd = sndNxt
            windowCuts += 1
        } else if cwnd < ssthresh {
            cwnd += Double(acked)
        } else {
            cwnd += Double(mss) * Double(acked) / cwnd
        }
    }

    /// Three duplicate ACKs: halve and go back.
    func onLoss() {
        if sndUna > reduceEnd {
            ssthresh = max(cwnd / 2, Double(2 * mss))
            cwnd = ssthresh
            reduceEnd = sndNxt
            windowCuts += 1
        }
        fastRetransmits += 1
        retransmittedBytes += sndNxt - sndUna
        sndNxt = sndUna
        dupAcks = 0
    }

    /// The retransmission timer fired with data outstanding.
    func onTimeout() {
        ssthresh = max(cwnd / 2, Double(2 * mss))
        cwnd = Double(mss)
        timeouts += 1
        retransmittedBytes += sndNxt - sndUna
        sndNxt = sndUna
        dupAcks = 0
        reduceEnd = sndNxt
        rto = min(2 * rto, Self.maximumRTO)
    }
}

/// What the transport's packets look like on the wire. Both shapes use UDP source port
/// 0xC000 | (connection id & 0x3FFF), the queue pair's port as RoCEv2 NICs pick it: the only
/// entropy ECMP sees.
public enum TransportShape: String, CaseIterable, Sendable {
    /// RoCEv2 (the default): UDP 4791, a 12-byte InfiniBand base transport header (RC SEND
    /// FIRST/MIDDLE/LAST/ONLY for data, ACKNOWLEDGE for acks; P_Key 0xFFFF; destination QP =
    /// 0x100 + the connection id; a PSN per packet, retransmissions included), then the transport's
    /// 28 bytes (type, flags, sequence, ack or message end, timestamp), the payload, and the
    /// 4-byte ICRC trailer (written as zero: not computed). Wireshark decodes it as RoCE.
    case rocev2
    /// Plain UDP to port 7471 with a compact 32-byte header: type, flags, 2 reserved, the
    /// connection id (4), sequence (8), ack or message end (8), timestamp echo (8).
    case udp
}

/// Where the transport's fields sit in the UDP payload, for one `TransportShape`.
struct TransportLayout {
    let shape: TransportShape
    let port: UInt16
    /// Header bytes before the payload, trailer bytes after it.
    let header: Int
    let trailer: Int
    let typeAt: Int, flagsAt: Int, seqAt: Int, secondAt: Int, stampAt: Int

    init(_ shape: TransportShape) {
        self.shape = shape
        switch shape {
        case .rocev2:
            port = 4791; header = 40; trailer = 4
            typeAt = 12; flagsAt = 13; seqAt = 16; secondAt = 24; stampAt = 32
        case .udp:
            port = 7471; header = 32; trailer = 0
            typeAt = 0; flagsAt = 1; seqAt = 8; secondAt = 16; stampAt = 24
        }
    }

    /// Bytes of header and trailer in the UDP payload.
    var overhead: Int { header + trailer }
    /// Queue pair numbers start here (QP 0 and 1 are InfiniBand's management queue pairs).
    static let firstQP: Int32 = 0x100

    /// Write the header at `t` (the UDP payload).
    @inline(__always) func write(_ t: UnsafeMutablePointer<UInt8>, type: UInt8, flags: UInt8, first: Bool, connection: Int32,
                                 psn: UInt32, seq: UInt64, second: UInt64, stamp: UInt64) {
        switch shape {
        case .rocev2:
            let last = flags & TransportHeader.lastFlag != 0
            // RC SEND FIRST 0x00, MIDDLE 0x01, LAST 0x02, ONLY 0x04; ACKNOWLEDGE 0x11.
            t[0] = type == TransportHeader.ack ? 0x11 : (first ? (last ? 0x04 : 0x00) : (last ? 0x02 : 0x01))
            t[1] = 0                                  // SE, M, pad count, transport version 0
            t[2] = 0xFF; t[3] = 0xFF                  // default P_Key
            t[4] = 0
            let qp = connection &+ Self.firstQP
            t[5] = UInt8(truncatingIfNeeded: qp >> 16); t[6] = UInt8(truncatingIfNeeded: qp >> 8)
            t[7] = UInt8(truncatingIfNeeded: qp)
            t[8] = last && type == TransportHeader.data ? 0x80 : 0   // AckReq on a message's last packet
            t[9] = UInt8(truncatingIfNeeded: psn >> 16); t[10] = UInt8(truncatingIfNeeded: psn >> 8); t[11] = UInt8(truncatingIfNeeded: psn)
            t[12] = type; t[13] = flags & (TransportHeader.lastFlag | TransportHeader.echoFlag); t[14] = 0; t[15] = 0
        case .udp:
            t[0] = type; t[1] = flags & (TransportHeader.lastFlag | TransportHeader.echoFlag); t[2] = 0; t[3] = 0
            HostStack.put32(t + 4, UInt32(bitPattern: connection))
        }
        HostStack.put64(t + seqAt, seq)
        HostStack.put64(t + secondAt, second)
        HostStack.put64(t + stampAt, stamp)
    }

    /// The connection id a header carries.
    @inline(__always) func connection(_ t: UnsafeMutablePointer<UInt8>) -> Int {
        switch shape {
        case .rocev2: (Int(t[5]) << 16 | Int(t[6]) << 8 | Int(t[7])) - Int(Self.firstQP)
        case .udp: Int(HostStack.get32(t + 4))
        }
    }
}

enum TransportHeader {
    static let data: UInt8 = 1
    static let ack: UInt8 = 2
    static let lastFlag: UInt8 = 1
    static let echoFlag: UInt8 = 2
}

/// The reliable transport's packet format, for computing bounds.
public enum TransportFormat {
    /// Bytes of its header and trailer inside the UDP payload.
    public static func overheadBytes(_ shape: TransportShape = .rocev2) -> Int { TransportLayout(shape).overhead }
    /// Payload bytes per packet for an IP MTU.
    public static func segmentBytes(mtu: Int, shape: TransportShape = .rocev2) -> Int { max(64, mtu - 20 - 8 - overheadBytes(shape)) }
    /// Payload efficiency on an Ethernet wire (24 bytes of FCS, preamble and gap a frame),
    /// counting the acknowledgement every data packet gets on the same wire in the other
    /// direction of its sender's link (as a host that both sends and acknowledges, in a ring).
    public static func efficiency(mtu: Int, countingAcks: Bool, shape: TransportShape = .rocev2) -> Double {
        let mss = segmentBytes(mtu: mtu, shape: shape)
        let data = 14 + 20 + 8 + overheadBytes(shape) + mss + 24
        let ack = 14 + 20 + 8 + overheadBytes(shape) + 24
        return Double(mss) / Double(data + (countingAcks ? ack : 0))
    }
}
