import Foundation
import SluiceEBPF
import SluiceIR

/// A program's host C (`HostBackend`) loaded as a shared object, bound to a pipeline's state: its
/// metadata slots (the `ExecContext`'s, so bridging, multicast copies and the control plane work
/// as for closures), its register cells in place, and calls back for the runtime's table
/// indexes, counters, meters, digests and random numbers (`NativeEnvironment`).
final class NativeStages {
    typealias Stage = @convention(c) (UnsafeMutableRawPointer, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Int>) -> Int32

    /// What a stage returns (`HostPrelude`'s `SL_*`).
    static let pass: Int32 = 0, dropParser: Int32 = 1, drop: Int32 = 2, headroom: Int32 = 3

    let ingress: Stage
    let egress: Stage
    let state: UnsafeMutableRawPointer
    let environment: NativeEnvironment
    let registerCells: UnsafeMutablePointer<UnsafeMutablePointer<UInt64>?>

    init(_ program: VerifiedProgram, compiler c: ProgramCompiler, context: ExecContext, queues: Bool) throws {
        let library = try Self.load(try HostBackend.emitC(program, queues: queues))
        func symbol<T>(_ name: String, as: T.Type) throws -> T {
            guard let p = dlsym(library, name) else { throw EBPFToolError("native pipeline: no symbol \(name)") }
            return unsafeBitCast(p, to: T.self)
        }
        ingress = try symbol("sl_ingress", as: Stage.self)
        egress = try symbol("sl_egress", as: Stage.self)
        let size = try symbol("sl_state_size", as: (@convention(c) () -> UInt).self)()
        let bind = try symbol("sl_bind", as: (@convention(c) (UnsafeMutableRawPointer, UnsafeMutablePointer<UInt64>, UnsafeMutableRawPointer,
                                                               UnsafeMutablePointer<UnsafeMutablePointer<UInt64>?>,
                                                               UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer,
                                                               UnsafeRawPointer, UnsafeRawPointer) -> Void).self)
        environment = NativeEnvironment(program.program, compiler: c, context: context)
        state = .allocate(byteCount: Int(size), alignment: 16)
        registerCells = .allocate(capacity: max(program.registers.count, 1))
        registerCells.initialize(repeating: nil, count: max(program.registers.count, 1))
        for (i, r) in program.registers.enumerated() { registerCells[i] = c.registers[r.name]!.cells }
        let e = NativeEnvironment.self
        bind(state, context.slots, Unmanaged.passUnretained(environment).toOpaque(), registerCells,
             unsafeBitCast(e.lookup, to: UnsafeRawPointer.self), unsafeBitCast(e.random, to: UnsafeRawPointer.self),
             unsafeBitCast(e.count, to: UnsafeRawPointer.self), unsafeBitCast(e.meter, to: UnsafeRawPointer.self),
             unsafeBitCast(e.digest, to: UnsafeRawPointer.self), unsafeBitCast(e.registerOutOfRange, to: UnsafeRawPointer.self))
    }

    deinit { state.deallocate(); registerCells.deallocate() }

    /// Objects loaded in this process, by their C text: each is compiled (or checked in the
    /// cache) and opened once. Never closed: pipelines of a program come and go.
    nonisolated(unsafe) static var loaded: [String: UnsafeMutableRawPointer] = [:]
    static let lock = NSLock()

    static func load(_ source: String) throws -> UnsafeMutableRawPointer {
        lock.lock(); defer { lock.unlock() }
        if let h = loaded[source] { return h }
        var path = try SharedObjectCache.object(for: source)
        var handle = dlopen(path, RTLD_NOW | RTLD_LOCAL)
        if handle == nil {
            // A cached object that passed its checksum but does not load: build it again, once.
            SharedObjectCache.discard(path)
            path = try SharedObjectCache.object(for: source)
            handle = dlopen(path, RTLD_NOW | RTLD_LOCAL)
        }
        guard let handle else { throw EBPFToolError("native pipeline: \(path): \(dlerror().map { String(cString: $0) } ?? "cannot load")") }
        loaded[source] = handle
        return handle
    }
}

/// The runtime's state the native code calls back for, reached through the `env` pointer of its
/// calls. Each call does what the closure for the same statement does.
final class NativeEnvironment {
    let tables: [RuntimeTable]
    let registers: [RegisterState]
    let counters: [CounterState]
    let meters: [MeterState]
    let digests: DigestRing
    let context: ExecContext

    init(_ program: Program, compiler c: ProgramCompiler, context: ExecContext) {
        tables = program.tables.map { c.tables[$0.name]! }
        registers = program.registers.map { c.registers[$0.name]! }
        counters = program.counters.map { c.counters[$0.name]! }
        meters = program.meters.map { c.meters[$0.name]! }
        digests = c.digests
        self.context = context
    }

    @inline(__always) static func of(_ env: UnsafeMutableRawPointer?) -> NativeEnvironment {
        Unmanaged<NativeEnvironment>.fromOpaque(env!).takeUnretainedValue()
    }

    /// The entry for `key` (or the default action): the action's number, `hit << 16`, and its
    /// arguments in `args`; direct counters and misses counted.
    static let lookup: @convention(c) (UnsafeMutableRawPointer?, UInt32, UnsafePointer<UInt64>?, UnsafeMutablePointer<UnsafePointer<UInt64>?>?) -> Int32 = { env, table, key, args in
        let t = of(env).tables[Int(table)]
        let e = t.lookup(key!)
        if e >= 0 {
            args!.pointee = UnsafePointer(t.actionData + Int(e) * t.stride)
            if t.decl.directCounter {
                t.hitPackets[Int(e)] &+= 1
                t.hitBytes[Int(e)] &+= of(env).context.slots[Layout.standardSlot(.packetLength)]
            }
            return t.entryAction[Int(e)] | 0x10000
        }
        args!.pointee = UnsafePointer(t.defaultData)
        t.missPackets &+= 1
        return t.defaultAction
    }

    static let random: @convention(c) (UnsafeMutableRawPointer?) -> UInt64 = { env in of(env).context.rng.next() }

    static let count: @convention(c) (UnsafeMutableRawPointer?, UInt32, UInt64, UInt64) -> Void = { env, id, index, bytes in
        of(env).counters[Int(id)].count(Int(truncatingIfNeeded: index), bytes: bytes)
    }

    static let meter: @convention(c) (UnsafeMutableRawPointer?, UInt32, UInt64, UInt64, UInt64) -> UInt64 = { env, id, index, amount, now in
        of(env).meters[Int(id)].execute(Int(truncatingIfNeeded: index), amount: amount, now: now)
    }

    static let digest: @convention(c) (UnsafeMutableRawPointer?, UInt32, UnsafePointer<UInt64>?, UInt32) -> Void = { env, id, values, n in
        guard let slot = of(env).digests.push(Int32(id)) else { return }
        for i in 0..<Int(n) { slot[i] = UInt128(values![i]) }
    }

    static let registerOutOfRange: @convention(c) (UnsafeMutableRawPointer?, UInt32) -> Void = { env, id in
        of(env).registers[Int(id)].outOfRange &+= 1
    }
}
