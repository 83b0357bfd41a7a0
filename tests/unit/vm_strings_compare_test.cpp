// Interpreter tests: string, comparison, logical and bitwise ops.
// Sources: spec/ops.md §8–11, tests-inventory §2–3 and the matching lines of §14.
#include "vm_test_util.hpp"

namespace fusevm_test {
namespace {

// Runs `a b OP` with two constants.
Ran pair(Value a, Value b, Op op) {
  Program p;
  p.load(std::move(a));
  p.load(std::move(b));
  p.emit(op);
  return run(p);
}
// Runs `a OP` with one constant.
Ran single(Value a, Op op) {
  Program p;
  p.load(std::move(a));
  p.emit(op);
  return run(p);
}
Value S(const char* s) { return Value::Str(s); }
Value I(int64_t i) { return Value::Int(i); }
Value B(bool b) { return Value::Bool(b); }

// -- tests-inventory §2 --------------------------------------------------------------

TEST(VmStrings, concat_strings) {
  EXPECT_TRUE(IsOk(pair(S("hello "), S("world"), Op::Concat()).result, S("hello world")));
}

TEST(VmStrings, concat_int_and_string) {
  EXPECT_TRUE(IsOk(pair(I(42), S(" items"), Op::Concat()).result, S("42 items")));
}

TEST(VmStrings, concat_two_empty_strings) {
  EXPECT_TRUE(IsOk(pair(S(""), S(""), Op::Concat()).result, S("")));
}

TEST(VmStrings, concat_undef_and_string_yields_string) {
  EXPECT_TRUE(IsOk(pair(Value::Undef(), S("hello"), Op::Concat()).result, S("hello")));
}

TEST(VmStrings, string_repeat) {
  EXPECT_TRUE(IsOk(pair(S("ab"), I(3), Op::StringRepeat()).result, S("ababab")));
}

TEST(VmStrings, string_repeat_zero) {
  EXPECT_TRUE(IsOk(pair(S("x"), I(0), Op::StringRepeat()).result, S("")));
}

TEST(VmStrings, string_len) { EXPECT_TRUE(IsOk(single(S("hello"), Op::StringLen()).result, I(5))); }

// -- §14 strings -------------------------------------------------------------------------

TEST(VmStrings, string_repeat_negative_count_is_empty) {
  EXPECT_TRUE(IsOk(pair(I(7), I(-1), Op::StringRepeat()).result, S("")));
}

TEST(VmStrings, string_repeat_float_count_truncates) {
  EXPECT_TRUE(IsOk(pair(I(7), Value::Float(2.7), Op::StringRepeat()).result, S("77")));
}

TEST(VmStrings, string_len_of_float_undef_and_utf8) {
  EXPECT_TRUE(IsOk(single(Value::Float(3.0), Op::StringLen()).result, I(1)));
  EXPECT_TRUE(IsOk(single(Value::Undef(), Op::StringLen()).result, I(0)));
  EXPECT_TRUE(IsOk(single(S("h\xc3\xa9llo"), Op::StringLen()).result, I(6)));
  EXPECT_TRUE(IsOk(single(I(12345), Op::StringLen()).result, I(5)));
  EXPECT_TRUE(IsOk(single(ints({1, 2, 3}), Op::StringLen()).result, I(3)));
}

TEST(VmStrings, concat_float_and_bool) {
  EXPECT_TRUE(IsOk(pair(Value::Float(1.0), B(true), Op::Concat()).result, S("11")));
}

TEST(VmStrings, concat_with_one_value_pops_default) {
  Ran r = single(I(5), Op::Concat());
  EXPECT_TRUE(IsOk(r.result, S("5")));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

// -- tests-inventory §3 -------------------------------------------------------------------

TEST(VmCompare, numeric_comparisons) {
  EXPECT_TRUE(IsOk(pair(I(1), I(2), Op::NumLt()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(I(2), I(1), Op::NumLt()).result, B(false)));
  EXPECT_TRUE(IsOk(pair(I(5), I(5), Op::NumEq()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(I(5), I(5), Op::NumNe()).result, B(false)));
  EXPECT_TRUE(IsOk(pair(I(5), I(3), Op::NumGt()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(I(5), I(5), Op::NumLe()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(I(5), I(5), Op::NumGe()).result, B(true)));
}

TEST(VmCompare, spaceship) {
  EXPECT_TRUE(IsOk(pair(I(1), I(2), Op::Spaceship()).result, I(-1)));
  EXPECT_TRUE(IsOk(pair(I(2), I(2), Op::Spaceship()).result, I(0)));
  EXPECT_TRUE(IsOk(pair(I(3), I(2), Op::Spaceship()).result, I(1)));
}

TEST(VmCompare, string_comparisons) {
  EXPECT_TRUE(IsOk(pair(S("apple"), S("banana"), Op::StrLt()).result, B(true)));
}

TEST(VmCompare, strcmp_ordering) {
  EXPECT_TRUE(IsOk(pair(S("abc"), S("abc"), Op::StrCmp()).result, I(0)));
  EXPECT_TRUE(IsOk(pair(S("abc"), S("abd"), Op::StrCmp()).result, I(-1)));
  EXPECT_TRUE(IsOk(pair(S("b"), S("abc"), Op::StrCmp()).result, I(1)));
}

TEST(VmCompare, logical_not) {
  EXPECT_TRUE(IsOk(single(B(true), Op::LogNot()).result, B(false)));
  EXPECT_TRUE(IsOk(single(B(false), Op::LogNot()).result, B(true)));
  EXPECT_TRUE(IsOk(single(I(0), Op::LogNot()).result, B(true)));
}

TEST(VmCompare, log_not_inverts_truthiness) {
  EXPECT_TRUE(IsOk(single(I(0), Op::LogNot()).result, B(true)));
  EXPECT_TRUE(IsOk(single(I(42), Op::LogNot()).result, B(false)));
}

TEST(VmCompare, log_and_evaluates_both_sides) {
  Ran r = pair(B(true), B(false), Op::LogAnd());
  EXPECT_TRUE(IsOk(r.result, B(false)));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmCompare, log_or_with_falsy_strings) {
  EXPECT_TRUE(IsOk(pair(S(""), S("0"), Op::LogOr()).result, B(false)));
  EXPECT_TRUE(IsOk(pair(S(""), S("00"), Op::LogOr()).result, B(true)));
}

TEST(VmCompare, bitwise_ops) {
  EXPECT_TRUE(IsOk(pair(I(0xFF), I(0x0F), Op::BitAnd()).result, I(0x0F)));
  EXPECT_TRUE(IsOk(pair(I(0xF0), I(0x0F), Op::BitOr()).result, I(0xFF)));
  EXPECT_TRUE(IsOk(pair(I(0xFF), I(0xFF), Op::BitXor()).result, I(0)));
  EXPECT_TRUE(IsOk(pair(I(1), I(8), Op::Shl()).result, I(256)));
  EXPECT_TRUE(IsOk(pair(I(256), I(4), Op::Shr()).result, I(16)));
}

// -- §14 comparisons ---------------------------------------------------------------------

TEST(VmCompare, spaceship_with_nan_is_zero) {
  EXPECT_TRUE(IsOk(pair(Value::Float(kNaN), I(1), Op::Spaceship()).result, I(0)));
}

TEST(VmCompare, spaceship_mixed_float_int) {
  EXPECT_TRUE(IsOk(pair(Value::Float(1.5), I(1), Op::Spaceship()).result, I(1)));
}

TEST(VmCompare, int_equals_float_numerically) {
  EXPECT_TRUE(IsOk(pair(I(1), Value::Float(1.0), Op::NumEq()).result, B(true)));
}

TEST(VmCompare, nan_not_equal_to_nan) {
  EXPECT_TRUE(IsOk(pair(Value::Float(kNaN), Value::Float(kNaN), Op::NumNe()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(Value::Float(kNaN), Value::Float(kNaN), Op::NumLt()).result, B(false)));
  EXPECT_TRUE(IsOk(pair(Value::Float(kNaN), Value::Float(kNaN), Op::NumGe()).result, B(false)));
}

TEST(VmCompare, non_numeric_string_equals_zero_numerically) {
  EXPECT_TRUE(IsOk(pair(S("abc"), I(0), Op::NumEq()).result, B(true)));
}

TEST(VmCompare, array_is_zero_as_float_in_comparisons) {
  EXPECT_TRUE(IsOk(pair(ints({1, 2}), I(2), Op::NumEq()).result, B(false)));
}

TEST(VmCompare, int_comparison_is_exact_for_large_values) {
  EXPECT_TRUE(IsOk(pair(I(kMax), I(kMax - 1), Op::NumGt()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(I(kMax), I(kMax - 1), Op::NumEq()).result, B(false)));
}

TEST(VmCompare, guarded_comparisons_with_one_value_leave_it) {
  for (Op op : {Op::NumEq(), Op::NumNe(), Op::NumLt(), Op::NumGt(), Op::NumLe(), Op::NumGe(),
                Op::Spaceship()}) {
    Ran r = single(I(5), op);
    EXPECT_TRUE(IsOk(r.result, I(5))) << op.name();
    EXPECT_EQ(r.vm.stack().size(), 0u) << op.name();
  }
}

TEST(VmCompare, string_compare_is_bytewise) {
  EXPECT_TRUE(IsOk(pair(S("B"), S("a"), Op::StrLt()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(S("10"), S("9"), Op::StrLt()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(S(""), S("a"), Op::StrLt()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(S("\xc3\xa9"), S("z"), Op::StrGt()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(S("ab"), S("abc"), Op::StrCmp()).result, I(-1)));
}

TEST(VmCompare, all_string_comparisons) {
  EXPECT_TRUE(IsOk(pair(S("a"), S("a"), Op::StrEq()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(S("a"), S("b"), Op::StrNe()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(S("b"), S("a"), Op::StrGt()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(S("a"), S("a"), Op::StrLe()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(S("a"), S("b"), Op::StrGe()).result, B(false)));
}

TEST(VmCompare, string_compare_uses_to_str) {
  EXPECT_TRUE(IsOk(pair(I(1), S("1"), Op::StrEq()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(Value::Float(1.0), S("1"), Op::StrEq()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(B(true), S("1"), Op::StrEq()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(Value::Undef(), S(""), Op::StrEq()).result, B(true)));
}

TEST(VmCompare, str_eq_with_one_value_pops_default) {
  Ran r = single(I(5), Op::StrEq());
  EXPECT_TRUE(IsOk(r.result, B(false)));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmCompare, log_and_with_one_value_pops_default) {
  Ran r = single(I(5), Op::LogAnd());
  EXPECT_TRUE(IsOk(r.result, B(false)));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmCompare, bit_or_with_one_value_pops_default) {
  Ran r = single(I(5), Op::BitOr());
  EXPECT_TRUE(IsOk(r.result, I(5)));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmCompare, shl_by_negative_count_masks) {
  EXPECT_TRUE(IsOk(pair(I(1), I(-1), Op::Shl()).result, I(kMin)));
}

TEST(VmCompare, shr_is_arithmetic) {
  EXPECT_TRUE(IsOk(pair(I(-16), I(2), Op::Shr()).result, I(-4)));
}

TEST(VmCompare, shl_drops_high_bits) {
  EXPECT_TRUE(IsOk(pair(I(3), I(63), Op::Shl()).result, I(kMin)));
}

TEST(VmCompare, bit_and_truncates_float) {
  EXPECT_TRUE(IsOk(pair(Value::Float(5.9), I(3), Op::BitAnd()).result, I(1)));
}

TEST(VmCompare, bit_not_of_zero) { EXPECT_TRUE(IsOk(single(I(0), Op::BitNot()).result, I(-1))); }

TEST(VmCompare, logic_uses_truthiness_of_every_kind) {
  EXPECT_TRUE(IsOk(single(Value::Status(0), Op::LogNot()).result, B(false)));
  EXPECT_TRUE(IsOk(single(Value::Status(1), Op::LogNot()).result, B(true)));
  EXPECT_TRUE(IsOk(single(Value::Float(kNaN), Op::LogNot()).result, B(false)));
  EXPECT_TRUE(IsOk(single(Value::Array({}), Op::LogNot()).result, B(true)));
  EXPECT_TRUE(IsOk(pair(S("0.0"), I(1), Op::LogAnd()).result, B(true)));
}

}  // namespace
}  // namespace fusevm_test
