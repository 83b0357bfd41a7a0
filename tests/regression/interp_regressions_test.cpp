// Regressions found while the interpreter was written, one test per bug, named after it.
#include <gtest/gtest.h>

#include "fusevm/asm.hpp"
#include "fusevm/vm.hpp"

namespace fusevm {
namespace {

VMResult run_text(const std::string& text, const Limits* limits = nullptr) {
  LoadResult loaded = assemble(text, "regression.fasm");
  EXPECT_TRUE(loaded.ok()) << loaded.message();
  VM vm(std::move(*loaded.chunk));
  if (limits) vm.set_limits(*limits);
  return vm.run();
}

// Handlers leaving through a computed goto skipped the destructors of their Value locals,
// so every Str an op like LogNot or Div popped was leaked.
TEST(Regression, ComputedGotoSkippedDestructorsOfPoppedValues) {
  const int64_t before = heap_bytes_live();
  VMResult r = run_text(R"(
    LoadConst "a string long enough to live on the heap, not in a small buffer"
    LogNot
    Pop
    LoadConst "another heap string for the divisor of a division"
    LoadConst "and one more for the dividend"
    Div
    Pop
    LoadInt 1
)");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(heap_bytes_live(), before);
}

// Runaway block recursion nested the dispatch loop on the C++ stack until it overflowed
// (a segfault); it must end in a clear limit error instead.
TEST(Regression, RunawayBlockRecursionOverflowedTheNativeStack) {
  VMResult r = run_text(R"(
    LoadInt 1
    Jump after
.block again
    ForEachBlock again
.end
after:
    ForEachBlock again
)");
  ASSERT_TRUE(r.is_error());
  EXPECT_NE(r.error().message.find("limit exceeded:"), std::string::npos) << r.error().message;
}

// max_stack was only checked when the stack buffer had to grow (first at 256 values), so
// a smaller limit was never enforced.
TEST(Regression, SmallMaxStackWasNotEnforcedBelowTheInitialCapacity) {
  Limits l;
  l.max_stack = 10;
  VMResult r = run_text(R"(
top:
    LoadInt 1
    Jump top
)", &l);
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(r.error().message, "limit exceeded: value stack (10)");
}

// The VM counted call frames in a separate counter, so a Call frame pushed by an embedder
// through frames() was invisible to Return, which halted instead of returning.
TEST(Regression, ReturnIgnoredCallFramesPushedThroughTheApi) {
  LoadResult loaded = assemble(R"(
    LoadInt 7
    ReturnValue
    LoadInt 1
    Add
)", "regression.fasm");
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  VM vm(std::move(*loaded.chunk));
  Frame f;
  f.return_ip = 2;
  f.stack_base = 0;
  f.kind = FrameKind::Call;
  vm.frames().push_back(std::move(f));
  VMResult r = vm.run();
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r.value(), Value::Int(8));
  EXPECT_EQ(vm.frames().size(), 1u);
}

}  // namespace
}  // namespace fusevm
