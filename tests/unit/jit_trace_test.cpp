// The tracing tier through the VM (issue 6, phases 1, 3, 6 and 9 so far): spec/jit.md §7.3's
// items that apply to loops in one frame, each run interpreted and traced with every
// observable identical (ARCHITECTURE §9), and the counters that say what the tier did.
//
// Adapted expectations (the reference's limits this tier lifts, README "JIT"):
// - a loop closed by an unconditional `Jump` (a `while`) is traced; the reference never
//   compiles one (quirk Q4), and its loop exit is not a side exit;
// - a loop closed by a fused backedge (`SlotIncLtIntJumpBack`) is traced;
// - a trace keeps every slot's kind (Bool, Undef, Float stay so; quirks Q1-Q3): the
//   differential checks compare kinds, not only numbers;
// - aborted recordings and given-up traces are retried abort_retries times, each after
//   retry_backoff times as many backedges, instead of being permanent (Q16);
// - a loop that reads and writes global variables is traced (the reference's traces take
//   slots only): the globals ride in slots of the trace's own, guarded by kind;
// - a CallBuiltin in the loop's frame no longer keeps its loop interpreted: native code has
//   the core run it and goes on with its recorded result kind, guarded
//   (jit_trace_builtin_test.cpp has the rest).
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "jit_test_util.hpp"
#include "jit_vm_diff_harness.hpp"

namespace {

// Extended 7 (Int n): raises the interrupt of g_interrupt_target when n is 500, from native
// code as from the interpreter's handler, so an interrupt becomes pending in the middle of
// a trace at a known op.
fusevm::VM* g_interrupt_target = nullptr;
extern "C" void fusevm_test_interrupt_at(int64_t, int64_t n) {
  if (n == 500 && g_interrupt_target != nullptr) g_interrupt_target->interrupt();
}

}  // namespace

namespace fusevm_test {
namespace {

using namespace vmdiff;

class InterruptingExtension : public JitExtension {
 public:
  bool can_jit(uint16_t id) const override { return id == 7; }
  size_t op_count() const override { return 1; }
  std::string name() const override { return "interrupting"; }
  std::optional<JitLowering> lower(uint16_t id) const override {
    if (id != 7) return std::nullopt;
    return JitLowering{"fusevm_test_interrupt_at", reinterpret_cast<void*>(&fusevm_test_interrupt_at),
                       {JitKind::Int}, std::nullopt};
  }
};

class JitTrace : public JitRequired {};

TEST_F(JitTrace, a_hot_counter_loop_is_traced_and_returns_its_count) {
  expect_same_as_interpreted(counter_loop(200), traced());
  const JitTierStats t = trace_stats();
  EXPECT_EQ(t.compiled + t.cached, 1u);
  EXPECT_EQ(t.entered, 1u) << "recorded at backedge 50, compiled at 51, entered at 52";
  EXPECT_EQ(reason_count(t, "trace given up"), 0u);
}

TEST_F(JitTrace, a_cold_loop_of_twenty_laps_is_never_traced) {
  expect_same_as_interpreted(counter_loop(20), traced(), /*must_enter=*/false);
  EXPECT_EQ(trace_stats().compiled + trace_stats().cached, 0u);
}

TEST_F(JitTrace, threshold_five_traces_a_thirty_lap_loop) {
  expect_same_as_interpreted(counter_loop(30), traced(5));
  EXPECT_EQ(trace_stats().entered, 1u);
}

TEST_F(JitTrace, tracing_is_off_unless_asked_for) {
  Chunk chunk = assembled_or_fail(counter_loop(200));
  VM plain(chunk);
  EXPECT_TRUE(IsOk(plain.run(), Value::Int(200)));
  VM block(chunk);
  JitOptions o;
  o.tiers = JitTiers::Block;
  o.sync = true;
  block.enable_jit(o);
  EXPECT_TRUE(IsOk(block.run(), Value::Int(200)));
  EXPECT_EQ(trace_stats().compiled + trace_stats().cached + trace_stats().entered, 0u);
  VM tracing(chunk);
  tracing.enable_tracing_jit();
  EXPECT_EQ(tracing.jit_options().tiers, JitTiers::Trace);
}

TEST_F(JitTrace, a_second_vm_enters_the_trace_the_first_compiled) {
  Chunk chunk = assembled_or_fail(counter_loop(200));
  for (int k = 0; k < 2; ++k) {
    VM vm(chunk);
    vm.enable_jit(*traced().jit);
    EXPECT_TRUE(IsOk(vm.run(), Value::Int(200)));
  }
  EXPECT_EQ(trace_stats().compiled + trace_stats().cached, 1u) << "one compile, shared by content";
  EXPECT_EQ(trace_stats().entered, 2u);
}

// Slot 1 holds a Float the loop never touches; slot 2 a Str: neither blocks the trace,
// and both keep their values and kinds (the reference rewrote every slot as Int).
TEST_F(JitTrace, untouched_slots_of_other_kinds_neither_block_nor_change) {
  expect_same_as_interpreted(R"(
    LoadFloat 2.5
    SetSlot 1
    LoadConst "kept"
    SetSlot 2
    LoadTrue
    SetSlot 3
    LoadInt 0
    SetSlot 0
top:
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 120
    NumLt
    JumpIfTrue top
    GetSlot 0
    ReturnValue
)",
                             traced());
  EXPECT_EQ(trace_stats().entered, 1u);
}

// Adapted: the reference never compiles a `while` loop (Q4).
TEST_F(JitTrace, a_while_loop_closed_by_a_plain_jump_is_traced_and_its_exit_is_no_side_exit) {
  expect_same_as_interpreted(R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 0
    LoadInt 1000
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
    PrintLn 1
)",
                             traced(50, 3));
  const JitTierStats t = trace_stats();
  EXPECT_EQ(t.compiled + t.cached, 1u);
  EXPECT_EQ(t.entered, 3u) << "entered once per run";
  EXPECT_EQ(reason_count(t, "trace given up"), 0u);
}

// Adapted: the fused backedge counts as one and its loop is traced.
TEST_F(JitTrace, a_loop_closed_by_a_fused_backedge_is_traced) {
  expect_same_as_interpreted(R"(
    LoadInt 0
    SetSlot 0
    LoadFloat 0.5
    SetSlot 1
top:
    GetSlot 1
    LoadFloat 1.5
    Mul
    LoadInt 7
    Mod
    SetSlot 1
    SlotIncLtIntJumpBack 0, 500, top
    GetSlot 1
    PrintLn 1
)",
                             traced());
  EXPECT_EQ(trace_stats().entered, 1u);
}

// Phase 3: a branch inside the loop that always goes one way is a guard that never fails.
TEST_F(JitTrace, a_stable_branch_in_the_loop_compiles_and_is_never_given_up) {
  expect_same_as_interpreted(R"(
    LoadInt 0
    SetSlot 0
    LoadInt 1
    SetSlot 1
top:
    PreIncSlotVoid 0
    GetSlot 1
    JumpIfFalse skip
    PreIncSlotVoid 2
skip:
    GetSlot 0
    LoadInt 140
    NumLt
    JumpIfTrue top
    GetSlot 2
    ReturnValue
)",
                             traced());
  EXPECT_EQ(trace_stats().entered, 1u);
  EXPECT_EQ(reason_count(trace_stats(), "trace given up"), 0u);
}

// §4.14's data-dependent branch: recorded with slot 1 true, then run with it false, so the
// trace leaves at its guard; once that exit is hot the path from it is recorded and joins
// the trace (a tree), which then runs both ways natively.
TEST_F(JitTrace, a_branch_that_flips_gets_its_side_path_recorded_into_the_trace) {
  const std::string flip = R"(
    LoadInt 0
    SetSlot 0
    GetVar @flag
    SetSlot 1
top:
    PreIncSlotVoid 0
    GetSlot 1
    JumpIfFalse skip
    PreIncSlotVoid 0
skip:
    GetSlot 0
    LoadInt 160
    NumLt
    JumpIfTrue top
    GetSlot 0
    ReturnValue
)";
  Chunk chunk = assembled_or_fail(flip);
  VM interp(chunk);
  VM vm(chunk);
  vm.enable_jit(*traced(5).jit);
  for (bool flag : {true, false, false, true, false}) {
    interp.reset();
    vm.reset();
    interp.globals()[0] = Value::Bool(flag);
    vm.globals()[0] = Value::Bool(flag);
    const VMResult want = interp.run();
    const VMResult got = vm.run();
    EXPECT_EQ(got.repr(), want.repr()) << "flag " << flag;
  }
  const JitTierStats t = trace_stats();
  EXPECT_EQ(t.compiled + t.cached, 2u) << "the lap, then the tree with the side path";
  EXPECT_EQ(reason_count(t, "trace given up"), 0u);
}

// A branch taken every other lap (examples/jit_demo.fasm's shape): both ways end up in one
// tree, and the differential check holds on every run.
TEST_F(JitTrace, a_branch_taken_every_other_lap_runs_natively_both_ways) {
  expect_same_as_interpreted(R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
    LoadFloat 0.0
    SetSlot 2
top:
    GetSlot 0
    LoadInt 3000
    NumLt
    JumpIfFalse done
    GetSlot 0
    LoadInt 2
    Mod
    JumpIfFalse even
    GetSlot 1
    GetSlot 0
    Add
    SetSlot 1
    Jump next
even:
    GetSlot 2
    LoadFloat 0.5
    Add
    SetSlot 2
next:
    PreIncSlotVoid 0
    Jump top
done:
    GetSlot 1
    PrintLn 1
    GetSlot 2
    PrintLn 1
)",
                             traced(10, 2));
  const JitTierStats t = trace_stats();
  EXPECT_EQ(t.compiled + t.cached, 2u);
  EXPECT_LE(t.entered, 2u * (10 + 10)) << "the tree keeps the loop native once both ways are in";
  EXPECT_EQ(reason_count(t, "trace given up"), 0u);
}

// A side path that cannot be recorded (JumpIfTrueKeep on it, every third lap; the lap recorded at
// backedge 5 skips it) leaves its guard exiting; those exits count, and after
// max_side_exits the trace is given up (to be recorded again).
TEST_F(JitTrace, a_side_path_that_cannot_be_traced_counts_toward_giving_the_trace_up) {
  Chunk chunk = assembled_or_fail(kUntraceableOpEveryThirdLap);
  VM vm(chunk);
  JitOptions o = *traced(5).jit;
  o.trace.max_side_exits = 20;
  vm.enable_jit(o);
  EXPECT_TRUE(IsOk(vm.run(), Value::Int(4000)));
  const JitTierStats t = trace_stats();
  EXPECT_GE(reason_count(t, "side path: recording aborted: an op traces do not run"), 1u);
  EXPECT_GE(reason_count(t, "trace given up"), 1u);
}

// An outer loop's lap runs through its inner loop: after the inner backedge the recorder
// follows the ops it has instead of unrolling them, and the path after the inner loop's
// exit joins the tree, so the outer trace holds the inner loop as a loop (the reference
// unrolls it and aborts at 256 ops).
TEST_F(JitTrace, an_outer_loop_trace_holds_its_inner_loop_as_a_loop) {
  const std::string nest = R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
outer:
    GetSlot 1
    LoadInt 200
    NumLt
    JumpIfFalse done
    LoadInt 0
    SetSlot 2
inner:
    GetSlot 2
    LoadInt 300
    NumLt
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
)";
  expect_same_as_interpreted(nest, traced(5, 2));
  const JitTierStats t = trace_stats();
  EXPECT_EQ(reason_count(t, "recording aborted"), 0u);
  EXPECT_LE(t.entered, 2u * 10) << "the outer trace runs the whole nest once it is compiled";
}

// The reference aborts at an op it cannot trace for good; here the recording aborts, is
// retried abort_retries times with back-off, and then the loop stays interpreted.
TEST_F(JitTrace, a_recording_that_aborts_is_retried_with_back_off_then_given_up) {
  const std::string text = R"(
    LoadInt 0
    SetSlot 0
top:
    PreIncSlotVoid 0
    LoadTrue
    JumpIfTrueKeep kept
kept:
    Pop
    GetSlot 0
    LoadInt 100000
    NumLt
    JumpIfTrue top
    GetSlot 0
    ReturnValue
)";
  Chunk chunk = assembled_or_fail(text);
  VM vm(chunk);
  JitOptions o = *traced(5).jit;
  o.trace.abort_retries = 3;
  o.trace.retry_backoff = 2;
  vm.enable_jit(o);
  EXPECT_TRUE(IsOk(vm.run(), Value::Int(100000)));
  const JitTierStats t = trace_stats();
  EXPECT_EQ(reason_count(t, "recording aborted: an op traces do not run"), 4u) << "the first try and 3 retries";
  EXPECT_EQ(t.compiled + t.cached, 0u);
}

// §7.3 phase 1: a lap of ops that do nothing much (LoadInt, Pop, Nop, ...) compiles; 80.
TEST_F(JitTrace, a_lap_of_plain_ops_compiles_and_counts_to_eighty) {
  expect_same_as_interpreted(R"(
    LoadInt 0
    SetSlot 0
top:
    PreIncSlotVoid 0
    LoadInt 5
    Pop
    Nop
    LoadTrue
    LoadFalse
    Swap
    Pop
    Pop
    GetSlot 0
    LoadInt 80
    NumLt
    JumpIfTrue top
    GetSlot 0
    ReturnValue
)",
                             traced());
  EXPECT_EQ(trace_stats().entered, 1u);
}

// §7.3 phase 5: an Int (150) or a Float 0.5 (120) on the stack at a guard inside the lap;
// the guard's exit puts it back on the interpreter's stack (the branch goes both ways).
TEST_F(JitTrace, a_value_on_the_stack_at_a_guard_goes_back_to_the_interpreter_at_its_exit) {
  for (const auto& [value, limit] : {std::pair<const char*, int>{"LoadInt 7", 150}, {"LoadFloat 0.5", 120}}) {
    expect_same_as_interpreted(std::string(R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    PreIncSlotVoid 0
    )") + value + R"(
    GetSlot 0
    LoadInt 7
    Mod
    JumpIfTrue skip
    PreIncSlotVoid 1
skip:
    Pop
    GetSlot 0
    LoadInt )" + std::to_string(limit) + R"(
    NumLt
    JumpIfTrue top
    GetSlot 0
    GetSlot 1
    Add
    ReturnValue
)",
                               traced());
  }
}

// §7.3 phase 2, adapted: a builtin in every lap no longer keeps the loop interpreted (the
// reference aborts at CallBuiltin): the trace has the core run it, every lap, and goes on
// natively with the Int it returned when recorded.
TEST_F(JitTrace, a_builtin_in_every_lap_runs_from_the_trace) {
  Chunk chunk = assembled_or_fail(R"(
    LoadInt 0
    SetSlot 0
top:
    CallBuiltin 0, 0
    Pop
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 200
    NumLt
    JumpIfTrue top
    GetSlot 0
    ReturnValue
)");
  VM vm(chunk);
  int calls = 0;
  vm.register_builtin(0, [&calls](VM&, uint8_t) { return Value::Int(++calls); });
  vm.enable_jit(*traced().jit);
  EXPECT_TRUE(IsOk(vm.run(), Value::Int(200)));
  EXPECT_EQ(calls, 200) << "once per lap, natively or not";
  const JitTierStats t = trace_stats();
  EXPECT_EQ(t.compiled + t.cached, 1u);
  EXPECT_EQ(t.entered, 1u) << "entered once, it runs the remaining laps with the builtin";
  EXPECT_EQ(reason_count(t, "recording aborted"), 0u);
  EXPECT_EQ(reason_count(t, "trace given up"), 0u);
}

TEST_F(JitTrace, a_lap_that_leaves_a_value_on_the_stack_is_not_traced) {
  expect_same_as_interpreted(R"(
    LoadInt 0
    SetSlot 0
top:
    PreIncSlotVoid 0
    GetSlot 0
    GetSlot 0
    LoadInt 300
    NumLt
    JumpIfTrue top
    Pop
)",
                             traced(5), /*must_enter=*/false);
  EXPECT_GE(reason_count(trace_stats(), "recording aborted: a lap does not keep the stack depth"), 1u);
  EXPECT_EQ(trace_stats().entered, 0u);
}

// §7.3: Float 0.0, +1.0 while < 100.5 ends at 101.0, a Float (kind kept, not only value).
TEST_F(JitTrace, a_float_counter_loop_stays_float) {
  expect_same_as_interpreted(R"(
    LoadFloat 0.0
    SetSlot 0
top:
    GetSlot 0
    LoadFloat 1.0
    Add
    SetSlot 0
    GetSlot 0
    LoadFloat 100.5
    NumLt
    JumpIfTrue top
    GetSlot 0
    ReturnValue
)",
                             traced());
}

// Globals read and written in the loop: an Int sum, a Float scale, a limit read only. The
// trace holds them in slots of its own; the globals end as interpreted, kinds included.
TEST_F(JitTrace, a_loop_over_global_variables_is_traced_and_leaves_them_as_interpreted) {
  expect_same_as_interpreted(R"(
    LoadInt 0
    SetVar @sum
    LoadFloat 1.0
    SetVar @scale
    LoadInt 300
    DeclareVar @limit
    LoadInt 0
    SetSlot 0
top:
    GetVar @sum
    GetSlot 0
    Add
    SetVar @sum
    GetVar @scale
    LoadFloat 1.5
    Mul
    SetVar @scale
    PreIncSlotVoid 0
    GetSlot 0
    GetVar @limit
    NumLt
    JumpIfTrue top
    GetVar @sum
    ReturnValue
)",
                             traced());
  EXPECT_EQ(trace_stats().entered, 1u) << "the loop ran in its trace from backedge 52 to its end";
}

// The trace borrows the frame's slots past its own for the globals: a slot the loop never
// names keeps its Str, and a loop reading a global that holds a Str reads it in a call-out.
TEST_F(JitTrace, globals_borrow_slots_the_frame_gets_back_and_a_string_global_is_read_by_a_call_out) {
  expect_same_as_interpreted(R"(
    LoadConst "kept"
    SetSlot 1
    LoadInt 0
    SetVar @n
    LoadInt 0
    SetSlot 0
top:
    GetVar @n
    LoadInt 2
    Add
    SetVar @n
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 200
    NumLt
    JumpIfTrue top
    GetSlot 1
    ReturnValue
)",
                             traced());
  EXPECT_EQ(trace_stats().entered, 1u);
  expect_same_as_interpreted(R"(
    LoadConst "text"
    SetVar @s
    LoadInt 0
    SetSlot 0
top:
    GetVar @s
    Pop
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 200
    NumLt
    JumpIfTrue top
    GetVar @s
    ReturnValue
)",
                             traced());
  EXPECT_EQ(trace_stats().entered, 2u) << "adapted: a Str global is read (and popped) by a call-out";
  EXPECT_GE(trace_stats().call_outs, 140u);
}

// Division by zero inside a trace leaves it at the Div with the interpreter's state.
TEST_F(JitTrace, division_by_zero_inside_a_trace_matches_the_interpreter) {
  expect_same_as_interpreted(R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    LoadInt 100
    GetSlot 0
    LoadInt 150
    Sub
    Div
    SetSlot 1
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 300
    NumLt
    JumpIfTrue top
    GetSlot 1
    ReturnValue
)",
                             traced(5, 2));
}

// A loop inside a sub is traced in the sub's frame.
TEST_F(JitTrace, a_loop_in_a_sub_is_traced_in_its_frame) {
  expect_same_as_interpreted(R"(
    LoadInt 250
    Call @count, 1
    PrintLn 1
    Jump end
.sub count
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    PreIncSlotVoid 1
    GetSlot 1
    GetSlot 0
    NumLt
    JumpIfTrue top
    GetSlot 1
    ReturnValue
end:
    Nop
)",
                             traced());
}

// An interrupt raised inside a trace (by a lowered extension op) stops the run at the same
// op, with the same state, as interpreted: the trace polls at the jumps the interpreter
// takes and not at the jumps it adds (regression: it polled at its own exit jump).
TEST_F(JitTrace, an_interrupt_raised_inside_a_trace_stops_where_the_interpreter_stops) {
  // At lap 500 the op raises the interrupt and the guard after it falls through for the
  // only time: the trace leaves by a jump of its own, which must not poll, so the run stops
  // at the loop's backedge as interpreted.
  Chunk chunk = assembled_or_fail(R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 0
    Extended 7, 0
    GetSlot 0
    LoadInt 500
    NumNe
    JumpIfTrue skip
    PreIncSlotVoid 1
skip:
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 1000
    NumLt
    JumpIfTrue top
    GetSlot 1
    ReturnValue
)");
  auto handler = [](VM& vm, uint16_t, uint8_t) {
    if (vm.pop().to_int() == 500) vm.interrupt();
  };
  struct Stop {
    std::string result;
    uint64_t ip;
    std::vector<std::string> slots;
    size_t stack;
  };
  auto stop_of = [](VM& vm, const VMResult& r) {
    Stop s{r.repr(), vm.ip(), {}, vm.stack().size()};
    for (const Value& v : vm.frames()[0].slots) s.slots.push_back(v.repr());
    return s;
  };
  VM interp(chunk);
  interp.set_extension_handler(handler);
  g_interrupt_target = &interp;
  const Stop want = stop_of(interp, interp.run());
  const VMResult want_end = interp.run();

  VM vm(chunk);
  vm.set_extension_handler(handler);
  JitOptions o = *traced(5).jit;
  o.extensions.push_back(std::make_shared<InterruptingExtension>());
  vm.enable_jit(o);
  g_interrupt_target = &vm;
  const Stop got = stop_of(vm, vm.run());
  const VMResult got_end = vm.run();
  g_interrupt_target = nullptr;
  EXPECT_GE(trace_stats().entered, 1u);
  EXPECT_EQ(got.result, want.result);
  EXPECT_EQ(got.ip, want.ip) << "stopped at another op than the interpreter";
  EXPECT_EQ(got.slots, want.slots);
  EXPECT_EQ(got.stack, want.stack);
  EXPECT_EQ(got_end.repr(), want_end.repr());
}

// The same stop with the count kept in a global: the trace ran, then the run stopped at the
// poll after it, and the global it wrote must not be lost with the stop.
TEST_F(JitTrace, regression_an_interrupt_after_a_trace_keeps_the_globals_it_wrote) {
  Chunk chunk = assembled_or_fail(R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetVar @count
top:
    GetSlot 0
    Extended 7, 0
    GetSlot 0
    LoadInt 500
    NumNe
    JumpIfTrue skip
    GetVar @count
    LoadInt 1
    Add
    SetVar @count
skip:
    GetVar @count
    LoadInt 1
    Add
    SetVar @count
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 1000
    NumLt
    JumpIfTrue top
    GetVar @count
    ReturnValue
)");
  auto handler = [](VM& vm, uint16_t, uint8_t) {
    if (vm.pop().to_int() == 500) vm.interrupt();
  };
  auto globals_of = [](VM& vm) {
    std::string text;
    for (const Value& v : vm.globals()) text += v.repr() + " ";
    return text;
  };
  VM interp(chunk);
  interp.set_extension_handler(handler);
  g_interrupt_target = &interp;
  const std::string want = interp.run().repr() + " at " + std::to_string(interp.ip()) + ": " + globals_of(interp);
  const VMResult want_end = interp.run();
  VM vm(chunk);
  vm.set_extension_handler(handler);
  JitOptions o = *traced(5).jit;
  o.extensions.push_back(std::make_shared<InterruptingExtension>());
  vm.enable_jit(o);
  g_interrupt_target = &vm;
  const std::string got = vm.run().repr() + " at " + std::to_string(vm.ip()) + ": " + globals_of(vm);
  const VMResult got_end = vm.run();
  g_interrupt_target = nullptr;
  EXPECT_GE(trace_stats().entered, 1u);
  EXPECT_EQ(got, want);
  EXPECT_EQ(got_end.repr(), want_end.repr());
  EXPECT_EQ(globals_of(vm), globals_of(interp));
}

TEST_F(JitTrace, an_endless_traced_loop_stops_on_interrupt_and_resumes) {
  Chunk chunk = assembled_or_fail(R"(
    LoadInt 0
    SetSlot 0
top:
    PreIncSlotVoid 0
    Jump top
)");
  VM vm(chunk);
  vm.enable_jit(*traced(5).jit);
  std::atomic<bool> stop{false};
  std::thread poker([&] {
    while (!stop.load()) {
      if (JitCompiler::stats().trace.entered > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        vm.interrupt();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  const VMResult r = vm.run();
  stop.store(true);
  poker.join();
  EXPECT_TRUE(IsErrorWith(r, "interrupted"));
  const int64_t laps = vm.frames()[0].slots[0].as_int();
  EXPECT_GT(laps, 100);
  vm.interrupt();
  EXPECT_TRUE(IsErrorWith(vm.run(), "interrupted"));
  EXPECT_GE(vm.frames()[0].slots[0].as_int(), laps);
}

}  // namespace
}  // namespace fusevm_test
