// Compiled functions (issue 5 item 4, ARCHITECTURE §9): subs run as native functions that
// call each other natively, and every way out of native recursion (a limit, an interrupt,
// an op native code leaves to the interpreter, a kind it was not compiled for) rebuilds
// the interpreter's frames exactly. Each case runs interpreted and with the JIT, and
// everything observable must match (jit_vm_diff_harness.hpp).
#include <string>

#include "jit_test_util.hpp"
#include "jit_vm_diff_harness.hpp"

namespace fusevm_test {
namespace {

using namespace vmdiff;

class JitFn : public JitRequired {
 protected:
  void TearDown() override {
    JitCompiler::wait_idle();
    JitRequired::TearDown();
  }
};

// fib(n) with the sub first and main after it; `main` is appended.
std::string fib_program(const std::string& main) {
  return R"(
  Jump main
.sub fib
  SetSlot 0
  GetSlot 0
  LoadInt 2
  NumLt
  JumpIfFalse recurse
  GetSlot 0
  ReturnValue
recurse:
  GetSlot 0
  LoadInt 1
  Sub
  Call @fib, 1
  GetSlot 0
  LoadInt 2
  Sub
  Call @fib, 1
  Add
  ReturnValue
main:
)" + main;
}

// down(n) = n + down(n - 1), down(0) = 0: one value stays under each recursive call; `main`
// is appended.
std::string sum_down_program(const std::string& main) {
  return R"(
  Jump main
.sub down
  SetSlot 0
  GetSlot 0
  LoadInt 0
  NumEq
  JumpIfFalse deeper
  LoadInt 0
  ReturnValue
deeper:
  GetSlot 0
  GetSlot 0
  LoadInt 1
  Sub
  Call @down, 1
  Add
  ReturnValue
main:
)" + main;
}

uint64_t block_entries() { return JitCompiler::stats().block.entered; }

TEST_F(JitFn, recursive_fib_runs_natively_and_matches) {
  const uint64_t before = block_entries();
  expect_same_as_interpreted(fib_program(R"(
  LoadInt 20
  Call @fib, 1
  SetSlot 0
  LoadFloat 12.5
  Call @fib, 1
  SetSlot 1
)"), sync_strict(JitTiers::All, 1));
  // One entry per call the interpreter makes before native recursion takes over.
  EXPECT_GT(block_entries(), before);
}

TEST_F(JitFn, ackermann_with_two_arguments_and_nested_calls_matches) {
  expect_same_as_interpreted(R"(
  Jump main
.sub ack
  SetSlot 1
  SetSlot 0
  GetSlot 0
  LoadInt 0
  NumEq
  JumpIfFalse m_positive
  GetSlot 1
  LoadInt 1
  Add
  ReturnValue
m_positive:
  GetSlot 1
  LoadInt 0
  NumEq
  JumpIfFalse both_positive
  GetSlot 0
  LoadInt 1
  Sub
  LoadInt 1
  Call @ack, 2
  ReturnValue
both_positive:
  GetSlot 0
  LoadInt 1
  Sub
  GetSlot 0
  GetSlot 1
  LoadInt 1
  Sub
  Call @ack, 2
  Call @ack, 2
  ReturnValue
main:
  LoadInt 2
  LoadInt 3
  Call @ack, 2
  SetSlot 0
)", sync_strict(JitTiers::Block, 1));
}

// The call depth limit hit deep inside native recursion: the native frames become
// interpreter frames and the interpreter fails at the Call, with every frame's slots.
TEST_F(JitFn, the_call_depth_limit_inside_native_recursion_fails_as_interpreted) {
  RunSetup s = sync_strict(JitTiers::Block, 1);
  s.limits.max_call_depth = 40;
  expect_same_as_interpreted(sum_down_program("  LoadInt 100\n  Call @down, 1\n"), s);
}

// The value stack limit: each native level keeps one value below its call, so the
// interpreter's stack grows with the recursion and passes max_stack at some depth.
TEST_F(JitFn, the_value_stack_limit_inside_native_recursion_fails_as_interpreted) {
  RunSetup s = sync_strict(JitTiers::Block, 1);
  s.limits.max_stack = 57;
  expect_same_as_interpreted(sum_down_program("  LoadInt 100\n  Call @down, 1\n"), s);
}

// Recursion deeper than the cap on native frames per entry: the interpreter takes the
// Call at the cap and enters native code again below it; the sum is the same.
TEST_F(JitFn, recursion_deeper_than_the_native_cap_continues_and_matches) {
  expect_same_as_interpreted(sum_down_program("  LoadInt 5000\n  Call @down, 1\n  SetSlot 0\n"),
                             sync_strict(JitTiers::Block, 1));
}

// Division by zero at depth 5 (the interpreter's Undef), and a Print at depth 3: native
// code bails out at those ops, the interpreter runs them on rebuilt frames and returns
// through them; the output and the results are the same.
TEST_F(JitFn, ops_native_code_leaves_to_the_interpreter_bail_out_mid_recursion) {
  expect_same_as_interpreted(R"(
  Jump main
.sub f
  SetSlot 0
  GetSlot 0
  LoadInt 5
  NumEq
  JumpIfFalse not_five
  LoadInt 1
  LoadInt 0
  Div
  SetSlot 1
not_five:
  GetSlot 0
  LoadInt 3
  NumEq
  JumpIfFalse not_three
  GetSlot 0
  PrintLn 1
not_three:
  GetSlot 0
  LoadInt 8
  NumLt
  JumpIfFalse leaf
  GetSlot 0
  LoadInt 1
  Add
  Call @f, 1
  GetSlot 0
  Add
  ReturnValue
leaf:
  GetSlot 0
  ReturnValue
main:
  LoadInt 0
  Call @f, 1
  SetSlot 0
  LoadInt 0
  Call @f, 1
  SetSlot 1
)", sync_strict(JitTiers::Block, 1));
}

// A sub that returns an Int on one path and a Float on another, and a sub that returns
// nothing: the first return fixes what native code returns; the other bails out at its
// ReturnValue and the interpreter returns the value.
TEST_F(JitFn, returns_of_another_kind_or_form_go_through_the_interpreter) {
  expect_same_as_interpreted(R"(
  Jump main
.sub half
  SetSlot 0
  GetSlot 0
  LoadInt 2
  Mod
  LoadInt 0
  NumEq
  JumpIfFalse odd
  GetSlot 0
  LoadInt 2
  Div
  ReturnValue
odd:
  GetSlot 0
  ReturnValue
.sub side
  SetSlot 0
  GetSlot 0
  SetSlot 3
  Return
main:
  LoadInt 0
  SetSlot 0
top:
  GetSlot 0
  Call @half, 1
  GetSlot 1
  Add
  SetSlot 1
  GetSlot 0
  Call @side, 1
  PreIncSlotVoid 0
  GetSlot 0
  LoadInt 30
  NumLt
  JumpIfTrue top
)", sync_strict(JitTiers::Block, 1));
}

// One sub called with Int, Float, Bool and Undef arguments: a version per kind, the
// versions calling each other as the kinds change on the way down.
TEST_F(JitFn, a_sub_called_with_every_scalar_kind_gets_a_version_per_kind) {
  expect_same_as_interpreted(R"(
  Jump main
.sub g
  SetSlot 1
  SetSlot 0
  GetSlot 1
  LoadInt 0
  NumLe
  JumpIfFalse more
  GetSlot 0
  ReturnValue
more:
  GetSlot 0
  LoadFloat 0.5
  Mul
  GetSlot 1
  LoadInt 1
  Sub
  Call @g, 2
  GetSlot 0
  Add
  ReturnValue
main:
  LoadInt 7
  LoadInt 6
  Call @g, 2
  SetSlot 0
  LoadFloat 1.5
  LoadInt 6
  Call @g, 2
  SetSlot 1
  LoadTrue
  LoadInt 6
  Call @g, 2
  SetSlot 2
  LoadUndef
  LoadInt 6
  Call @g, 2
  SetSlot 3
)", sync_strict(JitTiers::Block, 1));
}

// A string argument keeps the call in the interpreter (no compiled version takes it),
// and a Call of an undefined sub fails exactly as interpreted.
TEST_F(JitFn, non_scalar_arguments_and_undefined_subs_stay_interpreted) {
  expect_same_as_interpreted(fib_program(R"(
  LoadInt 12
  Call @fib, 1
  SetSlot 0
  LoadConst "x"
  Call @fib, 1
  SetSlot 1
  LoadInt 3
  Call @nosuch, 1
)"), sync_strict(JitTiers::Block, 1));
}

// Interrupted before each run and resumed: every run stops at the first poll, in the
// interpreter or in native code, at the same place with the same frames.
TEST_F(JitFn, interrupted_and_resumed_recursion_stops_where_the_interpreter_stops) {
  RunSetup s = sync_strict(JitTiers::Block, 1);
  s.interrupt_first = true;
  s.resumes = 30;
  expect_same_as_interpreted(fib_program(R"(
  LoadInt 0
  SetSlot 0
top:
  LoadInt 6
  Call @fib, 1
  SetSlot 1
  PreIncSlotVoid 0
  GetSlot 0
  LoadInt 3
  NumLt
  JumpIfTrue top
)"), s, /*must_enter=*/false);
}

// VM::call of a sub from the embedder, repeatedly: the call site is the call stub, so
// the recursion inside is what compiles, and the results match.
TEST_F(JitFn, embedder_calls_of_a_recursive_sub_match) {
  RunSetup s = sync_strict(JitTiers::Block, 1);
  for (int k = 0; k < 5; ++k) s.calls.push_back({"fib", {Value::Int(15 + k)}});
  expect_same_as_interpreted(fib_program("  LoadInt 1\n  SetSlot 0\n"), s);
}

}  // namespace
}  // namespace fusevm_test
