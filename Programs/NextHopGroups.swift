import SluiceIR
import SluiceControlPlane

extension ECMPRouter {
    /// How a next-hop group spreads flows over its members.
    public typealias GroupKind = NextHopGroupKind

    /// A next-hop group of `ecmp-router` (and every program built on `routing`) as a bucket
    /// table: the route's `ecmp(group, count)` action scales the 5-tuple hash onto `count`
    /// buckets and `ecmp_nhop` maps (group, bucket) to a next hop. The data plane is the same
    /// for every kind; only how buckets are handed out differs, so weighted and resilient groups
    /// need no change to the program and work on every backend.
    ///
    /// An equal group has as many buckets as members, bucket i is member i: exactly what plain
    /// ECMP installs. Weighted and resilient groups keep `buckets` buckets (64 by default: with
    /// the 16-bit hash scaled onto 64 buckets, each holds 1024 hash values, so a member's share
    /// of flows is its bucket share exactly) and give each member its weight's share by the
    /// largest-remainder rule.
    public struct NextHopGroup: Hashable, Sendable {
        public typealias Member = NextHopMember

        public let id: UInt16
        public let kind: GroupKind
        /// Members by index; a removed member leaves nil so indices stay stable.
        public private(set) var members: [Member?]
        /// The member index of each bucket.
        public private(set) var buckets: [Int]

        /// A group over `members` (at least one, weights above 0). `buckets` applies to weighted
        /// and resilient groups (1 ... 4096, at least the number of members).
        public init(id: UInt16, kind: GroupKind, members: [Member], buckets: Int = 64) throws(ControlPlaneError) {
            guard !members.isEmpty else { throw ControlPlaneError("next-hop group \(id): no members") }
            if let bad = members.first(where: { $0.weight <= 0 }) {
                throw ControlPlaneError("next-hop group \(id): member on port \(bad.port) has weight \(bad.weight); weights must be above 0")
            }
            self.id = id
            self.kind = kind
            self.members = members
            if kind == .equal {
                self.buckets = Array(members.indices)
                return
            }
            guard (1...4096).contains(buckets), buckets >= members.count else {
                throw ControlPlaneError("next-hop group \(id): \(buckets) buckets for \(members.count) members (valid: \(members.count) ... 4096)")
            }
            self.buckets = []
            let shares = Self.shares(of: members.map(\.weight), over: buckets)
            for (m, n) in shares.enumerated() { self.buckets += Array(repeating: m, count: n) }
        }

        /// A group as it was installed: `buckets[b]` indexes `members`.
        init(id: UInt16, kind: GroupKind, members: [Member], assigned buckets: [Int]) {
            self.id = id; self.kind = kind; self.members = members; self.buckets = buckets
        }

        /// Buckets per member in proportion to `weights` (largest remainder, ties to the lower
        /// index), each member at least one.
        static func shares(of weights: [Int], over buckets: Int) -> [Int] {
            let total = weights.reduce(0, +)
            var n = weights.map { max(1, $0 * buckets / total) }
            var left = buckets - n.reduce(0, +)
            // Remainders first: the members furthest below their exact share get the rest.
            let order = weights.indices.sorted { a, b in
                let ra = weights[a] * buckets - n[a] * total, rb = weights[b] * buckets - n[b] * total
                return ra != rb ? ra > rb : a < b
            }
            var i = 0
            while left > 0 { n[order[i % order.count]] += 1; left -= 1; i += 1 }
            while left < 0 {   // the minimum of one bucket each overshot: take from the largest
                let j = n.indices.max { n[$0] < n[$1] }!
                n[j] -= 1; left += 1
            }
            return n
        }

        /// The members still in the group, by index.
        public var live: [Int] { members.indices.filter { members[$0] != nil } }

        /// Buckets held by member `m`.
        public func bucketCount(of m: Int) -> Int { buckets.reduce(0) { $0 + ($1 == m ? 1 : 0) } }

        /// Take member `m` out. Resilient and weighted groups hand its buckets, one at a time,
        /// to the live member furthest below its weighted share, and return the buckets that
        /// changed (only `m`'s). An equal group shrinks to the remaining members and returns
        /// every bucket (plain ECMP rescales: flows of other members move too; install the
        /// new `routeAction` as well).
        @discardableResult
        public mutating func remove(member m: Int) throws(ControlPlaneError) -> [Int] {
            guard members.indices.contains(m), members[m] != nil else {
                throw ControlPlaneError("next-hop group \(id): no member \(m) (members: \(live.map(String.init).joined(separator: ", ")))")
            }
            guard live.count > 1 else { throw ControlPlaneError("next-hop group \(id): cannot remove the last member") }
            members[m] = nil
            if kind == .equal {
                let keep = members.compactMap { $0 }
                members = keep
                buckets = Array(keep.indices)
                return Array(buckets.indices)
            }
            let moved = buckets.indices.filter { buckets[$0] == m }
            for b in moved { buckets[b] = neediest() }
            return moved
        }

        /// Add a member. Resilient and weighted groups move buckets to it one at a time from the
        /// member furthest above its share, and return the buckets that changed; an equal group
        /// grows by one bucket and returns every bucket.
        @discardableResult
        public mutating func add(_ member: Member) throws(ControlPlaneError) -> [Int] {
            guard member.weight > 0 else { throw ControlPlaneError("next-hop group \(id): weight \(member.weight); weights must be above 0") }
            if kind == .equal {
                members.append(member)
                buckets = Array(members.indices)
                return Array(buckets.indices)
            }
            guard live.count < buckets.count else {
                throw ControlPlaneError("next-hop group \(id): \(buckets.count) buckets are all taken by \(live.count) members")
            }
            members.append(member)
            let new = members.count - 1
            let target = Self.shares(of: live.map { members[$0]!.weight }, over: buckets.count)[live.firstIndex(of: new)!]
            var changed: [Int] = []
            while bucketCount(of: new) < target {
                let donor = richest(excluding: new)
                let b = buckets.lastIndex(of: donor)!
                buckets[b] = new
                changed.append(b)
            }
            return changed.sorted()
        }

        /// Give member `m` weight `weight`. Resilient and weighted groups then move buckets one
        /// at a time, each the last bucket of a member above its share (by `shares`), to a
        /// member below it, and return the buckets that changed: the other flows keep their
        /// next hop. An equal group ignores weights and changes nothing.
        @discardableResult
        public mutating func reweight(member m: Int, to weight: Int) throws(ControlPlaneError) -> [Int] {
            guard members.indices.contains(m), members[m] != nil else {
                throw ControlPlaneError("next-hop group \(id): no member \(m) (members: \(live.map(String.init).joined(separator: ", ")))")
            }
            guard weight > 0 else { throw ControlPlaneError("next-hop group \(id): weight \(weight); weights must be above 0") }
            members[m]!.weight = weight
            guard kind != .equal else { return [] }
            let l = live
            let target = Self.shares(of: l.map { members[$0]!.weight }, over: buckets.count)
            var changed: [Int] = []
            while let giver = l.indices.first(where: { bucketCount(of: l[$0]) > target[$0] }),
                  let taker = l.indices.first(where: { bucketCount(of: l[$0]) < target[$0] }) {
                let b = buckets.lastIndex(of: l[giver])!
                buckets[b] = l[taker]
                changed.append(b)
            }
            return changed.sorted()
        }

        /// How far each live member is above (> 0) or below its exact share, in buckets x total weight.
        private func surplus(_ m: Int) -> Int {
            let total = live.reduce(0) { $0 + members[$1]!.weight }
            return bucketCount(of: m) * total - members[m]!.weight * buckets.count
        }

        private func neediest() -> Int { live.min { surplus($0) < surplus($1) }! }
        private func richest(excluding x: Int) -> Int { live.filter { $0 != x }.max { surplus($0) < surplus($1) }! }

        /// The route action for this group: `ecmp(id, bucket count)`.
        public var routeAction: ActionCall { ActionCall("ecmp", [UInt128(id), UInt128(buckets.count)]) }

        /// The `ecmp_nhop` entry of bucket `b`.
        public func entry(bucket b: Int) -> TableEntry {
            let m = members[buckets[b]]!
            return TableEntry([.exact(UInt128(id)), .exact(UInt128(b))], ActionCall("forward", [UInt128(m.port), UInt128(m.mac)]))
        }

        /// Insert or update the `ecmp_nhop` entries of `buckets` (all of them by default).
        public func install(_ cp: any ControlPlane, buckets which: [Int]? = nil) throws(ControlPlaneError) {
            for b in which ?? Array(buckets.indices) { try cp.upsert("ecmp_nhop", entry(bucket: b)) }
        }
    }
}

extension ECMPRouter {
    /// How the routing controller writes routes into `routing`'s tables: the switch's MAC as
    /// `switch_mac`'s default, groups as `ecmp_nhop` buckets, routes as `ipv4_lpm` entries.
    public struct Routes: RouteInstaller {
        public init() {}

        public func switchMAC(_ mac: UInt64) -> (table: String, action: ActionCall) {
            ("switch_mac", ActionCall("set_switch_mac", [UInt128(mac)]))
        }

        public func forward(_ hop: NextHopMember) -> ActionCall {
            ActionCall("forward", [UInt128(hop.port), UInt128(hop.mac)])
        }

        public func group(id: UInt16, kind: NextHopGroupKind, members: [NextHopMember], buckets: Int) throws(ControlPlaneError) -> RouteGroupEntries {
            let g = try NextHopGroup(id: id, kind: kind, members: members, buckets: buckets)
            return RouteGroupEntries(table: "ecmp_nhop", entries: g.buckets.indices.map { g.entry(bucket: $0) }, buckets: g.buckets,
                                     routeAction: g.routeAction)
        }

        /// Resilient and weighted groups: the members that stay keep their buckets (new
        /// members take theirs first, then the buckets of the members that left are handed
        /// out, then members whose weight changed give up or take buckets); equal groups are
        /// built afresh (ECMP rehashes).
        public func regroup(id: UInt16, kind: NextHopGroupKind, previous: [NextHopMember], previousBuckets: [Int],
                            members: [NextHopMember], buckets: Int) throws(ControlPlaneError) -> RouteGroupEntries {
            guard kind != .equal, previousBuckets.count == buckets, !previous.isEmpty,
                  previousBuckets.allSatisfy({ previous.indices.contains($0) }) else {
                return try group(id: id, kind: kind, members: members, buckets: buckets)
            }
            var g = NextHopGroup(id: id, kind: kind, members: previous, assigned: previousBuckets)
            let ports = Set(members.map(\.port))
            for m in members where !previous.contains(where: { $0.port == m.port }) { try g.add(m) }
            for (i, m) in previous.enumerated() where !ports.contains(m.port) { try g.remove(member: i) }
            // Members that stay with another weight (their link's rate changed).
            for (i, m) in previous.enumerated() {
                if let now = members.first(where: { $0.port == m.port }), now.weight != m.weight { try g.reweight(member: i, to: now.weight) }
            }
            var index: [UInt16: Int] = [:]
            for (i, m) in members.enumerated() { index[m.port] = i }
            return RouteGroupEntries(table: "ecmp_nhop", entries: g.buckets.indices.map { g.entry(bucket: $0) },
                                     buckets: g.buckets.map { index[g.members[$0]!.port]! }, routeAction: g.routeAction)
        }

        public func route(ipv4: UInt32, prefixLength: Int, _ action: ActionCall) -> (table: String, entry: TableEntry) {
            ("ipv4_lpm", TableEntry([.lpm(UInt128(ipv4), prefixLength: prefixLength)], action))
        }
    }
}
