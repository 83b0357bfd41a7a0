// Interpreter tests: the working block ops (Map, Grep, Sort, SortDefault, ForEach).
// Sources: ARCHITECTURE §5 and §9 "Block ops in detail", which supersede the reference's
// no-ops.
#include <algorithm>

#include "vm_test_util.hpp"

namespace fusevm_test {
namespace {

Value I(int64_t i) { return Value::Int(i); }
Value S(const char* s) { return Value::Str(s); }

// Predicate: the run failed with a message starting "block N:".
::testing::AssertionResult IsBlockError(const VMResult& r, int n) {
  std::string prefix = "block " + std::to_string(n) + ":";
  if (r.is_error() && r.error().message.rfind(prefix, 0) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "got " << r.repr() << ", expected an error starting \"" << prefix << "\"";
}

// Sorts a copy of `a` by repr so two arrays can be compared as multisets.
std::vector<std::string> sorted_reprs(const ValueArray& a) {
  std::vector<std::string> out;
  for (const Value& v : a) out.push_back(v.repr());
  std::sort(out.begin(), out.end());
  return out;
}

// -- MapBlock ---------------------------------------------------------------------------------

TEST(VmBlocks, map_block_doubles_an_array) {
  Program p;
  uint16_t b = p.block([&] { p.emit({Op::LoadInt(2), Op::Mul()}); });
  p.load(ints({1, 2, 3}));
  p.emit(Op::MapBlock(b));
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, ints({2, 4, 6})));
  EXPECT_EQ(r.vm.stack().size(), 0u);
  EXPECT_EQ(r.vm.frames().size(), 1u);
}

TEST(VmBlocks, map_block_result_is_the_top_value) {
  Program p;
  uint16_t b = p.block([&] { p.emit({Op::LoadInt(7), Op::LoadInt(8)}); });
  p.load(ints({1, 2}));
  p.emit(Op::MapBlock(b));
  EXPECT_TRUE(IsOk(run(p).result, ints({8, 8})));
}

TEST(VmBlocks, map_block_that_leaves_nothing_gives_undef) {
  Program p;
  uint16_t b = p.block([&] { p.emit(Op::Pop()); });
  p.load(ints({1, 2}));
  p.emit(Op::MapBlock(b));
  EXPECT_TRUE(IsOk(run(p).result, Value::Array({Value::Undef(), Value::Undef()})));
}

TEST(VmBlocks, map_block_keeps_values_below_the_array) {
  Program p;
  uint16_t b = p.block([&] { p.emit(Op::Inc()); });
  p.i(99);
  p.load(ints({1}));
  p.emit(Op::MapBlock(b));
  EXPECT_TRUE(SameValues(run(p).full_stack(), {I(99), ints({2})}));
}

TEST(VmBlocks, undef_input_counts_as_empty_array) {
  Program p;
  uint16_t b = p.block([&] { p.emit({Op::LoadInt(2), Op::Mul()}); });
  p.emit({Op::LoadUndef(), Op::MapBlock(b), Op::LoadUndef(), Op::GrepBlock(b), Op::LoadUndef(),
          Op::SortBlock(b), Op::MakeArray(3)});
  EXPECT_TRUE(IsOk(run(p).result, Value::Array({ints({}), ints({}), ints({})})));
}

TEST(VmBlocks, non_array_input_counts_as_singleton) {
  Program p;
  uint16_t b = p.block([&] { p.emit({Op::LoadInt(2), Op::Mul()}); });
  p.emit({Op::LoadInt(5), Op::MapBlock(b)});
  EXPECT_TRUE(IsOk(run(p).result, ints({10})));

  Program q;
  uint16_t id = q.block([] {});
  q.str("x");
  q.emit(Op::GrepBlock(id));
  EXPECT_TRUE(IsOk(run(q).result, strs({"x"})));
}

TEST(VmBlocks, empty_stack_input_counts_as_empty_array) {
  Program p;
  uint16_t b = p.block([&] { p.emit(Op::Inc()); });
  p.emit(Op::MapBlock(b));
  EXPECT_TRUE(IsOk(run(p).result, ints({})));
}

TEST(VmBlocks, block_shares_the_current_frame_slots) {
  Program p;
  uint16_t b = p.block([&] { p.emit({Op::Dup(), Op::SetSlot(1), Op::GetSlot(0), Op::Add()}); });
  p.emit({Op::LoadInt(100), Op::SetSlot(0)});
  p.load(ints({1, 2}));
  p.emit(Op::MapBlock(b));
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, ints({101, 102})));
  EXPECT_EQ(r.vm.frames().size(), 1u);
  EXPECT_TRUE(Same(r.vm.frames().back().slots[1], I(2)));
}

TEST(VmBlocks, block_inside_a_sub_uses_the_sub_slots) {
  Program p;
  uint16_t b = p.block([&] { p.emit({Op::GetSlot(0), Op::Mul()}); });
  uint16_t f = p.sub("scale", [&] {
    p.emit({Op::SetSlot(0), Op::LoadConst(p.constant(ints({1, 2, 3}))), Op::MapBlock(b),
            Op::ReturnValue()});
  });
  p.emit({Op::LoadInt(-1), Op::SetSlot(0), Op::LoadInt(10), Op::Call(f, 1), Op::GetSlot(0),
          Op::MakeArray(2)});
  EXPECT_TRUE(IsOk(run(p).result, Value::Array({ints({10, 20, 30}), I(-1)})));
}

TEST(VmBlocks, block_invocation_that_calls_a_sub_works) {
  Program p;
  uint16_t dbl = p.sub("double", [&] {
    p.emit({Op::SetSlot(0), Op::GetSlot(0), Op::GetSlot(0), Op::Add(), Op::ReturnValue()});
  });
  uint16_t b = p.block([&] { p.emit(Op::Call(dbl, 1)); });
  p.load(ints({1, 2, 3}));
  p.emit(Op::MapBlock(b));
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, ints({2, 4, 6})));
  EXPECT_EQ(r.vm.frames().size(), 1u);
}

TEST(VmBlocks, nested_map_blocks) {
  Program p;
  uint16_t inner = p.block([&] { p.emit({Op::LoadInt(2), Op::Mul()}); });
  uint16_t outer = p.block([&] { p.emit(Op::MapBlock(inner)); });
  p.load(Value::Array({ints({1, 2}), ints({3})}));
  p.emit(Op::MapBlock(outer));
  EXPECT_TRUE(IsOk(run(p).result, Value::Array({ints({2, 4}), ints({6})})));
}

TEST(VmBlocks, block_jump_to_its_end_finishes_the_invocation) {
  Program p;
  size_t skip = p.emit(Op::Jump(0));
  uint64_t start = p.pos();
  size_t to_end = p.emit(Op::Jump(0));
  p.emit({Op::LoadInt(2), Op::Mul()});
  uint64_t end = p.pos();
  p.patch(to_end, end);
  p.patch(skip, end);
  uint16_t blk = p.builder().add_block_range(start, end);
  p.load(ints({1, 2}));
  p.emit(Op::MapBlock(blk));
  EXPECT_TRUE(IsOk(run(p).result, ints({1, 2})));
}

// -- GrepBlock --------------------------------------------------------------------------------

TEST(VmBlocks, grep_block_keeps_truthy) {
  Program p;
  uint16_t b = p.block([&] { p.emit({Op::LoadInt(2), Op::Mod()}); });
  p.load(ints({0, 1, 2, 3, 4, 5}));
  p.emit(Op::GrepBlock(b));
  EXPECT_TRUE(IsOk(run(p).result, ints({1, 3, 5})));
}

TEST(VmBlocks, grep_block_keeps_the_original_elements) {
  Program p;
  uint16_t b = p.block([] {});
  p.load(Value::Array({S("a"), S(""), S("0"), S("b"), I(0), Value::Undef(), ints({})}));
  p.emit(Op::GrepBlock(b));
  EXPECT_TRUE(IsOk(run(p).result, strs({"a", "b"})));
}

// -- SortBlock / SortDefault ------------------------------------------------------------------

TEST(VmBlocks, sort_block_with_spaceship_sorts_ascending) {
  Program p;
  uint16_t b = p.block([&] { p.emit(Op::Spaceship()); });
  p.load(ints({3, 1, 2, 5, 4}));
  p.emit(Op::SortBlock(b));
  EXPECT_TRUE(IsOk(run(p).result, ints({1, 2, 3, 4, 5})));
}

TEST(VmBlocks, sort_block_with_reversed_comparator_sorts_descending) {
  Program p;
  uint16_t b = p.block([&] { p.emit({Op::Swap(), Op::Spaceship()}); });
  p.load(ints({3, 1, 2, 5, 4}));
  p.emit(Op::SortBlock(b));
  EXPECT_TRUE(IsOk(run(p).result, ints({5, 4, 3, 2, 1})));
}

TEST(VmBlocks, sort_block_is_stable) {
  // Key = last digit: (a % 10) <=> (b % 10).
  Program p;
  uint16_t b = p.block([&] {
    p.emit({Op::LoadInt(10), Op::Mod(), Op::Swap(), Op::LoadInt(10), Op::Mod(), Op::Swap(),
            Op::Spaceship()});
  });
  p.load(ints({12, 21, 32, 41, 2, 11}));
  p.emit(Op::SortBlock(b));
  EXPECT_TRUE(IsOk(run(p).result, ints({21, 41, 11, 12, 32, 2})));
}

TEST(VmBlocks, sort_block_nan_result_counts_as_equal) {
  Program p;
  uint16_t b = p.block([&] { p.emit({Op::Pop(), Op::Pop(), Op::LoadFloat(kNaN)}); });
  p.load(ints({3, 1, 2}));
  p.emit(Op::SortBlock(b));
  EXPECT_TRUE(IsOk(run(p).result, ints({3, 1, 2})));
}

TEST(VmBlocks, sort_block_reads_string_results_as_numbers) {
  Program p;
  uint16_t minus_one = p.constant(Value::Str("-1"));
  uint16_t one = p.constant(Value::Str("1"));
  // "a before b" iff a < b, answered as the strings "-1" / "1".
  uint16_t b = p.block([&] {
    p.emit(Op::NumLt());
    size_t j = p.emit(Op::JumpIfFalse(0));
    p.emit(Op::LoadConst(minus_one));
    size_t done = p.emit(Op::Jump(0));
    p.patch(j, p.pos());
    p.emit(Op::LoadConst(one));
    p.patch(done, p.pos());
  });
  p.load(ints({2, 3, 1}));
  p.emit(Op::SortBlock(b));
  EXPECT_TRUE(IsOk(run(p).result, ints({1, 2, 3})));
}

TEST(VmBlocks, sort_block_tolerates_an_inconsistent_comparator) {
  for (int64_t answer : {-1, 1}) {
    Program p;
    uint16_t b = p.block([&] { p.emit({Op::Pop(), Op::Pop(), Op::LoadInt(answer)}); });
    Value input = ints({5, 3, 9, 1, 7, 3, 8, 2, 6, 4, 0, 11, 10});
    p.load(input);
    p.emit(Op::SortBlock(b));
    Ran r = run(p);
    ASSERT_TRUE(r.result.is_ok()) << r.result.repr();
    ASSERT_TRUE(r.result.value().is_array());
    EXPECT_EQ(sorted_reprs(r.result.value().as_array()), sorted_reprs(input.as_array())) << answer;
  }
}

TEST(VmBlocks, sort_block_tolerates_a_comparator_that_changes_its_mind) {
  // Answers alternate -1, 1, -1, ... by flipping a global on every call.
  Program p;
  uint16_t g = p.name("flip");
  uint16_t b = p.block([&] {
    p.emit({Op::Pop(), Op::Pop(), Op::GetVar(g), Op::Negate(), Op::Dup(), Op::SetVar(g)});
  });
  p.emit({Op::LoadInt(1), Op::SetVar(g)});
  Value input = ints({4, 8, 1, 9, 3, 3, 7, 0, 2, 6, 5});
  p.load(input);
  p.emit(Op::SortBlock(b));
  Ran r = run(p);
  ASSERT_TRUE(r.result.is_ok()) << r.result.repr();
  EXPECT_EQ(sorted_reprs(r.result.value().as_array()), sorted_reprs(input.as_array()));
}

TEST(VmBlocks, sort_default_sorts_by_bytes) {
  Program p;
  p.load(strs({"b", "B", "a", "10", "9", ""}));
  p.emit(Op::SortDefault());
  EXPECT_TRUE(IsOk(run(p).result, strs({"", "10", "9", "B", "a", "b"})));
}

TEST(VmBlocks, sort_default_compares_to_str_but_keeps_values) {
  Program p;
  p.load(ints({10, 9, 100, -1}));
  p.emit(Op::SortDefault());
  EXPECT_TRUE(IsOk(run(p).result, ints({-1, 10, 100, 9})));
}

TEST(VmBlocks, sort_default_is_stable_for_equal_strings) {
  Program p;
  p.load(Value::Array({S("1"), I(1), Value::Float(1.0), Value::Bool(true), S("0")}));
  p.emit(Op::SortDefault());
  EXPECT_TRUE(IsOk(run(p).result,
                   Value::Array({S("0"), S("1"), I(1), Value::Float(1.0), Value::Bool(true)})));
}

TEST(VmBlocks, sort_default_orders_utf8_bytes_unsigned) {
  Program p;
  p.load(strs({"\xc3\xa9", "z", "e"}));
  p.emit(Op::SortDefault());
  EXPECT_TRUE(IsOk(run(p).result, strs({"e", "z", "\xc3\xa9"})));
}

// -- ForEachBlock
// ------------------------------------------------------------------------------------

TEST(VmBlocks, for_each_block_runs_side_effects_and_pushes_nothing) {
  Program p;
  uint16_t total = p.name("total");
  uint16_t b = p.block([&] { p.emit({Op::GetVar(total), Op::Add(), Op::SetVar(total)}); });
  p.emit({Op::LoadInt(0), Op::SetVar(total), Op::LoadInt(99)});
  p.load(ints({1, 2, 3, 4}));
  p.emit(Op::ForEachBlock(b));
  Ran r = run(p);
  EXPECT_TRUE(SameValues(r.full_stack(), {I(99)}));
  EXPECT_TRUE(Same(r.vm.globals()[total], I(10)));
}

TEST(VmBlocks, for_each_block_discards_block_results) {
  Program p;
  uint16_t b = p.block([&] { p.emit({Op::Dup(), Op::Dup()}); });
  p.load(ints({1, 2, 3}));
  p.emit(Op::ForEachBlock(b));
  Ran r = run(p);
  EXPECT_TRUE(IsHalted(r.result));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmBlocks, for_each_block_visits_in_order) {
  Program p;
  uint16_t b = p.block([&] { p.emit(Op::Print(1)); });
  p.load(Value::Array({S("a"), I(1), S("b")}));
  p.emit(Op::ForEachBlock(b));
  Ran r = run(p);
  EXPECT_EQ(r.output(), "a1b");
  EXPECT_TRUE(IsHalted(r.result));
}

TEST(VmBlocks, for_each_over_undef_runs_nothing) {
  Program p;
  uint16_t b = p.block([&] { p.emit(Op::Print(1)); });
  p.emit({Op::LoadUndef(), Op::ForEachBlock(b)});
  Ran r = run(p);
  EXPECT_EQ(r.output(), "");
  EXPECT_TRUE(IsHalted(r.result));
}

// -- Block errors
// ---------------------------------------------------------------------------------------

TEST(VmBlocks, block_that_jumps_outside_its_range_is_an_error) {
  Program p;
  p.emit(Op::Nop());
  uint16_t b = p.block([&] { p.emit(Op::Jump(0)); });
  p.load(ints({1}));
  p.emit(Op::MapBlock(b));
  EXPECT_TRUE(IsBlockError(run(p).result, b));
}

TEST(VmBlocks, block_error_names_the_block_index) {
  Program p;
  uint16_t ok = p.block([&] { p.emit(Op::Inc()); });
  uint16_t bad = p.block([&] { p.emit(Op::Jump(100000)); });
  ASSERT_EQ(ok, 0);
  ASSERT_EQ(bad, 1);
  p.load(ints({1}));
  p.emit({Op::MapBlock(ok), Op::MapBlock(bad)});
  EXPECT_TRUE(IsBlockError(run(p).result, 1));
}

TEST(VmBlocks, conditional_jump_outside_block_is_an_error) {
  Program p;
  uint16_t b = p.block([&] { p.emit(Op::JumpIfTrue(0)); });
  p.load(ints({1}));
  p.emit(Op::ForEachBlock(b));
  EXPECT_TRUE(IsBlockError(run(p).result, b));
}

TEST(VmBlocks, return_inside_a_block_is_an_error) {
  Program p;
  uint16_t b = p.block([&] { p.emit(Op::ReturnValue()); });
  p.load(ints({1}));
  p.emit(Op::MapBlock(b));
  EXPECT_TRUE(IsBlockError(run(p).result, b));

  Program q;
  uint16_t b2 = q.block([&] { q.emit(Op::Return()); });
  q.load(ints({1}));
  q.emit(Op::ForEachBlock(b2));
  EXPECT_TRUE(IsBlockError(run(q).result, b2));
}

TEST(VmBlocks, push_frame_or_pop_frame_inside_a_block_is_an_error) {
  Program p;
  uint16_t b = p.block([&] { p.emit(Op::PushFrame()); });
  p.load(ints({1}));
  p.emit(Op::MapBlock(b));
  EXPECT_TRUE(IsBlockError(run(p).result, b));

  Program q;
  uint16_t b2 = q.block([&] { q.emit(Op::PopFrame()); });
  q.load(ints({1}));
  q.emit(Op::GrepBlock(b2));
  EXPECT_TRUE(IsBlockError(run(q).result, b2));
}

TEST(VmBlocks, bad_block_index_is_an_error) {
  for (Op op : {Op::MapBlock(7), Op::GrepBlock(7), Op::SortBlock(7), Op::ForEachBlock(7)}) {
    Program p;
    p.load(ints({1, 2}));
    p.emit(op);
    EXPECT_TRUE(IsBlockError(run(p).result, 7)) << op.name();
  }
}

TEST(VmBlocks, return_inside_a_sub_called_from_a_block_is_fine) {
  Program p;
  uint16_t f = p.sub("f", [&] { p.emit({Op::Pop(), Op::Return()}); });
  uint16_t b = p.block([&] { p.emit({Op::Call(f, 1), Op::LoadInt(1)}); });
  p.load(ints({1, 2}));
  p.emit(Op::MapBlock(b));
  EXPECT_TRUE(IsOk(run(p).result, ints({1, 1})));
}

}  // namespace
}  // namespace fusevm_test
