import SluiceIR
import SluiceControlPlane
/// A topology after its file was read: generators expanded, defaults applied, units converted,
/// names resolved to indices. The emulator builds a network from this and nothing else; the
/// YAML reader (`TopologyFile`) is the only producer of it besides tests and benchmarks.
///
/// Units: time in integer picoseconds, rates in bits per second, sizes in bytes.
public struct TopologySpec: Hashable, Sendable {
    public var name: String
    /// Every node; a node's index here is its id everywhere else.
    public var nodes: [NodeSpec]
    public var links: [LinkSpec]
    /// Flows expanded from the file's `traffic` section (patterns already applied).
    public var flows: [FlowSpec]
    /// Stop here if nothing else stops the run first (`--until` overrides it); nil: run until no
    /// events remain.
    public var until: Int64?
    /// The file's `jobs` section: workloads to run on named hosts. The emulator does not read
    /// it; `SluiceML` builds and attaches each job (its parameters are checked there).
    public var jobs: [JobSpec] = []
    /// The file's `transport` (nil: not given; the emulator's default, RoCEv2).
    public var transport: TransportShape?
    /// Changes to the network during the run (the file's `events`), in the order given; the
    /// emulator runs them by time, ties in this order.
    public var events: [NetworkEvent] = []
    /// What the routing controller does while the run goes on (the file's `routing`).
    public var routing = RoutingPolicy()

    public init(name: String, nodes: [NodeSpec] = [], links: [LinkSpec] = [], flows: [FlowSpec] = [], until: Int64? = nil) {
        self.name = name; self.nodes = nodes; self.links = links; self.flows = flows; self.until = until
    }

    /// The index of the node named `name`.
    public func node(named name: String) -> Int? { nodes.firstIndex { $0.name == name } }
    /// Indices of the hosts, in node order.
    public var hosts: [Int] { nodes.indices.filter { nodes[$0].isHost } }
    /// Indices of the switches, in node order.
    public var switches: [Int] { nodes.indices.filter { !nodes[$0].isHost } }
}

public struct NodeSpec: Hashable, Sendable {
    public var name: String
    public var kind: Kind
    /// Every node has one MAC address (a switch uses it as the source of what it sends).
    public var mac: UInt64
    /// Where in the file the node was declared (`file:line`), for later errors; empty if generated.
    public var origin: String
    /// The partition the file puts it in (`partition:`) for parallel runs; nil: automatic.
    public var partition: Int?

    public enum Kind: Hashable, Sendable {
        case host(HostSpec)
        case `switch`(SwitchSpec)
    }

    public init(name: String, kind: Kind, mac: UInt64, origin: String = "") {
        self.name = name; self.kind = kind; self.mac = mac; self.origin = origin
    }

    public var isHost: Bool { if case .host = kind { return true } else { return false } }
    public var host: HostSpec? { if case .host(let h) = kind { return h } else { return nil } }
    public var switchSpec: SwitchSpec? { if case .switch(let s) = kind { return s } else { return nil } }
}

public struct HostSpec: Hashable, Sendable {
    /// The host's IPv4 address (host byte order: 10.0.0.1 is 0x0A00_0001).
    public var ipv4: UInt32
    public init(ipv4: UInt32) { self.ipv4 = ipv4 }
}

public struct SwitchSpec: Hashable, Sendable {
    /// A name from the program registry (`sluice programs`), or a program file's path.
    public var program: String
    /// The program a topology file's program file held, read (and verified) once when the file
    /// was read; nil for a built-in name.
    public var programFile: VerifiedProgram?
    /// An entries file (BMv2 runtime-CLI syntax), resolved relative to the topology file.
    public var entries: String?
    /// Let the routing controller install routes (programs that support it: `ecmp-router`).
    public var routing: Bool
    /// Route this switch as the routing controller routes the program of this name (a routed
    /// program whose tables this one shares: a program file made from it, or a variant); nil:
    /// as its own program.
    public var routesLike: String?

    /// Whether the switch runs the program named `name`, or one declared to share its tables
    /// (`routing: NAME`: a program file made from it, or a variant).
    public func isLike(_ name: String) -> Bool { program == name || routesLike == name }
    /// Time from arrival at the switch to the packet joining its egress queue, picoseconds.
    public var pipelineLatency: Int64
    /// Shared buffer for all queues of the switch in bytes; nil: each queue only has its own limit.
    public var buffer: Int?
    /// How the routing controller builds next-hop groups: equal (plain ECMP), weighted by the
    /// rate of each member's link (WCMP), or resilient (weighted, and removing a member moves
    /// only its flows).
    public var groups: NextHopGroupKind
    /// Buckets of weighted and resilient groups.
    public var groupBuckets: Int

    public init(program: String, entries: String? = nil, routing: Bool = true, pipelineLatency: Int64 = 0, buffer: Int? = nil,
                groups: NextHopGroupKind = .equal, groupBuckets: Int = 64) {
        self.program = program; self.entries = entries; self.routing = routing
        self.pipelineLatency = pipelineLatency; self.buffer = buffer
        self.groups = groups; self.groupBuckets = groupBuckets
    }
}

/// One end of a link: a node and its port number (`leaf1:p3` is port 3; `h1:eth0` is port 0).
public struct Endpoint: Hashable, Sendable {
    public var node: Int
    public var port: UInt16
    public init(node: Int, port: UInt16) { self.node = node; self.port = port }
}

/// A full-duplex link; both directions have the same properties.
public struct LinkSpec: Hashable, Sendable {
    public var a: Endpoint
    public var b: Endpoint
    public var rate: UInt64          // bits per second
    public var delay: Int64          // propagation delay, picoseconds
    public var loss: Double          // probability a packet is lost, 0 ..< 1
    public var mtu: Int              // largest IP packet in bytes (the frame adds 14 bytes)
    public var queue: QueueSpec      // the egress queue at each end
    public var capture: Bool         // write a pcap of both directions
    /// The capture's snap length (`capture: 128`); nil: the run's (`--snaplen`).
    public var captureSnaplen: Int? = nil
    public var origin: String        // `file:line`, or empty if generated

    public init(a: Endpoint, b: Endpoint, rate: UInt64 = 100_000_000_000, delay: Int64 = 1_000_000,
                loss: Double = 0, mtu: Int = 9000, queue: QueueSpec = QueueSpec(), capture: Bool = false, origin: String = "") {
        self.a = a; self.b = b; self.rate = rate; self.delay = delay; self.loss = loss
        self.mtu = mtu; self.queue = queue; self.capture = capture; self.origin = origin
    }
}

/// A drop-tail FIFO with an optional ECN marking ramp (RED-style on the instantaneous depth).
public struct QueueSpec: Hashable, Sendable {
    /// Most bytes the queue holds (the packet in transmission excluded); nil: packet limit only.
    public var limitBytes: Int?
    /// Most packets the queue holds; nil: byte limit only.
    public var limitPackets: Int?
    public var ecn: ECNSpec?
    public init(limitBytes: Int? = 4 << 20, limitPackets: Int? = nil, ecn: ECNSpec? = nil) {
        self.limitBytes = limitBytes; self.limitPackets = limitPackets; self.ecn = ecn
    }
}

/// Mark ECN-capable packets with probability 0 below `kmin` bytes of queue, rising linearly to
/// `pmax` at `kmax`, and 1 above `kmax` (DCTCP uses kmin = kmax).
public struct ECNSpec: Hashable, Sendable {
    public var kmin: Int
    public var kmax: Int
    public var pmax: Double
    public init(kmin: Int, kmax: Int, pmax: Double) { self.kmin = kmin; self.kmax = kmax; self.pmax = pmax }
}

/// One flow of traffic between two hosts.
public struct FlowSpec: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// UDP datagrams of `payload` bytes at a constant `rate` (bits per second of IP packets)
        /// until `bytes` of payload are sent.
        case udp(rate: UInt64)
        /// A reliable transfer of `bytes` over the emulator's transport (windowed, retransmits,
        /// DCTCP-style congestion control).
        case bulk
    }
    public var kind: Kind
    public var src: Int              // node index (a host)
    public var dst: Int              // node index (a host)
    public var bytes: Int            // payload bytes to deliver
    public var payload: Int          // payload bytes per packet
    public var start: Int64          // picoseconds
    public var srcPort: UInt16
    public var dstPort: UInt16
    public var origin: String

    public init(kind: Kind, src: Int, dst: Int, bytes: Int, payload: Int = 1400, start: Int64 = 0,
                srcPort: UInt16 = 10_000, dstPort: UInt16 = 20_000, origin: String = "") {
        self.kind = kind; self.src = src; self.dst = dst; self.bytes = bytes; self.payload = payload
        self.start = start; self.srcPort = srcPort; self.dstPort = dstPort; self.origin = origin
    }
}

/// One entry of a topology file's `jobs` section, as written: which workload, on which hosts
/// (rank i on `hosts[i]`), with which parameters (validated when the workload is built).
public struct JobSpec: Hashable, Sendable {
    public var name: String
    public var workload: String
    public var hosts: [String]
    /// The switch that aggregates, for in-network allreduces (`switch: sw`).
    public var aggregator: String?
    /// Every other key of the entry, in file order: (key, value text, "file:line").
    public var parameters: [Parameter]
    /// "file:line" of the entry.
    public var origin: String
    /// The folder of the topology file (relative file names in parameters resolve here).
    public var baseDirectory: String

    public struct Parameter: Hashable, Sendable {
        public var key: String
        public var text: String
        public var origin: String
        public init(key: String, text: String, origin: String) { self.key = key; self.text = text; self.origin = origin }
    }

    public init(name: String, workload: String, hosts: [String], aggregator: String? = nil, parameters: [Parameter] = [],
                origin: String = "", baseDirectory: String = ".") {
        self.name = name; self.workload = workload; self.hosts = hosts; self.aggregator = aggregator
        self.parameters = parameters; self.origin = origin; self.baseDirectory = baseDirectory
    }
}
