import Foundation
import SluiceControlPlane
import SluiceIR
import SluiceP4Runtime
import SwiftProtobuf

/// One P4Runtime device: the forwarding pipeline a controller set, the controllers' arbitration,
/// and the translation of `Write` and `Read` into the one control-plane interface of a
/// `SwitchTarget` (so every backend that implements it is served). Independent of gRPC: the
/// service (`P4RuntimeService`) only moves messages. Thread-safe: its own state behind `lock`,
/// the switch's tables behind the target's lock (always taken second).
public final class P4RuntimeDevice: @unchecked Sendable {
    public let deviceID: UInt64
    let target: any SwitchTarget
    let resolver: ProgramResolver
    let seed: UInt64
    let lock = SwitchLock()

    /// What a pipeline needs beside the switch's own state: P4Info, cookie, ids and the
    /// shadows of what the control plane cannot read back (defaults, groups, meters).
    struct Pipeline {
        var config: P4_V1_ForwardingPipelineConfig
        var program: VerifiedProgram
        var schema: P4RuntimeSchema
        var defaults: [String: ActionCall] = [:]
        var groups: [UInt32: [P4_V1_Replica]] = [:]
        var meters: [UInt32: [Int64: P4_V1_MeterConfig]] = [:]
        var digests: [UInt32: P4_V1_DigestEntry.Config] = [:]
    }
    var pipeline: Pipeline?
    /// VERIFY_AND_SAVE's pipeline, which COMMIT installs.
    var saved: Pipeline?
    let arbitration = Arbitration()
    /// The running program's controller headers. Behind a lock of its own, which nothing else is
    /// taken under: PacketIn reads it from the packet thread while the switch's lock is held.
    let layoutLock = SwitchLock()
    var layout = ControllerLayout()
    var nextDigestList: UInt64 = 0

    public init(deviceID: UInt64, target: any SwitchTarget, resolver: ProgramResolver, seed: UInt64 = 1) {
        self.deviceID = deviceID; self.target = target; self.resolver = resolver; self.seed = seed
    }

    /// Installs `program` as if a controller had set it (`attach --program` with `--p4runtime`).
    public func start(with program: VerifiedProgram) throws {
        var config = P4_V1_ForwardingPipelineConfig()
        config.p4Info = try P4InfoBuilder.p4Info(program.program)
        config.p4DeviceConfig = Data(program.program.name.utf8)
        try target.install(program, seed: seed)
        let p = try pipelineState(config, program)
        lock.withLock { pipeline = p }
        layoutLock.withLock { layout = ControllerLayout(program.program) }
    }

    func checkDevice(_ id: UInt64) throws(P4RuntimeError) {
        guard id == deviceID else { throw P4RuntimeError(.notFound, "no device with id \(id); this server serves device id \(deviceID) (--device-id)") }
    }

    // MARK: pipeline config

    public func setPipeline(_ req: P4_V1_SetForwardingPipelineConfigRequest) throws(P4RuntimeError) {
        try checkDevice(req.deviceID)
        try arbitration.checkPrimary(req.electionID, hasElectionID: req.hasElectionID, role: req.role, what: "SetForwardingPipelineConfig")
        switch req.action {
        case .verify:
            _ = try prepare(req.config)
        case .verifyAndSave:
            let p = try prepare(req.config)
            lock.withLock { saved = p }
        case .verifyAndCommit:
            try commit(try prepare(req.config), reconcile: false)
        case .commit:
            guard let p = lock.withLock({ saved }) else {
                throw P4RuntimeError(.failedPrecondition, "COMMIT: no pipeline was saved; send VERIFY_AND_SAVE first, or use VERIFY_AND_COMMIT")
            }
            try commit(p, reconcile: false)
        case .reconcileAndCommit:
            try commit(try prepare(req.config), reconcile: true)
        case .unspecified, .UNRECOGNIZED:
            throw P4RuntimeError(.invalidArgument, "SetForwardingPipelineConfig: action \(req.action.rawValue) is not one of VERIFY, VERIFY_AND_SAVE, VERIFY_AND_COMMIT, COMMIT, RECONCILE_AND_COMMIT")
        }
    }

    /// The program a config names (its device config: a program file's JSON or a built-in
    /// program's name), checked against its P4Info and the switch.
    func prepare(_ config: P4_V1_ForwardingPipelineConfig) throws(P4RuntimeError) -> Pipeline {
        let program: VerifiedProgram
        let text = String(decoding: config.p4DeviceConfig, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty {
            throw P4RuntimeError(.invalidArgument, "p4_device_config is empty; give a Sluice program file (`sluice compile P --emit program`) or a built-in program's name")
        } else if text.hasPrefix("{") {
            do { program = try ProgramFile.decode(Data(text.utf8), file: "p4_device_config") } catch {
                throw P4RuntimeError(.invalidArgument, "p4_device_config is not a valid Sluice program file: \(error)")
            }
        } else {
            guard let n = resolver.program(named: text) else {
                throw P4RuntimeError(.invalidArgument, "p4_device_config: \(resolver.unknown(text))")
            }
            do { program = try n.build() } catch { throw P4RuntimeError(.invalidArgument, "p4_device_config: program '\(text)' does not verify: \(error)") }
        }
        do { try target.check(program) } catch {
            throw P4RuntimeError(.invalidArgument, "program '\(program.program.name)' cannot run on this switch: \(error)")
        }
        return try pipelineState(config, program)
    }

    func pipelineState(_ config: P4_V1_ForwardingPipelineConfig, _ program: VerifiedProgram) throws(P4RuntimeError) -> Pipeline {
        let expected: P4_Config_V1_P4Info
        do { expected = try P4InfoBuilder.p4Info(program.program) } catch { throw P4RuntimeError(.invalidArgument, "\(error)") }
        var config = config
        if !config.hasP4Info { config.p4Info = expected }
        try Self.checkP4Info(config.p4Info, against: expected, program: program.program.name)
        var p = Pipeline(config: config, program: program, schema: try P4RuntimeSchema(program.program))
        for t in program.program.tables { p.defaults[t.name] = t.defaultAction }
        return p
    }

    /// The controller's P4Info must describe the program: every table and action id with the
    /// same name (a P4Info of another program is INVALID_ARGUMENT naming the first difference).
    static func checkP4Info(_ given: P4_Config_V1_P4Info, against expected: P4_Config_V1_P4Info, program: String) throws(P4RuntimeError) {
        func names<T>(_ xs: [T], _ pre: (T) -> P4_Config_V1_Preamble) -> [UInt32: String] {
            Dictionary(xs.map { (pre($0).id, pre($0).name) }, uniquingKeysWith: { a, _ in a })
        }
        let pairs: [(String, [UInt32: String], [UInt32: String])] = [
            ("table", names(given.tables, \.preamble), names(expected.tables, \.preamble)),
            ("action", names(given.actions, \.preamble), names(expected.actions, \.preamble)),
            ("counter", names(given.counters, \.preamble), names(expected.counters, \.preamble)),
            ("register", names(given.registers, \.preamble), names(expected.registers, \.preamble)),
            ("meter", names(given.meters, \.preamble), names(expected.meters, \.preamble)),
        ]
        for (kind, g, e) in pairs {
            for (id, name) in e.sorted(by: { $0.key < $1.key }) where g[id] != name {
                throw P4RuntimeError(.invalidArgument, "p4info does not describe program '\(program)': its \(kind) '\(name)' (id \(id)) "
                                     + (g[id].map { "is '\($0)' there" } ?? "is missing") + "; write the P4Info with `sluice compile \(program) --emit p4info`")
            }
        }
    }

    func commit(_ p: Pipeline, reconcile: Bool) throws(P4RuntimeError) {
        try lock.withLock { () throws(P4RuntimeError) in
            if reconcile, let old = pipeline, old.program.program == p.program.program {
                pipeline?.config = p.config
                return
            }
            var carried: [(String, TableEntry)] = []
            if reconcile, pipeline != nil {
                carried = (try? target.withControlPlane { cp in
                    try cp.program.tables.flatMap { t in try cp.entries(t.name).map { (t.name, $0.1) } }
                }) ?? []
            }
            do { try target.install(p.program, seed: seed) } catch {
                throw P4RuntimeError(.internal, "installing program '\(p.program.program.name)' failed: \(error)")
            }
            pipeline = p
            saved = nil
            layoutLock.withLock { layout = ControllerLayout(p.program.program) }
            if !carried.isEmpty {
                // Entries that still fit the new program (same table, keys and action) stay.
                _ = try? target.withControlPlane { cp in for (t, e) in carried { _ = try? cp.insert(t, e) } }
            }
        }
    }

    public func getPipeline(_ req: P4_V1_GetForwardingPipelineConfigRequest) throws(P4RuntimeError) -> P4_V1_GetForwardingPipelineConfigResponse {
        try checkDevice(req.deviceID)
        guard let p = lock.withLock({ pipeline }) else {
            throw P4RuntimeError(.failedPrecondition, "no forwarding pipeline is set on device \(deviceID); send SetForwardingPipelineConfig first")
        }
        var r = P4_V1_GetForwardingPipelineConfigResponse()
        switch req.responseType {
        case .all: r.config = p.config
        case .cookieOnly: r.config.cookie = p.config.cookie
        case .p4InfoAndCookie: r.config.p4Info = p.config.p4Info; r.config.cookie = p.config.cookie
        case .deviceConfigAndCookie: r.config.p4DeviceConfig = p.config.p4DeviceConfig; r.config.cookie = p.config.cookie
        case .UNRECOGNIZED(let n): throw P4RuntimeError(.invalidArgument, "response_type \(n) is not one of ALL, COOKIE_ONLY, P4INFO_AND_COOKIE, DEVICE_CONFIG_AND_COOKIE")
        }
        return r
    }

    public static let apiVersion = "1.5.0"
}
