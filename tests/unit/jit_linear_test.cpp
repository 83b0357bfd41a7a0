// The linear tier through JitCompiler (spec/jit.md §2, §7.1): the reference's 27 tests
// with exact Value kinds, our documented fixes (Q-L1, Q-L3, Q-L4, Q-L6, slot bounds),
// the validator's acceptance rules, the op_hash cache's collision check and the counters.
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "jit_test_util.hpp"

namespace {

using namespace fusevm_test;

using JitLinear = JitRequired;    // compiles: needs the plugin
using JitLinearCheck = JitFixture;  // validation only: runs without the plugin

// try_run_linear with no slots (the reference tests' empty slot vector).
std::optional<Value> run_linear(JitCompiler& jit, const Chunk& c) { return jit.try_run_linear(c, {}); }

// Predicate: the linear tier returned exactly `expected`.
::testing::AssertionResult Gives(const std::optional<Value>& got, const Value& expected) {
  if (!got) return ::testing::AssertionFailure() << "got nullopt, expected " << expected.repr();
  return Same(*got, expected);
}

// -- spec/jit.md §7.1: the reference's tests/jit_linear.rs ---------------------------------

TEST_F(JitLinear, add_of_two_ints_gives_int_42) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(40), Op::LoadInt(2), Op::Add()})), Value::Int(42)));
}

TEST_F(JitLinear, sub_gives_int_42) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(50), Op::LoadInt(8), Op::Sub()})), Value::Int(42)));
}

TEST_F(JitLinear, mul_gives_int_42) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(6), Op::LoadInt(7), Op::Mul()})), Value::Int(42)));
}

TEST_F(JitLinear, negate_gives_int_minus_42) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(42), Op::Negate()})), Value::Int(-42)));
}

TEST_F(JitLinear, inc_and_dec_give_int_42) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(41), Op::Inc()})), Value::Int(42)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(43), Op::Dec()})), Value::Int(42)));
}

TEST_F(JitLinear, integer_pow_gives_int_1024_not_float) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(2), Op::LoadInt(10), Op::Pow()})), Value::Int(1024)));
}

TEST_F(JitLinear, float_add_gives_float_4) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadFloat(1.5), Op::LoadFloat(2.5), Op::Add()})), Value::Float(4.0)));
}

TEST_F(JitLinear, int_plus_float_promotes_to_float_3_5) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(1), Op::LoadFloat(2.5), Op::Add()})), Value::Float(3.5)));
}

TEST_F(JitLinear, compound_expression_2_plus_3_times_4_gives_20) {
  Chunk c = chunk_of({Op::LoadInt(2), Op::LoadInt(3), Op::Add(), Op::LoadInt(4), Op::Mul()});
  EXPECT_TRUE(Gives(run_linear(jit, c), Value::Int(20)));
}

TEST_F(JitLinear, comparisons_give_int_0_or_1_not_bool) {
  struct Case { int64_t a, b; Op op; int64_t want; };
  const Case cases[] = {
      {1, 2, Op::NumLt(), 1}, {2, 1, Op::NumLt(), 0}, {5, 5, Op::NumEq(), 1}, {5, 3, Op::NumGt(), 1},
      {5, 5, Op::NumLe(), 1}, {5, 5, Op::NumGe(), 1}, {5, 5, Op::NumNe(), 0},
  };
  for (const Case& k : cases) {
    EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(k.a), Op::LoadInt(k.b), k.op})), Value::Int(k.want)))
        << k.a << " " << k.op.name() << " " << k.b;
  }
}

TEST_F(JitLinear, spaceship_gives_minus_one_zero_one) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(1), Op::LoadInt(2), Op::Spaceship()})), Value::Int(-1)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(2), Op::LoadInt(2), Op::Spaceship()})), Value::Int(0)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(3), Op::LoadInt(2), Op::Spaceship()})), Value::Int(1)));
}

TEST_F(JitLinear, bitwise_and_or_xor_shl_shr) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(0xFF), Op::LoadInt(0x0F), Op::BitAnd()})), Value::Int(0x0F)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(0xF0), Op::LoadInt(0x0F), Op::BitOr()})), Value::Int(0xFF)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(0xFF), Op::LoadInt(0xFF), Op::BitXor()})), Value::Int(0)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(1), Op::LoadInt(8), Op::Shl()})), Value::Int(256)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(256), Op::LoadInt(4), Op::Shr()})), Value::Int(16)));
}

TEST_F(JitLinear, dup_then_add_gives_42) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(21), Op::Dup(), Op::Add()})), Value::Int(42)));
}

TEST_F(JitLinear, swap_then_sub_gives_minus_7) {
  Chunk c = chunk_of({Op::LoadInt(10), Op::LoadInt(3), Op::Swap(), Op::Sub()});
  EXPECT_TRUE(Gives(run_linear(jit, c), Value::Int(-7)));
}

TEST_F(JitLinear, lognot_gives_int_1_for_zero_and_int_0_for_nonzero) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(0), Op::LogNot()})), Value::Int(1)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(42), Op::LogNot()})), Value::Int(0)));
}

TEST_F(JitLinear, get_slots_0_and_1_add_to_300) {
  std::vector<int64_t> slots{100, 200};
  Chunk c = chunk_of({Op::GetSlot(0), Op::GetSlot(1), Op::Add()});
  EXPECT_TRUE(Gives(jit.try_run_linear(c, slots), Value::Int(300)));
}

TEST_F(JitLinear, pre_inc_slot_pushes_42_and_writes_it_back) {
  std::vector<int64_t> slots{41};
  EXPECT_TRUE(Gives(jit.try_run_linear(chunk_of({Op::PreIncSlot(0)}), slots), Value::Int(42)));
  EXPECT_EQ(slots[0], 42);
}

TEST_F(JitLinear, load_const_int_gives_int_42) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadConst(0)}, {Value::Int(42)})), Value::Int(42)));
}

TEST_F(JitLinear, load_const_float_gives_float_3_14) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadConst(0)}, {Value::Float(3.14)})), Value::Float(3.14)));
}

TEST_F(JitLinear, concat_is_ineligible_and_gives_nullopt) {
  Chunk c = chunk_of({Op::LoadInt(1), Op::LoadInt(2), Op::Concat()});
  EXPECT_FALSE(jit.is_linear_eligible(c));
  EXPECT_FALSE(run_linear(jit, c).has_value());
}

TEST_F(JitLinear, exec_is_ineligible_and_gives_nullopt) {
  Chunk c = chunk_of({Op::Exec(0)});
  EXPECT_FALSE(jit.is_linear_eligible(c));
  EXPECT_FALSE(run_linear(jit, c).has_value());
}

TEST_F(JitLinear, second_call_hits_the_cache_and_gives_the_same_result) {
  Chunk c = chunk_of({Op::LoadInt(40), Op::LoadInt(2), Op::Add()});
  std::optional<Value> first = run_linear(jit, c);
  std::optional<Value> second = run_linear(jit, c);
  ASSERT_TRUE(Gives(first, Value::Int(42)));
  EXPECT_TRUE(Gives(second, *first));
  EXPECT_EQ(JitCompiler::stats().linear.compiled, 1u);
  EXPECT_EQ(JitCompiler::stats().linear.entered, 2u);
}

TEST_F(JitLinear, complex_expression_gives_85) {
  Chunk c = chunk_of({Op::LoadInt(10), Op::LoadInt(20), Op::Add(), Op::LoadInt(3), Op::Mul(), Op::LoadInt(5), Op::Sub()});
  EXPECT_TRUE(Gives(run_linear(jit, c), Value::Int(85)));
}

TEST_F(JitLinear, load_true_and_load_false_give_int_1_and_0) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadTrue()})), Value::Int(1)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadFalse()})), Value::Int(0)));
}

TEST_F(JitLinear, float_spaceship_gives_int_minus_one) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadFloat(1.5), Op::LoadFloat(2.5), Op::Spaceship()})), Value::Int(-1)));
}

TEST_F(JitLinear, float_negate_gives_float_minus_3_14) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadFloat(3.14), Op::Negate()})), Value::Float(-3.14)));
}

TEST_F(JitLinear, int_mod_by_constant_gives_int_2) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(17), Op::LoadInt(5), Op::Mod()})), Value::Int(2)));
}

// -- Our documented fixes ---------------------------------------------------------------

TEST_F(JitLinear, integral_load_float_stays_float_quirk_q_l1_fixed) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadFloat(2.0)})), Value::Float(2.0)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadFloat(-0.0)})), Value::Float(-0.0)));
}

TEST_F(JitLinear, mixed_int_float_swap_compiles_quirk_q_l4_fixed) {
  // [Int 1, Float 2.5] swap -> [2.5, 1]; 2.5 - 1 = 1.5
  Chunk c = chunk_of({Op::LoadInt(1), Op::LoadFloat(2.5), Op::Swap(), Op::Sub()});
  EXPECT_TRUE(Gives(run_linear(jit, c), Value::Float(1.5)));
}

TEST_F(JitLinear, mixed_int_float_rot_compiles_quirk_q_l4_fixed) {
  // [Int 10, Float 0.5, Int 3] rot -> [0.5, 3, 10]; sub -> [0.5, -7]; mul -> -3.5
  Chunk c = chunk_of({Op::LoadInt(10), Op::LoadFloat(0.5), Op::LoadInt(3), Op::Rot(), Op::Sub(), Op::Mul()});
  EXPECT_TRUE(Gives(run_linear(jit, c), Value::Float(-3.5)));
}

TEST_F(JitLinear, inc_of_nan_saturates_to_zero_then_adds_one_quirk_q_l6_fixed) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadConst(0), Op::Inc()}, {Value::Float(nan)})), Value::Int(1)));
  // A NaN computed at run time (0.0 / 0.0) as well as one loaded from the pool.
  Chunk computed = chunk_of({Op::LoadFloat(0.0), Op::LoadFloat(0.0), Op::Div(), Op::Dec()});
  EXPECT_TRUE(Gives(run_linear(jit, computed), Value::Int(-1)));
}

TEST_F(JitLinear, inc_of_huge_float_saturates_at_int64_max_then_wraps) {
  // to_int(1e300) = INT64_MAX (saturating, as the interpreter); + 1 wraps to INT64_MIN.
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadFloat(1e300), Op::Inc()})), Value::Int(kMin)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadFloat(-1e300), Op::Inc()})), Value::Int(kMin + 1)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadFloat(-2.75), Op::Inc()})), Value::Int(-1)));
}

TEST_F(JitLinear, set_slot_of_1e300_saturates_to_int64_max) {
  std::vector<int64_t> slots{0, 0};
  Chunk c = chunk_of({Op::LoadFloat(1e300), Op::SetSlot(0), Op::LoadFloat(-1e300), Op::SetSlot(1), Op::GetSlot(0)});
  EXPECT_TRUE(Gives(jit.try_run_linear(c, slots), Value::Int(kMax)));
  EXPECT_EQ(slots[0], kMax);
  EXPECT_EQ(slots[1], kMin);
}

TEST_F(JitLinear, set_slot_of_nan_stores_zero) {
  std::vector<int64_t> slots{77};
  Chunk c = chunk_of({Op::LoadConst(0), Op::SetSlot(0), Op::GetSlot(0)}, {Value::Float(std::nan(""))});
  EXPECT_TRUE(Gives(jit.try_run_linear(c, slots), Value::Int(0)));
  EXPECT_EQ(slots[0], 0);
}

TEST_F(JitLinear, fused_loop_op_is_eligible_but_never_runs_quirk_q_l3) {
  Chunk c = chunk_of({Op::LoadInt(1), Op::AccumSumLoop(0, 1, 10)});
  EXPECT_TRUE(jit.is_linear_eligible(c));
  std::vector<int64_t> slots{5, 6};
  for (int k = 0; k < 3; ++k) EXPECT_FALSE(jit.try_run_linear(c, slots).has_value()) << "call " << k;
  EXPECT_EQ(slots, (std::vector<int64_t>{5, 6}));
  Chunk c2 = chunk_of({Op::SlotLtIntJumpIfFalse(0, 3, 0), Op::LoadInt(1)});
  EXPECT_TRUE(jit.is_linear_eligible(c2));
  EXPECT_FALSE(jit.try_run_linear(c2, slots).has_value());
  Chunk c3 = chunk_of({Op::SlotIncLtIntJumpBack(0, 3, 0), Op::LoadInt(1)});
  EXPECT_TRUE(jit.is_linear_eligible(c3));
  EXPECT_FALSE(jit.try_run_linear(c3, slots).has_value());
  EXPECT_EQ(JitCompiler::stats().linear.compiled, 0u);
}

TEST_F(JitLinear, slot_span_shorter_than_max_slot_plus_one_gives_nullopt) {
  Chunk c = chunk_of({Op::GetSlot(3)});
  std::vector<int64_t> short_slots{1, 2, 3};
  EXPECT_FALSE(jit.try_run_linear(c, short_slots).has_value());
  EXPECT_FALSE(jit.try_run_linear(c, {}).has_value());
  std::vector<int64_t> slots{1, 2, 3, 4};
  EXPECT_TRUE(Gives(jit.try_run_linear(c, slots), Value::Int(4)));
  // Once compiled, a short span is still refused (the check is on every call).
  EXPECT_FALSE(jit.try_run_linear(c, short_slots).has_value());
  std::vector<int64_t> longer{9, 9, 9, 8, 9, 9};
  EXPECT_TRUE(Gives(jit.try_run_linear(c, longer), Value::Int(8)));
}

TEST_F(JitLinear, short_span_is_refused_for_written_slots_too) {
  Chunk c = chunk_of({Op::LoadInt(7), Op::SetSlot(2), Op::LoadInt(1)});
  std::vector<int64_t> short_slots{1, 2};
  EXPECT_FALSE(jit.try_run_linear(c, short_slots).has_value());
  EXPECT_EQ(short_slots, (std::vector<int64_t>{1, 2}));
  std::vector<int64_t> slots{0, 0, 0};
  EXPECT_TRUE(Gives(jit.try_run_linear(c, slots), Value::Int(1)));
  EXPECT_EQ(slots[2], 7);
}

TEST_F(JitLinear, equal_forced_op_hash_never_runs_the_other_chunks_code) {
  Chunk a = chunk_of({Op::LoadInt(1)});
  Chunk b = chunk_of({Op::LoadInt(2)});
  a.op_hash = b.op_hash = 0x1234567890abcdefULL;
  EXPECT_TRUE(Gives(run_linear(jit, a), Value::Int(1)));
  EXPECT_TRUE(Gives(run_linear(jit, b), Value::Int(2)));
  EXPECT_TRUE(Gives(run_linear(jit, a), Value::Int(1)));
  EXPECT_TRUE(Gives(run_linear(jit, b), Value::Int(2)));
  EXPECT_EQ(JitCompiler::stats().linear.compiled, 2u);
}

TEST_F(JitLinear, equal_ops_with_different_constants_do_not_share_code) {
  Chunk a = chunk_of({Op::LoadConst(0)}, {Value::Int(10)});
  Chunk b = chunk_of({Op::LoadConst(0)}, {Value::Int(20)});
  Chunk c = chunk_of({Op::LoadConst(0)}, {Value::Float(10.0)});
  a.op_hash = b.op_hash = c.op_hash = 99;
  EXPECT_TRUE(Gives(run_linear(jit, a), Value::Int(10)));
  EXPECT_TRUE(Gives(run_linear(jit, b), Value::Int(20)));
  EXPECT_TRUE(Gives(run_linear(jit, c), Value::Float(10.0)));
  EXPECT_TRUE(Gives(run_linear(jit, a), Value::Int(10)));
}

TEST_F(JitLinear, hand_built_chunks_with_op_hash_zero_work_and_stay_apart) {
  Chunk a;
  a.ops = {Op::LoadInt(40), Op::LoadInt(2), Op::Add()};
  Chunk b;
  b.ops = {Op::LoadInt(40), Op::LoadInt(2), Op::Sub()};
  ASSERT_EQ(a.op_hash, 0u);
  ASSERT_EQ(b.op_hash, 0u);
  EXPECT_TRUE(Gives(run_linear(jit, a), Value::Int(42)));
  EXPECT_TRUE(Gives(run_linear(jit, b), Value::Int(38)));
  EXPECT_TRUE(Gives(run_linear(jit, a), Value::Int(42)));
}

TEST_F(JitLinear, stats_count_compiled_entered_and_fell_back) {
  Chunk good = chunk_of({Op::LoadInt(2), Op::LoadInt(3), Op::Mul()});
  Chunk bad = chunk_of({Op::LoadInt(2), Op::Nop()});
  JitStats s0 = JitCompiler::stats();
  EXPECT_TRUE(s0.available);
  EXPECT_EQ(s0.linear.compiled, 0u);
  EXPECT_EQ(s0.linear.entered, 0u);
  EXPECT_EQ(s0.linear.fell_back, 0u);
  ASSERT_TRUE(Gives(run_linear(jit, good), Value::Int(6)));
  ASSERT_TRUE(Gives(run_linear(jit, good), Value::Int(6)));
  ASSERT_TRUE(Gives(run_linear(jit, good), Value::Int(6)));
  EXPECT_FALSE(run_linear(jit, bad).has_value());
  EXPECT_FALSE(run_linear(jit, bad).has_value());  // failures are not cached: validated again
  JitStats s = JitCompiler::stats();
  EXPECT_EQ(s.linear.compiled, 1u);
  EXPECT_EQ(s.linear.entered, 3u);
  EXPECT_EQ(s.linear.fell_back, 2u);
  EXPECT_EQ(s.linear.failed, 0u);
  EXPECT_EQ(s.block.compiled, 0u);
  uint64_t reasons = 0;
  for (const auto& [why, n] : s.linear.reasons) reasons += n;
  EXPECT_GE(reasons, 2u);
  JitCompiler::reset();
  EXPECT_EQ(JitCompiler::stats().linear.compiled, 0u);
  EXPECT_EQ(JitCompiler::stats().linear.entered, 0u);
}

TEST_F(JitLinear, slot_ops_read_and_write_the_callers_array) {
  std::vector<int64_t> slots{10, 3, 0, kMax};
  // slot2 = slot0 * slot1; ++slot3 (wraps); slot0 += slot1; result: ++slot1
  Chunk c = chunk_of({Op::GetSlot(0), Op::GetSlot(1), Op::Mul(), Op::SetSlot(2), Op::PreIncSlotVoid(3),
                      Op::AddAssignSlotVoid(0, 1), Op::PreIncSlot(1)});
  EXPECT_TRUE(Gives(jit.try_run_linear(c, slots), Value::Int(4)));
  EXPECT_EQ(slots, (std::vector<int64_t>{13, 4, 30, kMin}));
}

TEST_F(JitLinear, integer_arithmetic_wraps) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(kMax), Op::LoadInt(1), Op::Add()})), Value::Int(kMin)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(kMin), Op::Negate()})), Value::Int(kMin)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(kMin), Op::Dec()})), Value::Int(kMax)));
  std::vector<int64_t> slots{kMax};
  EXPECT_TRUE(Gives(jit.try_run_linear(chunk_of({Op::GetSlot(0), Op::LoadInt(2), Op::Mul()}), slots), Value::Int(-2)));
}

TEST_F(JitLinear, shift_counts_are_masked_with_63) {
  std::vector<int64_t> slots{1, 65, -256, 68};
  EXPECT_TRUE(Gives(jit.try_run_linear(chunk_of({Op::GetSlot(0), Op::GetSlot(1), Op::Shl()}), slots), Value::Int(2)));
  EXPECT_TRUE(Gives(jit.try_run_linear(chunk_of({Op::GetSlot(2), Op::GetSlot(3), Op::Shr()}), slots), Value::Int(-16)));
}

TEST_F(JitLinear, dynamic_int_mod_by_constant_follows_the_dividends_sign) {
  std::vector<int64_t> slots{-17, kMin};
  EXPECT_TRUE(Gives(jit.try_run_linear(chunk_of({Op::GetSlot(0), Op::LoadInt(5), Op::Mod()}), slots), Value::Int(-2)));
  // MIN % -1 must not trap (LLVM srem UB); mathematically and in the interpreter it is 0.
  EXPECT_TRUE(Gives(jit.try_run_linear(chunk_of({Op::GetSlot(1), Op::LoadInt(-1), Op::Mod()}), slots), Value::Int(0)));
}

TEST_F(JitLinear, float_division_and_modulo_follow_ieee) {
  Chunk div = chunk_of({Op::LoadInt(7), Op::LoadFloat(2.0), Op::Div()});
  EXPECT_TRUE(Gives(run_linear(jit, div), Value::Float(3.5)));
  Chunk by_zero = chunk_of({Op::LoadFloat(1.0), Op::LoadFloat(0.0), Op::Div()});
  EXPECT_TRUE(Gives(run_linear(jit, by_zero), Value::Float(kInf)));
  Chunk fmod = chunk_of({Op::LoadFloat(-7.5), Op::LoadInt(2), Op::Mod()});
  EXPECT_TRUE(Gives(run_linear(jit, fmod), Value::Float(-1.5)));
  Chunk exact = chunk_of({Op::LoadInt(84), Op::LoadInt(2), Op::Div()});
  EXPECT_TRUE(Gives(run_linear(jit, exact), Value::Int(42)));  // exact constant division: Int (Q-L2)
}

TEST_F(JitLinear, float_pow_and_comparisons_with_nan) {
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadInt(2), Op::LoadFloat(-1.0), Op::Pow()})), Value::Float(0.5)));
  Chunk nan_ne = chunk_of({Op::LoadConst(0), Op::LoadConst(0), Op::NumNe()}, {Value::Float(std::nan(""))});
  EXPECT_TRUE(Gives(run_linear(jit, nan_ne), Value::Int(1)));  // une: NaN != NaN
  Chunk nan_eq = chunk_of({Op::LoadConst(0), Op::LoadConst(0), Op::NumEq()}, {Value::Float(std::nan(""))});
  EXPECT_TRUE(Gives(run_linear(jit, nan_eq), Value::Int(0)));
  Chunk nan_ship = chunk_of({Op::LoadConst(0), Op::LoadInt(1), Op::Spaceship()}, {Value::Float(std::nan(""))});
  EXPECT_TRUE(Gives(run_linear(jit, nan_ship), Value::Int(0)));
}

TEST_F(JitLinear, lognot_of_nan_gives_int_1_as_the_reference_linear_tier) {
  // The direct API keeps the reference's `one 0.0` float test (NaN falsy, spec §2.4).
  Chunk c = chunk_of({Op::LoadConst(0), Op::LogNot()}, {Value::Float(std::nan(""))});
  EXPECT_TRUE(Gives(run_linear(jit, c), Value::Int(1)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadFloat(0.5), Op::LogNot()})), Value::Int(0)));
  EXPECT_TRUE(Gives(run_linear(jit, chunk_of({Op::LoadFloat(-0.0), Op::LogNot()})), Value::Int(1)));
}

TEST_F(JitLinear, dynamic_values_are_not_constant_folded_away) {
  std::vector<int64_t> slots{6};
  Chunk c = chunk_of({Op::GetSlot(0), Op::LoadInt(7), Op::Mul()});
  EXPECT_TRUE(Gives(jit.try_run_linear(c, slots), Value::Int(42)));
  slots[0] = -3;
  EXPECT_TRUE(Gives(jit.try_run_linear(c, slots), Value::Int(-21)));  // same cached code, new input
  EXPECT_EQ(JitCompiler::stats().linear.compiled, 1u);
}

// -- spec/jit.md §2.2: the validator (no plugin needed) ---------------------------------

TEST_F(JitLinearCheck, empty_chunk_and_wrong_final_depth_are_rejected) {
  EXPECT_FALSE(jit.is_linear_eligible(Chunk{}));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadInt(1), Op::LoadInt(2)})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadInt(1), Op::Pop()})));
  EXPECT_TRUE(jit.is_linear_eligible(chunk_of({Op::LoadInt(1), Op::LoadInt(2), Op::Pop()})));
}

TEST_F(JitLinearCheck, stack_underflow_is_rejected) {
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadInt(1), Op::Add()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadInt(1), Op::LoadInt(1), Op::Rot()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::SetSlot(0)})));
}

TEST_F(JitLinearCheck, depth_over_256_is_rejected_and_256_accepted) {
  auto pushes = [](size_t n) {
    Chunk c;
    for (size_t k = 0; k < n; ++k) c.ops.push_back(Op::LoadInt(1));
    for (size_t k = 1; k < n; ++k) c.ops.push_back(Op::Add());
    return c;
  };
  EXPECT_TRUE(jit.is_linear_eligible(pushes(256)));
  EXPECT_FALSE(jit.is_linear_eligible(pushes(257)));
}

TEST_F(JitLinearCheck, nop_and_jumps_are_rejected) {
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::Nop(), Op::LoadInt(1)})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadInt(1), Op::Jump(2), Op::LoadInt(2), Op::Pop()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadInt(1), Op::LoadInt(1), Op::JumpIfFalse(3)})));
}

TEST_F(JitLinearCheck, non_finite_float_literal_is_rejected_but_a_nan_constant_is_not) {
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadFloat(kInf)})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadFloat(kNaN)})));
  EXPECT_TRUE(jit.is_linear_eligible(chunk_of({Op::LoadConst(0)}, {Value::Float(kNaN)})));
}

TEST_F(JitLinearCheck, load_const_needs_a_numeric_constant_in_range) {
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadConst(0)}, {Value::Str("x")})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadConst(0)}, {Value::Bool(true)})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadConst(1)}, {Value::Int(1)})));
}

TEST_F(JitLinearCheck, integer_division_only_for_exact_constants) {
  EXPECT_TRUE(jit.is_linear_eligible(chunk_of({Op::LoadInt(84), Op::LoadInt(2), Op::Div()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadInt(7), Op::LoadInt(2), Op::Div()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadInt(7), Op::LoadInt(0), Op::Div()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::GetSlot(0), Op::LoadInt(2), Op::Div()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadInt(kMin), Op::LoadInt(-1), Op::Div()})));
  EXPECT_TRUE(jit.is_linear_eligible(chunk_of({Op::GetSlot(0), Op::LoadFloat(2.0), Op::Div()})));
  EXPECT_TRUE(jit.is_linear_eligible(chunk_of({Op::GetSlot(0), Op::GetSlot(1), Op::LoadFloat(1.0), Op::Mul(), Op::Div()})));
}

TEST_F(JitLinearCheck, integer_modulo_needs_a_nonzero_constant_divisor) {
  EXPECT_TRUE(jit.is_linear_eligible(chunk_of({Op::GetSlot(0), Op::LoadInt(3), Op::Mod()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::GetSlot(0), Op::LoadInt(0), Op::Mod()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadInt(3), Op::GetSlot(0), Op::Mod()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadInt(kMin), Op::LoadInt(-1), Op::Mod()})));
  EXPECT_TRUE(jit.is_linear_eligible(chunk_of({Op::LoadInt(3), Op::GetSlot(0), Op::LoadFloat(1.0), Op::Add(), Op::Mod()})));
}

TEST_F(JitLinearCheck, integer_pow_needs_a_constant_exponent_0_to_63) {
  EXPECT_TRUE(jit.is_linear_eligible(chunk_of({Op::GetSlot(0), Op::LoadInt(63), Op::Pow()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::GetSlot(0), Op::LoadInt(64), Op::Pow()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadInt(2), Op::LoadInt(-1), Op::Pow()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadInt(2), Op::GetSlot(0), Op::Pow()})));
  EXPECT_TRUE(jit.is_linear_eligible(chunk_of({Op::LoadInt(2), Op::LoadFloat(-1.0), Op::Pow()})));
}

TEST_F(JitLinearCheck, bitwise_ops_reject_float_operands) {
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadFloat(1.5), Op::LoadInt(1), Op::BitAnd()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadInt(1), Op::LoadFloat(1.0), Op::Shl()})));
  EXPECT_FALSE(jit.is_linear_eligible(chunk_of({Op::LoadFloat(1.5), Op::BitNot()})));
  EXPECT_TRUE(jit.is_linear_eligible(chunk_of({Op::LoadTrue(), Op::GetSlot(0), Op::BitXor()})));
}

TEST_F(JitLinearCheck, is_eligible_uses_the_universal_set_and_extensions) {
  // spec §7.4 (vm_integration.rs).
  EXPECT_TRUE(jit.is_eligible(chunk_of({Op::LoadInt(1), Op::LoadInt(2), Op::Add()})));
  EXPECT_FALSE(jit.is_eligible(chunk_of({Op::Exec(0)})));
  EXPECT_FALSE(jit.is_eligible(chunk_of({Op::Extended(999, 0)})));
  EXPECT_TRUE(jit.is_eligible(Chunk{}));
  struct Accept999 : JitExtension {
    bool can_jit(uint16_t id) const override { return id == 999; }
    size_t op_count() const override { return 1000; }
    std::string name() const override { return "accept999"; }
  };
  jit.register_extension(std::make_unique<Accept999>());
  EXPECT_TRUE(jit.is_eligible(chunk_of({Op::Extended(999, 0)})));
  EXPECT_FALSE(jit.is_eligible(chunk_of({Op::Extended(998, 0)})));
}

}  // namespace
