// The linear tier through the plugin ABI: spec/jit.md §7.1 plus the fixed quirks of §2.7.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "plugin_harness.hpp"

namespace fusevm::jit_plugin_test {
namespace {

// -- spec/jit.md §7.1 (tests/jit_linear.rs) -----------------------------------------------

TEST(JitPluginLinear, AddSubMulOfIntsGiveInts) {
  EXPECT_EQ(linear_int({Op::LoadInt(40), Op::LoadInt(2), Op::Add()}), 42);
  EXPECT_EQ(linear_int({Op::LoadInt(50), Op::LoadInt(8), Op::Sub()}), 42);
  EXPECT_EQ(linear_int({Op::LoadInt(6), Op::LoadInt(7), Op::Mul()}), 42);
}

TEST(JitPluginLinear, NegateIncDecOfInts) {
  EXPECT_EQ(linear_int({Op::LoadInt(42), Op::Negate()}), -42);
  EXPECT_EQ(linear_int({Op::LoadInt(41), Op::Inc()}), 42);
  EXPECT_EQ(linear_int({Op::LoadInt(43), Op::Dec()}), 42);
}

TEST(JitPluginLinear, IntPowGivesInt1024) {
  EXPECT_EQ(linear_int({Op::LoadInt(2), Op::LoadInt(10), Op::Pow()}), 1024);
}

TEST(JitPluginLinear, FloatAddAndMixedPromotionGiveFloats) {
  EXPECT_EQ(linear_float({Op::LoadFloat(1.5), Op::LoadFloat(2.5), Op::Add()}), 4.0);
  EXPECT_EQ(linear_float({Op::LoadInt(1), Op::LoadFloat(2.5), Op::Add()}), 3.5);
}

TEST(JitPluginLinear, NestedArithmetic) {
  EXPECT_EQ(linear_int({Op::LoadInt(2), Op::LoadInt(3), Op::Add(), Op::LoadInt(4), Op::Mul()}), 20);
  EXPECT_EQ(linear_int({Op::LoadInt(10), Op::LoadInt(20), Op::Add(), Op::LoadInt(3), Op::Mul(),
                        Op::LoadInt(5), Op::Sub()}),
            85);
}

TEST(JitPluginLinear, ComparisonsGiveIntZeroOrOne) {
  EXPECT_EQ(linear_int({Op::LoadInt(1), Op::LoadInt(2), Op::NumLt()}), 1);
  EXPECT_EQ(linear_int({Op::LoadInt(2), Op::LoadInt(1), Op::NumLt()}), 0);
  EXPECT_EQ(linear_int({Op::LoadInt(5), Op::LoadInt(5), Op::NumEq()}), 1);
  EXPECT_EQ(linear_int({Op::LoadInt(5), Op::LoadInt(3), Op::NumGt()}), 1);
  EXPECT_EQ(linear_int({Op::LoadInt(5), Op::LoadInt(5), Op::NumLe()}), 1);
  EXPECT_EQ(linear_int({Op::LoadInt(5), Op::LoadInt(5), Op::NumGe()}), 1);
  EXPECT_EQ(linear_int({Op::LoadInt(5), Op::LoadInt(5), Op::NumNe()}), 0);
}

TEST(JitPluginLinear, SpaceshipGivesMinusOneZeroOne) {
  EXPECT_EQ(linear_int({Op::LoadInt(1), Op::LoadInt(2), Op::Spaceship()}), -1);
  EXPECT_EQ(linear_int({Op::LoadInt(2), Op::LoadInt(2), Op::Spaceship()}), 0);
  EXPECT_EQ(linear_int({Op::LoadInt(3), Op::LoadInt(2), Op::Spaceship()}), 1);
  EXPECT_EQ(linear_int({Op::LoadFloat(1.5), Op::LoadFloat(2.5), Op::Spaceship()}), -1);
}

TEST(JitPluginLinear, BitwiseOpsAndShifts) {
  EXPECT_EQ(linear_int({Op::LoadInt(0xFF), Op::LoadInt(0x0F), Op::BitAnd()}), 0x0F);
  EXPECT_EQ(linear_int({Op::LoadInt(0xF0), Op::LoadInt(0x0F), Op::BitOr()}), 0xFF);
  EXPECT_EQ(linear_int({Op::LoadInt(0xFF), Op::LoadInt(0xFF), Op::BitXor()}), 0);
  EXPECT_EQ(linear_int({Op::LoadInt(1), Op::LoadInt(8), Op::Shl()}), 256);
  EXPECT_EQ(linear_int({Op::LoadInt(256), Op::LoadInt(4), Op::Shr()}), 16);
  EXPECT_EQ(linear_int({Op::LoadInt(5), Op::BitNot()}), ~int64_t{5});
}

TEST(JitPluginLinear, DupSwapAndLogNot) {
  EXPECT_EQ(linear_int({Op::LoadInt(21), Op::Dup(), Op::Add()}), 42);
  EXPECT_EQ(linear_int({Op::LoadInt(10), Op::LoadInt(3), Op::Swap(), Op::Sub()}), -7);
  EXPECT_EQ(linear_int({Op::LoadInt(0), Op::LogNot()}), 1);
  EXPECT_EQ(linear_int({Op::LoadInt(42), Op::LogNot()}), 0);
}

TEST(JitPluginLinear, SlotsAreReadAndPreIncSlotWritesBack) {
  int64_t slots[2] = {100, 200};
  EXPECT_EQ(linear_int({Op::GetSlot(0), Op::GetSlot(1), Op::Add()}, slots), 300);
  int64_t one[1] = {41};
  EXPECT_EQ(linear_int({Op::PreIncSlot(0)}, one), 42);
  EXPECT_EQ(one[0], 42);
}

TEST(JitPluginLinear, LoadConstKeepsTheConstantsKind) {
  Engine engine;
  Job job;
  job.ops = {Op::LoadConst(0)};
  job.consts = {const_int(42)};
  Unit i = engine.compile(job);
  ASSERT_TRUE(i.ok) << i.reason;
  EXPECT_EQ(i.run_int(), 42);
  job.consts = {const_float(3.14)};
  job.result_is_float = true;
  Unit f = engine.compile(job);
  ASSERT_TRUE(f.ok) << f.reason;
  EXPECT_EQ(f.run_float(), 3.14);
}

TEST(JitPluginLinear, NonNumericOpsFailToCompileWithAReason) {
  Engine engine;
  Job concat;
  concat.ops = {Op::LoadInt(1), Op::LoadInt(2), Op::Concat()};
  Unit u = engine.compile(concat);
  EXPECT_FALSE(u.ok);
  EXPECT_EQ(u.entry, nullptr);
  EXPECT_NE(u.reason.find("Concat"), std::string::npos) << u.reason;
  Job exec;
  exec.ops = {Op::Exec(0)};
  Unit e = engine.compile(exec);
  EXPECT_FALSE(e.ok);
  EXPECT_NE(e.reason.find("Exec"), std::string::npos) << e.reason;
}

TEST(JitPluginLinear, CompiledFunctionGivesTheSameResultOnEveryCall) {
  Engine engine;
  Job job;
  job.ops = {Op::GetSlot(0), Op::LoadInt(2), Op::Mul()};
  Unit u = engine.compile(job);
  ASSERT_TRUE(u.ok) << u.reason;
  int64_t slots[1] = {21};
  EXPECT_EQ(u.run_int(slots), 42);
  EXPECT_EQ(u.run_int(slots), 42);
  slots[0] = 5;
  EXPECT_EQ(u.run_int(slots), 10);  // slot values are read at run time, not baked in
}

TEST(JitPluginLinear, LoadTrueAndLoadFalseGiveIntOneAndZero) {
  EXPECT_EQ(linear_int({Op::LoadTrue()}), 1);
  EXPECT_EQ(linear_int({Op::LoadFalse()}), 0);
}

TEST(JitPluginLinear, FloatNegateAndIntMod) {
  EXPECT_EQ(linear_float({Op::LoadFloat(3.14), Op::Negate()}), -3.14);
  EXPECT_EQ(linear_int({Op::LoadInt(17), Op::LoadInt(5), Op::Mod()}), 2);
  EXPECT_EQ(linear_int({Op::LoadInt(-17), Op::LoadInt(5), Op::Mod()}), -2);  // sign of the dividend
}

// -- Typing beyond §7.1 (spec/jit.md §2.3-2.4, §2.7) ------------------------------------

TEST(JitPluginLinear, IntegralLoadFloatStaysFloat) {
  // Quirk Q-L1 fixed: 2.0 is a Float, so Float / Int divides as floats.
  EXPECT_EQ(linear_float({Op::LoadFloat(2.0)}), 2.0);
  EXPECT_EQ(linear_float({Op::LoadFloat(3.0), Op::LoadInt(2), Op::Div()}), 1.5);
}

TEST(JitPluginLinear, ExactConstantIntDivisionGivesInt) {
  EXPECT_EQ(linear_int({Op::LoadInt(10), Op::LoadInt(2), Op::Div()}), 5);
  EXPECT_EQ(linear_int({Op::LoadInt(-12), Op::LoadInt(4), Op::Div()}), -3);
}

TEST(JitPluginLinear, FloatDivModAndPowUseIeeeAndC) {
  EXPECT_EQ(linear_float({Op::LoadFloat(1.0), Op::LoadInt(0), Op::Div()}),
            std::numeric_limits<double>::infinity());
  EXPECT_EQ(linear_float({Op::LoadFloat(7.5), Op::LoadInt(2), Op::Mod()}), 1.5);
  EXPECT_EQ(linear_float({Op::LoadFloat(-7.5), Op::LoadInt(2), Op::Mod()}), -1.5);
  EXPECT_EQ(linear_float({Op::LoadInt(2), Op::LoadFloat(0.5), Op::Pow()}), std::sqrt(2.0));
  EXPECT_EQ(linear_float({Op::LoadInt(2), Op::LoadFloat(-1.0), Op::Pow()}), 0.5);
}

TEST(JitPluginLinear, SwapAndRotAcceptMixedIntAndFloat) {
  // Quirk Q-L4 fixed.
  EXPECT_EQ(linear_float({Op::LoadInt(10), Op::LoadFloat(0.5), Op::Swap(), Op::Sub()}), -9.5);
  // [1 10.0 100] Rot -> [10.0 100 1]; 100 - 1 = 99; 10.0 - 99 = -89.0
  EXPECT_EQ(linear_float({Op::LoadInt(1), Op::LoadFloat(10.0), Op::LoadInt(100), Op::Rot(), Op::Sub(),
                          Op::Sub()}),
            -89.0);
}

TEST(JitPluginLinear, IncAndDecOfFloatTruncateWithSaturationToInt) {
  EXPECT_EQ(linear_int({Op::LoadFloat(2.7), Op::Inc()}), 3);
  EXPECT_EQ(linear_int({Op::LoadFloat(-2.7), Op::Dec()}), -3);
  EXPECT_EQ(linear_int({Op::LoadFloat(std::nan("")), Op::Inc()}), 1);  // NaN -> 0
  // +inf saturates to MAX, and MAX + 1 wraps to MIN.
  EXPECT_EQ(linear_int({Op::LoadFloat(std::numeric_limits<double>::infinity()), Op::Inc()}),
            std::numeric_limits<int64_t>::min());
}

TEST(JitPluginLinear, SetSlotOfAFloatStoresItsSaturatedTruncation) {
  int64_t slots[1] = {7};
  EXPECT_EQ(linear_int({Op::LoadFloat(-3.9), Op::SetSlot(0), Op::GetSlot(0)}, slots), -3);
  EXPECT_EQ(slots[0], -3);
  EXPECT_EQ(linear_int({Op::LoadFloat(1e300), Op::SetSlot(0), Op::LoadInt(0)}, slots), 0);
  EXPECT_EQ(slots[0], std::numeric_limits<int64_t>::max());
  EXPECT_EQ(linear_int({Op::LoadFloat(-1e300), Op::SetSlot(0), Op::LoadInt(0)}, slots), 0);
  EXPECT_EQ(slots[0], std::numeric_limits<int64_t>::min());
  EXPECT_EQ(linear_int({Op::LoadFloat(std::nan("")), Op::SetSlot(0), Op::LoadInt(0)}, slots), 0);
  EXPECT_EQ(slots[0], 0);
}

TEST(JitPluginLinear, FloatComparisonsFollowNanRules) {
  const double nan = std::nan("");
  EXPECT_EQ(linear_int({Op::LoadFloat(nan), Op::LoadFloat(nan), Op::NumEq()}), 0);
  EXPECT_EQ(linear_int({Op::LoadFloat(nan), Op::LoadFloat(nan), Op::NumNe()}), 1);  // une
  EXPECT_EQ(linear_int({Op::LoadFloat(nan), Op::LoadInt(1), Op::NumLt()}), 0);
  EXPECT_EQ(linear_int({Op::LoadFloat(nan), Op::LoadInt(1), Op::Spaceship()}), 0);
  EXPECT_EQ(linear_int({Op::LoadInt(1), Op::LoadFloat(1.0), Op::NumEq()}), 1);
}

TEST(JitPluginLinear, FloatLogNotCountsNanAsFalsyLikeTheReference) {
  EXPECT_EQ(linear_int({Op::LoadFloat(0.0), Op::LogNot()}), 1);
  EXPECT_EQ(linear_int({Op::LoadFloat(-0.0), Op::LogNot()}), 1);
  EXPECT_EQ(linear_int({Op::LoadFloat(2.5), Op::LogNot()}), 0);
  EXPECT_EQ(linear_int({Op::LoadFloat(std::nan("")), Op::LogNot()}), 1);
}

TEST(JitPluginLinear, IntOverflowWraps) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(linear_int({Op::LoadInt(kMax), Op::Inc()}), kMin);
  EXPECT_EQ(linear_int({Op::LoadInt(kMin), Op::Dec()}), kMax);
  EXPECT_EQ(linear_int({Op::LoadInt(kMin), Op::Negate()}), kMin);
  EXPECT_EQ(linear_int({Op::LoadInt(kMax), Op::LoadInt(2), Op::Mul()}), -2);
  int64_t slots[2] = {kMax, 1};
  EXPECT_EQ(linear_int({Op::AddAssignSlotVoid(0, 1), Op::GetSlot(0)}, slots), kMin);
}

TEST(JitPluginLinear, MismatchedResultTypeIsConvertedDefensively) {
  // The core's validation decides the result type; an Int value asked for as Float is
  // converted rather than misread.
  EXPECT_EQ(linear_float({Op::LoadInt(7)}), 7.0);
  EXPECT_EQ(linear_int({Op::LoadFloat(7.9)}), 7);
}

// -- Units the linear tier must refuse ------------------------------------------------------

Unit compile_linear(const std::vector<Op>& ops, int64_t num_slots = -1) {
  static Engine* engine = new Engine;  // shared by the refusal tests, never destroyed mid-run
  Job job;
  job.ops = ops;
  job.num_slots = num_slots;
  return engine->compile(job);
}

TEST(JitPluginLinear, FusedLoopOpsAndJumpsAreRefused) {
  Unit loop = compile_linear({Op::AccumSumLoop(0, 1, 10), Op::LoadInt(1)});
  EXPECT_FALSE(loop.ok);
  EXPECT_NE(loop.reason.find("AccumSumLoop"), std::string::npos) << loop.reason;
  Unit jump = compile_linear({Op::LoadInt(1), Op::Jump(2)});
  EXPECT_FALSE(jump.ok);
  EXPECT_NE(jump.reason.find("Jump"), std::string::npos) << jump.reason;
}

TEST(JitPluginLinear, StackUnderflowAndWrongFinalDepthAreRefused) {
  Unit under = compile_linear({Op::LoadInt(1), Op::Add()});
  EXPECT_FALSE(under.ok);
  EXPECT_NE(under.reason.find("underflow"), std::string::npos) << under.reason;
  Unit two = compile_linear({Op::LoadInt(1), Op::LoadInt(2)});
  EXPECT_FALSE(two.ok);
  EXPECT_NE(two.reason.find("exactly one"), std::string::npos) << two.reason;
  Unit empty = compile_linear({});
  EXPECT_FALSE(empty.ok);
}

TEST(JitPluginLinear, SlotBeyondNumSlotsIsRefused) {
  Unit u = compile_linear({Op::GetSlot(3)}, /*num_slots=*/2);
  EXPECT_FALSE(u.ok);
  EXPECT_NE(u.reason.find("slot 3"), std::string::npos) << u.reason;
}

TEST(JitPluginLinear, BitwiseOnAFloatIsRefused) {
  Unit u = compile_linear({Op::LoadFloat(1.5), Op::LoadInt(1), Op::BitAnd()});
  EXPECT_FALSE(u.ok);
  EXPECT_NE(u.reason.find("Float"), std::string::npos) << u.reason;
}

TEST(JitPluginLinear, LoadConstOfANonNumberOrOutOfRangeIsRefused) {
  Engine engine;
  Job job;
  job.ops = {Op::LoadConst(1)};
  job.consts = {const_int(1)};
  EXPECT_FALSE(engine.compile(job).ok);
  jit_abi::AbiConst other{};
  other.kind = jit_abi::kConstOther;
  job.ops = {Op::LoadConst(0)};
  job.consts = {other};
  Unit u = engine.compile(job);
  EXPECT_FALSE(u.ok);
  EXPECT_NE(u.reason.find("not an Int or a Float"), std::string::npos) << u.reason;
}

}  // namespace
}  // namespace fusevm::jit_plugin_test
