// Decode-time superinstructions (code.cpp fuse_stream) change nothing observable: every
// program runs identically with fuel metering (which never takes the fused fast paths).
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "fusevm/chunk.hpp"
#include "fusevm/vm.hpp"
#include "vm/code.hpp"
#include "vm/vm_state.hpp"

namespace fusevm {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr uint64_t kFuel = 1'000'000'000;

// -- Running a chunk with and without fuel and recording everything observable ----------

/// Everything a run leaves behind that a program or embedder can see.
struct Snapshot {
  VMResult::Kind kind = VMResult::Kind::Halted;
  Value value;
  std::string error;  ///< message, empty unless kind == Error
  uint64_t error_ip = 0;
  std::vector<Value> stack;
  size_t frame_count = 0;
  std::vector<Value> slots0;  ///< frame 0's slots (exact, size included) if it is live
  std::vector<Value> globals;
};

/// How a run is prepared: frame-0 slots, an optional stack limit, any extra setup.
struct RunSetup {
  std::vector<Value> slots;
  size_t max_stack = 0;  ///< 0 = default
  std::function<void(VM&)> extra;
};

std::string show(const std::vector<Value>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i].repr();
  return s + "]";
}

std::string show(const Snapshot& s) {
  std::string r;
  switch (s.kind) {
    case VMResult::Kind::Ok: r = "Ok(" + s.value.repr() + ")"; break;
    case VMResult::Kind::Halted: r = "Halted"; break;
    case VMResult::Kind::Error: r = "Error(" + s.error + " @" + std::to_string(s.error_ip) + ")"; break;
  }
  return r + " stack=" + show(s.stack) + " frames=" + std::to_string(s.frame_count) +
         " slots0=" + show(s.slots0) + " globals=" + show(s.globals);
}

bool same_values(const std::vector<Value>& a, const std::vector<Value>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!identical(a[i], b[i])) return false;
  return true;
}

bool same(const Snapshot& a, const Snapshot& b) {
  return a.kind == b.kind && identical(a.value, b.value) && a.error == b.error &&
         a.error_ip == b.error_ip && same_values(a.stack, b.stack) &&
         a.frame_count == b.frame_count && same_values(a.slots0, b.slots0) &&
         same_values(a.globals, b.globals);
}

Snapshot run_once(const Chunk& chunk, const RunSetup& setup, bool metered) {
  VM vm(chunk);
  Limits limits;
  if (setup.max_stack != 0) limits.max_stack = setup.max_stack;
  if (metered) limits.fuel = kFuel;
  vm.set_limits(limits);
  vm.set_output([](std::string_view) {});
  vm.frames().back().slots = setup.slots;
  if (setup.extra) setup.extra(vm);
  VMResult r = vm.run();
  Snapshot s;
  s.kind = r.kind();
  s.value = r.value();
  if (r.is_error()) {
    s.error = r.error().message;
    s.error_ip = r.error().ip;
  }
  s.stack = vm.stack().to_vector();
  s.frame_count = vm.frames().size();
  if (!vm.frames().empty()) s.slots0 = vm.frames()[0].slots;
  s.globals = vm.globals();
  return s;
}

/// Both runs of one program: `fast` may take fused paths, `metered` never does.
struct Pair {
  Snapshot fast;
  Snapshot metered;
};

Pair run_both(const Chunk& chunk, const RunSetup& setup) {
  return Pair{run_once(chunk, setup, false), run_once(chunk, setup, true)};
}

::testing::AssertionResult Agree(const Pair& p) {
  if (same(p.fast, p.metered)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "without fuel: " << show(p.fast)
                                       << "\n   with fuel: " << show(p.metered);
}

Chunk make_chunk(const std::vector<Op>& ops) {
  ChunkBuilder b;
  b.add_constant(Value::Str("7"));  // constant 0
  b.add_constant(Value::Str("3"));  // constant 1
  b.add_name("g");                  // global 0
  for (size_t i = 0; i < ops.size(); ++i) b.emit(ops[i], static_cast<uint32_t>(i + 1));
  return b.build();
}

/// The decoded main-stream op at index k (to prove a test really meets a fused op).
uint16_t decoded_op(const Chunk& chunk, uint64_t k) {
  VM vm(chunk);
  return vm.state().code.main().code[k].op;
}

uint16_t xop(XOp x) { return static_cast<uint16_t>(x); }

/// Run both ways, require agreement, and return the unmetered snapshot for more checks.
Snapshot check(const std::vector<Op>& ops, const RunSetup& setup = {}) {
  Pair p = run_both(make_chunk(ops), setup);
  EXPECT_TRUE(Agree(p));
  return p.fast;
}

RunSetup slots(std::vector<Value> v) {
  RunSetup s;
  s.slots = std::move(v);
  return s;
}

Value I(int64_t n) { return Value::Int(n); }
Value F(double x) { return Value::Float(x); }

/// One non-Int operand of each kind the generic paths must handle.
std::vector<Value> non_ints() {
  return {F(2.5), Value::Bool(true), Value::Str("3"), Value::Undef(),
          Value::Array({I(1), I(2)})};
}

std::vector<Op> cmp_ops() {
  return {Op::NumEq(), Op::NumNe(), Op::NumLt(), Op::NumGt(), Op::NumLe(), Op::NumGe()};
}
std::vector<Op> arith_ops() { return {Op::Add(), Op::Sub(), Op::Mul()}; }

// Branch result markers: the taken branch pushes 1, the fall-through pushes 0.
std::vector<Op> branch_tail(std::vector<Op> head, bool jump_if_true) {
  const uint64_t taken = head.size() + 3;
  head.push_back(jump_if_true ? Op::JumpIfTrue(taken) : Op::JumpIfFalse(taken));
  head.push_back(Op::LoadInt(0));
  head.push_back(Op::Jump(taken + 1));
  head.push_back(Op::LoadInt(1));
  return head;
}

bool reference_cmp(const Op& cmp, int64_t x, int64_t y) {
  switch (cmp.code()) {
    case OpCode::NumEq: return x == y;
    case OpCode::NumNe: return x != y;
    case OpCode::NumLt: return x < y;
    case OpCode::NumGt: return x > y;
    case OpCode::NumLe: return x <= y;
    default: return x >= y;
  }
}

int64_t reference_arith(const Op& a, int64_t x, int64_t y) {
  const uint64_t ux = static_cast<uint64_t>(x), uy = static_cast<uint64_t>(y);
  if (a.code() == OpCode::Add) return static_cast<int64_t>(ux + uy);
  if (a.code() == OpCode::Sub) return static_cast<int64_t>(ux - uy);
  return static_cast<int64_t>(ux * uy);
}

// -- 1. SlotCmpImmJump: GetSlot s; LoadInt k; NumXX; JumpIfTrue/JumpIfFalse t --------------

TEST(FusedDecodeSlotCmpImmJump, SequenceIsFusedAtDecode) {
  Chunk c = make_chunk(branch_tail({Op::GetSlot(0), Op::LoadInt(5), Op::NumLt()}, false));
  EXPECT_EQ(decoded_op(c, 0), xop(XOp::SlotCmpImmJump));
}

TEST(FusedDecodeSlotCmpImmJump, EveryCompareBothPolaritiesLessEqualGreaterMatchesReference) {
  const std::vector<std::pair<int64_t, int64_t>> pairs = {
      {4, 5}, {5, 5}, {6, 5}, {kMin, kMax}, {kMax, kMin}, {kMin, kMin}, {kMax, kMax},
      {-1, 0}, {0, -1}};
  for (const Op& cmp : cmp_ops())
    for (bool polarity : {true, false})
      for (auto [x, k] : pairs) {
        SCOPED_TRACE(std::string(op_name(cmp.code())) + (polarity ? " JumpIfTrue " : " JumpIfFalse ") +
                     std::to_string(x) + " vs " + std::to_string(k));
        Snapshot s = check(branch_tail({Op::GetSlot(0), Op::LoadInt(k), cmp}, polarity),
                           slots({I(x)}));
        const bool taken = reference_cmp(cmp, x, k) == polarity;
        EXPECT_EQ(s.kind, VMResult::Kind::Ok);
        EXPECT_TRUE(identical(s.value, I(taken ? 1 : 0))) << s.value.repr();
        EXPECT_TRUE(s.stack.empty());
      }
}

TEST(FusedDecodeSlotCmpImmJump, NonIntSlotFollowsGenericCompare) {
  for (const Op& cmp : cmp_ops())
    for (bool polarity : {true, false})
      for (const Value& v : non_ints()) {
        SCOPED_TRACE(std::string(op_name(cmp.code())) + " " + v.repr());
        check(branch_tail({Op::GetSlot(0), Op::LoadInt(3), cmp}, polarity), slots({v}));
      }
}

TEST(FusedDecodeSlotCmpImmJump, MissingSlotReadsUndefLikeZero) {
  // Undef compares as 0: 0 < 1 is true, so JumpIfFalse falls through.
  Snapshot s = check(branch_tail({Op::GetSlot(3), Op::LoadInt(1), Op::NumLt()}, false),
                     slots({I(9)}));
  EXPECT_TRUE(identical(s.value, I(0))) << s.value.repr();
}

TEST(FusedDecodeSlotCmpImmJump, NoFrameReadsUndef) {
  Snapshot s = check(
      branch_tail({Op::PopFrame(), Op::GetSlot(0), Op::LoadInt(0), Op::NumEq()}, true),
      slots({I(5)}));
  EXPECT_EQ(s.frame_count, 0u);
  EXPECT_TRUE(identical(s.value, I(1))) << s.value.repr();
}

TEST(FusedDecodeSlotCmpImmJump, JumpIntoLoadIntWithValuePushedComparesThatValue) {
  // Jump lands on the LoadInt with 9 on the stack: 9 > 5 decides, not the slot.
  std::vector<Op> ops = {Op::LoadInt(9), Op::Jump(3), Op::GetSlot(0), Op::LoadInt(5),
                         Op::NumGt(), Op::JumpIfTrue(8), Op::LoadInt(0), Op::Jump(9),
                         Op::LoadInt(1)};
  Chunk c = make_chunk(ops);
  EXPECT_EQ(decoded_op(c, 2), xop(XOp::SlotCmpImmJump));
  Snapshot s = check(ops, slots({I(0)}));
  EXPECT_TRUE(identical(s.value, I(1))) << s.value.repr();
}

TEST(FusedDecodeSlotCmpImmJump, JumpIntoCompareAndIntoJumpRunUnfusedOps) {
  // Into the NumLt with two values pushed, and into the JumpIfFalse with one.
  std::vector<Op> into_cmp = {Op::LoadInt(1), Op::LoadInt(2), Op::Jump(5), Op::GetSlot(0),
                              Op::LoadInt(5), Op::NumLt(), Op::JumpIfFalse(9), Op::LoadInt(7),
                              Op::Jump(10), Op::LoadInt(8)};
  EXPECT_TRUE(identical(check(into_cmp, slots({I(100)})).value, I(7)));
  std::vector<Op> into_jump = {Op::LoadFalse(), Op::Jump(5), Op::GetSlot(0), Op::LoadInt(5),
                               Op::NumLt(), Op::JumpIfFalse(8), Op::LoadInt(7), Op::Jump(9),
                               Op::LoadInt(8)};
  EXPECT_TRUE(identical(check(into_jump, slots({I(0)})).value, I(8)));
}

TEST(FusedDecodeSlotCmpImmJump, BackwardJumpLoopCountsExactly) {
  // s0 = 0; loop: s0 = s0 + 1; if s0 < 1000 goto loop; push s0
  std::vector<Op> ops = {Op::LoadInt(0), Op::SetSlot(0), Op::GetSlot(0), Op::LoadInt(1),
                         Op::Add(), Op::SetSlot(0), Op::GetSlot(0), Op::LoadInt(1000),
                         Op::NumLt(), Op::JumpIfTrue(2), Op::GetSlot(0)};
  EXPECT_TRUE(identical(check(ops).value, I(1000)));
}

TEST(FusedDecodeSlotCmpImmJump, TruncatedAtChunkEndIsNotFusedAndBehaves) {
  for (const Op& cmp : cmp_ops()) {
    std::vector<Op> ops = {Op::GetSlot(0), Op::LoadInt(5), cmp};
    Chunk c = make_chunk(ops);
    EXPECT_NE(decoded_op(c, 0), xop(XOp::SlotCmpImmJump));
    Snapshot s = check(ops, slots({I(5)}));
    EXPECT_TRUE(identical(s.value, Value::Bool(reference_cmp(cmp, 5, 5))));
  }
  check({Op::GetSlot(0), Op::LoadInt(5)}, slots({I(5)}));
  check({Op::GetSlot(0)}, slots({I(5)}));
}

// -- 2. SlotSlotArithStore: GetSlot a; GetSlot b; Add/Sub/Mul; SetSlot c -------------------

TEST(FusedDecodeSlotSlotArithStore, SequenceIsFusedAtDecode) {
  Chunk c = make_chunk({Op::GetSlot(0), Op::GetSlot(1), Op::Add(), Op::SetSlot(2)});
  EXPECT_EQ(decoded_op(c, 0), xop(XOp::SlotSlotArithStore));
}

TEST(FusedDecodeSlotSlotArithStore, IntOperandsWrapLikeReference) {
  const std::vector<std::pair<int64_t, int64_t>> pairs = {
      {3, 4}, {kMax, 1}, {kMin, 1}, {kMin, -1}, {kMax, kMax}, {kMin, kMin}, {-7, 3}};
  for (const Op& a : arith_ops())
    for (auto [x, y] : pairs) {
      SCOPED_TRACE(std::string(op_name(a.code())) + " " + std::to_string(x) + " " + std::to_string(y));
      Snapshot s = check({Op::GetSlot(0), Op::GetSlot(1), a, Op::SetSlot(2)},
                         slots({I(x), I(y), I(0)}));
      EXPECT_EQ(s.kind, VMResult::Kind::Halted);
      ASSERT_EQ(s.slots0.size(), 3u);
      EXPECT_TRUE(identical(s.slots0[2], I(reference_arith(a, x, y)))) << s.slots0[2].repr();
    }
}

TEST(FusedDecodeSlotSlotArithStore, NonIntOperandEitherSideFollowsGenericArith) {
  for (const Op& a : arith_ops())
    for (const Value& v : non_ints()) {
      SCOPED_TRACE(std::string(op_name(a.code())) + " " + v.repr());
      check({Op::GetSlot(0), Op::GetSlot(1), a, Op::SetSlot(2)}, slots({v, I(2), I(0)}));
      check({Op::GetSlot(0), Op::GetSlot(1), a, Op::SetSlot(2)}, slots({I(2), v, I(0)}));
    }
  Snapshot s = check({Op::GetSlot(0), Op::GetSlot(1), Op::Add(), Op::SetSlot(2)},
                     slots({F(1.5), I(2), I(0)}));
  EXPECT_TRUE(identical(s.slots0[2], F(3.5))) << s.slots0[2].repr();
}

TEST(FusedDecodeSlotSlotArithStore, DestinationSlotNotYetExistingGrows) {
  Snapshot s = check({Op::GetSlot(0), Op::GetSlot(1), Op::Mul(), Op::SetSlot(6)},
                     slots({I(6), I(7)}));
  ASSERT_EQ(s.slots0.size(), 7u);
  EXPECT_TRUE(identical(s.slots0[6], I(42)));
}

TEST(FusedDecodeSlotSlotArithStore, SourceSlotMissingReadsUndef) {
  check({Op::GetSlot(0), Op::GetSlot(5), Op::Sub(), Op::SetSlot(1)}, slots({I(6), I(7)}));
  check({Op::GetSlot(5), Op::GetSlot(0), Op::Sub(), Op::SetSlot(1)}, slots({I(6), I(7)}));
}

TEST(FusedDecodeSlotSlotArithStore, NoFrameDropsTheWrite) {
  Snapshot s = check({Op::PopFrame(), Op::GetSlot(0), Op::GetSlot(1), Op::Add(), Op::SetSlot(0),
                      Op::GetSlot(0)},
                     slots({I(1), I(2)}));
  EXPECT_EQ(s.frame_count, 0u);
  EXPECT_TRUE(identical(s.value, Value::Undef())) << s.value.repr();
}

TEST(FusedDecodeSlotSlotArithStore, JumpIntoEachInnerOpRunsUnfused) {
  // Jump targets 3 (second GetSlot), 4 (Add), 5 (SetSlot) with 10, 20 pushed first.
  for (uint64_t target : {3u, 4u, 5u}) {
    SCOPED_TRACE(target);
    std::vector<Op> ops = {Op::LoadInt(10), Op::LoadInt(20), Op::Jump(target), Op::GetSlot(0),
                           Op::GetSlot(1), Op::Add(), Op::SetSlot(2), Op::GetSlot(2)};
    EXPECT_EQ(decoded_op(make_chunk(ops), 3), xop(XOp::SlotSlotArithStore));
    check(ops, slots({I(1), I(2), I(3)}));
  }
}

TEST(FusedDecodeSlotSlotArithStore, SameSlotEverywhere) {
  Snapshot s = check({Op::GetSlot(0), Op::GetSlot(0), Op::Mul(), Op::SetSlot(0)},
                     slots({I(9)}));
  EXPECT_TRUE(identical(s.slots0[0], I(81)));
}

// -- 3. SlotArithImm: GetSlot s; LoadInt k; Add/Sub/Mul -----------------------------------

TEST(FusedDecodeSlotArithImm, SequenceIsFusedAtDecode) {
  EXPECT_EQ(decoded_op(make_chunk({Op::GetSlot(0), Op::LoadInt(1), Op::Sub()}), 0),
            xop(XOp::SlotArithImm));
}

TEST(FusedDecodeSlotArithImm, IntOperandsWrapLikeReference) {
  const std::vector<std::pair<int64_t, int64_t>> pairs = {
      {3, 4}, {kMax, 1}, {kMin, 1}, {kMin, -1}, {kMax, 2}, {kMin, kMax}};
  for (const Op& a : arith_ops())
    for (auto [x, k] : pairs) {
      SCOPED_TRACE(std::string(op_name(a.code())) + " " + std::to_string(x) + " " + std::to_string(k));
      Snapshot s = check({Op::GetSlot(0), Op::LoadInt(k), a}, slots({I(x)}));
      EXPECT_TRUE(identical(s.value, I(reference_arith(a, x, k)))) << s.value.repr();
    }
}

TEST(FusedDecodeSlotArithImm, NonIntSlotFollowsGenericArith) {
  for (const Op& a : arith_ops())
    for (const Value& v : non_ints()) {
      SCOPED_TRACE(std::string(op_name(a.code())) + " " + v.repr());
      check({Op::GetSlot(0), Op::LoadInt(2), a}, slots({v}));
    }
  EXPECT_TRUE(identical(check({Op::GetSlot(0), Op::LoadInt(2), Op::Add()}, slots({F(0.5)})).value,
                        F(2.5)));
  check({Op::GetSlot(4), Op::LoadInt(2), Op::Add()}, slots({I(1)}));
}

TEST(FusedDecodeSlotArithImm, NoFrameReadsUndef) {
  check({Op::PopFrame(), Op::GetSlot(0), Op::LoadInt(kMax), Op::Add()}, slots({I(1)}));
}

TEST(FusedDecodeSlotArithImm, JumpIntoLoadIntAndIntoArith) {
  for (uint64_t target : {3u, 4u}) {
    SCOPED_TRACE(target);
    std::vector<Op> ops = {Op::LoadInt(10), Op::LoadInt(20), Op::Jump(target), Op::GetSlot(0),
                           Op::LoadInt(3), Op::Mul()};
    EXPECT_EQ(decoded_op(make_chunk(ops), 3), xop(XOp::SlotArithImm));
    check(ops, slots({I(5)}));
  }
}

TEST(FusedDecodeSlotArithImm, LeavesValuesBelowUntouched) {
  Snapshot s = check({Op::LoadConst(0), Op::GetSlot(0), Op::LoadInt(3), Op::Sub()}, slots({I(5)}));
  ASSERT_EQ(s.stack.size(), 1u);
  EXPECT_TRUE(identical(s.stack[0], Value::Str("7")));
  EXPECT_TRUE(identical(s.value, I(2)));
}

// -- 4. SlotSlotArith: GetSlot a; GetSlot b; Add/Sub/Mul ----------------------------------

TEST(FusedDecodeSlotSlotArith, SequenceIsFusedAtDecode) {
  EXPECT_EQ(decoded_op(make_chunk({Op::GetSlot(0), Op::GetSlot(1), Op::Mul()}), 0),
            xop(XOp::SlotSlotArith));
}

TEST(FusedDecodeSlotSlotArith, IntOperandsWrapLikeReference) {
  const std::vector<std::pair<int64_t, int64_t>> pairs = {
      {3, 4}, {kMax, 1}, {kMin, 1}, {kMin, -1}, {kMax, kMax}, {0, kMin}};
  for (const Op& a : arith_ops())
    for (auto [x, y] : pairs) {
      SCOPED_TRACE(std::string(op_name(a.code())) + " " + std::to_string(x) + " " + std::to_string(y));
      Snapshot s = check({Op::GetSlot(0), Op::GetSlot(1), a}, slots({I(x), I(y)}));
      EXPECT_TRUE(identical(s.value, I(reference_arith(a, x, y)))) << s.value.repr();
    }
}

TEST(FusedDecodeSlotSlotArith, NonIntOperandsAndMissingSlotsFollowGenericArith) {
  for (const Op& a : arith_ops())
    for (const Value& v : non_ints()) {
      SCOPED_TRACE(std::string(op_name(a.code())) + " " + v.repr());
      check({Op::GetSlot(0), Op::GetSlot(1), a}, slots({v, I(3)}));
      check({Op::GetSlot(0), Op::GetSlot(1), a}, slots({I(3), v}));
    }
  check({Op::GetSlot(0), Op::GetSlot(9), Op::Add()}, slots({I(3)}));
  check({Op::PopFrame(), Op::GetSlot(0), Op::GetSlot(1), Op::Add()}, slots({I(3), I(4)}));
}

TEST(FusedDecodeSlotSlotArith, JumpIntoSecondGetSlotAndArith) {
  for (uint64_t target : {3u, 4u}) {
    SCOPED_TRACE(target);
    std::vector<Op> ops = {Op::LoadInt(10), Op::LoadFloat(0.25), Op::Jump(target),
                           Op::GetSlot(0), Op::GetSlot(1), Op::Sub()};
    check(ops, slots({I(5), I(8)}));
  }
}

TEST(FusedDecodeSlotSlotArith, TruncatedAtChunkEndBehaves) {
  check({Op::GetSlot(0), Op::GetSlot(1)}, slots({I(5), I(8)}));
}

// -- 5. StackSlotArithStore: GetSlot s; Add/Sub/Mul; SetSlot d -----------------------------

TEST(FusedDecodeStackSlotArithStore, SequenceIsFusedAtDecode) {
  EXPECT_EQ(decoded_op(make_chunk({Op::LoadInt(1), Op::GetSlot(0), Op::Add(), Op::SetSlot(1)}), 1),
            xop(XOp::StackSlotArithStore));
}

TEST(FusedDecodeStackSlotArithStore, IntOperandsWrapWithStackOnTheLeft) {
  const std::vector<std::pair<int64_t, int64_t>> pairs = {
      {10, 3}, {kMax, 1}, {kMin, 1}, {kMin, -1}, {kMax, kMax}};
  for (const Op& a : arith_ops())
    for (auto [x, y] : pairs) {
      SCOPED_TRACE(std::string(op_name(a.code())) + " " + std::to_string(x) + " " + std::to_string(y));
      Snapshot s = check({Op::LoadInt(x), Op::GetSlot(0), a, Op::SetSlot(1)}, slots({I(y), I(0)}));
      EXPECT_TRUE(s.stack.empty());
      EXPECT_TRUE(identical(s.slots0[1], I(reference_arith(a, x, y)))) << s.slots0[1].repr();
    }
}

TEST(FusedDecodeStackSlotArithStore, NonIntOnStackOrSlotFollowsGenericArith) {
  for (const Op& a : arith_ops())
    for (const Value& v : non_ints()) {
      SCOPED_TRACE(std::string(op_name(a.code())) + " " + v.repr());
      check({Op::GetSlot(2), Op::GetSlot(0), a, Op::SetSlot(1)}, slots({I(4), I(0), v}));
      check({Op::LoadInt(4), Op::GetSlot(0), a, Op::SetSlot(1)}, slots({v, I(0)}));
    }
  Snapshot s = check({Op::LoadFloat(0.5), Op::GetSlot(0), Op::Add(), Op::SetSlot(1)},
                     slots({I(2), I(0)}));
  EXPECT_TRUE(identical(s.slots0[1], F(2.5))) << s.slots0[1].repr();
}

TEST(FusedDecodeStackSlotArithStore, EmptyStackLeavesSlotValueToStore) {
  // Add on one value is a no-op, so the slot's own value is stored.
  Snapshot s = check({Op::GetSlot(0), Op::Add(), Op::SetSlot(1)}, slots({I(4), I(0)}));
  EXPECT_TRUE(identical(s.slots0[1], I(4)));
}

TEST(FusedDecodeStackSlotArithStore, DestinationGrowsAndNoFrameDrops) {
  Snapshot s = check({Op::LoadInt(1), Op::GetSlot(0), Op::Sub(), Op::SetSlot(5)}, slots({I(4)}));
  ASSERT_EQ(s.slots0.size(), 6u);
  EXPECT_TRUE(identical(s.slots0[5], I(-3)));
  Snapshot n = check({Op::PopFrame(), Op::LoadInt(1), Op::GetSlot(0), Op::Sub(), Op::SetSlot(0),
                      Op::GetSlot(0)},
                     slots({I(4)}));
  EXPECT_TRUE(identical(n.value, Value::Undef()));
}

TEST(FusedDecodeStackSlotArithStore, JumpIntoArithAndSetSlot) {
  for (uint64_t target : {4u, 5u}) {
    SCOPED_TRACE(target);
    std::vector<Op> ops = {Op::LoadInt(10), Op::LoadInt(20), Op::Jump(target), Op::LoadInt(1),
                           Op::GetSlot(0), Op::Mul(), Op::SetSlot(1)};
    check(ops, slots({I(3), I(0)}));
  }
}

// -- 6. StackSlotArith: GetSlot s; Add/Sub/Mul ---------------------------------------------

TEST(FusedDecodeStackSlotArith, SequenceIsFusedAtDecode) {
  EXPECT_EQ(decoded_op(make_chunk({Op::LoadInt(1), Op::GetSlot(0), Op::Mul()}), 1),
            xop(XOp::StackSlotArith));
}

TEST(FusedDecodeStackSlotArith, IntOperandsWrapWithStackOnTheLeft) {
  const std::vector<std::pair<int64_t, int64_t>> pairs = {
      {10, 3}, {kMax, 1}, {kMin, 1}, {kMin, -1}, {kMin, kMin}};
  for (const Op& a : arith_ops())
    for (auto [x, y] : pairs) {
      SCOPED_TRACE(std::string(op_name(a.code())) + " " + std::to_string(x) + " " + std::to_string(y));
      Snapshot s = check({Op::LoadInt(x), Op::GetSlot(0), a}, slots({I(y)}));
      EXPECT_TRUE(identical(s.value, I(reference_arith(a, x, y)))) << s.value.repr();
    }
}

TEST(FusedDecodeStackSlotArith, NonIntOnStackOrSlotAndEmptyStackFollowGenericArith) {
  for (const Op& a : arith_ops())
    for (const Value& v : non_ints()) {
      SCOPED_TRACE(std::string(op_name(a.code())) + " " + v.repr());
      check({Op::GetSlot(1), Op::GetSlot(0), a}, slots({I(4), v}));
      check({Op::LoadInt(4), Op::GetSlot(0), a}, slots({v}));
    }
  Snapshot e = check({Op::GetSlot(0), Op::Sub()}, slots({I(4)}));
  EXPECT_TRUE(identical(e.value, I(4)));
  check({Op::LoadInt(4), Op::GetSlot(7), Op::Sub()}, slots({I(4)}));
  check({Op::PopFrame(), Op::LoadInt(4), Op::GetSlot(0), Op::Sub()}, slots({I(4)}));
}

TEST(FusedDecodeStackSlotArith, JumpIntoArith) {
  std::vector<Op> ops = {Op::LoadInt(10), Op::LoadInt(20), Op::Jump(5), Op::LoadInt(1),
                         Op::GetSlot(0), Op::Sub()};
  EXPECT_TRUE(identical(check(ops, slots({I(3)})).value, I(-10)));
}

// -- 7. CmpJump: NumXX; JumpIfTrue/JumpIfFalse t -------------------------------------------

TEST(FusedDecodeCmpJump, SequenceIsFusedAtDecode) {
  EXPECT_EQ(decoded_op(make_chunk(branch_tail({Op::LoadInt(1), Op::LoadInt(2), Op::NumLe()}, true)), 2),
            xop(XOp::CmpJump));
}

TEST(FusedDecodeCmpJump, EveryCompareBothPolaritiesMatchesReference) {
  const std::vector<std::pair<int64_t, int64_t>> pairs = {
      {4, 5}, {5, 5}, {6, 5}, {kMin, kMax}, {kMax, kMin}, {kMin, kMin}};
  for (const Op& cmp : cmp_ops())
    for (bool polarity : {true, false})
      for (auto [x, y] : pairs) {
        SCOPED_TRACE(std::string(op_name(cmp.code())) + " " + std::to_string(x) + " " + std::to_string(y));
        Snapshot s = check(branch_tail({Op::LoadInt(x), Op::LoadInt(y), cmp}, polarity));
        EXPECT_TRUE(identical(s.value, I(reference_cmp(cmp, x, y) == polarity ? 1 : 0)));
      }
}

TEST(FusedDecodeCmpJump, NonIntOperandsAndShortStackFollowGenericCompare) {
  for (const Op& cmp : cmp_ops())
    for (bool polarity : {true, false}) {
      for (const Value& v : non_ints()) {
        SCOPED_TRACE(std::string(op_name(cmp.code())) + " " + v.repr());
        check(branch_tail({Op::GetSlot(0), Op::LoadInt(3), Op::Swap(), cmp}, polarity), slots({v}));
        check(branch_tail({Op::LoadInt(3), Op::GetSlot(0), cmp}, polarity), slots({v}));
      }
      // One value: the compare is a no-op and the jump pops that value.
      check(branch_tail({Op::LoadInt(0), cmp}, polarity));
      check(branch_tail({Op::LoadInt(1), cmp}, polarity));
      check(branch_tail({cmp}, polarity));
    }
}

TEST(FusedDecodeCmpJump, NanComparesUnorderedThroughGenericPath) {
  for (const Op& cmp : cmp_ops())
    check(branch_tail({Op::LoadFloat(std::numeric_limits<double>::quiet_NaN()), Op::LoadInt(1), cmp},
                      true));
}

TEST(FusedDecodeCmpJump, TruncatedAtChunkEndBehaves) {
  for (const Op& cmp : cmp_ops()) check({Op::LoadInt(1), Op::LoadInt(2), cmp});
}

// -- Inside a called sub (frame other than frame 0) -------------------------------------

TEST(FusedDecodeInSub, FusedOpsUseTheCalleeFrame) {
  ChunkBuilder b;
  const uint16_t f = b.add_name("f");
  // main: f(6, 7). f: s1, s0 = args; s2 = s0 * s1; return s2 + s0 - s0 (each step fused).
  b.emit(Op::LoadInt(6), 1);
  b.emit(Op::LoadInt(7), 1);
  b.emit(Op::Call(f, 2), 1);
  const size_t skip = b.emit(Op::Jump(0), 1);
  b.add_sub_entry(f, b.current_pos());
  for (const Op& op : {Op::SetSlot(1), Op::SetSlot(0), Op::GetSlot(0), Op::GetSlot(1), Op::Mul(),
                       Op::SetSlot(2), Op::GetSlot(2), Op::GetSlot(0), Op::Add(), Op::GetSlot(0),
                       Op::Sub(), Op::ReturnValue()})
    b.emit(op, 2);
  b.patch_jump(skip, b.current_pos());
  Chunk c = b.build();
  RunSetup s;
  s.slots = {I(100), I(200), I(300)};
  Pair p = run_both(c, s);
  EXPECT_TRUE(Agree(p));
  EXPECT_EQ(p.fast.kind, VMResult::Kind::Ok);
  EXPECT_TRUE(identical(p.fast.value, I(42))) << show(p.fast);
  EXPECT_TRUE(p.fast.stack.empty()) << show(p.fast);
  EXPECT_TRUE(same_values(p.fast.slots0, {I(100), I(200), I(300)})) << show(p.fast);
}

// -- Stack-limit exactness -------------------------------------------------------------------

/// Each pattern with the values it needs already on the stack before the sequence.
struct Pattern {
  const char* name;
  XOp fused;  ///< what the sequence's first op decodes to
  std::vector<Op> prefix;  ///< pushes `pre` values the sequence consumes
  std::vector<Op> body;
  size_t extra;  ///< most values the unfused ops hold above the prefix
};

std::vector<Pattern> patterns() {
  return {
      {"SlotCmpImmJump", XOp::SlotCmpImmJump, {}, {Op::GetSlot(0), Op::LoadInt(5), Op::NumLt(), Op::JumpIfFalse(4)}, 2},
      {"SlotSlotArithStore", XOp::SlotSlotArithStore, {}, {Op::GetSlot(0), Op::GetSlot(1), Op::Add(), Op::SetSlot(2)}, 2},
      {"SlotArithImm", XOp::SlotArithImm, {}, {Op::GetSlot(0), Op::LoadInt(5), Op::Add()}, 2},
      {"SlotSlotArith", XOp::SlotSlotArith, {}, {Op::GetSlot(0), Op::GetSlot(1), Op::Add()}, 2},
      {"StackSlotArithStore", XOp::StackSlotArithStore, {Op::LoadInt(4)}, {Op::GetSlot(0), Op::Add(), Op::SetSlot(2)}, 1},
      {"StackSlotArith", XOp::StackSlotArith, {Op::LoadInt(4)}, {Op::GetSlot(0), Op::Add()}, 1},
      {"CmpJump", XOp::CmpJump, {Op::LoadInt(4), Op::LoadInt(5)}, {Op::NumLt(), Op::JumpIfFalse(0)}, 0},
  };
}

TEST(FusedDecodeStackLimit, ErrorAppearsAtTheSameOpWithAndWithoutFuel) {
  constexpr size_t kFill = 20;  // values pushed before the sequence
  for (const Pattern& pat : patterns()) {
    for (size_t limit = kFill + pat.prefix.size(); limit <= kFill + pat.prefix.size() + 3; ++limit) {
      SCOPED_TRACE(std::string(pat.name) + " max_stack " + std::to_string(limit));
      std::vector<Op> ops;
      for (size_t i = 0; i < kFill; ++i) ops.push_back(Op::LoadInt(static_cast<int64_t>(i)));
      for (const Op& op : pat.prefix) ops.push_back(op);
      const uint64_t at = ops.size();
      std::vector<Op> body = pat.body;
      // Conditional jumps go just past the sequence either way.
      Op& last = body.back();
      if (last.code() == OpCode::JumpIfFalse) last = Op::JumpIfFalse(at + body.size());
      for (const Op& op : body) ops.push_back(op);
      Chunk c = make_chunk(ops);
      EXPECT_EQ(decoded_op(c, at), xop(pat.fused));
      RunSetup s;
      s.slots = {I(1), I(2), I(3)};
      s.max_stack = limit;
      Pair p = run_both(c, s);
      EXPECT_TRUE(Agree(p));
      const size_t need = kFill + pat.prefix.size() + pat.extra;
      if (need > limit) {
        ASSERT_EQ(p.fast.kind, VMResult::Kind::Error);
        EXPECT_EQ(p.fast.error, "limit exceeded: value stack (" + std::to_string(limit) + ")");
      } else {
        EXPECT_NE(p.fast.kind, VMResult::Kind::Error) << show(p.fast);
      }
    }
  }
}

// -- Differential generator ----------------------------------------------------------------

/// Fixed-seed 64-bit LCG (Knuth MMIX constants); the high bits feed draws.
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : state_(seed) {}
  /// Uniform-ish draw in [0, n).
  uint64_t below(uint64_t n) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state_ >> 33) % n;
  }
  /// True with probability 1/n.
  bool one_in(uint64_t n) { return below(n) == 0; }

 private:
  uint64_t state_;
};

constexpr uint16_t kCounterSlot = 4;  // loop counter, never touched by random ops

int64_t random_int(Lcg& r) {
  static const int64_t kBoundary[] = {kMin, kMax, kMin + 1, kMax - 1, int64_t(1) << 32,
                                      -(int64_t(1) << 32), int64_t(1) << 62};
  if (r.one_in(4)) return kBoundary[r.below(std::size(kBoundary))];
  return static_cast<int64_t>(r.below(9)) - 4;
}

Value random_slot_value(Lcg& r) {
  switch (r.below(8)) {
    case 0: case 1: return I(random_int(r));
    case 2: return F(r.one_in(2) ? 2.5 : -0.5);
    case 3: return Value::Bool(r.one_in(2));
    case 4: return Value::Str("3");
    case 5: return Value::Undef();
    case 6: return Value::Array({I(1), I(2), I(3)});
    default: return I(static_cast<int64_t>(r.below(5)));
  }
}

/// One random program and the frame-0 slots it starts with.
struct Generated {
  std::vector<Op> ops;
  std::vector<Value> slots;
  bool has_loop = false;  ///< a counter-guarded backward jump exists
  bool no_frame = false;  ///< the program starts by popping the main frame
};

Op random_cmp(Lcg& r) {
  static const Op kCmp[] = {Op::NumEq(), Op::NumNe(), Op::NumLt(), Op::NumGt(), Op::NumLe(), Op::NumGe()};
  return kCmp[r.below(6)];
}

// Op kinds biased so the fused sequences occur often: GetSlot is drawn most.
Op random_simple_op(Lcg& r) {
  static const Op kArith[] = {Op::Add(), Op::Sub(), Op::Mul()};
  switch (r.below(16)) {
    case 0: case 1: case 2: case 3: return Op::GetSlot(static_cast<uint16_t>(r.below(4)));
    case 4: return Op::SetSlot(static_cast<uint16_t>(r.below(4)));
    case 5: case 6: return Op::LoadInt(random_int(r));
    case 7: return Op::LoadFloat(r.one_in(2) ? 1.5 : -2.0);
    case 8: return r.one_in(2) ? Op::LoadTrue() : Op::LoadUndef();
    case 9: return Op::LoadConst(0);
    case 10: case 11: return kArith[r.below(3)];
    case 12: return random_cmp(r);
    case 13: return Op::Dup();
    case 14: return Op::Pop();
    default: return r.one_in(2) ? Op::GetVar(0) : Op::SetVar(0);
  }
}

Generated generate(uint64_t seed) {
  Lcg r(seed);
  Generated g;
  const size_t len = 5 + r.below(56);
  // Positions a forward jump may land on: anything but the inside of a loop tail, whose
  // counter increment must run before every backward jump so each program terminates.
  std::vector<bool> landable;
  std::vector<size_t> cond_jumps;  // indices whose target is patched afterwards
  bool has_loop = false;
  auto push = [&](Op op, bool can_land) {
    g.ops.push_back(op);
    landable.push_back(can_land);
  };
  while (g.ops.size() < len) {
    const uint64_t pick = r.below(20);
    if (pick < 3) {
      // Conditional forward jump, often right after a compare (feeds CmpJump and
      // SlotCmpImmJump); its target is chosen once the program is complete.
      cond_jumps.push_back(g.ops.size());
      push(r.one_in(2) ? Op::JumpIfTrue(0) : Op::JumpIfFalse(0), true);
    } else if (pick == 3 && g.ops.size() >= 2) {
      // Loop tail: s4 = s4 + 1; if s4 < K goto earlier. Every backward jump is preceded
      // by its increment, so the total count of backward jumps is at most K.
      std::vector<uint64_t> backs;
      for (uint64_t t = 0; t < g.ops.size(); ++t)
        if (landable[t]) backs.push_back(t);
      has_loop = true;
      const uint64_t back = backs[r.below(backs.size())];
      const int64_t k = 1 + static_cast<int64_t>(r.below(12));
      const bool on_true = r.one_in(2);
      push(Op::GetSlot(kCounterSlot), true);
      push(Op::LoadInt(1), false);
      push(Op::Add(), false);
      push(Op::SetSlot(kCounterSlot), false);
      push(Op::GetSlot(kCounterSlot), false);
      push(Op::LoadInt(k), false);
      push(on_true ? Op::NumLt() : Op::NumGe(), false);
      push(on_true ? Op::JumpIfTrue(back) : Op::JumpIfFalse(back), false);
    } else if (pick == 4) {
      // A literal SlotCmpImmJump sequence with a forward target.
      push(Op::GetSlot(static_cast<uint16_t>(r.below(4))), true);
      push(Op::LoadInt(random_int(r)), true);
      push(random_cmp(r), true);
      cond_jumps.push_back(g.ops.size());
      push(r.one_in(2) ? Op::JumpIfTrue(0) : Op::JumpIfFalse(0), true);
    } else if (pick == 5) {
      cond_jumps.push_back(g.ops.size());
      push(Op::Jump(0), true);
    } else {
      push(random_simple_op(r), true);
    }
  }
  landable.push_back(true);  // the end of the chunk
  for (size_t j : cond_jumps) {
    std::vector<uint64_t> targets;
    for (size_t t = j + 1; t < landable.size(); ++t)
      if (landable[t]) targets.push_back(t);
    const uint64_t t = targets[r.below(targets.size())];
    const OpCode code = g.ops[j].code();
    g.ops[j] = code == OpCode::JumpIfTrue ? Op::JumpIfTrue(t)
               : code == OpCode::JumpIfFalse ? Op::JumpIfFalse(t)
                                             : Op::Jump(t);
  }
  // Slots: 0–3 random kinds, some missing; the counter slot exists when a loop does.
  const size_t count = has_loop ? 5 : r.below(5);
  for (size_t i = 0; i < count; ++i) g.slots.push_back(random_slot_value(r));
  if (has_loop) g.slots[kCounterSlot] = I(0);
  g.has_loop = has_loop;
  // Without a loop a program may also run with no frame at all.
  if (!has_loop && r.one_in(10)) {
    g.ops.insert(g.ops.begin(), Op::PopFrame());
    // Every target moved one op further.
    for (Op& op : g.ops) {
      const OpCode code = op.code();
      if (code == OpCode::Jump) op = Op::Jump(op.target() + 1);
      if (code == OpCode::JumpIfTrue) op = Op::JumpIfTrue(op.target() + 1);
      if (code == OpCode::JumpIfFalse) op = Op::JumpIfFalse(op.target() + 1);
    }
    g.no_frame = true;
  }
  return g;
}

std::string listing(const std::vector<Op>& ops) {
  std::string s;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    s += "  " + std::to_string(i) + ": " + std::string(op_name(op.code()));
    switch (op.code()) {
      case OpCode::GetSlot: case OpCode::SetSlot: case OpCode::LoadConst: case OpCode::GetVar:
      case OpCode::SetVar:
        s += " " + std::to_string(op.small(0));
        break;
      case OpCode::LoadInt: s += " " + std::to_string(static_cast<int64_t>(op.wide())); break;
      case OpCode::Jump: case OpCode::JumpIfTrue: case OpCode::JumpIfFalse:
        s += " " + std::to_string(op.target());
        break;
      default: break;
    }
    s += "\n";
  }
  return s;
}

TEST(FusedDecodeDifferential, RandomProgramsAgreeWithAndWithoutFuel) {
  constexpr uint64_t kPrograms = 4000;
  constexpr uint64_t kBaseSeed = 0xf05ed'ec0de;
  uint64_t fused_programs = 0, loop_programs = 0, no_frame_programs = 0;
  uint64_t first_mismatch = 0;
  bool mismatch = false;
  for (uint64_t i = 0; i < kPrograms && !mismatch; ++i) {
    const uint64_t seed = kBaseSeed + i;
    Generated g = generate(seed);
    Chunk c = make_chunk(g.ops);
    loop_programs += g.has_loop;
    no_frame_programs += g.no_frame;
    {
      VM probe(c);
      const CodeStream& m = probe.state().code.main();
      for (uint64_t k = 0; k < m.len; ++k)
        if (m.code[k].op >= xop(XOp::SlotCmpImmJump)) {
          ++fused_programs;
          break;
        }
    }
    RunSetup s;
    s.slots = g.slots;
    Pair p = run_both(c, s);
    if (!same(p.fast, p.metered)) {
      mismatch = true;
      first_mismatch = seed;
      std::string slot_text;
      for (const Value& v : g.slots) slot_text += v.repr() + " ";
      ADD_FAILURE() << "first mismatch at seed " << seed << "\nslots: " << slot_text
                    << "\nprogram:\n" << listing(g.ops) << "without fuel: " << show(p.fast)
                    << "\n   with fuel: " << show(p.metered);
    }
  }
  EXPECT_FALSE(mismatch) << "seed " << first_mismatch;
  // The generator must actually exercise the rewrite.
  EXPECT_GT(fused_programs, kPrograms * 3 / 4);
  EXPECT_GT(loop_programs, kPrograms / 4);
  EXPECT_GT(no_frame_programs, kPrograms / 50);
}

}  // namespace
}  // namespace fusevm
