import SluiceIR

/// The passes of `Pipeline` when native code runs the program: the same standard fields in,
/// the same decisions and statistics out as `ingressPass` and `egress` with closures. The
/// native engine refuses resubmit and recirculate, so a pass runs once.
extension Pipeline {
    @inline(__always) func nativeIngressPass(_ n: NativeEntry, _ buf: PacketBuffer, port: UInt16, timestamp: UInt64,
                                             pass: Int, instance: InstanceType) -> IngressDecision {
        // The native code starts the metadata as `ingressPass` does: all zero, then the port,
        // length, time (48 bits), instance and pass.
        switch n.ingress(n.state, buf.base, buf.position, UInt64(port), timestamp, instance.rawValue, UInt64(pass)) {
        case NativeStages.pass: break
        case NativeStages.dropParser: stats.parserDrops += 1; return .drop
        case NativeStages.drop: stats.ingressDrops += 1; return .drop
        default: stats.headroomDrops += 1; return .drop
        }
        let c = ctx
        let group = UInt16(truncatingIfNeeded: c.std(.mcastGrp))
        if group != 0 { return .multicast(group: group) }
        return .unicast(port: UInt16(truncatingIfNeeded: c.std(.egressSpec)))
    }

    @inline(__always) func nativeEgress(_ n: NativeEntry, _ out: PacketBuffer, port: UInt16, rid: UInt16, instance: InstanceType) -> Bool {
        let c = ctx
        c.enterEgress(port: port, rid: rid, instance: instance, length: out.length)
        switch n.egress(n.state, out.base, out.position) {
        case NativeStages.pass: return true
        case NativeStages.dropParser: stats.parserDrops += 1
        case NativeStages.drop: stats.egressDrops += 1
        default: stats.headroomDrops += 1
        }
        return false
    }
}

extension ExecContext {
    /// The standard fields egress starts a copy with, whichever engine runs it.
    @inline(__always) func enterEgress(port: UInt16, rid: UInt16, instance: InstanceType, length: Int) {
        setStd(.egressPort, UInt64(port))
        setStd(.egressRid, UInt64(rid))
        setStd(.instanceType, instance.rawValue)
        setStd(.packetLength, UInt64(length))
        setStd(.drop, 0)
        setStd(.parserError, 0)
    }
}

extension NativeStages {
    /// The native stages of `program`, or nil and why not.
    static func attempt(_ program: VerifiedProgram, compiler: ProgramCompiler, context: ExecContext, queues: Bool) -> (NativeStages?, String?) {
        do { return (try NativeStages(program, compiler: compiler, context: context, queues: queues), nil) } catch { return (nil, "\(error)") }
    }
}
