import SluiceControlPlane
import SluiceIR

/// The pipeline's own trace points (packet, stages, drops, the traffic manager's decision,
/// deparsed bytes, outputs). The pipeline's packet path is generic over this: `Untraced`'s
/// empty inline methods specialize away, so an untraced pipeline runs the code it ran before
/// traces existed; `Traced` forwards to a `PipelineTracer`.
protocol PassTrace {
    func ingressBegins(_ c: ExecContext, port: UInt16, pass: Int, instance: InstanceType)
    func parsed(_ c: ExecContext, accepted: Bool)
    func stage(_ name: String)
    func dropped(_ stage: String, _ why: String?)
    func deparsed(_ c: ExecContext, _ buf: PacketBuffer)
    func unicast(_ port: UInt16)
    func multicast(_ group: UInt16, _ members: UnsafeBufferPointer<MulticastMember>)
    func egressBegins(port: UInt16, rid: UInt16, instance: InstanceType)
    func emitted(port: UInt16, _ buf: PacketBuffer)
    func recirculates()
}

struct Untraced: PassTrace {
    @inline(__always) func ingressBegins(_ c: ExecContext, port: UInt16, pass: Int, instance: InstanceType) {}
    @inline(__always) func parsed(_ c: ExecContext, accepted: Bool) {}
    @inline(__always) func stage(_ name: String) {}
    @inline(__always) func dropped(_ stage: String, _ why: String?) {}
    @inline(__always) func deparsed(_ c: ExecContext, _ buf: PacketBuffer) {}
    @inline(__always) func unicast(_ port: UInt16) {}
    @inline(__always) func multicast(_ group: UInt16, _ members: UnsafeBufferPointer<MulticastMember>) {}
    @inline(__always) func egressBegins(port: UInt16, rid: UInt16, instance: InstanceType) {}
    @inline(__always) func emitted(port: UInt16, _ buf: PacketBuffer) {}
    @inline(__always) func recirculates() {}
}

struct Traced: PassTrace {
    let t: PipelineTracer
    let spans: [(valid: Int, offset: Int, size: Int)]

    func ingressBegins(_ c: ExecContext, port: UInt16, pass: Int, instance: InstanceType) {
        t.dropSite = nil
        t.stage("parser", pass == 0 ? "ingress parser" : "ingress parser (pass \(pass), \(instance))",
                [("stage", .string("ingress")), ("pass", .int(Int64(pass)))])
    }
    func parsed(_ c: ExecContext, accepted: Bool) { t.parsed(c, accepted: accepted) }
    func stage(_ name: String) { t.stage(name) }
    func dropped(_ stage: String, _ why: String?) { t.dropped(stage, why) }
    func deparsed(_ c: ExecContext, _ buf: PacketBuffer) { t.deparsed(c, buf, spans: spans) }
    func unicast(_ port: UInt16) {
        t.depth = 1
        t.add("traffic_manager", "traffic manager: unicast to port \(port)", [("decision", .string("unicast")), ("port", .int(Int64(port)))])
    }
    func multicast(_ group: UInt16, _ members: UnsafeBufferPointer<MulticastMember>) {
        t.depth = 1
        let copies = members.map { "port \($0.port) rid \($0.rid)" }
        t.add("traffic_manager", "traffic manager: multicast group \(group), \(members.count) copies" + (copies.isEmpty ? " (empty group: dropped)" : ": " + copies.joined(separator: ", ")),
              [("decision", .string("multicast")), ("group", .int(Int64(group))), ("copies", .int(Int64(members.count))), ("ports", .list(members.map { String($0.port) }))])
    }
    func egressBegins(port: UInt16, rid: UInt16, instance: InstanceType) {
        t.dropSite = nil
        t.stage("egress", "egress port \(port) (rid \(rid), \(instance))",
                [("stage", .string("egress")), ("port", .int(Int64(port))), ("rid", .int(Int64(rid))), ("instance", .string("\(instance)"))])
    }
    func emitted(port: UInt16, _ buf: PacketBuffer) {
        t.depth = 1
        t.add("output", "out port \(port): \(buf.length) bytes", [("port", .int(Int64(port))), ("length", .int(Int64(buf.length)))])
    }
    func recirculates() {
        t.depth = 1
        t.add("recirculate", "recirculated: the deparsed copy enters the ingress parser again")
    }
}
