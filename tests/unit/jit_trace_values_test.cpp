// Str, Array and Hash values in traces (issue 6: "Bool, Str, Array and Hash values may flow
// through a trace via runtime calls, with guards on their kinds"). Native code holds only
// Undef, Bool, Int and Float (it keeps no reference counts), so a run of ops that meets
// another value — on the stack, in the slot or global it names, as the constant it loads —
// or that no unit runs (Concat, ArrayPush, HashGet, PrintLn, ...) is a call-out: native code
// stores its state, the interpreter runs those ops on it, and native code goes on with the
// stack kinds recorded after them, each guarded, and every slot reloaded with a guard.
// Each test runs a program interpreted and traced and compares everything observable
// (ARCHITECTURE §9).
//
// Adapted expectations (README "JIT"): the reference turns such values into Int 0 (Q1); our
// earlier traces left the loop at the first such op. Jumps on such values abort the
// recording; such values inside an inlined call make the whole call a call-out (the
// interpreter makes it).
#include <string>
#include <vector>

#include "jit_test_util.hpp"
#include "jit_vm_diff_harness.hpp"

namespace fusevm_test {
namespace {

using namespace vmdiff;

class JitTraceValues : public JitRequired {};

// `s = s . "ab"` for `laps` laps (header at ip 4); returns the string's length.
std::string concat_loop(int laps) {
  return R"(
    LoadConst ""
    SetSlot 1
    LoadInt 0
    SetSlot 0
top:
    GetSlot 1
    LoadConst "ab"
    Concat
    SetSlot 1
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt )" +
         std::to_string(laps) + R"(
    NumLt
    JumpIfTrue top
    GetSlot 1
    StringLen
    ReturnValue
)";
}

TEST_F(JitTraceValues, a_string_built_in_every_lap_runs_in_a_call_out_and_the_counter_natively) {
  const Chunk chunk = assembled_or_fail(concat_loop(2000));
  expect_same_as_interpreted(chunk, traced(5));
  const JitTierStats t = trace_stats();
  EXPECT_EQ(t.compiled + t.cached, 1u);
  EXPECT_EQ(t.entered, 1u) << "one entry runs every later lap";
  EXPECT_GE(t.call_outs, 1990u) << "one call-out per lap";
  // The four ops from GetSlot to SetSlot are one call-out, leaving an empty stack.
  JitCompiler jit;
  const std::vector<TraceMetadata> metas = jit.trace_export_all(chunk);
  ASSERT_EQ(metas.size(), 1u);
  ASSERT_EQ(metas[0].call_outs.size(), 1u);
  EXPECT_EQ(metas[0].recorded_ips[metas[0].call_outs[0].at], 4u);
  EXPECT_EQ(metas[0].call_outs[0].len, 4u);
  EXPECT_TRUE(metas[0].call_outs[0].stack.empty());
  EXPECT_EQ(metas[0].slot_kinds_at_anchor.at(1), SlotKind::Str) << "a slot only call-outs touch keeps its kind";
}

// With every tier on, a loop whose ops the block tier could all run, but whose slots hold a
// Str, is handed to the tracing tier (regression: the block tier refused such a site's
// kinds at every entry and never let the tracing tier have it, so it stayed interpreted).
TEST_F(JitTraceValues, a_loop_with_a_string_slot_goes_to_the_tracing_tier_when_every_tier_is_on) {
  std::string lap;
  for (int k = 0; k < 6; ++k) lap += "    GetSlot 0\n    LoadInt " + std::to_string(k) + "\n    BitXor\n    SetSlot 0\n";
  const std::string program = "    LoadConst \"s\"\n    SetSlot 2\n    LoadInt 0\n    SetSlot 0\n    LoadInt 0\n    SetSlot 1\n"
                              "top:\n    GetSlot 1\n    LoadInt 3000\n    NumLt\n    JumpIfFalse done\n"
                              "    GetSlot 2\n    SetSlot 3\n" + lap +
                              "    PreIncSlotVoid 1\n    Jump top\ndone:\n    GetSlot 0\n";
  RunSetup s = sync_strict(JitTiers::All, 10);
  s.jit->trace.min_ops_per_call_out = TraceJitConfig{}.min_ops_per_call_out;
  expect_same_as_interpreted(program, s);
  EXPECT_EQ(trace_stats().entered, 1u) << "the loop was not traced";
  EXPECT_EQ(JitCompiler::stats().block.entered, 0u);
}

// The cost rule (TraceJitConfig::min_ops_per_call_out, default 16): a lap of five native
// ops around its call-out runs faster interpreted, so by default it is not traced, the
// recording aborting with the counts; a lap of a few dozen is traced.
TEST_F(JitTraceValues, by_default_a_lap_of_few_native_ops_per_call_out_stays_interpreted) {
  RunSetup s = traced(5);
  s.jit->trace.min_ops_per_call_out = TraceJitConfig{}.min_ops_per_call_out;
  ASSERT_EQ(s.jit->trace.min_ops_per_call_out, 16u);
  expect_same_as_interpreted(concat_loop(2000), s, /*must_enter=*/false);
  EXPECT_EQ(trace_stats().entered, 0u);
  EXPECT_GE(reason_count(trace_stats(), "recording aborted: too few native ops per call-out (5 native ops, 1 "
                                        "call-out(s))"),
            1u);
  JitCompiler::reset();  // (the process keeps the aborted loop out of new VMs)
  s.jit->trace.min_ops_per_call_out = 5;
  expect_same_as_interpreted(concat_loop(2000), s);
  EXPECT_EQ(trace_stats().entered, 1u) << "five native ops per call-out are enough for 5";
  JitCompiler::reset();
  std::string lap = "top:\n";
  for (int k = 0; k < 6; ++k) lap += "    GetSlot 2\n    LoadInt 3\n    Mul\n    SetSlot 2\n";
  s.jit->trace.min_ops_per_call_out = 16;
  expect_same_as_interpreted("    LoadInt 1\n    SetSlot 2\n" + concat_loop(2000).replace(concat_loop(2000).find("top:\n"), 5, lap), s);
  EXPECT_EQ(trace_stats().entered, 1u) << "29 native ops per call-out";
}

// A call-out may leave values native code holds on the stack: the sum under StringLen's
// operand stays where it was, the length comes back as an Int, and Add runs natively.
TEST_F(JitTraceValues, a_string_length_feeds_native_arithmetic_through_the_stack) {
  expect_same_as_interpreted(R"(
    LoadConst "hello"
    SetSlot 1
    LoadInt 0
    SetSlot 2
    LoadInt 0
    SetSlot 0
top:
    GetSlot 2
    GetSlot 1
    StringLen
    Add
    GetSlot 0
    Add
    SetSlot 2
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 3000
    NumLt
    JumpIfTrue top
    GetSlot 2
    ReturnValue
)",
                             traced(5));
  EXPECT_EQ(trace_stats().entered, 1u);
}

// Arrays: one loop pushes, another reads back by index and compares with the length.
TEST_F(JitTraceValues, an_array_filled_and_summed_in_two_traced_loops_matches_the_interpreter) {
  expect_same_as_interpreted(R"(
    DeclareArray @a
    LoadInt 0
    SetSlot 0
fill:
    GetSlot 0
    GetSlot 0
    Mul
    ArrayPush @a
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 3000
    NumLt
    JumpIfTrue fill
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
sum:
    GetSlot 1
    GetSlot 0
    ArrayGet @a
    Add
    SetSlot 1
    PreIncSlotVoid 0
    GetSlot 0
    ArrayLen @a
    NumLt
    JumpIfTrue sum
    GetSlot 1
    ReturnValue
)",
                             traced(5));
  const JitTierStats t = trace_stats();
  EXPECT_EQ(t.compiled + t.cached, 2u);
  EXPECT_EQ(t.entered, 2u) << "each loop entered once";
}

// A slot holding an array, read by SlotArrayGet, and MakeArray building a new one per lap.
TEST_F(JitTraceValues, arrays_in_slots_are_read_and_replaced_by_call_outs) {
  expect_same_as_interpreted(R"(
    LoadInt 1
    LoadInt 2
    MakeArray 2
    SetSlot 1
    LoadInt 0
    SetSlot 0
top:
    LoadInt 1
    SlotArrayGet 1
    GetSlot 0
    Add
    LoadInt 0
    SlotArrayGet 1
    MakeArray 2
    SetSlot 1
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 1000
    NumLt
    JumpIfTrue top
    GetSlot 1
    ReturnValue
)",
                             traced(5));
  EXPECT_EQ(trace_stats().entered, 1u);
}

// Hashes with string keys: a count per key, the key built with Concat every lap. The
// first lap of each key reads Undef, later ones an Int — all inside one call-out.
TEST_F(JitTraceValues, a_hash_of_counts_keyed_by_built_strings_matches_the_interpreter) {
  expect_same_as_interpreted(R"(
    DeclareHash @h
    LoadInt 0
    SetSlot 0
top:
    GetSlot 0
    LoadInt 7
    Mod
    LoadConst "k"
    Swap
    Concat
    Dup
    HashGet @h
    LoadInt 1
    Add
    Swap
    HashSet @h
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 5000
    NumLt
    JumpIfTrue top
    LoadConst "k3"
    HashGet @h
    ReturnValue
)",
                             traced(5));
  EXPECT_EQ(trace_stats().entered, 1u);
}

// The kind a call-out leaves is guarded: HashGet gives an Int for keys 0..49 and Undef
// past them, so from lap 50 on the guard after the call-out fails and the interpreter
// goes on from the state the call-out left (its slots and stack already in place).
TEST_F(JitTraceValues, a_call_out_leaving_another_kind_leaves_native_code_with_its_state) {
  expect_same_as_interpreted(R"(
    DeclareHash @h
    LoadInt 0
    SetSlot 0
fill:
    GetSlot 0
    GetSlot 0
    HashSet @h
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 50
    NumLt
    JumpIfTrue fill
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 0
    LoadInt 100
    Mod
    HashGet @h
    SetSlot 2
    GetSlot 1
    LoadInt 1
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
                             traced(5));
}

// Copies of a string (another slot, a global) and the string changed afterwards: each
// value stays what the interpreter has (reference counts are the core's alone).
TEST_F(JitTraceValues, copied_strings_stay_apart_from_the_string_that_grows) {
  expect_same_as_interpreted(R"(
    LoadConst "a"
    SetSlot 1
    LoadInt 0
    SetSlot 0
top:
    GetSlot 1
    SetSlot 2
    GetSlot 1
    SetVar @copy
    GetSlot 1
    LoadConst "b"
    Concat
    SetSlot 1
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 500
    NumLt
    JumpIfTrue top
    GetSlot 2
    StringLen
    GetVar @copy
    StringLen
    Add
    GetSlot 1
    StringLen
    Add
    ReturnValue
)",
                             traced(5));
}

// PrintLn of a string and of the counter: output in the same order, every lap.
TEST_F(JitTraceValues, printing_from_a_trace_writes_what_the_interpreter_writes) {
  expect_same_as_interpreted(R"(
    LoadInt 0
    SetSlot 0
top:
    LoadConst "lap"
    GetSlot 0
    PrintLn 2
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 300
    NumLt
    JumpIfTrue top
    GetSlot 0
    ReturnValue
)",
                             traced(5));
  EXPECT_EQ(trace_stats().entered, 1u);
}

// An error inside a call-out (the string grows past Limits::max_string at lap 1,500) ends
// the run as interpreted: same error, same ip, the slots and globals as they were.
TEST_F(JitTraceValues, an_error_inside_a_call_out_ends_the_run_as_interpreted) {
  RunSetup s = traced(5);
  s.limits.max_string = 3000;
  expect_same_as_interpreted(concat_loop(2000), s);
}

// A builtin in a longer call-out that jumps (vm.set_ip) from lap 700 on: the interpreter's
// run of the call-out's ops stops at the jump's target and takes over there.
TEST_F(JitTraceValues, a_jump_inside_a_call_out_hands_over_at_its_target) {
  const std::string text = R"(
    LoadConst "xyz"
    SetSlot 1
    LoadInt 0
    SetSlot 0
top:
    GetSlot 1
    GetSlot 0
    CallBuiltin 0, 2
    SetSlot 2
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 2000
    NumLt
    JumpIfTrue top
end:
    GetSlot 0
    ReturnValue
)";
  const Chunk chunk = assembled_or_fail(text);
  const uint64_t end = chunk.ops.size() - 2;
  RunSetup s = traced(5);
  s.prepare = [end](VM& vm) {
    vm.register_builtin(0, [end](VM& v, uint8_t) {
      const int64_t i = v.stack().back().to_int();
      v.stack().pop_back();
      v.stack().pop_back();  // the string
      if (i == 700) v.set_ip(end);
      return Value::Int(i);
    });
  };
  expect_same_as_interpreted(chunk, s);
  EXPECT_EQ(trace_stats().entered, 1u);
}

// A conditional jump on a string cannot be a guard (native code does not hold the value):
// the recording aborts, naming it, and the loop runs interpreted.
TEST_F(JitTraceValues, a_jump_on_a_string_aborts_the_recording) {
  expect_same_as_interpreted(R"(
    LoadConst "yes"
    SetSlot 1
    LoadInt 0
    SetSlot 0
top:
    GetSlot 1
    JumpIfFalse skip
    PreIncSlotVoid 0
skip:
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 1000
    NumLt
    JumpIfTrue top
    GetSlot 0
    ReturnValue
)",
                             traced(5), /*must_enter=*/false);
  EXPECT_GE(reason_count(trace_stats(), "recording aborted: an op traces do not run (JumpIfFalse with such a value on "
                                        "the stack, at ip 5"),
            1u);
}

// Inside an inlined call such values would need a call-out that sees the VM's frames
// without the call's: the recording hands the whole call to the interpreter instead.
TEST_F(JitTraceValues, a_call_whose_callee_meets_a_string_is_made_by_the_interpreter) {
  expect_same_as_interpreted(R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 1
    Call @f, 0
    Add
    SetSlot 1
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 1000
    NumLt
    JumpIfTrue top
    GetSlot 1
    ReturnValue
.sub f
    LoadConst "four"
    StringLen
    ReturnValue
)",
                             traced(5));
  EXPECT_EQ(trace_stats().entered, 1u);
  EXPECT_GE(trace_stats().call_outs, 990u);
  EXPECT_EQ(reason_count(trace_stats(), "recording aborted"), 0u);
}

// A trace with call-outs goes through the file format and back, and the imported tree
// runs from its first entry; a call-out over a jump is refused.
TEST_F(JitTraceValues, call_outs_are_exported_and_imported_with_their_trace) {
  const Chunk chunk = assembled_or_fail(concat_loop(2000));
  JitCompiler jit;
  {
    VM vm(chunk);
    vm.enable_jit(*traced(5).jit);
    ASSERT_TRUE(IsOk(vm.run(), Value::Int(4000)));
  }
  const std::string json = trace_metadata_to_json(jit.trace_export_all(chunk));
  EXPECT_NE(json.find("\"call_outs\": [[0,4,[]]]"), std::string::npos) << json;
  TraceMetadataLoad back = trace_metadata_from_json(json, "t.json");
  ASSERT_TRUE(back.ok()) << back.message();
  JitCompiler::reset();
  ASSERT_TRUE(jit.trace_import(chunk, back.traces[0]));
  VM vm(chunk);
  vm.enable_jit(*traced(5).jit);
  EXPECT_TRUE(IsOk(vm.run(), Value::Int(4000)));
  EXPECT_EQ(trace_stats().entered, 1u) << "entered at the first backedge";
  TraceMetadata wrong = back.traces[0];
  wrong.call_outs[0].len = wrong.ops.size();
  std::string why;
  EXPECT_FALSE(jit.trace_import(chunk, wrong, &why));
  EXPECT_NE(why.find("the call-out at position 0 is not a run of ops the core runs"), std::string::npos) << why;
}

// `sum = sum + len(name(i))` where `name` builds a string in its own frame: the Call is a
// call-out that goes on past it while its result, a Str, is on the stack (StringLen takes
// it), and native code goes on with the Int.
std::string named_lengths_loop(int laps) {
  return R"(
    Jump main
.sub name
    SetSlot 0
    LoadConst "item-"
    GetSlot 0
    Concat
    ReturnValue
main:
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 0
    Call @name, 1
    StringLen
    GetSlot 1
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

TEST_F(JitTraceValues, a_call_returning_a_string_is_a_call_out_up_to_the_op_that_takes_it) {
  const Chunk chunk = assembled_or_fail(named_lengths_loop(1000));
  expect_same_as_interpreted(chunk, traced(5));
  EXPECT_EQ(trace_stats().entered, 1u);
  EXPECT_GE(trace_stats().call_outs, 990u);
  JitCompiler jit;
  const std::vector<TraceMetadata> metas = jit.trace_export_all(chunk);
  ASSERT_EQ(metas.size(), 1u);
  ASSERT_EQ(metas[0].call_outs.size(), 1u);
  const TraceCallOut& c = metas[0].call_outs[0];
  EXPECT_EQ(metas[0].ops.at(c.at).code(), OpCode::Call);
  EXPECT_EQ(c.len, 2u) << "the Call and the StringLen";
  EXPECT_EQ(c.stack, std::vector<SlotKind>{SlotKind::Int});
  // Through the file format: the imported tree makes the call from its first entry.
  const std::string json = trace_metadata_to_json(metas);
  TraceMetadataLoad back = trace_metadata_from_json(json, "t.json");
  ASSERT_TRUE(back.ok()) << back.message();
  JitCompiler::reset();
  ASSERT_TRUE(jit.trace_import(chunk, back.traces[0]));
  expect_same_as_interpreted(chunk, traced(5));
  EXPECT_EQ(trace_stats().entered, 1u) << "entered at the first backedge";
  // The kinds after it are checked as any call-out's.
  TraceMetadata wrong = back.traces[0];
  wrong.call_outs[0].stack = {SlotKind::Str};
  std::string why;
  EXPECT_FALSE(jit.trace_import(chunk, wrong, &why));
  EXPECT_NE(why.find("leaves a Str, which native code does not hold"), std::string::npos) << why;
}

// An error inside a call the interpreter makes for the trace (a division by zero at lap
// 300, in a callee that also builds a string): the run ends with the interpreter's error,
// at the callee's op, with its frames — the call is real, not inlined.
TEST_F(JitTraceValues, an_error_inside_a_called_out_call_is_the_interpreters) {
  expect_same_as_interpreted(R"(
    Jump main
.sub risky
    SetSlot 0
    LoadConst "tag"
    SetVar @g
    LoadInt 600
    LoadInt 300
    GetSlot 0
    Sub
    Div
    ReturnValue
main:
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 0
    Call @risky, 1
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
                             traced(5));
  EXPECT_GE(trace_stats().entered, 1u) << "(Div gives a Float: the sum's kind changes once)";
  EXPECT_GE(trace_stats().call_outs, 290u);
}

// A branch in the loop's frame whose one way calls a sub that works on a string: the side
// path recorded from that guard holds the call as a call-out; the other way stays native.
TEST_F(JitTraceValues, a_side_path_may_hand_its_call_to_the_interpreter) {
  expect_same_as_interpreted(R"(
    Jump main
.sub stars
    SetSlot 0
    LoadConst "*"
    GetSlot 0
    Concat
    StringLen
    ReturnValue
main:
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 0
    LoadInt 3
    Mod
    LoadInt 0
    NumEq
    JumpIfFalse plain
    GetSlot 0
    Call @stars, 1
    GetSlot 1
    Add
    SetSlot 1
    Jump next
plain:
    GetSlot 1
    LoadInt 1
    Add
    SetSlot 1
next:
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 3000
    NumLt
    JumpIfTrue top
    GetSlot 1
    ReturnValue
)",
                             traced(5));
  EXPECT_GE(trace_stats().call_outs, 990u) << "every third lap";
  EXPECT_EQ(reason_count(trace_stats(), "recording aborted"), 0u);
  EXPECT_EQ(reason_count(trace_stats(), "side path"), 0u);
}


// The cost rule weighs the ops the interpreter runs inside a call it makes for the trace
// (it runs them in its metered loop): by default the lap of named_lengths_loop stays
// interpreted, the reason naming them; with the rule off it is traced.
TEST_F(JitTraceValues, the_cost_rule_counts_the_ops_inside_a_called_out_call) {
  RunSetup s = traced(5);
  s.jit->trace.min_ops_per_call_out = TraceJitConfig{}.min_ops_per_call_out;
  expect_same_as_interpreted(named_lengths_loop(1000), s, /*must_enter=*/false);
  EXPECT_EQ(trace_stats().entered, 0u);
  EXPECT_GE(reason_count(trace_stats(), "recording aborted: too few native ops per call-out"), 1u);
  std::string reasons;
  for (const auto& [reason, count] : trace_stats().reasons) reasons += reason + "\n";
  EXPECT_NE(reasons.find("op(s) in the calls they make)"), std::string::npos) << reasons;
}

}  // namespace
}  // namespace fusevm_test
