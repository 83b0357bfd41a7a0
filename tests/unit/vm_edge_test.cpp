// Run-time edge cases: underflow of every op kind, division by zero, jumps past the end,
// Call argc clamping, integer corner cases and the run-time errors (spec/ops.md §0, §7,
// §12–13, chunk-and-vm.md §10, ARCHITECTURE §9).
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "vm_test_util.hpp"

namespace fusevm_test {
namespace {

Value I(int64_t i) { return Value::Int(i); }
Value F(double f) { return Value::Float(f); }
Value S(const char* s) { return Value::Str(s); }
Value B(bool b) { return Value::Bool(b); }

// -- Underflow: every op kind on an empty and a one-value stack ------------------------

// One op run after `before` values were pushed; `after` is the whole final stack.
struct UnderflowCase {
  const char* what;
  std::vector<Value> before;
  Op op;
  std::vector<Value> after;
};

Ran run_after_pushing(const std::vector<Value>& before, const Op& op) {
  Program p;
  for (const Value& v : before) p.load(v);
  p.emit(op);
  return run(p);
}

void check_cases(const std::vector<UnderflowCase>& cases) {
  for (const UnderflowCase& c : cases) {
    Ran r = run_after_pushing(c.before, c.op);
    EXPECT_FALSE(r.result.is_error()) << c.what << ": " << r.result.repr();
    EXPECT_TRUE(SameValues(r.full_stack(), c.after)) << c.what;
  }
}

TEST(VmUnderflow, GuardedOpsDoNothingWhenTheStackIsTooShallow) {
  const Op two_needed[] = {Op::Dup2(),  Op::Swap(),  Op::Add(),  Op::Sub(),  Op::Mul(),
                           Op::Mod(),   Op::NumEq(), Op::NumNe(), Op::NumLt(), Op::NumGt(),
                           Op::NumLe(), Op::NumGe(), Op::Spaceship()};
  for (const Op& op : two_needed) {
    std::string name(op.name());
    Ran empty = run_after_pushing({}, op);
    EXPECT_TRUE(IsHalted(empty.result)) << name << " on []";
    Ran one = run_after_pushing({I(5)}, op);
    EXPECT_TRUE(SameValues(one.full_stack(), {I(5)})) << name << " on [5]";
  }
  EXPECT_TRUE(IsHalted(run_after_pushing({}, Op::Rot()).result));
  EXPECT_TRUE(SameValues(run_after_pushing({I(5)}, Op::Rot()).full_stack(), {I(5)}));
  EXPECT_TRUE(SameValues(run_after_pushing({I(5), I(6)}, Op::Rot()).full_stack(), {I(5), I(6)}));
}

TEST(VmUnderflow, BinaryOpsPopUndefForMissingOperands) {
  check_cases({
      {"Div []", {}, Op::Div(), {Value::Undef()}},  // Undef / Undef: divisor 0 -> Undef
      {"Div [5]", {I(5)}, Op::Div(), {F(0.0)}},     // Undef / 5
      {"Pow []", {}, Op::Pow(), {F(1.0)}},          // 0 ** 0
      {"Pow [5]", {I(5)}, Op::Pow(), {F(0.0)}},     // 0 ** 5
      {"Concat []", {}, Op::Concat(), {S("")}},
      {"Concat [5]", {I(5)}, Op::Concat(), {S("5")}},
      {"StringRepeat []", {}, Op::StringRepeat(), {S("")}},
      {"StringRepeat [3]", {I(3)}, Op::StringRepeat(), {S("")}},
      {"StrEq []", {}, Op::StrEq(), {B(true)}},
      {"StrEq [5]", {I(5)}, Op::StrEq(), {B(false)}},
      {"StrNe [5]", {I(5)}, Op::StrNe(), {B(true)}},
      {"StrLt [5]", {I(5)}, Op::StrLt(), {B(true)}},  // "" < "5"
      {"StrGt [5]", {I(5)}, Op::StrGt(), {B(false)}},
      {"StrLe []", {}, Op::StrLe(), {B(true)}},
      {"StrGe [5]", {I(5)}, Op::StrGe(), {B(false)}},
      {"StrCmp []", {}, Op::StrCmp(), {I(0)}},
      {"StrCmp [5]", {I(5)}, Op::StrCmp(), {I(-1)}},
      {"LogAnd [5]", {I(5)}, Op::LogAnd(), {B(false)}},
      {"LogOr [5]", {I(5)}, Op::LogOr(), {B(true)}},
      {"LogOr []", {}, Op::LogOr(), {B(false)}},
      {"BitAnd [5]", {I(5)}, Op::BitAnd(), {I(0)}},
      {"BitOr [5]", {I(5)}, Op::BitOr(), {I(5)}},
      {"BitXor [5]", {I(5)}, Op::BitXor(), {I(5)}},
      {"Shl [5]", {I(5)}, Op::Shl(), {I(0)}},  // 0 << 5
      {"Shr []", {}, Op::Shr(), {I(0)}},
      {"Range []", {}, Op::Range(), {ints({0})}},
      {"Range [3]", {I(3)}, Op::Range(), {ints({0, 1, 2, 3})}},
      {"RangeStep []", {}, Op::RangeStep(), {ints({})}},  // step 0
      {"RangeStep [2]", {I(2)}, Op::RangeStep(), {ints({0})}},
      {"StrMatch []", {}, Op::StrMatch(), {B(true)}},  // "" == ""
      {"StrMatch [5]", {I(5)}, Op::StrMatch(), {B(false)}},
      {"RegexMatch []", {}, Op::RegexMatch(), {B(false)}},
  });
}

TEST(VmUnderflow, UnaryOpsOnAnEmptyStackSeeUndef) {
  check_cases({
      {"Pop", {}, Op::Pop(), {}},
      {"Dup", {}, Op::Dup(), {Value::Undef()}},
      {"Negate", {}, Op::Negate(), {F(-0.0)}},
      {"Inc", {}, Op::Inc(), {I(1)}},
      {"Dec", {}, Op::Dec(), {I(-1)}},
      {"StringLen", {}, Op::StringLen(), {I(0)}},
      {"LogNot", {}, Op::LogNot(), {B(true)}},
      {"BitNot", {}, Op::BitNot(), {I(-1)}},
      {"SortDefault", {}, Op::SortDefault(), {ints({})}},
      {"WordSplit", {}, Op::WordSplit(), {ints({})}},
      {"BraceExpand", {}, Op::BraceExpand(), {strs({""})}},
      {"TildeExpand", {}, Op::TildeExpand(), {S("")}},
      {"TestFile", {}, Op::TestFile(file_test::EXISTS), {B(false)}},
      {"MakeArray(3)", {}, Op::MakeArray(3), {ints({})}},
      {"MakeArray(3) [5]", {I(5)}, Op::MakeArray(3), {ints({5})}},
      {"MakeHash(2)", {}, Op::MakeHash(2), {Value::Hash(HashMap{})}},
      {"MakeHash(2) [5]", {I(5)}, Op::MakeHash(2), {Value::Hash(HashMap{})}},  // lone key
      {"Exec(2)", {}, Op::Exec(2), {Value::Status(0)}},
      {"ExecBg(1)", {}, Op::ExecBg(1), {Value::Status(0)}},
      {"ExpandParam(SUBST_FIRST)", {}, Op::ExpandParam(param_mod::SUBST_FIRST), {S("")}},
      {"ExpandParam(DEFAULT) [5]", {I(5)}, Op::ExpandParam(param_mod::DEFAULT), {S("")}},
      {"ReturnValue", {}, Op::ReturnValue(), {Value::Undef()}},
  });
}

TEST(VmUnderflow, ConsumingOpsOnAnEmptyStackStoreUndef) {
  check_cases({
      {"SetSlot", {}, Op::SetSlot(0), {}},
      {"SetStatus", {}, Op::SetStatus(), {}},
      {"Redirect", {}, Op::Redirect(1, redirect_op::WRITE), {}},
      {"HereString", {}, Op::HereString(), {}},
      {"TrapSet", {}, Op::TrapSet(0), {}},
      {"Print(1)", {}, Op::Print(1), {}},
      {"HereDoc pops nothing", {I(3)}, Op::HereDoc(0), {I(3)}},
  });
  Program p;
  uint16_t x = p.name("x");
  p.i(9);
  p.emit({Op::SetVar(x), Op::SetVar(x)});  // the second SetVar pops an Undef
  Ran r = run(p);
  EXPECT_TRUE(IsHalted(r.result));
  EXPECT_TRUE(Same(r.vm.globals()[x], Value::Undef()));
  Ran line = run_ops({Op::PrintLn(1)});
  EXPECT_EQ(line.output(), "\n");
}

TEST(VmUnderflow, ConditionalJumpsOnAnEmptyStackTestUndef) {
  // Each program leaves 1 if the jump fell through and 2 if it was taken.
  auto branch = [](Op jump) {
    jump.set_target(3);
    return run_ops({jump, Op::LoadInt(1), Op::Jump(4), Op::LoadInt(2)}).full_stack();
  };
  EXPECT_TRUE(SameValues(branch(Op::JumpIfTrue(0)), {I(1)}));
  EXPECT_TRUE(SameValues(branch(Op::JumpIfFalse(0)), {I(2)}));
  EXPECT_TRUE(SameValues(branch(Op::JumpIfTrueKeep(0)), {I(1)}));
  EXPECT_TRUE(SameValues(branch(Op::JumpIfFalseKeep(0)), {I(2)}));
}

TEST(VmUnderflow, CollectionOpsPopUndefAsIndexOrKey) {
  Program p;
  uint16_t a = p.name("a"), h = p.name("h"), e = p.name("e");
  // a = [7]; h = {"": 5}; e = [] ; then ArrayGet, HashGet, HashExists on an empty stack.
  p.emit(Op::DeclareArray(a));
  p.i(7);
  p.emit(Op::ArrayPush(a));
  p.emit(Op::DeclareHash(h));
  p.i(5);
  p.str("");
  p.emit(Op::HashSet(h));
  p.emit(Op::DeclareArray(e));
  p.emit({Op::ArrayGet(a), Op::SetVar(p.name("got_a")), Op::HashGet(h),
          Op::SetVar(p.name("got_h")), Op::HashExists(h), Op::SetVar(p.name("has"))});
  p.emit({Op::ArrayPush(e), Op::ArraySet(e), Op::HashDelete(h)});
  Ran r = run(p);
  const auto& g = r.vm.globals();
  EXPECT_TRUE(Same(g[3], I(7)));      // ArrayGet index Undef -> 0
  EXPECT_TRUE(Same(g[4], I(5)));      // HashGet key Undef -> ""
  EXPECT_TRUE(Same(g[5], B(true)));   // HashExists ""
  EXPECT_TRUE(SameValues(g[e].as_array(), {Value::Undef()}));  // push Undef, then set [0]=Undef
  EXPECT_TRUE(IsOk(r.result, I(5)));  // HashDelete "" gives the removed value
  EXPECT_TRUE(r.vm.globals()[h].as_hash().empty());
}

TEST(VmUnderflow, SlotArrayOpsPopUndefAsIndex) {
  Program p;
  p.load(ints({7, 8}));
  p.emit({Op::SetSlot(0), Op::SlotArrayGet(0), Op::SetSlot(2)});  // index Undef -> 0
  p.load(ints({}));
  // On an empty stack SlotArraySet pops index Undef (0) and value Undef.
  p.emit({Op::SetSlot(1), Op::SlotArraySet(1), Op::GetSlot(2), Op::GetSlot(1), Op::MakeArray(2)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, Value::Array({I(7), Value::Array({Value::Undef()})})));
}

TEST(VmUnderflow, BlockOpsTreatAnEmptyStackAsAnEmptyArray) {
  for (int which = 0; which < 4; ++which) {
    Program p;
    uint16_t blk = p.block([&] { p.emit(Op::Dup()); });
    Op op = which == 0   ? Op::MapBlock(blk)
            : which == 1 ? Op::GrepBlock(blk)
            : which == 2 ? Op::SortBlock(blk)
                         : Op::ForEachBlock(blk);
    p.emit(op);
    Ran r = run(p);
    if (which == 3) {
      EXPECT_TRUE(IsHalted(r.result)) << "ForEachBlock pushes nothing";
    } else {
      EXPECT_TRUE(IsOk(r.result, ints({}))) << op.name();
    }
  }
}

// -- Division and modulo by zero ------------------------------------------------------

TEST(VmEdge, DivisionByEveryZeroLikeDivisorIsUndef) {
  const std::vector<Value> zeros = {I(0),     F(0.0),     F(-0.0), Value::Undef(),
                                    S(""),    S("abc"),   S("0.0"), B(false),
                                    ints({}), ints({1, 2})};  // Array -> to_float 0.0
  for (const Value& d : zeros) {
    for (const Value& n : {I(1), I(0), F(-2.5)}) {
      Program p;
      p.load(n);
      p.load(d);
      p.emit(Op::Div());
      EXPECT_TRUE(IsOk(run(p).result, Value::Undef())) << n.repr() << " / " << d.repr();
    }
  }
}

TEST(VmEdge, ModuloByZeroIsIntZeroForIntsAndNaNOtherwise) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto mod = [](Value a, Value b) {
    Program p;
    p.load(a);
    p.load(b);
    p.emit(Op::Mod());
    return run(p).result;
  };
  EXPECT_TRUE(IsOk(mod(I(7), I(0)), I(0)));
  EXPECT_TRUE(IsOk(mod(I(kMin), I(0)), I(0)));
  EXPECT_TRUE(IsOk(mod(I(7), F(0.0)), F(nan)));
  EXPECT_TRUE(IsOk(mod(F(7.5), I(0)), F(nan)));
  EXPECT_TRUE(IsOk(mod(I(7), Value::Undef()), F(nan)));
  EXPECT_TRUE(IsOk(mod(I(7), B(false)), F(nan)));
}

TEST(VmEdge, ModOfMinByMinusOneIsZero) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(kMin), Op::LoadInt(-1), Op::Mod()}).result, I(0)));
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(kMin), Op::LoadInt(1), Op::Mod()}).result, I(0)));
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(kMin), Op::LoadInt(kMin), Op::Mod()}).result, I(0)));
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(kMax), Op::LoadInt(kMin), Op::Mod()}).result, I(kMax)));
  // Div never traps: MIN / -1 is the Float 2^63.
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(kMin), Op::LoadInt(-1), Op::Div()}).result,
                   F(9223372036854775808.0)));
}

TEST(VmEdge, IntegerOpsWrapAtBothEnds) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(kMin), Op::LoadInt(-1), Op::Mul()}).result, I(kMin)));
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(kMin), Op::Negate()}).result, I(kMin)));
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(kMin), Op::LoadInt(kMax), Op::Sub()}).result, I(1)));
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(kMax), Op::LoadInt(kMax), Op::Add()}).result, I(-2)));
}

// -- Jumps past the end -----------------------------------------------------------------

TEST(VmEdge, EveryJumpPastTheEndEndsTheRunNormally) {
  const uint64_t far = 1'000'000;
  std::vector<std::pair<const char*, std::vector<Op>>> programs = {
      {"Jump", {Op::LoadInt(42), Op::Jump(far), Op::LoadInt(0)}},
      {"Jump to size", {Op::LoadInt(42), Op::Jump(3), Op::LoadInt(0)}},
      {"JumpIfTrue", {Op::LoadInt(42), Op::LoadTrue(), Op::JumpIfTrue(far), Op::LoadInt(0)}},
      {"JumpIfFalse", {Op::LoadInt(42), Op::LoadFalse(), Op::JumpIfFalse(far), Op::LoadInt(0)}},
      {"JumpIfTrueKeep", {Op::LoadInt(42), Op::JumpIfTrueKeep(far), Op::LoadInt(0)}},
      {"JumpIfFalseKeep", {Op::LoadInt(42), Op::LoadInt(0), Op::JumpIfFalseKeep(far), Op::Pop(),
                           Op::LoadInt(1)}},
      {"SlotLtIntJumpIfFalse", {Op::LoadInt(42), Op::SlotLtIntJumpIfFalse(0, -5, far),
                                Op::LoadInt(0)}},
      {"SlotIncLtIntJumpBack", {Op::LoadInt(42), Op::SlotIncLtIntJumpBack(0, 10, far),
                                Op::LoadInt(0)}},
  };
  for (auto& [what, ops] : programs) {
    Program p;
    for (const Op& op : ops) p.emit(op);
    Ran r = run(p);
    // JumpIfFalseKeep keeps its 0 on the stack; everything else leaves just the 42.
    std::vector<Value> want = {I(42)};
    if (std::string(what) == "JumpIfFalseKeep") want.push_back(I(0));
    EXPECT_TRUE(SameValues(r.full_stack(), want)) << what;
    EXPECT_FALSE(r.vm.is_halted()) << what;
  }
}

TEST(VmEdge, CallToAnEntryPastTheEndEndsTheRun) {
  Program p;
  uint16_t f = p.name("f");
  p.builder().add_sub_entry(f, 500);
  p.i(1);
  p.emit({Op::Call(f, 0), Op::LoadInt(99)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(1)));
}

// -- Calls ----------------------------------------------------------------------------

TEST(VmEdge, CallArgcAboveStackDepthClampsTheBaseToZero) {
  Program p;
  uint16_t f = p.sub("f", [&] { p.emit({Op::MakeArray(200), Op::ReturnValue()}); });
  p.i(1);
  p.i(2);
  p.emit(Op::Call(f, 200));
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, ints({1, 2})));
  EXPECT_TRUE(r.vm.stack().empty());
  EXPECT_EQ(r.vm.frames().size(), 1u);

  Program q;
  uint16_t g = q.sub("g", [&] { q.emit(Op::Return()); });
  q.i(7);
  q.emit(Op::Call(g, 5));
  Ran rq = run(q);
  EXPECT_TRUE(IsHalted(rq.result)) << "Return truncates to the clamped base 0";
}

TEST(VmEdge, UndefinedFunctionErrorNamesTheFunctionAndWhere) {
  Program p;
  p.builder().set_source("edge.fasm");
  uint16_t missing = p.name("nonexistent");
  uint16_t outer = p.sub("outer", [&] { p.emit({Op::LoadInt(3), Op::Call(missing, 1)}); });
  p.i(1);
  size_t call_at = p.emit(Op::Call(outer, 0));
  Ran r = run(p);
  ASSERT_TRUE(IsErrorWith(r.result, "undefined function: nonexistent"));
  const RuntimeError& e = r.result.error();
  EXPECT_EQ(e.ip, 2u);    // the failing Call inside `outer`
  EXPECT_EQ(e.line, 3u);  // Program numbers lines from 1
  EXPECT_EQ(e.source, "edge.fasm");
  ASSERT_FALSE(e.backtrace.empty());
  bool caller_listed = false;
  for (const BacktraceEntry& b : e.backtrace) {
    caller_listed |= b.ip == call_at || b.ip == call_at + 1;  // the Call or its return ip
  }
  EXPECT_TRUE(caller_listed) << "the top-level Call at " << call_at << " is in the backtrace";
  // The failed Call popped nothing: its argument is still on the stack.
  EXPECT_TRUE(SameValues(r.vm.stack().to_vector(), {I(1), I(3)}));
}

TEST(VmEdge, CallOfAnOutOfRangeNameReportsQuestionMark) {
  Program p;
  p.name("only");
  p.emit(Op::Call(5, 0));
  EXPECT_TRUE(IsErrorWith(run(p).result, "undefined function: ?"));
}

TEST(VmEdge, RecursionComputesFactorialAndAckermann) {
  Program p;
  uint16_t fact = p.name("fact");
  p.sub("fact", [&] {
    // fact(n) = n <= 1 ? 1 : n * fact(n - 1)
    p.emit({Op::SetSlot(0), Op::GetSlot(0), Op::LoadInt(1), Op::NumLe()});
    size_t base = p.emit(Op::JumpIfTrue(0));
    p.emit({Op::GetSlot(0), Op::GetSlot(0), Op::Dec(), Op::Call(fact, 1), Op::Mul(),
            Op::ReturnValue()});
    p.patch(base, p.pos());
    p.emit({Op::LoadInt(1), Op::ReturnValue()});
  });
  p.i(20);
  p.emit(Op::Call(fact, 1));
  EXPECT_TRUE(IsOk(run(p).result, I(2432902008176640000)));

  Program q;
  uint16_t ack = q.name("ack");
  q.sub("ack", [&] {
    // ack(m, n): m == 0 -> n + 1; n == 0 -> ack(m - 1, 1); else ack(m - 1, ack(m, n - 1))
    q.emit({Op::SetSlot(1), Op::SetSlot(0), Op::GetSlot(0)});
    size_t m_nonzero = q.emit(Op::JumpIfTrue(0));
    q.emit({Op::GetSlot(1), Op::Inc(), Op::ReturnValue()});
    q.patch(m_nonzero, q.pos());
    q.emit(Op::GetSlot(1));
    size_t n_nonzero = q.emit(Op::JumpIfTrue(0));
    q.emit({Op::GetSlot(0), Op::Dec(), Op::LoadInt(1), Op::Call(ack, 2), Op::ReturnValue()});
    q.patch(n_nonzero, q.pos());
    q.emit({Op::GetSlot(0), Op::Dec(), Op::GetSlot(0), Op::GetSlot(1), Op::Dec(),
            Op::Call(ack, 2), Op::Call(ack, 2), Op::ReturnValue()});
  });
  q.i(2);
  q.i(3);
  q.emit(Op::Call(ack, 2));
  EXPECT_TRUE(IsOk(run(q).result, I(9)));
}

// -- Other run-time errors -------------------------------------------------------------

TEST(VmEdge, BlockOpWithABadIndexIsAnError) {
  Program p;
  p.load(ints({1, 2}));
  p.emit(Op::MapBlock(5));
  EXPECT_TRUE(IsErrorWith(run(p).result, "block 5"));
}

TEST(VmEdge, BlockThatJumpsOutsideItsRangeIsAnError) {
  Program p;
  size_t outside = 0;
  uint16_t blk = p.block([&] { outside = p.emit(Op::Jump(0)); });
  p.patch(outside, 0);  // back to op 0, before the block's start
  p.load(ints({1}));
  p.emit(Op::MapBlock(blk));
  EXPECT_TRUE(IsErrorWith(run(p).result, "block 0"));
}

TEST(VmEdge, ReturnOrFrameOpsAtBlockLevelAreErrors) {
  for (Op bad : {Op::Return(), Op::ReturnValue(), Op::PushFrame(), Op::PopFrame()}) {
    Program p;
    uint16_t blk = p.block([&] { p.emit(bad); });
    p.load(ints({1}));
    p.emit(Op::ForEachBlock(blk));
    EXPECT_TRUE(IsErrorWith(run(p).result, "block 0")) << bad.name();
  }
}

TEST(VmEdge, BuiltinRaiseErrorEndsTheRunWithItsMessage) {
  Program p;
  p.i(1);
  p.emit({Op::CallBuiltin(3, 0), Op::LoadInt(2)});
  Ran r = run(p, [](VM& vm) {
    vm.register_builtin(3, [](VM& v, uint8_t) {
      v.raise_error("custom failure");
      return Value::Undef();
    });
  });
  EXPECT_TRUE(IsErrorWith(r.result, "custom failure"));
  EXPECT_EQ(r.result.error().ip, 1u);
}

TEST(VmEdge, ExceptionsFromHandlersAreContained) {
  Program p;
  p.emit(Op::CallBuiltin(7, 0));
  Ran r = run(p, [](VM& vm) {
    vm.register_builtin(7, [](VM&, uint8_t) -> Value { throw std::runtime_error("boom"); });
  });
  EXPECT_TRUE(IsErrorWith(r.result, "builtin 7 threw: boom"));

  Program q;
  q.emit(Op::Extended(4, 0));
  Ran rq = run(q, [](VM& vm) {
    vm.set_extension_handler([](VM&, uint16_t, uint8_t) { throw std::runtime_error("ext boom"); });
  });
  EXPECT_TRUE(IsErrorWith(rq.result, "ext boom"));
}

// -- Other corners ----------------------------------------------------------------------

TEST(VmEdge, RangesNearTheIntLimitsStopBeforeOverflow) {
  auto range = [](std::initializer_list<int64_t> args, Op op) {
    Program p;
    for (int64_t a : args) p.i(a);
    p.emit(op);
    return run(p).result;
  };
  EXPECT_TRUE(IsOk(range({kMax - 2, kMax}, Op::Range()), ints({kMax - 2, kMax - 1, kMax})));
  EXPECT_TRUE(IsOk(range({kMin, kMin + 1}, Op::Range()), ints({kMin, kMin + 1})));
  EXPECT_TRUE(IsOk(range({kMax - 1, kMax, 5}, Op::RangeStep()), ints({kMax - 1})));
  EXPECT_TRUE(IsOk(range({kMin + 1, kMin, -5}, Op::RangeStep()), ints({kMin + 1})));
  EXPECT_TRUE(IsOk(range({kMax - 3, kMax, 2}, Op::RangeStep()), ints({kMax - 3, kMax - 1})));
  EXPECT_TRUE(IsOk(range({0, 10, kMin}, Op::RangeStep()), ints({})));
  EXPECT_TRUE(IsOk(range({10, 0, kMin}, Op::RangeStep()), ints({10})));
}

TEST(VmEdge, DeeplyNestedArrayIsPrintedComparedAndFreedWithoutRecursion) {
  // [[[...[1]...]]] 300,000 levels deep (far more than native recursion survives with an
  // 8 MiB stack): to_str, ==, repr and destruction must all walk it iteratively.
  constexpr int32_t kDepth = 300'000;
  Program p;
  p.emit({Op::LoadInt(1), Op::MakeArray(1), Op::SlotIncLtIntJumpBack(0, kDepth, 1),
          Op::Dup(), Op::PrintLn(1), Op::Dup(), Op::Dup(), Op::Concat(), Op::Swap()});
  Ran r = run(p);
  ASSERT_TRUE(r.result.is_ok()) << r.result.repr().substr(0, 200);
  EXPECT_EQ(r.output(), "1\n");
  ASSERT_EQ(r.vm.stack().size(), 1u);
  EXPECT_TRUE(Same(r.vm.stack()[0], S("11")));
  Value copy = r.result.value();
  EXPECT_TRUE(copy == r.result.value());
  Value other = r.result.value().deep_copy();
  EXPECT_TRUE(other == r.result.value());
  EXPECT_EQ(r.result.value().repr().size(),
            std::string("Array[]").size() * kDepth + std::string("Int(1)").size());
}

TEST(VmEdge, EveryOpReleasesTheHeapValuesItPops) {
  // Three heap values under each op, then the VM and chunk are dropped: the thread's live
  // heap bytes must come back to where they were, or some op leaked a reference.
  std::string leaks;
  for (size_t code = 0; code < kNumOps; ++code) {
    const OpInfo& info = kOpInfo[code];
    // These spawn processes for an unknown command; their pops are shared with Exec's
    // argument builder, which the shell tests cover.
    if (info.name == "Exec" || info.name == "ExecBg" || info.name == "CallFunction") continue;
    for (int kind = 0; kind < 3; ++kind) {
      const int64_t before = heap_bytes_live();
      {
        Program p;
        p.name("g");
        Value v = kind == 0   ? S("3.7")
                  : kind == 1 ? Value::Array({I(1), S("x")})
                              : Value::Hash(HashMap{{"k", S("v")}});
        for (int n = 0; n < 3; ++n) p.load(v);
        Op op(static_cast<OpCode>(code));
        for (size_t k = 0; k < info.num_operands; ++k) {
          OperandKind ok = info.kinds[k];
          if (ok == OperandKind::Target) op.set_raw_operand(k, 4);  // the end
          if (ok == OperandKind::Argc || ok == OperandKind::N || ok == OperandKind::Count) {
            op.set_raw_operand(k, 2);
          }
        }
        p.emit(op);
        p.builder().add_block_range(4, 4);  // an empty block at the end
        p.sub_chunk(Chunk());
        VM vm(p.build());
        vm.set_output([](std::string_view) {});
        vm.set_input([]() -> std::optional<std::string> { return std::nullopt; });
        vm.run();
      }
      if (heap_bytes_live() != before) {
        leaks += " " + std::string(info.name);
        leaks += kind == 0 ? "(Str)" : kind == 1 ? "(Array)" : "(Hash)";
      }
    }
  }
  EXPECT_TRUE(leaks.empty()) << "ops that leak a popped heap value:" << leaks;
}

TEST(VmEdge, StatusKeepsTheLow32BitsOfItsInt) {
  Ran r = run_ops({Op::LoadInt(4294967297), Op::SetStatus(), Op::GetStatus()});
  EXPECT_TRUE(IsOk(r.result, Value::Status(1)));
  Ran neg = run_ops({Op::LoadInt(-1), Op::SetStatus(), Op::GetStatus()});
  EXPECT_TRUE(IsOk(neg.result, Value::Status(-1)));
  EXPECT_EQ(neg.vm.last_status(), -1);
}

TEST(VmEdge, RunAgainAfterTheEndPopsTheNextValue) {
  Program p;
  p.emit({Op::LoadInt(1), Op::LoadInt(2)});
  VM vm(p.build());
  EXPECT_TRUE(IsOk(vm.run(), I(2)));
  EXPECT_TRUE(IsOk(vm.run(), I(1)));
  EXPECT_TRUE(IsHalted(vm.run()));
}

TEST(VmEdge, ResetRestoresTheInitialState) {
  Program p;
  uint16_t x = p.name("x");
  p.emit({Op::LoadInt(5), Op::SetVar(x), Op::LoadInt(3), Op::SetStatus(), Op::LoadInt(8),
          Op::SetSlot(0), Op::LoadInt(1), Op::ReturnValue()});
  VM vm(p.build());
  EXPECT_TRUE(IsOk(vm.run(), I(1)));
  EXPECT_TRUE(vm.is_halted());
  vm.reset();
  EXPECT_FALSE(vm.is_halted());
  EXPECT_EQ(vm.ip(), 0u);
  EXPECT_EQ(vm.last_status(), 0);
  EXPECT_TRUE(Same(vm.globals()[x], Value::Undef()));
  ASSERT_EQ(vm.frames().size(), 1u);
  // Popped frames may keep their slot vectors (as Undef) for reuse; reads see only Undef.
  for (const Value& slot : vm.frames().back().slots) EXPECT_TRUE(Same(slot, Value::Undef()));
  EXPECT_TRUE(IsOk(vm.run(), I(1)));
  EXPECT_EQ(vm.last_status(), 3);
}

}  // namespace
}  // namespace fusevm_test
