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


// Found by tests/fuzz/fuzz_vm: a fused loop op counted as one op of fuel, so an
// AccumSumLoop whose counter started at INT64_MIN ran ~2^63 laps under a step budget
// (the fuzzer's 10 s timeout). Fused loops now cost one unit of fuel per lap: one the fuel
// left cannot pay for runs the laps it can, writes its progress back and fails at itself,
// and run() with more fuel goes on from there.
TEST(Regression, FuelDidNotBoundAFusedLoopFarBelowItsLimit) {
  Limits l;
  l.fuel = 1000;
  VMResult r = run_text(R"(
    LoadInt -9223372036854775808
    SetSlot 1
    LoadInt 0
    SetSlot 0
    AccumSumLoop 0, 1, 100
    GetSlot 0
)", &l);
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(r.error().message, "limit exceeded: fuel (1000)");
  EXPECT_EQ(r.error().ip, 4u) << "at the fused op";

  // 100 laps under a budget of 30 per run(): four runs, each going on where the last
  // stopped, give the unmetered result.
  LoadResult loaded = assemble(R"(
    LoadInt 0
    SetSlot 1
    LoadInt 0
    SetSlot 0
    AccumSumLoop 0, 1, 100
    GetSlot 0
)", "fuel.fasm");
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  VM vm(std::move(*loaded.chunk));
  l.fuel = 30;
  vm.set_limits(l);
  int runs = 1;
  r = vm.run();
  while (r.is_error() && r.error().message == "limit exceeded: fuel (30)" && runs < 10) {
    EXPECT_EQ(vm.ip(), 4u) << "stopped at the fused op, its progress in its slots";
    r = vm.run();
    ++runs;
  }
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(r.value().to_int(), 4950);
  EXPECT_EQ(runs, 4);
}

// The laps of ConcatConstLoop and PushIntRangeLoop were `limit - i` in int64_t, which
// overflows (undefined behaviour, flagged by UBSan) for a counter at INT64_MIN; counted
// unsigned, the ops fail on their size limits as they should.
TEST(Regression, FusedLoopLapsOverflowedForACounterAtInt64Min) {
  VMResult r = run_text(R"(
    LoadInt -9223372036854775808
    SetSlot 2
    LoadConst ""
    SetSlot 1
    ConcatConstLoop "x", 1, 2, 10
    GetSlot 1
)");
  ASSERT_TRUE(r.is_error());
  EXPECT_NE(r.error().message.find("limit exceeded: string size"), std::string::npos) << r.error().message;
  r = run_text(R"(
    LoadInt -9223372036854775808
    SetSlot 0
    PushIntRangeLoop @a, 0, 10
    LoadInt 1
)");
  ASSERT_TRUE(r.is_error());
  EXPECT_NE(r.error().message.find("limit exceeded: array size"), std::string::npos) << r.error().message;
}

// Found by fuzz_vm (an out-of-memory at 2 GB under a 1 MiB memory limit): an Array that
// holds another Array twice, nested k deep, costs k small payloads but flattens to text
// 2^k times as long, and a hash key (or Concat, Print, a host call) built that text
// without the string limit. The limit now holds while an Array's text is built.
std::string doubled_array(int times, const std::string& use) {
  std::string text = "    LoadInt 1\n    LoadInt 100\n    Range\n    SetVar @a\n    DeclareHash @h\n";
  for (int k = 0; k < times; ++k) text += "    GetVar @a\n    GetVar @a\n    MakeArray 2\n    SetVar @a\n";
  return text + use;
}

TEST(Regression, ArraysSharingElementsFlattenedPastTheStringLimit) {
  Limits small;
  small.max_string = 64 << 10;
  // 2^12 copies of "1 2 ... 100" (292 bytes): 1.2 MB of text, past the 64 KiB limit.
  for (const char* use : {"    LoadInt 0\n    GetVar @a\n    HashSet @h\n",  // as a hash key
                          "    GetVar @a\n    LoadConst \"!\"\n    Concat\n",  // as a Concat operand
                          "    GetVar @a\n    StringLen\n"}) {               // (Array: its length)
    VMResult r = run_text(doubled_array(12, use), &small);
    if (std::string(use).find("StringLen") != std::string::npos) {
      ASSERT_TRUE(r.is_ok()) << r.repr();  // the length of an Array is its element count
      EXPECT_EQ(r.value().to_int(), 2);
      continue;
    }
    ASSERT_TRUE(r.is_error()) << use;
    EXPECT_EQ(r.error().message, "limit exceeded: string size (65536)") << use;
  }
  // Within the limit, the same shapes still work: 2^4 copies, 4.7 KB.
  VMResult fine = run_text(doubled_array(4, "    GetVar @a\n    LoadConst \"!\"\n    Concat\n    StringLen\n"), &small);
  ASSERT_TRUE(fine.is_ok()) << fine.repr();
  EXPECT_EQ(fine.value().to_int(), 16 * 292 - 1 + 1);
  // Outside a run (no StringLimit), to_str has no limit.
  EXPECT_EQ(Value::Array({Value::Int(1), Value::Array({Value::Int(2), Value::Int(3)})}).to_str(), "1 2 3");
}

}  // namespace
}  // namespace fusevm
