#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SluiceControlPlane
import SluiceIR
import SluiceRuntime
import Yams

// `jobs:`: workloads on named hosts, read after the topology so that their hosts can be checked.
extension TopologyReader {
    /// `jobs:` entries: `{name, workload, hosts, switch, ...parameters}`. `hosts` is a list of
    /// host names, `all` (every host in node order) or a count (the first N hosts).
    func readJobs(_ node: Node, topology: TopologySpec) throws(TopologyError) -> [JobSpec] {
        let items = try source.sequence(node, "jobs", valid: "- {workload: ddp, hosts: all, model: 100MB}")
        let hostNames = topology.hosts.map { topology.nodes[$0].name }
        let reach = Reachability(topology)
        var jobs: [JobSpec] = []
        for (i, item) in items.enumerated() {
            let path = "jobs[\(i)]"
            let m = try source.mapping(item, path, valid: "workload, hosts, name, switch and the workload's parameters")
            var job = JobSpec(name: "job\(i + 1)", workload: "", hosts: hostNames, origin: source.origin(item), baseDirectory: source.baseDirectory)
            var sawWorkload = false
            var hostsNode: Node? = nil, switchNode: Node? = nil
            for (k, v) in m {
                let key = try source.scalar(k, path, expected: "a field name")
                let field = Fields.join(path, key)
                if job.parameters.contains(where: { $0.key == key }) { throw source.error(k, field, "given twice") }
                switch key {
                case "workload": job.workload = try source.scalar(v, field, expected: "a workload name"); sawWorkload = true
                case "name": job.name = try source.name(v, field)
                case "switch": job.aggregator = try source.scalar(v, field, expected: "a switch name"); switchNode = v
                case "hosts":
                    hostsNode = v
                    if case .scalar = v {
                        let text = try source.scalar(v, field, expected: "all, a count or a list of hosts")
                        if text == "all" { job.hosts = hostNames }
                        else if let n = Int(text), n >= 1, n <= hostNames.count { job.hosts = Array(hostNames.prefix(n)) }
                        else {
                            throw source.error(v, field, "'\(text)'", valid: "all, a count from 1 to \(hostNames.count), or a list of host names")
                        }
                    } else {
                        let list = try source.sequence(v, field, valid: "a list of host names, e.g. [h1, h2]")
                        var names: [String] = []
                        for (j, n) in list.enumerated() {
                            let name = try source.scalar(n, field + "[\(j)]", expected: "a host name")
                            guard hostNames.contains(name) else {
                                throw source.error(n, field + "[\(j)]", "unknown host '\(name)'" + TopologySource.didYouMean(name, hostNames), valid: TopologySource.choices(hostNames))
                            }
                            guard !names.contains(name) else { throw source.error(n, field + "[\(j)]", "'\(name)' is listed twice", valid: "each host once: one rank per host") }
                            names.append(name)
                        }
                        job.hosts = names
                    }
                default:
                    let text = try source.scalar(v, field, expected: "a value such as 100MB, 2ms or ring")
                    job.parameters.append(.init(key: key, text: text, origin: source.origin(v)))
                }
            }
            guard sawWorkload else { throw source.error(item, path + ".workload", "missing", valid: "a workload name such as ddp, fsdp, pipeline, moe, background") }
            // Every rank talks to others (and to the aggregating switch): all must share a path.
            if let first = job.hosts.first, let a = topology.node(named: first) {
                var ends = job.hosts.dropFirst().map { (name: $0, node: hostsNode ?? item, field: path + ".hosts") }
                if let sw = job.aggregator { ends.append((sw, switchNode ?? item, path + ".switch")) }
                for end in ends {
                    guard let b = topology.node(named: end.name), !reach.connects(a, b) else { continue }
                    throw source.error(end.node, end.field, "job '\(job.name)' (\(first) -> \(end.name)): " + Reachability.problem(from: first, to: end.name),
                                       valid: Reachability.valid)
                }
            }
            jobs.append(job)
        }
        return jobs
    }
}
