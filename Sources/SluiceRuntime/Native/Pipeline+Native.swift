import SluiceIR

/// The passes of `Pipeline` when native code runs the program: the same standard fields in,
/// the same decisions and statistics out as `ingressPass` and `egress` with closures. The
/// native engine refuses resubmit and recirculate, so a pass runs once.
extension Pipeline {
    /// Native code never resubmits or recirculates (`XDPSupport.check` refuses such programs),
    /// so its ingress always runs the first pass of a normal packet: instance type and pass
    /// count zero, as `sl_ingress` leaves them.
    @inlinable func nativeIngressPass(_ n: NativeEntry, _ buf: PacketBuffer, port: UInt16, timestamp: UInt64) -> IngressDecision {
        // The native code starts the metadata as `ingressPass` does: all zero, then the port,
        // length and time (48 bits); it returns where the packet goes.
        let r = n.ingress(n.state, buf.base, buf.position, UInt64(port), timestamp)
        let value = UInt16(truncatingIfNeeded: r >> 16)
        switch r & 0xFFFF {
        case 0: return .unicast(port: value)
        case NativeStages.multicast: return .multicast(group: value)
        default: countNativeDrop(r); return .drop
        }
    }

    /// The statistic of an `sl_ingress` result that dropped the packet.
    @usableFromInline func countNativeDrop(_ r: UInt64) {
        switch Int32(truncatingIfNeeded: r & 0xFFFF) {
        case NativeStages.dropParser: counters.parserDrops &+= 1
        case NativeStages.drop: counters.ingressDrops &+= 1
        default: counters.headroomDrops &+= 1
        }
    }

    @inline(__always) func nativeEgress(_ n: NativeEntry, _ out: PacketBuffer, port: UInt16, rid: UInt16, instance: InstanceType) -> Bool {
        let c = ctx
        c.enterEgress(port: port, rid: rid, instance: instance, length: out.length)
        switch n.egress(n.state, out.base, out.position) {
        case NativeStages.pass: return true
        case NativeStages.dropParser: counters.parserDrops += 1
        case NativeStages.drop: counters.egressDrops += 1
        default: counters.headroomDrops += 1
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
