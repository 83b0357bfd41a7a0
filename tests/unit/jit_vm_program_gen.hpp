// Seeded random whole programs for the VM-driven JIT differential test: loops with slot
// counters (plain and fused forms), nested loops, branches, breaks, slots that change kind
// mid-loop, divisions by zero at some iteration, ops no unit contains, subs with loops,
// straight-line chunks for the linear tier and unstructured "wild" code. Every program
// terminates: loop counters live in reserved slots the bodies never write, and the
// iterations of a program are budgeted.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jit_program_gen.hpp"

namespace fusevm_test::vmgen {

using jitgen::Rand;

/// Builtins generated programs call (CallBuiltin 0..3, RunSetup::prepare registers them on
/// each VM, with state of their own). Each pops its arguments (an Int argument count). 0
/// returns their wrapping Int sum; 1 a Float; 2 an Int that is a Float every few calls (a
/// trace's guard after it fails); 3 reads and writes global 0 and the frame's slot 0 (as
/// frames read it: never by the slot vector's length) and now and then returns a Str (a
/// kind native code does not hold).
inline void register_builtins(VM& vm) {
  auto pop_int = [](VM& v) {
    if (v.stack().empty()) return int64_t{0};
    const int64_t x = v.stack().back().to_int();
    v.stack().pop_back();
    return x;
  };
  vm.register_builtin(0, [pop_int](VM& v, uint8_t argc) {
    uint64_t sum = 0;
    for (uint8_t k = 0; k < argc; ++k) sum += static_cast<uint64_t>(pop_int(v));
    return Value::Int(static_cast<int64_t>(sum));
  });
  vm.register_builtin(1, [pop_int](VM& v, uint8_t argc) {
    double x = 0.25;
    for (uint8_t k = 0; k < argc; ++k) x += static_cast<double>(pop_int(v) % 1000) * 0.5;
    return Value::Float(x);
  });
  auto calls = std::make_shared<uint64_t>(0);
  vm.register_builtin(2, [pop_int, calls](VM& v, uint8_t argc) {
    int64_t x = 0;
    for (uint8_t k = 0; k < argc; ++k) x ^= pop_int(v);
    return ++*calls % 37 < 30 ? Value::Int(x) : Value::Float(static_cast<double>(x % 4096));
  });
  auto touches = std::make_shared<uint64_t>(0);
  vm.register_builtin(3, [pop_int, touches](VM& v, uint8_t argc) {
    int64_t x = 0;
    for (uint8_t k = 0; k < argc; ++k) x += pop_int(v) % 1000;
    const uint64_t n = ++*touches;
    if (!v.globals().empty()) {
      x += v.globals()[0].is_int() ? v.globals()[0].as_int() % 1000 : 1;
      if (n % 11 == 0) v.globals()[0] = Value::Int(static_cast<int64_t>(n));
    }
    // Slot 0 as a frame reads it: trailing Undef slots are not observable (a frame a
    // compiled function's bail-out makes has all of them; the interpreter's only those
    // written), so the builtin treats a missing slot as Undef and makes it to write it.
    std::vector<Value>& slots = v.frames().back().slots;
    const Value s0 = slots.empty() ? Value() : slots[0];
    x += s0.is_int() ? s0.as_int() % 1000 : 2;
    if (n % 13 == 0) {
      if (slots.empty()) slots.resize(1);
      slots[0] = Value::Int(x);
    }
    return n % 9 == 0 ? Value::Str("b" + std::to_string(n)) : Value::Int(x);
  });
}

/// What kind of program a generator makes.
enum class Shape : uint8_t {
  Straight,  ///< no jumps; usually only ops a unit may contain (the linear tier's chunks)
  Loops,     ///< loops, nested loops and branches in the main frame
  Subs,      ///< subs with loops (one maybe recursive) called from the main code and loops
  Wild,      ///< random ops without stack discipline and forward jumps, in a bounded loop
};

/// Name of a shape, for messages.
inline const char* shape_name(Shape s) {
  switch (s) {
    case Shape::Straight: return "straight";
    case Shape::Loops: return "loops";
    case Shape::Subs: return "subs";
    default: return "wild";
  }
}

/// A generated program.
struct VmProgram {
  Chunk chunk;
  Shape shape = Shape::Straight;
  bool pure = false;  ///< every op is one a VM unit may contain
  /// Subs VM::call may call afterwards: name, argument count, recursive (its argument
  /// is the recursion depth: keep it small).
  struct SubEntry {
    std::string name;
    uint8_t argc = 0;
    bool recursive = false;
  };
  std::vector<SubEntry> subs;
};

// Slot layout of every frame. Data slots take anything; a counter slot belongs to the loop
// at its nesting depth and only that loop's own ops write it.
inline constexpr uint16_t kDataSlots = 4;     // 0..3
inline constexpr uint16_t kCounterBase = 4;   // 4..6, one per loop depth
inline constexpr int kMaxLoopDepth = 3;
inline constexpr uint16_t kUnsetSlot = 7;     // never written: reads give Undef
inline constexpr uint16_t kDepthSlot = 8;     // a recursive sub's argument
inline constexpr uint64_t kMaxWork = 3000;    // estimated loop iterations per program

/// Makes one program per call from a Rand; the same Rand state gives the same program.
class VmGen {
 public:
  /// A generator of `shape` programs drawing from `r`.
  VmGen(Rand& r, Shape shape) : r_(r), shape_(shape) {}

  /// One program (use a fresh VmGen for each).
  VmProgram make() {
    switch (shape_) {
      case Shape::Straight: make_straight(); break;
      case Shape::Loops: make_loops(); break;
      case Shape::Subs: make_subs(); break;
      case Shape::Wild: make_wild(); break;
    }
    resolve();
    VmProgram p;
    p.shape = shape_;
    p.pure = true;
    for (const Op& op : chunk_.ops) {
      if (!unit_op(op.code())) p.pure = false;
    }
    chunk_.lines.clear();
    for (size_t k = 0; k < chunk_.ops.size(); ++k) chunk_.lines.push_back(static_cast<uint32_t>(k + 1));
    chunk_.source = "vmgen";
    chunk_.op_hash = chunk_.compute_op_hash();
    for (const Sub& s : subs_) p.subs.push_back({chunk_.names[s.name], s.argc, s.recursive});
    p.chunk = std::move(chunk_);
    return p;
  }

  /// The ops a VM unit may contain (the block tier's set without PushFrame/PopFrame).
  static bool unit_op(OpCode c) {
    switch (c) {
      case OpCode::Nop: case OpCode::LoadInt: case OpCode::LoadFloat: case OpCode::LoadConst:
      case OpCode::LoadTrue: case OpCode::LoadFalse: case OpCode::Pop: case OpCode::Dup:
      case OpCode::Swap: case OpCode::Rot: case OpCode::Add: case OpCode::Sub: case OpCode::Mul:
      case OpCode::Div: case OpCode::Mod: case OpCode::Pow: case OpCode::Negate: case OpCode::Inc:
      case OpCode::Dec: case OpCode::NumEq: case OpCode::NumNe: case OpCode::NumLt:
      case OpCode::NumGt: case OpCode::NumLe: case OpCode::NumGe: case OpCode::Spaceship:
      case OpCode::BitAnd: case OpCode::BitOr: case OpCode::BitXor: case OpCode::BitNot:
      case OpCode::Shl: case OpCode::Shr: case OpCode::LogNot: case OpCode::GetSlot:
      case OpCode::SetSlot: case OpCode::PreIncSlot: case OpCode::PreIncSlotVoid:
      case OpCode::AddAssignSlotVoid: case OpCode::Jump: case OpCode::JumpIfTrue:
      case OpCode::JumpIfFalse: case OpCode::SlotLtIntJumpIfFalse:
      case OpCode::SlotIncLtIntJumpBack: case OpCode::AccumSumLoop:
        return true;
      default:
        return false;
    }
  }

 private:
  // -- Emitting, labels -------------------------------------------------------------------

  struct Loop {
    int done = -1;      // label after the loop
    int cont = -1;      // label of the increment
    uint16_t counter = 0;
  };
  struct Sub {
    uint16_t name = 0;
    uint8_t argc = 0;
    bool recursive = false;
    uint64_t work = 1;  // estimated iterations per call
  };

  size_t emit(Op op) {
    chunk_.ops.push_back(op);
    return chunk_.ops.size() - 1;
  }
  int label() {
    labels_.push_back(UINT64_MAX);
    return static_cast<int>(labels_.size() - 1);
  }
  void bind(int l) { labels_[static_cast<size_t>(l)] = chunk_.ops.size(); }
  void emit_to(Op op, int l) { fixups_.emplace_back(emit(op), l); }
  void resolve() {
    for (const auto& [at, l] : fixups_) chunk_.ops[at].set_target(labels_[static_cast<size_t>(l)]);
  }
  uint16_t constant(Value v) {
    chunk_.constants.push_back(std::move(v));
    return static_cast<uint16_t>(chunk_.constants.size() - 1);
  }
  uint16_t name(const std::string& n) {
    for (size_t k = 0; k < chunk_.names.size(); ++k) {
      if (chunk_.names[k] == n) return static_cast<uint16_t>(k);
    }
    chunk_.names.push_back(n);
    return static_cast<uint16_t>(chunk_.names.size() - 1);
  }
  uint16_t global() { return name(r_.chance(0.5) ? "g0" : "g1"); }

  // Usually 0..3; now and then a slot far beyond the others (the frame grows to it).
  uint16_t data_slot() {
    static const uint16_t kFar[] = {9, 31, 255, 1000, 65535};
    if (r_.chance(0.04)) return kFar[r_.below(r_.chance(0.9) ? 4 : 5)];
    return static_cast<uint16_t>(r_.below(kDataSlots));
  }
  // A loop bound: small, or an edge of the fused ops' i32 limits.
  int64_t loop_limit() {
    static const int64_t kEdges[] = {INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1, 0, -1};
    if (r_.chance(0.12)) return kEdges[r_.below(std::size(kEdges))];
    return r_.range(-20, 60);
  }
  // A slot to read: data, a live loop counter, or one never written.
  uint16_t read_slot() {
    if (depth_ > 0 && r_.chance(0.3)) return static_cast<uint16_t>(kCounterBase + r_.below(static_cast<size_t>(depth_)));
    if (r_.chance(0.05)) return kUnsetSlot;
    return data_slot();
  }
  bool may_leave_unit() const { return !pure_; }

  // -- Expressions: each pushes exactly one value --------------------------------------

  void small_int() { emit(Op::LoadInt(r_.range(-4, 12))); }

  void literal() {
    switch (r_.below(10)) {
      case 0: case 1: emit(Op::LoadInt(r_.any_int())); break;
      case 2: small_int(); break;
      case 3: case 4: emit(Op::LoadFloat(r_.finite_float())); break;
      case 5:
        emit(Op::LoadConst(constant(r_.chance(0.5) ? Value::Int(r_.any_int()) : Value::Float(r_.any_float()))));
        break;
      case 6: emit(r_.chance(0.5) ? Op::LoadTrue() : Op::LoadFalse()); break;
      case 7:
        if (may_leave_unit() && r_.chance(0.5)) {
          emit(Op::LoadUndef());
          break;
        }
        emit(Op::LoadFloat(r_.chance(0.5) ? 0.0 : -0.0));
        break;
      case 8:
        if (may_leave_unit() && r_.chance(0.4)) {
          static const char* const kStrs[] = {"7", "2.5", "abc", "", "-3", "1e3"};
          emit(Op::LoadConst(constant(Value::Str(kStrs[r_.below(6)]))));
          break;
        }
        small_int();
        break;
      default: small_int(); break;
    }
  }

  void leaf() {
    switch (r_.below(10)) {
      case 0: case 1: case 2: case 3: literal(); break;
      case 4: case 5: case 6: case 7: emit(Op::GetSlot(read_slot())); break;
      case 8: emit(Op::PreIncSlot(data_slot())); break;
      default:
        if (may_leave_unit() && r_.chance(0.5)) {
          emit(r_.chance(0.8) ? Op::GetVar(global()) : Op::GetStatus());
        } else {
          emit(Op::GetSlot(read_slot()));
        }
    }
  }

  static Op binary_op(size_t k) {
    static const Op kOps[] = {Op::Add(),   Op::Sub(),       Op::Mul(),    Op::Div(),    Op::Mod(),   Op::Pow(),
                              Op::NumEq(), Op::NumNe(),     Op::NumLt(),  Op::NumGt(),  Op::NumLe(), Op::NumGe(),
                              Op::Spaceship(), Op::BitAnd(), Op::BitOr(), Op::BitXor(), Op::Shl(),   Op::Shr()};
    return kOps[k % std::size(kOps)];
  }
  Op any_binary() {
    // Arithmetic and comparisons weighted up: they are where kinds meet.
    if (r_.chance(0.5)) return binary_op(r_.below(6));
    return binary_op(r_.below(18));
  }
  Op any_unary() {
    static const Op kOps[] = {Op::Negate(), Op::Inc(), Op::Dec(), Op::BitNot(), Op::LogNot()};
    return kOps[r_.below(std::size(kOps))];
  }

  void expr(int d) {
    if (d <= 0 || r_.chance(0.25)) {
      leaf();
      return;
    }
    switch (r_.below(16)) {
      case 0: case 1:
        expr(d - 1);
        emit(any_unary());
        return;
      case 2: case 3: case 4: case 5:
        expr(d - 1);
        expr(d - 1);
        emit(any_binary());
        return;
      case 6: {  // a divisor that is zero at one iteration, or a zero/-1 literal
        expr(d - 1);
        if (depth_ > 0 && r_.chance(0.7)) {
          emit(Op::GetSlot(static_cast<uint16_t>(kCounterBase + r_.below(static_cast<size_t>(depth_)))));
          emit(Op::LoadInt(r_.range(0, 6)));
          emit(Op::Sub());
        } else {
          static const int64_t kDivs[] = {0, 0, -1, 1, 2};
          if (r_.chance(0.3)) emit(Op::LoadFloat(r_.chance(0.5) ? 0.0 : -0.0));
          else emit(Op::LoadInt(kDivs[r_.below(std::size(kDivs))]));
        }
        emit(r_.chance(0.6) ? Op::Div() : Op::Mod());
        return;
      }
      case 7:
        expr(d - 1);
        expr(d - 1);
        emit(Op::Swap());
        emit(any_binary());
        return;
      case 8:
        expr(d - 1);
        expr(d - 1);
        expr(d - 1);
        emit(Op::Rot());
        emit(any_binary());
        emit(any_binary());
        return;
      case 9:
        expr(d - 1);
        emit(Op::Dup());
        emit(any_binary());
        return;
      case 10:
        expr(d - 1);
        expr(d - 1);
        emit(Op::Pop());
        return;
      case 11:  // a comparison: Bool values flow into slots and arithmetic
        expr(d - 1);
        expr(d - 1);
        emit(binary_op(6 + r_.below(6)));
        return;
      case 12:
        if (jumps_) {  // c ? a : b, whose arms may push different kinds
          int other = label(), end = label();
          expr(d - 1);
          emit_to(r_.chance(0.5) ? Op::JumpIfFalse(0) : Op::JumpIfTrue(0), other);
          expr(d - 1);
          emit_to(Op::Jump(0), end);
          bind(other);
          expr(d - 1);
          bind(end);
          return;
        }
        break;
      case 13:
        if (jumps_ && may_leave_unit()) {  // a && b / a || b with the Keep jumps
          int end = label();
          expr(d - 1);
          emit_to(r_.chance(0.5) ? Op::JumpIfFalseKeep(0) : Op::JumpIfTrueKeep(0), end);
          emit(Op::Pop());
          expr(d - 1);
          bind(end);
          return;
        }
        break;
      case 14:
        if (may_leave_unit()) {
          expr(d - 1);
          expr(d - 1);
          static const Op kOps[] = {Op::Concat(), Op::LogAnd(), Op::LogOr(), Op::StrEq(), Op::StringRepeat()};
          Op op = kOps[r_.below(std::size(kOps))];
          if (op.code() == OpCode::StringRepeat) {  // bounded: the count is a small literal
            emit(Op::Pop());
            small_int();
          }
          emit(op);
          return;
        }
        break;
      case 15:
        if (may_leave_unit() && r_.chance(0.5)) {  // a builtin (register_builtins)
          const auto argc = static_cast<uint8_t>(r_.below(3));
          for (uint8_t k = 0; k < argc; ++k) expr(d - 1);
          emit(Op::CallBuiltin(static_cast<uint16_t>(r_.below(4)), argc));
          return;
        }
        break;
      default:
        break;
    }
    expr(d - 1);
    expr(d - 1);
    emit(any_binary());
  }

  // -- Statements: stack-neutral unless noted --------------------------------------------

  void assign() {
    expr(static_cast<int>(r_.range(0, 3)));
    emit(Op::SetSlot(data_slot()));
  }

  void stmt() {
    ++stmts_;
    switch (r_.below(20)) {
      case 0: case 1: case 2: case 3: assign(); return;
      case 4:
        if (r_.chance(0.3)) {
          wide();
          return;
        }
        break;
      case 5: emit(Op::PreIncSlotVoid(data_slot())); return;
      case 6: emit(Op::AddAssignSlotVoid(data_slot(), read_slot())); return;
      case 7:
        expr(2);
        emit(Op::Pop());
        return;
      case 8: case 9:
        if (jumps_) {
          if_stmt();
          return;
        }
        break;
      case 10:
        if (jumps_ && depth_ > 0) {  // the slot changes kind at one iteration
          int skip = label();
          emit(Op::GetSlot(static_cast<uint16_t>(kCounterBase + depth_ - 1)));
          emit(Op::LoadInt(r_.range(0, 5)));
          emit(r_.chance(0.6) ? Op::NumEq() : Op::NumGe());
          emit_to(Op::JumpIfFalse(0), skip);
          literal();
          emit(Op::SetSlot(data_slot()));
          bind(skip);
          return;
        }
        break;
      case 11: case 12: case 13:
        if (jumps_ && depth_ < kMaxLoopDepth && stmts_ < 60) {
          loop();
          return;
        }
        break;
      case 14:
        if (jumps_ && !loops_.empty()) {  // break or continue
          Loop& l = loops_[r_.below(loops_.size())];
          expr(1);
          emit_to(r_.chance(0.5) ? Op::JumpIfTrue(0) : Op::JumpIfFalse(0), r_.chance(0.6) ? l.done : l.cont);
          return;
        }
        break;
      case 15: case 16:
        if (may_leave_unit()) {
          unadmitted();
          return;
        }
        break;
      case 17:
        if (!subs_.empty() && call()) return;
        break;
      case 18:
        if (jumps_ && depth_ < kMaxLoopDepth && r_.chance(0.5)) {
          accum_loop();
          return;
        }
        break;
      case 19:
        if (r_.chance(0.3)) {  // leaves a value: in a loop the stack grows every iteration
          expr(1);
          return;
        }
        if (jumps_ && may_leave_unit() && r_.chance(0.5)) {
          scope();
          return;
        }
        break;
      default:
        break;
    }
    assign();
  }

  // PushFrame; statements in a fresh frame; PopFrame. No break or continue leaves it (the
  // enclosing loops' counters live in the outer frame), and its loops count in its own.
  void scope() {
    emit(Op::PushFrame());
    std::vector<Loop> outer = std::move(loops_);
    loops_.clear();
    const int saved_depth = depth_;
    const bool saved_sub = in_sub_;
    depth_ = 0;
    in_sub_ = true;  // a fresh frame: counters start unset, as in a sub
    block(2);
    depth_ = saved_depth;
    in_sub_ = saved_sub;
    loops_ = std::move(outer);
    emit(Op::PopFrame());
  }

  // Many values at once, then folded: deep stacks at the ops that may exit.
  void wide() {
    const size_t n = 3 + r_.below(14);
    for (size_t k = 0; k < n; ++k) leaf();
    for (size_t k = 1; k < n; ++k) emit(r_.chance(0.2) ? Op::Div() : any_binary());
    emit(Op::SetSlot(data_slot()));
  }

  void unadmitted() {
    switch (r_.below(13)) {
      case 8:  // arrays and hashes in globals, read and written every lap (call-outs in traces)
        expr(1);
        emit(Op::ArrayPush(name("a0")));
        return;
      case 9:
        expr(1);
        emit(r_.chance(0.5) ? Op::ArrayGet(name("a0")) : Op::HashGet(name("h0")));
        emit(Op::SetSlot(data_slot()));
        return;
      case 10:  // [v k]: a count per key, the key built from a value
        emit(Op::LoadConst(constant(Value::Str("k"))));
        expr(0);
        emit(Op::Concat());
        emit(Op::Dup());
        emit(Op::HashGet(name("h0")));
        literal();
        emit(Op::Add());
        emit(Op::Swap());
        emit(Op::HashSet(name("h0")));
        return;
      case 11:
        emit(r_.chance(0.5) ? Op::ArrayLen(name("a0")) : Op::GetVar(global()));
        if (r_.chance(0.5)) emit(Op::StringLen());
        emit(Op::SetSlot(data_slot()));
        return;
      case 12:
        emit(Op::GetSlot(read_slot()));
        emit(Op::GetSlot(read_slot()));
        emit(r_.chance(0.5) ? Op::Concat() : Op::StrEq());
        emit(Op::StringLen());
        emit(Op::SetSlot(data_slot()));
        return;
      case 7:  // a heap string kept in a global (memory for max_memory to see)
        emit(Op::LoadConst(constant(Value::Str("abcdefgh"))));
        emit(Op::LoadInt(r_.range(1, 40)));
        emit(Op::StringRepeat());
        emit(Op::SetVar(global()));
        return;
      case 0: case 1:
        expr(1);
        emit(Op::PrintLn(1));
        return;
      case 2:
        expr(1);
        emit(Op::SetVar(global()));
        return;
      case 3:
        emit(Op::GetVar(global()));
        emit(Op::SetSlot(data_slot()));
        return;
      case 4:
        expr(0);
        expr(0);
        emit(Op::MakeArray(2));
        // Never stored: an array built from slots in a loop would nest exponentially.
        if (r_.chance(0.5)) emit(Op::PrintLn(1));
        else emit(Op::Pop());
        return;
      case 5:
        expr(1);
        emit(Op::SetStatus());
        return;
      default:
        emit(Op::LoadConst(constant(Value::Str("s"))));
        expr(0);
        emit(Op::Concat());
        emit(Op::SetSlot(data_slot()));
        return;
    }
  }

  void block(size_t max) {
    const size_t n = 1 + r_.below(max);
    for (size_t k = 0; k < n; ++k) stmt();
  }

  void if_stmt() {
    int other = label(), end = label();
    expr(static_cast<int>(r_.range(0, 2)));
    emit_to(r_.chance(0.5) ? Op::JumpIfFalse(0) : Op::JumpIfTrue(0), other);
    block(2);
    if (r_.chance(0.5)) {
      emit_to(Op::Jump(0), end);
      bind(other);
      block(2);
      bind(end);
    } else {
      bind(other);
      bind(end);
    }
  }

  // Iterations for a loop at the current depth within the work budget (0 when none).
  int64_t iterations() {
    const uint64_t room = kMaxWork / mult_;
    if (room < 2 || work_ + mult_ * 2 > kMaxWork) return 0;
    const uint64_t want = r_.chance(0.2) ? r_.range(20, 300) : r_.range(0, 12);
    const uint64_t n = std::min<uint64_t>({want, room, (kMaxWork - work_) / mult_});
    return static_cast<int64_t>(n);
  }

  // The counter's first value for `n` iterations up to `limit`: usually an Int, sometimes
  // a Float, Bool or nothing at all (the previous value, or Undef), so the counter changes
  // kind at the first increment.
  void init_counter(uint16_t c, int64_t limit, int64_t n) {
    const int64_t start = limit - n;
    switch (r_.below(10)) {
      case 0: emit(Op::LoadFloat(static_cast<double>(start) + 0.25)); break;
      case 1:
        if (start == 0 || start == 1) {
          emit(start == 1 ? Op::LoadTrue() : Op::LoadFalse());
          break;
        }
        emit(Op::LoadInt(start));
        break;
      case 2:
        if (start == 0 && depth_ == 0 && !in_sub_ && !main_counter_set_) {
          main_counter_set_ = true;
          return;  // a counter never written reads as Undef
        }
        emit(Op::LoadInt(start));
        break;
      default: emit(Op::LoadInt(start)); break;
    }
    emit(Op::SetSlot(c));
    if (depth_ == 0 && !in_sub_) main_counter_set_ = true;
  }

  void loop() {
    const int64_t n = iterations();
    if (n == 0 && r_.chance(0.7)) {
      assign();
      return;
    }
    const uint16_t c = static_cast<uint16_t>(kCounterBase + depth_);
    const int64_t limit = loop_limit();
    Loop l{label(), label(), c};
    work_ += mult_ * static_cast<uint64_t>(std::max<int64_t>(n, 1));
    const uint64_t saved_mult = mult_;
    mult_ *= static_cast<uint64_t>(std::max<int64_t>(n, 1));
    const size_t body_max = depth_ == 0 ? 4 : 2;
    auto body = [&] {
      ++depth_;
      loops_.push_back(l);
      block(body_max);
      loops_.pop_back();
      --depth_;
    };
    const int top = label();
    switch (r_.below(8)) {
      case 0: case 1: {  // while (c < limit) { body; ++c }
        init_counter(c, limit, n);
        bind(top);
        if (r_.chance(0.5)) {
          emit(Op::GetSlot(c));
          emit(Op::LoadInt(limit));
          emit(Op::NumLt());
          emit_to(Op::JumpIfFalse(0), l.done);
        } else {
          emit(Op::LoadInt(limit));
          emit(Op::GetSlot(c));
          if (r_.chance(0.5)) {  // exit when limit <= c
            emit(Op::NumLe());
            emit_to(Op::JumpIfTrue(0), l.done);
          } else {  // go on while limit > c
            emit(Op::NumGt());
            emit_to(Op::JumpIfFalse(0), l.done);
          }
        }
        body();
        bind(l.cont);
        emit(Op::PreIncSlotVoid(c));
        emit_to(Op::Jump(0), top);
        break;
      }
      case 2: {  // the fused test
        init_counter(c, limit, n);
        bind(top);
        emit_to(Op::SlotLtIntJumpIfFalse(c, static_cast<int32_t>(limit), 0), l.done);
        body();
        bind(l.cont);
        if (r_.chance(0.5)) {
          emit(Op::PreIncSlotVoid(c));
        } else {
          emit(Op::GetSlot(c));
          emit(Op::LoadInt(1));
          emit(Op::Add());
          emit(Op::SetSlot(c));
        }
        emit_to(Op::Jump(0), top);
        break;
      }
      case 3: {  // do { body } while (++c < limit), fused
        init_counter(c, limit, n);
        bind(top);
        body();
        bind(l.cont);
        emit_to(Op::SlotIncLtIntJumpBack(c, static_cast<int32_t>(limit), 0), top);
        break;
      }
      case 4: {  // count down to zero
        emit(Op::LoadInt(n));
        emit(Op::SetSlot(c));
        bind(top);
        emit(Op::GetSlot(c));
        emit_to(Op::JumpIfFalse(0), l.done);
        body();
        bind(l.cont);
        emit(Op::GetSlot(c));
        if (r_.chance(0.5)) {
          emit(Op::Dec());
        } else {
          emit(Op::LoadInt(1));
          emit(Op::Sub());
        }
        emit(Op::SetSlot(c));
        emit_to(Op::Jump(0), top);
        break;
      }
      case 5: {  // a Float counter
        const double step = r_.chance(0.5) ? 1.0 : 0.5;
        const double start = static_cast<double>(r_.range(-5, 5));
        emit(Op::LoadFloat(start));
        emit(Op::SetSlot(c));
        bind(top);
        emit(Op::GetSlot(c));
        emit(Op::LoadFloat(start + step * static_cast<double>(n) - step / 2));
        emit(Op::NumLt());
        emit_to(Op::JumpIfFalse(0), l.done);
        body();
        bind(l.cont);
        emit(Op::GetSlot(c));
        emit(Op::LoadFloat(step));
        emit(Op::Add());
        emit(Op::SetSlot(c));
        emit_to(Op::Jump(0), top);
        break;
      }
      case 6: {  // do { body; ++c } while (c < limit), unfused
        init_counter(c, limit, n);
        bind(top);
        body();
        bind(l.cont);
        emit(Op::PreIncSlotVoid(c));
        emit(Op::GetSlot(c));
        emit(Op::LoadInt(limit));
        emit(Op::NumLt());
        emit_to(Op::JumpIfTrue(0), top);
        break;
      }
      default: {  // while (++c <= limit) { body }: the increment is the test
        init_counter(c, limit + 1, n);
        bind(top);
        bind(l.cont);
        emit(Op::PreIncSlot(c));
        emit(Op::LoadInt(limit));
        emit(Op::NumLe());
        emit_to(Op::JumpIfFalse(0), l.done);
        body();
        emit_to(Op::Jump(0), top);
        break;
      }
    }
    bind(l.done);
    mult_ = saved_mult;
    if (depth_ == 0 && !in_sub_) main_counter_set_ = true;
  }

  // AccumSumLoop over the next depth's counter (the op's own loop).
  void accum_loop() {
    const uint16_t c = static_cast<uint16_t>(kCounterBase + depth_);
    const int64_t limit = r_.chance(0.15) ? loop_limit() : r_.range(-10, 2000);
    const int64_t start = limit - r_.range(-3, 200);
    emit(r_.chance(0.8) ? Op::LoadInt(start) : Op::LoadFloat(static_cast<double>(start) - 0.5));
    emit(Op::SetSlot(c));
    if (depth_ == 0 && !in_sub_) main_counter_set_ = true;
    emit(Op::AccumSumLoop(r_.chance(0.8) ? data_slot() : c, c, static_cast<int32_t>(limit)));
  }

  // A call of some sub with its arguments; false when the work budget says no.
  bool call() {
    const Sub& s = subs_[r_.below(subs_.size())];
    const uint64_t depth = s.recursive ? static_cast<uint64_t>(r_.range(0, 4)) : 0;
    const uint64_t cost = s.work * (depth + 1) * mult_;
    if (work_ + cost > kMaxWork) return false;
    work_ += cost;
    if (s.recursive) {
      emit(Op::LoadInt(static_cast<int64_t>(depth)));
    } else {
      for (uint8_t k = 0; k < s.argc; ++k) expr(1);
    }
    emit(Op::Call(s.name, s.argc));
    if (r_.chance(0.7)) emit(Op::SetSlot(data_slot()));
    else emit(Op::Pop());
    return true;
  }

  // -- Whole programs ------------------------------------------------------------------

  void ending() {
    switch (r_.below(6)) {
      case 0:
        expr(2);
        emit(Op::ReturnValue());
        return;
      case 1:
        emit(Op::Return());
        return;
      case 2:
        for (uint16_t s = 0; s < kDataSlots; ++s) emit(Op::GetSlot(s));
        emit(Op::MakeArray(kDataSlots));
        emit(Op::ReturnValue());
        return;
      case 3:
        expr(1);
        emit(Op::PrintLn(1));
        return;
      default:  // fall off the end with a value or two on the stack
        expr(2);
        if (r_.chance(0.3)) expr(1);
        return;
    }
  }

  void make_straight() {
    pure_ = r_.chance(0.85);
    jumps_ = false;
    const size_t n = 2 + r_.below(r_.chance(0.2) ? 30 : 10);
    for (size_t k = 0; k < n; ++k) stmt();
    // The result: the run returns the top of the stack, whatever it holds.
    const size_t values = r_.below(3);
    for (size_t k = 0; k < values; ++k) expr(2);
  }

  void make_loops() {
    pure_ = r_.chance(0.4);
    jumps_ = true;
    // Data slots start with values of every kind (or stay unset: Undef).
    for (uint16_t s = 0; s < kDataSlots; ++s) {
      if (r_.chance(0.75)) {
        literal();
        emit(Op::SetSlot(s));
      }
    }
    const size_t n = 1 + r_.below(4);
    for (size_t k = 0; k < n; ++k) {
      if (r_.chance(0.6)) loop();
      else stmt();
    }
    if (pure_) {
      const size_t values = r_.below(3);
      for (size_t k = 0; k < values; ++k) expr(2);
    } else {
      ending();
    }
  }

  void make_subs() {
    pure_ = false;
    jumps_ = true;
    const size_t count = 1 + r_.below(3);
    for (size_t k = 0; k < count; ++k) make_sub(static_cast<int>(k));
    const size_t n = 2 + r_.below(4);
    for (size_t k = 0; k < n; ++k) {
      if (r_.chance(0.4)) {
        call();
      } else if (r_.chance(0.5)) {
        loop();
      } else {
        stmt();
      }
    }
    ending();
  }

  // `Jump over; body; over:` with the body registered as sub "f<k>".
  void make_sub(int k) {
    int over = label();
    emit_to(Op::Jump(0), over);
    Sub s;
    s.name = name("f" + std::to_string(k));
    s.recursive = r_.chance(0.3);
    chunk_.sub_entries.emplace_back(s.name, chunk_.ops.size());
    const uint64_t saved_work = work_;
    work_ = 0;
    in_sub_ = true;
    if (s.recursive) {
      s.argc = 1;
      emit(Op::SetSlot(kDepthSlot));
      const size_t n = 1 + r_.below(3);
      for (size_t j = 0; j < n; ++j) r_.chance(0.6) ? loop() : stmt();
      int base = label();
      emit(Op::GetSlot(kDepthSlot));
      emit(Op::LoadInt(0));
      emit(Op::NumLe());
      emit_to(Op::JumpIfTrue(0), base);
      emit(Op::GetSlot(kDepthSlot));
      emit(Op::Dec());
      emit(Op::Call(s.name, 1));
      expr(1);
      emit(any_binary());
      emit(Op::ReturnValue());
      bind(base);
      expr(1);
      emit(Op::ReturnValue());
    } else {
      s.argc = static_cast<uint8_t>(r_.below(3));
      for (int a = s.argc - 1; a >= 0; --a) emit(Op::SetSlot(static_cast<uint16_t>(a)));
      const size_t n = 1 + r_.below(3);
      for (size_t j = 0; j < n; ++j) r_.chance(0.6) ? loop() : stmt();
      if (r_.chance(0.8)) {
        expr(2);
        emit(Op::ReturnValue());
      } else {
        emit(Op::Return());
      }
    }
    in_sub_ = false;
    s.work = std::max<uint64_t>(work_, 1);
    work_ = saved_work;
    bind(over);
    subs_.push_back(s);  // later subs and the main code may call it
  }

  // Random ops with random operands and forward jumps (some past the end), inside a loop
  // on slot 6 that the random ops never write.
  void make_wild() {
    pure_ = r_.chance(0.5);
    static const OpCode kCodes[] = {
        OpCode::Nop,    OpCode::LoadInt, OpCode::LoadFloat, OpCode::LoadTrue, OpCode::Pop,   OpCode::Dup,
        OpCode::Swap,   OpCode::Rot,     OpCode::Add,       OpCode::Sub,      OpCode::Mul,   OpCode::Div,
        OpCode::Mod,    OpCode::Pow,     OpCode::Negate,    OpCode::Inc,      OpCode::Dec,   OpCode::NumEq,
        OpCode::NumLt,  OpCode::NumGe,   OpCode::Spaceship, OpCode::BitAnd,   OpCode::BitXor, OpCode::Shl,
        OpCode::Shr,    OpCode::BitNot,  OpCode::LogNot,    OpCode::GetSlot,  OpCode::GetSlot, OpCode::SetSlot,
        OpCode::SetSlot, OpCode::PreIncSlot, OpCode::PreIncSlotVoid, OpCode::AddAssignSlotVoid, OpCode::Jump,
        OpCode::JumpIfTrue, OpCode::JumpIfFalse, OpCode::SlotLtIntJumpIfFalse, OpCode::LoadFalse};
    static const OpCode kImpure[] = {OpCode::LoadUndef, OpCode::Dup2, OpCode::PrintLn, OpCode::MakeArray,
                                     OpCode::JumpIfTrueKeep, OpCode::JumpIfFalseKeep, OpCode::Concat};
    const uint16_t counter = 6;
    const int64_t n = r_.range(1, 40);
    if (r_.chance(0.5)) {
      for (uint16_t s = 0; s < kDataSlots; ++s) {
        emit(Op::LoadInt(r_.range(-3, 9)));
        emit(Op::SetSlot(s));
      }
    }
    emit(Op::LoadInt(0));
    emit(Op::SetSlot(counter));
    const size_t top = chunk_.ops.size();
    const size_t len = 3 + r_.below(30);
    // Usually the straight path never pops below the loop's entry depth (a unit can
    // cover the loop); otherwise anything goes, and the units decline or exit.
    const bool keep_depth = r_.chance(0.7);
    int64_t depth = 0;
    std::vector<size_t> jumps;
    auto slot = [&] { return static_cast<uint16_t>(r_.chance(0.1) ? kUnsetSlot : r_.below(kDataSlots)); };
    for (size_t k = 0; k < len; ++k) {
      OpCode c = (!pure_ && r_.chance(0.1)) ? kImpure[r_.below(std::size(kImpure))] : kCodes[r_.below(std::size(kCodes))];
      if (keep_depth) {
        const OpInfo& info = op_info(c);
        const int64_t pops = info.pops == kVar ? 2 : info.pops;
        while (depth < pops + (c == OpCode::Dup || c == OpCode::Pop ? 1 : 0)) {
          emit(r_.chance(0.5) ? Op::GetSlot(slot()) : Op::LoadInt(r_.range(-3, 9)));
          ++depth;
        }
        depth += (info.pushes == kVar ? 1 : info.pushes) - pops;
      }
      switch (c) {
        case OpCode::LoadInt: emit(Op::LoadInt(r_.any_int())); break;
        case OpCode::LoadFloat: emit(Op::LoadFloat(r_.finite_float())); break;
        case OpCode::GetSlot: emit(Op::GetSlot(r_.chance(0.2) ? counter : slot())); break;
        case OpCode::SetSlot: emit(Op::SetSlot(slot())); break;
        case OpCode::PreIncSlot: emit(Op::PreIncSlot(slot())); break;
        case OpCode::PreIncSlotVoid: emit(Op::PreIncSlotVoid(slot())); break;
        case OpCode::AddAssignSlotVoid: emit(Op::AddAssignSlotVoid(slot(), r_.chance(0.3) ? counter : slot())); break;
        case OpCode::Jump: case OpCode::JumpIfTrue: case OpCode::JumpIfFalse: case OpCode::JumpIfTrueKeep:
        case OpCode::JumpIfFalseKeep:
          jumps.push_back(emit(Op(c)));
          break;
        case OpCode::SlotLtIntJumpIfFalse:
          jumps.push_back(emit(Op::SlotLtIntJumpIfFalse(r_.chance(0.5) ? counter : slot(),
                                                        static_cast<int32_t>(r_.range(-5, 20)), 0)));
          break;
        case OpCode::MakeArray: emit(Op::MakeArray(keep_depth ? 1 : static_cast<uint16_t>(r_.below(2)))); break;
        case OpCode::PrintLn: emit(Op::PrintLn(keep_depth ? 1 : static_cast<uint8_t>(r_.below(3)))); break;
        default: emit(Op(c)); break;
      }
    }
    const size_t cont = chunk_.ops.size();
    emit(Op::SlotIncLtIntJumpBack(counter, static_cast<int32_t>(n), top));
    const size_t end = chunk_.ops.size();
    for (size_t at : jumps) {
      // Forward only, so the random code cannot loop; now and then past the end.
      uint64_t t = r_.chance(0.1) ? end + r_.below(3) : at + 1 + r_.below(cont - at);
      chunk_.ops[at].set_target(t);
    }
  }

  Rand& r_;
  Shape shape_;
  Chunk chunk_;
  std::vector<uint64_t> labels_;
  std::vector<std::pair<size_t, int>> fixups_;
  std::vector<Loop> loops_;
  std::vector<Sub> subs_;
  bool pure_ = false;
  bool jumps_ = false;
  bool in_sub_ = false;
  bool main_counter_set_ = false;  // the main frame's depth-0 counter holds a value
  int depth_ = 0;
  size_t stmts_ = 0;
  uint64_t mult_ = 1;
  uint64_t work_ = 0;
};

}  // namespace fusevm_test::vmgen
