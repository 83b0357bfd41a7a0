// Steady-state calls allocate nothing: the heap allocations of a run do not grow with
// the number of calls it makes (frames and their slot vectors are reused). And an
// allocation that fails (out of memory) ends the run with an error, not the process, in
// the interpreter and in a trace's call-outs alike.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "fusevm/asm.hpp"
#include "fusevm/jit.hpp"
#include "fusevm/vm.hpp"

namespace {
std::atomic<long> g_allocations{0};
// Allocations above this many bytes fail, as they would when memory runs out (0: none).
std::atomic<size_t> g_fail_above{0};
bool fails(std::size_t n) {
  const size_t limit = g_fail_above.load(std::memory_order_relaxed);
  return limit != 0 && n > limit;
}
}  // namespace

// Counting replacements for the global allocation functions (this test binary only).
// Every non-aligned form is replaced, throwing and nothrow alike: std::stable_sort takes
// its buffer with nothrow new, and a half-replaced set would pair our free() with the
// sanitizer's new (alloc-dealloc-mismatch). The array forms forward to these.
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (fails(n)) throw std::bad_alloc();
  if (void* p = std::malloc(n != 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (fails(n)) return nullptr;
  return std::malloc(n != 0 ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace fusevm {
namespace {

// A loop that calls a recursive sub `calls` times; every call sets slots and returns.
std::string program(int calls) {
  return R"(
    Jump main
.sub down
    SetSlot 0
    GetSlot 0
    LoadInt 1
    NumLt
    JumpIfFalse more
    LoadInt 0
    ReturnValue
more:
    GetSlot 0
    LoadInt 1
    Sub
    Call @down, 1
    LoadInt 1
    Add
    ReturnValue
main:
    LoadInt 0
    SetSlot 0
top:
    GetSlot 0
    LoadInt )" + std::to_string(calls) + R"(
    NumLt
    JumpIfFalse done
    LoadInt 20
    Call @down, 1
    SetSlot 1
    PreIncSlotVoid 0
    Jump top
done:
    GetSlot 1
)";
}

long allocations_of_run(int calls) {
  LoadResult loaded = assemble(program(calls), "alloc.fasm");
  EXPECT_TRUE(loaded.ok()) << loaded.message();
  VM vm(std::move(*loaded.chunk));
  const long before = g_allocations.load();
  VMResult r = vm.run();
  const long used = g_allocations.load() - before;
  EXPECT_TRUE(r.is_ok());
  EXPECT_EQ(r.value(), Value::Int(20));
  return used;
}

TEST(VmAllocation, CallsAllocateNothingInSteadyState) {
  // 10 outer iterations (210 calls) against 1000 (21,000 calls): the first run sizes the
  // frame stack and slot vectors; after that no call may allocate.
  const long few = allocations_of_run(10);
  const long many = allocations_of_run(1000);
  EXPECT_EQ(few, many) << "allocations grew with the number of calls";
}

// -- Out of memory ------------------------------------------------------------------------

// Fails every allocation above `bytes` while it lives.
struct AllocationsFailAbove {
  explicit AllocationsFailAbove(size_t bytes) { g_fail_above = bytes; }
  ~AllocationsFailAbove() { g_fail_above = 0; }
};

// Appends "abcdefgh" to slot 0 for 20,000 laps (160 KB); slot 1 counts the laps. The
// string's growth past the allocation limit fails at some lap, the same one every time.
const char* const kGrowString = R"(
    LoadConst ""
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 0
    LoadConst "abcdefgh"
    Concat
    SetSlot 0
    PreIncSlotVoid 1
    GetSlot 1
    LoadInt 20000
    NumLt
    JumpIfTrue top
    GetSlot 1
)";

struct OomRun {
  VMResult result = VMResult::Halted();
  uint64_t ip = 0;
  int64_t laps = 0;
};

// Runs kGrowString once to the end (a JIT compiles meanwhile: the limit is not for the
// compiler), then again with allocations above 64 KiB failing; the host's global, set
// before that run, must come back untouched, and the VM must run again after reset().
OomRun grow_until_out_of_memory(VM& vm) {
  VMResult warm = vm.run();
  EXPECT_EQ(warm.value(), Value::Int(20000)) << warm.repr();
  vm.reset();
  vm.globals().resize(1);
  vm.globals()[0] = Value::Str("the host's data");
  OomRun out;
  {
    AllocationsFailAbove limit(64 << 10);
    out.result = vm.run();
  }
  out.ip = vm.ip();
  out.laps = vm.frames().back().slots.at(1).as_int();
  EXPECT_EQ(vm.globals()[0], Value::Str("the host's data"));
  vm.reset();
  VMResult again = vm.run();
  EXPECT_TRUE(again.is_ok()) << again.repr();
  EXPECT_EQ(again.value(), Value::Int(20000));
  return out;
}

TEST(VmOutOfMemory, AFailedValueAllocationEndsTheRunNotTheProcess) {
  LoadResult loaded = assemble(kGrowString, "grow.fasm");
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  VM vm(std::move(*loaded.chunk));
  OomRun r = grow_until_out_of_memory(vm);
  ASSERT_TRUE(r.result.is_error()) << r.result.repr();
  EXPECT_EQ(r.result.error().message, "out of memory");
  EXPECT_GT(r.laps, 1000);  // it failed at the string's growth, well into the loop
  EXPECT_LT(r.laps, 20000);
}

// The same in a trace: Concat is a call-out the core runs for native code, and its failed
// allocation ends the run at the same op and lap as interpreted.
TEST(VmOutOfMemory, AFailedAllocationInATracesCallOutEndsTheRunWhereTheInterpreterDoes) {
  if (!JitCompiler::available()) {
    if (const char* s = std::getenv("FUSEVM_JIT_STRICT"); s != nullptr && std::string(s) == "1") {
      FAIL() << "the JIT plugin is unavailable: " << JitCompiler::unavailable_reason();
    }
    GTEST_SKIP() << "the JIT plugin is unavailable";
  }
  LoadResult loaded = assemble(kGrowString, "grow.fasm");
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  VM interpreted(*loaded.chunk);
  const OomRun want = grow_until_out_of_memory(interpreted);

  JitCompiler::reset();
  VM traced(std::move(*loaded.chunk));
  JitOptions o;
  o.tiers = JitTiers::Trace;
  o.sync = true;
  o.strict = true;
  o.trace.trace_threshold = 2;
  o.trace.min_ops_per_call_out = 0;
  traced.enable_jit(o);
  const OomRun got = grow_until_out_of_memory(traced);
  const JitStats s = JitCompiler::stats();
  EXPECT_GT(s.trace.entered, 0u);
  EXPECT_GT(s.trace.call_outs, 10000u) << "the loop did not run its Concat from a trace";
  ASSERT_TRUE(got.result.is_error()) << got.result.repr();
  EXPECT_EQ(got.result.error().message, want.result.error().message);
  EXPECT_EQ(got.ip, want.ip);
  EXPECT_EQ(got.laps, want.laps);
  JitCompiler::reset();
}

}  // namespace
}  // namespace fusevm
