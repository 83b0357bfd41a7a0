// Seeded random program generators for the JIT differential tests: straight-line
// programs the linear validator accepts and looped programs for the block tier, each
// with a typing model saying what every value means in the interpreter and in native
// code under the direct APIs' reference typing (ARCHITECTURE §9, spec/jit.md §2.3, §6).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "vm_test_util.hpp"

namespace fusevm_test::jitgen {

// -- Randomness ---------------------------------------------------------------------------

/// std::mt19937_64 with the value pools the generators draw from (edges weighted up).
class Rand {
 public:
  explicit Rand(uint64_t seed) : g_(seed) {}
  /// Uniform in [0, n).
  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(g_); }
  /// True with probability p.
  bool chance(double p) { return std::uniform_real_distribution<double>(0.0, 1.0)(g_) < p; }
  /// Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(g_); }
  /// An integer, biased to edges and small values.
  int64_t any_int() {
    static const int64_t kEdges[] = {0, 1, -1, 2, 3, 7, 10, -10, 63, 64, 255, 1 << 20, kMax, kMin, kMax - 1, kMin + 1,
                                     int64_t{1} << 53, -(int64_t{1} << 53) - 1, 4611686018427387904LL};
    switch (below(4)) {
      case 0: return kEdges[below(std::size(kEdges))];
      case 1: return static_cast<int64_t>(g_());
      default: return range(-100, 100);
    }
  }
  /// A nonzero integer divisor; -1 only when `allow_minus_one`.
  int64_t divisor(bool allow_minus_one) {
    static const int64_t kDivs[] = {1, 2, 3, 5, 7, 10, -3, -7, 1000, kMax, kMin, 1 << 30};
    if (allow_minus_one && chance(0.15)) return -1;
    return kDivs[below(std::size(kDivs))];
  }
  /// A finite double, biased to edges.
  double finite_float() {
    static const double kEdges[] = {0.0, -0.0, 0.5, 1.5, -2.25, 2.0, 3.0, 0.1, 1e300, -1e300, 1e-300, 123.456,
                                    9.2233720368547758e18, -9.2233720368547758e18, 4.5e15, -7.0};
    switch (below(3)) {
      case 0: return kEdges[below(std::size(kEdges))];
      case 1: return std::uniform_real_distribution<double>(-1e6, 1e6)(g_);
      default: return std::ldexp(std::uniform_real_distribution<double>(-1.0, 1.0)(g_), static_cast<int>(range(-60, 80)));
    }
  }
  /// A double that may also be NaN or infinite (constants only: LoadFloat rejects those).
  double any_float() {
    switch (below(8)) {
      case 0: return std::numeric_limits<double>::quiet_NaN();
      case 1: return chance(0.5) ? kInf : -kInf;
      default: return finite_float();
    }
  }
  /// A nonzero finite double.
  double nonzero_float() {
    double d = finite_float();
    return d == 0.0 ? 0.75 : d;
  }

 private:
  std::mt19937_64 g_;
};

// -- Typing model -------------------------------------------------------------------------

/// What a generated value is on each side under the direct APIs' reference typing.
enum class Ty : uint8_t {
  Int,    // Int in both
  Float,  // Float in both
  Bool,   // interpreter Bool (or Int), tier Int 0/1
  Mixed,  // small and integral: interpreter Float, tier Int (integer Pow, exact constant Div)
};

/// Operands of Add/Sub/Mul/Div/Mod/Pow: the same number on both sides.
inline bool arith_ok(Ty t) { return t == Ty::Int || t == Ty::Float; }
/// Operands of bitwise ops and LogNot (the interpreter applies to_int / truthiness).
inline bool intlike(Ty t) { return t != Ty::Float; }

/// What a slot holds on each side.
enum class SlotTy : uint8_t {
  Int,    // Int in both
  Bool,   // interpreter Bool or Int, tier 0/1 or the same Int
  Trunc,  // interpreter Float (or anything), tier its saturating truncation: never read back
};

/// What a slot holds after SetSlot of a value of type `t`.
inline SlotTy slot_for(Ty t) {
  if (t == Ty::Int) return SlotTy::Int;
  if (t == Ty::Bool) return SlotTy::Bool;
  return SlotTy::Trunc;
}

// -- Linear programs ----------------------------------------------------------------------------

/// Slots every linear program gets.
inline constexpr uint16_t kLinearSlots = 4;

/// A generated straight-line program with its initial slots and expected typing.
struct LinearProgram {
  Chunk chunk;
  std::vector<int64_t> slots;
  std::vector<SlotTy> slot_types;
  Ty result = Ty::Int;
  bool eligible = true;    // generated to pass the linear validator
  bool final_div = false;  // ends in a Div whose divisor may be zero (interpreter: Undef)
};

/// Straight-line programs drawn only from what the linear validator accepts, typed so
/// that each value means the same on both sides: no int/int Div except exact constants,
/// int Mod only by a nonzero literal, int Pow only on small literals, bitwise ops and
/// LogNot never on floats (the linear tier's LogNot keeps the reference's NaN rule).
class LinearGen {
 public:
  explicit LinearGen(Rand& r) : r_(r) { types_.fill(SlotTy::Int); }

  /// One program; the same Rand state always gives the same program.
  LinearProgram make() {
    LinearProgram p;
    for (uint16_t s = 0; s < kLinearSlots; ++s) p.slots.push_back(r_.chance(0.2) ? 0 : r_.any_int());
    const size_t length = 1 + r_.below(r_.chance(0.2) ? 120 : 40);
    for (size_t guard = 0; ops_ < length && guard < 4 * length; ++guard) step();
    finish();
    if (r_.chance(0.1) && arith_ok(st_.back().ty)) final_div();
    p.result = st_.back().ty;
    p.final_div = final_div_;
    p.slot_types.assign(types_.begin(), types_.end());
    p.chunk = b_.build();
    // A few programs are made ineligible on purpose: the tier must decline them.
    if (r_.chance(0.05)) {
      size_t at = r_.below(p.chunk.ops.size() + 1);
      p.chunk.ops.insert(p.chunk.ops.begin() + static_cast<std::ptrdiff_t>(at), Op::Nop());
      p.chunk.lines.insert(p.chunk.lines.begin() + static_cast<std::ptrdiff_t>(at), 0);
      p.chunk.op_hash = p.chunk.compute_op_hash();
      p.eligible = false;
    } else if (r_.chance(0.03)) {
      p.chunk.ops.push_back(Op::LoadInt(1));  // final depth 2
      p.chunk.lines.push_back(0);
      p.chunk.op_hash = p.chunk.compute_op_hash();
      p.eligible = false;
    }
    return p;
  }

 private:
  struct Cell {
    Ty ty;
    bool dyn;  // derived from a slot: never a validator constant
  };

  void emit(Op op) {
    b_.emit(op, static_cast<uint32_t>(++ops_));
  }
  void push(Ty ty, bool dyn) { st_.push_back({ty, dyn}); }
  Cell pop() {
    Cell c = st_.back();
    st_.pop_back();
    return c;
  }
  size_t depth() const { return st_.size(); }
  Ty top(size_t k = 0) const { return st_[st_.size() - 1 - k].ty; }

  uint16_t any_slot() { return static_cast<uint16_t>(r_.below(kLinearSlots)); }
  // A slot GetSlot may read: one holding the same number on both sides.
  std::optional<uint16_t> readable_slot(bool int_only = false) {
    uint16_t s = any_slot();
    for (uint16_t k = 0; k < kLinearSlots; ++k) {
      uint16_t c = static_cast<uint16_t>((s + k) % kLinearSlots);
      if (types_[c] == SlotTy::Int || (!int_only && types_[c] == SlotTy::Bool)) return c;
    }
    return std::nullopt;
  }

  void push_literal() {
    switch (r_.below(10)) {
      case 0: case 1: case 2: emit(Op::LoadInt(r_.any_int())); push(Ty::Int, false); break;
      case 3: case 4: emit(Op::LoadFloat(r_.finite_float())); push(Ty::Float, false); break;
      case 5: {
        if (r_.chance(0.5)) {
          emit(Op::LoadConst(b_.add_constant(Value::Int(r_.any_int()))));
          push(Ty::Int, false);
        } else {
          emit(Op::LoadConst(b_.add_constant(Value::Float(r_.any_float()))));
          push(Ty::Float, false);
        }
        break;
      }
      case 6: emit(r_.chance(0.5) ? Op::LoadTrue() : Op::LoadFalse()); push(Ty::Bool, false); break;
      case 7: case 8: {
        if (std::optional<uint16_t> s = readable_slot()) {
          emit(Op::GetSlot(*s));
          push(types_[*s] == SlotTy::Int ? Ty::Int : Ty::Bool, true);
        } else {
          emit(Op::LoadInt(r_.any_int()));
          push(Ty::Int, false);
        }
        break;
      }
      default: {
        uint16_t s = any_slot();
        emit(Op::PreIncSlot(s));
        types_[s] = SlotTy::Int;
        push(Ty::Int, true);
      }
    }
  }

  bool unary() {
    if (depth() < 1) return false;
    Cell a = st_.back();
    switch (r_.below(5)) {
      case 0:
        if (!arith_ok(a.ty)) return false;
        emit(Op::Negate());
        return true;  // same type
      case 1: case 2:
        emit(r_.chance(0.5) ? Op::Inc() : Op::Dec());
        st_.back().ty = Ty::Int;
        return true;
      case 3:
        if (!intlike(a.ty)) return false;
        emit(Op::BitNot());
        st_.back().ty = Ty::Int;
        return true;
      default:
        if (!intlike(a.ty)) return false;
        emit(Op::LogNot());
        st_.back().ty = Ty::Bool;
        return true;
    }
  }

  bool binary() {
    if (depth() < 2) return false;
    Ty a = top(1), b = top(0);
    bool dyn = st_[depth() - 1].dyn || st_[depth() - 2].dyn;
    switch (r_.below(8)) {
      case 0: case 1: {  // Add / Sub / Mul
        if (!arith_ok(a) || !arith_ok(b)) return false;
        static const Op kOps[] = {Op::Add(), Op::Sub(), Op::Mul()};
        emit(kOps[r_.below(3)]);
        pop(), pop();
        push(a == Ty::Float || b == Ty::Float ? Ty::Float : Ty::Int, dyn);
        return true;
      }
      case 2: {  // comparisons: any operands, Bool (tier: Int 0/1)
        static const Op kOps[] = {Op::NumEq(), Op::NumNe(), Op::NumLt(), Op::NumGt(), Op::NumLe(), Op::NumGe()};
        emit(kOps[r_.below(6)]);
        pop(), pop();
        push(Ty::Bool, dyn);
        return true;
      }
      case 3:
        emit(Op::Spaceship());
        pop(), pop();
        push(Ty::Int, dyn);
        return true;
      case 4: case 5: {  // bitwise and shifts
        if (!intlike(a) || !intlike(b)) return false;
        static const Op kOps[] = {Op::BitAnd(), Op::BitOr(), Op::BitXor(), Op::Shl(), Op::Shr()};
        emit(kOps[r_.below(5)]);
        pop(), pop();
        push(Ty::Int, dyn);
        return true;
      }
      case 6: {  // float Mod / Pow / Div by a nonzero value (Div: only a literal divisor, below)
        if (!arith_ok(a) || !arith_ok(b) || (a != Ty::Float && b != Ty::Float)) return false;
        emit(r_.chance(0.5) ? Op::Mod() : Op::Pow());
        pop(), pop();
        push(Ty::Float, dyn);
        return true;
      }
      default: {  // stack shuffles
        if (r_.chance(0.5)) {
          emit(Op::Swap());
          std::swap(st_[depth() - 1], st_[depth() - 2]);
        } else {
          if (depth() < 3) return false;
          emit(Op::Rot());
          Cell c = pop(), bb = pop(), aa = pop();
          st_.push_back(bb);
          st_.push_back(c);
          st_.push_back(aa);
        }
        return true;
      }
    }
  }

  // Ops whose second operand is a literal emitted here (the validator's constant rules).
  bool with_literal() {
    switch (r_.below(4)) {
      case 0: {  // x / nonzero literal, with a float on one side
        if (depth() < 1 || !arith_ok(top())) return false;
        Cell a = pop();
        if (a.ty == Ty::Int || r_.chance(0.5)) {
          emit(Op::LoadFloat(r_.nonzero_float()));
        } else {
          emit(Op::LoadInt(r_.divisor(true)));
        }
        emit(Op::Div());
        push(Ty::Float, a.dyn);
        return true;
      }
      case 1: {  // x % nonzero literal
        if (depth() < 1 || !arith_ok(top())) return false;
        Cell a = pop();
        if (a.ty == Ty::Int) {
          // MIN % -1 of validator constants is rejected, so -1 only after a slot read.
          emit(Op::LoadInt(r_.divisor(a.dyn)));
        } else if (r_.chance(0.5)) {
          emit(Op::LoadInt(r_.divisor(true)));
        } else {
          emit(Op::LoadFloat(r_.finite_float()));  // fmod by 0.0 is NaN on both sides
        }
        emit(Op::Mod());
        push(a.ty, a.dyn);
        return true;
      }
      case 2: {  // small integer power: tier Int, interpreter Float
        emit(Op::LoadInt(r_.range(-9, 9)));
        emit(Op::LoadInt(r_.range(0, 6)));
        emit(Op::Pow());
        push(Ty::Mixed, false);
        return true;
      }
      default: {  // exact division of integer constants: tier Int, interpreter Float
        int64_t q = r_.range(1, 50) * (r_.chance(0.5) ? 1 : -1);
        emit(Op::LoadInt(r_.range(-1000, 1000) * q));
        emit(Op::LoadInt(q));
        emit(Op::Div());
        push(Ty::Mixed, false);
        return true;
      }
    }
  }

  bool stack_op() {
    switch (r_.below(3)) {
      case 0:
        if (depth() < 1 || depth() >= 12) return false;
        emit(Op::Dup());
        st_.push_back(st_.back());
        return true;
      case 1:
        if (depth() < 2) return false;
        emit(Op::Pop());
        pop();
        return true;
      default:
        return binary();  // Swap / Rot live there with the shuffles
    }
  }

  bool slot_op() {
    switch (r_.below(4)) {
      case 0: case 1: {
        if (depth() < 1) return false;
        uint16_t s = any_slot();
        emit(Op::SetSlot(s));
        types_[s] = slot_for(pop().ty);
        return true;
      }
      case 2: {
        uint16_t s = any_slot();
        emit(Op::PreIncSlotVoid(s));
        types_[s] = SlotTy::Int;
        return true;
      }
      default: {
        uint16_t a = any_slot(), b = any_slot();
        emit(Op::AddAssignSlotVoid(a, b));
        types_[a] = SlotTy::Int;
        return true;
      }
    }
  }

  void step() {
    if (depth() < 2 || (depth() < 10 && r_.chance(0.25))) {
      push_literal();
      return;
    }
    switch (r_.below(10)) {
      case 0: case 1: unary(); break;
      case 2: case 3: case 4: case 5: binary(); break;
      case 6: with_literal(); break;
      case 7: stack_op(); break;
      case 8: slot_op(); break;
      default: push_literal();
    }
  }

  // Reduce the stack to exactly one value.
  void finish() {
    if (depth() == 0) push_literal();
    while (depth() > 1) {
      Ty a = top(1), b = top(0);
      if (r_.chance(0.15)) {
        emit(Op::Pop());
        pop();
      } else if (arith_ok(a) && arith_ok(b) && r_.chance(0.6)) {
        emit(r_.chance(0.5) ? Op::Add() : Op::Mul());
        bool dyn = st_[depth() - 1].dyn || st_[depth() - 2].dyn;
        pop(), pop();
        push(a == Ty::Float || b == Ty::Float ? Ty::Float : Ty::Int, dyn);
      } else if (intlike(a) && intlike(b) && r_.chance(0.5)) {
        bool dyn = st_[depth() - 1].dyn || st_[depth() - 2].dyn;
        emit(Op::BitXor());
        pop(), pop();
        push(Ty::Int, dyn);
      } else {
        // Comparison results are 0/1 or -1/0/1, never a constant a later Mod could trip on.
        bool ship = r_.chance(0.5);
        emit(ship ? Op::Spaceship() : Op::NumLe());
        pop(), pop();
        push(ship ? Ty::Int : Ty::Bool, true);
      }
    }
  }

  // End with x / y where y may be zero: the interpreter gives Undef, the tier ±inf or NaN.
  void final_div() {
    Cell a = pop();
    if (a.ty == Ty::Float) {
      std::optional<uint16_t> s = readable_slot(true);
      if (s && r_.chance(0.6)) {
        emit(Op::GetSlot(*s));
      } else {
        emit(Op::LoadFloat(r_.chance(0.5) ? 0.0 : -0.0));
      }
    } else {
      std::optional<uint16_t> s = readable_slot(true);
      if (s && r_.chance(0.6)) {
        emit(Op::GetSlot(*s));
        emit(Op::LoadFloat(0.5));
        emit(Op::Mul());
      } else {
        emit(Op::LoadFloat(r_.chance(0.5) ? 0.0 : 0.25));
      }
    }
    emit(Op::Div());
    push(Ty::Float, true);
    final_div_ = true;
  }

  Rand& r_;
  ChunkBuilder b_;
  size_t ops_ = 0;
  std::vector<Cell> st_;
  std::array<SlotTy, kLinearSlots> types_{};
  bool final_div_ = false;
};

// -- Looped programs for the block tier ----------------------------------------------------------

/// Slot roles. Counters are written only by loop set-up and increments, so every loop ends.
enum BlockSlot : uint16_t {
  kOuter = 0,   // outer loop counter
  kInner = 1,   // inner loop counter
  kAccI = 2,    // AccumSumLoop counter
  kData0 = 3,   // Int data
  kData1 = 4,   // Int data
  kFlag = 5,    // Int or Bool
  kSink = 6,    // anything; never read back by GetSlot
  kData2 = 7,   // Int data
  kBlockSlots = 8,
};

/// A generated looped program with its initial slots.
struct BlockProgram {
  Chunk chunk;
  std::vector<int64_t> slots;
  bool may_bail = false;  // has an integer Mod by a value that may be zero
};

/// Looped programs in the shapes frontends emit: counter loops closed by
/// SlotLtIntJumpIfFalse + Jump, by a compare + JumpIfFalse/JumpIfTrue, or by
/// SlotIncLtIntJumpBack; AccumSumLoop; if/else; statements that leave the stack as they
/// found it (the block tier carries no value across block boundaries).
class BlockGen {
 public:
  explicit BlockGen(Rand& r) : r_(r) {}

  /// One program; the same Rand state always gives the same program.
  BlockProgram make() {
    BlockProgram p;
    for (uint16_t s = 0; s < kBlockSlots; ++s) p.slots.push_back(r_.chance(0.15) ? 0 : r_.any_int());
    p.slots[kFlag] = r_.chance(0.5) ? r_.range(0, 1) : p.slots[kFlag];
    statements(r_.below(3), 0);
    size_t loops = 1 + r_.below(2);
    for (size_t k = 0; k < loops; ++k) {
      loop(0);
      statements(r_.below(2), 0);
    }
    if (r_.chance(0.85)) {
      expr(3);
    } else if (!ops_.empty() && last_is_conditional()) {
      ops_.push_back(Op::Nop());  // a conditional branch may not end a block unit
    }
    ChunkBuilder b;
    for (const Value& v : consts_) b.add_constant(v);
    for (size_t k = 0; k < ops_.size(); ++k) b.emit(ops_[k], static_cast<uint32_t>(k + 1));
    p.chunk = b.build();
    p.may_bail = may_bail_;
    return p;
  }

 private:
  size_t emit(Op op) {
    ops_.push_back(op);
    return ops_.size() - 1;
  }
  size_t here() const { return ops_.size(); }
  void patch(size_t at, size_t target) { ops_[at].set_target(target); }
  bool last_is_conditional() const {
    OpCode c = ops_.back().code();
    return c == OpCode::JumpIfTrue || c == OpCode::JumpIfFalse || c == OpCode::SlotLtIntJumpIfFalse ||
           c == OpCode::SlotIncLtIntJumpBack;
  }
  uint16_t load_const(Value v) {
    consts_.push_back(std::move(v));
    return static_cast<uint16_t>(consts_.size() - 1);
  }
  uint16_t data_slot() {
    static const uint16_t kData[] = {kData0, kData1, kData2};
    return kData[r_.below(3)];
  }
  // A slot an op may write without breaking a loop: data, flag or sink.
  uint16_t writable_slot() {
    static const uint16_t kW[] = {kData0, kData1, kData2, kFlag, kSink};
    return kW[r_.below(5)];
  }

  Ty leaf() {
    switch (r_.below(12)) {
      case 0: case 1: case 2: emit(Op::LoadInt(r_.any_int())); return Ty::Int;
      case 3: emit(Op::LoadFloat(r_.finite_float())); return Ty::Float;
      case 4:
        if (r_.chance(0.5)) {
          emit(Op::LoadConst(load_const(Value::Float(r_.any_float()))));
          return Ty::Float;
        }
        emit(Op::LoadConst(load_const(Value::Int(r_.any_int()))));
        return Ty::Int;
      case 5: emit(r_.chance(0.5) ? Op::LoadTrue() : Op::LoadFalse()); return Ty::Bool;
      case 6: case 7: case 8: {
        static const uint16_t kInts[] = {kOuter, kInner, kAccI, kData0, kData1, kData2};
        emit(Op::GetSlot(kInts[r_.below(6)]));
        return Ty::Int;
      }
      case 9: emit(Op::GetSlot(kFlag)); return Ty::Bool;
      case 10: emit(Op::PreIncSlot(writable_slot())); return Ty::Int;
      default: emit(Op::LoadInt(r_.range(-3, 3))); return Ty::Int;
    }
  }

  // An expression whose value is left on the stack; returns its type.
  Ty expr(int depth) {
    if (depth <= 0 || r_.chance(0.25)) return leaf();
    switch (r_.below(9)) {
      case 0: {  // unary
        Ty a = expr(depth - 1);
        switch (r_.below(4)) {
          case 0:
            if (arith_ok(a)) {
              emit(Op::Negate());
              return a;
            }
            [[fallthrough]];
          case 1: emit(r_.chance(0.5) ? Op::Inc() : Op::Dec()); return Ty::Int;
          case 2:
            if (intlike(a)) {
              emit(Op::BitNot());
              return Ty::Int;
            }
            [[fallthrough]];
          default: emit(Op::LogNot()); return Ty::Bool;  // block tier: NaN truthy, as the interpreter
        }
      }
      case 1: {  // x / nonzero literal with a float on one side
        Ty a = expr(depth - 1);
        if (!arith_ok(a)) a = coerce_int(a);
        if (a == Ty::Int || r_.chance(0.5)) {
          emit(Op::LoadFloat(r_.nonzero_float()));
        } else {
          emit(Op::LoadInt(r_.divisor(true)));
        }
        emit(Op::Div());
        return Ty::Float;
      }
      case 2: {  // x % y
        Ty a = expr(depth - 1);
        if (!arith_ok(a)) a = coerce_int(a);
        if (a == Ty::Int && r_.chance(0.6)) {
          emit(Op::LoadInt(r_.divisor(true)));
          emit(Op::Mod());
          return Ty::Int;
        }
        Ty b = expr(depth - 1);
        if (!arith_ok(b)) b = coerce_int(b);
        emit(Op::Mod());
        if (a == Ty::Int && b == Ty::Int) {
          may_bail_ = true;  // a zero divisor bails out of native code
          return Ty::Int;
        }
        return Ty::Float;
      }
      case 3: {  // small integer power (tier Int, interpreter Float) or a float power
        if (r_.chance(0.5)) {
          emit(Op::LoadInt(r_.range(-9, 9)));
          emit(Op::LoadInt(r_.range(0, 6)));
          emit(Op::Pow());
          return Ty::Mixed;
        }
        Ty a = expr(depth - 1);
        if (!arith_ok(a)) a = coerce_int(a);
        emit(Op::LoadFloat(r_.finite_float()));
        if (r_.chance(0.5)) emit(Op::Swap());
        emit(Op::Pow());
        return Ty::Float;
      }
      default: {  // binary over two subexpressions
        Ty a = expr(depth - 1);
        Ty b = expr(depth - 1);
        switch (r_.below(4)) {
          case 0:
            if (arith_ok(a) && arith_ok(b)) {
              static const Op kOps[] = {Op::Add(), Op::Sub(), Op::Mul()};
              emit(kOps[r_.below(3)]);
              return a == Ty::Float || b == Ty::Float ? Ty::Float : Ty::Int;
            }
            [[fallthrough]];
          case 1:
            if (intlike(a) && intlike(b)) {
              static const Op kOps[] = {Op::BitAnd(), Op::BitOr(), Op::BitXor(), Op::Shl(), Op::Shr()};
              emit(kOps[r_.below(5)]);
              return Ty::Int;
            }
            [[fallthrough]];
          case 2: {
            static const Op kOps[] = {Op::NumEq(), Op::NumNe(), Op::NumLt(), Op::NumGt(), Op::NumLe(), Op::NumGe()};
            emit(kOps[r_.below(6)]);
            return Ty::Bool;
          }
          default:
            emit(Op::Spaceship());
            return Ty::Int;
        }
      }
    }
  }

  // Inc or Dec: Int on both sides whatever the operand (floats saturate, NaN -> 0).
  Ty coerce_int(Ty) {
    emit(r_.chance(0.5) ? Op::Inc() : Op::Dec());
    return Ty::Int;
  }

  void statement(int level) {
    switch (r_.below(level < 2 ? 11 : 9)) {
      case 0: case 1: {  // data slot = Int expression
        Ty t = expr(3);
        if (t != Ty::Int) coerce_int(t);
        emit(Op::SetSlot(data_slot()));
        return;
      }
      case 2: {  // flag = Bool or Int
        Ty t = expr(2);
        if (t == Ty::Float || t == Ty::Mixed) emit(Op::LogNot());
        emit(Op::SetSlot(kFlag));
        return;
      }
      case 3:  // sink = anything (the tier stores the saturating truncation)
        expr(3);
        emit(Op::SetSlot(kSink));
        return;
      case 4:
        emit(Op::PreIncSlotVoid(writable_slot()));
        return;
      case 5: {
        static const uint16_t kAny[] = {kOuter, kInner, kAccI, kData0, kData1, kFlag, kSink, kData2};
        emit(Op::AddAssignSlotVoid(writable_slot(), kAny[r_.below(8)]));
        return;
      }
      case 6:
        expr(2);
        emit(Op::Pop());
        return;
      case 7: {  // AccumSumLoop from a small start
        emit(Op::LoadInt(r_.range(-5, 10)));
        emit(Op::SetSlot(kAccI));
        uint16_t sum = r_.chance(0.05) ? uint16_t{kAccI} : writable_slot();
        emit(Op::AccumSumLoop(sum, kAccI, static_cast<int32_t>(r_.range(-3, 300))));
        return;
      }
      case 8:
        if_else(level);
        return;
      default:
        loop(level);
        return;
    }
  }

  void statements(size_t n, int level) {
    for (size_t k = 0; k < n; ++k) statement(level);
  }

  void if_else(int level) {
    expr(2);
    size_t branch = emit(r_.chance(0.7) ? Op::JumpIfFalse(0) : Op::JumpIfTrue(0));
    statements(1 + r_.below(2), level + 1);
    if (r_.chance(0.5)) {
      size_t skip = emit(Op::Jump(0));
      patch(branch, here());
      statements(1 + r_.below(2), level + 1);
      patch(skip, here());
    } else {
      patch(branch, here());
    }
  }

  // A counter loop at nesting `level` (0: outer counter, 1: inner counter).
  void loop(int level) {
    const uint16_t c = level == 0 ? kOuter : kInner;
    const int64_t limit = r_.range(-1, level == 0 ? 25 : 10);
    emit(Op::LoadInt(r_.range(-3, 5)));
    emit(Op::SetSlot(c));
    const size_t body_statements = 1 + r_.below(3);
    switch (r_.below(3)) {
      case 0: {  // while (c < limit) { body; ++c }  with the fused test
        size_t head = emit(Op::SlotLtIntJumpIfFalse(c, static_cast<int32_t>(limit), 0));
        statements(body_statements, level + 1);
        increment(c);
        emit(Op::Jump(head));
        patch(head, here());
        return;
      }
      case 1: {  // while (c < limit) with an unfused compare
        size_t head = here();
        size_t exit_branch;
        switch (r_.below(3)) {
          case 0:
            emit(Op::GetSlot(c));
            emit(Op::LoadInt(limit));
            emit(Op::NumLt());
            exit_branch = emit(Op::JumpIfFalse(0));
            break;
          case 1:
            emit(Op::LoadInt(limit));
            emit(Op::GetSlot(c));
            emit(Op::NumLe());
            exit_branch = emit(Op::JumpIfTrue(0));
            break;
          default:
            emit(Op::GetSlot(c));
            emit(Op::LoadInt(limit));
            emit(Op::Spaceship());
            emit(Op::LoadInt(-1));
            emit(Op::NumNe());
            exit_branch = emit(Op::JumpIfTrue(0));
        }
        statements(body_statements, level + 1);
        increment(c);
        emit(Op::Jump(head));
        patch(exit_branch, here());
        return;
      }
      default: {  // do { body } while (++c < limit)
        size_t body = here();
        statements(body_statements, level + 1);
        emit(Op::SlotIncLtIntJumpBack(c, static_cast<int32_t>(limit), body));
        return;
      }
    }
  }

  void increment(uint16_t c) {
    switch (r_.below(4)) {
      case 0: emit(Op::PreIncSlotVoid(c)); return;
      case 1: emit(Op::PreIncSlot(c)); emit(Op::Pop()); return;
      case 2: emit(Op::GetSlot(c)); emit(Op::Inc()); emit(Op::SetSlot(c)); return;
      default: emit(Op::GetSlot(c)); emit(Op::LoadInt(1)); emit(Op::Add()); emit(Op::SetSlot(c)); return;
    }
  }

  Rand& r_;
  std::vector<Op> ops_;
  std::vector<Value> consts_;
  bool may_bail_ = false;
};

/// Slot typing of a block program at its end.
inline std::vector<SlotTy> block_slot_types() {
  std::vector<SlotTy> t(kBlockSlots, SlotTy::Int);
  t[kFlag] = SlotTy::Bool;
  t[kSink] = SlotTy::Trunc;
  return t;
}

}  // namespace fusevm_test::jitgen
