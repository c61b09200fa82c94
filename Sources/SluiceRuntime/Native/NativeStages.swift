import Foundation
import SluiceEBPF
import SluiceIR

/// A program's host C (`HostBackend`) loaded as a shared object, bound to a pipeline's state: its
/// metadata slots (the `ExecContext`'s, so bridging, multicast copies and the control plane work
/// as for closures), its tables (each `RuntimeTable`'s index and entry memory, read through the
/// descriptor it publishes), its register and counter cells in place, and calls back for
/// meters, digests, random numbers and indexes out of range (`NativeEnvironment`).
@usableFromInline final class NativeStages {
    /// `sl_ingress`: state, packet base and (start, length), then port and time; returns the
    /// outcome in its low 16 bits and, when the packet passes, its port or group above.
    @usableFromInline typealias Ingress = @convention(c) (UnsafeMutableRawPointer, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Int>,
                                        UInt64, UInt64) -> UInt64
    @usableFromInline typealias Stage = @convention(c) (UnsafeMutableRawPointer, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Int>) -> Int32
    typealias Bind = @convention(c) (UnsafeMutableRawPointer, UnsafeMutablePointer<UInt64>, UnsafeMutableRawPointer,
                                     UnsafeMutablePointer<UnsafeMutablePointer<UInt64>?>, UnsafeMutablePointer<UnsafeMutableRawPointer?>,
                                     UnsafeMutablePointer<UnsafeMutablePointer<UInt64>?>,
                                     UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer) -> Void

    /// What a stage returns (`HostPrelude`'s `SL_*`).
    static let pass: Int32 = 0, dropParser: Int32 = 1, drop: Int32 = 2, headroom: Int32 = 3
    /// `sl_ingress`'s outcome (its low 16 bits) for a multicast packet (`SL_MULTICAST`).
    @usableFromInline static let multicast: UInt64 = 0x100

    let ingress: Ingress
    let egress: Stage
    let state: UnsafeMutableRawPointer
    let environment: NativeEnvironment
    /// Per register its cells; per table its descriptor; per counter its packets and bytes.
    let registerCells: UnsafeMutablePointer<UnsafeMutablePointer<UInt64>?>
    let tables: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let counterCells: UnsafeMutablePointer<UnsafeMutablePointer<UInt64>?>

    init(_ program: VerifiedProgram, compiler c: ProgramCompiler, context: ExecContext, queues: Bool) throws {
        guard RuntimeTable.tupleLayout == HostTableABI.tuple else {
            throw EBPFToolError("native pipeline: the runtime's tuples are laid out as \(RuntimeTable.tupleLayout), the C expects \(HostTableABI.tuple)")
        }
        let library = try Self.load(try HostBackend.emitC(program, queues: queues))
        func symbol<T>(_ name: String, as: T.Type) throws -> T {
            guard let p = dlsym(library, name) else { throw EBPFToolError("native pipeline: no symbol \(name)") }
            return unsafeBitCast(p, to: T.self)
        }
        ingress = try symbol("sl_ingress", as: Ingress.self)
        egress = try symbol("sl_egress", as: Stage.self)
        let size = try symbol("sl_state_size", as: (@convention(c) () -> UInt).self)()
        let bind = try symbol("sl_bind", as: Bind.self)
        let ir = program.program
        environment = NativeEnvironment(ir, compiler: c, context: context)
        state = .allocate(byteCount: Int(size), alignment: 16)
        func cells<T>(_ n: Int, _ value: (Int) -> T?) -> UnsafeMutablePointer<T?> {
            let p = UnsafeMutablePointer<T?>.allocate(capacity: max(n, 1))
            p.initialize(repeating: nil, count: max(n, 1))
            for i in 0..<n { p[i] = value(i) }
            return p
        }
        registerCells = cells(ir.registers.count) { c.registers[ir.registers[$0].name]!.cells }
        tables = cells(ir.tables.count) { c.tables[ir.tables[$0].name]!.bindNative() }
        counterCells = cells(2 * ir.counters.count) {
            let counter = c.counters[ir.counters[$0 / 2].name]!
            return $0 % 2 == 0 ? counter.packets : counter.bytes
        }
        let e = NativeEnvironment.self
        bind(state, context.slots, Unmanaged.passUnretained(environment).toOpaque(), registerCells, tables, counterCells,
             unsafeBitCast(e.random, to: UnsafeRawPointer.self), unsafeBitCast(e.count, to: UnsafeRawPointer.self),
             unsafeBitCast(e.meter, to: UnsafeRawPointer.self), unsafeBitCast(e.digest, to: UnsafeRawPointer.self),
             unsafeBitCast(e.registerOutOfRange, to: UnsafeRawPointer.self))
    }

    /// What a packet's passes call, without reference counting.
    var entry: NativeEntry { NativeEntry(ingress: ingress, egress: egress, state: state) }

    deinit { state.deallocate(); registerCells.deallocate(); tables.deallocate(); counterCells.deallocate() }

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

/// The entry points of a pipeline's native code and the state they run on: plain values,
/// which `Pipeline` keeps beside the `NativeStages` that owns them.
@usableFromInline struct NativeEntry {
    @usableFromInline let ingress: NativeStages.Ingress
    @usableFromInline let egress: NativeStages.Stage
    @usableFromInline let state: UnsafeMutableRawPointer
}

/// The runtime's state the native code calls back for, reached through the `env` pointer of its
/// calls. Each call does what the closure for the same statement does.
final class NativeEnvironment {
    let registers: [RegisterState]
    let counters: [CounterState]
    let meters: [MeterState]
    let digests: DigestRing
    let context: ExecContext

    init(_ program: Program, compiler c: ProgramCompiler, context: ExecContext) {
        registers = program.registers.map { c.registers[$0.name]! }
        counters = program.counters.map { c.counters[$0.name]! }
        meters = program.meters.map { c.meters[$0.name]! }
        digests = c.digests
        self.context = context
    }

    @inline(__always) static func of(_ env: UnsafeMutableRawPointer?) -> NativeEnvironment {
        Unmanaged<NativeEnvironment>.fromOpaque(env!).takeUnretainedValue()
    }

    static let random: @convention(c) (UnsafeMutableRawPointer?) -> UInt64 = { env in of(env).context.rng.next() }

    /// An index past the counter's end (the native code counts the others in place).
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
