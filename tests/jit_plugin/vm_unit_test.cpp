// kUnitVm through the plugin ABI: kind-exact ops against the real interpreter, exits,
// deopts, polls, entry stacks, max_exit_stack, malformed requests and the 1M sum loop.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "vm_unit_harness.hpp"

namespace fusevm::jit_plugin_test {
namespace {

using jit_abi::kExitDeopt;
using jit_abi::kExitLeft;
using jit_abi::kExitPoll;
using jit_abi::kTagBool;
using jit_abi::kTagFloat;
using jit_abi::kTagInt;
using jit_abi::kTagUndef;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
const double kNan = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

Engine& engine() {
  static Engine* shared = new Engine;  // lives for the whole run, as the core's does
  return *shared;
}

// Values of one kind that reach the edges of every conversion (saturation, NaN, -0.0,
// shift counts past 63, wrapping).
const std::vector<Value>& samples(uint8_t tag) {
  static const std::vector<Value> undef = {Value()};
  static const std::vector<Value> bools = {Value::Bool(false), Value::Bool(true)};
  static const std::vector<Value> ints = {Value::Int(0),  Value::Int(1),  Value::Int(-1),   Value::Int(2),
                                          Value::Int(7),  Value::Int(-3), Value::Int(63),   Value::Int(64),
                                          Value::Int(65), Value::Int(kMin), Value::Int(kMax)};
  static const std::vector<Value> floats = {
      Value::Float(0.0),   Value::Float(-0.0),  Value::Float(0.5),    Value::Float(2.5),
      Value::Float(-7.25), Value::Float(64.9),  Value::Float(1e300),  Value::Float(-1e300),
      Value::Float(kNan),  Value::Float(kInf),  Value::Float(-kInf)};
  switch (tag) {
    case kTagUndef: return undef;
    case kTagBool: return bools;
    case kTagInt: return ints;
    default: return floats;
  }
}

constexpr uint8_t kTags[] = {kTagUndef, kTagBool, kTagInt, kTagFloat};

double as_double(const jit_abi::AbiValue& v) {
  double d;
  std::memcpy(&d, &v.bits, sizeof d);
  return d;
}

uint64_t bits_of(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

VmJob job_of(std::vector<Op> ops, std::vector<Value> slots, uint32_t tier) {
  VmJob job;
  job.ops = std::move(ops);
  job.slots = std::move(slots);
  job.tier = tier;
  return job;
}

// Compiles (asserting success) and runs once.
VmExitState compile_run(const VmJob& job, bool poll = false, VmUnit* out = nullptr) {
  VmUnit unit = compile_vm(engine(), job);
  EXPECT_TRUE(unit.ok) << unit.reason;
  if (!unit.ok) return {};
  VmExitState exit = run_vm(unit, job, poll);
  EXPECT_EQ(exit.returned, exit.reason) << "the return value and exit_reason must agree";
  if (out != nullptr) *out = unit;
  return exit;
}

class VmUnitTier : public ::testing::TestWithParam<uint32_t> {};

// -- Every op and kind combination against the interpreter --------------------------------

// slot0 OP slot1 for every pair of kinds and every pair of sample values: the exit state
// must be one the interpreter passes through, and the result kind is `want(ka, kb)`.
void check_binary(Op op, uint32_t tier, uint8_t (*want)(uint8_t, uint8_t)) {
  for (uint8_t ka : kTags) {
    for (uint8_t kb : kTags) {
      VmJob job = job_of({Op::GetSlot(0), Op::GetSlot(1), op}, {samples(ka)[0], samples(kb)[0]}, tier);
      VmUnit unit = compile_vm(engine(), job);
      ASSERT_TRUE(unit.ok) << unit.reason;
      for (const Value& a : samples(ka)) {
        for (const Value& b : samples(kb)) {
          job.slots = {a, b};
          const VmExitState exit = run_vm(unit, job);
          const std::string where = std::string(op.name()) + " of " + a.repr() + " and " + b.repr();
          const bool zero_divisor = op.code() == OpCode::Div && b.to_float() == 0.0;
          if (zero_divisor) {
            EXPECT_EQ(exit.reason, kExitDeopt) << where;
            EXPECT_EQ(exit.resume_ip, 2u) << where;
            ASSERT_EQ(exit.depth, 2u) << where;
          } else {
            EXPECT_EQ(exit.reason, kExitLeft) << where;
            EXPECT_EQ(exit.resume_ip, 3u) << where;
            ASSERT_EQ(exit.depth, 1u) << where;
            EXPECT_EQ(exit.stack[0].tag, want(ka, kb)) << where;
          }
          EXPECT_TRUE(interpreter_passes_through(job, exit)) << where;
        }
      }
    }
  }
}

uint8_t arith_kind(uint8_t a, uint8_t b) { return a == kTagInt && b == kTagInt ? kTagInt : kTagFloat; }
uint8_t float_kind(uint8_t, uint8_t) { return kTagFloat; }
uint8_t bool_kind(uint8_t, uint8_t) { return kTagBool; }
uint8_t int_kind(uint8_t, uint8_t) { return kTagInt; }

TEST_P(VmUnitTier, AddSubMulModMatchTheInterpreterForEveryKindPair) {
  for (OpCode c : {OpCode::Add, OpCode::Sub, OpCode::Mul, OpCode::Mod}) check_binary(Op(c), GetParam(), arith_kind);
}

TEST_P(VmUnitTier, DivAndPowGiveFloatOrDeoptOnAZeroDivisorAsTheInterpreter) {
  for (OpCode c : {OpCode::Div, OpCode::Pow}) check_binary(Op(c), GetParam(), float_kind);
}

TEST_P(VmUnitTier, ComparisonsAndLogicalOpsGiveBoolAsTheInterpreter) {
  for (OpCode c : {OpCode::NumEq, OpCode::NumNe, OpCode::NumLt, OpCode::NumGt, OpCode::NumLe, OpCode::NumGe,
                   OpCode::LogAnd, OpCode::LogOr}) {
    check_binary(Op(c), GetParam(), bool_kind);
  }
}

TEST_P(VmUnitTier, SpaceshipAndBitOpsGiveIntAsTheInterpreter) {
  for (OpCode c : {OpCode::Spaceship, OpCode::BitAnd, OpCode::BitOr, OpCode::BitXor, OpCode::Shl, OpCode::Shr}) {
    check_binary(Op(c), GetParam(), int_kind);
  }
}

TEST_P(VmUnitTier, UnaryOpsMatchTheInterpreterForEveryKind) {
  for (OpCode c : {OpCode::Negate, OpCode::Inc, OpCode::Dec, OpCode::LogNot, OpCode::BitNot}) {
    for (uint8_t k : kTags) {
      VmJob job = job_of({Op::GetSlot(0), Op(c)}, {samples(k)[0]}, GetParam());
      VmUnit unit = compile_vm(engine(), job);
      ASSERT_TRUE(unit.ok) << unit.reason;
      for (const Value& a : samples(k)) {
        job.slots = {a};
        const VmExitState exit = run_vm(unit, job);
        const std::string where = std::string(op_name(c)) + " of " + a.repr();
        ASSERT_EQ(exit.depth, 1u) << where;
        const uint8_t want = c == OpCode::LogNot                       ? kTagBool
                             : c == OpCode::Negate && k != kTagInt     ? kTagFloat
                                                                       : kTagInt;
        EXPECT_EQ(exit.stack[0].tag, want) << where;
        EXPECT_TRUE(interpreter_passes_through(job, exit)) << where;
      }
    }
  }
}

// JumpIfTrue / JumpIfFalse / the Keep forms on every sample: truthiness decides the path.
TEST_P(VmUnitTier, ConditionalJumpsFollowTheInterpretersTruthiness) {
  for (OpCode c : {OpCode::JumpIfTrue, OpCode::JumpIfFalse, OpCode::JumpIfTrueKeep, OpCode::JumpIfFalseKeep}) {
    for (uint8_t k : kTags) {
      Op jump(c);
      jump.set_target(4);
      // 0 GetSlot 0; 1 jump -> 4; 2 LoadInt 10; 3 Jump 5; 4 LoadInt 20; (5 = end)
      VmJob job = job_of({Op::GetSlot(0), jump, Op::LoadInt(10), Op::Jump(5), Op::LoadInt(20)},
                         {samples(k)[0]}, GetParam());
      VmUnit unit = compile_vm(engine(), job);
      ASSERT_TRUE(unit.ok) << unit.reason;
      for (const Value& a : samples(k)) {
        job.slots = {a};
        const VmExitState exit = run_vm(unit, job);
        const std::string where = std::string(op_name(c)) + " on " + a.repr();
        EXPECT_EQ(exit.resume_ip, 5u) << where;
        const bool keeps = c == OpCode::JumpIfTrueKeep || c == OpCode::JumpIfFalseKeep;
        ASSERT_EQ(exit.depth, keeps ? 2u : 1u) << where;
        const bool jumps = a.is_truthy() == (c == OpCode::JumpIfTrue || c == OpCode::JumpIfTrueKeep);
        EXPECT_EQ(static_cast<int64_t>(exit.stack.back().bits), jumps ? 20 : 10) << where;
        EXPECT_TRUE(interpreter_passes_through(job, exit)) << where;
      }
    }
  }
}

TEST_P(VmUnitTier, StackOpsKeepEveryKindBitwise) {
  const std::vector<Value> entry = {Value::Float(-0.0), Value::Bool(true), Value(), Value::Int(kMin)};
  const std::vector<std::vector<Op>> programs = {
      {Op::Dup()}, {Op::Dup2()}, {Op::Swap()}, {Op::Rot()}, {Op::Pop()}, {Op::Rot(), Op::Swap(), Op::Dup2(), Op::Pop()},
      {Op::LoadUndef(), Op::LoadTrue(), Op::LoadFalse(), Op::LoadFloat(-0.0), Op::LoadInt(-5)},
  };
  for (const auto& ops : programs) {
    VmJob job = job_of(ops, {}, GetParam());
    job.stack = entry;
    const VmExitState exit = compile_run(job);
    EXPECT_EQ(exit.resume_ip, ops.size());
    EXPECT_TRUE(interpreter_passes_through(job, exit)) << ops.front().name();
  }
}

TEST_P(VmUnitTier, LoadConstPushesIntAndFloatConstantsExactly) {
  VmJob job = job_of({Op::LoadConst(0), Op::LoadConst(1)}, {}, GetParam());
  job.consts = {Value::Int(-42), Value::Float(kNan)};
  const VmExitState exit = compile_run(job);
  ASSERT_EQ(exit.depth, 2u);
  EXPECT_EQ(exit.stack[0].tag, kTagInt);
  EXPECT_EQ(static_cast<int64_t>(exit.stack[0].bits), -42);
  EXPECT_EQ(exit.stack[1].tag, kTagFloat);
  EXPECT_EQ(exit.stack[1].bits, bits_of(kNan));
}

TEST_P(VmUnitTier, LoadConstOfAStringConstantLeavesTheUnitAtIt) {
  VmJob job = job_of({Op::LoadInt(1), Op::LoadConst(0), Op::Add()}, {}, GetParam());
  job.consts = {Value::Str("x")};
  const VmExitState exit = compile_run(job);
  EXPECT_EQ(exit.reason, kExitLeft);
  EXPECT_EQ(exit.resume_ip, 1u);
  ASSERT_EQ(exit.depth, 1u);
  EXPECT_EQ(exit.stack[0].tag, kTagInt);
}

// Each slot op on every sample kind of its slot(s).
TEST_P(VmUnitTier, FusedSlotOpsMatchTheInterpreterForEveryKind) {
  const std::vector<std::vector<Op>> programs = {
      {Op::PreIncSlot(0)},
      {Op::PreIncSlotVoid(0)},
      {Op::AddAssignSlotVoid(0, 1)},
      {Op::AddAssignSlotVoid(0, 0)},
      {Op::SlotLtIntJumpIfFalse(0, 3, 3), Op::LoadInt(1), Op::Jump(4), Op::LoadInt(2)},
      {Op::SlotIncLtIntJumpBack(1, 3, 2), Op::Jump(3), Op::LoadInt(9)},
      {Op::GetSlot(0), Op::SetSlot(1), Op::GetSlot(1)},
  };
  for (const auto& ops : programs) {
    for (uint8_t ka : kTags) {
      for (uint8_t kb : kTags) {
        VmJob job = job_of(ops, {samples(ka)[0], samples(kb)[0]}, GetParam());
        VmUnit unit = compile_vm(engine(), job);
        ASSERT_TRUE(unit.ok) << unit.reason;
        for (const Value& a : samples(ka)) {
          for (const Value& b : samples(kb)) {
            job.slots = {a, b};
            const VmExitState exit = run_vm(unit, job);
            const std::string where = std::string(ops.front().name()) + " on " + a.repr() + ", " + b.repr();
            EXPECT_EQ(exit.reason, kExitLeft) << where;
            EXPECT_TRUE(interpreter_passes_through(job, exit)) << where;
          }
        }
      }
    }
  }
}

TEST_P(VmUnitTier, AccumSumLoopMatchesTheInterpreterOnSmallRanges) {
  const std::vector<Value> sums = {Value::Int(0), Value::Int(kMax), Value::Float(2.9), Value::Bool(true), Value()};
  const std::vector<Value> starts = {Value::Int(0), Value::Int(-1000), Value::Int(5), Value::Int(2000),
                                     Value::Float(-3.5), Value()};
  for (int32_t limit : {0, 10, 1000, -5}) {
    for (const Value& s : sums) {
      for (const Value& i : starts) {
        VmJob job = job_of({Op::AccumSumLoop(0, 1, limit)}, {s, i}, GetParam());
        const VmExitState exit = compile_run(job);
        EXPECT_TRUE(interpreter_passes_through(job, exit)) << s.repr() << " " << i.repr() << " " << limit;
        EXPECT_EQ(exit.slots[0].tag, kTagInt);
        EXPECT_EQ(exit.slots[1].tag, kTagInt);
      }
    }
  }
  // Both operands one slot: i is stored last and wins.
  VmJob same = job_of({Op::AccumSumLoop(0, 0, 10)}, {Value::Int(3)}, GetParam());
  const VmExitState exit = compile_run(same);
  EXPECT_EQ(static_cast<int64_t>(exit.slots[0].bits), 10);
  EXPECT_TRUE(interpreter_passes_through(same, exit));
}

// Ranges too long to interpret in a test: the closed form against 128-bit arithmetic.
TEST_P(VmUnitTier, AccumSumLoopClosedFormWrapsLikeTheLoopOnHugeRanges) {
  for (int64_t start : {kMin, int64_t{-3'000'000'000}, int64_t{-1}}) {
    const int32_t limit = std::numeric_limits<int32_t>::max();
    VmJob job = job_of({Op::AccumSumLoop(0, 1, limit)}, {Value::Int(17), Value::Int(start)}, GetParam());
    const VmExitState exit = compile_run(job);
    const __int128 n = static_cast<__int128>(limit) - start;
    const __int128 total = 17 + n * start + n * (n - 1) / 2;
    EXPECT_EQ(exit.slots[0].bits, static_cast<uint64_t>(total)) << start;
    EXPECT_EQ(static_cast<int64_t>(exit.slots[1].bits), limit);
  }
}

// -- Hand-checked results (independent of the interpreter) ----------------------------------

struct Case {
  Op op;
  Value a, b;
  uint8_t tag;
  uint64_t bits;
};

TEST_P(VmUnitTier, BinaryResultsHaveTheDocumentedKindsAndBits) {
  const Case cases[] = {
      {Op::Add(), Value::Int(kMax), Value::Int(1), kTagInt, static_cast<uint64_t>(kMin)},
      {Op::Add(), Value::Bool(true), Value::Bool(true), kTagFloat, bits_of(2.0)},
      {Op::Add(), Value(), Value::Int(3), kTagFloat, bits_of(3.0)},
      {Op::Mul(), Value::Int(kMin), Value::Int(-1), kTagInt, static_cast<uint64_t>(kMin)},
      {Op::Div(), Value::Int(7), Value::Int(2), kTagFloat, bits_of(3.5)},
      {Op::Div(), Value::Float(1.0), Value::Float(kNan), kTagFloat, bits_of(kNan)},
      {Op::Mod(), Value::Int(-7), Value::Int(0), kTagInt, 0},
      {Op::Mod(), Value::Int(kMin), Value::Int(-1), kTagInt, 0},
      {Op::Mod(), Value::Int(-7), Value::Int(3), kTagInt, static_cast<uint64_t>(int64_t{-1})},
      {Op::Mod(), Value::Float(7.5), Value::Int(2), kTagFloat, bits_of(1.5)},
      {Op::Pow(), Value::Int(2), Value::Int(10), kTagFloat, bits_of(1024.0)},
      {Op::NumLt(), Value::Int(1), Value::Float(1.5), kTagBool, 1},
      {Op::NumEq(), Value::Bool(true), Value::Int(1), kTagBool, 1},
      {Op::NumNe(), Value::Float(kNan), Value::Float(kNan), kTagBool, 1},
      {Op::NumEq(), Value::Float(kNan), Value::Float(kNan), kTagBool, 0},
      {Op::Spaceship(), Value::Float(kNan), Value::Int(1), kTagInt, 0},
      {Op::Spaceship(), Value(), Value::Bool(true), kTagInt, static_cast<uint64_t>(int64_t{-1})},
      {Op::Shl(), Value::Int(1), Value::Int(65), kTagInt, 2},
      {Op::Shr(), Value::Int(-8), Value::Int(1), kTagInt, static_cast<uint64_t>(int64_t{-4})},
      {Op::BitAnd(), Value::Float(1e300), Value::Int(-1), kTagInt, static_cast<uint64_t>(kMax)},
      {Op::BitOr(), Value::Float(-1e300), Value::Int(0), kTagInt, static_cast<uint64_t>(kMin)},
      {Op::BitOr(), Value::Float(kNan), Value::Bool(true), kTagInt, 1},
      {Op::LogAnd(), Value::Float(kNan), Value::Int(2), kTagBool, 1},
      {Op::LogOr(), Value::Float(-0.0), Value(), kTagBool, 0},
  };
  for (const Case& c : cases) {
    VmJob job = job_of({Op::GetSlot(0), Op::GetSlot(1), c.op}, {c.a, c.b}, GetParam());
    const VmExitState exit = compile_run(job);
    const std::string where = std::string(c.op.name()) + " of " + c.a.repr() + " and " + c.b.repr();
    ASSERT_EQ(exit.depth, 1u) << where;
    EXPECT_EQ(exit.stack[0].tag, c.tag) << where;
    if (c.tag == kTagFloat && std::isnan(as_double(exit.stack[0]))) {
      EXPECT_TRUE(std::isnan(as_double(jit_abi::AbiValue{c.bits, c.tag, {}}))) << where;
    } else {
      EXPECT_EQ(exit.stack[0].bits, c.bits) << where << ": " << describe(exit.stack[0]);
    }
  }
}

TEST_P(VmUnitTier, UnaryResultsHaveTheDocumentedKindsAndBits) {
  const Case cases[] = {
      {Op::Negate(), Value(), Value(), kTagFloat, bits_of(-0.0)},
      {Op::Negate(), Value::Int(kMin), Value(), kTagInt, static_cast<uint64_t>(kMin)},
      {Op::Negate(), Value::Bool(true), Value(), kTagFloat, bits_of(-1.0)},
      {Op::Inc(), Value::Float(2.7), Value(), kTagInt, 3},
      {Op::Inc(), Value::Int(kMax), Value(), kTagInt, static_cast<uint64_t>(kMin)},
      {Op::Dec(), Value::Bool(true), Value(), kTagInt, 0},
      {Op::Dec(), Value::Float(kNan), Value(), kTagInt, static_cast<uint64_t>(int64_t{-1})},
      {Op::LogNot(), Value::Float(kNan), Value(), kTagBool, 0},
      {Op::LogNot(), Value::Float(-0.0), Value(), kTagBool, 1},
      {Op::LogNot(), Value(), Value(), kTagBool, 1},
      {Op::BitNot(), Value::Float(-1e300), Value(), kTagInt, static_cast<uint64_t>(kMax)},
  };
  for (const Case& c : cases) {
    VmJob job = job_of({Op::GetSlot(0), c.op}, {c.a}, GetParam());
    const VmExitState exit = compile_run(job);
    const std::string where = std::string(c.op.name()) + " of " + c.a.repr();
    ASSERT_EQ(exit.depth, 1u) << where;
    EXPECT_EQ(exit.stack[0].tag, c.tag) << where;
    EXPECT_EQ(exit.stack[0].bits, c.bits) << where << ": " << describe(exit.stack[0]);
  }
}

// -- Deopt ----------------------------------------------------------------------------------

TEST_P(VmUnitTier, DivByZeroDeoptsWithTheExactStateBeforeTheDiv) {
  for (const Value& zero : {Value::Int(0), Value::Bool(false), Value::Float(-0.0), Value::Float(0.0), Value()}) {
    // 0 LoadInt 5; 1 SetSlot 2; 2 LoadFloat 1.5; 3 GetSlot 0; 4 GetSlot 1; 5 Div; 6 SetSlot 3
    VmJob job = job_of({Op::LoadInt(5), Op::SetSlot(2), Op::LoadFloat(1.5), Op::GetSlot(0), Op::GetSlot(1),
                        Op::Div(), Op::SetSlot(3)},
                       {Value::Int(9), zero, Value::Bool(false), Value::Int(-1)}, GetParam());
    const VmExitState exit = compile_run(job);
    const std::string where = "dividing by " + zero.repr();
    EXPECT_EQ(exit.reason, kExitDeopt) << where;
    EXPECT_EQ(exit.returned, kExitDeopt) << where;
    EXPECT_EQ(exit.resume_ip, 5u) << where;
    ASSERT_EQ(exit.depth, 3u) << where;
    EXPECT_TRUE(same_value(exit.stack[0], abi(Value::Float(1.5)))) << where;
    EXPECT_TRUE(same_value(exit.stack[1], abi(Value::Int(9)))) << where;
    EXPECT_TRUE(same_value(exit.stack[2], abi(zero))) << where << ": " << describe(exit.stack[2]);
    EXPECT_TRUE(same_value(exit.slots[2], abi(Value::Int(5)))) << where;  // written before the Div
    EXPECT_TRUE(same_value(exit.slots[3], abi(Value::Int(-1)))) << where;  // not yet written
    EXPECT_TRUE(interpreter_passes_through(job, exit)) << where;
  }
}

TEST_P(VmUnitTier, DivByANonZeroValueRunsNatively) {
  VmJob job = job_of({Op::GetSlot(0), Op::GetSlot(1), Op::Div(), Op::SetSlot(2)},
                     {Value::Int(1), Value::Float(-4.0), Value()}, GetParam());
  const VmExitState exit = compile_run(job);
  EXPECT_EQ(exit.reason, kExitLeft);
  EXPECT_EQ(exit.resume_ip, 4u);
  EXPECT_TRUE(same_value(exit.slots[2], abi(Value::Float(-0.25))));
}

// -- Exits ----------------------------------------------------------------------------------

TEST_P(VmUnitTier, FallingThroughRangeEndExitsThere) {
  // The unit is ops [1, 4) of a 6-op chunk, entered at 1.
  VmJob job = job_of({Op::LoadInt(100), Op::GetSlot(0), Op::LoadInt(2), Op::Mul(), Op::SetSlot(0), Op::Nop()},
                     {Value::Int(21)}, GetParam());
  job.range_begin = 1;
  job.range_end = 4;
  job.entry_ip = 1;
  const VmExitState exit = compile_run(job);
  EXPECT_EQ(exit.reason, kExitLeft);
  EXPECT_EQ(exit.resume_ip, 4u);
  ASSERT_EQ(exit.depth, 1u);
  EXPECT_TRUE(same_value(exit.stack[0], abi(Value::Int(42))));
  EXPECT_TRUE(interpreter_passes_through(job, exit));
}

TEST_P(VmUnitTier, JumpsOutOfTheRangeExitAtTheirTarget) {
  // Range [2, 7): 2 GetSlot 0; 3 JumpIfTrue 9 (forward, out); 4 PreIncSlotVoid 1;
  // 5 Jump 0 (backward, out); 6 Nop; chunk continues to 10.
  std::vector<Op> ops = {Op::Nop(), Op::Nop(), Op::GetSlot(0), Op::JumpIfTrue(9), Op::PreIncSlotVoid(1),
                         Op::Jump(0), Op::Nop(), Op::Nop(), Op::Nop(), Op::Nop()};
  for (bool cond : {true, false}) {
    VmJob job = job_of(ops, {Value::Bool(cond), Value::Float(1.5)}, GetParam());
    job.range_begin = 2;
    job.range_end = 7;
    job.entry_ip = 2;
    for (bool poll : {false, true}) {
      // A taken jump polls even when it leaves the range: the interpreter polls at its target.
      const VmExitState exit = compile_run(job, poll);
      EXPECT_EQ(exit.reason, poll ? kExitPoll : kExitLeft);
      EXPECT_EQ(exit.resume_ip, cond ? 9u : 0u);
      EXPECT_EQ(exit.depth, 0u);
      EXPECT_TRUE(same_value(exit.slots[1], cond ? abi(Value::Float(1.5)) : abi(Value::Int(2))));
      EXPECT_TRUE(interpreter_passes_through(job, exit));
    }
  }
}

TEST_P(VmUnitTier, FallingThroughTheRangeEndNeverPolls) {
  VmJob job = job_of({Op::LoadInt(1), Op::Nop(), Op::Nop()}, {}, GetParam());
  job.range_end = 2;
  const VmExitState exit = compile_run(job, /*poll=*/true);
  EXPECT_EQ(exit.reason, kExitLeft);
  EXPECT_EQ(exit.resume_ip, 2u);
  EXPECT_EQ(exit.depth, 1u);
}

TEST_P(VmUnitTier, AnUnsupportedOpExitsBeforeItWithTheStateSoFar) {
  VmJob job = job_of({Op::LoadInt(3), Op::SetSlot(0), Op::LoadFloat(0.5), Op::GetVar(0), Op::Add()},
                     {Value()}, GetParam());
  const VmExitState exit = compile_run(job);
  EXPECT_EQ(exit.reason, kExitLeft);
  EXPECT_EQ(exit.resume_ip, 3u);
  ASSERT_EQ(exit.depth, 1u);
  EXPECT_TRUE(same_value(exit.stack[0], abi(Value::Float(0.5))));
  EXPECT_TRUE(same_value(exit.slots[0], abi(Value::Int(3))));
}

TEST_P(VmUnitTier, PoppingBelowTheUnitsBaseExitsAtThatOp) {
  // The values under the unit's base are the interpreter's: Add with one value hands over.
  VmJob job = job_of({Op::LoadInt(1), Op::Add(), Op::Nop()}, {}, GetParam());
  const VmExitState exit = compile_run(job);
  EXPECT_EQ(exit.reason, kExitLeft);
  EXPECT_EQ(exit.resume_ip, 1u);
  EXPECT_EQ(exit.depth, 1u);
  EXPECT_TRUE(interpreter_passes_through(job, exit));
}

TEST_P(VmUnitTier, EntryAtAnUnsupportedOpExitsImmediately) {
  VmJob job = job_of({Op::PushFrame(), Op::LoadInt(1)}, {}, GetParam());
  job.stack = {Value::Bool(true)};
  const VmExitState exit = compile_run(job);
  EXPECT_EQ(exit.reason, kExitLeft);
  EXPECT_EQ(exit.resume_ip, 0u);
  ASSERT_EQ(exit.depth, 1u);
  EXPECT_TRUE(same_value(exit.stack[0], abi(Value::Bool(true))));
}

TEST_P(VmUnitTier, ABranchWhoseTargetIsTheNextOpJoinsBothEdges) {
  // Both edges of the JumpIfTrue reach op 2 from the same block.
  for (const Value& cond : {Value::Bool(true), Value::Int(0)}) {
    VmJob job = job_of({Op::GetSlot(0), Op::JumpIfTrue(2), Op::LoadInt(5), Op::GetSlot(0), Op::JumpIfFalseKeep(5)},
                       {cond}, GetParam());
    const VmExitState exit = compile_run(job);
    EXPECT_EQ(exit.resume_ip, 5u);
    ASSERT_EQ(exit.depth, 2u);
    EXPECT_TRUE(interpreter_passes_through(job, exit)) << cond.repr();
  }
}

TEST_P(VmUnitTier, ASingleOpSelfLoopRunsToItsLimitAndPolls) {
  VmJob job = job_of({Op::SlotIncLtIntJumpBack(0, 1000, 0)}, {Value::Int(-3)}, GetParam());
  const VmExitState done = compile_run(job);
  EXPECT_EQ(done.reason, kExitLeft);
  EXPECT_EQ(done.resume_ip, 1u);
  EXPECT_TRUE(same_value(done.slots[0], abi(Value::Int(1000))));
  const VmExitState polled = compile_run(job, /*poll=*/true);
  EXPECT_EQ(polled.reason, kExitPoll);
  EXPECT_EQ(polled.resume_ip, 0u);
  EXPECT_TRUE(same_value(polled.slots[0], abi(Value::Int(-2))));
  EXPECT_TRUE(interpreter_passes_through(job, polled));
  // Entered with a Float, the first lap makes it Int: the backedge goes on in the
  // header's Int version, to the limit, or polls there.
  job.slots = {Value::Float(-2.5)};
  const VmExitState changed = compile_run(job, /*poll=*/false);
  EXPECT_EQ(changed.reason, kExitLeft);
  EXPECT_EQ(changed.resume_ip, 1u);
  EXPECT_TRUE(same_value(changed.slots[0], abi(Value::Int(1000))));
  const VmExitState changed_polled = compile_run(job, /*poll=*/true);
  EXPECT_EQ(changed_polled.reason, kExitPoll);
  EXPECT_EQ(changed_polled.resume_ip, 0u);
  EXPECT_TRUE(same_value(changed_polled.slots[0], abi(Value::Int(-1))));  // to_int(-2.5) + 1
  EXPECT_TRUE(interpreter_passes_through(job, changed_polled));
}

// -- Merges of different kinds --------------------------------------------------------------

// if (slot0) slot1 = 1 else slot1 = 2.5; then slot1 * 2. The then-branch reaches the
// join first (lowest ip first) and fixes slot1 as Int there; the else-branch's edge
// carries a Float, so it leaves the unit at the join.
TEST_P(VmUnitTier, AJoinReachedWithAnotherKindGetsItsOwnVersion) {
  // 0 GetSlot 0; 1 JumpIfFalse 5; 2 LoadInt 1; 3 SetSlot 1; 4 Jump 7; 5 LoadFloat 2.5;
  // 6 SetSlot 1; 7 GetSlot 1; 8 LoadInt 2; 9 Mul; 10 SetSlot 1
  std::vector<Op> ops = {Op::GetSlot(0), Op::JumpIfFalse(5), Op::LoadInt(1), Op::SetSlot(1), Op::Jump(7),
                         Op::LoadFloat(2.5), Op::SetSlot(1), Op::GetSlot(1), Op::LoadInt(2), Op::Mul(),
                         Op::SetSlot(1)};
  VmJob then_job = job_of(ops, {Value::Bool(true), Value()}, GetParam());
  const VmExitState then_exit = compile_run(then_job);
  EXPECT_EQ(then_exit.reason, kExitLeft);
  EXPECT_EQ(then_exit.resume_ip, 11u);
  EXPECT_TRUE(same_value(then_exit.slots[1], abi(Value::Int(2))));
  EXPECT_TRUE(interpreter_passes_through(then_job, then_exit));

  // The Float path reaches op 7 with other kinds: a second version of that block.
  VmJob else_job = job_of(ops, {Value::Bool(false), Value()}, GetParam());
  const VmExitState else_exit = compile_run(else_job);
  EXPECT_EQ(else_exit.reason, kExitLeft);
  EXPECT_EQ(else_exit.resume_ip, 11u);
  EXPECT_EQ(else_exit.depth, 0u);
  EXPECT_TRUE(same_value(else_exit.slots[1], abi(Value::Float(5.0))));
  EXPECT_TRUE(interpreter_passes_through(else_job, else_exit));
}

TEST_P(VmUnitTier, ALoopThatChangesASlotsKindRunsOnInASecondVersion) {
  // 0 GetSlot 0; 1 LoadFloat 0.5; 2 Add; 3 SetSlot 0; 4 SlotIncLtIntJumpBack(1, 10, 0):
  // the first lap turns slot 0 from Int to Float, and the header's Float version loops.
  VmJob job = job_of({Op::GetSlot(0), Op::LoadFloat(0.5), Op::Add(), Op::SetSlot(0),
                      Op::SlotIncLtIntJumpBack(1, 10, 0)},
                     {Value::Int(0), Value::Int(0)}, GetParam());
  const VmExitState done = compile_run(job);
  EXPECT_EQ(done.reason, kExitLeft);
  EXPECT_EQ(done.resume_ip, 5u);
  EXPECT_TRUE(same_value(done.slots[0], abi(Value::Float(5.0))));
  EXPECT_TRUE(same_value(done.slots[1], abi(Value::Int(10))));
  EXPECT_TRUE(interpreter_passes_through(job, done));
}

TEST_P(VmUnitTier, AHeaderReachedWithMoreKindStatesThanVersionsExits) {
  // Each lap rotates the kinds of slots 0..3 (Int, Float, Bool, Undef): the header sees
  // four states, and the fourth, beyond kMaxBlockVersions (3), leaves after three laps.
  VmJob job = job_of({Op::GetSlot(0), Op::GetSlot(1), Op::GetSlot(2), Op::GetSlot(3), Op::SetSlot(0),
                      Op::SetSlot(3), Op::SetSlot(2), Op::SetSlot(1), Op::SlotIncLtIntJumpBack(4, 100, 0)},
                     {Value::Int(1), Value::Float(2.5), Value::Bool(true), Value(), Value::Int(0)}, GetParam());
  const VmExitState exit = compile_run(job);
  EXPECT_EQ(exit.reason, kExitLeft);
  EXPECT_EQ(exit.resume_ip, 0u);
  EXPECT_TRUE(same_value(exit.slots[4], abi(Value::Int(3))));
  EXPECT_TRUE(same_value(exit.slots[0], abi(Value::Float(2.5))));
  EXPECT_TRUE(interpreter_passes_through(job, exit));
}

TEST_P(VmUnitTier, ALoopThatGrowsTheStackExitsAtItsHeader) {
  // 0 LoadInt 7; 1 SlotIncLtIntJumpBack(0, 5, 0): each lap leaves one more value.
  VmJob job = job_of({Op::LoadInt(7), Op::SlotIncLtIntJumpBack(0, 5, 0)}, {Value::Int(0)}, GetParam());
  const VmExitState exit = compile_run(job);
  EXPECT_EQ(exit.reason, kExitLeft);
  EXPECT_EQ(exit.resume_ip, 0u);
  EXPECT_EQ(exit.depth, 1u);
  EXPECT_TRUE(interpreter_passes_through(job, exit));
}

// -- Polls ----------------------------------------------------------------------------------

TEST_P(VmUnitTier, APendingPollExitsAtTheFirstBackedgeWithItsTarget) {
  // 0 LoadInt 0; 1 SetSlot 0; 2 PreIncSlotVoid 0; 3 GetSlot 0; 4 LoadInt 100; 5 NumLt;
  // 6 JumpIfTrue 2
  VmJob job = job_of({Op::LoadInt(0), Op::SetSlot(0), Op::PreIncSlotVoid(0), Op::GetSlot(0), Op::LoadInt(100),
                      Op::NumLt(), Op::JumpIfTrue(2)},
                     {Value()}, GetParam());
  const VmExitState polled = compile_run(job, /*poll=*/true);
  EXPECT_EQ(polled.reason, kExitPoll);
  EXPECT_EQ(polled.returned, kExitPoll);
  EXPECT_EQ(polled.resume_ip, 2u);
  EXPECT_EQ(polled.depth, 0u);
  EXPECT_TRUE(same_value(polled.slots[0], abi(Value::Int(1))));
  EXPECT_TRUE(interpreter_passes_through(job, polled));

  const VmExitState free_run = compile_run(job, /*poll=*/false);
  EXPECT_EQ(free_run.reason, kExitLeft);
  EXPECT_EQ(free_run.resume_ip, 7u);
  EXPECT_TRUE(same_value(free_run.slots[0], abi(Value::Int(100))));
}

TEST_P(VmUnitTier, AFusedBackedgePollsAfterItsIncrement) {
  VmJob job = job_of({Op::AddAssignSlotVoid(0, 1), Op::SlotIncLtIntJumpBack(1, 1000, 0)},
                     {Value::Int(0), Value::Int(0)}, GetParam());
  const VmExitState exit = compile_run(job, /*poll=*/true);
  EXPECT_EQ(exit.reason, kExitPoll);
  EXPECT_EQ(exit.resume_ip, 0u);
  EXPECT_TRUE(same_value(exit.slots[0], abi(Value::Int(0))));
  EXPECT_TRUE(same_value(exit.slots[1], abi(Value::Int(1))));
  EXPECT_TRUE(interpreter_passes_through(job, exit));
}

// The interpreter polls after every taken jump, forward ones included (ARCHITECTURE §9
// interrupt points); a unit that polled only at backedges let an interrupt through late.
TEST_P(VmUnitTier, TakenForwardJumpsPollAndUntakenOnesDoNot) {
  VmJob job = job_of({Op::LoadTrue(), Op::JumpIfTrue(3), Op::Nop(), Op::LoadInt(2)}, {}, GetParam());
  const VmExitState taken = compile_run(job, /*poll=*/true);
  EXPECT_EQ(taken.reason, kExitPoll);
  EXPECT_EQ(taken.resume_ip, 3u);
  EXPECT_EQ(taken.depth, 0u);
  EXPECT_TRUE(interpreter_passes_through(job, taken));
  const VmExitState free_run = compile_run(job, /*poll=*/false);
  EXPECT_EQ(free_run.reason, kExitLeft);
  EXPECT_EQ(free_run.resume_ip, 4u);

  job = job_of({Op::LoadFalse(), Op::JumpIfTrue(3), Op::Nop(), Op::LoadInt(2)}, {}, GetParam());
  const VmExitState untaken = compile_run(job, /*poll=*/true);
  EXPECT_EQ(untaken.reason, kExitLeft);
  EXPECT_EQ(untaken.resume_ip, 4u);
  EXPECT_EQ(untaken.depth, 1u);
}

// An endless loop: only the poll flag, set from another thread while it runs, ends it.
// A plain (non-atomic) load would be hoisted out of the loop and this would hang.
TEST_P(VmUnitTier, AnEndlessLoopStopsWhenAnotherThreadSetsThePollFlag) {
  VmJob job = job_of({Op::PreIncSlotVoid(0), Op::Jump(0)}, {Value::Int(0)}, GetParam());
  VmUnit unit = compile_vm(engine(), job);
  ASSERT_TRUE(unit.ok) << unit.reason;
  std::atomic<bool> flag{false};
  static_assert(sizeof(std::atomic<bool>) == 1);
  jit_abi::AbiValue slot = abi(Value::Int(0));
  jit_abi::VmUnitFrame frame{};
  frame.slots = &slot;
  frame.stack = nullptr;
  frame.poll = reinterpret_cast<const uint8_t*>(&flag);
  std::thread setter([&flag] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    flag.store(true, std::memory_order_relaxed);
  });
  const uint32_t why = reinterpret_cast<uint32_t (*)(jit_abi::VmUnitFrame*)>(unit.entry)(&frame);
  setter.join();
  EXPECT_EQ(why, kExitPoll);
  EXPECT_EQ(frame.resume_ip, 0u);
  EXPECT_EQ(slot.tag, kTagInt);
  EXPECT_GT(static_cast<int64_t>(slot.bits), 0);
}

// -- Entry stack and max_exit_stack ---------------------------------------------------------

TEST_P(VmUnitTier, EntryStackValuesAreOperandsAndAreStoredBackBitwise) {
  VmJob job = job_of({Op::Add(), Op::LoadUndef()}, {}, GetParam());
  job.stack = {Value::Bool(true), Value::Int(40), Value::Float(2.5)};
  VmUnit unit;
  const VmExitState exit = compile_run(job, false, &unit);
  EXPECT_EQ(exit.resume_ip, 2u);
  ASSERT_EQ(exit.depth, 3u);
  EXPECT_TRUE(same_value(exit.stack[0], abi(Value::Bool(true))));
  EXPECT_TRUE(same_value(exit.stack[1], abi(Value::Float(42.5))));
  EXPECT_TRUE(same_value(exit.stack[2], abi(Value())));
  EXPECT_EQ(unit.max_exit_stack, 3u);
  EXPECT_TRUE(interpreter_passes_through(job, exit));
}

TEST_P(VmUnitTier, MaxExitStackIsTheDeepestExit) {
  // The Div's deopt exit holds 3 values, the final exit 1.
  VmJob job = job_of({Op::LoadInt(1), Op::GetSlot(0), Op::GetSlot(1), Op::Div(), Op::Add()},
                     {Value::Int(1), Value::Int(2)}, GetParam());
  VmUnit unit = compile_vm(engine(), job);
  ASSERT_TRUE(unit.ok) << unit.reason;
  EXPECT_EQ(unit.max_exit_stack, 3u);
  // Only a final exit with an empty stack: 0.
  VmJob empty = job_of({Op::LoadInt(1), Op::SetSlot(0)}, {Value::Int(0)}, GetParam());
  VmUnit unit0 = compile_vm(engine(), empty);
  ASSERT_TRUE(unit0.ok) << unit0.reason;
  EXPECT_EQ(unit0.max_exit_stack, 0u);
  // The entry values count: two in, nothing pushed.
  VmJob entry = job_of({Op::Nop()}, {}, GetParam());
  entry.stack = {Value::Int(1), Value::Int(2)};
  VmUnit unit2 = compile_vm(engine(), entry);
  ASSERT_TRUE(unit2.ok) << unit2.reason;
  EXPECT_EQ(unit2.max_exit_stack, 2u);
}

// -- Slots the unit does not name -------------------------------------------------------------

TEST_P(VmUnitTier, SlotsTheUnitDoesNotNameAreNeitherReadNorWritten) {
  VmJob job = job_of({Op::GetSlot(1), Op::Inc(), Op::SetSlot(1)}, {Value::Int(5), Value::Int(6), Value::Int(7)},
                     GetParam());
  job.slot_tags = std::vector<uint8_t>{jit_abi::kTagUnused, kTagInt, jit_abi::kTagUnused};
  VmUnit unit = compile_vm(engine(), job);
  ASSERT_TRUE(unit.ok) << unit.reason;
  // The unnamed slots hold kinds no unit handles; their payloads and tags must survive.
  job.slots = {Value::Str("keep"), Value::Int(6), Value::Array({Value::Int(1)})};
  const jit_abi::AbiValue str = abi(job.slots[0]);
  const jit_abi::AbiValue array = abi(job.slots[2]);
  VmExitState exit = run_vm(unit, job);
  EXPECT_EQ(exit.slots[0].tag, str.tag);
  EXPECT_EQ(exit.slots[0].bits, str.bits);
  EXPECT_TRUE(same_value(exit.slots[1], abi(Value::Int(7))));
  EXPECT_EQ(exit.slots[2].tag, array.tag);
  EXPECT_EQ(exit.slots[2].bits, array.bits);
}

// -- The sum loop ---------------------------------------------------------------------------

TEST_P(VmUnitTier, UnfusedSumLoopToOneMillionGivesTheRightSum) {
  // 0 LoadInt 0; 1 SetSlot 0; 2 LoadInt 0; 3 SetSlot 1; 4 GetSlot 1; 5 LoadInt 1e6; 6 NumLt;
  // 7 JumpIfFalse 17; 8 GetSlot 0; 9 GetSlot 1; 10 Add; 11 SetSlot 0; 12 GetSlot 1;
  // 13 LoadInt 1; 14 Add; 15 SetSlot 1; 16 Jump 4; 17 GetSlot 0
  VmJob job = job_of({Op::LoadInt(0), Op::SetSlot(0), Op::LoadInt(0), Op::SetSlot(1), Op::GetSlot(1),
                      Op::LoadInt(1'000'000), Op::NumLt(), Op::JumpIfFalse(17), Op::GetSlot(0), Op::GetSlot(1),
                      Op::Add(), Op::SetSlot(0), Op::GetSlot(1), Op::LoadInt(1), Op::Add(), Op::SetSlot(1),
                      Op::Jump(4), Op::GetSlot(0)},
                     {Value(), Value()}, GetParam());
  const VmExitState exit = compile_run(job);
  EXPECT_EQ(exit.reason, kExitLeft);
  EXPECT_EQ(exit.resume_ip, 18u);
  ASSERT_EQ(exit.depth, 1u);
  EXPECT_TRUE(same_value(exit.stack[0], abi(Value::Int(499'999'500'000))));
  EXPECT_TRUE(same_value(exit.slots[1], abi(Value::Int(1'000'000))));
}

TEST_P(VmUnitTier, FusedSumLoopToOneMillionGivesTheRightSum) {
  VmJob job = job_of({Op::AddAssignSlotVoid(0, 1), Op::SlotIncLtIntJumpBack(1, 1'000'000, 0)},
                     {Value::Int(0), Value::Int(0)}, GetParam());
  const VmExitState exit = compile_run(job);
  EXPECT_EQ(exit.resume_ip, 2u);
  EXPECT_TRUE(same_value(exit.slots[0], abi(Value::Int(499'999'500'000))));
  EXPECT_TRUE(same_value(exit.slots[1], abi(Value::Int(1'000'000))));
}

TEST_P(VmUnitTier, FloatSumLoopKeepsItsAccumulatorFloat) {
  // sum = 0.0; for i in 0..1000: sum += i * 0.5
  VmJob job = job_of({Op::GetSlot(0), Op::GetSlot(1), Op::LoadFloat(0.5), Op::Mul(), Op::Add(), Op::SetSlot(0),
                      Op::SlotIncLtIntJumpBack(1, 1000, 0)},
                     {Value::Float(0.0), Value::Int(0)}, GetParam());
  const VmExitState exit = compile_run(job);
  EXPECT_EQ(exit.resume_ip, 7u);
  EXPECT_TRUE(same_value(exit.slots[0], abi(Value::Float(249750.0))));
  EXPECT_TRUE(interpreter_passes_through(job, exit));
}

// -- Dumps ----------------------------------------------------------------------------------

TEST_P(VmUnitTier, IrDumpShowsTheAtomicPollAndTheFrameFunction) {
  VmJob job = job_of({Op::AddAssignSlotVoid(0, 1), Op::SlotIncLtIntJumpBack(1, 100, 0)},
                     {Value::Int(0), Value::Int(0)}, GetParam());
  job.flags = jit_abi::kDumpIr;
  VmUnit unit = compile_vm(engine(), job);
  ASSERT_TRUE(unit.ok) << unit.reason;
  EXPECT_NE(unit.dump.find("define i32 @fusevm_vmtest_"), std::string::npos) << unit.dump;
  EXPECT_NE(unit.dump.find("load atomic i8"), std::string::npos) << unit.dump;
  EXPECT_NE(unit.dump.find("monotonic"), std::string::npos) << unit.dump;
}

TEST_P(VmUnitTier, AsmDumpHoldsTheFunctionAndItStillRuns) {
  VmJob job = job_of({Op::GetSlot(0), Op::LoadInt(1), Op::Add(), Op::SetSlot(0)}, {Value::Int(41)}, GetParam());
  job.flags = jit_abi::kDumpAsm | jit_abi::kDumpIr;
  VmUnit unit = compile_vm(engine(), job);
  ASSERT_TRUE(unit.ok) << unit.reason;
  EXPECT_NE(unit.dump.find("define i32"), std::string::npos) << unit.dump;
  EXPECT_NE(unit.dump.find("ret"), std::string::npos) << unit.dump;
  EXPECT_NE(unit.dump.find(".text"), std::string::npos) << unit.dump;
  const VmExitState exit = run_vm(unit, job);
  EXPECT_TRUE(same_value(exit.slots[0], abi(Value::Int(42))));
}

// The object cache stores VM units too: one reloaded into another engine behaves the same,
// helpers (pow, fmod) and the poll flag included.
TEST_P(VmUnitTier, AnObjectFileOfAVmUnitLoadsAndRunsInAnotherEngine) {
  // 0 GetSlot 0; 1 LoadFloat 1.5; 2 Pow; 3 LoadFloat 7.0; 4 Mod; 5 SetSlot 0;
  // 6 SlotIncLtIntJumpBack(1, 20, 0)
  VmJob job = job_of({Op::GetSlot(0), Op::LoadFloat(1.5), Op::Pow(), Op::LoadFloat(7.0), Op::Mod(), Op::SetSlot(0),
                      Op::SlotIncLtIntJumpBack(1, 20, 0)},
                     {Value::Float(1.1), Value::Int(0)}, GetParam());
  job.flags = jit_abi::kWantObject;
  VmUnit direct = compile_vm(engine(), job);
  ASSERT_TRUE(direct.ok) << direct.reason;
  ASSERT_FALSE(direct.object.empty());
  Engine other;
  jit_abi::UnitResult result{};
  ASSERT_EQ(api().load_object(other.handle(), direct.name.c_str(), direct.object.data(), direct.object.size(), &result),
            1)
      << result.reason;
  VmUnit loaded = direct;
  loaded.entry = result.entry;
  for (bool poll : {false, true}) {
    const VmExitState a = run_vm(direct, job, poll);
    const VmExitState b = run_vm(loaded, job, poll);
    EXPECT_EQ(a.reason, b.reason);
    EXPECT_EQ(a.resume_ip, b.resume_ip);
    ASSERT_EQ(a.slots.size(), b.slots.size());
    for (size_t k = 0; k < a.slots.size(); ++k) EXPECT_TRUE(same_value(a.slots[k], b.slots[k])) << k;
    EXPECT_TRUE(interpreter_passes_through(job, b)) << "poll " << poll;
  }
}

INSTANTIATE_TEST_SUITE_P(Tiers, VmUnitTier, ::testing::Values(jit_abi::kVmTierLinear, jit_abi::kVmTierBlock),
                         [](const ::testing::TestParamInfo<uint32_t>& info) {
                           return info.param == jit_abi::kVmTierLinear ? "Linear" : "Block";
                         });

// -- Malformed requests -----------------------------------------------------------------------

std::string failure(const VmJob& job) {
  VmUnit unit = compile_vm(engine(), job);
  EXPECT_FALSE(unit.ok);
  EXPECT_EQ(unit.entry, nullptr);
  return unit.reason;
}

VmJob valid_job() {
  return job_of({Op::GetSlot(0), Op::GetSlot(1), Op::Add(), Op::SetSlot(0)}, {Value::Int(1), Value::Int(2)},
                jit_abi::kVmTierBlock);
}

TEST(VmUnitRequest, AValidRequestCompiles) {
  VmUnit unit = compile_vm(engine(), valid_job());
  EXPECT_TRUE(unit.ok) << unit.reason;
  EXPECT_EQ(unit.reason, "");
}

TEST(VmUnitRequest, EntryOutsideTheRangeIsRefused) {
  VmJob job = valid_job();
  job.range_begin = 1;
  job.entry_ip = 0;
  EXPECT_NE(failure(job).find("entry_ip 0 is outside the range [1, 4)"), std::string::npos);
}

TEST(VmUnitRequest, ARangePastTheOpsIsRefused) {
  VmJob job = valid_job();
  job.range_end = 9;
  EXPECT_NE(failure(job).find("range [0, 9)"), std::string::npos);
}

TEST(VmUnitRequest, AnEmptyRangeIsRefused) {
  VmJob job = valid_job();
  job.range_begin = 2;
  job.range_end = 2;
  job.entry_ip = 2;
  EXPECT_NE(failure(job).find("not a non-empty part"), std::string::npos);
}

TEST(VmUnitRequest, ASlotIndexNotBelowNumSlotsIsRefused) {
  VmJob job = valid_job();
  job.num_slots = 1;
  EXPECT_NE(failure(job).find("GetSlot at op 1 names slot 1 but the unit has 1 slot(s)"), std::string::npos);
}

TEST(VmUnitRequest, ANamedSlotTaggedUnusedIsRefused) {
  VmJob job = valid_job();
  job.slot_tags = std::vector<uint8_t>{kTagInt, jit_abi::kTagUnused};
  EXPECT_NE(failure(job).find("slot 1 is named by the unit but tagged unused"), std::string::npos);
}

TEST(VmUnitRequest, ANamedSlotWithAHeapTagIsRefused) {
  VmJob job = valid_job();
  job.slot_tags = std::vector<uint8_t>{Value::kTagStr, kTagInt};
  EXPECT_NE(failure(job).find("slot 0 has tag 132, not a scalar kind"), std::string::npos);
}

TEST(VmUnitRequest, AnEntryStackValueWithAHeapTagIsRefused) {
  VmJob job = valid_job();
  job.stack = {Value::Int(1)};
  job.stack_tags = std::vector<uint8_t>{Value::kTagArray};
  EXPECT_NE(failure(job).find("entry stack value 0 has tag 133"), std::string::npos);
}

TEST(VmUnitRequest, MissingSlotTagsAreRefused) {
  VmJob job = valid_job();
  job.null_slot_tags = true;
  EXPECT_NE(failure(job).find("slot_tags is missing"), std::string::npos);
}

TEST(VmUnitRequest, AnUnknownTierIsRefused) {
  VmJob job = valid_job();
  job.tier = 7;
  EXPECT_NE(failure(job).find("unknown vm_tier 7"), std::string::npos);
}

TEST(VmUnitRequest, AnAbsurdEntryDepthIsRefused) {
  VmJob job = valid_job();
  job.stack.assign(5000, Value::Int(0));
  EXPECT_NE(failure(job).find("entry_depth 5000 exceeds"), std::string::npos);
}

}  // namespace
}  // namespace fusevm::jit_plugin_test
