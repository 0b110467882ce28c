/*
 * The C reference for `dpow bench`: a plain, textbook blake2b-64 of nonce || root in a loop over
 * independent nonces, written so that the compiler can vectorise it across nonces (built with
 * -O3 -march=native it uses the CPU's widest SIMD). It is the yardstick for the native kernel.
 *
 * usage: reference SECONDS ROOT_HEX THRESHOLD_HEX
 * prints: {"mhs": <million hashes per CPU second>, "nonce": "<first nonce found from 0, hex>"}
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const uint64_t IV[8] = {0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
                               0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
                               0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

static const uint8_t SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}, {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}, {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}, {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}, {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (64 - (n))))
#define G(r, i, a, b, c, d)               \
  a = a + b + m[SIGMA[r][2 * i]];         \
  d = ROTR(d ^ a, 32);                    \
  c = c + d;                              \
  b = ROTR(b ^ c, 24);                    \
  a = a + b + m[SIGMA[r][2 * i + 1]];     \
  d = ROTR(d ^ a, 16);                    \
  c = c + d;                              \
  b = ROTR(b ^ c, 63);
#define ROUND(r)                       \
  G(r, 0, v[0], v[4], v[8], v[12]);    \
  G(r, 1, v[1], v[5], v[9], v[13]);    \
  G(r, 2, v[2], v[6], v[10], v[14]);   \
  G(r, 3, v[3], v[7], v[11], v[15]);   \
  G(r, 4, v[0], v[5], v[10], v[15]);   \
  G(r, 5, v[1], v[6], v[11], v[12]);   \
  G(r, 6, v[2], v[7], v[8], v[13]);    \
  G(r, 7, v[3], v[4], v[9], v[14]);

/* blake2b with an 8-byte digest of the 40-byte message nonce || root: one final compression. */
static inline __attribute__((always_inline)) uint64_t work_value(const uint64_t root[4], uint64_t nonce) {
  uint64_t m[16] = {nonce, root[0], root[1], root[2], root[3], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  uint64_t h0 = IV[0] ^ 0x01010008ULL;
  uint64_t v[16] = {h0,    IV[1], IV[2], IV[3], IV[4],      IV[5], IV[6],  IV[7],
                    IV[0], IV[1], IV[2], IV[3], IV[4] ^ 40, IV[5], ~IV[6], IV[7]};
  ROUND(0) ROUND(1) ROUND(2) ROUND(3) ROUND(4) ROUND(5) ROUND(6) ROUND(7) ROUND(8) ROUND(9) ROUND(10) ROUND(11)
  return h0 ^ v[0] ^ v[8];
}

#define CHUNK 1024

/* The search: hash CHUNK nonces at a time (a loop the compiler vectorises), then scan for a hit. */
static int search(const uint64_t root[4], uint64_t start, uint64_t count, uint64_t threshold, uint64_t *found) {
  static uint64_t values[CHUNK];
  for (uint64_t base = 0; base < count; base += CHUNK) {
    for (int i = 0; i < CHUNK; i++) values[i] = work_value(root, start + base + i);
    for (int i = 0; i < CHUNK; i++) {
      if (values[i] >= threshold) {
        *found = start + base + i;
        return 1;
      }
    }
  }
  return 0;
}

/* CPU time of this (single-threaded) process: on a shared machine, time spent descheduled is not
 * counted, so the rate compares fairly with the kernels, which `dpow bench` times the same way. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 4 || strlen(argv[2]) != 64) {
    fprintf(stderr, "usage: reference SECONDS ROOT_HEX(64) THRESHOLD_HEX(16)\n");
    return 2;
  }
  double seconds = atof(argv[1]);
  uint64_t root[4] = {0, 0, 0, 0};
  for (int i = 0; i < 32; i++) {
    unsigned byte;
    sscanf(argv[2] + 2 * i, "%2x", &byte);
    root[i / 8] |= (uint64_t)byte << (8 * (i % 8));
  }
  uint64_t threshold = strtoull(argv[3], NULL, 16);
  uint64_t nonce = 0;
  int ok = search(root, 0, 1ULL << 40, threshold, &nonce);

  /* Time a search that cannot succeed (threshold above every value but 2^64-1) over batches. */
  uint64_t hashed = 0, sink = 0;
  double began = now(), elapsed = 0;
  while (elapsed < seconds) {
    uint64_t dummy;
    sink += search(root, hashed, 1 << 22, UINT64_MAX, &dummy);
    hashed += 1 << 22;
    elapsed = now() - began;
  }
  printf("{\"mhs\": %.3f, \"nonce\": \"%016llx\", \"found\": %d, \"sink\": %llu}\n", hashed / elapsed / 1e6,
         (unsigned long long)nonce, ok, (unsigned long long)sink);
  return 0;
}
