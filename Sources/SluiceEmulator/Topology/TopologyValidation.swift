#if canImport(Glibc)
import SluiceSupport
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SluiceControlPlane
import SluiceIR
import SluiceRuntime
import Yams

// Nodes resolved against each other: addresses and MACs unique, programs and entries files checked.
extension TopologyReader {
    /// Assigns MACs and host addresses, applies switch defaults, checks programs and entries.
    func resolveNodes(_ drafts: [NodeDraft], switchDefaults: SwitchFields) throws(TopologyError) -> [NodeSpec] {
        var nodes: [NodeSpec] = []
        // Programs found to take a routed program's entries (`routing: NAME`), checked once each.
        var routable = Set<String>()
        var macs: [UInt64: String] = [:]
        var addresses: [UInt32: String] = [:]
        var hostNumber: UInt32 = 0
        for (n, d) in drafts.enumerated() {
            let origin = d.generated ? "" : source.origin(d.node)
            let mac = d.mac?.value ?? (0x0200_0000_0000 | UInt64(n + 1))
            if let other = macs[mac] {
                throw source.error(d.mac?.node ?? d.node, d.mac?.field ?? d.field, "\(macText(mac)) is already the MAC of '\(other)'", valid: "a MAC no other node has")
            }
            macs[mac] = d.name
            if d.isHost {
                hostNumber += 1
                let address = d.ipv4?.value ?? (0x0A00_0000 &+ hostNumber)
                if let other = addresses[address] {
                    throw source.error(d.ipv4?.node ?? d.node, d.ipv4?.field ?? d.field,
                                       "\(ipv4Text(address)) is already the address of '\(other)'", valid: "an address no other host has")
                }
                addresses[address] = d.name
                nodes.append(NodeSpec(name: d.name, kind: .host(HostSpec(ipv4: address)), mac: mac, origin: origin))
                nodes[nodes.count - 1].partition = d.partition
            } else {
                let f = switchDefaults.overlaid(by: d.switchFields)
                guard let program = f.program else {
                    let hint = d.generated ? "set defaults.switch.program" : "set it here, in its kind or in defaults.switch"
                    throw source.error(d.node, d.field, "switch '\(d.name)' has no program; \(hint)", valid: source.programs.names.joined(separator: ", "))
                }
                // A program file (`sluice compile P --emit program`), relative to the topology file.
                let isFile = ProgramFile.looksLikePath(program.value)
                let programName = isFile ? TopologyFile.resolve(program.value, against: source.baseDirectory) : program.value
                var programFile: VerifiedProgram? = nil
                if isFile {
                    do { programFile = try ProgramFile.load(path: programName) } catch {
                        throw source.error(program.node, program.field, "\(error)", valid: "a program file that `sluice compile PROGRAM --emit program` wrote, relative to the topology file")
                    }
                } else if source.programs.program(named: program.value) == nil {
                    let names = source.programs.names
                    throw source.error(program.node, program.field, "unknown program '\(program.value)'" + TopologySource.didYouMean(program.value, names),
                                       valid: names.joined(separator: ", ") + ", or a program file (.json)")
                }
                var entries: String? = nil
                if let e = f.entries {
                    let path = TopologyFile.resolve(e.value, against: source.baseDirectory)
                    if let code = TopologyFile.isReadable(path) {
                        throw source.error(e.node, e.field, "cannot read '\(path)': \(FileIO.reason(code))",
                                           valid: "an entries file, relative to the topology file")
                    }
                    entries = path
                }
                let routingField = f.routing?.value ?? (entries == nil ? .on : .off)
                var routesLike: String? = nil
                if case .like(let name) = routingField { routesLike = name }
                let routing = routingField != .off
                if routing && routesLike == nil && !source.programs.routedNames.contains(program.value) {
                    // Caught here rather than when the emulator starts, so the error has a line.
                    let names = source.programs.routedNames.joined(separator: ", ")
                    let problem = "the routing controller fills only switches running \(names), and '\(d.name)' runs '\(program.value)'"
                    let valid = "program: one of \(names); routing: NAME (one of those) for a program whose route tables are NAME's; or an entries file instead of routing"
                    if let r = f.routing { throw source.error(r.node, r.field, problem, valid: valid) }
                    throw source.error(program.node, program.field, problem + " with no entries file", valid: valid)
                }
                if let like = routesLike, let r = f.routing, let installer = source.programs.program(named: like)?.routes,
                   !routable.contains(programName + "\u{0}" + like) {
                    // The program must take that program's route entries: checked on its IR now.
                    let ir: VerifiedProgram
                    if let file = programFile { ir = file } else {
                        do { ir = try source.programs.resolve(program.value).program } catch {
                            throw source.error(program.node, program.field, "\(error)", valid: source.programs.names.joined(separator: ", "))
                        }
                    }
                    do { try installer.check(ir.program) } catch {
                        throw source.error(r.node, r.field, "'\(d.name)' runs '\(program.value)', whose tables do not take \(like)'s routes: \(error)",
                                           valid: "a program with \(like)'s route tables and actions, or an entries file instead of routing")
                    }
                    routable.insert(programName + "\u{0}" + like)
                }
                var s = SwitchSpec(program: programName, entries: entries, routing: routing,
                                   pipelineLatency: f.pipelineLatency ?? 0, buffer: f.buffer,
                                   groups: f.groups ?? .equal, groupBuckets: f.groupBuckets ?? 64)
                s.routesLike = routesLike
                s.programFile = programFile
                nodes.append(NodeSpec(name: d.name, kind: .switch(s), mac: mac, origin: origin))
                nodes[nodes.count - 1].partition = d.partition
            }
        }
        return nodes
    }
}
