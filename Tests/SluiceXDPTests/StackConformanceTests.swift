import SluiceControlPlane
import Foundation
import Testing
import Sluice
import SluiceEBPF
import SluiceIR
import SluiceRuntime
import SluiceTesting
import SluiceXDP

/// Header stacks and parser loops at XDP, differentially against the runtime: an MPLS label
/// stack of 3 parsed by a loop (`Extract(hdr.mpls.next)`, select on `hdr.mpls.last.bos`),
/// elements by index and by `.last`, push_front and pop_front (of 1 element up to the stack's whole
/// size), setValid/setInvalid on elements, overflow (StackOutOfBounds) and truncation
/// (PacketTooShort) dropping or continuing with the error code, egress parsing the stack again
/// from empty (unicast, and each multicast copy); and a loop with no stack, bounded only by the parser's step limit (ParserTimeout).
enum StackPrograms {
    static func mpls(_ reject: ParserRejectPolicy) -> SwitchProgram {
        Fixtures.mplsProgram(name: reject == .drop ? "mpls-stack" : "mpls-stack-continue", reject: reject) {
            if reject == .continue {
                If(standard.parserError != 0) { Assign(hdr.eth.type, standard.parserError) }
            }
            // What the parser left: each element's validity, .last's, .last's label, ...
            Assign(hdr.eth.src, hdr.mpls[0].isValid ++ hdr.mpls[1].isValid ++ hdr.mpls[2].isValid ++ hdr.mpls.last.isValid
                ++ hdr.mpls.last.label ++ hdr.mpls[0].ttl ++ hdr.mpls[2].label[15, 0])
            // The low nibble of the destination picks what to do to the stack.
            If(hdr.eth.dst[3, 0] == 1) {
                PushFront(hdr.mpls, 1); SetValid(hdr.mpls[0]); Assign(hdr.mpls[0].label, 77); Assign(hdr.mpls[0].ttl, 64)
            }
            If(hdr.eth.dst[3, 0] == 2) { PopFront(hdr.mpls, 1) }
            If(hdr.eth.dst[3, 0] == 3) { PopFront(hdr.mpls, 2) }
            If(hdr.eth.dst[3, 0] == 4) { PushFront(hdr.mpls, 2); SetValid(hdr.mpls[1]); Assign(hdr.mpls[1].label, hdr.mpls.last.label) }
            If(hdr.eth.dst[3, 0] == 5) { SetInvalid(hdr.mpls.last) }
            If(hdr.eth.dst[3, 0] == 6) { SetValid(hdr.mpls[2]); Assign(hdr.mpls[2].bos, 1) }
            If(hdr.eth.dst[3, 0] == 7) { PushFront(hdr.mpls, 1); Assign(hdr.mpls.last.tc, hdr.mpls.last.tc + 1) }
            If(hdr.eth.dst[3, 0] == 8) { PopFront(hdr.mpls, 3) }
            If(hdr.eth.dst[3, 0] == 9) { PushFront(hdr.mpls, 3); SetValid(hdr.mpls.last); Assign(hdr.mpls.last.label, 9) }
            If(hdr.eth.dst[3, 0] == 10) { SetValid(hdr.mpls.last); SetInvalid(hdr.mpls[0]) }
            // Copies: egress parses each one's stack again (the per-copy program at XDP).
            If(hdr.eth.dst[3, 0] == 11) { Assign(standard.mcastGrp, .bits(1, 16)) }
            // Every packet: .last's ttl (element 0's bytes when the stack is empty).
            Assign(hdr.mpls.last.ttl, hdr.mpls.last.ttl - 1)
            // ... and what the stack holds now, over the destination's upper 44 bits.
            Assign(hdr.eth.dst, hdr.mpls[0].isValid ++ hdr.mpls[1].isValid ++ hdr.mpls[2].isValid ++ hdr.mpls.last.isValid
                ++ hdr.mpls.last.label ++ hdr.mpls[1].ttl ++ hdr.mpls[0].label[11, 0] ++ hdr.eth.dst[3, 0])
            Assign(standard.egressSpec, 2)
        } egress: {
            // Parsed again from the deparsed bytes: the stack starts empty.
            Assign(hdr.mpls.last.tc, 7)
            Assign(hdr.mpls[0].label, hdr.mpls[0].label + 1)
            If(hdr.mpls[1].isValid) { Assign(hdr.mpls[1].ttl, hdr.mpls.last.ttl) }
        }
    }

    /// A loop with no stack: each state consumes a byte while the next is 0xFF. Only the
    /// parser's step bound ends a long run (ParserTimeout); the error goes in eth.type.
    static func run() -> SwitchProgram {
        SwitchProgram("ff-run") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            Header("eth", "eth_t")
            OnParserReject(.continue)
            Parser {
                State("start") {
                    Extract(hdr.eth)
                    Select(hdr.eth.type) { Case(0x88B5, next: "run"); Default(next: "accept") }
                }
                State("run") {
                    Advance(bits: 8)
                    Select(lookahead(8)) { Case(0xFF, next: "run"); Default(next: "accept") }
                }
            }
            Ingress {
                If(standard.parserError != 0) { Assign(hdr.eth.type, standard.parserError) }
                Assign(standard.egressSpec, 2)
            }
            Deparser { Emit(hdr.eth) }
        }
    }

    /// Checksums over a stack (each valid element, in order) after pushes and pops; the
    /// loop goes on while an element's `more` bit is set.
    static func checksum() -> SwitchProgram {
        SwitchProgram("stack-csum") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            HeaderType("c_t") { Field("csum", 16); Field("flags", 16) }
            HeaderType("w_t") { Field("more", 1); Field("v", 15); Field("x", 16) }
            Header("eth", "eth_t")
            Header("c", "c_t")
            HeaderStack("w", "w_t", size: 3)
            OnParserReject(.continue)
            Parser {
                State("start") {
                    Extract(hdr.eth)
                    Select(hdr.eth.type) { Case(0x88B6, next: "c"); Default(next: "accept") }
                }
                State("c") { Extract(hdr.c); Goto("w") }
                State("w") {
                    Extract(hdr.w.next)
                    Select(hdr.w.last.more) { Case(1, next: "w"); Default(next: "accept") }
                }
            }
            Ingress {
                VerifyChecksum(hdr.c.csum, over: hdr.c, hdr.w)
                Assign(hdr.eth.src, standard.checksumError.cast(32) ++ standard.parserError)
                If(hdr.eth.dst[1, 0] == 1) { PopFront(hdr.w, 1) }
                If(hdr.eth.dst[1, 0] == 2) { PushFront(hdr.w, 1); SetValid(hdr.w[0]); Assign(hdr.w[0].v, hdr.eth.dst[14, 0]) }
                If(hdr.eth.dst[1, 0] == 3) { SetInvalid(hdr.w.last) }
                UpdateChecksum(hdr.c.csum, over: hdr.c, hdr.w)
                Assign(standard.egressSpec, 2)
            }
            Deparser { Emit(hdr.eth); Emit(hdr.c); Emit(hdr.w) }
        }
    }

    /// The IR fuzzer's stack program: the start state loops (a metadata count per pass), a
    /// key-less table's default action pops, pushes and sets an element, ingress invalidates
    /// `.last` past 3 passes.
    static func tags() -> Program { Fixtures.stackTags(name: "stack-tags") }

    static func label(_ rng: inout SplitMix64, bos: Bool) -> [UInt8] {
        let l = UInt32(truncatingIfNeeded: rng.next()) & 0xFFFFF, tc = UInt8(rng.next() % 8), ttl = UInt8(truncatingIfNeeded: rng.next())
        return [UInt8(l >> 12), UInt8((l >> 4) & 0xFF), UInt8((l & 0xF) << 4) | (tc << 1) | (bos ? 1 : 0), ttl]
    }

    /// A random frame: the operation in the destination's low nibble, 0...5 labels (the last
    /// with bottom-of-stack, usually), a payload, sometimes cut short.
    struct MPLSPacket { var bytes: [UInt8]; var op: Int; var labels: Int; var mpls: Bool; var bosLast: Bool; var truncated: Bool }

    static func mplsPacket(_ rng: inout SplitMix64) -> MPLSPacket {
        let op = Int(rng.next() % 12)
        var p = (0..<12).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        p[5] = (p[5] & 0xF0) | UInt8(op)
        let mpls = rng.next() % 10 != 0
        p += mpls ? [0x88, 0x47] : [0x08, 0x00]
        let k = Int(rng.next() % 6)
        let bosLast = rng.next() % 10 != 0
        for i in 0..<k { p += label(&rng, bos: i == k - 1 && bosLast) }
        p += (0..<Int(rng.next() % 24)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var truncated = false
        if rng.next() % 8 == 0 && p.count > 14 {
            // With labels, the cut is inside them (before the last one's end).
            p = Array(p.prefix(14 + Int(rng.next() % UInt64(k > 0 ? min(p.count - 14, 4 * k) : p.count - 14))))
            truncated = true
        }
        return MPLSPacket(bytes: p, op: op, labels: k, mpls: mpls, bosLast: bosLast, truncated: truncated)
    }
}

@Suite struct StackCompileTests {
    @Test func stacksAndParserLoopsCompileWithABoundedStepCounter() throws {
        let c = try EBPFBackend.emitC(try StackPrograms.mpls(.drop).verified())
        #expect(c.contains("sl_nx_mpls"), "a next counter per stack")
        #expect(c.contains("++sl_steps > \(EBPFLayout.maxParserSteps + 1)"), "the loop is bounded")
        // The bound is the runtime's.
        let pl = try Pipeline(try StackPrograms.mpls(.drop).verified())
        #expect(pl.maxParserSteps == EBPFLayout.maxParserSteps)
        // A parser without a loop counts nothing.
        let flat = try EBPFBackend.emitC(try ExternConformanceTests.program().verified())
        #expect(!flat.contains("sl_steps"))
    }

    @Test func moreThan1024BytesOfHeadersToEmitAreRefused() throws {
        var p = StackPrograms.mpls(.drop).ir
        p.headers[1].stackSize = 64   // 256 bytes of labels, the most a stack has
        p.headerTypes.append(HeaderType("pad_t", fields: (0..<16).map { FieldDecl("w\($0)", 64) }))
        p.headers.append(HeaderInstance("pad", type: "pad_t", stackSize: 8))   // and 1,024 of padding
        p.deparser.emit.append("pad")
        let verified = try Verifier.verify(p)
        do throws(EBPFError) {
            _ = try EBPFBackend.emitC(verified)
            Issue.record("1,294 bytes of headers compiled")
        } catch {
            #expect(error.description.contains("1294 bytes") && error.description.contains("1024"), "\(error)")
        }
    }
}

@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct StackConformanceTests {
    static let seed: UInt64 = 0x5EED_57AC

    func code(_ e: StandardError) -> UInt16 { UInt16(StandardError.allCases.firstIndex(of: e)!) }

    @Test(arguments: [ParserRejectPolicy.drop, .continue])
    func mplsStacksAgreeWithTheRuntime(_ policy: ParserRejectPolicy) throws {
        print("StackConformanceTests seed \(Self.seed)")
        let ir = try StackPrograms.mpls(policy).verified()
        let runtime = try SwitchHarness(ir)
        let observer = try SwitchHarness(ir)   // the same program, for the runtime's bytes
        let xdp = try XDPProgram(ir)
        let members = [MulticastMember(port: 2, rid: 0), MulticastMember(port: 3, rid: 5)]
        try runtime.pipeline.setMulticastGroup(1, members)
        try observer.pipeline.setMulticastGroup(1, members)
        try XDPControlPlane(xdp).setMulticastGroup(1, members)
        var rng = SplitMix64(seed: Self.seed ^ (policy == .drop ? 0 : 1))
        let gen = (0..<4000).map { _ in StackPrograms.mplsPacket(&rng) }
        var d = Differential()
        try d.run(runtime, xdp, gen.map { ($0.bytes, 1) })
        print("\(ir.name): \(d.summary)")
        d.expectAgreement(ir.name)
        #expect(d.compared == 4000)

        // That the interesting cases occurred (and came out as the runtime says they must).
        var overflow = 0, overflowRejected = 0, truncated = 0, truncatedRejected = 0, pushes = 0, pops = 0, full = 0, codes: [UInt16: Int] = [:]
        for (i, g) in gen.enumerated() {
            try observer.send(g.bytes, port: 1)
            let out = observer.drain()
            #expect(out.map(\.port) == d.outPorts[i])
            let overflows = g.mpls && g.labels >= 4 && !g.truncated && g.bosLast
            let cut = g.mpls && g.truncated && g.labels > 0 && g.labels <= 3 && g.bosLast
            if overflows { overflow += 1 }
            if cut { truncated += 1 }
            if g.mpls && g.labels == 3 && g.bosLast && !g.truncated && !out.isEmpty { full += 1 }
            if policy == .drop {
                if overflows && out.isEmpty { overflowRejected += 1 }
                if cut && out.isEmpty { truncatedRejected += 1 }
            } else if let o = out.first {
                let c = UInt16(o.bytes[12]) << 8 | UInt16(o.bytes[13])
                codes[c, default: 0] += 1
                if overflows && c == code(.stackOutOfBounds) { overflowRejected += 1 }
                if cut && c == code(.packetTooShort) { truncatedRejected += 1 }
            }
            if g.mpls && g.labels > 0 && !out.isEmpty && !g.truncated {
                if [1, 4, 7, 9].contains(g.op) { pushes += 1 }
                if [2, 3, 8].contains(g.op) { pops += 1 }
            }
        }
        print("\(ir.name): \(overflow) overflowing stacks (\(overflowRejected) rejected with StackOutOfBounds), \(truncated) cut in the stack (\(truncatedRejected) PacketTooShort), \(full) full stacks, \(pushes) pushes and \(pops) pops forwarded; codes \(codes.sorted { $0.key < $1.key })")
        #expect(overflow > 300 && overflowRejected == overflow)
        #expect(truncated > 100 && truncatedRejected == truncated)
        #expect(full > 100 && pushes > 200 && pops > 200)
        if policy == .drop {
            #expect(d.forwarded > 1000 && d.dropped > 400 && d.multicast > 100)
        } else {
            #expect(d.forwarded + d.multicast == 4000 && d.multicast > 250)
            #expect((codes[code(.stackOutOfBounds)] ?? 0) > 300 && (codes[code(.packetTooShort)] ?? 0) > 100)
        }
    }

    @Test func checksumsOverAStackAgree() throws {
        print("StackConformanceTests seed \(Self.seed)")
        let ir = try StackPrograms.checksum().verified()
        let runtime = try SwitchHarness(ir)
        let observer = try SwitchHarness(ir)
        let xdp = try XDPProgram(ir)
        var rng = SplitMix64(seed: Self.seed ^ 3)
        var packets: [(bytes: [UInt8], port: UInt16)] = []
        for _ in 0..<1500 {
            var p = (0..<12).map { _ in UInt8(truncatingIfNeeded: rng.next()) } + [0x88, 0xB6]
            var c: [UInt8] = [0, 0, UInt8(truncatingIfNeeded: rng.next()), UInt8(truncatingIfNeeded: rng.next())]
            let k = 1 + Int(rng.next() % 4)   // 4: overflows
            var ws: [UInt8] = []
            for i in 0..<k {
                let more: UInt8 = i < k - 1 ? 0x80 : 0
                ws += [more | UInt8(rng.next() % 128), UInt8(truncatingIfNeeded: rng.next()), UInt8(truncatingIfNeeded: rng.next()), UInt8(truncatingIfNeeded: rng.next())]
            }
            if rng.next() % 2 == 0 {   // a right checksum, over c and the elements
                var sum: UInt32 = 0
                let all = c + ws
                for j in stride(from: 0, to: all.count, by: 2) { sum += UInt32(all[j]) << 8 | UInt32(all[j + 1]) }
                while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
                let cs = ~UInt16(sum)
                c[0] = UInt8(cs >> 8); c[1] = UInt8(cs & 0xFF)
            } else {
                c[0] = UInt8(truncatingIfNeeded: rng.next()); c[1] = UInt8(truncatingIfNeeded: rng.next())
            }
            p += c + ws + (0..<Int(rng.next() % 6)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            packets.append((p, 1))
        }
        var d = Differential()
        try d.run(runtime, xdp, packets)
        print("stack-csum: \(d.summary)")
        d.expectAgreement("stack-csum")
        var good = 0, bad = 0
        for p in packets {
            try observer.send(p.bytes, port: 1)
            guard let o = observer.drain().first else { continue }
            if o.bytes[11] == 0 && o.bytes[9] == 0 { good += 1 } else if o.bytes[9] == 1 { bad += 1 }
        }
        print("stack-csum: \(good) verified, \(bad) with a checksum error")
        #expect(d.forwarded == 1500 && good > 400 && bad > 400)
    }

    @Test func theFuzzersStackProgramAgrees() throws {
        print("StackConformanceTests seed \(Self.seed)")
        let ir = try Verifier.verify(StackPrograms.tags())
        let runtime = try SwitchHarness(ir)
        let xdp = try XDPProgram(ir)
        _ = try XDPControlPlane(xdp)   // writes the table's default action (shift 9)
        var rng = SplitMix64(seed: Self.seed ^ 4)
        var packets: [(bytes: [UInt8], port: UInt16)] = []
        for _ in 0..<2000 {
            // 1...5 tags, the `last` bit on the final one (usually), then the rest.
            let k = 1 + Int(rng.next() % 5)
            var p: [UInt8] = []
            for i in 0..<k { p += [UInt8(truncatingIfNeeded: rng.next()), UInt8(truncatingIfNeeded: rng.next()) & 0xFE | (i == k - 1 && rng.next() % 8 != 0 ? 1 : 0)] }
            // At least 15 bytes after the tags: what leaves is never under an Ethernet header's 14
            // (XDP cannot shrink a frame below that: bpf_xdp_adjust_head refuses).
            p += (0..<(15 + Int(rng.next() % 20))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            packets.append((p, 1))
        }
        var d = Differential()
        try d.run(runtime, xdp, packets)
        print("stack-tags: \(d.summary)")
        d.expectAgreement("stack-tags")
        #expect(d.forwarded > 800 && d.dropped > 200)
    }

    /// A stack of 16: the verifier follows 17 counter values through the loop and the controls.
    @Test func aStackOf16PassesTheVerifierAndAgrees() throws {
        print("StackConformanceTests seed \(Self.seed)")
        var mpls = StackPrograms.mpls(.drop).ir
        mpls.headers[1].stackSize = 16
        let ir = try Verifier.verify(mpls)
        let runtime = try SwitchHarness(ir)
        let xdp = try XDPProgram(ir)
        try runtime.pipeline.setMulticastGroup(1, [MulticastMember(port: 3, rid: 1)])
        try XDPControlPlane(xdp).setMulticastGroup(1, [MulticastMember(port: 3, rid: 1)])
        var rng = SplitMix64(seed: Self.seed ^ 5)
        var d = Differential()
        try d.run(runtime, xdp, (0..<1000).map { _ in (StackPrograms.mplsPacket(&rng).bytes, 1) })
        print("mpls-stack of 16: \(d.summary)")
        d.expectAgreement("mpls-stack of 16")
        #expect(d.forwarded > 500)
    }

    /// A loop no stack bounds: the step limit ends it at the same state in both backends.
    @Test func aParserLoopTimesOutAtTheRuntimesStepBound() throws {
        print("StackConformanceTests seed \(Self.seed)")
        let ir = try StackPrograms.run().verified()
        let runtime = try SwitchHarness(ir)
        let observer = try SwitchHarness(ir)
        let xdp = try XDPProgram(ir)
        var rng = SplitMix64(seed: Self.seed ^ 2)
        var packets: [(bytes: [UInt8], port: UInt16)] = [], runs: [Int] = []
        for i in 0..<600 {
            // Runs of 0xFF around the bound (and short ones), a terminator or the packet's end.
            let r = i % 3 == 0 ? Int(rng.next() % 40) : 240 + Int(rng.next() % 30)
            var p = (0..<12).map { _ in UInt8(truncatingIfNeeded: rng.next()) } + [0x88, 0xB5, UInt8(truncatingIfNeeded: rng.next())]
            p += [UInt8](repeating: 0xFF, count: r)
            if rng.next() % 4 != 0 { p += [0x00] + (0..<Int(rng.next() % 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
            packets.append((p, 1)); runs.append(r)
        }
        var d = Differential()
        try d.run(runtime, xdp, packets)
        print("ff-run: \(d.summary)")
        d.expectAgreement("ff-run")
        var timedOut: [Int] = [], passed: [Int] = [], tooShort = 0
        for (i, p) in packets.enumerated() {
            try observer.send(p.bytes, port: 1)
            guard let o = observer.drain().first else { Issue.record("packet \(i) dropped"); continue }
            let c = UInt16(o.bytes[12]) << 8 | UInt16(o.bytes[13])
            if c == code(.parserTimeout) { timedOut.append(runs[i]) } else if c == code(.packetTooShort) { tooShort += 1 } else { passed.append(runs[i]) }
        }
        print("ff-run: \(timedOut.count) timed out (runs \(timedOut.min() ?? -1)...), \(passed.count) parsed (runs ...\(passed.max() ?? -1)), \(tooShort) too short")
        // The bound is sharp: the longest run parsed is one shorter than the shortest timed out.
        #expect(timedOut.count > 100 && passed.count > 250 && tooShort > 20)
        #expect(timedOut.min()! == passed.max()! + 1)
    }
}
