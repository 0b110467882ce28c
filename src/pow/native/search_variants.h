/*
 * The work search compiled once per instruction set (per-function target attributes) and a table of
 * the variants this CPU can run, fastest first, so one build runs on any x86-64 machine. Other CPUs
 * get the portable C version. Used by the Node-API glue (pow.c).
 */
#ifndef DPOW_SEARCH_VARIANTS_H
#define DPOW_SEARCH_VARIANTS_H
#include <stdint.h>
#include <string.h>

#define BLAKE2B_IV0 0x6a09e667f3bcc908ULL
#define BLAKE2B_IV1 0xbb67ae8584caa73bULL
#define BLAKE2B_IV2 0x3c6ef372fe94f82bULL
#define BLAKE2B_IV3 0xa54ff53a5f1d36f1ULL
#define BLAKE2B_IV4 0x510e527fade682d1ULL
#define BLAKE2B_IV5 0x9b05688c2b3e6c1fULL
#define BLAKE2B_IV6 0x1f83d9abfb41bd6bULL
#define BLAKE2B_IV7 0x5be0cd19137e2179ULL
/* Parameter block word 0: digest length 8, no key, fanout 1, depth 1. */
#define BLAKE2B_PARAM0 0x01010008ULL

typedef int (*search_fn)(const uint64_t root[4], uint64_t start, uint64_t count, uint64_t threshold,
                         uint64_t *found);

/* ---- portable scalar version (also the remainder of the vector versions) ---- */
#define SEARCH_NAME search_scalar
#define SEARCH_TARGET
#define VEC uint64_t
#define LANES 1
#define LANE_OFFSETS ((uint64_t)0)
#define ROTR(x, n) (((x) >> (n)) | ((x) << (64 - (n))))
#define ROTR32(x) ROTR(x, 32)
#define ROTR24(x) ROTR(x, 24)
#define ROTR16(x) ROTR(x, 16)
#define ROTR63(x) ROTR(x, 63)
#define ANY_GE(x, t) ((x) >= (t))
#include "search_template.h"
#undef SEARCH_NAME
#undef SEARCH_TARGET
#undef VEC
#undef LANES
#undef LANE_OFFSETS
#undef ANY_GE

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86_VARIANTS 1

typedef uint64_t u64x8 __attribute__((vector_size(64)));
typedef uint64_t u64x4 __attribute__((vector_size(32)));
typedef uint64_t u64x2 __attribute__((vector_size(16)));

/* ---- AVX-512: 16 lanes, as two interleaved 8-lane vectors (GCC splits the 128-byte vector type
 * into pairs of zmm operations). Two independent instruction streams keep both vector ports busy
 * where one stream of 8 lanes left them idle ~5% of the time; rotates become vprorq/vprolq. ---- */
typedef uint64_t u64x16 __attribute__((vector_size(128)));
#define SEARCH_NAME search_avx512
#define SEARCH_TARGET __attribute__((target("avx512f")))
#define VEC u64x16
#define LANES 16
#define LANE_OFFSETS ((u64x16){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
#undef ROTR32
#undef ROTR24
#undef ROTR16
#undef ROTR63
#define ROTR32(x) ROTR(x, 32)
#define ROTR24(x) ROTR(x, 24)
#define ROTR16(x) ROTR(x, 16)
#define ROTR63(x) ROTR(x, 63)
#define ANY_GE(x, t) any_ge_u64x16((x), (t))
SEARCH_TARGET static inline int any_ge_u64x16(u64x16 x, u64x16 t) {
  u64x16 ge = (u64x16)(x >= t);
  u64x8 low, high;
  memcpy(&low, &ge, sizeof low);
  memcpy(&high, (const char *)&ge + sizeof low, sizeof high);
  return _mm512_test_epi64_mask((__m512i)(low | high), (__m512i)(low | high)) != 0;
}
#include "search_template.h"
#undef SEARCH_NAME
#undef SEARCH_TARGET
#undef VEC
#undef LANES
#undef LANE_OFFSETS
#undef ANY_GE

/* ---- AVX2: 4 lanes; byte-multiple rotates are byte shuffles ---- */
#define SEARCH_NAME search_avx2
#define SEARCH_TARGET __attribute__((target("avx2")))
#define VEC u64x4
#define LANES 4
#define LANE_OFFSETS ((u64x4){0, 1, 2, 3})
#undef ROTR32
#undef ROTR24
#undef ROTR16
#undef ROTR63
#define ROT24_BYTES _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10)
#define ROT16_BYTES _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9)
#define ROTR32(x) ((u64x4)_mm256_shuffle_epi32((__m256i)(x), _MM_SHUFFLE(2, 3, 0, 1)))
#define ROTR24(x) ((u64x4)_mm256_shuffle_epi8((__m256i)(x), ROT24_BYTES))
#define ROTR16(x) ((u64x4)_mm256_shuffle_epi8((__m256i)(x), ROT16_BYTES))
#define ROTR63(x) (((x) + (x)) | ((x) >> 63))
#define ANY_GE(x, t) (_mm256_movemask_epi8((__m256i)((x) >= (t))) != 0)
#include "search_template.h"
#undef SEARCH_NAME
#undef SEARCH_TARGET
#undef VEC
#undef LANES
#undef LANE_OFFSETS
#undef ANY_GE

/* ---- SSE2 (every x86-64): 2 lanes, shifts for rotates ---- */
#define SEARCH_NAME search_sse2
#define SEARCH_TARGET __attribute__((target("sse2")))
#define VEC u64x2
#define LANES 2
#define LANE_OFFSETS ((u64x2){0, 1})
#undef ROTR32
#undef ROTR24
#undef ROTR16
#undef ROTR63
#define ROTR32(x) ((u64x2)_mm_shuffle_epi32((__m128i)(x), _MM_SHUFFLE(2, 3, 0, 1)))
#define ROTR24(x) ROTR(x, 24)
#define ROTR16(x) ROTR(x, 16)
#define ROTR63(x) (((x) + (x)) | ((x) >> 63))
#define ANY_GE(x, t) (_mm_movemask_epi8((__m128i)((x) >= (t))) != 0)
#include "search_template.h"
#endif

struct variant {
  const char *name;
  search_fn fn;
  unsigned lanes;
};

/* Usable variants, fastest first; filled once when the library is loaded (read-only afterwards, so
 * worker threads that load the addon concurrently share it safely). */
static struct variant variants[4];
static unsigned variant_count;

__attribute__((constructor)) static void detect_variants(void) {
#ifdef HAVE_X86_VARIANTS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) variants[variant_count++] = (struct variant){"avx512", search_avx512, 16};
  if (__builtin_cpu_supports("avx2")) variants[variant_count++] = (struct variant){"avx2", search_avx2, 4};
  variants[variant_count++] = (struct variant){"sse2", search_sse2, 2};
  variants[variant_count++] = (struct variant){"scalar", search_scalar, 1};
#else
  variants[variant_count++] = (struct variant){"generic", search_scalar, 1};
#endif
}

static int pow_search(const struct variant *v, const uint64_t root[4], uint64_t start, uint64_t count,
                  uint64_t threshold, uint64_t *found) {
  uint64_t bulk = count - count % v->lanes;
  if (v->fn(root, start, bulk, threshold, found)) return 1;
  return search_scalar(root, start + bulk, count - bulk, threshold, found);
}

#endif
