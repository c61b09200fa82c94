import Foundation
import SluiceTesting
import Testing

/// The independent oracle: scapy (Debian's python3-scapy, run by /usr/bin/python3) builds the
/// report packets from a description, with header classes written from the INT v2.1 and
/// Telemetry Report v2.0 specs (scapy 2.5 has no INT layer of its own). It prints each report's
/// UDP payload in hex and can write every frame to a pcap for tshark.
struct HopSpec: Codable, Equatable {
    var nodeID: UInt32 = 0
    var ingressPort: UInt16 = 0
    var egressPort: UInt16 = 0
    var hopLatency: UInt32 = 0
    var queueID: UInt8 = 0
    var queueOccupancy: UInt32 = 0
    var ingressTimestamp: UInt64 = 0
    var egressTimestamp: UInt64 = 0
    var level2Ingress: UInt32 = 0
    var level2Egress: UInt32 = 0
    var txUtilization: UInt32 = 0
    var bufferID: UInt8 = 0
    var bufferOccupancy: UInt32 = 0
    var checksum: UInt32 = 0
    var dropReason: UInt8 = 0
}

struct INTSpec: Codable {
    var bitmap: UInt16
    /// Defaults to what the bitmap needs.
    var hopML: Int?
    var rhc: UInt8 = 8
    var d = 0, e = 0, m = 0
    var domain: UInt16 = 0
    var dsInstruction: UInt16 = 0
    var dsFlags: UInt16 = 0
    /// Newest first, as on the wire.
    var hops: [HopSpec]
    /// Shim Length override (words); defaults to 3 + hops x HopML.
    var length: Int?
    var npt = 1
    var shimData: UInt16 = 0
    var version = 2
}

struct InnerSpec: Codable {
    var src = "10.0.0.1"
    var dst = "10.0.0.2"
    var sport: UInt16 = 5000
    var dport: UInt16 = 0x4568
    var proto = "udp"
    var dscp = 0
    var int: INTSpec?
    var payload = 16
    /// Keep only this many bytes of the frame (a truncated original packet).
    var truncate: Int?
}

struct IndividualSpec: Codable {
    var repType = 1
    var inType = 3
    var d = 0, q = 0, f = 1, i = 0
    var repMdBits: UInt16 = 0
    var domain: UInt16 = 0
    var dsMdBits: UInt16 = 0
    var dsMdStatus: UInt16 = 0
    var local = HopSpec()
    /// Overrides (words); -1 writes 0xFF (to the end of the payload).
    var repLen: Int?
    var mdLen: Int?
    var inner = InnerSpec()
}

struct ReportSpec: Codable {
    var version = 2
    var hwID: UInt8 = 0
    var seq: UInt32 = 0
    var nodeID: UInt32 = 0
    var reports: [IndividualSpec] = []
    /// Cut the UDP payload to this many bytes.
    var truncate: Int?
}

struct OracleRequest: Codable {
    var packets: [ReportSpec]
    var pcap: String?
    /// Also write each report's original packet as a frame of its own (for the INT-MD dissector).
    var innerFrames = false
    var reportPort: UInt16 = 32766
}

enum ScapyOracle {
    static let python = "/usr/bin/python3"

    static var available: Bool {
        guard FileManager.default.isExecutableFile(atPath: python),
              let r = try? ChildProcess.run(python, ["-c", "import scapy.all"], seconds: 60) else { return false }
        return r.status == 0
    }

    /// The UDP payloads scapy built, one per packet spec.
    static func build(_ request: OracleRequest) throws -> [[UInt8]] {
        let json = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        let r = try ChildProcess.run(python, ["-c", script, json], seconds: 120)
        guard r.status == 0 else { throw OracleError("scapy failed (\(r.status)): \(r.err)") }
        return r.out.split(separator: "\n").map { line in
            stride(from: 0, to: line.count, by: 2).map { i in
                let s = line.index(line.startIndex, offsetBy: i)
                return UInt8(line[s..<line.index(s, offsetBy: 2)], radix: 16)!
            }
        }
    }

    struct OracleError: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

    static let script = #"""
import sys, json, logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, IP, UDP, TCP, Raw, Packet, BitField, ByteField, ShortField, IntField, LongField, XShortField, wrpcap

class INTShim(Packet):
    name = "INT shim"
    fields_desc = [BitField("type", 1, 4), BitField("npt", 0, 2), BitField("rsvd", 0, 2), ByteField("length", 3), ShortField("data", 0)]

class INTMD(Packet):
    name = "INT-MD header"
    fields_desc = [BitField("ver", 2, 4), BitField("d", 0, 1), BitField("e", 0, 1), BitField("m", 0, 1), BitField("rsvd", 0, 12),
                   BitField("hop_ml", 0, 5), ByteField("rhc", 0), XShortField("bitmap", 0), ShortField("domain", 0),
                   XShortField("ds_instruction", 0), XShortField("ds_flags", 0)]

class GroupHeader(Packet):
    name = "Telemetry report group header"
    fields_desc = [BitField("ver", 2, 4), BitField("hw_id", 0, 6), BitField("seq", 0, 22), IntField("node_id", 0)]

class IndividualHeader(Packet):
    name = "Telemetry individual report"
    fields_desc = [BitField("rep_type", 1, 4), BitField("in_type", 3, 4), ByteField("rep_len", 0), ByteField("md_len", 0),
                   BitField("d", 0, 1), BitField("q", 0, 1), BitField("f", 0, 1), BitField("i", 0, 1), BitField("rsvd", 0, 4)]

class INTReportMain(Packet):
    name = "INT report contents"
    fields_desc = [XShortField("rep_md_bits", 0), ShortField("domain", 0), XShortField("ds_md_bits", 0), XShortField("ds_md_status", 0)]

# Per-hop metadata in bitmap order (INT v2.1 section 4.8 table; bit 0 = 0x8000).
def metadata(bitmap, h, report):
    f = []
    if bitmap & 0x8000: f.append(IntField("node_id", 0 if report else h["nodeID"]))
    if bitmap & 0x4000: f += [ShortField("ingress_port", h["ingressPort"]), ShortField("egress_port", h["egressPort"])]
    if bitmap & 0x2000: f.append(IntField("hop_latency", h["hopLatency"]))
    if bitmap & 0x1000: f += [ByteField("queue_id", h["queueID"]), BitField("queue_occupancy", h["queueOccupancy"], 24)]
    if bitmap & 0x0800: f.append(LongField("ingress_ts", h["ingressTimestamp"]))
    if bitmap & 0x0400: f.append(LongField("egress_ts", h["egressTimestamp"]))
    if bitmap & 0x0200: f += [IntField("l2_ingress", h["level2Ingress"]), IntField("l2_egress", h["level2Egress"])]
    if bitmap & 0x0100: f.append(IntField("tx_util", h["txUtilization"]))
    if bitmap & 0x0080: f += [ByteField("buffer_id", h["bufferID"]), BitField("buffer_occupancy", h["bufferOccupancy"], 24)]
    for b in range(9, 15):
        if bitmap & (1 << (15 - b)): f.append(IntField("reserved%d" % b, 0))
    if bitmap & 0x0001:
        if report: f += [ByteField("queue_id2", h["queueID"]), ByteField("drop_reason", h["dropReason"]), ShortField("pad", 0)]
        else: f.append(IntField("checksum", h["checksum"]))
    cls = type("HopMetadata", (Packet,), {"fields_desc": f, "name": "hop metadata"})
    return bytes(cls())

def words(bitmap):
    return sum((2 if 4 <= b <= 6 else 1) for b in range(16) if bitmap & (1 << (15 - b)))

def inner_frame(s):
    l3 = IP(src=s["src"], dst=s["dst"], tos=s["dscp"] << 2)
    payload = Raw(b"\xab" * s["payload"])
    i = s.get("int")
    int_bytes = b""
    if i is not None:
        hop_ml = i.get("hopML")
        if hop_ml is None: hop_ml = words(i["bitmap"])
        stack = b"".join(metadata(i["bitmap"], h, False) for h in i["hops"])
        length = i.get("length")
        if length is None: length = 3 + len(stack) // 4
        int_bytes = bytes(INTShim(type=1, npt=i["npt"], length=length, data=i["shimData"])) + \
            bytes(INTMD(ver=i["version"], d=i["d"], e=i["e"], m=i["m"], hop_ml=hop_ml, rhc=i["rhc"], bitmap=i["bitmap"],
                        domain=i["domain"], ds_instruction=i["dsInstruction"], ds_flags=i["dsFlags"])) + stack
    if s["proto"] == "udp":
        frame = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / l3 / UDP(sport=s["sport"], dport=s["dport"]) / Raw(int_bytes) / payload
    else:
        frame = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / l3 / TCP(sport=s["sport"], dport=s["dport"]) / Raw(int_bytes) / payload
    b = bytes(frame)
    if s.get("truncate") is not None: b = b[:s["truncate"]]
    return b

req = json.loads(sys.argv[1])
frames = []
for p in req["packets"]:
    out = bytes(GroupHeader(ver=p["version"], hw_id=p["hwID"], seq=p["seq"], node_id=p["nodeID"]))
    for r in p["reports"]:
        inner = inner_frame(r["inner"])
        if req["innerFrames"]: frames.append(Ether(inner))
        inner_padded = inner + b"\x00" * ((-len(inner)) % 4)
        md = b""
        main = b""
        if r["repType"] == 1:
            md = metadata(r["repMdBits"], r["local"], True)
            main = bytes(INTReportMain(rep_md_bits=r["repMdBits"], domain=r["domain"], ds_md_bits=r["dsMdBits"], ds_md_status=r["dsMdStatus"]))
        md_len = r.get("mdLen")
        if md_len is None: md_len = len(md) // 4
        rep_len = r.get("repLen")
        if rep_len is None: rep_len = (len(main) + len(md) + len(inner_padded)) // 4
        if rep_len == -1: rep_len = 0xFF
        out += bytes(IndividualHeader(rep_type=r["repType"], in_type=r["inType"], rep_len=rep_len, md_len=md_len,
                                      d=r["d"], q=r["q"], f=r["f"], i=r["i"])) + main + md + inner_padded
    if p.get("truncate") is not None: out = out[:p["truncate"]]
    print(out.hex())
    frames.append(Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") / IP(src="10.0.0.9", dst="10.0.0.10") /
                  UDP(sport=40001, dport=req["reportPort"]) / Raw(out))
if req.get("pcap"): wrpcap(req["pcap"], frames)
"""#
}
