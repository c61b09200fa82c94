import CBPF
import Foundation
import SluiceEBPF
import SluiceIR

/// A Sluice program loaded into the kernel: the object compiled from `EBPFBackend`'s C, its
/// maps, and its XDP program. Loading runs the kernel verifier; its log is in the error when
/// it refuses. Closing (deinit) unloads what is not attached.
public final class XDPProgram {
    public let program: Program
    public let layout: EBPFLayout
    let object: OpaquePointer
    public let programFD: Int32
    /// The per-copy program of multicast (`sluice_copy`), or -1.
    public let copyFD: Int32
    /// What BPF_PROG_TEST_RUN runs: the pipeline itself (stateful programs' entry only hands
    /// packets to CPU 0), with the test clock for programs that read the time.
    public let testFD: Int32
    /// The per-copy program for BPF_PROG_TEST_RUN (`sluice_test_copy`), or -1.
    public let testCopyFD: Int32
    /// Multicast groups: DEVMAP slot and members; ports' interfaces once attached.
    var groups: [UInt16: (slot: Int, members: [(port: UInt16, rid: UInt16)])] = [:]
    var interfaces: [UInt16: UInt32] = [:]
    /// The interfaces this object attached to (detached on `detachAll` and at deinit).
    public private(set) var attached: [(ifindex: Int32, flags: UInt32)] = []
    /// Whether `attach` has said that native multicast copies go without XDP metadata here.
    var warnedNoMetadata = false
    /// The names of the interfaces in `attached`, by ifindex.
    var attachedNames: [Int32: String] = [:]

    /// Generate C for `program`, compile it with clang and load it (needs root or CAP_BPF).
    public convenience init(_ program: VerifiedProgram) throws {
        let c = try EBPFBackend.emitC(program)
        let obj = try Self.compiled(c, name: program.name)
        defer { try? FileManager.default.removeItem(atPath: obj.dir) }
        try self.init(program, object: obj.path)
    }

    /// C `source` compiled by clang into an object in a temporary directory of its own (the
    /// caller removes `dir`).
    static func compiled(_ source: String, name: String) throws -> (path: String, dir: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-xdp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("\(name).o").path
        do { try EBPFObjectCompiler.compile(source: source, output: path, defines: KernelFeatures.defines) } catch {
            try? FileManager.default.removeItem(at: dir)
            throw error
        }
        return (path, dir.path)
    }

    /// The kernel's log of a load (the verifier writes there).
    final class LoadLog {
        let buffer: UnsafeMutablePointer<CChar>, size: Int
        init(size: Int) {
            self.size = size
            buffer = .allocate(capacity: size)
            buffer[0] = 0
        }
        deinit { buffer.deallocate() }
        var text: String { String(cString: buffer) }
    }

    /// The object at `path` opened by libbpf (not loaded yet), its load to be logged in `log`;
    /// `what` names it in the error.
    static func open(_ path: String, log: LoadLog, what: String) throws -> OpaquePointer {
        guard let obj = sluice_bpf_open(path, log.buffer, log.size), libbpf_get_error(UnsafeRawPointer(obj)) == 0 else {
            throw XDPError("\(what): libbpf cannot open the object (\(String(cString: strerror(errno))))")
        }
        return obj
    }

    /// Load an object `EBPFObjectCompiler` made from `program`.
    public init(_ program: VerifiedProgram, object path: String) throws {
        self.program = program.program
        layout = try EBPFLayout(program)
        let log = LoadLog(size: 1 << 22)
        let obj = try Self.open(path, log: log, what: path)
        let rc = bpf_object__load(obj)
        if rc != 0 {
            let text = log.text
            bpf_object__close(obj)
            let why = rc == -Int32(EPERM) ? " (loading BPF needs root or CAP_BPF and CAP_NET_ADMIN)" : ""
            let tail = text.count > 6000 ? "…" + String(text.suffix(6000)) : text
            throw XDPError("the kernel refused program '\(program.name)': \(String(cString: strerror(-rc)))\(why)\(tail.isEmpty ? "" : "\nverifier log:\n" + tail)")
        }
        object = obj
        guard let prog = bpf_object__find_program_by_name(obj, "sluice_" + EBPFLayout.ident(program.name)) ?? bpf_object__next_program(obj, nil) else {
            bpf_object__close(obj)
            throw XDPError("\(path): no program in the object")
        }
        programFD = bpf_program__fd(prog)
        copyFD = bpf_object__find_program_by_name(obj, "sluice_copy").map { bpf_program__fd($0) } ?? -1
        testFD = bpf_object__find_program_by_name(obj, "sluice_test").map { bpf_program__fd($0) } ?? programFD
        testCopyFD = bpf_object__find_program_by_name(obj, "sluice_test_copy").map { bpf_program__fd($0) } ?? -1
        // Stateful programs run on CPU 0: the entry point hands packets over through a CPUMAP.
        if let cpu = bpf_object__find_program_by_name(obj, "sluice_cpu"), let m = bpf_object__find_map_by_name(obj, "sluice_cpus") {
            var key: UInt32 = 0
            var value = (UInt32(2048), bpf_program__fd(cpu))   // struct bpf_cpumap_val: qsize, program fd
            guard bpf_map_update_elem(bpf_map__fd(m), &key, &value, 0) == 0 else {
                let e = String(cString: strerror(errno))
                bpf_object__close(obj)
                throw XDPError("program '\(program.name)': cannot set up the CPUMAP that serializes it: \(e)")
            }
        }
    }

    deinit {
        detachAll()
        bpf_object__close(object)
    }

    /// The file descriptor of map `name`.
    public func map(_ name: String) throws -> (fd: Int32, keySize: Int, valueSize: Int) {
        guard let m = bpf_object__find_map_by_name(object, name) else {
            throw XDPError("program '\(program.name)' has no map '\(name)'")
        }
        return (bpf_map__fd(m), Int(bpf_map__key_size(m)), Int(bpf_map__value_size(m)))
    }

    /// CPUs the kernel can have (per-CPU maps hold one value each).
    public static var possibleCPUs: Int { Int(max(1, libbpf_num_possible_cpus())) }

    // MARK: running packets without a device

    public struct RunResult: Sendable {
        /// The XDP action returned (XDP_DROP 1, XDP_TX 3, XDP_REDIRECT 4, XDP_ABORTED 0).
        public var action: UInt32
        /// What the program decided (`EBPFVerdict`) and for which port.
        public var verdict: UInt32
        public var port: UInt32
        /// The packet as the program left it.
        public var bytes: [UInt8]
        /// Average nanoseconds per run (with `repeat`).
        public var nanoseconds: UInt32
        public var forwarded: Bool { verdict == EBPFVerdict.forward.rawValue }
    }

    /// Run `packet` through the program with BPF_PROG_TEST_RUN, as if it arrived on Sluice
    /// port `port` at `timestamp` (nanoseconds, as the runtime's `process` takes it; nil: the
    /// kernel's clock). Frames shorter than 14 bytes cannot be run (the kernel wants an
    /// Ethernet header): an error says so.
    public func run(_ packet: [UInt8], port: UInt16, repeat: UInt32 = 1, timestamp: UInt64? = nil) throws -> RunResult {
        guard packet.count >= 14 else { throw XDPError("a \(packet.count)-byte frame: BPF_PROG_TEST_RUN takes at least 14 bytes") }
        // Test runs arrive on the namespace's loopback (interface 1; 0 on older kernels): map
        // both to the ingress port.
        try updatePorts(ifindex: 0, port: UInt32(port))
        try updatePorts(ifindex: 1, port: UInt32(port))
        if layout.facts.usesTimestamps, let clock = try? map(EBPFLayout.testClockMap) {
            var k: UInt32 = 0
            var v: (UInt64, UInt64) = (timestamp == nil ? 0 : 1, timestamp ?? 0)
            guard bpf_map_update_elem(clock.fd, &k, &v, 0) == 0 else { throw XDPError("\(EBPFLayout.testClockMap): \(String(cString: strerror(errno)))") }
        }
        try clearOutcome()
        let (action, bytes, duration) = try testRun(testFD, packet, repeat: `repeat`)
        let (verdict, outPort) = try outcome()
        return RunResult(action: action, verdict: verdict, port: outPort, bytes: bytes, nanoseconds: duration)
    }

    /// BPF_PROG_TEST_RUN of program `fd` on `packet`: the XDP action, the packet out (without
    /// the XDP metadata the program may have put in front) and the nanoseconds per run.
    func testRun(_ fd: Int32, _ packet: [UInt8], repeat: UInt32 = 1) throws -> (UInt32, [UInt8], UInt32) {
        try Self.testRun(fd: fd, packet, repeat: `repeat`)
    }

    static func testRun(fd: Int32, _ packet: [UInt8], repeat: UInt32 = 1) throws -> (UInt32, [UInt8], UInt32) {
        var out = [UInt8](repeating: 0, count: packet.count + 512)
        var outLen = UInt32(out.count)
        var retval: UInt32 = 0, duration: UInt32 = 0, meta: UInt32 = 0
        let rc = packet.withUnsafeBytes { inp in
            out.withUnsafeMutableBytes { o in
                sluice_bpf_test_run(fd, inp.baseAddress, UInt32(packet.count), o.baseAddress, &outLen, &retval, max(1, `repeat`), &duration, &meta)
            }
        }
        guard rc == 0 else { throw XDPError("BPF_PROG_TEST_RUN failed: \(String(cString: strerror(-rc))) (\(packet.count)-byte frame)") }
        return (retval, Array(out[Int(min(meta, outLen))..<Int(outLen)]), duration)
    }

    /// What leaves the switch for one packet and the run that decided it.
    public struct Outputs: Sendable {
        public var run: RunResult
        /// Every packet that leaves, in port order: the forwarded one, or the copies of a
        /// multicast that survive egress.
        public var packets: [(port: UInt16, bytes: [UInt8])]
    }

    /// Run `packet` as `run` does and, for a multicast, every copy as it would leave: the
    /// packet as ingress left it through the per-copy program (`sluice_test_copy`) once per
    /// member of the group, in port order, as the runtime's output. The thread stays on one CPU
    /// meanwhile (the copies read the per-CPU ring ingress wrote).
    public func outputs(_ packet: [UInt8], port: UInt16, timestamp: UInt64? = nil) throws -> Outputs {
        var saved = [UInt](repeating: 0, count: 16)
        let pinned = saved.withUnsafeMutableBufferPointer { sluice_pin_thread($0.baseAddress) }
        guard pinned == 0 else { throw XDPError("cannot keep the test thread on one CPU: \(String(cString: strerror(-pinned)))") }
        defer { _ = saved.withUnsafeBufferPointer { sluice_unpin_thread($0.baseAddress) } }
        let r = try run(packet, port: port, timestamp: timestamp)
        switch EBPFVerdict(rawValue: r.verdict) {
        case .forward?:
            return Outputs(run: r, packets: [(UInt16(truncatingIfNeeded: r.port), r.bytes)])
        case .multicast?:
            guard testCopyFD >= 0 else { throw XDPError("program '\(program.name)' multicast without a per-copy program") }
            let members = groups[UInt16(truncatingIfNeeded: r.port)]?.members.map(\.port) ?? []
            let pm = try map("sluice_test_port")
            var copies: [(port: UInt16, bytes: [UInt8])] = []
            for p in Set(members).sorted() {
                var k: UInt32 = 0, v = UInt32(p)
                guard bpf_map_update_elem(pm.fd, &k, &v, 0) == 0 else { throw XDPError("sluice_test_port: \(String(cString: strerror(errno)))") }
                let (action, bytes, _) = try testRun(testCopyFD, r.bytes)
                if action == 2 /* XDP_PASS: the copy leaves */ { copies.append((p, bytes)) }
            }
            return Outputs(run: r, packets: copies)
        default:
            return Outputs(run: r, packets: [])
        }
    }

    /// Binds Sluice ports `ports` to the loopback in the redirect map, so that a test run's
    /// redirect to one of them takes the path a forward onto a wire takes (the kernel does not
    /// carry out a test run's redirect; to an unbound port, the redirect fails). For
    /// benchmarks: `attach` binds ports to real interfaces.
    public func bindTestPorts(_ ports: ClosedRange<UInt16>) throws {
        let tx = try map("sluice_tx")
        for p in ports {
            var k = UInt32(p), v = UInt32(1)
            guard bpf_map_update_elem(tx.fd, &k, &v, 0) == 0 else { throw XDPError("port \(p): cannot add the loopback to the redirect map: \(String(cString: strerror(errno)))") }
        }
    }

    func updatePorts(ifindex: UInt32, port: UInt32) throws {
        var k = ifindex, v = port
        let m = try map("sluice_ports")
        guard bpf_map_update_elem(m.fd, &k, &v, 0) == 0 else { throw XDPError("sluice_ports update: \(String(cString: strerror(errno)))") }
    }

    /// The per-CPU `sluice_out` values: their verdicts zeroed before a run (the counts kept),
    /// so the CPU that ran it is the one with a verdict.
    func clearOutcome() throws {
        let m = try map("sluice_out")
        let stride = Self.perCPUStride(m.valueSize)
        var values = [UInt8](repeating: 0, count: stride * Self.possibleCPUs)
        var k: UInt32 = 0
        guard bpf_map_lookup_elem(m.fd, &k, &values) == 0 else { throw XDPError("sluice_out read: \(String(cString: strerror(errno)))") }
        for cpu in 0..<Self.possibleCPUs { for i in 0..<8 { values[cpu * stride + i] = 0 } }
        guard bpf_map_update_elem(m.fd, &k, &values, 0) == 0 else { throw XDPError("sluice_out reset: \(String(cString: strerror(errno)))") }
    }

    func outcome() throws -> (UInt32, UInt32) {
        let m = try map("sluice_out")
        let stride = Self.perCPUStride(m.valueSize)
        var values = [UInt8](repeating: 0, count: stride * Self.possibleCPUs)
        var k: UInt32 = 0
        guard bpf_map_lookup_elem(m.fd, &k, &values) == 0 else { throw XDPError("sluice_out read: \(String(cString: strerror(errno)))") }
        for cpu in 0..<Self.possibleCPUs {
            let v = values.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: cpu * stride, as: (UInt32, UInt32).self) }
            if v.0 != 0 { return v }
        }
        return (0, 0)
    }

    static func perCPUStride(_ valueSize: Int) -> Int { (valueSize + 7) & ~7 }

    // MARK: attaching

    public enum Mode: String, CaseIterable, Sendable {
        /// The driver's hook (fast); fails on drivers without XDP.
        case native
        /// The generic hook after the stack's skb allocation (works everywhere, slower).
        case generic
        /// Native if the driver takes it, else generic.
        case auto
    }

    /// An XDP program found on an interface.
    public struct Attached: Sendable {
        public var id: UInt32
        /// Its full name when its BTF names it, else the kernel's (at most 15 characters).
        public var name: String
        /// Whether `name` may be cut short (the kernel's name, 15 characters, no BTF to complete it).
        public var truncated: Bool
        /// native, generic or offload.
        public var mode: String
        /// Sluice's programs are all named `sluice_…`.
        public var bySluice: Bool { name.hasPrefix("sluice_") }
        /// `name`, with `…` when it may be cut short.
        public var displayName: String { truncated ? name + "…" : name }
        /// Who put it there, as far as can be told.
        public var owner: String {
            bySluice ? "attached by Sluice: another `sluice attach` or `sluice aggregator` still running, or one that did not exit normally"
                     : "not Sluice's"
        }

        /// The commands that remove it from interface `name`.
        public func removal(_ name: String) -> String {
            // iproute2 removes a generic (xdpgeneric) or native (xdpdrv) program only by its mode.
            let off = mode == "generic" ? "xdpgeneric off" : mode == "native" ? "xdpdrv off" : "xdpoffload off"
            return "`sluice xdp detach -i \(name)` or `ip link set dev \(name) \(off)`"
        }
    }

    /// The XDP program on interface `name`, or nil (also for an interface that does not exist).
    public static func attachedProgram(interface name: String) -> Attached? {
        let ifindex = Int32(if_nametoindex(name))
        guard ifindex > 0 else { return nil }
        var drv: UInt32 = 0, skb: UInt32 = 0, hw: UInt32 = 0
        guard sluice_xdp_query(ifindex, &drv, &skb, &hw) == 0 else { return nil }
        let found: (UInt32, String)? = drv != 0 ? (drv, "native") : skb != 0 ? (skb, "generic") : hw != 0 ? (hw, "offload") : nil
        guard let (id, mode) = found else { return nil }
        let (prog, full) = programFullName(id: id) ?? ("?", true)
        return Attached(id: id, name: prog, truncated: !full && prog.count >= 15, mode: mode)
    }

    /// Why an interface that already has an XDP program is not attached to: what is there and
    /// how to remove it.
    static func occupied(_ name: String, by a: Attached) -> XDPError {
        XDPError("\(name): XDP program \(a.displayName) (id \(a.id), \(a.mode)) is already attached (\(a.owner)); "
                 + "Sluice does not replace it. Remove it first if it is no longer wanted: \(a.removal(name))")
    }

    /// Attach to interface `name` as Sluice port `port` (redirects to `port` go out of it).
    /// An interface that already has an XDP program is refused (see `occupied`), not taken over.
    public func attach(interface name: String, port: UInt16, mode: Mode) throws -> Mode {
        let ifindex = Int32(if_nametoindex(name))
        guard ifindex > 0 else { throw XDPError("no interface '\(name)' (ip link lists them)") }
        if let there = Self.attachedProgram(interface: name) { throw Self.occupied(name, by: there) }
        try addPort(port, ifindex: ifindex, name: name)
        // UPDATE_IF_NOEXIST: a program attached between the query above and now is not replaced.
        func tryAttach(_ flags: UInt32) -> Int32 { sluice_xdp_attach(ifindex, programFD, flags | sluice_xdp_flag_update_if_noexist()) }
        var used = mode
        var rc: Int32
        switch mode {
        case .native: rc = tryAttach(sluice_xdp_flag_drv())
        case .generic: rc = tryAttach(sluice_xdp_flag_skb())
        case .auto:
            rc = tryAttach(sluice_xdp_flag_drv())
            used = .native
            if rc != 0 { rc = tryAttach(sluice_xdp_flag_skb()); used = .generic }
        }
        guard rc == 0 else {
            if rc == -Int32(EBUSY) || rc == -Int32(EEXIST), let there = Self.attachedProgram(interface: name) { throw Self.occupied(name, by: there) }
            let why = rc == -Int32(EBUSY) || rc == -Int32(EEXIST) ? " (another XDP program is attached: sluice xdp detach -i \(name))"
                : rc == -Int32(EOPNOTSUPP) ? " (the driver has no native XDP: use --mode generic or auto)"
                : rc == -Int32(EPERM) ? " (needs root or CAP_NET_ADMIN)" : ""
            throw XDPError("\(name): XDP attach (\(mode.rawValue)) failed: \(String(cString: strerror(-rc)))\(why)")
        }
        attached.append((ifindex, used == .native ? sluice_xdp_flag_drv() : sluice_xdp_flag_skb()))
        attachedNames[ifindex] = name
        if used == .native && copyFD >= 0 && !KernelFeatures.xdpMetadata && !warnedNoMetadata {
            warnedNoMetadata = true
            fputs("warning: \(program.name): this kernel refuses bpf_xdp_adjust_meta in XDP programs, so a multicast copy finds its packet's metadata as the latest in the ring; in native mode, copies that leave after the next multicast packet arrived carry its metadata. --mode generic runs each packet's copies at once.\n", stderr)
        }
        return used
    }

    /// Make interface `ifindex` (`name`) Sluice port `port` in the program's maps: redirects to
    /// `port` go out of it, packets from it enter on `port`, and multicast groups reach it.
    private func addPort(_ port: UInt16, ifindex: Int32, name: String) throws {
        var k = UInt32(port), v = UInt32(ifindex)
        let tx = try map("sluice_tx")
        guard bpf_map_update_elem(tx.fd, &k, &v, 0) == 0 else {
            throw XDPError("\(name): cannot add it to the redirect map: \(String(cString: strerror(errno)))")
        }
        try updatePorts(ifindex: UInt32(ifindex), port: UInt32(port))
        interfaces[port] = UInt32(ifindex)
        try refreshMulticast()
    }

    /// Attach to interface `name` as Sluice port `port` in place of `old`, which is attached
    /// there: one step in the kernel (XDP_FLAGS_REPLACE, same mode as `old`'s), so the interface
    /// never runs without a program, and refused if `old`'s program is no longer the one there.
    /// `old` forgets the interface (its detach would not remove this program anyway).
    public func attach(interface name: String, port: UInt16, replacing old: XDPProgram) throws {
        let ifindex = Int32(if_nametoindex(name))
        guard ifindex > 0 else { throw XDPError("no interface '\(name)' (ip link lists them)") }
        guard let flags = old.attached.first(where: { $0.ifindex == ifindex })?.flags else {
            throw XDPError("\(name): program '\(old.program.name)' is not attached there, nothing to replace")
        }
        try addPort(port, ifindex: ifindex, name: name)
        let rc = sluice_xdp_replace(ifindex, programFD, flags, old.programFD)
        guard rc == 0 else {
            let why = rc == -Int32(EEXIST) ? " (the program there is no longer '\(old.program.name)'s: someone replaced it)" : ""
            throw XDPError("\(name): replacing XDP program '\(old.program.name)' with '\(program.name)' failed: \(String(cString: strerror(-rc)))\(why)")
        }
        old.attached.removeAll { $0.ifindex == ifindex }
        old.attachedNames[ifindex] = nil
        attached.append((ifindex, flags))
        attachedNames[ifindex] = name
    }

    /// The first attached interface that is gone or no longer runs this program, and why; nil
    /// while every one is in place. A deleted interface (or one moved to another network
    /// namespace) takes the program with it, and the run would go on counting nothing.
    public func lostAttachment() -> String? {
        let ours = sluice_prog_id(programFD)
        for a in attached {
            let name = attachedNames[a.ifindex] ?? "ifindex \(a.ifindex)"
            func gone() -> String { "interface \(name) is gone (deleted, or moved to another network namespace)" }
            guard Int32(if_nametoindex(name)) == a.ifindex else { return gone() }
            var drv: UInt32 = 0, skb: UInt32 = 0, hw: UInt32 = 0
            guard sluice_xdp_query(a.ifindex, &drv, &skb, &hw) == 0 else { continue }
            let there = a.flags == sluice_xdp_flag_drv() ? drv : skb
            if ours != 0 && there != ours {
                // The kernel unlists a deleted interface's name before it removes its program:
                // an interface deleted between the two looks above has lost its name by now.
                guard Int32(if_nametoindex(name)) == a.ifindex else { return gone() }
                let now = Self.attachedProgram(interface: name).map { "now \($0.displayName), id \($0.id)" } ?? "now none"
                return "the XDP program on \(name) was removed or replaced by someone else (\(now))"
            }
        }
        return nil
    }

    // MARK: multicast

    /// Members of `group` (one copy per port: a port listed twice keeps its last rid). Copies go
    /// to the ports attached so far and to ports attached later.
    public func setMulticastGroup(_ group: UInt16, _ members: [(port: UInt16, rid: UInt16)]) throws {
        guard copyFD >= 0 else { throw XDPError("program '\(program.name)' sends nothing to a multicast group") }
        let slot: Int
        if let g = groups[group] { slot = g.slot } else {
            let used = Set(groups.values.map(\.slot))
            guard let free = (0..<4).first(where: { !used.contains($0) }) else {
                throw XDPError("a 5th multicast group: the XDP backend has 4 group slots")
            }
            slot = free
        }
        try clearSlot(group)
        groups[group] = (slot, members)
        var g = UInt32(group), v = UInt32(slot)
        let gm = try map("sluice_groups")
        guard bpf_map_update_elem(gm.fd, &g, &v, 0) == 0 else { throw XDPError("sluice_groups: \(String(cString: strerror(errno)))") }
        let rm = try map("sluice_rids")
        for m in members {
            var k = UInt32(group) << 16 | UInt32(m.port), r = UInt32(m.rid)
            guard bpf_map_update_elem(rm.fd, &k, &r, 0) == 0 else { throw XDPError("sluice_rids: \(String(cString: strerror(errno)))") }
        }
        try refreshMulticast()
    }

    public func deleteMulticastGroup(_ group: UInt16) throws {
        guard groups[group] != nil else { return }
        try clearSlot(group)
        var g = UInt32(group)
        _ = bpf_map_delete_elem(try map("sluice_groups").fd, &g)
        groups[group] = nil
    }

    func clearSlot(_ group: UInt16) throws {
        guard let old = groups[group] else { return }
        let dm = try map("sluice_mc\(old.slot)")
        let rm = try map("sluice_rids")
        for m in old.members {
            var k = UInt32(m.port)
            _ = bpf_map_delete_elem(dm.fd, &k)
            var r = UInt32(group) << 16 | UInt32(m.port)
            _ = bpf_map_delete_elem(rm.fd, &r)
        }
    }

    /// Each group's DEVMAP: its members' ports whose interfaces are known, with the copy program.
    func refreshMulticast() throws {
        for (_, g) in groups {
            let dm = try map("sluice_mc\(g.slot)")
            for m in g.members {
                guard let ifindex = interfaces[m.port] else { continue }
                var k = UInt32(m.port)
                var v = (ifindex, copyFD)
                guard bpf_map_update_elem(dm.fd, &k, &v, 0) == 0 else {
                    throw XDPError("multicast to port \(m.port): \(String(cString: strerror(errno)))")
                }
            }
        }
    }

    /// Detach from every interface this program attached to. Only this program is removed: a
    /// program someone else put there meanwhile stays.
    public func detachAll() {
        for a in attached { _ = sluice_xdp_detach_expected(a.ifindex, a.flags, programFD) }
        attached = []
        attachedNames = [:]
    }

    /// Detach whatever XDP program is on `name` (both modes): the clean-up after a crash.
    /// Returns what it removed, nil when nothing was attached.
    @discardableResult
    public static func detach(interface name: String) throws -> Attached? {
        let ifindex = Int32(if_nametoindex(name))
        guard ifindex > 0 else { throw XDPError("no interface '\(name)' in this network namespace (ip link lists them)") }
        let there = attachedProgram(interface: name)
        let a = sluice_xdp_detach(ifindex, sluice_xdp_flag_drv())
        let b = sluice_xdp_detach(ifindex, sluice_xdp_flag_skb())
        if a != 0 && b != 0 && a != -Int32(ENOENT) { throw XDPError("\(name): detach failed: \(String(cString: strerror(-a)))") }
        if let left = attachedProgram(interface: name) {
            throw XDPError("\(name): XDP program \(left.displayName) (id \(left.id), \(left.mode)) is still attached after the detach")
        }
        return there
    }

    /// The name of loaded BPF program `id`, from its BTF when it has one (full: true), else
    /// the kernel's, cut to 15 characters; nil when there is no such program.
    public static func programFullName(id: UInt32) -> (name: String, full: Bool)? {
        var buf = [CChar](repeating: 0, count: 256)
        let rc = sluice_prog_full_name(id, &buf, buf.count)
        guard rc >= 0 else { return nil }
        return (String(cString: buf), rc == 0)
    }

    /// Packets per outcome so far (summed over CPUs), by `EBPFVerdict` raw value.
    public func outcomes() throws -> [UInt32: UInt64] {
        let m = try map("sluice_out")
        let stride = Self.perCPUStride(m.valueSize)
        var values = [UInt8](repeating: 0, count: stride * Self.possibleCPUs)
        var key: UInt32 = 0
        guard bpf_map_lookup_elem(m.fd, &key, &values) == 0 else { throw XDPError("sluice_out read: \(String(cString: strerror(errno)))") }
        var r: [UInt32: UInt64] = [:]
        for v in 1...8 as ClosedRange<UInt32> {
            r[v] = (0..<Self.possibleCPUs).reduce(UInt64(0)) { sum, cpu in
                sum + values.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: cpu * stride + 8 + 8 * Int(v), as: UInt64.self) }
            }
        }
        return r
    }
}

public struct XDPError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}
