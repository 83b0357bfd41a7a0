// The VM using the JIT by itself (vm.enable_jit): each program runs interpreted and with a
// forced tier (synchronous, strict), and everything observable must be identical
// (ARCHITECTURE §9 "Equality in differential tests"), with the tier really entered.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "jit_test_util.hpp"

namespace fusevm_test {
namespace {

Chunk assembled(const std::string& text) {
  LoadResult r = assemble(text, "jit_vm.fasm");
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? std::move(*r.chunk) : Chunk{};
}

// Slots compare with trailing Undef ignored: a read past the end gives Undef either way.
std::vector<Value> trimmed(std::vector<Value> slots) {
  while (!slots.empty() && slots.back().is_undef()) slots.pop_back();
  return slots;
}

struct Observed {
  VMResult result = VMResult::Halted();
  std::string output;
  std::vector<Value> globals, stack;
  std::vector<std::vector<Value>> slots;
  int32_t status = 0;
};

Observed observe(VM& vm, int runs) {
  Observed o;
  vm.set_output([&](std::string_view b) { o.output.append(b); });
  for (int k = 0; k < runs; ++k) {
    if (k > 0) vm.reset();
    o.output.clear();
    o.result = vm.run();
  }
  o.globals = vm.globals();
  for (size_t k = 0; k < vm.stack().size(); ++k) o.stack.push_back(vm.stack()[k]);
  for (Frame& f : vm.frames()) o.slots.push_back(trimmed(f.slots));
  o.status = vm.last_status();
  return o;
}

::testing::AssertionResult identical_runs(const Observed& a, const Observed& b) {
  if (a.result.repr() != b.result.repr() ||
      (a.result.is_ok() && b.result.is_ok() && !identical(a.result.value(), b.result.value())))
    return ::testing::AssertionFailure() << "result " << a.result.repr() << " vs " << b.result.repr();
  if (a.output != b.output) return ::testing::AssertionFailure() << "output '" << a.output << "' vs '" << b.output << "'";
  if (a.status != b.status) return ::testing::AssertionFailure() << "status";
  auto same_list = [](const std::vector<Value>& x, const std::vector<Value>& y) {
    if (x.size() != y.size()) return false;
    for (size_t k = 0; k < x.size(); ++k)
      if (!identical(x[k], y[k])) return false;
    return true;
  };
  if (!same_list(a.globals, b.globals)) return ::testing::AssertionFailure() << "globals";
  if (!same_list(a.stack, b.stack)) return ::testing::AssertionFailure() << "stack";
  if (a.slots.size() != b.slots.size()) return ::testing::AssertionFailure() << "frame count";
  for (size_t f = 0; f < a.slots.size(); ++f) {
    if (!same_list(a.slots[f], b.slots[f])) {
      std::string sa, sb;
      for (const Value& v : a.slots[f]) sa += v.repr() + " ";
      for (const Value& v : b.slots[f]) sb += v.repr() + " ";
      return ::testing::AssertionFailure() << "slots of frame " << f << ": " << sa << "vs " << sb;
    }
  }
  return ::testing::AssertionSuccess();
}

class JitVm : public JitRequired {
 protected:
  // Runs `text` `runs` times interpreted and under `tiers`; they must agree exactly.
  Observed compare(const std::string& text, JitTiers tiers, int runs = 1, uint32_t threshold = 10,
                   const Limits& limits = Limits{}) {
    Chunk chunk = assembled(text);
    VM plain(chunk);
    plain.set_limits(limits);
    Observed want = observe(plain, runs);
    VM jitted(chunk);
    jitted.set_limits(limits);
    JitOptions options;
    options.tiers = tiers;
    options.block_threshold = threshold;
    options.sync = true;
    options.strict = true;
    jitted.enable_jit(options);
    Observed got = observe(jitted, runs);
    EXPECT_TRUE(identical_runs(want, got));
    return got;
  }
  static uint64_t entered(JitTiers tier) {
    JitStats s = JitCompiler::stats();
    return tier == JitTiers::Linear ? s.linear.entered : s.block.entered;
  }
};

const char* const kSumLoop = R"(
  LoadInt 0
  SetSlot 0
  LoadInt 1
  SetSlot 1
top:
  GetSlot 1
  LoadInt 1001
  NumLt
  JumpIfFalse done
  GetSlot 0
  GetSlot 1
  Add
  SetSlot 0
  PreIncSlotVoid 1
  Jump top
done:
  GetSlot 0
  PrintLn 1
  GetSlot 0
  ReturnValue
)";

TEST_F(JitVm, a_hot_integer_loop_runs_natively_with_the_interpreters_result) {
  Observed o = compare(kSumLoop, JitTiers::Block);
  EXPECT_EQ(o.output, "500500\n");
  EXPECT_GT(entered(JitTiers::Block), 0u) << "the loop was never entered natively";
}

TEST_F(JitVm, a_float_accumulator_stays_float) {
  compare(R"(
  LoadFloat 0.0
  SetSlot 0
  LoadInt 0
  SetSlot 1
top:
  GetSlot 1
  LoadInt 100
  NumLt
  JumpIfFalse done
  GetSlot 0
  LoadFloat 0.25
  Add
  SetSlot 0
  PreIncSlotVoid 1
  Jump top
done:
  GetSlot 0
  ReturnValue
)", JitTiers::Block);
  EXPECT_GT(entered(JitTiers::Block), 0u);
}

// sum starts Int and becomes Float in the first iteration: the unit compiled for the
// kinds at the header must leave at the edge where they change, and a second one for
// the Float kinds takes over.
TEST_F(JitVm, a_slot_that_changes_kind_in_the_loop_is_handled_exactly) {
  compare(R"(
  LoadInt 0
  SetSlot 0
  LoadInt 0
  SetSlot 1
top:
  GetSlot 1
  LoadInt 50
  NumLt
  JumpIfFalse done
  GetSlot 0
  LoadFloat 0.5
  Add
  SetSlot 0
  PreIncSlotVoid 1
  Jump top
done:
  GetSlot 0
  ReturnValue
)", JitTiers::Block);
}

// Div always gives Float; a zero divisor gives Undef in the interpreter, which native
// code reaches by leaving at that Div.
TEST_F(JitVm, division_gives_float_and_division_by_zero_gives_undef_as_interpreted) {
  compare(R"(
  LoadInt 0
  SetSlot 0
  LoadInt 0
  SetSlot 2
top:
  GetSlot 0
  LoadInt 20
  NumLt
  JumpIfFalse done
  LoadInt 100
  GetSlot 0
  LoadInt 10
  Sub
  Div
  SetSlot 1
  GetSlot 2
  GetSlot 1
  LogNot
  Add
  SetSlot 2
  PreIncSlotVoid 0
  Jump top
done:
  GetSlot 1
  GetSlot 2
  MakeArray 2
  ReturnValue
)", JitTiers::Block);
  EXPECT_GT(entered(JitTiers::Block), 0u);
}

TEST_F(JitVm, comparisons_store_bools_in_slots) {
  compare(R"(
  LoadInt 0
  SetSlot 0
top:
  GetSlot 0
  LoadInt 30
  NumLt
  JumpIfFalse done
  GetSlot 0
  LoadInt 7
  Mod
  LoadInt 3
  NumEq
  SetSlot 1
  GetSlot 0
  LoadInt 2
  Shl
  LoadInt 5
  BitXor
  SetSlot 2
  PreIncSlotVoid 0
  Jump top
done:
  GetSlot 1
  GetSlot 2
  MakeArray 2
  ReturnValue
)", JitTiers::Block);
  EXPECT_GT(entered(JitTiers::Block), 0u);
}

TEST_F(JitVm, a_straight_line_chunk_runs_under_the_linear_tier_on_its_first_run) {
  compare(R"(
  LoadInt 40
  LoadInt 2
  Add
  SetSlot 0
  GetSlot 0
  LoadFloat 0.5
  Mul
  GetSlot 0
  LoadInt 42
  NumEq
)", JitTiers::Linear);
  EXPECT_EQ(entered(JitTiers::Linear), 1u);
}

TEST_F(JitVm, a_whole_chunk_compiles_after_ten_runs) {
  const std::string text = R"(
  LoadInt 0
  SetSlot 0
top:
  GetSlot 0
  LoadInt 3
  NumLt
  JumpIfFalse done
  PreIncSlotVoid 0
  Jump top
done:
  GetSlot 0
)";
  compare(text, JitTiers::Block, 12);
  EXPECT_GT(entered(JitTiers::Block), 0u);
}

TEST_F(JitVm, a_loop_with_an_op_no_unit_contains_is_interpreted_and_the_reason_counted) {
  compare(R"(
  LoadInt 0
  SetSlot 0
top:
  GetSlot 0
  LoadInt 20
  NumLt
  JumpIfFalse done
  GetSlot 0
  PrintLn 1
  PreIncSlotVoid 0
  Jump top
done:
)", JitTiers::Block);
  JitStats s = JitCompiler::stats();
  EXPECT_EQ(s.block.entered, 0u);
  bool found = false;
  for (const auto& [reason, n] : s.block.reasons) found = found || reason.find("PrintLn") != std::string::npos;
  EXPECT_TRUE(found) << "no fallback reason names PrintLn";
}

TEST_F(JitVm, regression_a_loop_longer_than_a_unit_takes_stays_interpreted) {
  // bench/gen_nop.py's loop of a million Nops ran twice as slow under --jit=all: every
  // entry looked its unit up by the range's ops, and the engine thread planned it.
  std::string text = "  LoadInt 0\n  SetSlot 0\ntop:\n  GetSlot 0\n  LoadInt 3\n  NumLt\n  JumpIfFalse done\n";
  for (int i = 0; i < 70000; ++i) text += "  Nop\n";
  text += "  PreIncSlotVoid 0\n  Jump top\ndone:\n  GetSlot 0\n";
  compare(text, JitTiers::Block, 12);
  JitStats s = JitCompiler::stats();
  EXPECT_EQ(s.block.entered, 0u);
  EXPECT_EQ(s.block.compiled, 0u);
  bool found = false;
  for (const auto& [reason, n] : s.block.reasons) found = found || reason.find("more than a unit takes") != std::string::npos;
  EXPECT_TRUE(found) << "no fallback reason says the loop is too long";
}

TEST_F(JitVm, a_loop_over_a_string_slot_stays_interpreted_and_exact) {
  compare(R"(
  LoadConst "ab"
  SetSlot 1
  LoadInt 0
  SetSlot 0
top:
  GetSlot 0
  LoadInt 20
  NumLt
  JumpIfFalse done
  GetSlot 1
  LoadInt 1
  Add
  SetSlot 2
  PreIncSlotVoid 0
  Jump top
done:
  GetSlot 2
)", JitTiers::Block);
}

TEST_F(JitVm, an_endless_native_loop_stops_on_interrupt_and_the_vm_stays_usable) {
  Chunk chunk = assembled(R"(
  LoadInt 0
  SetSlot 0
top:
  PreIncSlotVoid 0
  Jump top
)");
  VM vm(chunk);
  JitOptions options;
  options.tiers = JitTiers::Block;
  options.sync = true;
  options.strict = true;
  vm.enable_jit(options);
  std::atomic<bool> stop{false};
  std::thread poker([&] {
    while (!stop.load()) {
      if (JitCompiler::stats().block.entered > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        vm.interrupt();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  VMResult r = vm.run();
  stop.store(true);
  poker.join();
  EXPECT_TRUE(IsErrorWith(r, "interrupted"));
  EXPECT_GT(vm.frames()[0].slots[0].as_int(), 10) << "the loop barely ran";
  // Usable afterwards: a fresh run completes a bounded program on the same VM type.
  VM again(assembled(kSumLoop));
  again.enable_jit(options);
  again.set_output([](std::string_view) {});
  EXPECT_TRUE(IsOk(again.run(), Value::Int(500500)));
}

// Raises vm's interrupt 20 ms after the block tier first entered native code (or when
// `done` is set), from another thread, as an embedder's watchdog would.
class Watchdog {
 public:
  // Interrupts 20 ms after native code was entered and `units` block units compiled (a
  // nest's inner loop is entered long before its outer loop's unit is ready).
  explicit Watchdog(VM& vm, uint64_t units = 0)
      : thread_([this, &vm, units] {
          // Never waits forever: after 30 s it interrupts anyway (and the test's checks say why).
          const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
          while (!done_.load()) {
            const JitTierStats block = JitCompiler::stats().block;
            if ((block.entered > entered_at_start_ && block.compiled + block.cached >= units) ||
                std::chrono::steady_clock::now() > give_up) {
              std::this_thread::sleep_for(std::chrono::milliseconds(20));
              vm.interrupt();
              return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
        }) {}
  ~Watchdog() {
    done_.store(true);
    thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  const uint64_t entered_at_start_ = JitCompiler::stats().block.entered;
  std::thread thread_;
};

// Runs `vm` with the block tier forced (sync, strict).
VMResult run_block_tier(VM& vm) {
  JitOptions options;
  options.tiers = JitTiers::Block;
  options.sync = true;
  options.strict = true;
  vm.enable_jit(options);
  return vm.run();
}

// run_block_tier() while a Watchdog interrupts it.
VMResult run_block_tier_under_watchdog(VM& vm, uint64_t units = 0) {
  Watchdog watchdog(vm, units);
  return run_block_tier(vm);
}

// An inner counted loop runs natively without polling (it cannot run longer than about a
// millisecond); the endless loop around it still polls, so the watchdog stops the run, and
// run() resumes from there to the next interrupt point.
TEST_F(JitVm, an_endless_loop_around_an_unpolled_counted_loop_stops_on_interrupt) {
  Chunk chunk = assembled(R"(
  LoadInt 0
  SetSlot 0
outer:
  LoadInt 0
  SetSlot 1
inner:
  GetSlot 1
  LoadInt 1000
  NumLt
  JumpIfFalse inner_done
  PreIncSlotVoid 1
  Jump inner
inner_done:
  PreIncSlotVoid 0
  Jump outer
)");
  VM vm(chunk);
  // Both loops' units compiled before the 20 ms start: under a sanitizer on a busy
  // machine the outer unit's compile alone took longer (regression: outer counter 10).
  const VMResult r = run_block_tier_under_watchdog(vm, /*units=*/2);
  ASSERT_TRUE(IsErrorWith(r, "interrupted"));
  EXPECT_GT(vm.frames()[0].slots[0].as_int(), 10) << "the outer loop barely ran";
  const Value inner = vm.frames()[0].slots[1];
  EXPECT_EQ(inner.kind(), ValueKind::Int);
  // Where it stops depends on when the flag came: after unpolled laps (at 1000, on the
  // inner loop's exit or the outer jump) or, raised just before the inner loop was
  // entered, at its first lap's jump (the polled version, as the interpreter would).
  EXPECT_GE(inner.as_int(), 0);
  EXPECT_LE(inner.as_int(), 1000);
  const int64_t laps = vm.frames()[0].slots[0].as_int();
  vm.interrupt();
  EXPECT_TRUE(IsErrorWith(vm.run(), "interrupted"));
  EXPECT_GE(vm.frames()[0].slots[0].as_int(), laps);
}

// The counter starts 4e9 below the limit: the loop runs in strips of about a million laps
// with a poll between two (the float product keeps LLVM from closing a strip, so the whole
// loop would take seconds), and the watchdog stops it between two strips, at the header.
TEST_F(JitVm, a_counted_loop_entered_far_below_its_limit_polls_between_strips) {
  Chunk chunk = assembled(R"(
  LoadInt -4000000000
  SetSlot 0
  LoadFloat 1.0
  SetSlot 1
top:
  GetSlot 0
  LoadInt 100
  NumLt
  JumpIfFalse done
  GetSlot 1
  LoadFloat 1.0000001
  Mul
  SetSlot 1
  PreIncSlotVoid 0
  Jump top
done:
  GetSlot 0
  ReturnValue
)");
  VM vm(chunk);
  const VMResult r = run_block_tier_under_watchdog(vm);
  EXPECT_TRUE(IsErrorWith(r, "interrupted")) << r.repr();
  EXPECT_LT(vm.frames()[0].slots[0].as_int(), 100);
  EXPECT_EQ(vm.frames()[0].slots[1].kind(), ValueKind::Float);
}

// The same length with a sum LLVM closes: every strip is a formula, so 4e9 laps take a few
// thousand strips, and the sum is the interpreter's (wrapping) one.
TEST_F(JitVm, a_long_counted_sum_runs_in_closed_strips_to_the_interpreters_result) {
  Chunk chunk = assembled(R"(
  LoadInt -4000000000
  SetSlot 0
  LoadInt 0
  SetSlot 1
top:
  GetSlot 0
  LoadInt 100
  NumLt
  JumpIfFalse done
  GetSlot 1
  GetSlot 0
  Add
  SetSlot 1
  PreIncSlotVoid 0
  Jump top
done:
  GetSlot 1
  ReturnValue
)");
  uint64_t want = 0;  // the interpreter's i64 sum wraps
  for (int64_t i = -4000000000; i < 100; ++i) want += static_cast<uint64_t>(i);
  VM vm(chunk);
  const uint64_t entered = JitCompiler::stats().block.entered;
  const VMResult r = run_block_tier(vm);
  EXPECT_GT(JitCompiler::stats().block.entered, entered);
  ASSERT_TRUE(IsOk(r, Value::Int(static_cast<int64_t>(want)))) << r.repr();
  EXPECT_EQ(vm.frames()[0].slots[0], Value::Int(100));
}

// Every bounded-loop shape, entered three million laps below its limit, runs in strips
// (about twenty) whose test compares with the strip's end instead of the limit: each ends
// with the interpreter's sum, counter and slot kinds.
TEST_F(JitVm, every_counted_loop_shape_runs_in_strips_to_the_interpreters_state) {
  const std::string setup = "  LoadInt -1000000\n  SetSlot 0\n  LoadInt 0\n  SetSlot 1\n";
  const std::string sum = "  GetSlot 1\n  GetSlot 0\n  Add\n  SetSlot 1\n";
  const std::string done = "done:\n  GetSlot 1\n";
  const std::string shapes[] = {
      // while, NumLt and NumLe
      "top:\n  GetSlot 0\n  LoadInt 2000000\n  NumLt\n  JumpIfFalse done\n" + sum +
          "  PreIncSlotVoid 0\n  Jump top\n" + done,
      "top:\n  GetSlot 0\n  LoadInt 2000000\n  NumLe\n  JumpIfFalse done\n" + sum +
          "  PreIncSlotVoid 0\n  Jump top\n" + done,
      // do-while, NumLt and NumLe
      "top:\n" + sum + "  PreIncSlotVoid 0\n  GetSlot 0\n  LoadInt 2000000\n  NumLt\n  JumpIfTrue top\n" + done,
      "top:\n" + sum + "  PreIncSlotVoid 0\n  GetSlot 0\n  LoadInt 2000000\n  NumLe\n  JumpIfTrue top\n" + done,
      // the fused header and the fused latch
      "top:\n  SlotLtIntJumpIfFalse 0, 2000000, done\n" + sum + "  PreIncSlot 0\n  Pop\n  Jump top\n" + done,
      "top:\n" + sum + "  SlotIncLtIntJumpBack 0, 2000000, top\n" + done,
  };
  for (const std::string& shape : shapes) {
    const uint64_t before = entered(JitTiers::Block);
    compare(setup + shape, JitTiers::Block);
    EXPECT_GT(entered(JitTiers::Block), before) << shape;
  }
}

// A nest of counted loops through the block tier (the inner one unpolled, and closed by
// LLVM) gives the interpreter's result and slots, from Undef and from Int slots.
TEST_F(JitVm, nested_counted_loops_match_the_interpreter) {
  const char* const kNest = R"(
  LoadInt 0
  SetSlot 0
  LoadInt 0
  SetSlot 1
outer:
  GetSlot 1
  LoadInt 30
  NumLt
  JumpIfFalse done
  LoadInt 0
  SetSlot 2
inner:
  GetSlot 2
  LoadInt 70
  NumLe
  JumpIfFalse inner_done
  GetSlot 0
  GetSlot 1
  GetSlot 2
  Mul
  Add
  SetSlot 0
  PreIncSlotVoid 2
  Jump inner
inner_done:
  PreIncSlotVoid 1
  Jump outer
done:
  GetSlot 0
  PrintLn 1
  GetSlot 0
  ReturnValue
)";
  const uint64_t before = entered(JitTiers::Block);
  compare(kNest, JitTiers::Block, 3, 1);
  compare(kNest, JitTiers::Block, 12, 10);
  EXPECT_GT(entered(JitTiers::Block), before);
}

// The site's depth analysis asked for kBranch, which the unconditional Jump does not
// carry: it never followed a Jump, underestimated the stack depth and let a unit push past
// max_stack, so the limit was hit at another op (found by the VM differential suite).
TEST_F(JitVm, a_unit_reached_through_a_jump_hits_the_stack_limit_at_the_interpreters_op) {
  Limits limits;
  limits.max_stack = 5;
  Observed o = compare(R"(
  LoadInt 0
  SetSlot 6
top:
  Jump next
next:
  LoadInt 7
  SetSlot 3
  LoadTrue
  GetSlot 1
  BitAnd
  SlotIncLtIntJumpBack 6, 14, top
)", JitTiers::All, 1, 1, limits);
  EXPECT_TRUE(IsErrorWith(o.result, "limit exceeded: value stack (5)"));
}

// The same flag gap made a chunk whose only jumps are unconditional look straight-line,
// and the linear tier compiled code with a jump in it.
TEST_F(JitVm, a_chunk_with_an_unconditional_jump_is_not_straight_line) {
  compare(R"(
  Jump skip
  LoadInt 9
skip:
  LoadInt 1
  LoadInt 2
  Add
  SetSlot 0
  GetSlot 0
)", JitTiers::Linear);
  EXPECT_EQ(entered(JitTiers::Linear), 0u);
}

TEST_F(JitVm, enable_jit_off_and_options_round_trip) {
  VM vm(Chunk{});
  EXPECT_EQ(vm.jit_options().tiers, JitTiers::Off);
  JitOptions o;
  o.tiers = JitTiers::Linear;
  o.block_threshold = 3;
  vm.enable_jit(o);
  EXPECT_EQ(vm.jit_options().tiers, JitTiers::Linear);
  EXPECT_EQ(vm.jit_options().block_threshold, 3u);
  vm.enable_jit(JitTiers::Off);
  EXPECT_EQ(vm.jit_options().tiers, JitTiers::Off);
}

}  // namespace
}  // namespace fusevm_test
