// Definitions of the runtime helpers that JIT code calls by name (spec/jit.md §0).
#include "jit_llvm/runtime_helpers.hpp"

#include <cmath>

namespace fusevm::jit_llvm {

namespace {

// Generated code calls these with the C calling convention, which a free C++ function of
// these types shares on every target we build for; internal linkage keeps the plugin's
// export list down to its entry point.
int64_t helper_pow_i64(int64_t base, int64_t exp) { return pow_i64(base, exp); }
double helper_pow_f64(double x, double y) { return std::pow(x, y); }
double helper_fmod_f64(double x, double y) { return std::fmod(x, y); }

const RuntimeHelper kHelpers[] = {
    {kPowI64, reinterpret_cast<void*>(&helper_pow_i64)},
    {kPowF64, reinterpret_cast<void*>(&helper_pow_f64)},
    {kFmodF64, reinterpret_cast<void*>(&helper_fmod_f64)},
};

}  // namespace

int64_t pow_i64(int64_t base, int64_t exp) {
  // Exponents outside 0..63 give 0 (the reference's rule); squaring in uint64_t wraps
  // modulo 2^64 without signed-overflow UB.
  if (exp < 0 || exp > 63) return 0;
  uint64_t result = 1;
  uint64_t b = static_cast<uint64_t>(base);
  for (uint64_t e = static_cast<uint64_t>(exp); e != 0; e >>= 1) {
    if (e & 1) result *= b;
    b *= b;
  }
  return static_cast<int64_t>(result);
}

const RuntimeHelper* runtime_helpers(size_t* count) {
  *count = sizeof(kHelpers) / sizeof(kHelpers[0]);
  return kHelpers;
}

}  // namespace fusevm::jit_llvm
