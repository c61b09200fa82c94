import Foundation
import Testing
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// An independent decoder: scapy reads what `int-md` wrote on the chain of `INTTests` (Ethernet,
/// IPv4 and UDP with its own checksum code; the INT shim, INT-MD header, per-hop metadata and
/// the Telemetry Report with scapy layers declared below from the v2.1 and v2.0 layouts).
/// Released scapy (Debian's 2.5.0; 2.6.1 and 2.8.0 on PyPI) has no `scapy.contrib.int`, so the
/// INT layers are declared here, field by field; scapy does the bit packing.
@Suite struct INTScapyTests {
    /// The Python with Debian's python3-scapy (`.ci/run` installs it).
    static let python = "/usr/bin/python3"

    static let decoder = #"""
        import json, sys
        from scapy.all import Ether, IP, UDP, Packet, BitField, ByteField, ShortField, IntField, LongField, raw

        class Shim(Packet):
            fields_desc = [BitField("type", 0, 4), BitField("npt", 0, 2), BitField("r0", 0, 2), ByteField("length", 0),
                           ByteField("r1", 0), BitField("dscp", 0, 6), BitField("r2", 0, 2)]
        class MD(Packet):
            fields_desc = [BitField("version", 0, 4), BitField("d", 0, 1), BitField("e", 0, 1), BitField("m", 0, 1),
                           BitField("reserved", 0, 12), BitField("hop_ml", 0, 5), ByteField("remaining", 0),
                           ShortField("bitmap", 0), ShortField("ds_id", 0), ShortField("ds_instruction", 0), ShortField("ds_flags", 0)]
        class Group(Packet):
            fields_desc = [BitField("version", 0, 4), BitField("hw_id", 0, 6), BitField("sequence", 0, 22), IntField("node_id", 0)]
        class Individual(Packet):
            fields_desc = [BitField("rep_type", 0, 4), BitField("in_type", 0, 4), ByteField("length", 0), ByteField("md_length", 0),
                           BitField("d", 0, 1), BitField("q", 0, 1), BitField("f", 0, 1), BitField("i", 0, 1), BitField("r", 0, 4),
                           ShortField("rep_md_bits", 0), ShortField("ds_id", 0), ShortField("ds_md_bits", 0), ShortField("ds_md_status", 0)]

        # Per-hop metadata in bitmap order: (bit, scapy fields).
        ITEMS = [(0, [IntField("node", 0)]), (1, [ShortField("l1_in", 0), ShortField("l1_out", 0)]), (2, [IntField("latency", 0)]),
                 (3, [ByteField("queue_id", 0), BitField("occupancy", 0, 24)]), (4, [LongField("ingress_ts", 0)]),
                 (5, [LongField("egress_ts", 0)]), (6, [IntField("l2_in", 0), IntField("l2_out", 0)]), (7, [IntField("tx", 0)]),
                 (8, [ByteField("buffer_id", 0), BitField("buffer", 0, 24)])] + \
                [(b, [IntField("reserved%d" % b, 0)]) for b in range(9, 15)] + [(15, [ShortField("zero", 0), ShortField("complement", 0)])]

        def hop_layer(bitmap):
            fields = [f for bit, fs in ITEMS if bitmap & (0x8000 >> bit) for f in fs]
            return type("Hop%04x" % bitmap, (Packet,), {"fields_desc": fields})

        def fields(p):
            return {f.name: p.getfieldval(f.name) for f in p.fields_desc}

        def ones_sum(b):
            s = sum((b[i] << 8 | b[i + 1]) for i in range(0, len(b), 2))
            while s > 0xFFFF: s = (s & 0xFFFF) + (s >> 16)
            return s

        def checksums(frame):
            p = Ether(frame)
            again = p.copy()
            del again[IP].chksum
            ok = {"ip": Ether(raw(again))[IP].chksum == p[IP].chksum}
            if p[UDP].chksum != 0 and p[IP].len == len(raw(p[IP])):
                del again[UDP].chksum
                ok["udp"] = Ether(raw(again))[UDP].chksum == p[UDP].chksum
            return ok

        def int_block(b, dscp_only=False):
            shim = Shim(b[:4]); md = MD(b[4:16])
            hops, at, size = [], 16, md.hop_ml * 4
            while at + size <= min(4 + shim.length * 4, len(b)):
                chunk = b[at:at + size]
                h = fields(hop_layer(md.bitmap)(chunk))
                if md.bitmap & 1: h["sums_to_zero"] = ones_sum(chunk) == 0xFFFF
                hops.append(h); at += size
            return {"shim": fields(shim), "md": fields(md), "hops": hops, "rest": len(b) - at}

        out = []
        for line in sys.stdin:
            kind, hexbytes = line.split()
            frame = bytes.fromhex(hexbytes)
            p = Ether(frame)
            d = {"kind": kind, "ip": {"dscp": p[IP].tos >> 2, "ecn": p[IP].tos & 3, "ttl": p[IP].ttl, "len": p[IP].len},
                 "udp": {"len": p[UDP].len, "sport": p[UDP].sport, "dport": p[UDP].dport, "chksum": p[UDP].chksum}}
            d["checksums"] = checksums(frame)
            payload = raw(p[UDP].payload)
            if kind == "report":
                g = Group(payload[:8]); ind = Individual(payload[8:20])
                d["group"] = fields(g); d["individual"] = fields(ind)
                md = payload[20:20 + 4 * ind.md_length]
                d["metadata"] = fields(hop_layer(ind.rep_md_bits)(md))
                inner = Ether(payload[20 + 4 * ind.md_length:])
                d["inner"] = {"dscp": inner[IP].tos >> 2, "bytes": len(raw(inner))}
                d["inner_int"] = int_block(raw(inner[UDP].payload))
            elif p[IP].tos >> 2 == 0x17:
                d["int"] = int_block(payload)
            else:
                d["payload"] = payload.hex()
            out.append(d)
        json.dump(out, sys.stdout)
        """#

    /// Decode frames (kind, bytes) with scapy.
    static func scapy(_ frames: [(String, [UInt8])]) throws -> [[String: Any]] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-int-scapy-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = dir.appendingPathComponent("decode.py"), input = dir.appendingPathComponent("frames.txt")
        try decoder.write(to: script, atomically: true, encoding: .utf8)
        try frames.map { "\($0.0) \($0.1.map { String(format: "%02x", $0) }.joined())" }.joined(separator: "\n")
            .write(to: input, atomically: true, encoding: .utf8)
        let r = try ChildProcess.run("/bin/sh", ["-c", "\(python) \(script.path) < \(input.path)"])
        try #require(r.status == 0, "scapy decoder failed (python3-scapy installed?): \(r.err)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
    }

    static func int(_ d: [String: Any], _ path: String...) -> Int? {
        var v: Any? = d
        for k in path { v = (v as? [String: Any])?[k] }
        return (v as? NSNumber)?.intValue
    }

    @Test func scapyReadsSourceTransitSinkAndReport() throws {
        let hops = INTTests.chain()
        var bytes = INTTests.original().bytes
        var frames: [(String, [UInt8])] = []
        for hop in hops.dropLast() {
            bytes = try INTTests.Switch(hop, entries: INTTests.entries(hop)).run(bytes)[0].bytes
            frames.append(("s\(hop.node)", bytes))
        }
        let sink = try INTTests.Switch(hops[3], entries: INTTests.entries(hops[3])).run(bytes)
        frames.append(("host", sink[0].bytes))
        frames.append(("report", sink[1].bytes))
        let d = try Self.scapy(frames)
        try #require(d.count == 5)

        for (i, hop) in hops.dropLast().enumerated() {
            let f = d[i]
            #expect(f["checksums"] as? [String: Bool] == ["ip": true, "udp": true], "after S\(hop.node)")
            #expect(Self.int(f, "ip", "dscp") == 0x17 && Self.int(f, "ip", "ecn") == 1)
            let block = try #require(f["int"] as? [String: Any])
            #expect(Self.int(block, "shim", "type") == 1 && Self.int(block, "shim", "npt") == 0 && Self.int(block, "shim", "dscp") == 10)
            #expect(Self.int(block, "shim", "length") == 3 + 13 * (i + 1))
            #expect(Self.int(block, "md", "version") == 2 && Self.int(block, "md", "hop_ml") == 13 && Self.int(block, "md", "bitmap") == 0xFF81)
            #expect(Self.int(block, "md", "remaining") == 7 - i && Self.int(block, "md", "e") == 0 && Self.int(block, "md", "m") == 0)
            #expect(Self.int(block, "rest") == 64, "the original payload follows the stack")
            let stack = try #require(block["hops"] as? [[String: Any]])
            #expect(stack.map { Self.int($0, "node") } == hops.prefix(i + 1).reversed().map { Int($0.node) })
            let newest = stack[0]
            #expect(Self.int(newest, "l1_in") == Int(hop.inPort) && Self.int(newest, "l1_out") == Int(hop.outPort))
            #expect(Self.int(newest, "l2_in") == Int(hop.inPort) && Self.int(newest, "l2_out") == Int(hop.outPort))
            #expect(Self.int(newest, "occupancy") == Int(hop.queue.enqQdepth) && Self.int(newest, "queue_id") == 0)
            #expect(Self.int(newest, "ingress_ts") == Int(hop.arrival))
            let latency = Int(hop.queue.enqTimestamp) - Int(hop.arrival) + Int(hop.queue.deqTimedelta)
            #expect(Self.int(newest, "latency") == latency && Self.int(newest, "egress_ts") == Int(hop.arrival) + latency)
            #expect(Self.int(newest, "buffer") == Int(min(hop.queue.deqBufferDepth, 0xFF_FFFF)) && Self.int(newest, "buffer_id") == 0)
            #expect(stack.allSatisfy { $0["sums_to_zero"] as? Bool == true })
        }
        let host = d[3]
        #expect(host["checksums"] as? [String: Bool] == ["ip": true, "udp": true])
        #expect(Self.int(host, "ip", "dscp") == 10 && Self.int(host, "ip", "ecn") == 1 && Self.int(host, "udp", "len") == 8 + 64)
        #expect(host["payload"] as? String == INTTests.payload.map { String(format: "%02x", $0) }.joined())

        let report = d[4]
        #expect(report["checksums"] as? [String: Bool] == ["ip": true], "UDP checksum 0 in reports")
        #expect(Self.int(report, "udp", "dport") == Int(INTTests.collectorPort) && Self.int(report, "udp", "chksum") == 0)
        #expect(Self.int(report, "group", "version") == 2 && Self.int(report, "group", "sequence") == 0 && Self.int(report, "group", "node_id") == 4)
        #expect(Self.int(report, "individual", "rep_type") == 1 && Self.int(report, "individual", "in_type") == 3)
        #expect(Self.int(report, "individual", "md_length") == 11 && Self.int(report, "individual", "length") == (8 + 44 + 128) / 4)
        #expect(Self.int(report, "individual", "f") == 1 && Self.int(report, "individual", "rep_md_bits") == 0x7F80)
        #expect(Self.int(report, "metadata", "l1_in") == 7 && Self.int(report, "metadata", "l1_out") == 9)
        #expect(Self.int(report, "metadata", "occupancy") == Int(INTTests.reportQueue.enqQdepth))
        #expect(Self.int(report, "inner", "dscp") == 0x17 && Self.int(report, "inner", "bytes") == 128)
        let inner = try #require(report["inner_int"] as? [String: Any])
        // Truncated to 128 bytes: the inner packet's headers, shim, header and S3's 52 bytes (the
        // newest hop), then 18 bytes of S2's.
        #expect(Self.int(inner, "shim", "length") == 3 + 3 * 13)
        #expect((inner["hops"] as? [[String: Any]])?.map { Self.int($0, "node") } == [3])
        #expect(Self.int(inner, "rest") == 128 - 42 - 16 - 52)
    }

    @Test func scapyReadsTheEAndMBits() throws {
        let e = try INTTests().runChain(INTTests.chain()) { INTTests.entries($0, hops: 2) }
        let m = try INTTests().runChain(INTTests.chain(mtu2: 200)) { INTTests.entries($0) }
        let d = try Self.scapy([("e", e.links[2]), ("m", m.links[1])])
        let eb = try #require(d[0]["int"] as? [String: Any]), mb = try #require(d[1]["int"] as? [String: Any])
        #expect(Self.int(eb, "md", "e") == 1 && Self.int(eb, "md", "remaining") == 0 && (eb["hops"] as? [Any])?.count == 2)
        #expect(Self.int(mb, "md", "m") == 1 && Self.int(mb, "md", "remaining") == 7 && (mb["hops"] as? [Any])?.count == 1)
        #expect(d.allSatisfy { $0["checksums"] as? [String: Bool] == ["ip": true, "udp": true] })
    }
}
