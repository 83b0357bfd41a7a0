// Inputs where a direct LLVM port would hit undefined behaviour (spec/jit.md §6, LLVM hazards).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "plugin_harness.hpp"

namespace fusevm::jit_plugin_test {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// A block unit computing slot0 OP slot1 after first writing 5 to slot 2, so a bail-out can
// be told apart from a normal return by slot 2 (written back only at the normal return).
struct BinaryBlock {
  Engine engine;
  Unit unit;
  explicit BinaryBlock(Op op) {
    Job job;
    job.kind = jit_abi::kUnitBlock;
    job.ops = {Op::LoadInt(5), Op::SetSlot(2), Op::GetSlot(0), Op::GetSlot(1), op};
    unit = engine.compile(job);
    EXPECT_TRUE(unit.ok) << unit.reason;
  }
  // Runs with (x, y); returns the result and reports whether it bailed.
  int64_t run(int64_t x, int64_t y, bool* bailed) {
    slots = {x, y, 0};
    int32_t flag = 0;
    int64_t r = unit.run_block(slots.data(), &flag);
    *bailed = flag != 0;
    return r;
  }
  std::vector<int64_t> slots;
};

TEST(JitPluginNoUb, BlockIntDivByZeroBailsWithoutWritingSlots) {
  BinaryBlock div(Op::Div());
  bool bailed = false;
  EXPECT_EQ(div.run(7, 0, &bailed), 0);
  EXPECT_TRUE(bailed);
  EXPECT_EQ(div.slots[2], 0);  // SetSlot(2) before the Div was not written back
  EXPECT_EQ(div.run(7, 2, &bailed), 3);
  EXPECT_FALSE(bailed);
  EXPECT_EQ(div.slots[2], 5);
}

TEST(JitPluginNoUb, BlockMinDividedByMinusOneBails) {
  BinaryBlock div(Op::Div());
  bool bailed = false;
  EXPECT_EQ(div.run(kMin, -1, &bailed), 0);
  EXPECT_TRUE(bailed);
  EXPECT_EQ(div.run(kMax, -1, &bailed), -kMax);  // only MIN / -1 overflows
  EXPECT_FALSE(bailed);
}

TEST(JitPluginNoUb, BlockIntModByZeroBailsAndMinModMinusOneIsZero) {
  BinaryBlock mod(Op::Mod());
  bool bailed = false;
  EXPECT_EQ(mod.run(42, 0, &bailed), 0);
  EXPECT_TRUE(bailed);
  EXPECT_EQ(mod.run(kMin, -1, &bailed), 0);
  EXPECT_FALSE(bailed);
  EXPECT_EQ(mod.run(17, 5, &bailed), 2);
  EXPECT_FALSE(bailed);
}

TEST(JitPluginNoUb, LinearIntDivisionIsTotal) {
  // The core admits only exact constant division here; the code is total anyway.
  EXPECT_EQ(linear_int({Op::LoadInt(kMin), Op::LoadInt(-1), Op::Div()}), kMin);  // wraps
  EXPECT_EQ(linear_int({Op::LoadInt(7), Op::LoadInt(0), Op::Div()}), 0);
  EXPECT_EQ(linear_int({Op::LoadInt(42), Op::LoadInt(0), Op::Mod()}), 0);  // as the interpreter
  EXPECT_EQ(linear_int({Op::LoadInt(kMin), Op::LoadInt(-1), Op::Mod()}), 0);
  int64_t slots[2] = {kMin, -1};
  EXPECT_EQ(linear_int({Op::GetSlot(0), Op::GetSlot(1), Op::Div()}, slots), kMin);
  slots[1] = 0;
  EXPECT_EQ(linear_int({Op::GetSlot(0), Op::GetSlot(1), Op::Mod()}, slots), 0);
}

TEST(JitPluginNoUb, NanToIntIsZeroEverywhere) {
  const double nan = std::nan("");
  EXPECT_EQ(linear_int({Op::LoadFloat(nan)}), 0);
  std::vector<int64_t> slots(4, 9);
  EXPECT_EQ(block_run({Op::LoadFloat(nan), Op::SetSlot(0), Op::GetSlot(0)}, slots), 0);
  EXPECT_EQ(block_run({Op::LoadFloat(nan), Op::Dec()}, slots), -1);
}

TEST(JitPluginNoUb, ShiftCountsAreMaskedWith63) {
  int64_t slots[2] = {1, 64};
  EXPECT_EQ(linear_int({Op::GetSlot(0), Op::GetSlot(1), Op::Shl()}, slots), 1);
  slots[0] = -256;
  slots[1] = 68;
  EXPECT_EQ(linear_int({Op::GetSlot(0), Op::GetSlot(1), Op::Shr()}, slots), -16);  // arithmetic
  EXPECT_EQ(linear_int({Op::LoadInt(1), Op::LoadInt(-1), Op::Shl()}), kMin);      // -1 & 63 == 63
  std::vector<int64_t> block_slots = {3, 65, 0, 0};
  EXPECT_EQ(block_run({Op::GetSlot(0), Op::GetSlot(1), Op::Shl()}, block_slots), 6);
}

TEST(JitPluginNoUb, IntPowOutsideZeroTo63GivesZero) {
  EXPECT_EQ(linear_int({Op::LoadInt(2), Op::LoadInt(64), Op::Pow()}), 0);
  EXPECT_EQ(linear_int({Op::LoadInt(2), Op::LoadInt(-1), Op::Pow()}), 0);
  EXPECT_EQ(linear_int({Op::LoadInt(2), Op::LoadInt(63), Op::Pow()}), kMin);  // wraps
  EXPECT_EQ(linear_int({Op::LoadInt(3), Op::LoadInt(0), Op::Pow()}), 1);
  // 3^41 mod 2^64, read as signed
  EXPECT_EQ(linear_int({Op::LoadInt(3), Op::LoadInt(41), Op::Pow()}), -420491770248316829);
  std::vector<int64_t> slots = {2, 64, 0, 0};
  EXPECT_EQ(block_run({Op::GetSlot(0), Op::GetSlot(1), Op::Pow()}, slots), 0);
}

TEST(JitPluginNoUb, FloatToIntSaturatesAtBothEnds) {
  EXPECT_EQ(linear_int({Op::LoadFloat(1e19)}), kMax);
  EXPECT_EQ(linear_int({Op::LoadFloat(-1e19)}), kMin);
  EXPECT_EQ(linear_int({Op::LoadFloat(-std::numeric_limits<double>::infinity())}), kMin);
}

}  // namespace
}  // namespace fusevm::jit_plugin_test
