// Interpreter tests: arithmetic ops Add, Sub, Mul, Div, Mod, Pow, Negate, Inc, Dec.
// Sources: spec/ops.md §7, tests-inventory §1 and the arithmetic lines of §14.
#include "vm_test_util.hpp"

namespace fusevm_test {
namespace {

// Runs `a b OP` with Int operands.
Ran binop(int64_t a, int64_t b, Op op) { return run_ops({Op::LoadInt(a), Op::LoadInt(b), op}); }
// Runs `a b OP` with Float operands.
Ran fbinop(double a, double b, Op op) { return run_ops({Op::LoadFloat(a), Op::LoadFloat(b), op}); }

// -- tests-inventory §1 ---------------------------------------------------------

TEST(VmArith, add_integers) { EXPECT_TRUE(IsOk(binop(40, 2, Op::Add()).result, Value::Int(42))); }
TEST(VmArith, sub_integers) { EXPECT_TRUE(IsOk(binop(50, 8, Op::Sub()).result, Value::Int(42))); }
TEST(VmArith, mul_integers) { EXPECT_TRUE(IsOk(binop(6, 7, Op::Mul()).result, Value::Int(42))); }

TEST(VmArith, div_by_zero_yields_undef) {
  EXPECT_TRUE(IsOk(binop(1, 0, Op::Div()).result, Value::Undef()));
}

TEST(VmArith, div_by_zero_int_returns_undef) {
  EXPECT_TRUE(IsOk(binop(42, 0, Op::Div()).result, Value::Undef()));
}

TEST(VmArith, div_float) {
  EXPECT_TRUE(IsOk(fbinop(10.0, 4.0, Op::Div()).result, Value::Float(2.5)));
}

TEST(VmArith, chained_arithmetic_div_makes_float) {
  Ran r = run_ops({Op::LoadInt(2), Op::LoadInt(3), Op::Add(), Op::LoadInt(4), Op::Mul(),
                   Op::LoadInt(6), Op::Sub(), Op::LoadInt(2), Op::Div()});
  EXPECT_TRUE(IsOk(r.result, Value::Float(7.0)));
}

TEST(VmArith, modulo) { EXPECT_TRUE(IsOk(binop(17, 5, Op::Mod()).result, Value::Int(2))); }

TEST(VmArith, mod_by_zero_int_returns_zero) {
  EXPECT_TRUE(IsOk(binop(42, 0, Op::Mod()).result, Value::Int(0)));
}

TEST(VmArith, power_is_always_float) {
  EXPECT_TRUE(IsOk(binop(2, 10, Op::Pow()).result, Value::Float(1024.0)));
}

TEST(VmArith, pow_with_negative_exp_returns_zero_is_really_half) {
  EXPECT_TRUE(IsOk(binop(2, -1, Op::Pow()).result, Value::Float(0.5)));
}

TEST(VmArith, negate) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(42), Op::Negate()}).result, Value::Int(-42)));
}

TEST(VmArith, negate_min_int_wraps) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(kMin), Op::Negate()}).result, Value::Int(kMin)));
}

TEST(VmArith, inc_dec) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(41), Op::Inc()}).result, Value::Int(42)));
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(43), Op::Dec()}).result, Value::Int(42)));
}

TEST(VmArith, inc_max_int_wraps_to_min) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(kMax), Op::Inc()}).result, Value::Int(kMin)));
}

TEST(VmArith, dec_min_int_wraps_to_max) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(kMin), Op::Dec()}).result, Value::Int(kMax)));
}

TEST(VmArith, mixed_int_float_add) {
  EXPECT_TRUE(
      IsOk(run_ops({Op::LoadInt(1), Op::LoadFloat(2.5), Op::Add()}).result, Value::Float(3.5)));
}

TEST(VmArith, wrapping_add_overflow) {
  EXPECT_TRUE(IsOk(binop(kMax, 1, Op::Add()).result, Value::Int(kMin)));
}

TEST(VmArith, integer_add_wraps_on_overflow) {
  EXPECT_TRUE(IsOk(binop(kMax, 1, Op::Add()).result, Value::Int(kMin)));
  EXPECT_TRUE(IsOk(binop(kMax, kMax, Op::Add()).result, Value::Int(-2)));
  EXPECT_TRUE(IsOk(binop(kMin, -1, Op::Add()).result, Value::Int(kMax)));
}

TEST(VmArith, integer_sub_wraps_on_underflow) {
  EXPECT_TRUE(IsOk(binop(kMin, 1, Op::Sub()).result, Value::Int(kMax)));
}

TEST(VmArith, integer_mul_wraps) {
  EXPECT_TRUE(IsOk(binop(kMax, 2, Op::Mul()).result, Value::Int(-2)));
}

TEST(VmArith, shift_amount_masked_to_low_6_bits) {
  EXPECT_TRUE(IsOk(binop(1, 64, Op::Shl()).result, Value::Int(1)));
  EXPECT_TRUE(IsOk(binop(1, 65, Op::Shl()).result, Value::Int(2)));
}

TEST(VmArith, float_arithmetic_with_nan) {
  EXPECT_TRUE(IsOk(fbinop(kNaN, 1.0, Op::Add()).result, Value::Float(kNaN)));
}

TEST(VmArith, float_arithmetic_infinity) {
  EXPECT_TRUE(IsOk(fbinop(kInf, 1.0, Op::Add()).result, Value::Float(kInf)));
}

TEST(VmArith, float_eq_with_nan_is_false) {
  EXPECT_TRUE(IsOk(fbinop(kNaN, kNaN, Op::NumEq()).result, Value::Bool(false)));
}

TEST(VmArith, bool_coerces_to_int_in_arithmetic_gives_float) {
  Ran r = run_ops({Op::LoadTrue(), Op::LoadInt(40), Op::Add()});
  EXPECT_TRUE(IsOk(r.result, Value::Float(41.0)));
}

TEST(VmArith, test_arithmetic) {
  EXPECT_TRUE(IsOk(binop(10, 32, Op::Add()).result, Value::Int(42)));
}

// -- Non-Int operands take the float path (ops.md §7) ----------------------------------

TEST(VmArith, str_plus_int_is_float) {
  Program p;
  p.str("2");
  p.i(3);
  p.emit(Op::Add());
  EXPECT_TRUE(IsOk(run(p).result, Value::Float(5.0)));
}

TEST(VmArith, status_plus_int_is_float) {
  Program p;
  p.load(Value::Status(1));
  p.i(1);
  p.emit(Op::Add());
  EXPECT_TRUE(IsOk(run(p).result, Value::Float(2.0)));
}

TEST(VmArith, undef_plus_undef_is_float_zero) {
  EXPECT_TRUE(
      IsOk(run_ops({Op::LoadUndef(), Op::LoadUndef(), Op::Add()}).result, Value::Float(0.0)));
}

TEST(VmArith, float_sub_and_mul_stay_ieee) {
  EXPECT_TRUE(IsOk(fbinop(0.5, 2.0, Op::Sub()).result, Value::Float(-1.5)));
  EXPECT_TRUE(IsOk(fbinop(1.5, 3.0, Op::Mul()).result, Value::Float(4.5)));
}

// -- Div (§14) -----------------------------------------------------------------------

TEST(VmArith, div_ints_is_float) {
  EXPECT_TRUE(IsOk(binop(7, 2, Op::Div()).result, Value::Float(3.5)));
  EXPECT_TRUE(IsOk(binop(6, 3, Op::Div()).result, Value::Float(2.0)));
}

TEST(VmArith, div_by_negative_zero_is_undef) {
  Ran r = run_ops({Op::LoadInt(1), Op::LoadFloat(-0.0), Op::Div()});
  EXPECT_TRUE(IsOk(r.result, Value::Undef()));
}

TEST(VmArith, div_by_nan_is_nan) {
  Ran r = run_ops({Op::LoadInt(1), Op::LoadFloat(kNaN), Op::Div()});
  EXPECT_TRUE(IsOk(r.result, Value::Float(kNaN)));
}

TEST(VmArith, div_by_non_numeric_string_is_undef) {
  Program p;
  p.i(1);
  p.str("abc");
  p.emit(Op::Div());
  EXPECT_TRUE(IsOk(run(p).result, Value::Undef()));
}

TEST(VmArith, div_by_undef_is_undef) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(1), Op::LoadUndef(), Op::Div()}).result, Value::Undef()));
}

// -- Mod (§14, chunk-and-vm §10) ----------------------------------------------------------

TEST(VmArith, mod_takes_sign_of_dividend) {
  EXPECT_TRUE(IsOk(binop(-7, 3, Op::Mod()).result, Value::Int(-1)));
  EXPECT_TRUE(IsOk(binop(7, -3, Op::Mod()).result, Value::Int(1)));
}

TEST(VmArith, mod_floats_use_fmod) {
  EXPECT_TRUE(
      IsOk(run_ops({Op::LoadFloat(7.5), Op::LoadInt(2), Op::Mod()}).result, Value::Float(1.5)));
  EXPECT_TRUE(
      IsOk(run_ops({Op::LoadFloat(-7.5), Op::LoadInt(2), Op::Mod()}).result, Value::Float(-1.5)));
}

TEST(VmArith, mod_by_float_zero_is_nan) {
  EXPECT_TRUE(
      IsOk(run_ops({Op::LoadInt(7), Op::LoadFloat(0.0), Op::Mod()}).result, Value::Float(kNaN)));
}

TEST(VmArith, mod_min_by_minus_one_is_zero_not_a_crash) {
  EXPECT_TRUE(IsOk(binop(kMin, -1, Op::Mod()).result, Value::Int(0)));
}

// -- Pow (§14) -----------------------------------------------------------------------

TEST(VmArith, pow_zero_to_minus_one_is_inf) {
  EXPECT_TRUE(IsOk(binop(0, -1, Op::Pow()).result, Value::Float(kInf)));
}

TEST(VmArith, pow_zero_to_zero_is_one) {
  EXPECT_TRUE(IsOk(binop(0, 0, Op::Pow()).result, Value::Float(1.0)));
}

TEST(VmArith, pow_negative_base_fractional_exp_is_nan) {
  Ran r = run_ops({Op::LoadInt(-8), Op::LoadFloat(1.0 / 3.0), Op::Pow()});
  EXPECT_TRUE(IsOk(r.result, Value::Float(kNaN)));
}

TEST(VmArith, pow_two_to_63_is_float) {
  EXPECT_TRUE(IsOk(binop(2, 63, Op::Pow()).result, Value::Float(9.223372036854776e18)));
}

// -- Negate / Inc / Dec (§14) -------------------------------------------------------------

TEST(VmArith, negate_undef_is_negative_zero_float) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadUndef(), Op::Negate()}).result, Value::Float(-0.0)));
}

TEST(VmArith, negate_true_is_minus_one_float) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadTrue(), Op::Negate()}).result, Value::Float(-1.0)));
}

TEST(VmArith, negate_str_and_float_zero) {
  Program p;
  p.str("5");
  p.emit(Op::Negate());
  EXPECT_TRUE(IsOk(run(p).result, Value::Float(-5.0)));
  EXPECT_TRUE(IsOk(run_ops({Op::LoadFloat(0.0), Op::Negate()}).result, Value::Float(-0.0)));
}

TEST(VmArith, inc_of_float_truncates_to_int) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadFloat(1.5), Op::Inc()}).result, Value::Int(2)));
  EXPECT_TRUE(IsOk(run_ops({Op::LoadFloat(-1.5), Op::Inc()}).result, Value::Int(0)));
}

TEST(VmArith, inc_and_dec_of_undef) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadUndef(), Op::Inc()}).result, Value::Int(1)));
  EXPECT_TRUE(IsOk(run_ops({Op::LoadUndef(), Op::Dec()}).result, Value::Int(-1)));
}

TEST(VmArith, inc_of_decimal_string_uses_strict_int_parse) {
  Program p;
  p.str("3.7");
  p.emit(Op::Inc());
  EXPECT_TRUE(IsOk(run(p).result, Value::Int(1)));
}

// -- Underflow styles (ops.md §0) -----------------------------------------------------------

TEST(VmArith, guarded_arith_with_one_value_leaves_it) {
  for (Op op : {Op::Add(), Op::Sub(), Op::Mul(), Op::Mod()}) {
    Ran r = run_ops({Op::LoadInt(5), op});
    EXPECT_TRUE(IsOk(r.result, Value::Int(5))) << op.name();
    EXPECT_EQ(r.vm.stack().size(), 0u) << op.name();
  }
}

TEST(VmArith, guarded_add_on_empty_stack_halts) {
  EXPECT_TRUE(IsHalted(run_ops({Op::Add()}).result));
}

TEST(VmArith, div_with_one_value_pops_default) {
  Ran r = run_ops({Op::LoadInt(5), Op::Div()});
  EXPECT_TRUE(IsOk(r.result, Value::Float(0.0)));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmArith, pow_with_one_value_pops_default) {
  Ran r = run_ops({Op::LoadInt(5), Op::Pow()});
  EXPECT_TRUE(IsOk(r.result, Value::Float(0.0)));
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmArith, unary_ops_on_empty_stack_use_undef) {
  EXPECT_TRUE(IsOk(run_ops({Op::Negate()}).result, Value::Float(-0.0)));
  EXPECT_TRUE(IsOk(run_ops({Op::Inc()}).result, Value::Int(1)));
  EXPECT_TRUE(IsOk(run_ops({Op::Dec()}).result, Value::Int(-1)));
}

}  // namespace
}  // namespace fusevm_test
