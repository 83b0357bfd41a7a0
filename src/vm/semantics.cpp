// Op semantics as pure functions on Values (spec/ops.md §7–§11).
#include "vm/semantics.hpp"

#include <cmath>
#include <cstring>

namespace fusevm::sem {

Value arith(OpCode op, const Value& a, const Value& b) {
  if (a.is_int() && b.is_int()) {
    const int64_t x = a.as_int(), y = b.as_int();
    switch (op) {
      case OpCode::Add: return Value::Int(wrap_add(x, y));
      case OpCode::Sub: return Value::Int(wrap_sub(x, y));
      case OpCode::Mul: return Value::Int(wrap_mul(x, y));
      default: return Value::Int(int_mod(x, y));
    }
  }
  // Any non-Int operand (Bool, Undef, Str, Status, ...) takes the float path.
  const double x = a.to_float(), y = b.to_float();
  switch (op) {
    case OpCode::Add: return Value::Float(x + y);
    case OpCode::Sub: return Value::Float(x - y);
    case OpCode::Mul: return Value::Float(x * y);
    default: return Value::Float(std::fmod(x, y));
  }
}

Value div(const Value& a, const Value& b) {
  const double d = b.to_float();
  if (d == 0.0) return Value();  // also -0.0, Undef, "" and non-numeric strings
  return Value::Float(a.to_float() / d);
}

Value pow(const Value& a, const Value& b) { return Value::Float(std::pow(a.to_float(), b.to_float())); }

Value negate(const Value& a) {
  if (a.is_int()) return Value::Int(wrap_sub(0, a.as_int()));
  return Value::Float(-a.to_float());
}

bool num_compare(OpCode op, const Value& a, const Value& b) {
  if (a.is_int() && b.is_int()) {
    const int64_t x = a.as_int(), y = b.as_int();
    switch (op) {
      case OpCode::NumEq: return x == y;
      case OpCode::NumNe: return x != y;
      case OpCode::NumLt: return x < y;
      case OpCode::NumGt: return x > y;
      case OpCode::NumLe: return x <= y;
      default: return x >= y;
    }
  }
  const double x = a.to_float(), y = b.to_float();
  switch (op) {
    case OpCode::NumEq: return x == y;
    case OpCode::NumNe: return x != y;
    case OpCode::NumLt: return x < y;
    case OpCode::NumGt: return x > y;
    case OpCode::NumLe: return x <= y;
    default: return x >= y;
  }
}

int64_t spaceship(const Value& a, const Value& b) {
  if (a.is_int() && b.is_int()) {
    const int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  const double x = a.to_float(), y = b.to_float();
  return x < y ? -1 : (x > y ? 1 : 0);
}

namespace {
int compare_bytes(const std::string& x, const std::string& y) {
  const size_t n = std::min(x.size(), y.size());
  const int c = n == 0 ? 0 : std::memcmp(x.data(), y.data(), n);  // unsigned bytes
  if (c != 0) return c;
  return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
}
}  // namespace

int str_compare(const Value& a, const Value& b) {
  if (a.is_str() && b.is_str()) return compare_bytes(a.as_str(), b.as_str());
  return compare_bytes(a.to_str(), b.to_str());
}

}  // namespace fusevm::sem
