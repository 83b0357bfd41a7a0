// Interpreter tests: Range/RangeStep and the fused superinstructions.
// Sources: spec/ops.md §15 and §17 (with the §17.1 equivalences), tests-inventory §7, §8,
// §14, chunk-and-vm §10 (overflow).
#include "vm_test_util.hpp"

namespace fusevm_test {
namespace {

Value I(int64_t i) { return Value::Int(i); }

// -- Range / RangeStep ------------------------------------------------------------------

Ran range(int64_t from, int64_t to) {
  return run_ops({Op::LoadInt(from), Op::LoadInt(to), Op::Range()});
}
Ran range_step(int64_t from, int64_t to, int64_t step) {
  return run_ops({Op::LoadInt(from), Op::LoadInt(to), Op::LoadInt(step), Op::RangeStep()});
}

TEST(VmRanges, range_inclusive) { EXPECT_TRUE(IsOk(range(1, 5).result, ints({1, 2, 3, 4, 5}))); }

TEST(VmRanges, range_step) { EXPECT_TRUE(IsOk(range_step(0, 10, 3).result, ints({0, 3, 6, 9}))); }

TEST(VmRanges, range_step_negative) {
  EXPECT_TRUE(IsOk(range_step(10, 0, -3).result, ints({10, 7, 4, 1})));
}

TEST(VmRanges, range_step_negative_descends) {
  Ran r = range_step(10, 1, -2);
  ASSERT_TRUE(r.result.is_ok());
  ASSERT_TRUE(r.result.value().is_array());
  const ValueArray& a = r.result.value().as_array();
  ASSERT_EQ(a.size(), 5u);
  EXPECT_TRUE(Same(a.front(), I(10)));
  EXPECT_TRUE(Same(a.back(), I(2)));
  EXPECT_TRUE(IsOk(r.result, ints({10, 8, 6, 4, 2})));
}

TEST(VmRanges, range_step_zero_yields_empty) {
  EXPECT_TRUE(IsOk(range_step(0, 10, 0).result, ints({})));
}

TEST(VmRanges, empty_range_produces_empty_array) {
  EXPECT_TRUE(IsOk(range(5, 3).result, ints({})));
}

TEST(VmRanges, single_element_range) { EXPECT_TRUE(IsOk(range(5, 5).result, ints({5}))); }

TEST(VmRanges, range_truncates_float_bound) {
  EXPECT_TRUE(
      IsOk(run_ops({Op::LoadInt(3), Op::LoadFloat(5.9), Op::Range()}).result, ints({3, 4, 5})));
}

TEST(VmRanges, range_step_positive_step_wrong_direction_is_empty) {
  EXPECT_TRUE(IsOk(range_step(0, -10, 3).result, ints({})));
}

TEST(VmRanges, range_coerces_strings) {
  Program p;
  p.str("2");
  p.str("4");
  p.emit(Op::Range());
  EXPECT_TRUE(IsOk(run(p).result, ints({2, 3, 4})));
}

TEST(VmRanges, range_ending_at_max_stops_without_overflow) {
  EXPECT_TRUE(IsOk(range(kMax - 2, kMax).result, ints({kMax - 2, kMax - 1, kMax})));
}

TEST(VmRanges, range_starting_at_min) {
  EXPECT_TRUE(IsOk(range(kMin, kMin + 1).result, ints({kMin, kMin + 1})));
}

TEST(VmRanges, range_step_near_max_stops_before_overflow) {
  EXPECT_TRUE(IsOk(range_step(kMax - 1, kMax, 5).result, ints({kMax - 1})));
  EXPECT_TRUE(IsOk(range_step(kMax - 10, kMax, 4).result, ints({kMax - 10, kMax - 6, kMax - 2})));
}

TEST(VmRanges, range_step_near_min_stops_before_overflow) {
  EXPECT_TRUE(IsOk(range_step(kMin + 1, kMin, -5).result, ints({kMin + 1})));
  EXPECT_TRUE(
      IsOk(range_step(kMin + 3, kMin, -1).result, ints({kMin + 3, kMin + 2, kMin + 1, kMin})));
}

TEST(VmRanges, range_step_with_huge_step_gives_one_element) {
  EXPECT_TRUE(IsOk(range_step(0, kMax, kMax).result, ints({0, kMax})));
  EXPECT_TRUE(IsOk(range_step(1, kMax, kMax).result, ints({1})));
  EXPECT_TRUE(IsOk(range_step(0, kMin, kMin).result, ints({0, kMin})));
}

TEST(VmRanges, absurd_range_is_a_limit_error_not_a_crash) {
  Program p;
  p.emit({Op::LoadInt(0), Op::LoadInt(kMax), Op::Range()});
  Limits lim;
  lim.max_array = 1000;
  Ran r = run(p, [&](VM& vm) { vm.set_limits(lim); });
  EXPECT_TRUE(IsErrorWith(r.result, "limit exceeded"));
}

// -- Fused ops: reference tests (tests-inventory §8) ------------------------------------------

TEST(VmFused, fused_accum_sum_1_to_1000) {
  Ran r = run_ops({Op::PushFrame(), Op::LoadInt(0), Op::SetSlot(0), Op::LoadInt(1), Op::SetSlot(1),
                   Op::AccumSumLoop(0, 1, 1001), Op::GetSlot(0)});
  EXPECT_TRUE(IsOk(r.result, I(500500)));
}

TEST(VmFused, test_fused_sum_loop) {
  Ran r = run_ops({Op::LoadInt(0), Op::SetSlot(0), Op::LoadInt(0), Op::SetSlot(1),
                   Op::AccumSumLoop(0, 1, 100), Op::GetSlot(0)});
  EXPECT_TRUE(IsOk(r.result, I(4950)));
}

TEST(VmFused, fused_and_unfused_sum_loops_match) {
  for (int32_t n : {10, 100, 1000, 10000}) {
    int64_t expected = int64_t(n) * (n - 1) / 2;
    Ran fused = run_ops({Op::PushFrame(), Op::LoadInt(0), Op::SetSlot(0), Op::LoadInt(0),
                         Op::SetSlot(1), Op::AccumSumLoop(0, 1, n), Op::GetSlot(0)});
    // Ops 5..11 are the loop of the reference test; 12 is the exit.
    Ran unfused =
        run_ops({Op::PushFrame(), Op::LoadInt(0), Op::SetSlot(0), Op::LoadInt(0), Op::SetSlot(1),
                 Op::GetSlot(0), Op::GetSlot(1), Op::Add(), Op::SetSlot(0), Op::PreIncSlotVoid(1),
                 Op::SlotLtIntJumpIfFalse(1, n, 12), Op::Jump(5), Op::GetSlot(0)});
    EXPECT_TRUE(IsOk(fused.result, I(expected))) << n;
    EXPECT_TRUE(IsOk(unfused.result, I(expected))) << n;
  }
}

TEST(VmFused, fused_slot_inc_lt_jump_back) {
  Ran r = run_ops({Op::LoadInt(0), Op::SetSlot(0), Op::LoadInt(0), Op::SetSlot(1), Op::GetSlot(1),
                   Op::GetSlot(0), Op::Add(), Op::SetSlot(1), Op::SlotIncLtIntJumpBack(0, 10, 4),
                   Op::GetSlot(1)});
  EXPECT_TRUE(IsOk(r.result, I(45)));
  EXPECT_TRUE(Same(r.vm.frames().back().slots[0], I(10)));
}

TEST(VmFused, fused_pre_inc_slot) {
  Ran r = run_ops({Op::LoadInt(41), Op::SetSlot(0), Op::PreIncSlot(0)});
  EXPECT_TRUE(IsOk(r.result, I(42)));
  EXPECT_TRUE(Same(r.vm.frames().back().slots[0], I(42)));
}

TEST(VmFused, pre_inc_slot_void_pushes_nothing) {
  Ran r = run_ops({Op::LoadInt(41), Op::SetSlot(0), Op::PreIncSlotVoid(0)});
  EXPECT_TRUE(IsHalted(r.result));
  EXPECT_TRUE(Same(r.vm.frames().back().slots[0], I(42)));
}

TEST(VmFused, fused_add_assign_slot_void) {
  Ran r = run_ops({Op::LoadInt(40), Op::SetSlot(0), Op::LoadInt(2), Op::SetSlot(1),
                   Op::AddAssignSlotVoid(0, 1), Op::GetSlot(0)});
  EXPECT_TRUE(IsOk(r.result, I(42)));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmFused, fused_concat_const_loop) {
  Program p;
  uint16_t c = p.constant(Value::Str("x"));
  p.str("");
  p.emit({Op::SetSlot(0), Op::LoadInt(0), Op::SetSlot(1), Op::ConcatConstLoop(c, 0, 1, 5),
          Op::GetSlot(0)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, Value::Str("xxxxx")));
  EXPECT_TRUE(Same(r.vm.frames().back().slots[1], I(5)));
}

TEST(VmFused, fused_push_int_range_loop) {
  Program p;
  uint16_t arr = p.name("arr");
  p.emit({Op::DeclareArray(arr), Op::LoadInt(0), Op::SetSlot(0), Op::PushIntRangeLoop(arr, 0, 5),
          Op::ArrayLen(arr)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(5)));
  EXPECT_TRUE(Same(r.vm.globals()[arr], ints({0, 1, 2, 3, 4})));
  EXPECT_TRUE(Same(r.vm.frames().back().slots[0], I(5)));
}

// -- Fused ops: edge cases (tests-inventory §14, ops.md §17) ----------------------------------

TEST(VmFused, accum_sum_loop_zero_iterations_rewrites_undef_slots_as_int) {
  Ran r = run_ops({Op::AccumSumLoop(0, 1, 0)});
  EXPECT_TRUE(IsHalted(r.result));
  EXPECT_TRUE(SameValues(r.vm.frames().back().slots, {I(0), I(0)}));
}

TEST(VmFused, accum_sum_loop_truncates_float_slots) {
  Ran r = run_ops({Op::LoadFloat(0.5), Op::SetSlot(0), Op::LoadFloat(1.5), Op::SetSlot(1),
                   Op::AccumSumLoop(0, 1, 4)});
  EXPECT_TRUE(SameValues(r.vm.frames().back().slots, {I(6), I(4)}));
}

TEST(VmFused, accum_sum_loop_with_same_slot_keeps_final_counter) {
  Ran r = run_ops({Op::LoadInt(0), Op::SetSlot(0), Op::AccumSumLoop(0, 0, 5), Op::GetSlot(0)});
  EXPECT_TRUE(IsOk(r.result, I(5)));
}

TEST(VmFused, accum_sum_loop_wraps_on_overflow) {
  Ran r = run_ops({Op::LoadInt(kMax), Op::SetSlot(0), Op::LoadInt(1), Op::SetSlot(1),
                   Op::AccumSumLoop(0, 1, 2)});
  EXPECT_TRUE(SameValues(r.vm.frames().back().slots, {I(kMin), I(2)}));
}

TEST(VmFused, add_assign_slot_void_truncates_floats) {
  Ran r = run_ops({Op::LoadFloat(1.5), Op::SetSlot(0), Op::LoadFloat(1.5), Op::SetSlot(1),
                   Op::AddAssignSlotVoid(0, 1), Op::GetSlot(0)});
  EXPECT_TRUE(IsOk(r.result, I(2)));
}

TEST(VmFused, add_assign_slot_void_wraps) {
  Ran r = run_ops({Op::LoadInt(kMax), Op::SetSlot(0), Op::LoadInt(1), Op::SetSlot(1),
                   Op::AddAssignSlotVoid(0, 1), Op::GetSlot(0)});
  EXPECT_TRUE(IsOk(r.result, I(kMin)));
}

TEST(VmFused, pre_inc_slot_wraps_at_max) {
  EXPECT_TRUE(
      IsOk(run_ops({Op::LoadInt(kMax), Op::SetSlot(0), Op::PreIncSlot(0)}).result, I(kMin)));
}

TEST(VmFused, pre_inc_slot_truncates_float) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadFloat(2.9), Op::SetSlot(0), Op::PreIncSlot(0)}).result, I(3)));
}

TEST(VmFused, slot_inc_lt_jump_back_wraps_and_compares) {
  Ran r = run_ops({Op::LoadInt(kMax), Op::SetSlot(0), Op::SlotIncLtIntJumpBack(0, 0, 4),
                   Op::LoadInt(999), Op::GetSlot(0)});
  EXPECT_TRUE(SameValues(r.full_stack(), {I(kMin)}));
}

TEST(VmFused, concat_const_loop_missing_constant_and_undef_slots) {
  Ran r = run_ops({Op::ConcatConstLoop(99, 0, 1, 3)});
  EXPECT_TRUE(SameValues(r.vm.frames().back().slots, {Value::Str(""), I(3)}));
}

TEST(VmFused, concat_const_loop_zero_iterations_stringifies_slot) {
  Program p;
  uint16_t c = p.constant(Value::Str("x"));
  p.emit({Op::LoadInt(5), Op::SetSlot(0), Op::LoadInt(9), Op::SetSlot(1),
          Op::ConcatConstLoop(c, 0, 1, 3)});
  Ran r = run(p);
  EXPECT_TRUE(SameValues(r.vm.frames().back().slots, {Value::Str("5"), I(9)}));
}

TEST(VmFused, push_int_range_loop_replaces_non_array_global) {
  Program p;
  uint16_t g = p.name("g");
  p.emit({Op::LoadInt(7), Op::SetVar(g), Op::LoadInt(2), Op::SetSlot(0),
          Op::PushIntRangeLoop(g, 0, 5)});
  Ran r = run(p);
  EXPECT_TRUE(Same(r.vm.globals()[g], ints({2, 3, 4})));
  EXPECT_TRUE(Same(r.vm.frames().back().slots[0], I(5)));
}

TEST(VmFused, push_int_range_loop_appends_to_existing_array) {
  Program p;
  uint16_t g = p.name("g");
  p.load(ints({9}));
  p.emit({Op::SetVar(g), Op::LoadInt(0), Op::SetSlot(0), Op::PushIntRangeLoop(g, 0, 2)});
  Ran r = run(p);
  EXPECT_TRUE(Same(r.vm.globals()[g], ints({9, 0, 1})));
}

TEST(VmFused, slot_lt_int_jump_if_false_jumps_when_not_less) {
  Ran r = run_ops({Op::LoadInt(5), Op::SetSlot(0), Op::SlotLtIntJumpIfFalse(0, 5, 4),
                   Op::LoadInt(999), Op::LoadInt(7)});
  EXPECT_TRUE(SameValues(r.full_stack(), {I(7)}));
}

TEST(VmFused, slot_lt_int_jump_if_false_falls_through_when_less) {
  Ran r = run_ops({Op::LoadInt(4), Op::SetSlot(0), Op::SlotLtIntJumpIfFalse(0, 5, 4),
                   Op::LoadInt(999), Op::LoadInt(7)});
  EXPECT_TRUE(SameValues(r.full_stack(), {I(999), I(7)}));
}

TEST(VmFused, slot_lt_int_jump_if_false_truncates_slot_first) {
  Ran r = run_ops({Op::LoadFloat(-0.5), Op::SetSlot(0), Op::SlotLtIntJumpIfFalse(0, 0, 4),
                   Op::LoadInt(999), Op::LoadInt(7)});
  EXPECT_TRUE(SameValues(r.full_stack(), {I(7)}));
}

// -- Fused == unfused (ops.md §17.1, STYLE habit 9) -------------------------------------------

TEST(VmFused, pre_inc_slot_matches_unfused_sequence) {
  Ran fused = run_ops(
      {Op::LoadInt(9), Op::SetSlot(0), Op::PreIncSlot(0), Op::GetSlot(0), Op::MakeArray(2)});
  Ran unfused = run_ops({Op::LoadInt(9), Op::SetSlot(0), Op::GetSlot(0), Op::Inc(), Op::Dup(),
                         Op::SetSlot(0), Op::GetSlot(0), Op::MakeArray(2)});
  EXPECT_TRUE(IsOk(fused.result, ints({10, 10})));
  EXPECT_TRUE(IsOk(unfused.result, ints({10, 10})));
}

TEST(VmFused, concat_const_loop_matches_unfused_sequence) {
  Program fp;
  uint16_t c = fp.constant(Value::Str("ab"));
  fp.str("<");
  fp.emit({Op::SetSlot(0), Op::LoadInt(1), Op::SetSlot(1), Op::ConcatConstLoop(c, 0, 1, 4),
           Op::GetSlot(0), Op::GetSlot(1), Op::MakeArray(2)});
  Program up;
  uint16_t uc = up.constant(Value::Str("ab"));
  up.str("<");
  up.emit({Op::SetSlot(0), Op::LoadInt(1), Op::SetSlot(1)});
  size_t top = up.pos();
  up.emit({Op::GetSlot(1), Op::LoadInt(4), Op::NumLt()});
  size_t exit = up.emit(Op::JumpIfFalse(0));
  up.emit({Op::GetSlot(0), Op::LoadConst(uc), Op::Concat(), Op::SetSlot(0), Op::PreIncSlotVoid(1),
           Op::Jump(top)});
  up.patch(exit, up.pos());
  up.emit({Op::GetSlot(0), Op::GetSlot(1), Op::MakeArray(2)});
  Value expected = Value::Array({Value::Str("<ababab"), I(4)});
  EXPECT_TRUE(IsOk(run(fp).result, expected));
  EXPECT_TRUE(IsOk(run(up).result, expected));
}

TEST(VmFused, push_int_range_loop_matches_unfused_sequence) {
  Program fp;
  uint16_t fa = fp.name("a");
  fp.emit({Op::DeclareArray(fa), Op::LoadInt(3), Op::SetSlot(0), Op::PushIntRangeLoop(fa, 0, 7)});
  Program up;
  uint16_t ua = up.name("a");
  up.emit({Op::DeclareArray(ua), Op::LoadInt(3), Op::SetSlot(0)});
  size_t top = up.pos();
  up.emit({Op::GetSlot(0), Op::LoadInt(7), Op::NumLt()});
  size_t exit = up.emit(Op::JumpIfFalse(0));
  up.emit({Op::GetSlot(0), Op::ArrayPush(ua), Op::PreIncSlotVoid(0), Op::Jump(top)});
  up.patch(exit, up.pos());
  Ran f = run(fp);
  Ran u = run(up);
  EXPECT_TRUE(Same(f.vm.globals()[fa], ints({3, 4, 5, 6})));
  EXPECT_TRUE(Same(u.vm.globals()[ua], ints({3, 4, 5, 6})));
  EXPECT_TRUE(SameValues(f.vm.frames().back().slots, u.vm.frames().back().slots));
}

TEST(VmFused, add_assign_slot_void_matches_unfused_for_ints) {
  Ran f = run_ops({Op::LoadInt(-7), Op::SetSlot(0), Op::LoadInt(30), Op::SetSlot(1),
                   Op::AddAssignSlotVoid(0, 1)});
  Ran u = run_ops({Op::LoadInt(-7), Op::SetSlot(0), Op::LoadInt(30), Op::SetSlot(1), Op::GetSlot(0),
                   Op::GetSlot(1), Op::Add(), Op::SetSlot(0)});
  EXPECT_TRUE(SameValues(f.vm.frames().back().slots, {I(23), I(30)}));
  EXPECT_TRUE(SameValues(u.vm.frames().back().slots, {I(23), I(30)}));
}

}  // namespace
}  // namespace fusevm_test
