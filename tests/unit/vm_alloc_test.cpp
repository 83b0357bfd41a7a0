// Steady-state calls allocate nothing: the heap allocations of a run do not grow with
// the number of calls it makes (frames and their slot vectors are reused).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "fusevm/asm.hpp"
#include "fusevm/vm.hpp"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// Counting replacements for the global allocation functions (this test binary only).
// Every non-aligned form is replaced, throwing and nothrow alike: std::stable_sort takes
// its buffer with nothrow new, and a half-replaced set would pair our free() with the
// sanitizer's new (alloc-dealloc-mismatch). The array forms forward to these.
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n != 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
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

}  // namespace
}  // namespace fusevm
