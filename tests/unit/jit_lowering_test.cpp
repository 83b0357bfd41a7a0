// JitExtension::lower (issue 5 item 5): a frontend names a C function for its Extended op
// and native code calls it; the interpreter runs the same op through the VM's extension
// handler. Every case runs both ways and must match (jit_vm_diff_harness.hpp), and the C
// function must really have been called by native code.
#include <atomic>
#include <cmath>
#include <memory>
#include <string>

#include "jit_test_util.hpp"
#include "jit_vm_diff_harness.hpp"

namespace {

std::atomic<int64_t> g_native_calls{0};

// Extended 1: (Float x, Float y) -> Float x * y + arg.
extern "C" double fusevm_test_fma(int64_t arg, double x, double y) {
  g_native_calls.fetch_add(1, std::memory_order_relaxed);
  return x * y + static_cast<double>(arg);
}

// Extended 2: (Int n) -> Bool "n is a multiple of arg" (arg 0: false).
extern "C" bool fusevm_test_multiple(int64_t arg, int64_t n) {
  g_native_calls.fetch_add(1, std::memory_order_relaxed);
  return arg != 0 && n % arg == 0;
}

// Extended 3: (Bool b, Int n) -> nothing; counts the calls with b set.
std::atomic<int64_t> g_tally{0};
extern "C" void fusevm_test_tally(int64_t, bool b, int64_t n) {
  g_native_calls.fetch_add(1, std::memory_order_relaxed);
  if (b) g_tally.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace

namespace fusevm_test {
namespace {

using namespace vmdiff;

class TestExtension : public JitExtension {
 public:
  bool can_jit(uint16_t id) const override { return id >= 1 && id <= 3; }
  size_t op_count() const override { return 3; }
  std::string name() const override { return "test"; }
  std::optional<JitLowering> lower(uint16_t id) const override {
    switch (id) {
      case 1: return JitLowering{"fusevm_test_fma", reinterpret_cast<void*>(&fusevm_test_fma),
                                 {JitKind::Float, JitKind::Float}, JitKind::Float};
      case 2: return JitLowering{"fusevm_test_multiple", reinterpret_cast<void*>(&fusevm_test_multiple),
                                 {JitKind::Int}, JitKind::Bool};
      case 3: return JitLowering{"fusevm_test_tally", reinterpret_cast<void*>(&fusevm_test_tally),
                                 {JitKind::Bool, JitKind::Int}, std::nullopt};
      default: return std::nullopt;
    }
  }
};

// The interpreter's side of the same ops: whatever kinds come, as a frontend's handler
// would (to_float/to_int/is_truthy), so a kind the lowering does not take still works.
void handler(VM& vm, uint16_t id, uint8_t arg) {
  switch (id) {
    case 1: {
      const double y = vm.pop().to_float();
      const double x = vm.pop().to_float();
      vm.push(Value::Float(x * y + arg));
      break;
    }
    case 2: {
      const int64_t n = vm.pop().to_int();
      vm.push(Value::Bool(arg != 0 && n % arg == 0));
      break;
    }
    case 3: {
      const int64_t n = vm.pop().to_int();
      if (vm.pop().is_truthy()) g_tally.fetch_add(n, std::memory_order_relaxed);
      break;
    }
    default:
      break;
  }
}

class JitLoweringTest : public JitRequired {
 protected:
  void TearDown() override {
    JitCompiler::wait_idle();
    JitRequired::TearDown();
  }
  RunSetup setup(JitTiers tiers) {
    RunSetup s = sync_strict(tiers, 1);
    s.jit->extensions.push_back(std::make_shared<TestExtension>());
    s.extension = handler;
    return s;
  }
};

TEST_F(JitLoweringTest, a_hot_loop_calls_the_lowered_c_functions_natively) {
  const int64_t before = g_native_calls.load();
  const int64_t tally_before = g_tally.load();
  expect_same_as_interpreted(R"(
  LoadFloat 1.0
  SetSlot 1
  LoadInt 0
  SetSlot 0
top:
  GetSlot 1
  LoadFloat 1.5
  Extended 1, 2
  LoadFloat 0.5
  Mul
  SetSlot 1
  GetSlot 0
  Extended 2, 3
  GetSlot 0
  Extended 3, 0
  GetSlot 0
  Extended 2, 4
  SetSlot 2
  PreIncSlotVoid 0
  GetSlot 0
  LoadInt 1000
  NumLt
  JumpIfTrue top
)", setup(JitTiers::Block));
  EXPECT_GT(g_native_calls.load() - before, 1000) << "the lowered functions were not called natively";
  // Both runs (interpreted and jitted) tallied the multiples of 3 below 1000 once each.
  EXPECT_EQ(g_tally.load() - tally_before, 2 * 166833);
}

// An operand of another kind than the lowering takes (an Int where it takes Floats, a
// Float where it takes an Int): native code leaves that op to the handler and goes on.
TEST_F(JitLoweringTest, operands_of_other_kinds_go_to_the_interpreters_handler) {
  expect_same_as_interpreted(R"(
  LoadInt 0
  SetSlot 0
  LoadInt 0
  SetSlot 1
top:
  GetSlot 0
  LoadInt 2
  Extended 1, 1
  SetSlot 2
  GetSlot 2
  Extended 2, 5
  SetSlot 3
  GetSlot 1
  GetSlot 0
  Add
  SetSlot 1
  PreIncSlotVoid 0
  GetSlot 0
  LoadInt 50
  NumLt
  JumpIfTrue top
)", setup(JitTiers::Block));
}

// Inside a compiled function, recursively, with the result feeding the recursion.
TEST_F(JitLoweringTest, compiled_functions_call_lowered_functions) {
  expect_same_as_interpreted(R"(
  Jump main
.sub f
  SetSlot 0
  GetSlot 0
  LoadInt 0
  NumLe
  JumpIfFalse more
  LoadFloat 1.0
  ReturnValue
more:
  GetSlot 0
  LoadInt 1
  Sub
  Call @f, 1
  LoadFloat 1.01
  Extended 1, 0
  ReturnValue
main:
  LoadInt 200
  Call @f, 1
  SetSlot 0
  LoadInt 300
  Call @f, 1
  SetSlot 1
)", setup(JitTiers::Block));
}

// Without the extension in JitOptions, Extended stays an interpreted op (loops holding
// one get no unit) and the results are the same.
TEST_F(JitLoweringTest, without_the_extension_the_op_stays_in_the_interpreter) {
  RunSetup s = sync_strict(JitTiers::Block, 1);
  s.extension = handler;
  const int64_t before = g_native_calls.load();
  expect_same_as_interpreted(R"(
  LoadInt 0
  SetSlot 0
top:
  GetSlot 0
  Extended 2, 7
  Pop
  PreIncSlotVoid 0
  GetSlot 0
  LoadInt 100
  NumLt
  JumpIfTrue top
)", s, /*must_enter=*/false);
  EXPECT_EQ(g_native_calls.load(), before);
}

}  // namespace
}  // namespace fusevm_test
