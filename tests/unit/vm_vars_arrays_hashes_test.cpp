// Interpreter tests: globals, slots, arrays and hashes.
// Sources: spec/ops.md §3–6, tests-inventory §6 and §14, chunk-and-vm §10.
#include "vm_test_util.hpp"

namespace fusevm_test {
namespace {

Value I(int64_t i) { return Value::Int(i); }
Value S(const char* s) { return Value::Str(s); }

// -- Globals ----------------------------------------------------------------------------

TEST(VmVars, global_variables) {
  Program p;
  uint16_t x = p.name("x");
  p.emit({Op::LoadInt(42), Op::SetVar(x), Op::GetVar(x)});
  EXPECT_TRUE(IsOk(run(p).result, I(42)));
}

TEST(VmVars, global_var_persists_after_set) {
  Program p;
  uint16_t x = p.name("x");
  p.emit({Op::LoadInt(42), Op::SetVar(x), Op::GetVar(x)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(42)));
  EXPECT_TRUE(Same(r.vm.globals()[x], I(42)));
}

TEST(VmVars, undeclared_var_is_undef) {
  Program p;
  uint16_t x = p.name("x");
  p.emit(Op::GetVar(x));
  EXPECT_TRUE(IsOk(run(p).result, Value::Undef()));
}

TEST(VmVars, globals_are_sized_to_the_name_pool) {
  Program p;
  p.name("a");
  p.name("b");
  p.name("c");
  VM vm(p.build());
  ASSERT_EQ(vm.globals().size(), 3u);
  for (const Value& g : vm.globals()) EXPECT_TRUE(Same(g, Value::Undef()));
}

TEST(VmVars, get_var_past_the_pool_is_undef_and_set_var_grows_globals) {
  Ran r = run_ops({Op::GetVar(500), Op::LoadInt(3), Op::SetVar(7)});
  EXPECT_TRUE(IsOk(r.result, Value::Undef()));
  ASSERT_GE(r.vm.globals().size(), 8u);
  EXPECT_TRUE(Same(r.vm.globals()[7], I(3)));
  EXPECT_TRUE(Same(r.vm.globals()[6], Value::Undef()));
}

TEST(VmVars, declare_var_and_array_hash_aliases_act_like_set_and_get_var) {
  Program p;
  uint16_t a = p.name("a"), b = p.name("b"), c = p.name("c");
  p.emit({Op::LoadInt(1), Op::DeclareVar(a), Op::LoadInt(2), Op::SetArray(b), Op::LoadInt(3),
          Op::SetHash(c), Op::GetArray(a), Op::GetHash(b), Op::GetVar(c), Op::MakeArray(3)});
  EXPECT_TRUE(IsOk(run(p).result, ints({1, 2, 3})));
}

TEST(VmVars, declare_array_and_hash_overwrite_and_pop_nothing) {
  Program p;
  uint16_t a = p.name("a"), h = p.name("h");
  p.emit({Op::LoadInt(9), Op::LoadInt(5), Op::SetVar(a), Op::LoadInt(5), Op::SetVar(h),
          Op::DeclareArray(a), Op::DeclareHash(h)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(9)));
  EXPECT_TRUE(Same(r.vm.globals()[a], Value::Array({})));
  EXPECT_TRUE(Same(r.vm.globals()[h], Value::Hash(HashMap{})));
}

// -- Slots -----------------------------------------------------------------------------

TEST(VmSlots, slot_variables) {
  Ran r = run_ops({Op::PushFrame(), Op::LoadInt(100), Op::SetSlot(0), Op::LoadInt(200),
                   Op::SetSlot(1), Op::GetSlot(0), Op::GetSlot(1), Op::Add()});
  EXPECT_TRUE(IsOk(r.result, I(300)));
}

TEST(VmSlots, pre_inc_slot_on_fresh_frame_is_one) {
  EXPECT_TRUE(IsOk(run_ops({Op::PreIncSlot(3)}).result, I(1)));
}

TEST(VmSlots, get_slot_past_end_is_undef_and_does_not_grow) {
  Ran r = run_ops({Op::GetSlot(9)});
  EXPECT_TRUE(IsOk(r.result, Value::Undef()));
  EXPECT_EQ(r.vm.frames().back().slots.size(), 0u);
}

TEST(VmSlots, set_slot_grows_with_undef) {
  Ran r = run_ops({Op::LoadInt(4), Op::SetSlot(2)});
  ASSERT_EQ(r.vm.frames().size(), 1u);
  EXPECT_TRUE(SameValues(r.vm.frames().back().slots, {Value::Undef(), Value::Undef(), I(4)}));
}

TEST(VmSlots, slot_array_get_and_set) {
  Program p;
  p.load(ints({1, 2}));
  p.emit({Op::SetSlot(0), Op::LoadInt(9), Op::LoadInt(3), Op::SlotArraySet(0), Op::LoadInt(1),
          Op::SlotArrayGet(0), Op::LoadInt(2), Op::SlotArrayGet(0), Op::LoadInt(3),
          Op::SlotArrayGet(0), Op::MakeArray(3)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, Value::Array({I(2), Value::Undef(), I(9)})));
  EXPECT_TRUE(
      Same(r.vm.frames().back().slots[0], Value::Array({I(1), I(2), Value::Undef(), I(9)})));
}

TEST(VmSlots, slot_array_get_negative_index_is_undef) {
  Program p;
  p.load(ints({5, 6}));
  p.emit({Op::SetSlot(0), Op::LoadInt(-1), Op::SlotArrayGet(0)});
  EXPECT_TRUE(IsOk(run(p).result, Value::Undef()));
}

TEST(VmSlots, slot_array_get_of_non_array_slot_is_undef) {
  Ran r = run_ops({Op::LoadInt(7), Op::SetSlot(0), Op::LoadInt(0), Op::SlotArrayGet(0)});
  EXPECT_TRUE(IsOk(r.result, Value::Undef()));
}

TEST(VmSlots, slot_array_set_on_non_array_slot_discards) {
  Ran r = run_ops({Op::LoadInt(7), Op::LoadInt(2), Op::SlotArraySet(0), Op::GetSlot(0)});
  EXPECT_TRUE(IsOk(r.result, Value::Undef()));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmSlots, slot_array_set_negative_index_discards) {
  Program p;
  p.load(ints({1}));
  p.emit({Op::SetSlot(0), Op::LoadInt(7), Op::LoadInt(-1), Op::SlotArraySet(0), Op::GetSlot(0)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, ints({1})));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

// -- Arrays ------------------------------------------------------------------------------

TEST(VmArrays, make_array_and_len) {
  Ran r = run_ops({Op::LoadInt(10), Op::LoadInt(20), Op::LoadInt(30), Op::MakeArray(3)});
  EXPECT_TRUE(IsOk(r.result, ints({10, 20, 30})));
}

TEST(VmArrays, make_array_with_fewer_values_takes_all) {
  Ran r = run_ops({Op::LoadInt(1), Op::LoadInt(2), Op::MakeArray(5)});
  EXPECT_TRUE(IsOk(r.result, ints({1, 2})));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmArrays, make_array_zero_is_empty_and_leaves_stack) {
  Ran r = run_ops({Op::LoadInt(1), Op::MakeArray(0)});
  EXPECT_TRUE(SameValues(r.full_stack(), {I(1), Value::Array({})}));
}

// Declares array `arr` and pushes `xs` into it.
uint16_t declare_with(Program& p, std::initializer_list<int64_t> xs) {
  uint16_t arr = p.name("arr");
  p.emit(Op::DeclareArray(arr));
  for (int64_t x : xs) p.emit({Op::LoadInt(x), Op::ArrayPush(arr)});
  return arr;
}

TEST(VmArrays, array_push_pop) {
  Program p;
  uint16_t arr = declare_with(p, {10, 20});
  p.emit(Op::ArrayPop(arr));
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(20)));
  EXPECT_TRUE(Same(r.vm.globals()[arr], ints({10})));
}

TEST(VmArrays, array_shift) {
  Program p;
  uint16_t arr = declare_with(p, {10, 20});
  p.emit(Op::ArrayShift(arr));
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(10)));
  EXPECT_TRUE(Same(r.vm.globals()[arr], ints({20})));
}

TEST(VmArrays, array_get_set) {
  Program p;
  uint16_t arr = declare_with(p, {0, 0});
  p.emit({Op::LoadInt(42), Op::LoadInt(1), Op::ArraySet(arr), Op::LoadInt(1), Op::ArrayGet(arr)});
  EXPECT_TRUE(IsOk(run(p).result, I(42)));
}

TEST(VmArrays, array_len) {
  Program p;
  uint16_t arr = declare_with(p, {1, 2, 3});
  p.emit(Op::ArrayLen(arr));
  EXPECT_TRUE(IsOk(run(p).result, I(3)));
}

TEST(VmArrays, array_in_place_mutation_persists) {
  Program p;
  uint16_t arr = declare_with(p, {1, 2, 3, 4, 5});
  Ran r = run(p);
  EXPECT_TRUE(IsHalted(r.result));
  EXPECT_TRUE(Same(r.vm.globals()[arr], ints({1, 2, 3, 4, 5})));
}

TEST(VmArrays, array_get_out_of_bounds_returns_undef) {
  Program p;
  uint16_t arr = declare_with(p, {7});
  p.emit({Op::LoadInt(99), Op::ArrayGet(arr)});
  EXPECT_TRUE(IsOk(run(p).result, Value::Undef()));
}

TEST(VmArrays, array_get_negative_index_is_undef) {
  Program p;
  uint16_t arr = declare_with(p, {7});
  p.emit({Op::LoadInt(-1), Op::ArrayGet(arr)});
  EXPECT_TRUE(IsOk(run(p).result, Value::Undef()));
}

TEST(VmArrays, array_get_float_index_truncates_and_nan_is_zero) {
  Program p;
  uint16_t arr = declare_with(p, {7, 8});
  p.emit({Op::LoadFloat(1.9), Op::ArrayGet(arr), Op::LoadFloat(kNaN), Op::ArrayGet(arr),
          Op::MakeArray(2)});
  EXPECT_TRUE(IsOk(run(p).result, ints({8, 7})));
}

TEST(VmArrays, array_shift_on_empty_returns_undef) {
  Program p;
  uint16_t arr = declare_with(p, {});
  p.emit(Op::ArrayShift(arr));
  EXPECT_TRUE(IsOk(run(p).result, Value::Undef()));
}

TEST(VmArrays, array_pop_on_empty_returns_undef) {
  Program p;
  uint16_t arr = declare_with(p, {});
  p.emit(Op::ArrayPop(arr));
  EXPECT_TRUE(IsOk(run(p).result, Value::Undef()));
}

TEST(VmArrays, array_set_past_end_pads_with_undef) {
  Program p;
  uint16_t arr = declare_with(p, {});
  p.emit({Op::LoadInt(9), Op::LoadInt(3), Op::ArraySet(arr)});
  Ran r = run(p);
  EXPECT_TRUE(IsHalted(r.result));
  EXPECT_TRUE(Same(r.vm.globals()[arr],
                   Value::Array({Value::Undef(), Value::Undef(), Value::Undef(), I(9)})));
}

TEST(VmArrays, array_set_negative_index_discards) {
  Program p;
  uint16_t arr = declare_with(p, {1});
  p.emit({Op::LoadInt(9), Op::LoadInt(-1), Op::ArraySet(arr)});
  Ran r = run(p);
  EXPECT_TRUE(IsHalted(r.result));
  EXPECT_TRUE(Same(r.vm.globals()[arr], ints({1})));
}

TEST(VmArrays, writes_to_non_container_global_are_dropped) {
  Program p;
  uint16_t g = p.name("g");
  p.emit({Op::LoadInt(5), Op::SetVar(g), Op::LoadInt(9), Op::LoadInt(0), Op::ArraySet(g),
          Op::LoadInt(9), Op::ArrayPush(g)});
  p.i(9);
  p.str("k");
  p.emit(Op::HashSet(g));
  Ran r = run(p);
  EXPECT_TRUE(IsHalted(r.result));
  EXPECT_TRUE(Same(r.vm.globals()[g], I(5)));
}

TEST(VmArrays, reads_of_non_array_global_give_undef_or_zero) {
  Program p;
  uint16_t g = p.name("g");
  p.str("text");
  p.emit({Op::SetVar(g), Op::ArrayLen(g), Op::ArrayPop(g), Op::ArrayShift(g), Op::LoadInt(0),
          Op::ArrayGet(g), Op::MakeArray(4)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, Value::Array({I(0), Value::Undef(), Value::Undef(), Value::Undef()})));
  EXPECT_TRUE(Same(r.vm.globals()[g], S("text")));
}

// -- Hashes ------------------------------------------------------------------------------

TEST(VmHashes, hash_set_get) {
  Program p;
  uint16_t h = p.name("h");
  p.emit(Op::DeclareHash(h));
  p.str("fusevm");
  p.str("name");
  p.emit(Op::HashSet(h));
  p.str("name");
  p.emit(Op::HashGet(h));
  EXPECT_TRUE(IsOk(run(p).result, S("fusevm")));
}

TEST(VmHashes, hash_exists_and_delete) {
  Program p;
  uint16_t h = p.name("h");
  p.emit(Op::DeclareHash(h));
  p.str("v");
  p.str("k");
  p.emit(Op::HashSet(h));
  p.str("k");
  p.emit(Op::HashExists(h));
  p.str("k");
  p.emit(Op::HashDelete(h));
  p.str("k");
  p.emit(Op::HashExists(h));
  p.str("k");
  p.emit(Op::HashDelete(h));
  p.emit(Op::MakeArray(4));
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result,
                   Value::Array({Value::Bool(true), S("v"), Value::Bool(false), Value::Undef()})));
  EXPECT_TRUE(Same(r.vm.globals()[h], Value::Hash(HashMap{})));
}

TEST(VmHashes, hash_keys_values) {
  Program p;
  uint16_t h = p.name("h");
  p.emit(Op::DeclareHash(h));
  p.i(1);
  p.str("a");
  p.emit({Op::HashSet(h), Op::HashKeys(h), Op::HashValues(h), Op::MakeArray(2)});
  EXPECT_TRUE(IsOk(run(p).result, Value::Array({strs({"a"}), ints({1})})));
}

TEST(VmHashes, hash_keys_and_values_come_in_matching_order) {
  Program p;
  uint16_t h = p.name("h");
  p.emit(Op::DeclareHash(h));
  const char* keys[] = {"z", "a", "m", "b", "q", "c", "x", "d", "k", "e"};
  for (int i = 0; i < 10; ++i) {
    p.i(i);
    p.str(keys[i]);
    p.emit(Op::HashSet(h));
  }
  p.emit({Op::HashKeys(h), Op::HashValues(h), Op::MakeArray(2)});
  Ran r = run(p);
  ASSERT_TRUE(r.result.is_ok());
  const ValueArray& both = r.result.value().as_array();
  const ValueArray& ks = both[0].as_array();
  const ValueArray& vs = both[1].as_array();
  ASSERT_EQ(ks.size(), 10u);
  ASSERT_EQ(vs.size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    int64_t v = vs[i].as_int();
    EXPECT_EQ(ks[i].as_str(), keys[v]);
  }
}

TEST(VmHashes, hash_in_place_mutation_persists) {
  Program p;
  uint16_t h = p.name("h");
  p.emit(Op::DeclareHash(h));
  p.i(1);
  p.str("alpha");
  p.emit(Op::HashSet(h));
  p.i(2);
  p.str("beta");
  p.emit(Op::HashSet(h));
  Ran r = run(p);
  EXPECT_TRUE(Same(r.vm.globals()[h], Value::Hash(HashMap{{"alpha", I(1)}, {"beta", I(2)}})));
}

TEST(VmHashes, hash_get_missing_key_returns_undef) {
  Program p;
  uint16_t h = p.name("h");
  p.emit(Op::DeclareHash(h));
  p.str("missing");
  p.emit(Op::HashGet(h));
  EXPECT_TRUE(IsOk(run(p).result, Value::Undef()));
}

TEST(VmHashes, hash_keys_are_stringified) {
  Program p;
  uint16_t h = p.name("h");
  p.emit({Op::DeclareHash(h), Op::LoadInt(10), Op::LoadInt(1), Op::HashSet(h), Op::LoadInt(20),
          Op::LoadFloat(1.5), Op::HashSet(h), Op::LoadInt(30), Op::LoadUndef(), Op::HashSet(h),
          Op::LoadInt(40), Op::LoadTrue(), Op::HashSet(h)});
  p.str("1");
  p.emit(Op::HashGet(h));
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(40)));
  EXPECT_TRUE(
      Same(r.vm.globals()[h], Value::Hash(HashMap{{"1", I(40)}, {"1.5", I(20)}, {"", I(30)}})));
}

TEST(VmHashes, hash_ops_on_non_hash_global) {
  Program p;
  uint16_t g = p.name("g");
  p.emit({Op::LoadInt(3), Op::SetVar(g), Op::HashKeys(g), Op::HashValues(g)});
  p.str("k");
  p.emit(Op::HashExists(g));
  p.str("k");
  p.emit(Op::HashGet(g));
  p.str("k");
  p.emit({Op::HashDelete(g), Op::MakeArray(5)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, Value::Array({Value::Array({}), Value::Array({}), Value::Bool(false),
                                           Value::Undef(), Value::Undef()})));
  EXPECT_TRUE(Same(r.vm.globals()[g], I(3)));
}

TEST(VmHashes, make_hash) {
  Program p;
  p.str("x");
  p.i(42);
  p.emit(Op::MakeHash(2));
  EXPECT_TRUE(IsOk(run(p).result, Value::Hash(HashMap{{"x", I(42)}})));
}

TEST(VmHashes, make_hash_odd_count_ignores_lone_key) {
  EXPECT_TRUE(
      IsOk(run_ops({Op::LoadInt(1), Op::LoadInt(2), Op::LoadInt(3), Op::MakeHash(3)}).result,
           Value::Hash(HashMap{{"1", I(2)}})));
}

TEST(VmHashes, make_hash_duplicate_key_later_wins) {
  EXPECT_TRUE(IsOk(
      run_ops({Op::LoadInt(1), Op::LoadInt(2), Op::LoadInt(1), Op::LoadInt(3), Op::MakeHash(4)})
          .result,
      Value::Hash(HashMap{{"1", I(3)}})));
}

TEST(VmHashes, make_hash_stringifies_undef_and_float_keys) {
  Ran r = run_ops(
      {Op::LoadUndef(), Op::LoadInt(1), Op::LoadFloat(1.5), Op::LoadInt(2), Op::MakeHash(4)});
  EXPECT_TRUE(IsOk(r.result, Value::Hash(HashMap{{"", I(1)}, {"1.5", I(2)}})));
}

TEST(VmHashes, make_hash_with_fewer_values_takes_all) {
  Ran r = run_ops({Op::LoadInt(1), Op::LoadInt(2), Op::MakeHash(10)});
  EXPECT_TRUE(IsOk(r.result, Value::Hash(HashMap{{"1", I(2)}})));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

}  // namespace
}  // namespace fusevm_test
