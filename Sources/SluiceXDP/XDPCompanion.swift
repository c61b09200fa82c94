import CBPF
import Foundation
import SluiceEBPF

/// An XDP program written by hand in C, loaded beside a Sluice program and sharing its maps by
/// name: the same table contents under another program. Benchmarks use it as the baseline of
/// the generated code (`sluice bench xdp`); with no program to share with, it stands alone.
public final class XDPCompanion {
    let object: OpaquePointer
    public let name: String
    public let programFD: Int32

    /// Compile `source` (clang, as `EBPFObjectCompiler` does) and load it; every map it
    /// declares under the name of one of `base`'s maps is that map (same type, key and value
    /// sizes required), the others are its own.
    public init(name: String, source: String, sharingMapsWith base: XDPProgram? = nil) throws {
        self.name = name
        let compiled = try XDPProgram.compiled(source, name: name)
        defer { try? FileManager.default.removeItem(atPath: compiled.dir) }
        let log = XDPProgram.LoadLog(size: 1 << 20)
        let obj = try XDPProgram.open(compiled.path, log: log, what: name)
        var m = bpf_object__next_map(obj, nil)
        while let map = m {
            let mapName = String(cString: bpf_map__name(map))
            if let base, let shared = try? base.map(mapName) {
                guard Int(bpf_map__key_size(map)) == shared.keySize, Int(bpf_map__value_size(map)) == shared.valueSize else {
                    bpf_object__close(obj)
                    throw XDPError("\(name): map '\(mapName)' has keys of \(bpf_map__key_size(map)) and values of \(bpf_map__value_size(map)) bytes, program '\(base.program.name)' has \(shared.keySize) and \(shared.valueSize)")
                }
                let rc = bpf_map__reuse_fd(map, shared.fd)
                guard rc == 0 else {
                    bpf_object__close(obj)
                    throw XDPError("\(name): cannot share map '\(mapName)': \(String(cString: strerror(-rc)))")
                }
            }
            m = bpf_object__next_map(obj, map)
        }
        let rc = bpf_object__load(obj)
        guard rc == 0 else {
            let text = log.text
            bpf_object__close(obj)
            throw XDPError("the kernel refused '\(name)': \(String(cString: strerror(-rc)))\(text.isEmpty ? "" : "\nverifier log:\n" + String(text.suffix(4000)))")
        }
        guard let prog = bpf_object__next_program(obj, nil) else {
            bpf_object__close(obj)
            throw XDPError("\(name): no program in the object")
        }
        object = obj
        programFD = bpf_program__fd(prog)
    }

    /// The interface `attach` put the program on (0: none).
    private var attachedIfindex: Int32 = 0

    /// Attach natively to interface `name` (detached at deinit). A program attached somewhere
    /// stays in the kernel's XDP dispatcher, so its test runs do not patch the dispatcher's
    /// code and wait for an RCU grace period each time (what `sluice bench xdp` relies on).
    public func attach(interface name: String) throws {
        let ifindex = Int32(if_nametoindex(name))
        guard ifindex > 0 else { throw XDPError("no interface '\(name)' (ip link lists them)") }
        let rc = sluice_xdp_attach(ifindex, programFD, sluice_xdp_flag_drv())
        guard rc == 0 else { throw XDPError("\(name): XDP attach (native) of '\(self.name)' failed: \(String(cString: strerror(-rc)))") }
        attachedIfindex = ifindex
    }

    deinit {
        if attachedIfindex > 0 { _ = sluice_xdp_detach(attachedIfindex, sluice_xdp_flag_drv()) }
        bpf_object__close(object)
    }

    /// BPF_PROG_TEST_RUN: the XDP action, the packet out and the kernel's nanoseconds per run.
    public func run(_ packet: [UInt8], repeat: UInt32 = 1) throws -> (action: UInt32, bytes: [UInt8], nanoseconds: UInt32) {
        let (action, bytes, ns) = try XDPProgram.testRun(fd: programFD, packet, repeat: `repeat`)
        return (action, bytes, ns)
    }
}
