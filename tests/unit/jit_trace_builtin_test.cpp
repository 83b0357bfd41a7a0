// Builtins in traces (issue 6, "traces may call builtins"): a CallBuiltin in the loop's
// frame is run by the core from native code (VmUnitFrame::call_out) on the state an exit
// there leaves, and native code goes on with the kind the builtin returned when recorded,
// guarded. Each test runs a program interpreted and traced and compares everything
// observable (ARCHITECTURE §9): whatever a builtin does to the VM — read or write globals
// and slots, return another kind, throw, jump, interrupt, call back into the VM, pop more
// than its arguments — the traced run ends as the interpreted one.
//
// Adapted expectations (README "JIT"): the reference aborts every recording at CallBuiltin;
// here only a builtin inside an inlined call aborts it (it would see the VM's frames
// without the call's).
#include <memory>
#include <stdexcept>
#include <string>

#include "jit_test_util.hpp"
#include "jit_vm_diff_harness.hpp"

namespace fusevm_test {
namespace {

using namespace vmdiff;

class JitTraceBuiltin : public JitRequired {};

// A loop of `laps` laps (header at ip 2) that calls builtin 0 with the counter and adds
// what it returns into slot 1; returns slot 1.
std::string summing_loop(int laps) {
  return R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 1
    GetSlot 0
    CallBuiltin 0, 1
    Add
    SetSlot 1
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt )" +
         std::to_string(laps) + R"(
    NumLt
    JumpIfTrue top
    GetSlot 1
    ReturnValue
)";
}

// A RunSetup traced at threshold 5 whose VMs get builtin 0 from `make` (called once per VM,
// so state the builtin keeps starts alike on both sides).
template <typename Make>
RunSetup with_builtin(Make make, uint32_t threshold = 5) {
  RunSetup s = traced(threshold);
  s.prepare = [make](VM& vm) { vm.register_builtin(0, make()); };
  return s;
}

// The builtin's argument, popped as a builtin does.
int64_t pop_int(VM& vm) {
  const int64_t v = vm.stack().back().to_int();
  vm.stack().pop_back();
  return v;
}

TEST_F(JitTraceBuiltin, a_builtin_returning_ints_keeps_the_loop_native) {
  expect_same_as_interpreted(summing_loop(3000), with_builtin([] {
                               return [](VM& vm, uint8_t) { return Value::Int(pop_int(vm) * 3); };
                             }));
  const JitTierStats t = trace_stats();
  EXPECT_EQ(t.compiled + t.cached, 1u);
  EXPECT_EQ(t.entered, 1u) << "one entry runs every later lap, builtin included";
  EXPECT_EQ(reason_count(t, "trace given up"), 0u);
}

// The builtin reads the global the loop writes and the frame's slot 0, and writes a global
// of its own: the trace's lent slots go back to the globals before it runs and are lent
// again after, so it sees (and leaves) what the interpreter would.
TEST_F(JitTraceBuiltin, a_builtin_sees_and_writes_the_globals_and_slots_as_interpreted) {
  expect_same_as_interpreted(R"(
    LoadInt 0
    SetSlot 0
    LoadInt 1
    SetVar @g
    LoadInt 0
    SetVar @seen
top:
    GetVar @g
    LoadInt 1
    CallBuiltin 0, 1
    Add
    SetVar @g
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 2000
    NumLt
    JumpIfTrue top
    GetVar @g
    ReturnValue
)",
                             with_builtin([] {
                               // @g is name 0, @seen name 1 (the assembler's order).
                               return [](VM& vm, uint8_t) {
                                 const int64_t arg = pop_int(vm);
                                 const int64_t g = vm.globals()[0].to_int();
                                 const int64_t i = vm.frames().back().slots[0].to_int();
                                 vm.globals()[1] = Value::Int(vm.globals()[1].to_int() + g % 7);
                                 return Value::Int((g + i + arg) % 1000);
                               };
                             }));
  EXPECT_EQ(reason_count(trace_stats(), "trace given up"), 0u);
}

// Int for a while, then Float: the guard after the call-out fails and native code leaves
// after the builtin with the Float on the stack; the interpreter goes on from there.
TEST_F(JitTraceBuiltin, a_builtin_whose_result_kind_changes_leaves_native_code_after_the_call) {
  expect_same_as_interpreted(summing_loop(1500), with_builtin([] {
                               auto calls = std::make_shared<int>(0);
                               return [calls](VM& vm, uint8_t) {
                                 const int64_t i = pop_int(vm);
                                 return ++*calls <= 400 ? Value::Int(i) : Value::Float(0.5 * static_cast<double>(i));
                               };
                             }));
}

// A Str result (popped by the loop) is a kind native code does not hold: the interpreter
// takes the state over right after the builtin, with the string on its stack.
TEST_F(JitTraceBuiltin, a_builtin_returning_a_string_hands_over_to_the_interpreter) {
  expect_same_as_interpreted(R"(
    LoadInt 0
    SetSlot 0
top:
    GetSlot 0
    CallBuiltin 0, 1
    Pop
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 1000
    NumLt
    JumpIfTrue top
    GetSlot 0
    ReturnValue
)",
                             with_builtin([] {
                               return [](VM& vm, uint8_t) {
                                 const int64_t i = pop_int(vm);
                                 return i > 300 && i % 5 == 0 ? Value::Str("lap " + std::to_string(i)) : Value::Int(i);
                               };
                             }));
}

// A builtin that throws ends the run with an error naming it, at its op, with the globals
// the loop wrote stored back (no data handed to the VM is lost).
TEST_F(JitTraceBuiltin, a_builtin_that_throws_ends_the_run_as_interpreted_with_the_globals_kept) {
  const std::string text = R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetVar @total
top:
    GetVar @total
    GetSlot 0
    CallBuiltin 0, 1
    Add
    SetVar @total
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 1000
    NumLt
    JumpIfTrue top
    GetVar @total
    ReturnValue
)";
  auto throwing = [] {
    return [](VM& vm, uint8_t) {
      const int64_t i = pop_int(vm);
      if (i == 600) throw std::runtime_error("no lap 600");
      return Value::Int(i);
    };
  };
  expect_same_as_interpreted(text, with_builtin(throwing));
  RunSetup traced_run = with_builtin(throwing);
  const Observed got = observe(assembled_or_fail(text), traced_run);
  ASSERT_TRUE(got.results[0].is_error());
  EXPECT_EQ(got.results[0].error().message, "builtin 0 threw: no lap 600");
  EXPECT_TRUE(identical(got.globals[0], Value::Int(599 * 600 / 2)));
}

// raise_error from a builtin: the same, through the VM's pending error.
TEST_F(JitTraceBuiltin, a_builtin_that_raises_an_error_ends_the_run_as_interpreted) {
  expect_same_as_interpreted(summing_loop(800), with_builtin([] {
                               return [](VM& vm, uint8_t) {
                                 const int64_t i = pop_int(vm);
                                 if (i == 500) vm.raise_error("lap 500 refused");
                                 return Value::Int(i);
                               };
                             }));
}

// The builtin turns slot 1 (the trace's sum, an Int) into a Float: the slot guards after
// the call-out fail and native code leaves with the frame as the builtin left it.
TEST_F(JitTraceBuiltin, a_builtin_that_changes_a_slots_kind_leaves_native_code_after_the_call) {
  expect_same_as_interpreted(summing_loop(1200), with_builtin([] {
                               return [](VM& vm, uint8_t) {
                                 const int64_t i = pop_int(vm);
                                 Value& sum = vm.frames().back().slots[1];
                                 if (i % 250 == 0) sum = Value::Float(static_cast<double>(sum.to_int()) / 2);
                                 return Value::Int(i);
                               };
                             }));
}

// A builtin may jump (vm.set_ip): from lap 700 on it leaves the loop for the end.
TEST_F(JitTraceBuiltin, a_builtin_that_jumps_hands_over_to_the_interpreter_at_its_target) {
  const std::string text = summing_loop(2000);
  const Chunk chunk = assembled_or_fail(text);
  const uint64_t end = chunk.ops.size() - 2;  // GetSlot 1; ReturnValue
  expect_same_as_interpreted(chunk, with_builtin([end] {
                               return [end](VM& vm, uint8_t) {
                                 const int64_t i = pop_int(vm);
                                 if (i == 700) vm.set_ip(end);
                                 return Value::Int(i);
                               };
                             }));
}

// The builtin raises the VM's interrupt at lap 900: native code polls at the next taken
// jump, as the interpreter does, and the run stops at the same ip; run() resumes it.
TEST_F(JitTraceBuiltin, an_interrupt_raised_by_a_builtin_stops_the_trace_where_the_interpreter_stops) {
  RunSetup s = with_builtin([] {
    return [](VM& vm, uint8_t) {
      const int64_t i = pop_int(vm);
      if (i == 900) vm.interrupt();
      return Value::Int(i);
    };
  });
  s.runs = 1;
  s.resumes = 0;
  const Chunk chunk = assembled_or_fail(summing_loop(3000));
  expect_same_as_interpreted(chunk, s);
  const Observed got = observe(chunk, s);
  ASSERT_TRUE(got.results[0].is_error());
  EXPECT_EQ(got.results[0].error().message, "interrupted");
}

// Arguments come off the stack and the values under them stay: `i (i*7)` with `i` below.
TEST_F(JitTraceBuiltin, a_builtin_with_two_arguments_leaves_the_values_under_them) {
  expect_same_as_interpreted(R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 0
    GetSlot 0
    LoadInt 7
    CallBuiltin 0, 2
    Sub
    GetSlot 1
    Add
    SetSlot 1
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 1000
    NumLt
    JumpIfTrue top
    GetSlot 1
    ReturnValue
)",
                             with_builtin([] {
                               return [](VM& vm, uint8_t argc) {
                                 int64_t product = 1;
                                 for (uint8_t k = 0; k < argc; ++k) product *= pop_int(vm);
                                 return Value::Int(product);
                               };
                             }));
}

// A builtin that pops more than its arguments (the 5 native code holds under them, which
// it replaces by a 9 the loop then adds up) or none at all: the core sees the stack is not
// what the op's effect says and hands over.
TEST_F(JitTraceBuiltin, a_builtin_that_pops_more_or_fewer_values_hands_over_to_the_interpreter) {
  for (int greedy = 0; greedy < 2; ++greedy) {
    SCOPED_TRACE(greedy ? "pops two" : "pops none");
    JitCompiler::reset();  // the first variant's loop is given up, and the store remembers it
    expect_same_as_interpreted(R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    LoadInt 5
    GetSlot 0
    CallBuiltin 0, 1
    Pop
    GetSlot 1
    Add
    SetSlot 1
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 800
    NumLt
    JumpIfTrue top
    GetSlot 1
    ReturnValue
)",
                               with_builtin([greedy] {
                                 return [greedy](VM& vm, uint8_t) {
                                   const int64_t i = vm.stack().back().to_int();
                                   if (i < 400) {
                                     vm.stack().pop_back();
                                   } else if (greedy) {  // the 5 under the argument goes too
                                     vm.stack().pop_back();
                                     vm.stack().pop_back();
                                     vm.stack().push_back(Value::Int(9));
                                   }  // else: the argument stays
                                   return Value::Int(i);
                                 };
                               }));
  }
}

// The builtin calls back into the VM (VM::call of a sub with a hot loop of its own): the
// nested run stays interpreted while the call-out is under way, and both runs end as
// interpreted.
TEST_F(JitTraceBuiltin, a_builtin_that_calls_back_into_the_vm_runs_the_sub_interpreted) {
  expect_same_as_interpreted(R"(
    Jump main
.sub triangle
    SetSlot 0
    LoadInt 0
    SetSlot 1
    LoadInt 0
    SetSlot 2
again:
    GetSlot 2
    GetSlot 1
    Add
    SetSlot 2
    PreIncSlotVoid 1
    GetSlot 1
    GetSlot 0
    NumLt
    JumpIfTrue again
    GetSlot 2
    ReturnValue
main:
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 1
    GetSlot 0
    CallBuiltin 0, 1
    Add
    SetSlot 1
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 300
    NumLt
    JumpIfTrue top
    GetSlot 1
    ReturnValue
)",
                             with_builtin([] {
                               return [](VM& vm, uint8_t) {
                                 const int64_t n = pop_int(vm) % 90;
                                 VMResult r = vm.call("triangle", {Value::Int(n)});
                                 return r.is_ok() ? r.value() : Value::Int(-1);
                               };
                             }));
}

// Inside an inlined call a builtin would see the VM's frames without the call's, so the
// recording hands that call to the interpreter: the whole Call is a call-out (one per lap),
// and the builtin runs in the callee's real frame.
TEST_F(JitTraceBuiltin, a_call_whose_callee_calls_a_builtin_is_a_call_out) {
  const Chunk chunk = assembled_or_fail(R"(
    Jump main
.sub wrapped
    CallBuiltin 0, 1
    ReturnValue
main:
    LoadInt 0
    SetSlot 0
top:
    GetSlot 0
    Call @wrapped, 1
    Pop
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 400
    NumLt
    JumpIfTrue top
    GetSlot 0
    ReturnValue
)");
  expect_same_as_interpreted(chunk, with_builtin([] {
                               return [](VM& vm, uint8_t) {
                                 // In the callee's frame, as interpreted: main's frame and the call's.
                                 return Value::Int(pop_int(vm) + static_cast<int64_t>(vm.frames().size()));
                               };
                             }));
  EXPECT_EQ(trace_stats().entered, 1u);
  EXPECT_GE(trace_stats().call_outs, 390u);
  EXPECT_EQ(reason_count(trace_stats(), "recording aborted"), 0u);
  JitCompiler jit;
  const std::vector<TraceMetadata> metas = jit.trace_export_all(chunk);
  ASSERT_EQ(metas.size(), 1u);
  ASSERT_EQ(metas[0].call_outs.size(), 1u);
  const TraceCallOut& c = metas[0].call_outs[0];
  EXPECT_EQ(metas[0].ops.at(c.at).code(), OpCode::Call) << "the Call is the call-out";
  EXPECT_EQ(c.len, 1u);
  EXPECT_EQ(c.stack, std::vector<SlotKind>{SlotKind::Int}) << "its result";
}

// The call-out (the builtin, and the stack kinds after it) is part of the trace's metadata:
// exported with it, written to and read from the file format, and an imported trace runs
// the builtin from native code from its first entry.
TEST_F(JitTraceBuiltin, a_traces_builtin_result_kinds_are_exported_and_imported) {
  const Chunk chunk = assembled_or_fail(summing_loop(2000));
  auto prepare = [](VM& vm) { vm.register_builtin(0, [](VM& v, uint8_t) { return Value::Int(pop_int(v) * 2); }); };
  JitCompiler jit;
  {
    VM vm(chunk);
    prepare(vm);
    vm.enable_jit(*traced(5).jit);
    ASSERT_TRUE(IsOk(vm.run(), Value::Int(1999 * 2000)));
  }
  std::vector<TraceMetadata> metas = jit.trace_export_all(chunk);
  ASSERT_EQ(metas.size(), 1u);
  ASSERT_EQ(metas[0].call_outs.size(), 1u);
  EXPECT_EQ(metas[0].recorded_ips[metas[0].call_outs[0].at], 6u) << "the CallBuiltin";
  EXPECT_EQ(metas[0].call_outs[0].len, 1u);
  EXPECT_EQ(metas[0].call_outs[0].stack, (std::vector<SlotKind>{SlotKind::Int, SlotKind::Int})) << "the sum, the result";
  const std::string json = trace_metadata_to_json(metas);
  EXPECT_NE(json.find("\"call_outs\": [[2,1,[\"Int\",\"Int\"]]]"), std::string::npos) << json;
  TraceMetadataLoad back = trace_metadata_from_json(json, "t.json");
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back.traces, metas);

  JitCompiler::reset();
  ASSERT_TRUE(jit.trace_import(chunk, back.traces[0]));
  VM vm(chunk);
  prepare(vm);
  vm.enable_jit(*traced(5).jit);
  EXPECT_TRUE(IsOk(vm.run(), Value::Int(1999 * 2000)));
  EXPECT_EQ(trace_stats().entered, 1u) << "entered at the first backedge, never left until the end";

  // A call-out over ops the core does not run (a jump) is refused, naming the path; so is
  // one leaving a value native code does not hold.
  TraceMetadata wrong = back.traces[0];
  wrong.call_outs[0].len = 8;  // up to the closing JumpIfTrue
  std::string why;
  EXPECT_FALSE(jit.trace_import(chunk, wrong, &why));
  EXPECT_NE(why.find("path 0: the call-out at position 2 is not a run of ops the core runs"), std::string::npos) << why;
  wrong = back.traces[0];
  wrong.call_outs[0].stack[1] = SlotKind::Str;
  EXPECT_FALSE(jit.trace_import(chunk, wrong, &why));
  EXPECT_NE(why.find("leaves a Str, which native code does not hold"), std::string::npos) << why;
  // And an unknown kind name in the file.
  std::string bad = json;
  bad.replace(bad.find("[\"Int\",\"Int\"]"), 13, "[\"Int\",\"Long\"]");
  TraceMetadataLoad refused = trace_metadata_from_json(bad, "t.json");
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("unknown slot kind \"Long\""), std::string::npos) << refused.message();
}

}  // namespace
}  // namespace fusevm_test
