// spec/jit.md §2.2: cells Const(i64) / ConstF(f64) / Dyn / DynF; constants are folded
// only to drive the Div, Mod and Pow acceptance rules (codegen never folds).
#include "jit/linear_check.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace fusevm::jit {

namespace {

constexpr size_t kMaxDepth = 256;

struct Cell {
  enum Kind : uint8_t { Const, ConstF, Dyn, DynF } kind;
  int64_t i = 0;
  double f = 0;

  bool is_float() const { return kind == ConstF || kind == DynF; }
  bool is_const() const { return kind == Const || kind == ConstF; }
  double as_double() const { return kind == Const ? static_cast<double>(i) : f; }
};

Cell cint(int64_t v) { return Cell{Cell::Const, v, 0}; }
Cell cflt(double v) { return Cell{Cell::ConstF, 0, v}; }
Cell dyn() { return Cell{Cell::Dyn, 0, 0}; }
Cell dynf() { return Cell{Cell::DynF, 0, 0}; }

int64_t wrap_add(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b)); }
int64_t wrap_sub(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b)); }
int64_t wrap_mul(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b)); }

int64_t wrap_pow(int64_t base, int64_t exp) {
  uint64_t r = 1, b = static_cast<uint64_t>(base);
  for (int64_t k = 0; k < exp; ++k) r *= b;
  return static_cast<int64_t>(r);
}

// Result of a two-operand arithmetic op when at least one side is a float.
Cell float_result(const Cell& a, const Cell& b, double folded) {
  return a.kind == Cell::ConstF && b.kind == Cell::ConstF ? cflt(folded) : dynf();
}

class Simulator {
 public:
  explicit Simulator(const Chunk& c) : c_(c) {}

  LinearPlan run() {
    LinearPlan plan;
    if (c_.ops.empty()) return fail("empty chunk");
    for (size_t ip = 0; ip < c_.ops.size(); ++ip) {
      const Op& op = c_.ops[ip];
      if (!step(op)) return fail("op " + std::to_string(ip) + " (" + std::string(op.name()) + "): " + why_);
      if (stack_.size() > kMaxDepth) return fail("stack deeper than 256 at op " + std::to_string(ip));
      if (op.code() == OpCode::SlotLtIntJumpIfFalse || op.code() == OpCode::SlotIncLtIntJumpBack ||
          op.code() == OpCode::AccumSumLoop) {
        fused_ = true;
      }
    }
    if (stack_.size() != 1) return fail("final stack depth " + std::to_string(stack_.size()) + ", not 1");
    plan.eligible = true;
    plan.result_is_float = stack_.back().is_float();
    plan.has_fused_loop = fused_;
    return plan;
  }

 private:
  LinearPlan fail(std::string reason) {
    LinearPlan p;
    p.reason = std::move(reason);
    return p;
  }

  bool reject(std::string why) {
    why_ = std::move(why);
    return false;
  }
  bool need(size_t n) {
    if (stack_.size() >= n) return true;
    return reject("stack underflow");
  }
  Cell pop() {
    Cell c = stack_.back();
    stack_.pop_back();
    return c;
  }
  void push(Cell c) { stack_.push_back(c); }

  bool arith(OpCode code) {
    if (!need(2)) return false;
    Cell b = pop(), a = pop();
    bool flt = a.is_float() || b.is_float();
    switch (code) {
      case OpCode::Add: case OpCode::Sub: case OpCode::Mul: {
        if (flt) {
          double x = a.as_double(), y = b.as_double();
          push(float_result(a, b, code == OpCode::Add ? x + y : code == OpCode::Sub ? x - y : x * y));
        } else if (a.kind == Cell::Const && b.kind == Cell::Const) {
          push(cint(code == OpCode::Add ? wrap_add(a.i, b.i) : code == OpCode::Sub ? wrap_sub(a.i, b.i) : wrap_mul(a.i, b.i)));
        } else {
          push(dyn());
        }
        return true;
      }
      case OpCode::Div: {
        if (flt) {
          push(float_result(a, b, a.as_double() / b.as_double()));
          return true;
        }
        // Only exact division of integer constants (reference); MIN / -1 would overflow
        // the fold, so it is rejected (the spec's "Do").
        if (a.kind != Cell::Const || b.kind != Cell::Const || b.i == 0) return reject("integer division is only compiled for exact constants");
        if (a.i == std::numeric_limits<int64_t>::min() && b.i == -1) return reject("MIN / -1");
        if (a.i % b.i != 0) return reject("inexact integer division");
        push(cint(a.i / b.i));
        return true;
      }
      case OpCode::Mod: {
        if (flt) {
          push(float_result(a, b, std::fmod(a.as_double(), b.as_double())));
          return true;
        }
        if (b.kind != Cell::Const || b.i == 0) return reject("integer modulo needs a non-zero constant divisor");
        if (a.kind == Cell::Const) {
          if (a.i == std::numeric_limits<int64_t>::min() && b.i == -1) return reject("MIN % -1");
          push(cint(a.i % b.i));
        } else {
          push(dyn());
        }
        return true;
      }
      case OpCode::Pow: {
        if (flt) {
          push(float_result(a, b, std::pow(a.as_double(), b.as_double())));
          return true;
        }
        if (b.kind != Cell::Const || b.i < 0 || b.i > 63) return reject("integer power needs a constant exponent in 0..63");
        push(a.kind == Cell::Const ? cint(wrap_pow(a.i, b.i)) : dyn());
        return true;
      }
      default:
        return reject("not an arithmetic op");
    }
  }

  bool compare(OpCode code) {
    if (!need(2)) return false;
    Cell b = pop(), a = pop();
    if (!a.is_const() || !b.is_const()) {
      push(dyn());
      return true;
    }
    int64_t r = 0;
    if (!a.is_float() && !b.is_float()) {
      switch (code) {
        case OpCode::NumEq: r = a.i == b.i; break;
        case OpCode::NumNe: r = a.i != b.i; break;
        case OpCode::NumLt: r = a.i < b.i; break;
        case OpCode::NumGt: r = a.i > b.i; break;
        case OpCode::NumLe: r = a.i <= b.i; break;
        case OpCode::NumGe: r = a.i >= b.i; break;
        default: r = a.i < b.i ? -1 : a.i > b.i ? 1 : 0; break;
      }
    } else {
      double x = a.as_double(), y = b.as_double();
      switch (code) {
        case OpCode::NumEq: r = x == y; break;
        case OpCode::NumNe: r = x != y; break;
        case OpCode::NumLt: r = x < y; break;
        case OpCode::NumGt: r = x > y; break;
        case OpCode::NumLe: r = x <= y; break;
        case OpCode::NumGe: r = x >= y; break;
        default: r = x < y ? -1 : x > y ? 1 : 0; break;
      }
    }
    push(cint(r));
    return true;
  }

  bool bitwise(OpCode code) {
    if (!need(2)) return false;
    Cell b = pop(), a = pop();
    if (a.is_float() || b.is_float()) return reject("bitwise op on a float");
    if (a.kind != Cell::Const || b.kind != Cell::Const) {
      push(dyn());
      return true;
    }
    int64_t r = 0;
    switch (code) {
      case OpCode::BitAnd: r = a.i & b.i; break;
      case OpCode::BitOr: r = a.i | b.i; break;
      case OpCode::BitXor: r = a.i ^ b.i; break;
      case OpCode::Shl: r = static_cast<int64_t>(static_cast<uint64_t>(a.i) << (b.i & 63)); break;
      default: r = a.i >> (b.i & 63); break;
    }
    push(cint(r));
    return true;
  }

  bool step(const Op& op) {
    switch (op.code()) {
      case OpCode::LoadInt: push(cint(op.imm_int())); return true;
      case OpCode::LoadFloat: {
        double f = op.imm_float();
        if (!std::isfinite(f)) return reject("non-finite float literal");
        push(cflt(f));  // quirk Q-L1 fixed: an integral float literal stays Float
        return true;
      }
      case OpCode::LoadConst: {
        size_t k = op.small(0);
        if (k >= c_.constants.size()) return reject("constant index out of range");
        const Value& v = c_.constants[k];
        if (v.is_int()) push(cint(v.as_int()));
        else if (v.is_float()) push(cflt(v.as_float()));
        else return reject("constant is not a number");
        return true;
      }
      case OpCode::LoadTrue: push(cint(1)); return true;
      case OpCode::LoadFalse: push(cint(0)); return true;
      case OpCode::Add: case OpCode::Sub: case OpCode::Mul: case OpCode::Div: case OpCode::Mod:
      case OpCode::Pow:
        return arith(op.code());
      case OpCode::Negate: {
        if (!need(1)) return false;
        Cell a = pop();
        if (a.kind == Cell::Const) push(cint(wrap_sub(0, a.i)));
        else if (a.kind == Cell::ConstF) push(cflt(-a.f));
        else push(a);
        return true;
      }
      case OpCode::Inc: case OpCode::Dec: {
        if (!need(1)) return false;
        Cell a = pop();
        int64_t d = op.code() == OpCode::Inc ? 1 : -1;
        push(a.kind == Cell::Const ? cint(wrap_add(a.i, d)) : dyn());
        return true;
      }
      case OpCode::Pop: if (!need(1)) return false; pop(); return true;
      case OpCode::Dup: if (!need(1)) return false; push(stack_.back()); return true;
      case OpCode::Swap: {
        if (!need(2)) return false;
        std::swap(stack_[stack_.size() - 1], stack_[stack_.size() - 2]);
        return true;
      }
      case OpCode::Rot: {
        if (!need(3)) return false;
        Cell c = pop(), b = pop(), a = pop();
        push(b);
        push(c);
        push(a);
        return true;
      }
      case OpCode::NumEq: case OpCode::NumNe: case OpCode::NumLt: case OpCode::NumGt:
      case OpCode::NumLe: case OpCode::NumGe: case OpCode::Spaceship:
        return compare(op.code());
      case OpCode::BitAnd: case OpCode::BitOr: case OpCode::BitXor: case OpCode::Shl:
      case OpCode::Shr:
        return bitwise(op.code());
      case OpCode::BitNot: {
        if (!need(1)) return false;
        Cell a = pop();
        if (a.is_float()) return reject("bitwise op on a float");
        push(a.kind == Cell::Const ? cint(~a.i) : dyn());
        return true;
      }
      case OpCode::LogNot: {
        if (!need(1)) return false;
        Cell a = pop();
        // The linear API keeps the reference's float test `x one 0.0` (NaN is falsy).
        if (a.kind == Cell::Const) push(cint(a.i == 0));
        else if (a.kind == Cell::ConstF) push(cint(!(a.f < 0.0 || a.f > 0.0)));
        else push(dyn());
        return true;
      }
      case OpCode::GetSlot: case OpCode::PreIncSlot: push(dyn()); return true;
      case OpCode::SetSlot: if (!need(1)) return false; pop(); return true;
      case OpCode::PreIncSlotVoid: case OpCode::AddAssignSlotVoid:
      case OpCode::SlotLtIntJumpIfFalse: case OpCode::SlotIncLtIntJumpBack:
      case OpCode::AccumSumLoop:
        return true;
      default:
        return reject("not a linear-tier op");
    }
  }

  const Chunk& c_;
  std::vector<Cell> stack_;
  std::string why_;
  bool fused_ = false;
};

}  // namespace

LinearPlan check_linear(const Chunk& chunk) { return Simulator(chunk).run(); }

}  // namespace fusevm::jit
