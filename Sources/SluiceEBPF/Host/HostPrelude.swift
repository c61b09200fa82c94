/// What the host object declares before the program: the kernel's integer names for the shared
/// helpers, the per-packet state bound to the runtime's memory, and the return codes.
enum HostPrelude {
    static let types = """
        typedef unsigned char __u8;
        typedef unsigned short __u16;
        typedef unsigned int __u32;
        typedef int __s32;
        typedef unsigned long long __u64;
        typedef long long __s64;
        #define __always_inline inline __attribute__((always_inline))
        """

    /// Helpers of the host's own, after `CHelpers`.
    static let helpers = """
        /* A field within one 32-bit word of its header (from the header's start), written as
           the whole word: read, changed, stored. A checksum's 32-bit loads of the word then
           take the stored value straight from the store; after narrower stores into it they
           wait for them to reach the cache (a store-forwarding stall, about 12 cycles). */
        static __always_inline void sl_setw(__u8 *p, __u32 bit, __u32 width, __u64 value)
        {
            __u32 at = bit / 32 * 4, sh = 32 - bit % 32 - width, w;
            __u32 m = (width >= 32 ? 0xFFFFFFFFu : ((1u << width) - 1)) << sh;
            __builtin_memcpy(&w, p + at, 4);
            w = __builtin_bswap32(w);
            w = (w & ~m) | (((__u32)value << sh) & m);
            w = __builtin_bswap32(w);
            __builtin_memcpy(p + at, &w, 4);
        }

        /* A field of whole bytes (at a byte boundary, 8 to 64 bits), loaded at once and put in
           host order. */
        static __always_inline __u64 sl_getb(const __u8 *p, __u32 bit, __u32 width)
        {
            __u64 v = 0;
            __builtin_memcpy(&v, p + bit / 8, width / 8);
        #if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return __builtin_bswap64(v) >> (64 - width);
        #else
            return v >> (64 - width);
        #endif
        }

        /* A field of whole bytes (at a byte boundary, 8 to 64 bits), stored as its bytes in
           network order at once: a 48-bit MAC address in a 4- and a 2-byte store, where
           `sl_set` shifted and stored each byte (17 instructions). */
        static __always_inline void sl_setb(__u8 *p, __u32 bit, __u32 width, __u64 value)
        {
            __u64 v = value << (64 - width);
        #if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            v = __builtin_bswap64(v);
        #endif
            __builtin_memcpy(p + bit / 8, &v, width / 8);
        }
        """

    static let state = """
        /* Packet data on the host has no alignment to promise. */
        #undef SL_PKT
        #define SL_PKT(x) ((__u8 *)(x))

        /* The runtime's state as the generated code sees it: its metadata slots (standard fields
           first, then user metadata, as `Layout` keeps them), its tables (`struct sl_table`),
           register cells and counter cells, and calls into it for meters, digests, random
           numbers and indexes out of range. Headers not in the packet, validity bits and the
           checksum accumulator are locals of each stage function (`sl_hdr`: 8-byte aligned
           slots, as EBPFLayout places them, where a header is until extract finds it in the
           packet). */
        struct sluice_state {
            __u64 *std;
            __u64 *meta;
            void *env;
            __u64 **regs;
            const struct sl_table **tables;
            __u64 **counters;
            __u64 (*random)(void *env);
            void (*count)(void *env, __u32 counter, __u64 index, __u64 bytes);
            __u64 (*meter)(void *env, __u32 meter, __u64 index, __u64 amount, __u64 now);
            void (*digest)(void *env, __u32 digest, const __u64 *values, __u32 count);
            void (*reg_oor)(void *env, __u32 reg);
            __u8 out[SL_HDR_BYTES]; /* the deparser's headers gathered, when they moved */
        };
        #define SL_ACC sl_acc

        /* What sl_ingress and sl_egress return: the low 16 bits say what happened; when the
           packet passes ingress, bits 16-31 are its egress port or multicast group. */
        #define SL_PASS 0
        #define SL_DROP_PARSER 1
        #define SL_DROP 2
        #define SL_HEADROOM 3
        #define SL_MULTICAST 0x100

        unsigned long sl_state_size(void) { return sizeof(struct sluice_state); }

        void sl_bind(struct sluice_state *s, __u64 *slots, void *env, __u64 **regs, const struct sl_table **tables,
                     __u64 **counters, void *random, void *count, void *meter, void *digest, void *reg_oor)
        {
            __builtin_memset(s, 0, sizeof(*s));
            s->std = slots; s->meta = slots + SL_STD; s->env = env; s->regs = regs;
            s->tables = tables; s->counters = counters; s->random = random; s->count = count; s->meter = meter;
            s->digest = digest; s->reg_oor = reg_oor;
        }
        """
}
