// The block tier through JitCompiler (spec/jit.md §3, §7.2, §7.4): the reference's 10
// tests, warm-up and the shared counter, cached failures, bail-outs that leave slots
// untouched, bounds checks, and find_jit_region / extract_region.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "jit_test_util.hpp"

namespace {

using namespace fusevm_test;

using JitBlock = JitRequired;     // compiles: needs the plugin
using JitBlockCheck = JitFixture;  // eligibility and regions: runs without the plugin
using Region = std::optional<std::pair<size_t, size_t>>;

// sum = 0; i = 0; while (i < 100) { sum = sum + i; ++i }; sum  (unfused, spec §7.2)
Chunk unfused_sum_loop(int32_t limit = 100) {
  return chunk_of({
      Op::LoadInt(0), Op::SetSlot(0), Op::LoadInt(0), Op::SetSlot(1),  // 0-3
      Op::SlotLtIntJumpIfFalse(1, limit, 11),                           // 4
      Op::GetSlot(0), Op::GetSlot(1), Op::Add(), Op::SetSlot(0),        // 5-8
      Op::PreIncSlotVoid(1), Op::Jump(4),                               // 9-10
      Op::GetSlot(0),                                                   // 11
  });
}

// if (cond) slot0 = 42 else slot0 = 99; slot0
Chunk if_else(int64_t cond) {
  return chunk_of({
      Op::LoadInt(cond), Op::JumpIfFalse(5),           // 0-1
      Op::LoadInt(42), Op::SetSlot(0), Op::Jump(7),    // 2-4
      Op::LoadInt(99), Op::SetSlot(0),                 // 5-6
      Op::GetSlot(0),                                  // 7
  });
}

// The reference's region test chunk: an eligible prefix, then Print.
Chunk region_chunk() {
  return chunk_of({
      Op::PushFrame(), Op::LoadInt(0), Op::SetSlot(0), Op::LoadInt(0), Op::SetSlot(1),
      Op::AccumSumLoop(0, 1, 100), Op::GetSlot(0), Op::Print(1), Op::GetSlot(0),
  });
}

// Predicate: the block tier returned `expected`.
::testing::AssertionResult Gives(const std::optional<int64_t>& got, int64_t expected) {
  if (!got) return ::testing::AssertionFailure() << "got nullopt, expected " << expected;
  if (*got != expected) return ::testing::AssertionFailure() << "got " << *got << ", expected " << expected;
  return ::testing::AssertionSuccess();
}

// -- spec/jit.md §7.2: the reference's tests/jit_block.rs -----------------------------------

TEST_F(JitBlock, unfused_sum_loop_to_100_gives_4950_and_is_block_eligible) {
  Chunk c = unfused_sum_loop();
  EXPECT_TRUE(jit.is_block_eligible(c));
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(c, slots), 4950));
}

TEST_F(JitBlock, accum_sum_loop_to_1000_gives_499500) {
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(chunk_of({Op::AccumSumLoop(0, 1, 1000), Op::GetSlot(0)}), slots), 499500));
}

TEST_F(JitBlock, if_true_branch_sets_slot_to_42) {
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(if_else(1), slots), 42));
  EXPECT_EQ(slots[0], 42);
}

TEST_F(JitBlock, if_false_branch_sets_slot_to_99) {
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(if_else(0), slots), 99));
  EXPECT_EQ(slots[0], 99);
}

TEST_F(JitBlock, fused_backedge_sum_to_50_gives_1225) {
  Chunk c = chunk_of({
      Op::PushFrame(), Op::LoadInt(0), Op::SetSlot(0), Op::LoadInt(0), Op::SetSlot(1),  // 0-4
      Op::AddAssignSlotVoid(0, 1), Op::SlotIncLtIntJumpBack(1, 50, 5),                  // 5-6
      Op::GetSlot(0),                                                                   // 7
  });
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(c, slots), 1225));
}

TEST_F(JitBlockCheck, chunk_with_print_is_not_block_eligible) {
  EXPECT_FALSE(jit.is_block_eligible(chunk_of({Op::LoadInt(1), Op::Print(1)})));
}

TEST_F(JitBlockCheck, find_jit_region_stops_before_print) {
  Chunk c = region_chunk();
  EXPECT_FALSE(jit.is_block_eligible(c));
  EXPECT_EQ(jit.find_jit_region(c), Region(std::make_pair(size_t{0}, size_t{7})));
}

TEST_F(JitBlock, extracted_region_compiles_and_gives_4950) {
  Chunk c = region_chunk();
  Region r = jit.find_jit_region(c);
  ASSERT_TRUE(r.has_value());
  Chunk region = jit.extract_region(c, r->first, r->second);
  EXPECT_TRUE(jit.is_block_eligible(region));
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(region, slots), 4950));
}

TEST_F(JitBlock, region_rebases_jump_targets_and_gives_42) {
  Chunk c = chunk_of({
      Op::Print(0),                                   // 0: ends any earlier run
      Op::LoadInt(1), Op::JumpIfFalse(7),             // 1-2
      Op::LoadInt(42), Op::SetSlot(0), Op::Jump(9),   // 3-5
      Op::Nop(),                                      // 6
      Op::LoadInt(99), Op::SetSlot(0),                // 7-8
      Op::GetSlot(0),                                 // 9
      Op::Print(1),                                   // 10
  });
  Region r = jit.find_jit_region(c);
  ASSERT_EQ(r, Region(std::make_pair(size_t{1}, size_t{10})));
  Chunk region = jit.extract_region(c, r->first, r->second);
  ASSERT_EQ(region.ops.size(), 9u);
  EXPECT_EQ(region.ops[1], Op::JumpIfFalse(7 - 1));
  EXPECT_EQ(region.ops[4], Op::Jump(9 - 1));
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(region, slots), 42));
}

TEST_F(JitBlock, slots_are_written_back_after_accum_sum_loop) {
  std::vector<int64_t> slots(4, 0);
  ASSERT_TRUE(jit.try_run_block_eager(chunk_of({Op::AccumSumLoop(0, 1, 10)}), slots).has_value());
  EXPECT_EQ(slots[0], 45);
  EXPECT_EQ(slots[1], 10);
}

// -- spec/jit.md §7.4 ----------------------------------------------------------------------

TEST_F(JitBlock, accum_sum_loop_interpreter_and_block_eager_agree) {
  Chunk c = chunk_of({Op::AccumSumLoop(0, 1, 1000), Op::GetSlot(0)});
  Ran interp = run(c);
  ASSERT_TRUE(IsOk(interp.result, Value::Int(499500)));
  std::vector<int64_t> slots(4, 0);
  std::optional<int64_t> native = jit.try_run_block_eager(c, slots);
  ASSERT_TRUE(native.has_value());
  EXPECT_EQ(*native, interp.result.value().as_int());
  EXPECT_EQ(slots[0], interp.vm.frames().back().slots[0].to_int());
  EXPECT_EQ(slots[1], interp.vm.frames().back().slots[1].to_int());
}

// -- Threshold and caching (spec §3.6 with our "Do": failures cached) ------------------------

TEST_F(JitBlock, calls_1_to_10_warm_up_and_call_11_compiles_and_runs) {
  Chunk c = unfused_sum_loop();
  for (int call = 1; call <= 10; ++call) {
    std::vector<int64_t> slots{5, 6, 7, 8};
    EXPECT_FALSE(jit.try_run_block(c, slots).has_value()) << "call " << call;
    EXPECT_EQ(slots, (std::vector<int64_t>{5, 6, 7, 8})) << "warm-up must not touch slots";
    EXPECT_EQ(JitCompiler::stats().block.compiled, 0u) << "call " << call;
  }
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block(c, slots), 4950));
  EXPECT_EQ(JitCompiler::stats().block.compiled, 1u);
  EXPECT_EQ(slots[0], 4950);
  EXPECT_EQ(slots[1], 100);
  EXPECT_TRUE(Gives(jit.try_run_block(c, slots), 4950));
  JitStats s = JitCompiler::stats();
  EXPECT_EQ(s.block.compiled, 1u);
  EXPECT_EQ(s.block.entered, 2u);
}

TEST_F(JitBlock, eager_compile_is_shared_with_try_run_block) {
  Chunk c = unfused_sum_loop(10);
  std::vector<int64_t> slots(4, 0);
  EXPECT_FALSE(jit.try_run_block(c, slots).has_value());  // call 1: warming up
  EXPECT_TRUE(Gives(jit.try_run_block_eager(c, slots), 45));
  EXPECT_TRUE(Gives(jit.try_run_block(c, slots), 45));     // no more warm-up: same entry
  EXPECT_EQ(JitCompiler::stats().block.compiled, 1u);
}

TEST_F(JitBlock, warm_up_counter_is_shared_by_compilers_and_chunk_copies) {
  Chunk c = unfused_sum_loop(20);
  Chunk copy = c;
  JitCompiler other;
  std::vector<int64_t> slots(4, 0);
  for (int k = 0; k < 5; ++k) EXPECT_FALSE(jit.try_run_block(c, slots).has_value());
  for (int k = 0; k < 5; ++k) EXPECT_FALSE(other.try_run_block(copy, slots).has_value());
  EXPECT_TRUE(Gives(jit.try_run_block(c, slots), 190));  // call 11 of the same code
}

TEST_F(JitBlock, failed_compile_is_cached_and_not_retried) {
  // Block [2, 4) starts with an empty abstract stack, so Add underflows: no value crosses a
  // block boundary in this tier (spec §3.3), and the compile fails.
  Chunk c = chunk_of({Op::LoadInt(1), Op::JumpIfFalse(4), Op::LoadInt(2), Op::Add()});
  ASSERT_TRUE(jit.is_block_eligible(c));
  std::vector<int64_t> slots(4, 3);
  for (int k = 0; k < 20; ++k) EXPECT_FALSE(jit.try_run_block_eager(c, slots).has_value());
  for (int k = 0; k < 5; ++k) EXPECT_FALSE(jit.try_run_block(c, slots).has_value());
  JitStats s = JitCompiler::stats();
  EXPECT_EQ(s.block.failed, 1u);
  EXPECT_EQ(s.block.compiled, 0u);
  EXPECT_EQ(s.block.fell_back, 25u);
  EXPECT_EQ(slots, std::vector<int64_t>(4, 3));
}

TEST_F(JitBlock, equal_forced_op_hash_never_runs_the_other_chunks_code) {
  Chunk a = chunk_of({Op::LoadInt(11), Op::SetSlot(0), Op::GetSlot(0)});
  Chunk b = chunk_of({Op::LoadInt(22), Op::SetSlot(1), Op::GetSlot(1)});
  a.op_hash = b.op_hash = 0xfeedULL;
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(a, slots), 11));
  EXPECT_TRUE(Gives(jit.try_run_block_eager(b, slots), 22));
  EXPECT_TRUE(Gives(jit.try_run_block_eager(a, slots), 11));
  EXPECT_EQ(slots, (std::vector<int64_t>{11, 22, 0, 0}));
  EXPECT_EQ(JitCompiler::stats().block.compiled, 2u);
}

TEST_F(JitBlock, hand_built_chunk_with_op_hash_zero_compiles) {
  Chunk c;
  c.ops = {Op::AccumSumLoop(0, 1, 5), Op::GetSlot(0)};
  ASSERT_EQ(c.op_hash, 0u);
  std::vector<int64_t> slots(2, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(c, slots), 10));
}

TEST_F(JitBlock, conditional_branch_as_last_op_fails_the_compile) {
  Chunk c = chunk_of({Op::LoadInt(1), Op::JumpIfTrue(0)});
  std::vector<int64_t> slots(4, 0);
  EXPECT_FALSE(jit.try_run_block_eager(c, slots).has_value());
  EXPECT_EQ(JitCompiler::stats().block.failed, 1u);
}

// -- Bail-outs and bounds (our fixes) ---------------------------------------------------------

TEST_F(JitBlock, integer_division_by_zero_bails_out_with_slots_untouched) {
  // slot3 = 99; slot2 = slot0 / slot1; slot2
  Chunk c = chunk_of({Op::LoadInt(99), Op::SetSlot(3), Op::GetSlot(0), Op::GetSlot(1), Op::Div(), Op::SetSlot(2),
                      Op::GetSlot(2)});
  std::vector<int64_t> slots{7, 0, 5, 6};
  EXPECT_FALSE(jit.try_run_block_eager(c, slots).has_value());
  EXPECT_EQ(slots, (std::vector<int64_t>{7, 0, 5, 6}));
  slots = {7, 2, 5, 6};
  EXPECT_TRUE(Gives(jit.try_run_block_eager(c, slots), 3));  // the reference's truncating sdiv
  EXPECT_EQ(slots, (std::vector<int64_t>{7, 2, 3, 99}));
  EXPECT_EQ(JitCompiler::stats().block.compiled, 1u);  // the bail-out is not a compile failure
}

TEST_F(JitBlock, integer_modulo_by_zero_bails_out_inside_a_loop) {
  // for (i = 0; i < 10; ++i) slot2 = slot0 % (slot1 - i): divisor hits 0 when i == slot1.
  Chunk c = chunk_of({
      Op::SlotLtIntJumpIfFalse(3, 10, 9),                                       // 0
      Op::GetSlot(0), Op::GetSlot(1), Op::GetSlot(3), Op::Sub(), Op::Mod(),     // 1-5
      Op::SetSlot(2), Op::PreIncSlotVoid(3), Op::Jump(0),                       // 6-8
      Op::GetSlot(2),                                                           // 9
  });
  std::vector<int64_t> slots{100, 4, 0, 0};
  EXPECT_FALSE(jit.try_run_block_eager(c, slots).has_value());
  EXPECT_EQ(slots, (std::vector<int64_t>{100, 4, 0, 0}));
  slots = {100, 40, 0, 0};
  EXPECT_TRUE(Gives(jit.try_run_block_eager(c, slots), 100 % 31));
  EXPECT_EQ(slots, (std::vector<int64_t>{100, 40, 100 % 31, 10}));
}

TEST_F(JitBlock, int64_min_divided_by_minus_one_bails_and_modulo_gives_zero) {
  std::vector<int64_t> slots{kMin, -1};
  EXPECT_FALSE(jit.try_run_block_eager(chunk_of({Op::GetSlot(0), Op::GetSlot(1), Op::Div()}), slots).has_value());
  EXPECT_EQ(slots, (std::vector<int64_t>{kMin, -1}));
  EXPECT_TRUE(Gives(jit.try_run_block_eager(chunk_of({Op::GetSlot(0), Op::GetSlot(1), Op::Mod()}), slots), 0));
}

TEST_F(JitBlock, jump_target_past_the_end_is_rejected_without_crashing) {
  Chunk c = chunk_of({Op::LoadInt(1), Op::SetSlot(0), Op::Jump(5)});
  EXPECT_TRUE(jit.is_block_eligible(c));  // eligibility looks at op kinds only
  std::vector<int64_t> slots(4, 0);
  EXPECT_FALSE(jit.try_run_block_eager(c, slots).has_value());
  EXPECT_EQ(slots[0], 0);
  Chunk fused = chunk_of({Op::SlotIncLtIntJumpBack(0, 5, 100), Op::LoadInt(1)});
  EXPECT_FALSE(jit.try_run_block_eager(fused, slots).has_value());
  EXPECT_EQ(JitCompiler::stats().block.compiled, 0u);
}

TEST_F(JitBlock, jump_to_exactly_the_end_returns_zero) {
  Chunk c = chunk_of({Op::LoadInt(5), Op::SetSlot(0), Op::Jump(3)});
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(c, slots), 0));
  EXPECT_EQ(slots[0], 5);
}

TEST_F(JitBlock, slot_span_shorter_than_the_slots_used_gives_nullopt) {
  Chunk c = chunk_of({Op::LoadInt(5), Op::SetSlot(3), Op::GetSlot(3)});
  std::vector<int64_t> short_slots{1, 2, 3};
  EXPECT_FALSE(jit.try_run_block_eager(c, short_slots).has_value());
  EXPECT_EQ(short_slots, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_FALSE(jit.try_run_block_eager(c, {}).has_value());
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(c, slots), 5));
  EXPECT_EQ(slots[3], 5);
}

TEST_F(JitBlock, chunk_without_slot_ops_runs_with_an_empty_span) {
  EXPECT_TRUE(Gives(jit.try_run_block_eager(chunk_of({Op::LoadInt(6), Op::LoadInt(7), Op::Mul()}), {}), 42));
  EXPECT_TRUE(Gives(jit.try_run_block_eager(chunk_of({Op::LoadInt(6), Op::Pop()}), {}), 0));  // empty stack: 0
}

TEST_F(JitBlock, float_result_is_truncated_with_saturation) {
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(chunk_of({Op::LoadFloat(2.9)}), slots), 2));
  EXPECT_TRUE(Gives(jit.try_run_block_eager(chunk_of({Op::LoadFloat(-2.9)}), slots), -2));
  EXPECT_TRUE(Gives(jit.try_run_block_eager(chunk_of({Op::LoadFloat(1e300)}), slots), kMax));
  EXPECT_TRUE(Gives(jit.try_run_block_eager(chunk_of({Op::LoadFloat(-1e300)}), slots), kMin));
  EXPECT_TRUE(Gives(jit.try_run_block_eager(chunk_of({Op::LoadConst(0)}, {Value::Float(kNaN)}), slots), 0));
}

TEST_F(JitBlock, set_slot_truncates_floats_with_saturation) {
  Chunk c = chunk_of({Op::LoadFloat(7.75), Op::SetSlot(0), Op::LoadFloat(1e300), Op::SetSlot(1),
                      Op::LoadConst(0), Op::SetSlot(2)},
                     {Value::Float(kNaN)});
  std::vector<int64_t> slots{1, 1, 1, 1};
  EXPECT_TRUE(Gives(jit.try_run_block_eager(c, slots), 0));
  EXPECT_EQ(slots, (std::vector<int64_t>{7, kMax, 0, 1}));
}

TEST_F(JitBlock, nan_is_truthy_in_block_branches_as_in_the_interpreter) {
  // if (NaN) slot0 = 1 else slot0 = 2; slot0
  Chunk c = chunk_of({Op::LoadConst(0), Op::JumpIfFalse(5), Op::LoadInt(1), Op::SetSlot(0), Op::Jump(7),
                      Op::LoadInt(2), Op::SetSlot(0), Op::GetSlot(0)},
                     {Value::Float(kNaN)});
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(c, slots), 1));
  EXPECT_TRUE(IsOk(run(c).result, Value::Int(1)));
}

TEST_F(JitBlock, frame_ops_and_nop_emit_nothing) {
  Chunk c = chunk_of({Op::PushFrame(), Op::Nop(), Op::LoadInt(3), Op::SetSlot(1), Op::PopFrame(), Op::GetSlot(1)});
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(c, slots), 3));
}

TEST_F(JitBlock, nested_fused_loops_give_the_interpreters_sum) {
  // for i in 0..10 { for j in 0..10 { sum += i + j } }  with SlotIncLtIntJumpBack backedges
  Chunk c = chunk_of({
      Op::LoadInt(0), Op::SetSlot(0), Op::LoadInt(0), Op::SetSlot(1),             // 0-3: sum, i
      Op::LoadInt(0), Op::SetSlot(2),                                             // 4-5: j = 0
      Op::GetSlot(0), Op::GetSlot(1), Op::GetSlot(2), Op::Add(), Op::Add(), Op::SetSlot(0),  // 6-11
      Op::SlotIncLtIntJumpBack(2, 10, 6),                                         // 12
      Op::SlotIncLtIntJumpBack(1, 10, 4),                                         // 13
      Op::GetSlot(0),                                                             // 14
  });
  Ran interp = run(c);
  ASSERT_TRUE(IsOk(interp.result, Value::Int(900)));
  std::vector<int64_t> slots(4, 0);
  EXPECT_TRUE(Gives(jit.try_run_block_eager(c, slots), 900));
  EXPECT_EQ(slots, (std::vector<int64_t>{900, 10, 10, 0}));
}

// -- Eligibility (spec §3.1) ------------------------------------------------------------------

TEST_F(JitBlockCheck, empty_chunk_and_keep_jumps_are_not_block_eligible) {
  EXPECT_FALSE(jit.is_block_eligible(Chunk{}));
  EXPECT_FALSE(jit.is_block_eligible(chunk_of({Op::LoadInt(1), Op::JumpIfTrueKeep(2), Op::Pop()})));
  EXPECT_FALSE(jit.is_block_eligible(chunk_of({Op::LoadInt(1), Op::JumpIfFalseKeep(2), Op::Pop()})));
  EXPECT_FALSE(jit.is_block_eligible(chunk_of({Op::LoadUndef()})));
  EXPECT_FALSE(jit.is_block_eligible(chunk_of({Op::GetVar(0)})));
  EXPECT_TRUE(jit.is_block_eligible(chunk_of({Op::Nop()})));
  EXPECT_TRUE(jit.is_block_eligible(chunk_of({Op::PushFrame(), Op::PopFrame()})));
}

// -- find_jit_region / extract_region (spec §3.8) ------------------------------------------------

TEST_F(JitBlockCheck, first_of_equal_length_runs_wins) {
  Chunk c = chunk_of({Op::LoadInt(1), Op::LoadInt(2), Op::Add(), Op::Pop(), Op::Print(0), Op::LoadInt(3),
                      Op::LoadInt(4), Op::Add(), Op::Pop()});
  EXPECT_EQ(jit.find_jit_region(c), Region(std::make_pair(size_t{0}, size_t{4})));
}

TEST_F(JitBlockCheck, a_strictly_longer_tail_run_wins) {
  Chunk c = chunk_of({Op::LoadInt(1), Op::Pop(), Op::Nop(), Op::Nop(), Op::Print(0), Op::Nop(), Op::Nop(),
                      Op::Nop(), Op::Nop(), Op::Nop()});
  EXPECT_EQ(jit.find_jit_region(c), Region(std::make_pair(size_t{5}, size_t{10})));
}

TEST_F(JitBlockCheck, runs_shorter_than_4_give_no_region) {
  EXPECT_EQ(jit.find_jit_region(chunk_of({Op::LoadInt(1), Op::Pop(), Op::Nop(), Op::Print(0), Op::Nop()})), Region());
  EXPECT_EQ(jit.find_jit_region(Chunk{}), Region());
  EXPECT_EQ(jit.find_jit_region(chunk_of({Op::Nop(), Op::Nop(), Op::Nop(), Op::Nop()})),
            Region(std::make_pair(size_t{0}, size_t{4})));
}

TEST_F(JitBlockCheck, jump_to_exactly_the_region_end_counts_as_escaping) {
  Chunk escaping = chunk_of({Op::LoadInt(1), Op::JumpIfFalse(4), Op::LoadInt(2), Op::Pop(), Op::Print(0)});
  EXPECT_EQ(jit.find_jit_region(escaping), Region());
  Chunk inside = chunk_of({Op::LoadInt(1), Op::JumpIfFalse(3), Op::LoadInt(2), Op::Pop(), Op::Print(0)});
  EXPECT_EQ(jit.find_jit_region(inside), Region(std::make_pair(size_t{0}, size_t{4})));
}

TEST_F(JitBlockCheck, jump_before_the_region_start_escapes) {
  Chunk c = chunk_of({Op::Print(0), Op::Nop(), Op::Nop(), Op::Nop(), Op::Jump(0)});
  EXPECT_EQ(jit.find_jit_region(c), Region());
  Chunk fused = chunk_of({Op::Print(0), Op::Nop(), Op::Nop(), Op::Nop(), Op::SlotIncLtIntJumpBack(0, 3, 9), Op::Nop()});
  EXPECT_EQ(jit.find_jit_region(fused), Region());
}

TEST_F(JitBlockCheck, only_the_longest_run_is_considered) {
  // The 5-op run escapes; the later 4-op run is clean but is not tried.
  Chunk c = chunk_of({Op::LoadInt(1), Op::JumpIfFalse(9), Op::Nop(), Op::Nop(), Op::Nop(), Op::Print(0), Op::Nop(),
                      Op::Nop(), Op::Nop(), Op::Nop()});
  EXPECT_EQ(jit.find_jit_region(c), Region());
}

TEST_F(JitBlockCheck, extract_region_slices_ops_and_lines_rebases_targets_and_rehashes) {
  ChunkBuilder b;
  b.add_constant(Value::Int(7));
  b.add_constant(Value::Str("s"));
  b.add_name("x");
  b.set_source("prog.fasm");
  b.emit(Op::Print(0), 10);                       // 0
  b.emit(Op::LoadConst(0), 11);                   // 1
  b.emit(Op::SetSlot(0), 12);                     // 2
  b.emit(Op::SlotIncLtIntJumpBack(0, 5, 2), 13);  // 3
  b.emit(Op::JumpIfFalse(5), 14);                 // 4
  b.emit(Op::Jump(1), 15);                        // 5
  b.emit(Op::Print(0), 16);                       // 6
  Chunk c = b.build();
  Chunk r = jit.extract_region(c, 1, 6);
  ASSERT_EQ(r.ops.size(), 5u);
  EXPECT_EQ(r.ops[0], Op::LoadConst(0));
  EXPECT_EQ(r.ops[2], Op::SlotIncLtIntJumpBack(0, 5, 1));
  EXPECT_EQ(r.ops[3], Op::JumpIfFalse(4));
  EXPECT_EQ(r.ops[4], Op::Jump(0));
  EXPECT_EQ(r.lines, (std::vector<uint32_t>{11, 12, 13, 14, 15}));
  EXPECT_EQ(r.constants.size(), 2u);
  EXPECT_TRUE(Same(r.constants[1], Value::Str("s")));
  EXPECT_EQ(r.names, c.names);
  EXPECT_EQ(r.source, "prog.fasm");
  EXPECT_TRUE(r.sub_entries.empty());
  EXPECT_TRUE(r.block_ranges.empty());
  EXPECT_NE(r.op_hash, 0u);
  EXPECT_EQ(r.op_hash, r.compute_op_hash());
  EXPECT_NE(r.op_hash, c.op_hash);
  // The source chunk is unchanged.
  EXPECT_EQ(c.ops[3], Op::SlotIncLtIntJumpBack(0, 5, 2));
}

TEST_F(JitBlockCheck, extract_region_with_short_lines_table_slices_what_exists) {
  Chunk c;
  c.ops = {Op::Nop(), Op::Nop(), Op::Nop(), Op::Nop()};
  c.lines = {1, 2};
  Chunk r = jit.extract_region(c, 1, 4);
  EXPECT_EQ(r.ops.size(), 3u);
  EXPECT_EQ(r.lines, (std::vector<uint32_t>{2}));
  Chunk none = jit.extract_region(c, 3, 4);
  EXPECT_TRUE(none.lines.empty());
  EXPECT_EQ(none.ops.size(), 1u);
}

}  // namespace
