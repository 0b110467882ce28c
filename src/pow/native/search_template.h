/*
 * One search function, included once per instruction-set variant (see search_variants.h), which
 * defines:
 *   SEARCH_NAME       function name
 *   SEARCH_TARGET     function attributes, e.g. __attribute__((target("avx512f")))
 *   VEC, LANES        a vector of LANES u64 (GCC vector extension) or plain uint64_t with LANES 1
 *   ROTR32/24/16/63   rotate right by that many bits, the fastest way on the target
 *   ROTR(x, n)        plain scalar rotate (for the once-per-call scalar part)
 *   ANY_GE(x, t)      non-zero when some lane of x is >= t (unsigned)
 *   LANE_OFFSETS      the VEC {0, 1, ..., LANES-1}
 *
 * The hash is blake2b with an 8-byte digest over nonce || root: a single compression whose message
 * words 5..15 are the constant zero (so the compiler drops their additions) and of which only output
 * word 0 is kept (so the compiler drops everything the last rounds compute only for the other
 * words). All 12 rounds are written out, message schedule included.
 */

#define G(a, b, c, d, x, y) \
  a = a + b + x;            \
  d = ROTR32(d ^ a);        \
  c = c + d;                \
  b = ROTR24(b ^ c);        \
  a = a + b + y;            \
  d = ROTR16(d ^ a);        \
  c = c + d;                \
  b = ROTR63(b ^ c);

#define SCALAR_G(a, b, c, d, x, y) \
  a = a + b + x;                   \
  d = ROTR(d ^ a, 32);      \
  c = c + d;                       \
  b = ROTR(b ^ c, 24);      \
  a = a + b + y;                   \
  d = ROTR(d ^ a, 16);      \
  c = c + d;                       \
  b = ROTR(b ^ c, 63);

#define ROUND(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15) \
  G(v0, v4, v8, v12, m##s0, m##s1)                                                  \
  G(v1, v5, v9, v13, m##s2, m##s3)                                                  \
  G(v2, v6, v10, v14, m##s4, m##s5)                                                 \
  G(v3, v7, v11, v15, m##s6, m##s7)                                                 \
  G(v0, v5, v10, v15, m##s8, m##s9)                                                 \
  G(v1, v6, v11, v12, m##s10, m##s11)                                               \
  G(v2, v7, v8, v13, m##s12, m##s13)                                                \
  G(v3, v4, v9, v14, m##s14, m##s15)

SEARCH_TARGET static int SEARCH_NAME(const uint64_t root[4], uint64_t start, uint64_t count,
                                     uint64_t threshold, uint64_t *found) {
  const VEC zero = LANE_OFFSETS - LANE_OFFSETS;
  const VEC m1 = zero + root[0], m2 = zero + root[1], m3 = zero + root[2], m4 = zero + root[3];
  const VEC m5 = zero, m6 = zero, m7 = zero, m8 = zero, m9 = zero, m10 = zero, m11 = zero;
  const VEC m12 = zero, m13 = zero, m14 = zero, m15 = zero;
  const VEC limit = zero + threshold;

  /* Round 1's columns 1..3 read only the root (message words 2..7), not the nonce: compute them
   * once, in scalar code, instead of in every iteration. */
  uint64_t u1 = BLAKE2B_IV1, u5 = BLAKE2B_IV5, u9 = BLAKE2B_IV1, u13 = BLAKE2B_IV5;
  uint64_t u2 = BLAKE2B_IV2, u6 = BLAKE2B_IV6, u10 = BLAKE2B_IV2, u14 = ~BLAKE2B_IV6;
  uint64_t u3 = BLAKE2B_IV3, u7 = BLAKE2B_IV7, u11 = BLAKE2B_IV3, u15 = BLAKE2B_IV7;
  {
    const uint64_t zero = 0, m2 = root[1], m3 = root[2], m4 = root[3], m5 = 0, m6 = 0, m7 = 0;
    SCALAR_G(u1, u5, u9, u13, m2, m3)
    SCALAR_G(u2, u6, u10, u14, m4, m5)
    SCALAR_G(u3, u7, u11, u15, m6, m7)
    (void)zero;
  }

  VEC nonces = LANE_OFFSETS + start;
  for (uint64_t done = 0; done + LANES <= count; done += LANES) {
    const VEC m0 = nonces;
    VEC v0 = zero + (BLAKE2B_IV0 ^ BLAKE2B_PARAM0), v4 = zero + BLAKE2B_IV4, v8 = zero + BLAKE2B_IV0,
        v12 = zero + (BLAKE2B_IV4 ^ 40);
    VEC v1 = zero + u1, v5 = zero + u5, v9 = zero + u9, v13 = zero + u13;
    VEC v2 = zero + u2, v6 = zero + u6, v10 = zero + u10, v14 = zero + u14;
    VEC v3 = zero + u3, v7 = zero + u7, v11 = zero + u11, v15 = zero + u15;
    /* round 1: column 0 (the one that reads the nonce), then the diagonals */
    G(v0, v4, v8, v12, m0, m1)
    G(v0, v5, v10, v15, m8, m9)
    G(v1, v6, v11, v12, m10, m11)
    G(v2, v7, v8, v13, m12, m13)
    G(v3, v4, v9, v14, m14, m15)
    ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3)
    ROUND(11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4)
    ROUND(7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8)
    ROUND(9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13)
    ROUND(2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9)
    ROUND(12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11)
    ROUND(13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10)
    ROUND(6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5)
    ROUND(10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0)
    ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3)
    const VEC value = v0 ^ v8 ^ (BLAKE2B_IV0 ^ BLAKE2B_PARAM0);
    if (__builtin_expect(ANY_GE(value, limit), 0)) {
      uint64_t lanes[LANES], values[LANES];
      memcpy(lanes, &nonces, sizeof lanes);
      memcpy(values, &value, sizeof values);
      for (int i = 0; i < LANES; i++) {
        if (values[i] >= threshold) {
          *found = lanes[i];
          return 1;
        }
      }
    }
    nonces = nonces + LANES;
  }
  return 0;
}

#undef G
#undef SCALAR_G
#undef ROUND
