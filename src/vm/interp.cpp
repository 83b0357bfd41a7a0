// The interpreter's dispatch loop: computed goto (or switch) over decoded streams.
//
// RULES FOR HANDLER AUTHORS
// R1 Anything out of line (OUTLINE, call-outs, frame pushes) may grow the value stack or
//    the frame stack: RELOAD re-reads base/sp/cap/fr/cur afterwards.
// R2 SYNC stores the stack top, the next ip and the current stream before anything that
//    can fail, call out, or read VM state from outside the loop.
// R3 Never hold a Value* or Frame* across R1; hold an index.
// R4 Storage above sp is dead. A Value moved out of it is left Undef, so popping by
//    move needs no destructor call; a non-heap Value needs none either.
// R5 Interrupt points (ARCHITECTURE §9): every taken jump, every call, every block
//    invocation and every 65,536 iterations of a fused loop op POLL.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "vm/interp.hpp"
#include "vm/semantics.hpp"

#ifndef FUSEVM_USE_CGOTO
#define FUSEVM_USE_CGOTO 1
#endif

#define FUSEVM_LIKELY(x) __builtin_expect(!!(x), 1)
#define FUSEVM_UNLIKELY(x) __builtin_expect(!!(x), 0)

namespace fusevm {

namespace {

// Slot reads of an empty frame stack see this frame: no slots, never written (writes
// check for it and are dropped, spec/ops.md §0 "Indices").
const Frame kNoFrame{};

constexpr uint64_t kFusedPollInterval = 65536;


}  // namespace

Value* Interp::stack_end(VMState& st) {
  const size_t capacity = static_cast<size_t>(st.stack.cap_ - st.stack.base_);
  return st.stack.base_ + std::min(capacity, st.limits.max_stack);
}

// Grow the stack so `n` more values fit, within max_stack.
bool Interp::ensure_stack(VMState& st, size_t n) {
  const size_t size = st.stack.size();
  if (size + n > st.limits.max_stack) {
    st.set_limit_error("value stack", st.limits.max_stack, st.ip == 0 ? 0 : st.ip - 1);
    return false;
  }
  size_t cap = static_cast<size_t>(st.stack.cap_ - st.stack.base_);
  size_t want = std::max<size_t>({size + n, cap * 2, 256});
  st.stack.grow(std::min(want, std::max(st.limits.max_stack, size + n)));
  return true;
}

namespace {

// Returns the slot for writing, growing the slot vector; nullptr with no frame.
inline Value* slot_for_write(Frame* fr, uint16_t s) {
  if (fr == &kNoFrame) return nullptr;
  auto& slots = fr->slots;
  if (s >= slots.size()) {
    // A reused frame keeps its capacity (FrameStack), so growing one slot at a time, as
    // a callee's first SetSlots do, is an in-place construct rather than a resize().
    if (s < slots.capacity()) {
      while (slots.size() <= s) slots.emplace_back();
    } else {
      slots.resize(static_cast<size_t>(s) + 1);
    }
  }
  return &slots[s];
}

inline void store_slot(Frame* fr, uint16_t s, Value v) {
  if (Value* p = slot_for_write(fr, s)) *p = std::move(v);
}

// Add/Sub/Mul of two Ints, wrapping; `op` is the OpCode number.
inline int64_t int_arith(uint64_t op, int64_t x, int64_t y) {
  if (op == static_cast<uint64_t>(OpCode::Add)) return sem::wrap_add(x, y);
  if (op == static_cast<uint64_t>(OpCode::Sub)) return sem::wrap_sub(x, y);
  return sem::wrap_mul(x, y);
}

inline int64_t slot_int(const Frame* fr, uint16_t s) {
  return s < fr->slots.size() ? fr->slots[s].to_int() : 0;
}

}  // namespace

// Laps of a fused loop from `i` up to `limit`: unsigned, since `limit - i` overflows for a
// counter far below the limit (INT64_MIN), which a fuzzed chunk found.
inline uint64_t laps_to(int64_t i, int64_t limit) {
  return i < limit ? static_cast<uint64_t>(limit) - static_cast<uint64_t>(i) : 0;
}
// The counter after `laps` of laps_to(i, limit) laps: `limit` when all ran, `i` when there
// were none.
inline int64_t after_laps(int64_t i, uint64_t laps) {
  return static_cast<int64_t>(static_cast<uint64_t>(i) + laps);
}

// Fuel for a fused loop op (AccumSumLoop, ConcatConstLoop, PushIntRangeLoop) of `laps`
// laps: one unit per lap, as its unfused loop would spend several ops a lap (the op's own
// unit, spent by METER, pays for the first). Returns the laps to run now: all of them, or
// as many as the fuel left pays for — the op then writes its progress back and fails
// with the fuel error at itself, so a later run() with more fuel goes on from there.
// Counting the op as one step let a fuzzed AccumSumLoop from INT64_MIN run for ever
// under a step budget.
template <bool kMetered>
inline uint64_t fuel_laps(VMState& st, uint64_t laps) {
  if constexpr (kMetered) {
    if (st.limits.fuel != 0 && laps > 0) {
      if (laps - 1 <= st.fuel_left) {
        st.fuel_left -= laps - 1;
        return laps;
      }
      const uint64_t now = st.fuel_left + 1;
      st.fuel_left = 0;
      return now;
    }
  }
  return laps;
}

template <bool kMetered>
ExitReason Interp::run_loop(VMState& st, VM& vm, CodeStream* cur, const Insn* pc) {
#if FUSEVM_USE_CGOTO
  static const void* const kLabels[kNumXOps] = {
#define FUSEVM_OP(name, pops, pushes, flags) &&L_##name,
#include "fusevm/ops.def"
      &&L_End, &&L_BlockEnd, &&L_BlockEscape, &&L_BlockBadOp, &&L_CallReturn,
      &&L_CallUndefined, &&L_SlotCmpImmJump, &&L_SlotSlotArithStore, &&L_SlotArithImm,
      &&L_SlotSlotArith, &&L_CmpJump, &&L_StackSlotArithStore, &&L_StackSlotArith,
  };
  static_assert(sizeof(kLabels) / sizeof(kLabels[0]) == kNumXOps);
#define CASE(name) L_##name:
#define DISPATCH() goto* kLabels[pc->op]
#define DISPATCH_AS(o) goto* kLabels[(o)]
#else
  uint16_t xop = 0;
#define CASE(name) case XOp::name:
#define DISPATCH()   \
  do {               \
    xop = pc->op;    \
    goto dispatch_top; \
  } while (0)
#define DISPATCH_AS(o) \
  do {                 \
    xop = (o);         \
    goto dispatch_top; \
  } while (0)
#endif

  // `cap` is where the loop must stop pushing without a check: the end of the buffer or
  // the max_stack limit, whichever comes first.
  Value* base = st.stack.base_;
  Value* sp = st.stack.top_;
  Value* cap = stack_end(st);
  Frame* fr = st.frames.empty() ? const_cast<Frame*>(&kNoFrame) : &st.frames.back();
  int32_t* const jit_counters = st.jit_counters;
  uint64_t jit_from = 0;

#define RELOAD_FRAME() \
  (fr = st.frames.empty() ? const_cast<Frame*>(&kNoFrame) : &st.frames.back())
  // SYNC: the current op is at pc; the next op is pc + 1.
#define SYNC()                             \
  do {                                     \
    st.stack.top_ = sp;                    \
    st.ip = cur->ip_of(pc) + 1;            \
    st.cur_stream = cur->index;            \
  } while (0)
  // SYNC_AT_PC: pc is the op to run next (after a jump, or an op not yet executed).
#define SYNC_AT_PC()                       \
  do {                                     \
    st.stack.top_ = sp;                    \
    st.ip = cur->ip_of(pc);                \
    st.cur_stream = cur->index;            \
  } while (0)
#define RELOAD()                              \
  do {                                        \
    base = st.stack.base_;                    \
    sp = st.stack.top_;                       \
    cap = stack_end(st);                      \
    RELOAD_FRAME();                           \
    cur = &st.code.stream(st.cur_stream);     \
  } while (0)
  // The metered loop runs under a fuel limit, while a trace is recorded and while
  // profiling; recording sees each op before it runs, and ends this loop when it is over
  // (ExitReason::Switch).
  // A call-out's run stops at the first op of its frame outside its ops (VMState::stop_hi).
#define METER()                                                       \
  do {                                                                \
    if constexpr (kMetered) {                                         \
      if (FUSEVM_UNLIKELY(st.recording)) {                            \
        SYNC_AT_PC();                                                 \
        if (!st.jit->on_record(st)) return ExitReason::Switch;        \
      }                                                               \
      if (FUSEVM_UNLIKELY(st.stop_hi != 0) && cur->index == CodeSet::kMain && \
          (cur->ip_of(pc) < st.stop_lo || cur->ip_of(pc) >= st.stop_hi) &&   \
          st.frames.size() == st.stop_frames) {                       \
        SYNC_AT_PC();                                                 \
        return ExitReason::Stopped;                                   \
      }                                                               \
      if (st.limits.fuel != 0) {                                      \
        if (FUSEVM_UNLIKELY(st.fuel_left == 0)) goto fuel_exhausted;  \
        --st.fuel_left;                                               \
      }                                                               \
      if (FUSEVM_UNLIKELY(st.profile != nullptr)) st.count_op(pc->op); \
    }                                                                 \
  } while (0)
#define NEXT()     \
  do {             \
    METER();       \
    DISPATCH();    \
  } while (0)
#define POLL()                                                      \
  do {                                                              \
    if (FUSEVM_UNLIKELY(st.poll.load(std::memory_order_relaxed))) { \
      SYNC_AT_PC();                                                 \
      if (!st.poll_slow(st.ip)) goto error_exit;                    \
      if (FUSEVM_UNLIKELY(st.ip != cur->ip_of(pc))) pc = cur->at(st.ip); \
    }                                                               \
  } while (0)
#define ENSURE(n)                                          \
  do {                                                     \
    if (FUSEVM_UNLIKELY(cap - sp < (n))) {                 \
      SYNC();                                              \
      if (!ensure_stack(st, (n))) goto error_exit;         \
      RELOAD();                                            \
    }                                                      \
  } while (0)
#define PUSH(expr)              \
  do {                          \
    ENSURE(1);                  \
    new (sp) Value(expr);       \
    ++sp;                       \
  } while (0)
#define TAKE() (sp > base ? Value(std::move(*--sp)) : Value())
#define OUTLINE(call)                                   \
  do {                                                  \
    SYNC();                                             \
    OpStatus s_ = (call);                               \
    RELOAD();                                           \
    if (s_ == OpStatus::Next) {                         \
      ++pc;                                             \
    } else if (s_ == OpStatus::Jumped) {                \
      pc = cur->at(st.ip);                              \
      POLL();                                           \
    } else if (s_ == OpStatus::Exit) {                  \
      return st.exit_reason;                            \
    } else {                                            \
      goto error_exit;                                  \
    }                                                   \
    NEXT();                                             \
  } while (0)
  // A taken backward jump in the main stream counts toward its target's JIT counter.
#define JUMP_TO(t)                                                              \
  do {                                                                          \
    const Insn* to_ = (t);                                                      \
    if (FUSEVM_UNLIKELY(jit_counters != nullptr) && to_ <= pc &&                \
        cur->index == CodeSet::kMain &&                                         \
        FUSEVM_UNLIKELY(++jit_counters[to_ - cur->code.data()] >= 0)) {         \
      jit_from = cur->ip_of(pc);                                                \
      pc = to_;                                                                 \
      goto jit_backedge;                                                        \
    }                                                                           \
    pc = to_;                                                                   \
    POLL();                                                                     \
    NEXT();                                                                     \
  } while (0)

  NEXT();

#if !FUSEVM_USE_CGOTO
dispatch_top:
  switch (static_cast<XOp>(xop)) {
#endif

  // -- Constants ---------------------------------------------------------------
  CASE(Nop) { ++pc; NEXT(); }
  CASE(LoadInt) { PUSH(Value::Int(pc->w.i)); ++pc; NEXT(); }
  CASE(LoadFloat) { PUSH(Value::Float(pc->w.f)); ++pc; NEXT(); }
  CASE(LoadConst) { PUSH(*pc->w.konst); ++pc; NEXT(); }
  CASE(LoadTrue) { PUSH(Value::Bool(true)); ++pc; NEXT(); }
  CASE(LoadFalse) { PUSH(Value::Bool(false)); ++pc; NEXT(); }
  CASE(LoadUndef) { PUSH(Value()); ++pc; NEXT(); }

  // -- Stack -------------------------------------------------------------------
  CASE(Pop) {
    if (sp > base) (--sp)->~Value();
    ++pc;
    NEXT();
  }
  CASE(Dup) {
    ENSURE(1);
    if (sp > base) new (sp) Value(sp[-1]);
    else new (sp) Value();
    ++sp;
    ++pc;
    NEXT();
  }
  CASE(Dup2) {
    if (sp - base >= 2) {
      ENSURE(2);
      new (sp) Value(sp[-2]);
      new (sp + 1) Value(sp[-1]);
      sp += 2;
    }
    ++pc;
    NEXT();
  }
  CASE(Swap) {
    if (sp - base >= 2) std::swap(sp[-1], sp[-2]);
    ++pc;
    NEXT();
  }
  CASE(Rot) {
    if (sp - base >= 3) {
      Value t = std::move(sp[-3]);
      sp[-3] = std::move(sp[-2]);
      sp[-2] = std::move(sp[-1]);
      sp[-1] = std::move(t);
    }
    ++pc;
    NEXT();
  }

  // -- Globals -----------------------------------------------------------------
  CASE(GetVar) CASE(GetArray) CASE(GetHash) {
    const uint16_t n = pc->a;
    PUSH(n < st.globals.size() ? st.globals[n] : Value());
    ++pc;
    NEXT();
  }
  CASE(SetVar) CASE(DeclareVar) CASE(SetArray) CASE(SetHash) {
    {  // scope ends before NEXT(): a computed goto skips destructors
      const uint16_t n = pc->a;
      Value v = TAKE();
      if (n >= st.globals.size()) st.globals.resize(static_cast<size_t>(n) + 1);
      st.globals[n] = std::move(v);
    }
    ++pc;
    NEXT();
  }

  // -- Slots -------------------------------------------------------------------
  CASE(GetSlot) {
    const uint16_t s = pc->a;
    ENSURE(1);
    if (s < fr->slots.size()) new (sp) Value(fr->slots[s]);
    else new (sp) Value();
    ++sp;
    ++pc;
    NEXT();
  }
  CASE(SetSlot) {
    {  // scope ends before NEXT(): a computed goto skips destructors
      const uint16_t s = pc->a;
      Value v = TAKE();
      if (FUSEVM_LIKELY(s < fr->slots.size())) fr->slots[s] = std::move(v);
      else store_slot(fr, s, std::move(v));
    }
    ++pc;
    NEXT();
  }

  // -- Collections, ranges (out of line) ----------------------------------------
  CASE(SlotArrayGet) CASE(SlotArraySet) CASE(DeclareArray) CASE(ArrayGet) CASE(ArraySet)
  CASE(ArrayPush) CASE(ArrayPop) CASE(ArrayShift) CASE(ArrayLen) CASE(MakeArray)
  CASE(DeclareHash) CASE(HashGet) CASE(HashSet) CASE(HashDelete) CASE(HashExists)
  CASE(HashKeys) CASE(HashValues) CASE(MakeHash) CASE(Range) CASE(RangeStep)
  CASE(Concat) CASE(StringRepeat) CASE(SortDefault) {
    OUTLINE(exec_collection_op(st, *pc));
  }

  // -- Arithmetic --------------------------------------------------------------
#define INT_BINOP(name, expr)                                          \
  CASE(name) {                                                         \
    if (FUSEVM_LIKELY(sp - base >= 2)) {                               \
      Value& a = sp[-2];                                               \
      const Value& b = sp[-1];                                         \
      if (FUSEVM_LIKELY(a.is_int() && b.is_int())) {                   \
        const int64_t x = a.as_int(), y = b.as_int();                  \
        a = Value::Int(expr);                                          \
        --sp;                                                          \
      } else {                                                         \
        a = sem::arith(OpCode::name, a, b);                            \
        (--sp)->~Value();                                              \
      }                                                                \
    }                                                                  \
    ++pc;                                                              \
    NEXT();                                                            \
  }
  INT_BINOP(Add, sem::wrap_add(x, y))
  INT_BINOP(Sub, sem::wrap_sub(x, y))
  INT_BINOP(Mul, sem::wrap_mul(x, y))
  INT_BINOP(Mod, sem::int_mod(x, y))
#undef INT_BINOP
  CASE(Div) {
    {  // scope ends before NEXT(): a computed goto skips destructors
      Value b = TAKE();
      Value a = TAKE();
      new (sp++) Value(sem::div(a, b));
    }
    ++pc;
    NEXT();
  }
  CASE(Pow) {
    {  // scope ends before NEXT(): a computed goto skips destructors
      Value b = TAKE();
      Value a = TAKE();
      new (sp++) Value(sem::pow(a, b));
    }
    ++pc;
    NEXT();
  }
  CASE(Negate) {
    {  // scope ends before NEXT(): a computed goto skips destructors
      Value a = TAKE();
      new (sp++) Value(sem::negate(a));
    }
    ++pc;
    NEXT();
  }
  CASE(Inc) {
    if (sp > base && sp[-1].is_int()) {
      sp[-1] = Value::Int(sem::wrap_add(sp[-1].as_int(), 1));
    } else {
      Value a = TAKE();
      new (sp++) Value(Value::Int(sem::wrap_add(a.to_int(), 1)));
    }
    ++pc;
    NEXT();
  }
  CASE(Dec) {
    if (sp > base && sp[-1].is_int()) {
      sp[-1] = Value::Int(sem::wrap_sub(sp[-1].as_int(), 1));
    } else {
      Value a = TAKE();
      new (sp++) Value(Value::Int(sem::wrap_sub(a.to_int(), 1)));
    }
    ++pc;
    NEXT();
  }
  CASE(StringLen) {
    {  // scope ends before NEXT(): a computed goto skips destructors
      Value a = TAKE();
      new (sp++) Value(Value::Int(static_cast<int64_t>(a.len())));
    }
    ++pc;
    NEXT();
  }

  // -- Numeric comparison (guarded) ----------------------------------------------
#define CMP_OP(name, op)                                               \
  CASE(name) {                                                         \
    if (FUSEVM_LIKELY(sp - base >= 2)) {                               \
      Value& a = sp[-2];                                               \
      const Value& b = sp[-1];                                         \
      if (FUSEVM_LIKELY(a.is_int() && b.is_int())) {                   \
        a = Value::Bool(a.as_int() op b.as_int());                     \
        --sp;                                                          \
      } else {                                                         \
        a = Value::Bool(sem::num_compare(OpCode::name, a, b));         \
        (--sp)->~Value();                                              \
      }                                                                \
    }                                                                  \
    ++pc;                                                              \
    NEXT();                                                            \
  }
  CMP_OP(NumEq, ==)
  CMP_OP(NumNe, !=)
  CMP_OP(NumLt, <)
  CMP_OP(NumGt, >)
  CMP_OP(NumLe, <=)
  CMP_OP(NumGe, >=)
#undef CMP_OP
  CASE(Spaceship) {
    if (sp - base >= 2) {
      Value& a = sp[-2];
      a = Value::Int(sem::spaceship(a, sp[-1]));
      (--sp)->~Value();
    }
    ++pc;
    NEXT();
  }

  // -- String comparison (pop-with-default) ------------------------------------------
#define STR_CMP(name, expr)                    \
  CASE(name) {                                 \
    {                                          \
      Value b = TAKE();                        \
      Value a = TAKE();                        \
      const int c = sem::str_compare(a, b);    \
      new (sp++) Value(expr);                  \
    }                                          \
    ++pc;                                      \
    NEXT();                                    \
  }
  STR_CMP(StrEq, Value::Bool(c == 0))
  STR_CMP(StrNe, Value::Bool(c != 0))
  STR_CMP(StrLt, Value::Bool(c < 0))
  STR_CMP(StrGt, Value::Bool(c > 0))
  STR_CMP(StrLe, Value::Bool(c <= 0))
  STR_CMP(StrGe, Value::Bool(c >= 0))
  STR_CMP(StrCmp, Value::Int(c < 0 ? -1 : (c > 0 ? 1 : 0)))
#undef STR_CMP

  // -- Logical and bitwise (pop-with-default) ------------------------------------------
  CASE(LogNot) {
    {  // scope ends before NEXT(): a computed goto skips destructors
      Value a = TAKE();
      new (sp++) Value(Value::Bool(!a.is_truthy()));
    }
    ++pc;
    NEXT();
  }
#define BIN_OP(name, expr)              \
  CASE(name) {                          \
    {                                   \
      Value b = TAKE();                 \
      Value a = TAKE();                 \
      new (sp++) Value(expr);           \
    }                                   \
    ++pc;                               \
    NEXT();                             \
  }
  BIN_OP(LogAnd, Value::Bool(a.is_truthy() && b.is_truthy()))
  BIN_OP(LogOr, Value::Bool(a.is_truthy() || b.is_truthy()))
  BIN_OP(BitAnd, Value::Int(a.to_int() & b.to_int()))
  BIN_OP(BitOr, Value::Int(a.to_int() | b.to_int()))
  BIN_OP(BitXor, Value::Int(a.to_int() ^ b.to_int()))
  BIN_OP(Shl, Value::Int(sem::shl(a.to_int(), b.to_int())))
  BIN_OP(Shr, Value::Int(sem::shr(a.to_int(), b.to_int())))
#undef BIN_OP
  CASE(BitNot) {
    {  // scope ends before NEXT(): a computed goto skips destructors
      Value a = TAKE();
      new (sp++) Value(Value::Int(~a.to_int()));
    }
    ++pc;
    NEXT();
  }

  // -- Control flow ------------------------------------------------------------------
  CASE(Jump) { JUMP_TO(pc->w.target); }
  // Conditional jumps read a Bool in place (the common case after a comparison) and
  // fall back to general truthiness otherwise.
#define COND_JUMP(name, jump_when)                                   \
  CASE(name) {                                                       \
    bool t = false;                                                  \
    if (FUSEVM_LIKELY(sp > base)) {                                  \
      --sp;                                                          \
      if (FUSEVM_LIKELY(sp->is_bool())) {                            \
        t = sp->as_bool();                                           \
      } else {                                                       \
        t = sp->is_truthy();                                         \
        sp->~Value();                                                \
      }                                                              \
    }                                                                \
    if (t == (jump_when)) JUMP_TO(pc->w.target);                     \
    ++pc;                                                            \
    NEXT();                                                          \
  }
  COND_JUMP(JumpIfTrue, true)
  COND_JUMP(JumpIfFalse, false)
#undef COND_JUMP
  CASE(JumpIfTrueKeep) {
    if (sp > base && sp[-1].is_truthy()) JUMP_TO(pc->w.target);
    ++pc;
    NEXT();
  }
  CASE(JumpIfFalseKeep) {
    if (!(sp > base && sp[-1].is_truthy())) JUMP_TO(pc->w.target);
    ++pc;
    NEXT();
  }

  // -- Calls and frames ------------------------------------------------------------------
  CASE(Call) {
    POLL();
    if (FUSEVM_UNLIKELY(st.call_depth_full())) {
      SYNC();
      st.set_limit_error("call depth", st.limits.max_call_depth, st.ip - 1);
      goto error_exit;
    }
    // A Call in the main stream counts toward its JIT counter (below the backedge half).
    if (FUSEVM_UNLIKELY(jit_counters != nullptr) && cur->index == CodeSet::kMain &&
        FUSEVM_UNLIKELY(++jit_counters[-1 - (pc - cur->code.data())] >= 0)) {
      SYNC_AT_PC();
      const JitOutcome o = st.jit->on_call(st);
      if (o == JitOutcome::Error) goto error_exit;
      if (o == JitOutcome::Ran) {
        RELOAD();
        pc = cur->at(st.ip);
        NEXT();
      }
    }
    const size_t size = static_cast<size_t>(sp - base);
    // argc > depth would underflow in the reference; clamp the base to 0 instead.
    const size_t argc = pc->b;
    const size_t sbase = argc > size ? 0 : size - argc;
    st.frames.push(cur->ip_of(pc) + 1, sbase, FrameKind::Call, cur->index);
    RELOAD_FRAME();
    pc = pc->w.target;
    cur = &st.code.main();
    NEXT();
  }
  CASE(CallUndefined) {
    SYNC();
    {
      const uint16_t n = pc->a;
      st.set_error("undefined function: " +
                       (n < st.chunk.names.size() ? st.chunk.names[n] : std::string("?")),
                   st.ip - 1);
    }
    goto error_exit;
  }
  CASE(Return) CASE(ReturnValue) {
    uint64_t ret_ip, sbase;
    uint32_t ret_code;
    {  // scope ends before NEXT(): a computed goto skips destructors
      const bool with_value = pc->op == static_cast<uint16_t>(XOp::ReturnValue);
      Value v;
      if (with_value) v = TAKE();
      if (st.frames.call_count() == 0) {
        // Sane fix of the reference's top-level re-run quirk: with no call frame left,
        // Return halts and ReturnValue ends the run with Ok(v) (ARCHITECTURE §9).
        SYNC();
        st.halted = true;
        if (with_value) {
          st.halt_value = std::move(v);
          return ExitReason::HaltValue;
        }
        return ExitReason::Halt;
      }
      // Unwind scope frames up to and including the innermost call frame.
      for (;;) {
        Frame& f = st.frames.back();
        const bool is_call = f.kind == FrameKind::Call;
        ret_ip = f.return_ip;
        sbase = f.stack_base;
        ret_code = f.return_code;
        st.frames.pop_back();
        if (FUSEVM_LIKELY(is_call)) break;
      }
      Value* nsp = base + sbase;
      while (sp > nsp) (--sp)->~Value();
      if (with_value) {
        ENSURE(1);
        new (sp++) Value(std::move(v));
      }
    }
    RELOAD_FRAME();
    // A forked child never returns into the code it was not forked for.
    if (FUSEVM_UNLIKELY(!st.fork_regions.empty())) st.keep_return_in_fork_region(ret_code, ret_ip);
    cur = &st.code.stream(ret_code);
    pc = FUSEVM_LIKELY(ret_ip - cur->ip_base < cur->len) ? cur->code.data() + (ret_ip - cur->ip_base)
                                                        : cur->at(ret_ip);
    NEXT();
  }
  CASE(PushFrame) {
    if (FUSEVM_UNLIKELY(st.call_depth_full())) {
      SYNC();
      st.set_limit_error("call depth", st.limits.max_call_depth, st.ip - 1);
      goto error_exit;
    }
    st.frames.push(cur->ip_of(pc) + 1, static_cast<uint64_t>(sp - base), FrameKind::Scope,
                   cur->index);
    RELOAD_FRAME();
    ++pc;
    NEXT();
  }
  CASE(PopFrame) {
    if (!st.frames.empty()) {
      const Frame& f = st.frames.back();
      Value* nsp = base + std::min<uint64_t>(f.stack_base, static_cast<uint64_t>(sp - base));
      while (sp > nsp) (--sp)->~Value();
      st.frames.pop_back();
      RELOAD_FRAME();
    }
    ++pc;
    NEXT();
  }

  // -- I/O, blocks, call-outs, shell (out of line) ------------------------------------
  CASE(Print) CASE(PrintLn) CASE(ReadLine) { OUTLINE(exec_io_op(st, *pc)); }
  CASE(MapBlock) CASE(GrepBlock) CASE(SortBlock) CASE(ForEachBlock) {
    POLL();
    OUTLINE(exec_block_op(st, vm, *pc));
  }
  CASE(CallBuiltin) CASE(Extended) CASE(ExtendedWide) {
    OUTLINE(exec_callout_op(st, vm, *pc));
  }
  CASE(Exec) CASE(ExecBg) CASE(PipelineBegin) CASE(PipelineStage) CASE(PipelineEnd)
  CASE(Redirect) CASE(HereDoc) CASE(HereString) CASE(CmdSubst) CASE(SubshellBegin)
  CASE(SubshellEnd) CASE(ProcessSubIn) CASE(ProcessSubOut) CASE(Glob) CASE(GlobRecursive)
  CASE(TestFile) CASE(TrapSet) CASE(TrapCheck) CASE(ExpandParam) CASE(WordSplit)
  CASE(BraceExpand) CASE(TildeExpand) CASE(CallFunction) CASE(StrMatch) CASE(RegexMatch)
  CASE(WithRedirectsBegin) CASE(WithRedirectsEnd) {
    OUTLINE(exec_shell_op(st, vm, *pc));
  }
  CASE(SetStatus) {
    {  // scope ends before NEXT(): a computed goto skips destructors
      Value v = TAKE();
      st.last_status = static_cast<int32_t>(static_cast<uint64_t>(v.to_int()));
    }
    ++pc;
    NEXT();
  }
  CASE(GetStatus) { PUSH(Value::Status(st.last_status)); ++pc; NEXT(); }

  // -- Fused superinstructions (spec/ops.md §17; adds wrap) ------------------------------
  CASE(PreIncSlot) {
    const uint16_t s = pc->a;
    const int64_t n = sem::wrap_add(slot_int(fr, s), 1);
    store_slot(fr, s, Value::Int(n));
    PUSH(Value::Int(n));
    ++pc;
    NEXT();
  }
  CASE(PreIncSlotVoid) {
    const uint16_t s = pc->a;
    if (FUSEVM_LIKELY(s < fr->slots.size() && fr->slots[s].is_int())) {
      fr->slots[s] = Value::Int(sem::wrap_add(fr->slots[s].as_int(), 1));
    } else {
      store_slot(fr, s, Value::Int(sem::wrap_add(slot_int(fr, s), 1)));
    }
    ++pc;
    NEXT();
  }
  CASE(SlotLtIntJumpIfFalse) {
    if (slot_int(fr, pc->a) >= static_cast<int64_t>(pc->packed_limit())) JUMP_TO(pc->w.target);
    ++pc;
    NEXT();
  }
  CASE(SlotIncLtIntJumpBack) {
    const uint16_t s = pc->a;
    const int64_t n = sem::wrap_add(slot_int(fr, s), 1);
    store_slot(fr, s, Value::Int(n));
    if (n < static_cast<int64_t>(pc->packed_limit())) JUMP_TO(pc->w.target);
    ++pc;
    NEXT();
  }
  CASE(AccumSumLoop) {
    int64_t sum = slot_int(fr, pc->a);
    int64_t i = slot_int(fr, pc->b);
    const uint64_t laps = laps_to(i, pc->w.i);
    const uint64_t now = fuel_laps<kMetered>(st, laps);
    const int64_t limit = after_laps(i, now);
    while (i < limit) {
      const int64_t stop = std::min<int64_t>(limit, i + static_cast<int64_t>(kFusedPollInterval));
      uint64_t s = static_cast<uint64_t>(sum);
      for (; i < stop; ++i) s += static_cast<uint64_t>(i);
      sum = static_cast<int64_t>(s);
      if (FUSEVM_UNLIKELY(i < limit && st.poll.load(std::memory_order_relaxed))) {
        // Write progress back so resuming re-runs this op from where it stopped.
        store_slot(fr, pc->a, Value::Int(sum));
        store_slot(fr, pc->b, Value::Int(i));
        SYNC_AT_PC();
        if (!st.poll_slow(st.ip)) goto error_exit;
      }
    }
    store_slot(fr, pc->a, Value::Int(sum));
    store_slot(fr, pc->b, Value::Int(i));
    if (FUSEVM_UNLIKELY(now != laps)) goto fuel_exhausted;
    ++pc;
    NEXT();
  }
  CASE(ConcatConstLoop) {
    {  // scope ends before NEXT(): a computed goto skips destructors
      const uint16_t k = pc->a;
      std::string c = k < st.chunk.constants.size() ? st.chunk.constants[k].to_str() : std::string();
      std::string s = pc->b < fr->slots.size() ? fr->slots[pc->b].to_str() : std::string();
      const int64_t i = slot_int(fr, pc->c);
      const int64_t limit = pc->w.i;
      const uint64_t count = laps_to(i, limit);
      if (!c.empty()) {
        const uint64_t max = st.limits.max_string;
        if (s.size() > max || count > (max - s.size()) / c.size()) {
          SYNC();
          st.set_limit_error("string size", max, st.ip - 1);
          goto error_exit;
        }
      }
      const uint64_t now = fuel_laps<kMetered>(st, count);
      if (!c.empty()) {
        s.reserve(s.size() + now * c.size());
        for (uint64_t n = 0; n < now; ++n) s.append(c);
      }
      store_slot(fr, pc->b, Value::Str(std::move(s)));
      store_slot(fr, pc->c, Value::Int(after_laps(i, now)));
      if (FUSEVM_UNLIKELY(now != count)) goto fuel_exhausted;
    }
    ++pc;
    NEXT();
  }
  CASE(PushIntRangeLoop) {
    const uint16_t n = pc->a;
    if (n >= st.globals.size()) st.globals.resize(static_cast<size_t>(n) + 1);
    // A non-Array global is replaced by a fresh array (spec/ops.md §17.1).
    if (!st.globals[n].is_array()) st.globals[n] = Value::Array(ValueArray{});
    int64_t i = slot_int(fr, pc->b);
    const int64_t limit = pc->w.i;
    const uint64_t count = laps_to(i, limit);
    uint64_t now = count;
    if (i < limit) {
      ValueArray& arr = st.globals[n].array_mut();
      if (arr.size() + count > st.limits.max_array) {
        SYNC();
        st.set_limit_error("array size", st.limits.max_array, st.ip - 1);
        goto error_exit;
      }
      now = fuel_laps<kMetered>(st, count);
      arr.reserve(arr.size() + now);
      for (uint64_t k = 0; k < now; ++k, ++i) arr.push_back(Value::Int(i));
      st.globals[n].refresh_accounting();
    }
    store_slot(fr, pc->b, Value::Int(i));
    if (FUSEVM_UNLIKELY(now != count)) goto fuel_exhausted;
    ++pc;
    NEXT();
  }
  CASE(AddAssignSlotVoid) {
    const int64_t v = sem::wrap_add(slot_int(fr, pc->a), slot_int(fr, pc->b));
    store_slot(fr, pc->a, Value::Int(v));
    ++pc;
    NEXT();
  }

  // -- Decode-time superinstructions (code.cpp fuse_stream) ------------------------------
  // Fast path only on Int operands with room for the values the unfused ops would push;
  // otherwise (and always when metering fuel, which counts ops) run the first op alone.
  CASE(SlotCmpImmJump) {
    if constexpr (!kMetered) {
      const uint16_t s = pc->a;
      if (FUSEVM_LIKELY(s < fr->slots.size() && fr->slots[s].is_int() && cap - sp >= 2)) {
        const int64_t x = fr->slots[s].as_int(), y = pc->w.i;
        const int d = (x > y) - (x < y);
        if ((pc->b >> (d + 1)) & 1) JUMP_TO(pc[3].w.target);
        pc += 4;
        NEXT();
      }
    }
    DISPATCH_AS(static_cast<uint16_t>(OpCode::GetSlot));
  }
  CASE(SlotSlotArithStore) {
    if constexpr (!kMetered) {
      auto& slots = fr->slots;
      const size_t n = slots.size();
      const uint16_t a = pc->a, b = pc->b, c = pc->c;
      if (FUSEVM_LIKELY(a < n && b < n && c < n && slots[a].is_int() && slots[b].is_int() &&
                        cap - sp >= 2)) {
        slots[c] = Value::Int(int_arith(pc->w.u, slots[a].as_int(), slots[b].as_int()));
        pc += 4;
        NEXT();
      }
    }
    DISPATCH_AS(static_cast<uint16_t>(OpCode::GetSlot));
  }
  CASE(SlotArithImm) {
    if constexpr (!kMetered) {
      const uint16_t s = pc->a;
      if (FUSEVM_LIKELY(s < fr->slots.size() && fr->slots[s].is_int() && cap - sp >= 2)) {
        new (sp) Value(Value::Int(int_arith(pc->b, fr->slots[s].as_int(), pc->w.i)));
        ++sp;
        pc += 3;
        NEXT();
      }
    }
    DISPATCH_AS(static_cast<uint16_t>(OpCode::GetSlot));
  }
  CASE(SlotSlotArith) {
    if constexpr (!kMetered) {
      auto& slots = fr->slots;
      const size_t n = slots.size();
      const uint16_t a = pc->a, b = pc->b;
      if (FUSEVM_LIKELY(a < n && b < n && slots[a].is_int() && slots[b].is_int() &&
                        cap - sp >= 2)) {
        new (sp) Value(Value::Int(int_arith(pc->c, slots[a].as_int(), slots[b].as_int())));
        ++sp;
        pc += 3;
        NEXT();
      }
    }
    DISPATCH_AS(static_cast<uint16_t>(OpCode::GetSlot));
  }
  CASE(CmpJump) {
    if constexpr (!kMetered) {
      if (FUSEVM_LIKELY(sp - base >= 2 && sp[-1].is_int() && sp[-2].is_int())) {
        const int64_t x = sp[-2].as_int(), y = sp[-1].as_int();
        const int d = (x > y) - (x < y);
        sp -= 2;  // two Ints: nothing to release
        if ((pc->b >> (d + 1)) & 1) JUMP_TO(pc[1].w.target);
        pc += 2;
        NEXT();
      }
    }
    DISPATCH_AS(pc->c);
  }

  CASE(StackSlotArithStore) {
    if constexpr (!kMetered) {
      auto& slots = fr->slots;
      const size_t n = slots.size();
      const uint16_t s = pc->a, d = pc->c;
      if (FUSEVM_LIKELY(sp > base && sp[-1].is_int() && s < n && d < n && slots[s].is_int() &&
                        cap - sp >= 1)) {
        const int64_t r = int_arith(pc->b, sp[-1].as_int(), slots[s].as_int());
        --sp;  // an Int: nothing to release
        slots[d] = Value::Int(r);
        pc += 3;
        NEXT();
      }
    }
    DISPATCH_AS(static_cast<uint16_t>(OpCode::GetSlot));
  }
  CASE(StackSlotArith) {
    if constexpr (!kMetered) {
      const uint16_t s = pc->a;
      if (FUSEVM_LIKELY(sp > base && sp[-1].is_int() && s < fr->slots.size() &&
                        fr->slots[s].is_int() && cap - sp >= 1)) {
        sp[-1] = Value::Int(int_arith(pc->b, sp[-1].as_int(), fr->slots[s].as_int()));
        pc += 2;
        NEXT();
      }
    }
    DISPATCH_AS(static_cast<uint16_t>(OpCode::GetSlot));
  }

  // -- Sentinels ---------------------------------------------------------------------------
  CASE(End) {
    SYNC_AT_PC();
    return ExitReason::End;
  }
  CASE(BlockEnd) {
    SYNC_AT_PC();
    return ExitReason::BlockDone;
  }
  CASE(CallReturn) {
    SYNC_AT_PC();
    return ExitReason::CallDone;
  }
  CASE(BlockEscape) {
    SYNC_AT_PC();
    {
      const auto& r = st.chunk.block_ranges[static_cast<size_t>(cur->block)];
      st.set_error("block " + std::to_string(cur->block) + ": jump outside its range [" +
                       std::to_string(r.first) + ", " + std::to_string(r.second) + ")",
                   st.ip);
    }
    goto error_exit;
  }
  CASE(BlockBadOp) {
    SYNC();
    st.set_error("block " + std::to_string(cur->block) + ": " +
                     std::string(op_name(static_cast<OpCode>(pc->w.u))) +
                     " is not allowed at block level",
                 st.ip - 1);
    goto error_exit;
  }

#if !FUSEVM_USE_CGOTO
    default:
      break;
  }
  __builtin_unreachable();
#endif

  // JUMP_TO's slow path: pc is the loop header whose counter came due.
  // It polls first, as every taken jump does, so a pending interrupt stops the loop at the
  // same iteration with or without native code.
jit_backedge : {
  const Insn* const header = pc;
  POLL();
  if (pc == header) {
    SYNC_AT_PC();
    switch (st.jit->on_backedge(st, jit_from)) {
      case JitOutcome::Error:
        goto error_exit;
      case JitOutcome::Ran:
        RELOAD();
        pc = cur->at(st.ip);  // the driver already polled where the unit saw the flag
        break;
      case JitOutcome::Interpret:
        break;
      case JitOutcome::Record:
        return ExitReason::Switch;  // st.ip is the header: recording starts there
    }
  }
  NEXT();
}

fuel_exhausted:
  __attribute__((unused));
  SYNC_AT_PC();
  st.set_limit_error("fuel", st.limits.fuel, st.ip);
  return ExitReason::Error;

error_exit:
  return ExitReason::Error;

#undef CASE
#undef DISPATCH
#undef DISPATCH_AS
#undef RELOAD_FRAME
#undef SYNC
#undef SYNC_AT_PC
#undef RELOAD
#undef METER
#undef NEXT
#undef POLL
#undef ENSURE
#undef PUSH
#undef TAKE
#undef OUTLINE
#undef JUMP_TO
}

ExitReason Interp::execute(VMState& st, VM& vm, CodeStream* cur, const Insn* pc) {
  for (;;) {
    const bool metered = st.limits.fuel != 0 || st.recording || st.stop_hi != 0 || st.profile != nullptr;
    const ExitReason why = metered ? run_loop<true>(st, vm, cur, pc) : run_loop<false>(st, vm, cur, pc);
    if (why != ExitReason::Switch) return why;
    cur = &st.code.stream(st.cur_stream);
    pc = cur->at(st.ip);
  }
}

}  // namespace fusevm
