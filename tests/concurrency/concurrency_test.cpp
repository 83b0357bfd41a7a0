// Many VMs on many threads sharing the process's one JIT engine (ARCHITECTURE §9
// "Threads"): each thread owns its VMs and its chunks, compiles go to the engine's thread,
// compiled units and traces are shared by chunk content, and values cross threads only as
// deep copies. A separate test binary so CI can run just these under ThreadSanitizer
// (`build-tsan/`, see .ci/run); they also run in every other build.
//
// Each test checks results, not only the absence of crashes: a race that garbles a shared
// cache shows up as a wrong sum here even without a sanitizer.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fusevm/fusevm.hpp"
#include "fusevm/jit.hpp"

namespace fusevm_test {
namespace {

using fusevm::Chunk;
using fusevm::JitCompiler;
using fusevm::JitOptions;
using fusevm::JitTiers;
using fusevm::Value;
using fusevm::VM;
using fusevm::VMResult;

constexpr int kThreads = 4;

// A loop with a branch: sum += i when i % 3 == 0, else sum -= 1, for i < 20,000 (block
// tier, or a trace tree whose side path is recorded).
constexpr const char* kBranchLoop = R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 1
    LoadInt 20000
    NumLt
    JumpIfFalse done
    GetSlot 1
    LoadInt 3
    Mod
    JumpIfTrue other
    GetSlot 0
    GetSlot 1
    Add
    SetSlot 0
    Jump next
other:
    GetSlot 0
    LoadInt 1
    Sub
    SetSlot 0
next:
    PreIncSlotVoid 1
    Jump top
done:
    GetSlot 0
)";
int64_t branch_loop_result() {
  int64_t sum = 0;
  for (int64_t i = 0; i < 20000; ++i) sum += i % 3 == 0 ? i : -1;
  return sum;
}

// A loop calling twice(i) (inlined by a trace), then fib(15) (a compiled function).
constexpr const char* kCalls = R"(
    Jump main
.sub twice
    SetSlot 0
    GetSlot 0
    GetSlot 0
    Add
    ReturnValue
.sub fib
    SetSlot 0
    GetSlot 0
    LoadInt 2
    NumLt
    JumpIfFalse rec
    GetSlot 0
    ReturnValue
rec:
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
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 0
    GetSlot 1
    Call @twice, 1
    Add
    SetSlot 0
    PreIncSlotVoid 1
    GetSlot 1
    LoadInt 5000
    NumLt
    JumpIfTrue top
    GetSlot 0
    LoadInt 15
    Call @fib, 1
    Add
)";
constexpr int64_t kCallsResult = 5000 * 4999 + 610;  // sum of 2i for i < 5000, plus fib(15)

// A loop whose string work a trace hands to the core (call-outs): the length of
// "ab" repeated 3,000 times, plus the laps.
constexpr const char* kStrings = R"(
    LoadConst ""
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 0
    LoadConst "ab"
    Concat
    SetSlot 0
    PreIncSlotVoid 1
    GetSlot 1
    LoadInt 3000
    NumLt
    JumpIfTrue top
    GetSlot 0
    StringLen
    GetSlot 1
    Add
)";
constexpr int64_t kStringsResult = 6000 + 3000;

Chunk assembled(const char* text) {
  fusevm::LoadResult r = fusevm::assemble(text);
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? std::move(*r.chunk) : Chunk{};
}

// The tier sets the threads cycle through: every tier alone, all together, and none.
JitTiers tiers_for(int k) {
  static const JitTiers sets[] = {JitTiers::All, JitTiers::Block, JitTiers::Trace, JitTiers::Linear | JitTiers::Block,
                                  JitTiers::Off};
  return sets[k % 5];
}

std::string describe(const VMResult& r) {
  if (r.is_error()) return "error: " + r.error().message;
  if (r.is_ok()) return "ok";
  return "halted";
}

class Concurrency : public ::testing::Test {
 protected:
  void SetUp() override { JitCompiler::reset(); }
  void TearDown() override {
    JitCompiler::wait_idle();
    JitCompiler::reset();
  }
};

// Every thread makes new VMs over its own copies of three programs, with a different tier
// set each round, compiles asynchronously on the shared engine (some rounds synchronously
// on their own thread), and checks every result; meanwhile a reader polls the engine's
// statistics and exports the traces of its own copy of a chunk.
TEST_F(Concurrency, many_vms_on_many_threads_share_one_engine_and_agree) {
  struct Program {
    const char* text;
    int64_t result;
  };
  const Program programs[] = {{kBranchLoop, branch_loop_result()}, {kCalls, kCallsResult}, {kStrings, kStringsResult}};
  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // This thread's own chunks: a Chunk (its constants) never crosses threads.
      std::vector<Chunk> chunks;
      for (const Program& p : programs) chunks.push_back(assembled(p.text));
      for (int round = 0; round < 24; ++round) {
        const size_t which = size_t(round + t) % chunks.size();
        VM vm(chunks[which]);
        JitOptions o;
        o.tiers = tiers_for(round + t);
        o.sync = (round % 3) == 0;
        o.trace.trace_threshold = 2 + uint32_t(round % 7);
        o.trace.min_ops_per_call_out = 0;  // traces take the string loop too (call-outs)
        vm.enable_jit(o);
        // Several runs per VM, so later runs enter code compiled meanwhile.
        for (int run = 0; run < 3; ++run) {
          vm.reset();
          VMResult r = vm.run();
          if (!r.is_ok() || !r.value().is_int() || r.value().as_int() != programs[which].result) {
            ++failures;
            ADD_FAILURE() << "thread " << t << " round " << round << " program " << which << ": " << describe(r);
          }
        }
      }
    });
  }
  std::thread reader([&] {
    Chunk mine = assembled(kBranchLoop);
    JitCompiler jit;
    while (!done.load()) {
      fusevm::JitStats s = JitCompiler::stats();
      (void)s;
      (void)jit.trace_export_all(mine);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  for (std::thread& th : threads) th.join();
  done = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  if (JitCompiler::available()) {
    fusevm::JitStats s = JitCompiler::stats();
    std::printf("native entries: linear %llu, block %llu, trace %llu; call-outs %llu\n",
                (unsigned long long)s.linear.entered, (unsigned long long)s.block.entered,
                (unsigned long long)s.trace.entered, (unsigned long long)s.trace.call_outs);
    EXPECT_GT(s.block.entered, 0u) << "the block tier never ran: the test did not exercise it";
    EXPECT_GT(s.trace.entered, 0u) << "no trace ran: the test did not exercise the tracing tier";
    EXPECT_GT(s.trace.call_outs, 0u) << "no trace called out: the test did not exercise call-outs";
  }
}

// interrupt() from other threads while the VM's own thread runs it, in each tier: every
// run ends interrupted, and the VM then runs a fresh copy of its program to the end.
TEST_F(Concurrency, interrupts_from_other_threads_stop_vms_running_on_their_own) {
  constexpr const char* kSpin = R"(
    LoadInt 0
    SetSlot 0
top:
    PreIncSlotVoid 0
    Jump top
)";
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      VM vm(assembled(kSpin));
      JitOptions o;
      o.tiers = tiers_for(t);
      vm.enable_jit(o);
      for (int round = 0; round < 10; ++round) {
        vm.reset();
        std::atomic<bool> stop{false};
        std::thread poker([&] {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          while (!stop.load()) {
            vm.interrupt();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
        });
        VMResult r = vm.run();
        stop = true;
        poker.join();
        if (!r.is_error() || r.error().message != "interrupted") {
          ++failures;
          ADD_FAILURE() << "thread " << t << " round " << round << ": " << describe(r);
        }
      }
      VM after(assembled(kBranchLoop));
      after.enable_jit(o);
      VMResult r = after.run();
      if (!r.is_ok() || r.value().as_int() != branch_loop_result()) ++failures;
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// A value made on one thread reaches another as a deep copy: the receiver's VM reads and
// changes it while the sender keeps using its original, which stays as it was.
TEST_F(Concurrency, values_cross_threads_as_deep_copies) {
  constexpr const char* kSumGlobal = R"(
    GetVar @data
    StringLen
    LoadConst "!"
    ArrayPush @data
    GetVar @data
    StringLen
    Add
)";
  std::promise<Value> handed;
  std::future<Value> received = handed.get_future();
  std::atomic<bool> sent{false};
  std::thread sender([&] {
    Value arr = Value::Array({});
    for (int k = 0; k < 100; ++k) arr.array_mut().push_back(Value::Str("item" + std::to_string(k)));
    handed.set_value(arr.deep_copy());
    sent = true;
    // Keeps changing its own; the receiver's copy must not see it.
    for (int k = 0; k < 1000; ++k) {
      arr.array_mut().push_back(Value::Int(k));
      arr.array_mut().pop_back();
    }
    EXPECT_EQ(arr.as_array().size(), 100u);
  });
  std::thread receiver([&] {
    Value mine = received.get();
    VM vm(assembled(kSumGlobal));
    vm.globals()[0] = mine;
    VMResult r = vm.run();
    ASSERT_TRUE(r.is_ok()) << describe(r);
    EXPECT_EQ(r.value().as_int(), 100 + 101);
  });
  sender.join();
  receiver.join();
  EXPECT_TRUE(sent.load());
}

// Direct JitCompiler calls from many threads at once give every thread its own correct
// answer from the shared unit cache. (Threads that miss the cache at the same moment each
// compile, and the first to finish is kept: at most one compile per thread and content.)
TEST_F(Concurrency, direct_compiles_from_many_threads_share_the_unit_cache) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      JitCompiler jit;
      for (int k = 0; k < 20; ++k) {
        const int64_t limit = 100 + (k % 5);  // five chunk contents shared by all threads
        Chunk c = assembled(("    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
                             "    AccumSumLoop 0, 1, " + std::to_string(limit) + "\n    GetSlot 0\n")
                                .c_str());
        std::vector<int64_t> slots(4, 0);
        std::optional<int64_t> got = jit.try_run_block_eager(c, slots);
        if (JitCompiler::available() && (!got || *got != limit * (limit - 1) / 2)) {
          ++failures;
          ADD_FAILURE() << "thread " << t << " limit " << limit;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  if (JitCompiler::available()) {
    EXPECT_LE(JitCompiler::stats().block.compiled, uint64_t(kThreads) * 5);
  }
}

}  // namespace
}  // namespace fusevm_test
