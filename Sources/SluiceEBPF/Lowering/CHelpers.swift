/// The C every emitted program starts with, none of it XDP's: big-endian bit fields on byte
/// memory, the Internet checksum, saturating addition, CRC-32 and CRC-16 by table, and the
/// cell of a counter. The lowering's code calls these; they need only `__u8`...`__u64`.
enum CHelpers {
    /// What the XDP target's programs start with.
    static let text = common + crcByByte + counts
    /// What the host target's programs start with: the same, but CRC-32 four bytes at a time.
    static let hostText = common + crcByWord + counts

    static let common = """
        /* Header bytes in the packet, taken as 8-byte aligned so that clang copies them in 8-byte
           words (the state's header slots start on 8 bytes) rather than a byte at a time: 12 ns
           of a router's 80 in BPF_PROG_TEST_RUN at 2 bytes, 9% more at 8. The targets of this
           backend (x86-64, arm64) load and store unaligned words at full speed, and their
           verifier allows unaligned packet access. */
        #define SL_PKT(x) ((__u8 *)__builtin_assume_aligned((x), 8))

        /* Big-endian bit fields on byte memory (the layout of headers on the wire). Arguments
           are constants at every call, so clang folds the loops away. */
        static __always_inline __u64 sl_get(const __u8 *p, __u32 bit, __u32 width)
        {
            __u32 first = bit / 8, n = (bit % 8 + width + 7) / 8;
            __u64 v = 0;
        #pragma unroll
            for (__u32 i = 0; i < 8; i++)
                if (i < n) v = (v << 8) | p[first + i];
            v >>= n * 8 - bit % 8 - width;
            return width >= 64 ? v : v & ((1ULL << width) - 1);
        }

        static __always_inline void sl_set(__u8 *p, __u32 bit, __u32 width, __u64 value)
        {
            __u32 first = bit / 8, n = (bit % 8 + width + 7) / 8, drop = n * 8 - bit % 8 - width;
            __u64 m = (width >= 64 ? ~0ULL : ((1ULL << width) - 1)) << drop;
            __u64 v = (value << drop) & m;
        #pragma unroll
            for (__u32 i = 0; i < 8; i++) {
                if (i < n) {
                    __u32 sh = (n - 1 - i) * 8;
                    __u8 bm = (__u8)(m >> sh);
                    p[first + i] = (p[first + i] & ~bm) | ((__u8)(v >> sh) & bm);
                }
            }
        }

        /* Internet checksum (RFC 1071). The ones' complement sum does not depend on the byte
           order words are added in, so they are summed as the machine loads them, 32 bits at a
           time (a byte pair at a time made 4 instructions a word), and sl_fold puts the folded
           sum in network order once. */
        static __always_inline __u64 sl_csum(const __u8 *p, __u32 len)
        {
            __u64 sum = 0;
        #pragma unroll
            for (__u32 i = 0; i + 3 < len; i += 4) sum += *(const __u32 *)(p + i);
            if (len & 2) sum += *(const __u16 *)(p + (len & ~3u));
        #if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            if (len & 1) sum += p[len - 1];
        #else
            if (len & 1) sum += (__u64)p[len - 1] << 8;
        #endif
            return sum;
        }

        /* A sum of sl_csum's folded to 16 bits, in network order. Adding a word to itself
           rotated by half its width leaves in its top half the sum of its halves with the
           end-around carry: 64 bits to 32, then 32 to 16, in 7 instructions where shifting
           and masking four times took 14. */
        static __always_inline __u64 sl_fold(__u64 sum)
        {
            __u32 w = (__u32)((sum + ((sum >> 32) | (sum << 32))) >> 32);
            __u64 r = (__u32)(w + ((w >> 16) | (w << 16))) >> 16;
        #if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            r = __builtin_bswap16((__u16)r);
        #endif
            return r;
        }

        static __always_inline __u64 sl_addsat(__u64 a, __u64 b, __u64 m)
        {
            __u64 r = a + b;
            return (r > m || r < a) ? m : r;
        }


        """

    /// CRC-32 and CRC-16 a byte at a time, for the verifier.
    static let crcByByte = """
        /* CRC-32/ISO-HDLC and CRC-16/ARC (BMv2's crc32 and crc16), a byte at a time through
           tables in .rodata. Not bit by bit: the verifier forks its state on each bit step's
           `(c s>> 31) & poly` (0 or the polynomial), 2^8 paths a byte, which exhausted its
           million-instruction budget on atp. */
        static const volatile __u32 sl_crc32_table[256] = { \(crcTable(poly: 0xEDB8_8320)) };
        static const volatile __u16 sl_crc16_table[256] = { \(crcTable(poly: 0xA001)) };

        static __always_inline __u32 sl_crc32(const __u8 *b, __u32 n)
        {
            __u32 c = 0xFFFFFFFF;
            for (__u32 i = 0; i < n; i++) c = sl_crc32_table[(c ^ b[i]) & 0xFF] ^ (c >> 8);
            return ~c;
        }

        \(crc16)
        """

    /// On the host no verifier walks the code: CRC-32 goes four bytes at a time (slicing-by-4,
    /// after Intel's paper), its tables plain .rodata. An ECMP hash of 13 bytes went through 13
    /// dependent table loads, about 90 cycles; now three rounds of four loads side by side.
    static let crcByWord = """
        /* CRC-32/ISO-HDLC and CRC-16/ARC (BMv2's crc32 and crc16). CRC-32 four bytes at a
           time: table k gives a byte's contribution k bytes further on. The bytes are loaded
           one by one, so that each comes straight from the narrower stores that built the
           input (a 32-bit load over several of them would wait for them to reach the cache). */
        static const __u32 sl_crc32_tables[4][256] = {
            { \(crcTable(poly: 0xEDB8_8320, slice: 0)) },
            { \(crcTable(poly: 0xEDB8_8320, slice: 1)) },
            { \(crcTable(poly: 0xEDB8_8320, slice: 2)) },
            { \(crcTable(poly: 0xEDB8_8320, slice: 3)) } };
        static const __u16 sl_crc16_table[256] = { \(crcTable(poly: 0xA001)) };

        static __always_inline __u32 sl_crc32(const __u8 *b, __u32 n)
        {
            __u32 c = 0xFFFFFFFF, i = 0;
            for (; i + 4 <= n; i += 4) {
                c ^= (__u32)b[i] | (__u32)b[i + 1] << 8 | (__u32)b[i + 2] << 16 | (__u32)b[i + 3] << 24;
                c = sl_crc32_tables[3][c & 0xFF] ^ sl_crc32_tables[2][(c >> 8) & 0xFF]
                    ^ sl_crc32_tables[1][(c >> 16) & 0xFF] ^ sl_crc32_tables[0][c >> 24];
            }
            for (; i < n; i++) c = sl_crc32_tables[0][(c ^ b[i]) & 0xFF] ^ (c >> 8);
            return ~c;
        }

        \(crc16)
        """

    /// CRC-16 a byte at a time through `sl_crc16_table` (each target declares the table).
    static let crc16 = """
        static __always_inline __u16 sl_crc16(const __u8 *b, __u32 n)
        {
            __u32 c = 0;
            for (__u32 i = 0; i < n; i++) c = sl_crc16_table[(c ^ b[i]) & 0xFF] ^ (c >> 8);
            return (__u16)c;
        }


        """

    static let counts = """
        struct sl_count { __u64 packets; __u64 bytes; };
        """

    /// The 256 entries of a reflected CRC's byte table for polynomial `poly`, as C.
    /// With `slice` k > 0: the table of slicing-by-4 whose entry for a byte is its contribution
    /// k bytes further on (table k-1's entry advanced by one more byte).
    static func crcTable(poly: UInt32, slice: Int = 0) -> String {
        func byte(_ i: UInt32) -> UInt32 {
            var c = i
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ poly : c >> 1 }
            return c
        }
        return (0..<256).map { (i: UInt32) -> String in
            var c = byte(i)
            for _ in 0..<slice { c = (c >> 8) ^ byte(c & 0xFF) }
            return "0x\(String(c, radix: 16, uppercase: true))"
        }.joined(separator: ", ")
    }
}
