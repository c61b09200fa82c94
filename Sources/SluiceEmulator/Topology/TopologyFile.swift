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

/// Reads a topology file (YAML, shaped like containerlab's) into a `TopologySpec`: generators
/// expanded, defaults and kinds applied, units converted, names resolved, traffic patterns
/// expanded. Every problem is a `TopologyError` naming the file, line, field and what would be
/// valid; the first one found is thrown.
///
/// ```yaml
/// name: leafspine-16                 # optional; default: the file name without .yaml
/// topology:
///   generator:                       # optional; makes nodes and links first
///     leaf-spine: {spines: 2, leaves: 4, hosts-per-leaf: 4}
///   defaults:                        # for every link / switch unless it says otherwise
///     link: {rate: 100Gbps, delay: 1us, mtu: 9000, loss: 0, capture: false,
///            queue: {limit: 4MB, ecn: {kmin: 64KB, kmax: 64KB, pmax: 1.0}}}
///     switch: {program: ecmp-router, pipeline-latency: 0ns}
///   kinds:                           # named node templates
///     tor: {program: ecmp-router, entries: tor.entries}
///   nodes:                           # new nodes, or changes to generated ones (by name)
///     s1: {kind: switch, program: ipv4-router, entries: s1.entries, routing: false,
///          pipeline-latency: 500ns, buffer: 16MiB}
///     t1: {kind: tor}
///     h1: {kind: host, ipv4: 10.0.0.1, mac: "02:00:00:00:00:01"}
///   links:                           # added after the generator's
///     - endpoints: ["s1:p1", "h1:eth0"]
///     - endpoints: ["s1:p2", "t1:p1"]
///       rate: 10Gbps
///       delay: 2us
///       queue: {limit: 1000p, ecn: off}
///       capture: true
/// traffic:
///   - {kind: udp, from: h1, to: h2, rate: 45Gbps, size: 10MB, payload: 4000B, start: 0us}
///   - {kind: bulk, from: h1, to: h3, size: 1MiB, sport: 4000, dport: 4791}
///   - {pattern: shift, offset: 8, kind: udp, rate: 45Gbps, size: 10000000, payload: 4000}
///   - {pattern: permutation, kind: bulk, size: 1MiB}
///   - {pattern: incast, to: h1, from: [h2, h3, h4], kind: bulk, size: 1MiB}
/// until: 10ms                        # optional end of the run
/// ```
///
/// Fields:
/// - Links: `rate` (bps, Kbps, Mbps, Gbps, Tbps; default 100Gbps), `delay` (ps, ns, us, ms, s;
///   default 1us), `mtu` (bytes of IP packet, 68 to 65535; default 9000), `loss` (a probability
///   below 1: `0.001` or `0.1%`; default 0), `queue.limit` (a size: B, KB, MB, GB, KiB, MiB, GiB
///   or a plain number of bytes; or packets: `1000p`, `1000 packets`; default 4MiB),
///   `queue.ecn` (`{kmin, kmax, pmax}`: sizes and a probability; `kmax` defaults to `kmin`,
///   `pmax` to 1; `off` for none; default none), `capture` (bool; default false). A link's
///   `queue` changes only the fields it names.
/// - Endpoints are `node:port`; the port number is the trailing integer of the port name
///   (`p3` is 3, `eth0` is 0, `3` is 3). A port joins one link; a host has exactly one link.
/// - Nodes: `kind` is `host`, `switch` or a name under `kinds` (required for a new node).
///   Switches: `program` (a name from `sluice programs`; required here, in the kind or in
///   `defaults.switch`), `entries` (an entries file, relative to the topology file),
///   `routing` (let the routing controller install routes; default: true without `entries`;
///   or the name of a routed program, `routing: ecmp-router`, to route a program file or a
///   variant that shares that program's route tables: checked against its tables when read),
///   `pipeline-latency` (a time), `buffer` (a size shared by the switch's queues), `groups`
///   (how routing builds next-hop groups: `equal`, plain ECMP, the default; `weighted`, buckets
///   in proportion to each member's link rate; `resilient`, weighted buckets where a removed
///   member's flows alone move), `group-buckets` (buckets of weighted/resilient groups, 1 ...
///   4096, default 64). Hosts:
///   `ipv4` (default: the k-th host in node order is 10.0.0.0 + k). Both: `mac` (default: node
///   index n gets 02:00:00:00:00:00 + n + 1).
/// - Generators (see `Generators` for names and port layouts): `leaf-spine {spines, leaves,
///   hosts-per-leaf}`, `fat-tree {k}`, `dumbbell {hosts-per-side, bottleneck-rate}`,
///   `star {hosts}`. Their nodes come first, in the generator's order, then the file's.
/// - Traffic (see `Traffic`): `kind` `udp` (needs `rate`) or `bulk`; `size` (bytes to deliver),
///   `payload` (bytes per packet, default 1400), `start` (default 0), `sport` (default 10000 +
///   the flow's index), `dport` (default 20000); `from`/`to` hosts, or a `pattern`: `shift`
///   (`offset`), `permutation` (seeded), `incast` (`to`, optional `from` list).
///
/// Quantities are exact: decimals are read as integers (`1.5us` is 1,500,000 ps), and a value
/// that is not a whole number of the base unit is an error.
public enum TopologyFile {
    /// Reads and parses the file at `path`; entries files and program files are relative to its
    /// directory. `seed` drives the random traffic patterns (`permutation`); `programs` says
    /// which program names exist (`ProgramRegistry.resolver` for the built-in ones).
    public static func load(path: String, seed: UInt64 = 1, programs: ProgramResolver) throws(TopologyError) -> TopologySpec {
        let text = try readText(path)
        return try parse(text, file: path, baseDirectory: directory(of: path), seed: seed, programs: programs)
    }

    /// Parses a topology document. `file` names it in errors; `baseDirectory` is where relative
    /// entries and program paths start; `programs` says which program names exist.
    public static func parse(_ text: String, file: String, baseDirectory: String, seed: UInt64 = 1,
                             programs: ProgramResolver) throws(TopologyError) -> TopologySpec {
        let source = TopologySource(file: file, baseDirectory: baseDirectory, programs: programs)
        if let line = NestingLimit.firstLineTooDeep(text) {
            throw TopologyError(file: file, line: line, field: "", problem: "nested more than \(NestingLimit.maxDepth) levels deep",
                                valid: "a topology nests a few levels; this looks like damaged or generated YAML")
        }
        let root: Node
        do {
            guard let r = try Yams.compose(yaml: text) else {
                throw source.error(nil, "", "the document is empty", valid: "a mapping with 'topology'")
            }
            root = r
        } catch let e as TopologyError {
            throw e
        } catch let e as YamlError {
            throw source.yamlError(e)
        } catch {
            throw source.error(nil, "", "malformed YAML: \(error)")
        }
        return try TopologyReader(source: source, seed: seed).read(root)
    }

    // MARK: files

    static func readText(_ path: String) throws(TopologyError) -> String {
        do { return try FileIO.readText(path) } catch {
            if error.unreadable { throw .unreadable(path, reason: error.reason) }
            throw TopologyError(file: path, line: nil, field: "", problem: "'\(path)': \(error.reason)")
        }
    }

    static func isReadable(_ path: String) -> Int32? {
        guard let f = fopen(path, "rb") else { return errno }
        defer { fclose(f) }
        var byte: UInt8 = 0
        _ = fread(&byte, 1, 1, f)
        return ferror(f) != 0 ? errno : nil
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `relative` against `base`, unless it is absolute or base is the current directory.
    static func resolve(_ relative: String, against base: String) -> String { FileIO.path(relative, against: base) }
}
