// The runtime helpers generated code calls by symbol name (spec/jit.md §0).
#pragma once

#include <cstddef>
#include <cstdint>

namespace fusevm::jit_llvm {

/// A helper as generated code names it, and where this process defines it. Code refers to
/// helpers only by name, so an object stays valid in another process (object cache); the
/// engine binds each name to `address` as an absolute JIT symbol.
struct RuntimeHelper {
  const char* name;
  void* address;
};

/// Symbol of the wrapping integer power: (i64 base, i64 exp) -> i64, 0 unless 0 <= exp <= 63.
inline constexpr const char* kPowI64 = "fusevm_jit_pow_i64";
/// Symbol of C pow: (f64, f64) -> f64.
inline constexpr const char* kPowF64 = "fusevm_jit_pow_f64";
/// Symbol of C fmod: (f64, f64) -> f64.
inline constexpr const char* kFmodF64 = "fusevm_jit_fmod_f64";

/// Every helper, for the engine to define.
const RuntimeHelper* runtime_helpers(size_t* count);

/// The integer power behind kPowI64.
int64_t pow_i64(int64_t base, int64_t exp);

}  // namespace fusevm::jit_llvm
