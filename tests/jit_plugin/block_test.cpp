// The block tier through the plugin ABI: spec/jit.md §7.2 plus the CFG rules of §3.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "plugin_harness.hpp"

namespace fusevm::jit_plugin_test {
namespace {

// sum = 0; i = 0; while (i < limit) { sum = sum + i; ++i }; sum — with unfused ops.
std::vector<Op> unfused_sum_loop(int32_t limit) {
  return {
      Op::SlotLtIntJumpIfFalse(1, limit, 7),  // 0
      Op::GetSlot(0),                         // 1
      Op::GetSlot(1),                         // 2
      Op::Add(),                              // 3
      Op::SetSlot(0),                         // 4
      Op::PreIncSlotVoid(1),                  // 5
      Op::Jump(0),                            // 6
      Op::GetSlot(0),                         // 7
  };
}

// if (cond) slot0 = 42 else slot0 = 99; slot0
std::vector<Op> if_else(int64_t cond) {
  return {
      Op::LoadInt(cond),   // 0
      Op::JumpIfFalse(5),  // 1
      Op::LoadInt(42),     // 2
      Op::SetSlot(0),      // 3
      Op::Jump(7),         // 4
      Op::LoadInt(99),     // 5
      Op::SetSlot(0),      // 6
      Op::GetSlot(0),      // 7
  };
}

Unit compile_block(const std::vector<Op>& ops, uint32_t num_slots = 4) {
  static Engine* engine = new Engine;  // shared by the refusal tests, never destroyed mid-run
  Job job;
  job.kind = jit_abi::kUnitBlock;
  job.ops = ops;
  job.num_slots = num_slots;
  return engine->compile(job);
}

// -- spec/jit.md §7.2 (tests/jit_block.rs) -----------------------------------------------------

TEST(JitPluginBlock, UnfusedSumLoopTo100Gives4950) {
  std::vector<int64_t> slots(4, 0);
  EXPECT_EQ(block_run(unfused_sum_loop(100), slots), 4950);
  EXPECT_EQ(slots[0], 4950);
  EXPECT_EQ(slots[1], 100);
}

TEST(JitPluginBlock, AccumSumLoopTo1000Gives499500) {
  std::vector<int64_t> slots(4, 0);
  EXPECT_EQ(block_run({Op::AccumSumLoop(0, 1, 1000), Op::GetSlot(0)}, slots), 499500);
}

TEST(JitPluginBlock, IfElseTakesTheThenBranchOnTrue) {
  std::vector<int64_t> slots(4, 0);
  EXPECT_EQ(block_run(if_else(1), slots), 42);
}

TEST(JitPluginBlock, IfElseTakesTheElseBranchOnFalse) {
  std::vector<int64_t> slots(4, 0);
  EXPECT_EQ(block_run(if_else(0), slots), 99);
}

TEST(JitPluginBlock, FusedBackedgeLoopGives1225) {
  std::vector<int64_t> slots(4, 0);
  std::vector<Op> ops = {
      Op::LoadInt(0), Op::SetSlot(0), Op::LoadInt(0), Op::SetSlot(1), Op::Nop(),
      Op::AddAssignSlotVoid(0, 1),             // 5
      Op::SlotIncLtIntJumpBack(1, 50, 5),      // 6
      Op::GetSlot(0),                          // 7
  };
  EXPECT_EQ(block_run(ops, slots), 1225);
}

TEST(JitPluginBlock, PrintIsRefusedWithAReason) {
  Unit u = compile_block({Op::LoadInt(1), Op::Print(1), Op::LoadInt(2)});
  EXPECT_FALSE(u.ok);
  EXPECT_NE(u.reason.find("Print"), std::string::npos) << u.reason;
}

TEST(JitPluginBlock, ExtractedRegionWithFramesCompilesTo4950) {
  // The region find_jit_region picks from [PushFrame, init, AccumSumLoop, GetSlot, Print, ...].
  std::vector<int64_t> slots(4, 0);
  std::vector<Op> region = {
      Op::PushFrame(), Op::LoadInt(0), Op::SetSlot(0), Op::LoadInt(0), Op::SetSlot(1),
      Op::AccumSumLoop(0, 1, 100), Op::GetSlot(0),
  };
  EXPECT_EQ(block_run(region, slots), 4950);
}

TEST(JitPluginBlock, RebasedRegionBranchGives42) {
  // A region cut out at ip 3: its JumpIfFalse(7) became JumpIfFalse(4).
  std::vector<int64_t> slots(4, 0);
  std::vector<Op> region = {Op::LoadTrue(), Op::JumpIfFalse(4), Op::LoadInt(42), Op::SetSlot(0),
                            Op::GetSlot(0)};
  EXPECT_EQ(block_run(region, slots), 42);
}

TEST(JitPluginBlock, SlotsAreWrittenBackAtReturn) {
  std::vector<int64_t> slots(4, 0);
  block_run({Op::AccumSumLoop(0, 1, 10)}, slots);
  EXPECT_EQ(slots[0], 45);
  EXPECT_EQ(slots[1], 10);
}

// -- CFG, values and results (spec/jit.md §3.2-3.5) -----------------------------------------

TEST(JitPluginBlock, EmptyStackAtTheEndReturnsZero) {
  std::vector<int64_t> slots(4, 0);
  EXPECT_EQ(block_run({Op::LoadInt(5), Op::SetSlot(2)}, slots), 0);
  EXPECT_EQ(slots[2], 5);
}

TEST(JitPluginBlock, JumpToTheEndReturnsZeroAfterWritingSlots) {
  std::vector<int64_t> slots(4, 0);
  EXPECT_EQ(block_run({Op::LoadInt(5), Op::SetSlot(0), Op::Jump(3)}, slots), 0);
  EXPECT_EQ(slots[0], 5);
}

TEST(JitPluginBlock, FloatResultIsTruncatedWithSaturation) {
  std::vector<int64_t> slots(4, 0);
  EXPECT_EQ(block_run({Op::LoadFloat(2.9)}, slots), 2);
  EXPECT_EQ(block_run({Op::LoadFloat(-2.9)}, slots), -2);
  EXPECT_EQ(block_run({Op::LoadFloat(std::nan(""))}, slots), 0);
  EXPECT_EQ(block_run({Op::LoadFloat(std::numeric_limits<double>::infinity())}, slots),
            std::numeric_limits<int64_t>::max());
}

TEST(JitPluginBlock, ValueLeftAtAJumpIsDropped) {
  std::vector<int64_t> slots(4, 0);
  // 7 stays on the stack when block 0 jumps; block 2 starts empty and pushes 3.
  EXPECT_EQ(block_run({Op::LoadInt(7), Op::Jump(2), Op::LoadInt(3)}, slots), 3);
}

// 1 if `branch` on `x` falls through, 0 if it jumps (slot 0 records the fall-through).
int64_t falls_through(double x, Op branch) {
  std::vector<int64_t> slots(4, 0);
  return block_run({Op::LoadFloat(x), branch, Op::LoadInt(1), Op::SetSlot(0), Op::GetSlot(0)}, slots);
}

TEST(JitPluginBlock, FloatBranchTruthinessCountsNanAsTrue) {
  // The interpreter's rule (une 0.0), not the reference's `one`: NaN is truthy.
  EXPECT_EQ(falls_through(std::nan(""), Op::JumpIfFalse(4)), 1);
  EXPECT_EQ(falls_through(std::nan(""), Op::JumpIfTrue(4)), 0);
  EXPECT_EQ(falls_through(-0.0, Op::JumpIfTrue(4)), 1);  // -0.0 is falsy
  EXPECT_EQ(falls_through(0.5, Op::JumpIfTrue(4)), 0);
  EXPECT_EQ(falls_through(0.0, Op::JumpIfFalse(4)), 0);
}

TEST(JitPluginBlock, FloatLogNotCountsNanAsTruthy) {
  std::vector<int64_t> slots(4, 0);
  EXPECT_EQ(block_run({Op::LoadFloat(std::nan("")), Op::LogNot()}, slots), 0);
  EXPECT_EQ(block_run({Op::LoadFloat(0.0), Op::LogNot()}, slots), 1);
}

TEST(JitPluginBlock, AccumSumLoopOnOneSlotEndsWithTheCounter) {
  // sum and i read once and written sum-then-i, as the interpreter does: the slot ends as i.
  std::vector<int64_t> slots(4, 0);
  EXPECT_EQ(block_run({Op::AccumSumLoop(0, 0, 5), Op::GetSlot(0)}, slots), 5);
}

TEST(JitPluginBlock, AccumSumLoopStartsFromTheSlotsValues) {
  std::vector<int64_t> slots = {100, 95, 0, 0};
  EXPECT_EQ(block_run({Op::AccumSumLoop(0, 1, 100), Op::GetSlot(0)}, slots),
            100 + 95 + 96 + 97 + 98 + 99);
  EXPECT_EQ(slots[1], 100);
  std::vector<int64_t> past = {7, 200, 0, 0};  // i already past the limit: nothing runs
  EXPECT_EQ(block_run({Op::AccumSumLoop(0, 1, 100), Op::GetSlot(0)}, past), 7);
  EXPECT_EQ(past[1], 200);
}

TEST(JitPluginBlock, NegativeLimitIsSignExtended) {
  std::vector<int64_t> slots = {0, -5, 0, 0};
  EXPECT_EQ(block_run({Op::AccumSumLoop(0, 1, -2), Op::GetSlot(0)}, slots), -5 + -4 + -3);
}

TEST(JitPluginBlock, CountedLoopOfAMillionRuns) {
  std::vector<int64_t> slots(4, 0);
  std::vector<Op> ops = {Op::PreIncSlotVoid(0), Op::SlotLtIntJumpIfFalse(0, 1000000, 3), Op::Jump(0),
                         Op::GetSlot(0)};
  EXPECT_EQ(block_run(ops, slots), 1000000);
}

TEST(JitPluginBlock, FramesAndNopsEmitNothing) {
  std::vector<int64_t> slots(4, 0);
  EXPECT_EQ(block_run({Op::PushFrame(), Op::Nop(), Op::LoadInt(9), Op::PopFrame()}, slots), 9);
}

TEST(JitPluginBlock, IntDivTruncatesAndModTakesTheDividendsSign) {
  std::vector<int64_t> slots = {-7, 2, 0, 0};
  EXPECT_EQ(block_run({Op::GetSlot(0), Op::GetSlot(1), Op::Div()}, slots), -3);
  EXPECT_EQ(block_run({Op::GetSlot(0), Op::GetSlot(1), Op::Mod()}, slots), -1);
}

// -- Units the block tier must refuse -----------------------------------------------------

TEST(JitPluginBlock, PopFromAnEmptyBlockStackFailsTheCompile) {
  // 7 is pushed in block 0, but block 4 starts with an empty stack: SetSlot underflows.
  Unit u =
      compile_block({Op::LoadInt(7), Op::LoadInt(1), Op::JumpIfFalse(4), Op::Nop(), Op::SetSlot(0)});
  EXPECT_FALSE(u.ok);
  EXPECT_EQ(u.entry, nullptr);
  EXPECT_NE(u.reason.find("stack underflow at op 4"), std::string::npos) << u.reason;
}

TEST(JitPluginBlock, ConditionalBranchAtTheLastOpFailsTheCompile) {
  Unit u = compile_block({Op::LoadInt(1), Op::JumpIfTrue(0)});
  EXPECT_FALSE(u.ok);
  EXPECT_NE(u.reason.find("last op"), std::string::npos) << u.reason;
  EXPECT_FALSE(compile_block({Op::SlotIncLtIntJumpBack(0, 10, 0)}).ok);
  EXPECT_FALSE(compile_block({Op::SlotLtIntJumpIfFalse(0, 10, 0)}).ok);
}

TEST(JitPluginBlock, JumpBeyondTheEndFailsTheCompile) {
  Unit u = compile_block({Op::LoadInt(1), Op::Jump(5)});
  EXPECT_FALSE(u.ok);
  EXPECT_NE(u.reason.find("beyond"), std::string::npos) << u.reason;
}

TEST(JitPluginBlock, KeepBranchesAreNotBlockOps) {
  Unit u = compile_block({Op::LoadInt(1), Op::JumpIfTrueKeep(3), Op::LoadInt(2), Op::Pop()});
  EXPECT_FALSE(u.ok);
  EXPECT_NE(u.reason.find("JumpIfTrueKeep"), std::string::npos) << u.reason;
}

TEST(JitPluginBlock, SlotBeyondNumSlotsFailsTheCompile) {
  Unit u = compile_block({Op::AccumSumLoop(0, 9, 10)}, /*num_slots=*/4);
  EXPECT_FALSE(u.ok);
  EXPECT_NE(u.reason.find("slot 9"), std::string::npos) << u.reason;
}

TEST(JitPluginBlock, EmptyUnitFailsTheCompile) { EXPECT_FALSE(compile_block({}).ok); }

}  // namespace
}  // namespace fusevm::jit_plugin_test
