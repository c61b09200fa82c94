/// The emulator's reliable transport, one connection per (source host, destination host)
/// pair and direction: a byte stream carrying messages, sent in MSS-sized UDP datagrams
/// (destination port 4791, source port from the connection id, as RoCEv2 does), acknowledged
/// packet by packet with cumulative ACKs.
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
    var srtt: Int64 = 0
    var rttvar: Int64 = 0
    var rto: Int64
    var rtoDeadline = Int64.max
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
    }

    init(id: Int32, src: Int32, dst: Int32, mss: Int, initialWindowPackets: Int, rto: Int64) {
        self.id = id; self.src = src; self.dst = dst; self.mss = mss
        cwnd = Double(initialWindowPackets * mss)
        self.rto = rto
    }

    var hasUnacked: Bool { sndUna < sndNxt }

    /// Bytes the window allows to send now.
    @inline(__always) var canSend: Bool {
        sndNxt < sendLimit && Double(sndNxt - sndUna) + Double(min(mss, Int(sendLimit - sndNxt))) <= max(cwnd, Double(mss))
    }

    /// Update the RTT estimator with a sample (RFC 6298).
    func rttSample(_ r: Int64, minRTO: Int64) {
        if srtt == 0 { srtt = r; rttvar = r / 2 } else {
            rttvar = (3 * rttvar + abs(srtt - r)) / 4
            srtt = (7 * srtt + r) / 8
        }
        rto = max(minRTO, srtt + max(4 * rttvar, 1_000_000))
    }

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
        rto = min(rto * 2, 1_000_000_000_000)
    }
}

/// The transport's header, after UDP (32 bytes, big-endian):
/// type (1: data, 2: ack), flags (bit 0: last packet of a message; bit 1: ECN echo), 2 bytes
/// reserved, connection id (4), sequence (8), ack or message end (8), timestamp echo (8).
enum TransportHeader {
    static let size = 32
    static let port: UInt16 = 4791
    static let data: UInt8 = 1
    static let ack: UInt8 = 2
    static let lastFlag: UInt8 = 1
    static let echoFlag: UInt8 = 2
}

/// The reliable transport's packet format, for computing bounds.
public enum TransportFormat {
    /// Bytes of its header inside the UDP payload.
    public static let headerBytes = TransportHeader.size
    /// Payload bytes per packet for an IP MTU.
    public static func segmentBytes(mtu: Int) -> Int { max(64, mtu - 20 - 8 - TransportHeader.size) }
    /// Payload efficiency on an Ethernet wire (24 bytes of FCS, preamble and gap a frame),
    /// counting the acknowledgement every data packet gets on the same wire in the other
    /// direction of its sender's link (as a host that both sends and acknowledges, in a ring).
    public static func efficiency(mtu: Int, countingAcks: Bool) -> Double {
        let mss = segmentBytes(mtu: mtu)
        let data = 14 + 20 + 8 + TransportHeader.size + mss + 24
        let ack = 14 + 20 + 8 + TransportHeader.size + 24
        return Double(mss) / Double(data + (countingAcks ? ack : 0))
    }
}
