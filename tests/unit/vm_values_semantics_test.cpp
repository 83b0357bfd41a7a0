// Interpreter tests: value copy semantics and the five coercions, observed through ops.
// Sources: spec/values.md §1.1–7, tests-inventory §9 and §14 (Value unit tests: value_test.cpp).
#include "vm_test_util.hpp"

namespace fusevm_test {
namespace {

Value I(int64_t i) { return Value::Int(i); }
Value F(double f) { return Value::Float(f); }
Value S(std::string_view s) { return Value::Str(s); }
Value B(bool b) { return Value::Bool(b); }

// Result of `LoadConst v; tail...`.
Value via(const Value& v, std::initializer_list<Op> tail) {
  Program p;
  p.load(v);
  p.emit(tail);
  Ran r = run(p);
  EXPECT_TRUE(r.result.is_ok()) << r.result.repr();
  return r.result.value();
}
// truthy(v), observed as !LogNot(v).
bool truthy(const Value& v) { return !via(v, {Op::LogNot()}).as_bool(); }
// to_int(v), observed as v | 0.
Value to_int(const Value& v) { return via(v, {Op::LoadInt(0), Op::BitOr()}); }
// to_float(v), observed through the float path of Add.
Value to_float(const Value& v) { return via(v, {Op::LoadFloat(0.0), Op::Add()}); }
// to_str(v), observed as "" . v.
Value to_str(const Value& v) { return via(v, {Op::LoadUndef(), Op::Concat()}); }
// len(v), observed through StringLen.
Value len(const Value& v) { return via(v, {Op::StringLen()}); }

// -- Copy semantics (values.md §1.1) ----------------------------------------------------------

TEST(VmValueSemantics, copies_on_the_stack_do_not_see_later_pushes) {
  Program p;
  uint16_t a = p.name("a");
  p.emit({Op::DeclareArray(a), Op::LoadInt(1), Op::ArrayPush(a), Op::GetArray(a), Op::LoadInt(2),
          Op::ArrayPush(a), Op::GetArray(a), Op::MakeArray(2)});
  EXPECT_TRUE(IsOk(run(p).result, Value::Array({ints({1}), ints({1, 2})})));
}

TEST(VmValueSemantics, every_in_place_array_write_leaves_stack_copies_alone) {
  Program p;
  uint16_t a = p.name("a");
  p.load(ints({1, 2, 3}));
  p.emit({Op::SetVar(a), Op::GetVar(a), Op::LoadInt(9), Op::LoadInt(0), Op::ArraySet(a),
          Op::GetVar(a), Op::ArrayPop(a), Op::Pop(), Op::GetVar(a), Op::ArrayShift(a), Op::Pop(),
          Op::GetVar(a), Op::MakeArray(4)});
  Ran r = run(p);
  EXPECT_TRUE(
      IsOk(r.result, Value::Array({ints({1, 2, 3}), ints({9, 2, 3}), ints({9, 2}), ints({2})})));
  EXPECT_TRUE(Same(r.vm.globals()[a], ints({2})));
}

TEST(VmValueSemantics, hash_writes_leave_stack_copies_alone) {
  Program p;
  uint16_t h = p.name("h");
  p.emit({Op::DeclareHash(h), Op::GetHash(h), Op::LoadInt(1)});
  p.str("k");
  p.emit({Op::HashSet(h), Op::GetHash(h)});
  p.str("k");
  p.emit({Op::HashDelete(h), Op::Pop(), Op::GetHash(h), Op::MakeArray(3)});
  EXPECT_TRUE(
      IsOk(run(p).result, Value::Array({Value::Hash(HashMap{}), Value::Hash(HashMap{{"k", I(1)}}),
                                        Value::Hash(HashMap{})})));
}

TEST(VmValueSemantics, writing_through_a_copy_leaves_the_global_alone) {
  Program p;
  uint16_t a = p.name("a");
  p.load(ints({1}));
  p.emit({Op::SetVar(a), Op::GetVar(a), Op::SetSlot(0), Op::LoadInt(9), Op::LoadInt(0),
          Op::SlotArraySet(0)});
  Ran r = run(p);
  EXPECT_TRUE(Same(r.vm.globals()[a], ints({1})));
  EXPECT_TRUE(Same(r.vm.frames().back().slots[0], ints({9})));
}

TEST(VmValueSemantics, slot_copies_are_independent) {
  Program p;
  p.load(ints({1}));
  p.emit({Op::SetSlot(0), Op::GetSlot(0), Op::SetSlot(1), Op::GetSlot(0), Op::LoadInt(9),
          Op::LoadInt(0), Op::SlotArraySet(1)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, ints({1})));
  EXPECT_TRUE(SameValues(r.vm.frames().back().slots, {ints({1}), ints({9})}));
}

TEST(VmValueSemantics, dup_gives_an_independent_copy) {
  Program p;
  uint16_t a = p.name("a");
  p.load(ints({1}));
  p.emit({Op::Dup(), Op::SetVar(a), Op::LoadInt(2), Op::ArrayPush(a), Op::GetVar(a),
          Op::MakeArray(2)});
  EXPECT_TRUE(IsOk(run(p).result, Value::Array({ints({1}), ints({1, 2})})));
}

TEST(VmValueSemantics, the_constant_pool_is_never_mutated) {
  Program p;
  uint16_t a = p.name("a");
  uint16_t c = p.constant(ints({1}));
  p.emit({Op::LoadConst(c), Op::SetVar(a), Op::LoadInt(5), Op::ArrayPush(a), Op::LoadConst(c),
          Op::SetSlot(0), Op::LoadInt(7), Op::LoadInt(3), Op::SlotArraySet(0), Op::LoadConst(c)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, ints({1})));
  EXPECT_TRUE(Same(r.vm.chunk().constants[c], ints({1})));
}

TEST(VmValueSemantics, reads_from_containers_are_copies) {
  Program p;
  uint16_t h = p.name("h"), a = p.name("a"), x = p.name("x"), y = p.name("y");
  p.emit(Op::DeclareHash(h));
  p.load(ints({1}));
  p.str("k");
  p.emit({Op::HashSet(h)});
  p.load(Value::Array({ints({5})}));
  p.emit(Op::SetVar(a));
  p.str("k");
  p.emit({Op::HashGet(h), Op::SetVar(x), Op::LoadInt(2), Op::ArrayPush(x), Op::LoadInt(0),
          Op::ArrayGet(a), Op::SetVar(y), Op::LoadInt(6), Op::ArrayPush(y), Op::HashValues(h),
          Op::SetVar(x), Op::LoadInt(0), Op::ArrayShift(x), Op::Pop()});
  Ran r = run(p);
  EXPECT_TRUE(Same(r.vm.globals()[h], Value::Hash(HashMap{{"k", ints({1})}})));
  EXPECT_TRUE(Same(r.vm.globals()[a], Value::Array({ints({5})})));
  EXPECT_TRUE(Same(r.vm.globals()[y], ints({5, 6})));
}

TEST(VmValueSemantics, make_array_captures_a_snapshot) {
  Program p;
  uint16_t a = p.name("a");
  p.emit(
      {Op::DeclareArray(a), Op::GetArray(a), Op::MakeArray(1), Op::LoadInt(1), Op::ArrayPush(a)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, Value::Array({ints({})})));
  EXPECT_TRUE(Same(r.vm.globals()[a], ints({1})));
}

TEST(VmValueSemantics, call_arguments_are_copies) {
  Program p;
  uint16_t a = p.name("a");
  uint16_t f = p.sub("f", [&] {
    p.emit({Op::SetSlot(0), Op::LoadInt(9), Op::LoadInt(0), Op::SlotArraySet(0), Op::GetSlot(0),
            Op::ReturnValue()});
  });
  p.load(ints({1, 2}));
  p.emit({Op::SetVar(a), Op::GetVar(a), Op::Call(f, 1)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, ints({9, 2})));
  EXPECT_TRUE(Same(r.vm.globals()[a], ints({1, 2})));
}

TEST(VmValueSemantics, fused_ops_write_only_their_own_slot_or_global) {
  Program p;
  uint16_t s = p.name("s"), a = p.name("a");
  uint16_t c = p.constant(S("+"));
  p.str("base");
  p.emit({Op::SetVar(s), Op::GetVar(s), Op::SetSlot(0), Op::LoadInt(0), Op::SetSlot(1),
          Op::ConcatConstLoop(c, 0, 1, 2), Op::DeclareArray(a), Op::LoadInt(1), Op::ArrayPush(a),
          Op::GetArray(a), Op::LoadInt(0), Op::SetSlot(2), Op::PushIntRangeLoop(a, 2, 2)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, ints({1})));
  EXPECT_TRUE(Same(r.vm.globals()[s], S("base")));
  EXPECT_TRUE(Same(r.vm.frames().back().slots[0], S("base++")));
  EXPECT_TRUE(Same(r.vm.globals()[a], ints({1, 0, 1})));
}

TEST(VmValueSemantics, block_elements_are_copies) {
  Program p;
  uint16_t a = p.name("a");
  uint16_t b = p.block([&] {
    p.emit({Op::SetSlot(0), Op::LoadInt(9), Op::LoadInt(0), Op::SlotArraySet(0)});
  });
  p.load(Value::Array({ints({1}), ints({2})}));
  p.emit({Op::SetVar(a), Op::GetVar(a), Op::ForEachBlock(b)});
  Ran r = run(p);
  EXPECT_TRUE(Same(r.vm.globals()[a], Value::Array({ints({1}), ints({2})})));
  EXPECT_TRUE(Same(r.vm.frames().back().slots[0], ints({9})));
}

TEST(VmValueSemantics, handler_mutation_of_a_global_leaves_stack_copy_alone) {
  Program p;
  uint16_t a = p.name("a");
  p.load(ints({1}));
  p.emit({Op::SetVar(a), Op::GetVar(a), Op::Extended(0, 0)});
  Ran r = run(p, [a](VM& vm) {
    vm.set_extension_handler(
        [a](VM& v, uint16_t, uint8_t) { v.globals()[a].array_mut().push_back(Value::Int(2)); });
  });
  EXPECT_TRUE(IsOk(r.result, ints({1})));
  EXPECT_TRUE(Same(r.vm.globals()[a], ints({1, 2})));
}

TEST(VmValueSemantics, concat_leaves_its_operands_alone) {
  Program p;
  uint16_t s = p.name("s");
  p.str("ab");
  p.emit({Op::SetVar(s), Op::GetVar(s)});
  p.str("cd");
  p.emit({Op::Concat(), Op::GetVar(s), Op::MakeArray(2)});
  EXPECT_TRUE(IsOk(run(p).result, strs({"abcd", "ab"})));
}

// -- Truthiness (tests-inventory §9, §14) -----------------------------------------------------

TEST(VmValueSemantics, test_truthiness) {
  EXPECT_FALSE(truthy(Value::Undef()));
  EXPECT_FALSE(truthy(I(0)));
  EXPECT_TRUE(truthy(I(1)));
  EXPECT_FALSE(truthy(S("")));
  EXPECT_FALSE(truthy(S("0")));
  EXPECT_TRUE(truthy(S("hello")));
  EXPECT_TRUE(truthy(Value::Status(0)));
  EXPECT_FALSE(truthy(Value::Status(1)));
}

TEST(VmValueSemantics, truthiness_for_floats) {
  EXPECT_FALSE(truthy(F(0.0)));
  EXPECT_FALSE(truthy(F(-0.0)));
  EXPECT_TRUE(truthy(F(0.1)));
  EXPECT_TRUE(truthy(F(kNaN)));
  EXPECT_TRUE(truthy(F(kInf)));
}

TEST(VmValueSemantics, truthiness_for_collections) {
  EXPECT_FALSE(truthy(Value::Array({})));
  EXPECT_TRUE(truthy(Value::Array({Value::Undef()})));
  EXPECT_TRUE(truthy(ints({0})));
  EXPECT_FALSE(truthy(Value::Hash(HashMap{})));
  EXPECT_TRUE(truthy(Value::Hash(HashMap{{"k", I(0)}})));
}

TEST(VmValueSemantics, status_zero_is_truthy_shell_semantics) {
  EXPECT_TRUE(truthy(Value::Status(0)));
  EXPECT_FALSE(truthy(Value::Status(1)));
  EXPECT_FALSE(truthy(Value::Status(127)));
  EXPECT_FALSE(truthy(Value::Status(-3)));
}

TEST(VmValueSemantics, empty_string_is_falsy_other_zeros_are_not) {
  EXPECT_FALSE(truthy(S("")));
  EXPECT_FALSE(truthy(S("0")));
  for (const char* s : {"00", "0.0", " 0", "-0", "false", "0\n"}) EXPECT_TRUE(truthy(S(s))) << s;
}

TEST(VmValueSemantics, ref_and_native_fn_are_truthy) {
  EXPECT_TRUE(truthy(Value::Ref(I(0))));
  EXPECT_TRUE(truthy(Value::NativeFn(0)));
}

TEST(VmValueSemantics, truthiness_drives_conditional_jumps) {
  for (const Value& v : {S("0.0"), F(kNaN), Value::Status(0), ints({0})}) {
    Program p;
    p.load(v);
    p.emit({Op::JumpIfFalse(4), Op::LoadInt(1), Op::Jump(5), Op::LoadInt(0)});
    EXPECT_TRUE(IsOk(run(p).result, I(1))) << v.repr();
  }
}

// -- Integer coercion
// ------------------------------------------------------------------------------

TEST(VmValueSemantics, test_coercions) {
  EXPECT_TRUE(Same(to_int(S("42")), I(42)));
  EXPECT_TRUE(Same(to_str(I(42)), S("42")));
  EXPECT_TRUE(Same(to_int(F(3.14)), I(3)));
  EXPECT_TRUE(Same(to_int(B(true)), I(1)));
}

TEST(VmValueSemantics, to_int_handles_all_variants) {
  EXPECT_TRUE(Same(to_int(Value::Undef()), I(0)));
  EXPECT_TRUE(Same(to_int(I(-7)), I(-7)));
  EXPECT_TRUE(Same(to_int(F(3.99)), I(3)));
  EXPECT_TRUE(Same(to_int(F(-3.99)), I(-3)));
  EXPECT_TRUE(Same(to_int(B(true)), I(1)));
  EXPECT_TRUE(Same(to_int(B(false)), I(0)));
  EXPECT_TRUE(Same(to_int(Value::Status(42)), I(42)));
  EXPECT_TRUE(Same(to_int(Value::Status(-1)), I(-1)));
  EXPECT_TRUE(Same(to_int(S("not a number")), I(0)));
  EXPECT_TRUE(Same(to_int(ints({1, 2})), I(2)));
  EXPECT_TRUE(Same(to_int(Value::Ref(I(5))), I(0)));
  EXPECT_TRUE(Same(to_int(Value::NativeFn(3)), I(0)));
}

TEST(VmValueSemantics, string_to_int_parses_or_zero) {
  EXPECT_TRUE(Same(to_int(S("42")), I(42)));
  EXPECT_TRUE(Same(to_int(S("-7")), I(-7)));
  EXPECT_TRUE(Same(to_int(S("not a number")), I(0)));
  EXPECT_TRUE(Same(to_int(S("")), I(0)));
}

TEST(VmValueSemantics, string_to_int_is_strict) {
  EXPECT_TRUE(Same(to_int(S(" 42")), I(0)));
  EXPECT_TRUE(Same(to_int(S("+42")), I(42)));
  EXPECT_TRUE(Same(to_int(S("3.7")), I(0)));
  EXPECT_TRUE(Same(to_int(S("1e3")), I(0)));
  EXPECT_TRUE(Same(to_int(S("0x1F")), I(0)));
  EXPECT_TRUE(Same(to_int(S("9223372036854775808")), I(0)));
  EXPECT_TRUE(Same(to_int(S("9223372036854775807")), I(kMax)));
  EXPECT_TRUE(Same(to_int(S("-9223372036854775808")), I(kMin)));
}

TEST(VmValueSemantics, array_to_int_returns_length) {
  EXPECT_TRUE(Same(to_int(ints({1, 2, 3})), I(3)));
}

TEST(VmValueSemantics, hash_to_int_is_zero_while_len_is_size) {
  Value h = Value::Hash(HashMap{{"a", I(1)}});
  EXPECT_TRUE(Same(to_int(h), I(0)));
  EXPECT_TRUE(Same(len(h), I(1)));
}

TEST(VmValueSemantics, float_to_int_saturates) {
  EXPECT_TRUE(Same(to_int(F(kNaN)), I(0)));
  EXPECT_TRUE(Same(to_int(F(kInf)), I(kMax)));
  EXPECT_TRUE(Same(to_int(F(-kInf)), I(kMin)));
  EXPECT_TRUE(Same(to_int(F(1e20)), I(kMax)));
  EXPECT_TRUE(Same(to_int(F(-1e20)), I(kMin)));
}

// -- Float coercion ---------------------------------------------------------------------------

TEST(VmValueSemantics, to_float_handles_all_variants) {
  EXPECT_TRUE(Same(to_float(I(5)), F(5.0)));
  EXPECT_TRUE(Same(to_float(F(2.5)), F(2.5)));
  EXPECT_TRUE(Same(to_float(B(true)), F(1.0)));
  EXPECT_TRUE(Same(to_float(B(false)), F(0.0)));
  EXPECT_TRUE(Same(to_float(Value::Status(7)), F(7.0)));
  EXPECT_TRUE(Same(to_float(S("3.14")), F(3.14)));
  EXPECT_TRUE(Same(to_float(S("garbage")), F(0.0)));
  EXPECT_TRUE(Same(to_float(Value::Undef()), F(0.0)));
}

TEST(VmValueSemantics, to_float_of_array_is_zero_while_to_int_is_length) {
  EXPECT_TRUE(Same(to_float(ints({1, 2})), F(0.0)));
  EXPECT_TRUE(Same(to_int(ints({1, 2})), I(2)));
}

TEST(VmValueSemantics, string_to_float_is_strict) {
  EXPECT_TRUE(Same(to_float(S(" 3.14")), F(0.0)));
  EXPECT_TRUE(Same(to_float(S("1e3")), F(1000.0)));
  EXPECT_TRUE(Same(to_float(S(".5")), F(0.5)));
  EXPECT_TRUE(Same(to_float(S("5.")), F(5.0)));
  EXPECT_TRUE(Same(to_float(S("inf")), F(kInf)));
  EXPECT_TRUE(Same(to_float(S("Infinity")), F(kInf)));
  EXPECT_TRUE(Same(to_float(S("-inf")), F(-kInf)));
  EXPECT_TRUE(Same(to_float(S("nan")), F(kNaN)));
  EXPECT_TRUE(Same(to_float(S("1e400")), F(kInf)));
  EXPECT_TRUE(Same(to_float(S("0x10")), F(0.0)));
  EXPECT_TRUE(Same(to_float(S("+.5")), F(0.5)));
}

// -- String coercion
// ---------------------------------------------------------------------------------

TEST(VmValueSemantics, as_str_of_scalars) {
  EXPECT_TRUE(Same(to_str(S("hello")), S("hello")));
  EXPECT_TRUE(Same(to_str(B(true)), S("1")));
  EXPECT_TRUE(Same(to_str(B(false)), S("")));
  EXPECT_TRUE(Same(to_str(Value::Undef()), S("")));
  EXPECT_TRUE(Same(to_str(Value::Hash(HashMap{{"a", I(1)}})), S("(hash)")));
  EXPECT_TRUE(Same(to_str(I(42)), S("42")));
  EXPECT_TRUE(Same(to_str(F(3.14)), S("3.14")));
  EXPECT_TRUE(Same(to_str(I(kMin)), S("-9223372036854775808")));
}

TEST(VmValueSemantics, array_to_str_joins_with_space) {
  EXPECT_TRUE(Same(to_str(ints({1, 2, 3})), S("1 2 3")));
  EXPECT_TRUE(Same(to_str(Value::Array({I(1), ints({2, 3}), S("x"), F(2.0), Value::Undef()})),
                   S("1 2 3 x 2 ")));
  EXPECT_TRUE(Same(to_str(Value::Array({})), S("")));
}

TEST(VmValueSemantics, to_str_of_ref_native_fn_and_status) {
  EXPECT_TRUE(Same(to_str(Value::Ref(I(1))), S("(ref)")));
  EXPECT_TRUE(Same(to_str(Value::NativeFn(7)), S("(builtin:7)")));
  EXPECT_TRUE(Same(to_str(Value::Status(-3)), S("-3")));
}

TEST(VmValueSemantics, float_to_str_matches_the_reference_display) {
  EXPECT_TRUE(Same(to_str(F(3.0)), S("3")));
  EXPECT_TRUE(Same(to_str(F(1e20)), S("100000000000000000000")));
  EXPECT_TRUE(Same(to_str(F(1e-7)), S("0.0000001")));
  EXPECT_TRUE(Same(to_str(F(-0.0)), S("-0")));
  EXPECT_TRUE(Same(to_str(F(kNaN)), S("NaN")));
  EXPECT_TRUE(Same(to_str(F(kInf)), S("inf")));
  EXPECT_TRUE(Same(to_str(F(-kInf)), S("-inf")));
  EXPECT_TRUE(Same(to_str(F(0.1 + 0.2)), S("0.30000000000000004")));
  EXPECT_TRUE(Same(to_str(F(1238149735313913.25)), S("1238149735313913.3")));
  EXPECT_TRUE(Same(to_str(F(9223372036854775808.0)), S("9223372036854776000")));
}

// -- Length
// ---------------------------------------------------------------------------------------------

TEST(VmValueSemantics, len_returns_correct_size_per_variant) {
  EXPECT_TRUE(Same(len(S("abc")), I(3)));
  EXPECT_TRUE(Same(len(ints({1, 2, 3, 4, 5})), I(5)));
  EXPECT_TRUE(Same(len(Value::Hash(HashMap{})), I(0)));
  EXPECT_TRUE(Same(len(I(12345)), I(5)));
  EXPECT_TRUE(Same(len(S("h\xc3\xa9llo")), I(6)));
  EXPECT_TRUE(Same(len(B(true)), I(1)));
  EXPECT_TRUE(Same(len(Value::Status(-3)), I(2)));
  EXPECT_TRUE(Same(len(Value::NativeFn(7)), I(11)));
}

TEST(VmValueSemantics, is_empty_matches_len_zero) {
  EXPECT_TRUE(Same(len(S("")), I(0)));
  EXPECT_TRUE(Same(len(S("x")), I(1)));
  EXPECT_TRUE(Same(len(Value::Array({})), I(0)));
  EXPECT_TRUE(Same(len(ints({0})), I(1)));
  EXPECT_TRUE(S("").is_empty());
  EXPECT_FALSE(ints({0}).is_empty());
}

// -- Equality, hashing, serialization
// ----------------------------------------------------------------------

TEST(VmValueSemantics, equality_via_partial_eq) {
  EXPECT_EQ(I(42), I(42));
  EXPECT_NE(I(42), I(43));
  EXPECT_EQ(S("hi"), S("hi"));
  EXPECT_NE(F(kNaN), F(kNaN));
  EXPECT_NE(I(1), F(1.0));
  EXPECT_NE(Value::Status(0), I(0));
}

TEST(VmValueSemantics, hash_impl_handles_floats_via_bits) {
  EXPECT_EQ(std::hash<Value>{}(F(kNaN)), std::hash<Value>{}(F(kNaN)));
}

TEST(VmValueSemantics, values_round_trip_through_fvc_constants) {
  Program p;
  std::vector<Value> originals = {Value::Undef(), B(true),    I(-42),
                                  F(3.14),        S("hello"), Value::Status(127)};
  for (const Value& v : originals) p.load(v);
  p.emit(Op::MakeArray(static_cast<uint16_t>(originals.size())));
  Chunk c = p.build();
  LoadResult loaded = read_fvc(write_fvc(c));
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  ASSERT_EQ(loaded.chunk->constants.size(), originals.size());
  for (size_t i = 0; i < originals.size(); ++i)
    EXPECT_TRUE(Same(loaded.chunk->constants[i], originals[i]));
  EXPECT_TRUE(IsOk(run(*loaded.chunk).result, Value::Array(ValueArray(originals))));
}

// -- Heap balance: every op releases the heap values it consumes -----------------------------

// Runs `setup` + `ops` on heap operands and checks heap_bytes_live() is back to its baseline
// once the VM, chunk and result are gone (catches a pop that forgets to release a payload).
::testing::AssertionResult Balanced(const std::vector<Value>& operands,
                                    std::initializer_list<Op> ops) {
  int64_t before = heap_bytes_live();
  std::string shown;
  {
    Program p;
    p.name("g");
    p.emit(Op::DeclareArray(0));
    for (const Value& v : operands) p.load(v.deep_copy());  // fresh payloads, counted here
    p.emit(ops);
    for (const Op& op : ops) shown += std::string(op.name()) + " ";
    Ran r = run(p);
  }
  int64_t after = heap_bytes_live();
  if (after == before) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << shown << "leaves " << (after - before) << " heap bytes";
}

TEST(VmHeapBalance, unary_ops_release_their_operand) {
  Value s = S("a string long enough to live on the heap for sure");
  Value a = Value::Array({s, ints({1, 2})});
  Value h = Value::Hash(HashMap{{"k", s}});
  for (const Value& v : {s, a, h}) {
    for (Op op : {Op::Pop(),
                  Op::LogNot(),
                  Op::BitNot(),
                  Op::Negate(),
                  Op::Inc(),
                  Op::Dec(),
                  Op::StringLen(),
                  Op::SetStatus(),
                  Op::TildeExpand(),
                  Op::WordSplit(),
                  Op::BraceExpand(),
                  Op::TestFile(5),
                  Op::Redirect(1, 0),
                  Op::HereString(),
                  Op::TrapSet(0),
                  Op::SetVar(0),
                  Op::SetSlot(0),
                  Op::ArrayPush(0),
                  Op::ArrayGet(0),
                  Op::HashGet(0),
                  Op::HashExists(0),
                  Op::HashDelete(0),
                  Op::SlotArrayGet(0),
                  Op::ExpandParam(4),
                  Op::Print(1),
                  Op::Dup(),
                  Op::MakeArray(1),
                  Op::SortDefault(),
                  Op::JumpIfTrue(1000),
                  Op::JumpIfFalse(1000),
                  Op::JumpIfTrueKeep(1000),
                  Op::JumpIfFalseKeep(1000)}) {
      EXPECT_TRUE(Balanced({v}, {op})) << v.repr();
    }
  }
}

TEST(VmHeapBalance, binary_ops_release_their_operands) {
  Value s = S("another string that certainly needs a heap payload");
  Value a = Value::Array({s, I(3)});
  for (const auto& pr : {std::pair{s, s}, std::pair{a, s}, std::pair{s, a}, std::pair{a, a}}) {
    for (Op op : {Op::Add(),       Op::Sub(),      Op::Mul(),           Op::Div(),
                  Op::Mod(),       Op::Pow(),      Op::Concat(),        Op::StringRepeat(),
                  Op::NumEq(),     Op::NumNe(),    Op::NumLt(),         Op::NumGt(),
                  Op::NumLe(),     Op::NumGe(),    Op::Spaceship(),     Op::StrEq(),
                  Op::StrNe(),     Op::StrLt(),    Op::StrGt(),         Op::StrLe(),
                  Op::StrGe(),     Op::StrCmp(),   Op::LogAnd(),        Op::LogOr(),
                  Op::BitAnd(),    Op::BitOr(),    Op::BitXor(),        Op::Shl(),
                  Op::Shr(),       Op::Range(),    Op::StrMatch(),      Op::RegexMatch(),
                  Op::Swap(),      Op::Dup2(),     Op::MakeArray(2),    Op::MakeHash(2),
                  Op::ArraySet(0), Op::HashSet(0), Op::SlotArraySet(0), Op::ExpandParam(0),
                  Op::Exec(2),     Op::ExecBg(2)}) {
      EXPECT_TRUE(Balanced({pr.first, pr.second}, {op}))
          << pr.first.repr() << " " << pr.second.repr();
    }
  }
}

TEST(VmHeapBalance, ternary_and_frame_ops_release_their_operands) {
  Value s = S("a third heap string used as an operand of every op here");
  EXPECT_TRUE(Balanced({s, s, s}, {Op::RangeStep()}));
  EXPECT_TRUE(Balanced({s, s, s}, {Op::Rot()}));
  EXPECT_TRUE(Balanced({s, s, s}, {Op::ExpandParam(9)}));
  EXPECT_TRUE(Balanced({s, s}, {Op::PushFrame(), Op::LoadInt(1), Op::PopFrame()}));
  EXPECT_TRUE(Balanced({s}, {Op::PushFrame(), Op::Dup(), Op::Dup(), Op::PopFrame()}));
  EXPECT_TRUE(Balanced({s, s}, {Op::ReturnValue()}));
  EXPECT_TRUE(Balanced({s}, {Op::SetSlot(3), Op::GetSlot(3), Op::GetSlot(3), Op::Concat()}));
}

// Like Balanced() for a whole program; `fresh` is a heap string created inside the window.
::testing::AssertionResult BalancedProgram(
    const std::function<void(Program&, const Value&)>& build) {
  Value proto = S("a heap string used as the payload of programs in this test");
  int64_t before = heap_bytes_live();
  {
    Value fresh = proto.deep_copy();
    Program p;
    build(p, fresh);
    Ran r = run(p);
  }
  int64_t after = heap_bytes_live();
  if (after == before) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "program leaves " << (after - before) << " heap bytes";
}

TEST(VmHeapBalance, blocks_calls_and_fused_ops_release_values) {
  EXPECT_TRUE(BalancedProgram([](Program& p, const Value& s) {
    uint16_t b = p.block([&] { p.emit({Op::LoadUndef(), Op::Concat()}); });
    p.load(Value::Array({s, s}));
    p.emit(Op::MapBlock(b));
  })) << "MapBlock";
  EXPECT_TRUE(BalancedProgram([](Program& p, const Value& s) {
    uint16_t b = p.block([] {});
    p.load(Value::Array({s, S(""), s}));
    p.emit(Op::GrepBlock(b));
  })) << "GrepBlock";
  EXPECT_TRUE(BalancedProgram([](Program& p, const Value& s) {
    uint16_t b = p.block([&] { p.emit(Op::StrCmp()); });
    p.load(Value::Array({s, S("b"), S("a")}));
    p.emit(Op::SortBlock(b));
  })) << "SortBlock";
  EXPECT_TRUE(BalancedProgram([](Program& p, const Value& s) {
    uint16_t b = p.block([&] { p.emit({Op::Dup(), Op::SetSlot(0)}); });
    p.load(Value::Array({s, s}));
    p.emit(Op::ForEachBlock(b));
  })) << "ForEachBlock";
  EXPECT_TRUE(BalancedProgram([](Program& p, const Value& s) {
    uint16_t f = p.sub("f", [&] {
      p.emit({Op::SetSlot(1), Op::SetSlot(0), Op::GetSlot(0), Op::GetSlot(1), Op::Concat(),
              Op::ReturnValue()});
    });
    p.load(s);
    p.load(s);
    p.emit({Op::Call(f, 2), Op::Pop()});
    p.load(s);
    p.emit({Op::Call(f, 1)});
  })) << "Call";
  EXPECT_TRUE(BalancedProgram([](Program& p, const Value& s) {
    uint16_t c = p.constant(s);
    uint16_t g = p.name("g");
    p.load(s);
    p.emit({Op::SetSlot(0), Op::LoadInt(0), Op::SetSlot(1), Op::ConcatConstLoop(c, 0, 1, 3),
            Op::DeclareArray(g), Op::LoadInt(0), Op::SetSlot(2), Op::PushIntRangeLoop(g, 2, 3)});
    p.load(s);
    p.emit({Op::SetVar(g), Op::PushIntRangeLoop(g, 2, 5)});
  })) << "fused loops";
  EXPECT_TRUE(BalancedProgram([](Program& p, const Value& s) {
    uint16_t g = p.name("g");
    p.emit(Op::DeclareHash(g));
    p.load(s);
    p.load(s);
    p.emit({Op::HashSet(g), Op::HashKeys(g), Op::HashValues(g), Op::MakeArray(2)});
    p.load(s);
    p.emit({Op::HashDelete(g), Op::Pop()});
  })) << "hash ops";
}

}  // namespace
}  // namespace fusevm_test
