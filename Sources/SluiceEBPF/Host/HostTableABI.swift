import SluiceIR

/// How host C reads a runtime table without calling back: the runtime publishes, after every
/// change of the table, one `struct sl_table` of 8-byte words pointing into the memory its own
/// index and entry arrays already use (no copy), and the C looks up in that memory as the
/// runtime's index would. This file is the one place both sides take the layout from: the C
/// structs are written from it and the runtime writes the words by it.
public enum HostTableABI {
    /// Which of the runtime's indexes holds a table's entries (the runtime and the C agree).
    public enum Index: Sendable, Equatable {
        /// Tuple-space search (exact, ternary, optional, LPM beside other keys).
        case tupleSpace
        /// One LPM key of 16 to 64 bits: exact tables per prefix length, lengths per bucket.
        case lpm
        /// A first-match scan by priority (tables with a range key).
        case linear

        public static func of(kinds: [MatchKind], widths: [Int]) -> Index {
            if kinds.contains(.range) { return .linear }
            if kinds == [.lpm], (16...64).contains(widths[0]) { return .lpm }
            return .tupleSpace
        }
    }

    /// The words of `struct sl_table`, in order; `lpmLengths` is the last and has `lengthSlots`.
    public enum Word: Int, CaseIterable, Sendable {
        /// Tuple space: its tuples, by maximum priority descending (`struct sl_tuple`), and how many.
        case tuples, tupleCount
        /// Linear: rows of (mask, lo, hi) per key word, the entry of each row, how many rows.
        case rows, rowEntries, rowCount
        /// LPM: per bucket of the key's top 16 bits, bit L-1 set where a length L may match;
        /// the lengths present; whether few enough to probe those up to the bucket's longest
        /// instead of reading its bitmap; the entry of length 0 (or -1); per bucket, its longest
        /// length (a byte, 0 for none).
        case lpmBuckets, lpmPresent, lpmFew, lpmDefault, lpmLongest
        /// Per entry: the action's number, `stride` words of arguments, direct counters.
        case entryAction, actionData, stride, hitPackets, hitBytes
        /// The default action's number and arguments.
        case defaultAction, defaultData
        /// LPM: the tuple of each prefix length 0...64, or null where there is none.
        case lpmLengths

        var cDecl: String {
            switch self {
            case .tuples: "const struct sl_tuple *tuples;"
            case .tupleCount: "__s64 tuple_count;"
            case .rows: "const __u64 *rows;"
            case .rowEntries: "const __s32 *row_entries;"
            case .rowCount: "__s64 row_count;"
            case .lpmBuckets: "const __u64 *lpm_buckets;"
            case .lpmPresent: "__u64 lpm_present;"
            case .lpmFew: "__s64 lpm_few;"
            case .lpmDefault: "__s64 lpm_default;"
            case .lpmLongest: "const __u8 *lpm_longest;"
            case .entryAction: "const __s32 *entry_action;"
            case .actionData: "const __u64 *action_data;"
            case .stride: "__s64 stride;"
            case .hitPackets: "__u64 *hit_packets;"
            case .hitBytes: "__u64 *hit_bytes;"
            case .defaultAction: "__s64 default_action;"
            case .defaultData: "const __u64 *default_data;"
            case .lpmLengths: "const struct sl_tuple *lpm_lengths[\(HostTableABI.lengthSlots)];"
            }
        }

        /// Byte offset in the descriptor.
        public var offset: Int { rawValue * 8 }
    }

    /// Prefix lengths 0...64.
    public static let lengthSlots = 65
    /// Bytes of one `struct sl_table`.
    public static var descriptorBytes: Int { Word.lpmLengths.offset + 8 * lengthSlots }

    /// Where the C expects the fields of the runtime's tuple (`TupleTable`): the runtime checks
    /// its own layout against these before it lets C read its tables. A tuple's slots are a
    /// 16-byte header (insertion number, 0 when empty; entry; priority) and its key words.
    public struct TupleLayout: Equatable, Sendable {
        public var slots = 0, capacityMask = 8, mask = 24, maxPriority = 32, stride = 48
        public var slotHeader = 16, slotEntry = 8, slotPriority = 12
        public init() {}
    }
    public static let tuple = TupleLayout()

    /// The C of the structs and the lookups, for `HostPrelude`.
    static var cText: String {
        let t = tuple
        return """
            /* The runtime's table memory (HostTableABI): a tuple is one mask's entries in an
               open-addressing table of slots (insertion number, 0 when empty; entry; priority;
               then the key words), found by the runtime's hash of the masked key words. */
            struct sl_tuple {
                __u8 *slots;               /* offset \(t.slots) */
                __s64 cap_mask;            /* offset \(t.capacityMask) */
                __u64 mask0;
                const __u64 *mask;         /* offset \(t.mask) */
                __s32 max_priority;        /* offset \(t.maxPriority) */
                __s32 count;
                __s32 max_count;
                __u8 full;
            };
            _Static_assert(sizeof(struct sl_tuple) == \(t.stride), "sl_tuple");

            struct sl_table {
            \(Word.allCases.map { "    " + $0.cDecl }.joined(separator: "\n"))
            };
            _Static_assert(sizeof(struct sl_table) == \(descriptorBytes), "sl_table");

            static __always_inline __u64 sl_mix(__u64 a, __u64 b)
            {
                unsigned __int128 r = (unsigned __int128)a * b;
                return (__u64)(r >> 64) ^ (__u64)r;
            }

            /* The runtime's hash of `n` masked key words (TableHash). */
            static __always_inline __u64 sl_hash(const __u64 *k, int n)
            {
                __u64 h = 0xa0761d6478bd642fULL;
                for (int w = 0; w < n; w++) h = sl_mix(h ^ k[w], 0xe7037ed1a0b428dbULL);
                return h;
            }

            /* The entry of masked key `k` (n words) in tuple `t`, or -1; *prio and *seq its
               priority and insertion number. */
            static __always_inline __s32 sl_probe(const struct sl_tuple *t, const __u64 *k, int n, __s32 *prio, __u64 *seq)
            {
                for (__s64 i = (__s64)sl_hash(k, n) & t->cap_mask;; i = (i + 1) & t->cap_mask) {
                    const __u8 *sl = t->slots + i * (\(t.slotHeader) + 8 * n);
                    __u64 q = *(const __u64 *)sl;
                    if (q == 0) return -1;
                    const __u64 *sk = (const __u64 *)(sl + \(t.slotHeader));
                    int w = 0;
                    while (w < n && sk[w] == k[w]) w++;
                    if (w == n) {
                        *prio = *(const __s32 *)(sl + \(t.slotPriority));
                        *seq = q;
                        return *(const __s32 *)(sl + \(t.slotEntry));
                    }
                }
            }

            /* Exact keys only: at most one tuple, its mask all ones. */
            static __always_inline __s32 sl_exact(const struct sl_table *t, const __u64 *k, int n)
            {
                __s32 p; __u64 q;
                return t->tuple_count ? sl_probe(t->tuples, k, n, &p, &q) : -1;
            }

            /* Tuple-space search: the highest priority matching, the first inserted of equals;
               tuples by maximum priority, so a search stops at one that cannot beat the best. */
            static __always_inline __s32 sl_tuple_search(const struct sl_table *t, const __u64 *k, int n)
            {
                __s32 best = -1, bp = -2147483647 - 1;
                __u64 bq = ~0ULL;
                for (__s64 i = 0; i < t->tuple_count; i++) {
                    const struct sl_tuple *tp = &t->tuples[i];
                    if (tp->max_priority < bp) break;
                    __u64 mk[n];
                    for (int w = 0; w < n; w++) mk[w] = k[w] & tp->mask[w];
                    __s32 p; __u64 q;
                    __s32 e = sl_probe(tp, mk, n, &p, &q);
                    if (e >= 0 && (p > bp || (p == bp && q < bq))) { best = e; bp = p; bq = q; }
                }
                return best;
            }

            /* The bits of a `width`-bit key that a prefix of length `l` (1...width) keeps. */
            static __always_inline __u64 sl_prefix_mask(int l, int width)
            {
                return l >= width ? ~0ULL : (~0ULL << (64 - l)) >> (64 - width);
            }

            /* Longest prefix of a `width`-bit key: the lengths that may match (when few, the
               present ones up to the bucket's longest; else the bucket's bitmap), longest
               first, each one exact probe. */
            static __always_inline __s32 sl_lpm(const struct sl_table *t, __u64 key, int width)
            {
                __u64 b = key >> (width - 16), bits;
                if (t->lpm_few) {
                    __u32 top = t->lpm_longest[b];
                    bits = top ? t->lpm_present & (~0ULL >> (64 - top)) : 0;
                } else {
                    bits = t->lpm_buckets[b];
                }
                while (bits) {
                    int l = 64 - __builtin_clzll(bits);
                    __u64 mk = key & sl_prefix_mask(l, width);
                    const struct sl_tuple *tp = t->lpm_lengths[l];
                    __s32 p; __u64 q;
                    if (tp) { __s32 e = sl_probe(tp, &mk, 1, &p, &q); if (e >= 0) return e; }
                    bits &= ~(1ULL << (l - 1));
                }
                return (__s32)t->lpm_default;
            }

            /* First row, by priority, whose (key & mask) lies within [lo, hi] on every word. */
            static __always_inline __s32 sl_linear(const struct sl_table *t, const __u64 *k, int n)
            {
                const __u64 *row = t->rows;
                for (__s64 e = 0; e < t->row_count; e++, row += 3 * n) {
                    int w = 0;
                    for (; w < n; w++) {
                        __u64 x = k[w] & row[3 * w];
                        if (x < row[3 * w + 1] || x > row[3 * w + 2]) break;
                    }
                    if (w == n) return t->row_entries[e];
                }
                return -1;
            }
            """
    }
}
