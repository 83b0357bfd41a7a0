// The reference's direct trace API (spec/jit.md §1.2, §4) on our process-wide trace trees:
// spec/jit.md §7.3's items that use it, each adapted to this tier.
//
// Adapted expectations (README "JIT"):
// - is_trace_eligible accepts what this tier runs: inner loops, builtins outside inlined
//   calls, and a conditional jump to the anchor that the lap did not take; it rejects a
//   plain Jump to the anchor before the lap's end, unbalanced calls and returns, calls
//   more than 4 deep, ops a trace cannot hold (the Keep jumps among them), and laps
//   longer than max_trace_len;
// - trace_install checks the lap against the chunk (ips, ops, control flow, kinds) and
//   clears the key's counters and flags (the reference keeps them, quirk Q12);
// - counters and flags are per process (summed over VMs), not per thread, and a
//   blacklisted or aborted key keeps VMs created afterwards interpreting the loop;
// - trace_max_slot is 65535 (every u16 slot operand), not 64.
#include <string>
#include <vector>

#include "jit_test_util.hpp"
#include "jit_vm_diff_harness.hpp"

namespace fusevm_test {
namespace {

using namespace vmdiff;

// counter_loop(200): 0 LoadInt 0; 1 SetSlot 0; 2 PreIncSlotVoid 0; 3 GetSlot 0;
// 4 LoadInt 200; 5 NumLt; 6 JumpIfTrue 2; 7 GetSlot 0; 8 ReturnValue.
constexpr size_t kAnchor = 2;
constexpr size_t kFallthrough = 7;

std::vector<Op> lap_of(const Chunk& chunk) {
  return {chunk.ops.begin() + kAnchor, chunk.ops.begin() + kFallthrough};
}
const std::vector<size_t> kLapIps = {2, 3, 4, 5, 6};

// Restores the thread's config when a test ends (the reference's tests restore it too).
class JitTraceApi : public JitRequired {
 protected:
  void TearDown() override { JitCompiler::set_config(TraceJitConfig{}); }

  // One run of `chunk` in a new VM with enable_tracing_jit(); the trace entries it made.
  static uint64_t entries_of_a_new_vm(const Chunk& chunk, const Value& want) {
    const uint64_t before = trace_stats().entered;
    VM vm(chunk);
    vm.enable_tracing_jit();
    EXPECT_TRUE(IsOk(vm.run(), want));
    return trace_stats().entered - before;
  }
};

TEST_F(JitTraceApi, config_round_trips_per_thread_and_a_tracing_vm_takes_it) {
  EXPECT_EQ(JitCompiler::get_config().trace_threshold, 50u);
  EXPECT_EQ(JitCompiler::trace_max_len(), 256u);
  TraceJitConfig c;
  c.trace_threshold = 5;
  c.max_trace_len = 100;
  JitCompiler::set_config(c);
  EXPECT_EQ(JitCompiler::get_config().trace_threshold, 5u);
  EXPECT_EQ(JitCompiler::trace_max_len(), 100u);
  std::thread([] { EXPECT_EQ(JitCompiler::get_config().trace_threshold, 50u) << "another thread's own"; }).join();
  // With threshold 5 a 30-lap loop compiles (at 50 it never would).
  Chunk chunk = assembled_or_fail(counter_loop(30));
  VM vm(chunk);
  vm.enable_tracing_jit();
  EXPECT_EQ(vm.jit_options().trace.trace_threshold, 5u);
  EXPECT_TRUE(IsOk(vm.run(), Value::Int(30)));
  JitCompiler::wait_idle();  // the VM compiles in the background (no FUSEVM_JIT_SYNC)
  // The process's tree is there once a VM has run it.
  vm.reset();
  EXPECT_TRUE(IsOk(vm.run(), Value::Int(30)));
  EXPECT_TRUE(JitCompiler().trace_is_compiled(chunk, kAnchor));
  EXPECT_EQ(JitCompiler::trace_max_slot(), 65535u);
}

TEST_F(JitTraceApi, is_trace_eligible_checks_a_lap_without_its_chunk) {
  Chunk chunk = assembled_or_fail(counter_loop(200));
  const std::vector<Op> lap = lap_of(chunk);
  JitCompiler jit;
  std::string why;
  EXPECT_TRUE(jit.is_trace_eligible(lap, kAnchor, &why)) << why;
  EXPECT_FALSE(jit.is_trace_eligible(std::span<const Op>(), kAnchor, &why));
  EXPECT_FALSE(jit.is_trace_eligible(std::span<const Op>(lap.data(), 4), kAnchor, &why)) << "no closing branch";
  EXPECT_NE(why.find("last op"), std::string::npos) << why;
  EXPECT_FALSE(jit.is_trace_eligible(lap, kAnchor + 1, &why)) << "a close to another target";
  // A plain Jump to the anchor ends the lap: one before the end is a lap closed twice.
  std::vector<Op> early = lap;
  early.insert(early.begin() + 1, Op::Jump(kAnchor));
  EXPECT_FALSE(jit.is_trace_eligible(early, kAnchor, &why));
  EXPECT_NE(why.find("closes the lap before its end"), std::string::npos) << why;
  // Adapted: a conditional jump to the anchor the lap did not take is a guard here.
  std::vector<Op> guard = lap;
  guard.insert(guard.begin() + 1, {Op::LoadFalse(), Op::JumpIfTrue(kAnchor)});
  EXPECT_TRUE(jit.is_trace_eligible(guard, kAnchor, &why)) << why;
  // Calls: balanced and at most 4 deep, never returning from the loop's frame.
  std::vector<Op> call = lap;
  call.insert(call.begin() + 1, {Op::LoadInt(3), Op::Call(0, 1), Op::SetSlot(0), Op::GetSlot(0), Op::ReturnValue(),
                                 Op::Pop()});
  EXPECT_TRUE(jit.is_trace_eligible(call, kAnchor, &why)) << why;
  std::vector<Op> branchy_callee = lap;  // a branch inside the callee (phase 4)
  branchy_callee.insert(branchy_callee.begin() + 1, {Op::LoadInt(3), Op::Call(0, 1), Op::SetSlot(0), Op::GetSlot(0),
                                                     Op::JumpIfFalse(40), Op::GetSlot(0), Op::ReturnValue(), Op::Pop()});
  EXPECT_TRUE(jit.is_trace_eligible(branchy_callee, kAnchor, &why)) << why;
  // Adapted: a builtin in the loop's frame is run from the trace (the reference refuses it);
  // a call whose callee calls one is made by the interpreter, the whole call a call-out.
  std::vector<Op> builtin = lap;
  builtin.insert(builtin.begin() + 1, {Op::CallBuiltin(0, 0), Op::Pop()});
  EXPECT_TRUE(jit.is_trace_eligible(builtin, kAnchor, &why)) << why;
  std::vector<Op> builtin_in_call = lap;
  builtin_in_call.insert(builtin_in_call.begin() + 1, {Op::Call(0, 0), Op::CallBuiltin(0, 0), Op::Pop(), Op::Return()});
  EXPECT_TRUE(jit.is_trace_eligible(builtin_in_call, kAnchor, &why)) << why;
  std::vector<Op> keep = lap;  // as in the reference: traces do not hold the Keep jumps
  keep.insert(keep.begin() + 1, {Op::LoadTrue(), Op::JumpIfTrueKeep(40), Op::Pop()});
  EXPECT_FALSE(jit.is_trace_eligible(keep, kAnchor, &why));
  EXPECT_NE(why.find("JumpIfTrueKeep) cannot be in a trace"), std::string::npos) << why;
  std::vector<Op> unmatched = lap;
  unmatched.insert(unmatched.begin() + 1, Op::Call(0, 0));
  EXPECT_FALSE(jit.is_trace_eligible(unmatched, kAnchor, &why)) << "a Call without its Return";
  std::vector<Op> underflow = lap;
  underflow.insert(underflow.begin() + 1, Op::Return());
  EXPECT_FALSE(jit.is_trace_eligible(underflow, kAnchor, &why));
  EXPECT_NE(why.find("returns from the loop's frame"), std::string::npos) << why;
  // Adapted: calls nested deeper than a trace inlines — the outermost is a call-out.
  std::vector<Op> deep = lap;
  for (int k = 0; k < 5; ++k) deep.insert(deep.begin() + 1, Op::Call(0, 0));
  for (int k = 0; k < 5; ++k) deep.insert(deep.begin() + 6, Op::Return());
  EXPECT_TRUE(jit.is_trace_eligible(deep, kAnchor, &why)) << why;
  // Ops a trace cannot hold, and laps over max_trace_len.
  std::vector<Op> print = lap;
  print.insert(print.begin() + 1, {Op::LoadInt(1), Op::PrintLn(1)});
  EXPECT_TRUE(jit.is_trace_eligible(print, kAnchor, &why)) << "adapted: a call-out runs PrintLn: " << why;
  std::vector<Op> inlined_print = lap;
  inlined_print.insert(inlined_print.begin() + 1, {Op::Call(0, 0), Op::LoadInt(1), Op::PrintLn(1), Op::Return()});
  EXPECT_TRUE(jit.is_trace_eligible(inlined_print, kAnchor, &why)) << "and inside a call (made by the interpreter): " << why;
  std::vector<Op> keep_in_call = lap;  // any op, once the interpreter makes the call
  keep_in_call.insert(keep_in_call.begin() + 1, {Op::Call(0, 0), Op::LoadTrue(), Op::JumpIfTrueKeep(40), Op::Pop(),
                                                 Op::Return()});
  EXPECT_TRUE(jit.is_trace_eligible(keep_in_call, kAnchor, &why)) << why;
  std::vector<Op> long_lap = lap;
  long_lap.insert(long_lap.begin() + 1, 300, Op::Nop());
  EXPECT_FALSE(jit.is_trace_eligible(long_lap, kAnchor, &why));
  EXPECT_NE(why.find("max_trace_len"), std::string::npos) << why;
}

TEST_F(JitTraceApi, an_installed_lap_is_compiled_and_entered_by_new_vms) {
  Chunk chunk = assembled_or_fail(counter_loop(200));
  JitCompiler jit;
  EXPECT_FALSE(jit.trace_is_compiled(chunk, kAnchor));
  EXPECT_FALSE(jit.trace_loop_anchors(chunk, kAnchor).has_value());
  std::string why;
  const std::vector<SlotKind> kinds = {SlotKind::Int};
  ASSERT_TRUE(jit.trace_install(chunk, kAnchor, kFallthrough, lap_of(chunk), kLapIps, kinds, &why)) << why;
  EXPECT_TRUE(jit.trace_is_compiled(chunk, kAnchor));
  EXPECT_EQ(jit.trace_loop_anchors(chunk, kAnchor), std::make_pair(kAnchor, kFallthrough));
  EXPECT_FALSE(jit.trace_is_blacklisted(chunk, kAnchor));
  EXPECT_EQ(entries_of_a_new_vm(chunk, Value::Int(200)), 1u) << "entered at the loop's first backedge";
  // What install checks: the ips against the chunk, the fallthrough, the kinds.
  std::vector<size_t> wrong_ips = kLapIps;
  wrong_ips[1] = 4;
  EXPECT_FALSE(jit.trace_install(chunk, kAnchor, kFallthrough, lap_of(chunk), wrong_ips, kinds, &why));
  EXPECT_FALSE(jit.trace_install(chunk, kAnchor, kFallthrough + 1, lap_of(chunk), kLapIps, kinds, &why));
  EXPECT_NE(why.find("fallthrough"), std::string::npos) << why;
  EXPECT_FALSE(jit.trace_install(chunk, kAnchor, kFallthrough, lap_of(chunk), kLapIps, {}, &why));
  EXPECT_NE(why.find("slot 0"), std::string::npos) << why;
  // A chunk built by hand has no op_hash, so no key.
  Chunk unhashed = chunk;
  unhashed.op_hash = 0;
  EXPECT_FALSE(jit.trace_install(unhashed, kAnchor, kFallthrough, lap_of(chunk), kLapIps, kinds, &why));
  EXPECT_FALSE(jit.trace_is_compiled(unhashed, kAnchor));
  EXPECT_FALSE(jit.trace_loop_anchors(unhashed, kAnchor).has_value());
}

TEST_F(JitTraceApi, abort_and_side_exit_bumps_blacklist_a_key_and_reinstalling_clears_it) {
  Chunk chunk = assembled_or_fail(counter_loop(200));
  JitCompiler jit;
  jit.trace_abort(chunk, kAnchor);
  jit.trace_bump_side_exit(chunk, kAnchor);
  EXPECT_FALSE(jit.trace_is_blacklisted(chunk, kAnchor)) << "no key: nothing happens";
  EXPECT_EQ(jit.trace_side_exit_count(chunk, kAnchor), 0u);
  const std::vector<SlotKind> kinds = {SlotKind::Int};
  ASSERT_TRUE(jit.trace_install(chunk, kAnchor, kFallthrough, lap_of(chunk), kLapIps, kinds));
  jit.trace_abort(chunk, kAnchor);
  EXPECT_TRUE(jit.trace_is_blacklisted(chunk, kAnchor));
  EXPECT_TRUE(jit.trace_is_compiled(chunk, kAnchor)) << "flags aside, the code is there";
  EXPECT_EQ(entries_of_a_new_vm(chunk, Value::Int(200)), 0u) << "an aborted key stays interpreted";
  {  // by the tracing tier: the block tier still takes the loop first when it is on
    const uint64_t block_entered = JitCompiler::stats().block.entered;
    VM vm(chunk);
    JitOptions o;
    o.tiers = JitTiers::All;
    o.sync = true;
    o.block_threshold = 1;
    vm.enable_jit(o);
    EXPECT_TRUE(IsOk(vm.run(), Value::Int(200)));
    EXPECT_GT(JitCompiler::stats().block.entered, block_entered);
  }
  // Q12 fixed: an explicit install starts the key afresh.
  ASSERT_TRUE(jit.trace_install(chunk, kAnchor, kFallthrough, lap_of(chunk), kLapIps, kinds));
  EXPECT_FALSE(jit.trace_is_blacklisted(chunk, kAnchor));
  EXPECT_EQ(entries_of_a_new_vm(chunk, Value::Int(200)), 1u);
  TraceJitConfig c;
  c.max_side_exits = 3;
  JitCompiler::set_config(c);
  for (int k = 0; k < 2; ++k) jit.trace_bump_side_exit(chunk, kAnchor);
  EXPECT_EQ(jit.trace_side_exit_count(chunk, kAnchor), 2u);
  EXPECT_FALSE(jit.trace_is_blacklisted(chunk, kAnchor));
  jit.trace_bump_side_exit(chunk, kAnchor);
  EXPECT_TRUE(jit.trace_is_blacklisted(chunk, kAnchor)) << "the third of max_side_exits 3";
  EXPECT_EQ(entries_of_a_new_vm(chunk, Value::Int(200)), 0u);
}

// A side path that cannot be recorded (JumpIfTrueKeep on it, every third lap) leaves its guard
// exiting: the exits are counted for the key, and once a VM has given the trace up for
// good (retries used up) the key is blacklisted for the VMs that come after it.
TEST_F(JitTraceApi, side_exits_of_vms_are_counted_and_a_loop_given_up_stays_interpreted) {
  Chunk chunk = assembled_or_fail(kUntraceableOpEveryThirdLap);
  JitCompiler jit;
  auto run = [&] {
    VM vm(chunk);
    JitOptions o = *traced(5).jit;
    o.trace.max_side_exits = 20;
    o.trace.abort_retries = 0;
    vm.enable_jit(o);
    EXPECT_TRUE(IsOk(vm.run(), Value::Int(4000)));
  };
  run();
  EXPECT_GE(jit.trace_side_exit_count(chunk, 2), 20u);
  EXPECT_TRUE(jit.trace_is_blacklisted(chunk, 2)) << "given up with no retries left";
  const uint64_t compiled = trace_stats().compiled + trace_stats().cached;
  const uint64_t entered = trace_stats().entered;
  run();
  EXPECT_EQ(trace_stats().compiled + trace_stats().cached, compiled) << "nothing recorded again";
  EXPECT_EQ(trace_stats().entered, entered);
}

}  // namespace
}  // namespace fusevm_test
