// SipHash-1-3 with zero keys: the hash function behind op_hash (Rust's DefaultHasher).
#include <cstring>

#include "fusevm/chunk.hpp"

namespace fusevm {

namespace {

constexpr uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct SipState {
  // Initial state for k0 = k1 = 0: the constants "somepseudorandomlygeneratedbytes".
  uint64_t v0 = 0x736f6d6570736575ULL;
  uint64_t v1 = 0x646f72616e646f6dULL;
  uint64_t v2 = 0x6c7967656e657261ULL;
  uint64_t v3 = 0x7465646279746573ULL;

  void round() {
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  }
  // One compression round per message word: the "1" in SipHash-1-3.
  void absorb(uint64_t m) {
    v3 ^= m;
    round();
    v0 ^= m;
  }
};

uint64_t load_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

// Rust's Hasher streams every write() into one SipHash message, so hashing the
// concatenated byte stream here gives the same result as the reference's sequence of
// write_u64/write_u8/... calls.
uint64_t siphash13(const void* bytes, size_t len) {
  const auto* p = static_cast<const unsigned char*>(bytes);
  SipState s;
  size_t full = len & ~size_t{7};
  for (size_t i = 0; i < full; i += 8) s.absorb(load_le64(p + i));
  // Last word: the remaining bytes, with the message length (mod 256) in the top byte.
  uint64_t last = static_cast<uint64_t>(len & 0xff) << 56;
  for (size_t i = 0; i < (len & 7); ++i) last |= static_cast<uint64_t>(p[full + i]) << (8 * i);
  s.absorb(last);
  s.v2 ^= 0xff;
  s.round();
  s.round();
  s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace fusevm
