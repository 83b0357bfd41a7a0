// Op semantics as pure functions on Values (spec/ops.md), shared by every slow path.
#pragma once

#include <cstdint>
#include <string>

#include "fusevm/op.hpp"
#include "fusevm/value.hpp"

namespace fusevm::sem {

/// Wrapping i64 arithmetic (the reference's release-build behaviour).
inline int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
inline int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
inline int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
/// Int remainder: y == 0 gives 0, and MIN % -1 gives 0 (a reference panic, fixed).
inline int64_t int_mod(int64_t x, int64_t y) { return (y == 0 || y == -1) ? 0 : x % y; }

/// Add/Sub/Mul/Mod of two values (Int x Int stays Int, anything else goes through Float).
Value arith(OpCode op, const Value& a, const Value& b);
/// Div: always Float; a zero divisor gives Undef.
Value div(const Value& a, const Value& b);
/// Pow: always Float (C pow).
Value pow(const Value& a, const Value& b);
/// Negate: Int wraps, anything else is Float(-to_float).
Value negate(const Value& a);
/// NumEq..NumGe of two values.
bool num_compare(OpCode op, const Value& a, const Value& b);
/// Spaceship: -1/0/1 (NaN gives 0).
int64_t spaceship(const Value& a, const Value& b);
/// Byte-wise comparison of to_str(a) and to_str(b): <0, 0, >0.
int str_compare(const Value& a, const Value& b);
/// Shl / Shr with the count masked to 6 bits (Shr is arithmetic).
inline int64_t shl(int64_t a, int64_t n) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) << (n & 63));
}
inline int64_t shr(int64_t a, int64_t n) { return a >> (n & 63); }

/// Hash key of a value: to_str.
inline std::string key_of(const Value& k) { return k.is_str() ? k.as_str() : k.to_str(); }

/// Block and sort ops take Undef as [] and any other non-Array v as [v] (ARCHITECTURE §9).
inline ValueArray as_list(Value v) {
  if (v.is_array()) return std::move(v.array_mut());
  if (v.is_undef()) return {};
  ValueArray a;
  a.push_back(std::move(v));
  return a;
}

}  // namespace fusevm::sem
