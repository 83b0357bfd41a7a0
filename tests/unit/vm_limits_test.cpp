// Resource limits and interrupt(): runaway programs end with clear errors, the VM stays
// inspectable and usable afterwards (ARCHITECTURE §9 "Limits", "Interrupt points").
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "vm_test_util.hpp"

namespace fusevm_test {
namespace {

using namespace std::chrono_literals;

Value I(int64_t i) { return Value::Int(i); }

Limits with(const std::function<void(Limits&)>& adjust) {
  Limits l;
  adjust(l);
  return l;
}

Ran run_limited(Program& p, const Limits& limits) {
  return run(p, [&limits](VM& vm) { vm.set_limits(limits); });
}

TEST(VmLimits, DefaultsMatchTheArchitecture) {
  Limits l;
  EXPECT_EQ(l.max_stack, 1'000'000u);
  EXPECT_EQ(l.max_call_depth, 100'000u);
  EXPECT_EQ(l.max_string, size_t(1) << 30);
  EXPECT_EQ(l.max_array, size_t(128) << 20);
  EXPECT_EQ(l.max_memory, 0u);
  EXPECT_EQ(l.fuel, 0u);
  Program p;
  p.i(1);
  VM vm(p.build());
  EXPECT_EQ(vm.limits().max_call_depth, 100'000u);
}

// -- Call depth ---------------------------------------------------------------------------

// Sub `down` recurses forever; sub `twice` doubles its argument.
Chunk runaway_recursion_chunk() {
  Program p;
  uint16_t down = p.name("down");
  p.sub("down", [&] { p.emit({Op::LoadInt(1), Op::Call(down, 1), Op::ReturnValue()}); });
  p.sub("twice", [&] { p.emit({Op::LoadInt(2), Op::Mul(), Op::ReturnValue()}); });
  p.emit(Op::Call(down, 0));
  return p.build();
}

TEST(VmLimits, RunawayRecursionHitsTheDefaultCallDepthLimit) {
  VM vm(runaway_recursion_chunk());
  VMResult r = vm.run();
  ASSERT_TRUE(IsErrorWith(r, "limit exceeded: call depth (100000)"));
  // Still inspectable: the frames are there, within the limit.
  EXPECT_LE(vm.frames().size(), 100'000u);
  EXPECT_GE(vm.frames().size(), 99'000u);
  EXPECT_GE(vm.stack().size(), 99'000u);  // one pushed argument per activation
  EXPECT_EQ(r.error().ip, 2u);            // the Call inside `down`

  // Still usable: reset, then run other code on the same VM.
  vm.reset();
  EXPECT_EQ(vm.frames().size(), 1u);
  EXPECT_TRUE(vm.stack().empty());
  EXPECT_TRUE(IsOk(vm.call("twice", {I(21)}), I(42)));
  EXPECT_TRUE(IsErrorWith(vm.run(), "limit exceeded: call depth (100000)"));
}

TEST(VmLimits, CallDepthLimitIsConfigurable) {
  Program p;
  uint16_t count = p.name("count");
  // count(n) = n == 0 ? 0 : 1 + count(n - 1)
  p.sub("count", [&] {
    p.emit({Op::SetSlot(0), Op::GetSlot(0)});
    size_t nonzero = p.emit(Op::JumpIfTrue(0));
    p.emit({Op::LoadInt(0), Op::ReturnValue()});
    p.patch(nonzero, p.pos());
    p.emit({Op::GetSlot(0), Op::Dec(), Op::Call(count, 1), Op::Inc(), Op::ReturnValue()});
  });
  p.i(0);
  p.emit(Op::Call(count, 1));
  Chunk chunk = p.build();
  auto depth = [&chunk](int64_t n, size_t limit) {
    Chunk c = chunk;
    c.ops[c.ops.size() - 2] = Op::LoadInt(n);
    VM vm(std::move(c));
    vm.set_limits(with([limit](Limits& l) { l.max_call_depth = limit; }));
    return vm.run();
  };
  EXPECT_TRUE(IsOk(depth(40, 50), I(40)));
  EXPECT_TRUE(IsErrorWith(depth(60, 50), "limit exceeded: call depth (50)"));
}

TEST(VmLimits, BlockInvocationsCountTowardCallDepth) {
  // The block maps itself over each non-empty element, so mapping over an array nested
  // 20 deep keeps about 20 block invocations active at once.
  Program p;
  uint16_t blk = p.block([&] {
    p.emit(Op::Dup());
    size_t leaf = p.emit(Op::JumpIfFalse(0));  // an empty array is falsy: keep it as is
    p.emit(Op::MapBlock(0));                    // this block is block 0
    p.patch(leaf, p.pos());
  });
  ASSERT_EQ(blk, 0u);
  Value nested = ints({});
  for (int k = 0; k < 20; ++k) nested = Value::Array({nested});
  p.load(nested);
  p.emit(Op::MapBlock(blk));
  Chunk chunk = p.build();
  auto run_with_depth = [&chunk](size_t depth) {
    VM vm(chunk);
    vm.set_limits(with([depth](Limits& l) { l.max_call_depth = depth; }));
    return vm.run();
  };
  VMResult deep_enough = run_with_depth(100);
  ASSERT_TRUE(deep_enough.is_ok()) << deep_enough.repr();
  EXPECT_TRUE(Same(deep_enough.value(), nested));
  EXPECT_TRUE(IsErrorWith(run_with_depth(10), "limit exceeded: call depth (10)"));
}

// -- Value stack --------------------------------------------------------------------------

TEST(VmLimits, PushingForeverHitsTheValueStackLimit) {
  Program p;
  p.emit({Op::LoadInt(1), Op::Jump(0)});
  Ran r = run_limited(p, with([](Limits& l) { l.max_stack = 1000; }));
  ASSERT_TRUE(IsErrorWith(r.result, "limit exceeded: value stack (1000)"));
  EXPECT_LE(r.vm.stack().size(), 1000u);
  EXPECT_GE(r.vm.stack().size(), 999u);

  Program q;
  q.emit({Op::LoadInt(1), Op::Jump(0)});
  Ran d = run(q);
  EXPECT_TRUE(IsErrorWith(d.result, "limit exceeded: value stack (1000000)"));
}

TEST(VmLimits, DupOpsStayWithinTheValueStackLimit) {
  Program p;
  p.emit({Op::LoadInt(1), Op::Dup2(), Op::Dup2(), Op::Dup(), Op::Jump(1)});
  Ran r = run_limited(p, with([](Limits& l) { l.max_stack = 100; }));
  EXPECT_TRUE(IsErrorWith(r.result, "limit exceeded: value stack (100)"));
  EXPECT_LE(r.vm.stack().size(), 100u);
}

// -- String size ----------------------------------------------------------------------------

TEST(VmLimits, HugeStringRepeatHitsTheStringSizeLimit) {
  Program p;
  p.str("ab");
  p.i(1'000'000'000'000);
  p.emit(Op::StringRepeat());
  Ran r = run(p);
  EXPECT_TRUE(IsErrorWith(r.result, "limit exceeded: string size (1073741824)"));

  // Exactly at the limit is fine, one repetition more is not.
  auto repeat = [](int64_t n) {
    Program q;
    q.str("abc");
    q.i(n);
    q.emit(Op::StringRepeat());
    return run_limited(q, with([](Limits& l) { l.max_string = 9; })).result;
  };
  EXPECT_TRUE(IsOk(repeat(3), Value::Str("abcabcabc")));
  EXPECT_TRUE(IsErrorWith(repeat(4), "limit exceeded: string size (9)"));
}

TEST(VmLimits, DoublingConcatHitsTheStringSizeLimit) {
  Program p;
  p.str("x");
  p.emit({Op::Dup(), Op::Concat(), Op::Jump(1)});
  Ran r = run_limited(p, with([](Limits& l) { l.max_string = 1000; }));
  EXPECT_TRUE(IsErrorWith(r.result, "limit exceeded: string size (1000)"));
}

TEST(VmLimits, ConcatConstLoopHitsTheStringSizeLimit) {
  Program p;
  uint16_t c = p.constant(Value::Str("xyz"));
  p.emit(Op::ConcatConstLoop(c, 0, 1, 1'000'000));
  Ran r = run_limited(p, with([](Limits& l) { l.max_string = 1000; }));
  EXPECT_TRUE(IsErrorWith(r.result, "limit exceeded: string size (1000)"));
}

// -- Array size -----------------------------------------------------------------------------

TEST(VmLimits, HugeRangeHitsTheArraySizeLimit) {
  Program p;
  p.i(0);
  p.i(int64_t(1) << 40);
  p.emit(Op::Range());
  EXPECT_TRUE(IsErrorWith(run(p).result, "limit exceeded: array size (134217728)"));

  Program q;
  q.i(0);
  q.i(int64_t(1) << 40);
  q.i(1);
  q.emit(Op::RangeStep());
  EXPECT_TRUE(IsErrorWith(run(q).result, "limit exceeded: array size (134217728)"));

  auto range = [](int64_t to) {
    Program r;
    r.i(1);
    r.i(to);
    r.emit(Op::Range());
    return run_limited(r, with([](Limits& l) { l.max_array = 100; })).result;
  };
  EXPECT_TRUE(range(100).is_ok());
  EXPECT_TRUE(IsErrorWith(range(101), "limit exceeded: array size (100)"));
}

TEST(VmLimits, ArraySetAtAHugeIndexHitsTheArraySizeLimit) {
  Program p;
  uint16_t a = p.name("a");
  p.emit(Op::DeclareArray(a));
  p.i(7);
  p.i(1'000'000'000'000);
  p.emit(Op::ArraySet(a));
  Ran r = run(p);
  EXPECT_TRUE(IsErrorWith(r.result, "limit exceeded: array size (134217728)"));
  EXPECT_TRUE(r.vm.globals()[a].as_array().empty()) << "the global is left as it was";

  Program q;
  q.load(ints({}));
  q.emit(Op::SetSlot(0));
  q.i(7);
  q.i(1'000'000'000'000);
  q.emit(Op::SlotArraySet(0));
  EXPECT_TRUE(IsErrorWith(run(q).result, "limit exceeded: array size (134217728)"));
}

TEST(VmLimits, GrowingArraysHitTheArraySizeLimit) {
  Program p;
  uint16_t a = p.name("a");
  p.emit({Op::DeclareArray(a), Op::LoadInt(1), Op::ArrayPush(a), Op::Jump(1)});
  Ran r = run_limited(p, with([](Limits& l) { l.max_array = 50; }));
  EXPECT_TRUE(IsErrorWith(r.result, "limit exceeded: array size (50)"));
  EXPECT_EQ(r.vm.globals()[a].as_array().size(), 50u);

  Program q;
  uint16_t b = q.name("b");
  q.emit(Op::PushIntRangeLoop(b, 0, 1'000'000));
  Ran rq = run_limited(q, with([](Limits& l) { l.max_array = 50; }));
  EXPECT_TRUE(IsErrorWith(rq.result, "limit exceeded: array size (50)"));
}

// -- Fuel and memory ------------------------------------------------------------------------

TEST(VmLimits, FuelStopsAnInfiniteLoop) {
  Program p;
  p.emit({Op::Nop(), Op::Jump(0)});
  VM vm(p.build());
  vm.set_limits(with([](Limits& l) { l.fuel = 1000; }));
  VMResult r = vm.run();
  ASSERT_TRUE(IsErrorWith(r, "limit exceeded: fuel (1000)"));
  EXPECT_LT(vm.ip(), 2u);
  // Fuel is per run(): a second run gets a fresh allowance and stops the same way.
  EXPECT_TRUE(IsErrorWith(vm.run(), "limit exceeded: fuel (1000)"));
}

TEST(VmLimits, FuelAllowsProgramsThatFitInIt) {
  Program p;
  p.emit({Op::LoadInt(40), Op::LoadInt(2), Op::Add()});
  Ran r = run_limited(p, with([](Limits& l) { l.fuel = 10; }));
  EXPECT_TRUE(IsOk(r.result, I(42)));
}

TEST(VmLimits, GrowingStringLoopHitsTheMemoryLimit) {
  Program p;
  uint16_t s = p.name("s");
  const std::string kib(1024, 'm');
  p.str("");
  p.emit(Op::SetVar(s));
  size_t top = p.emit(Op::GetVar(s));
  p.str(kib);
  p.emit({Op::Concat(), Op::SetVar(s), Op::Jump(top)});
  Ran r = run_limited(p, with([](Limits& l) { l.max_memory = size_t(1) << 20; }));
  ASSERT_TRUE(IsErrorWith(r.result, "limit exceeded: memory (1048576)"));
  // The string got near the limit but not far past it.
  const Value& grown = r.vm.globals()[s];
  ASSERT_TRUE(grown.is_str());
  EXPECT_GT(grown.as_str().size(), size_t(256) << 10);
  EXPECT_LT(grown.as_str().size(), size_t(4) << 20);
}

// -- interrupt() ----------------------------------------------------------------------------

// Runs vm.run() on this thread while a helper thread interrupts it: it waits until builtin 0
// has run (the program has started), then calls interrupt() every few milliseconds until
// run() returns, so the test does not depend on when the request is consumed.
VMResult run_interrupted(VM& vm, std::atomic<bool>& started) {
  std::atomic<bool> done{false};
  std::thread helper([&] {
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (!started.load() && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(1ms);
    }
    std::this_thread::sleep_for(20ms);
    while (!done.load()) {
      vm.interrupt();
      std::this_thread::sleep_for(5ms);
    }
  });
  VMResult r = vm.run();
  done = true;
  helper.join();
  return r;
}

void signal_start(VM& vm, std::atomic<bool>& started) {
  vm.register_builtin(0, [&started](VM&, uint8_t) {
    started = true;
    return Value::Undef();
  });
}

TEST(VmInterrupt, StopsAnInfiniteJumpLoopAndResumes) {
  Program p;
  p.emit({Op::CallBuiltin(0, 0), Op::Pop(), Op::Jump(2)});
  VM vm(p.build());
  std::atomic<bool> started{false};
  signal_start(vm, started);
  VMResult first = run_interrupted(vm, started);
  ASSERT_TRUE(IsErrorWith(first, "interrupted"));
  EXPECT_EQ(vm.ip(), 2u);
  EXPECT_TRUE(vm.stack().empty());
  // run() resumes at the interrupted ip and can be interrupted again.
  VMResult second = run_interrupted(vm, started);
  EXPECT_TRUE(IsErrorWith(second, "interrupted"));
  EXPECT_EQ(vm.ip(), 2u);
}

TEST(VmInterrupt, StopsAFusedAccumSumLoopAndResumesIt) {
  // i runs from -2^33 up to the limit 2^31 - 1 inside one op (about 10^10 iterations).
  // The builtin requests the interrupt before the op starts and nothing between them
  // polls, so only the fused op's own polling (every 65,536 iterations) can stop it. (A
  // timed interrupter thread raced here: an optimiser may sum each 65,536-iteration slice
  // in closed form, so the whole loop can finish in milliseconds.)
  const int32_t limit = 2147483647;
  Program p;
  p.emit({Op::CallBuiltin(0, 0), Op::Pop(), Op::AccumSumLoop(0, 1, limit), Op::GetSlot(0)});
  VM vm(p.build());
  vm.register_builtin(0, [](VM& v, uint8_t) {
    v.interrupt();
    return Value::Undef();
  });
  vm.frames().back().slots = {I(0), I(-(int64_t(1) << 33))};
  VMResult r = vm.run();
  ASSERT_TRUE(IsErrorWith(r, "interrupted")) << "the fused loop never polled";
  EXPECT_EQ(vm.ip(), 2u);
  // It stopped after a slice, not at the start or the end: progress was written back.
  const int64_t i_now = vm.frames().back().slots[1].as_int();
  EXPECT_GT(i_now, -(int64_t(1) << 33));
  EXPECT_LT(i_now, int64_t(limit));
  // Resume near the end so the rest is quick: the op finishes from the slots it finds.
  auto& slots = vm.frames().back().slots;
  slots.resize(2);
  slots[0] = I(0);
  slots[1] = I(limit - 3);
  VMResult done = vm.run();
  const int64_t l = limit;
  EXPECT_TRUE(IsOk(done, I((l - 3) + (l - 2) + (l - 1))));
  EXPECT_TRUE(Same(vm.frames().back().slots[1], I(limit)));
}

TEST(VmInterrupt, StopsARunawayRecursion) {
  // f(n) calls f(n-1) twice with no backward jump anywhere, so only the polls at calls can
  // stop it; with n = 60 it would make 2^61 calls while staying 61 frames deep.
  Program p;
  uint16_t f = p.name("f");
  p.sub("f", [&] {
    p.emit({Op::SetSlot(0), Op::GetSlot(0)});
    size_t base = p.emit(Op::JumpIfFalse(0));
    p.emit({Op::GetSlot(0), Op::Dec(), Op::Call(f, 1), Op::GetSlot(0), Op::Dec(),
            Op::Call(f, 1)});
    p.patch(base, p.pos());
    p.emit(Op::Return());
  });
  p.emit({Op::CallBuiltin(0, 0), Op::Pop(), Op::LoadInt(60), Op::Call(f, 1)});
  VM vm(p.build());
  std::atomic<bool> started{false};
  signal_start(vm, started);
  VMResult r = run_interrupted(vm, started);
  ASSERT_TRUE(IsErrorWith(r, "interrupted"));
  EXPECT_GE(vm.frames().size(), 2u);
  EXPECT_LE(vm.frames().size(), 62u);
  // The VM is usable again after reset().
  vm.reset();
  EXPECT_EQ(vm.frames().size(), 1u);
}

}  // namespace
}  // namespace fusevm_test
