// Differential test of the VM-driven JIT (issue 5 item 8): thousands of seeded random
// whole programs (jit_vm_program_gen.hpp) run interpreted and with vm.enable_jit under
// each tier, thresholds 1 and 10, synchronous and asynchronous compiles, and everything
// observable must be identical (ARCHITECTURE §9 "Equality in differential tests"), with
// native code really entered for a good share of them. Regressions found this way follow
// the suites.
//
// FUSEVM_JIT_DIFF_PROGRAMS=N runs N programs per suite instead of the CI defaults;
// FUSEVM_JIT_DIFF_SEED=S moves every suite's seeds (S is added to the suite's base seed).
// A mismatch prints the seed, the program's disassembly and both states, then a
// minimised program that still differs. Run the binary with FUSEVM_JIT_CACHE=off (as
// ctest does) so that every unit is really compiled.
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "jit_test_util.hpp"
#include "jit_vm_diff_harness.hpp"
#include "jit_vm_diff_suite.hpp"
#include "jit_vm_program_gen.hpp"

namespace fusevm_test {
namespace {

using jitgen::Rand;
using vmgen::Shape;
using vmgen::VmGen;
using vmgen::VmProgram;
using namespace vmdiff;

constexpr size_t kMaxReported = 5;     // mismatches printed in full per suite
constexpr size_t kMinimised = 2;       // of those, how many are minimised
constexpr size_t kResetEvery = 100;    // programs between JitCompiler::reset()

// -- Suites ---------------------------------------------------------------------------------

struct Tally {
  size_t programs = 0;
  size_t entered_programs = 0;
  uint64_t entries = 0;
  size_t mismatches = 0;
  size_t errors = 0;  // programs whose interpreted run ended in an error (limits)
  size_t imported = 0;  // trace trees re-imported (reimport)
  uint64_t call_outs = 0;  // call-outs run from native code
  size_t by_shape[4] = {0, 0, 0, 0};
  size_t entered_by_shape[4] = {0, 0, 0, 0};
};

void report(Tally& t, const SuiteSpec& spec, uint64_t seed, const VmProgram& p, const RunSetup& jitted,
            const Observed& want, const Observed& got, const std::string& diff) {
  ++t.mismatches;
  if (t.mismatches > kMaxReported) return;
  std::string text = std::string(spec.name) + " mismatch, seed " + hex(seed) + " (" + vmgen::shape_name(p.shape) +
                     ", " + options_text(jitted) + "): " + diff + "\ninterpreter:\n" + state_text(want) +
                     "jit:\n" + state_text(got) + "program:\n" + disassemble(p.chunk);
  if (t.mismatches <= kMinimised) {
    JitCompiler::wait_idle();
    Chunk small = minimised(p.chunk, jitted);
    RunSetup plain = jitted;
    plain.jit.reset();
    Observed w = observe(small, plain);
    Observed g = observe(small, jitted);
    JitCompiler::wait_idle();
    text += "minimised (" + std::to_string(small.ops.size()) + " ops): " + difference(w, g) + "\ninterpreter:\n" +
            state_text(w) + "jit:\n" + state_text(g) + disassemble(small);
  }
  ADD_FAILURE() << text;
}

void run_suite(const SuiteSpec& spec) {
  const size_t count = program_count(spec.default_count);
  const uint64_t base = spec.base_seed + seed_offset();
  const auto started = std::chrono::steady_clock::now();
  // FUSEVM_JIT_DIFF_VERBOSE=1: each seed and program before it runs (to find one that hangs).
  const bool verbose = std::getenv("FUSEVM_JIT_DIFF_VERBOSE") != nullptr;
  Tally t;
  for (size_t k = 0; k < count; ++k) {
    if (k % kResetEvery == 0) {
      JitCompiler::wait_idle();
      JitCompiler::reset();
    }
    const uint64_t seed = base + k;
    if (verbose) std::fprintf(stderr, "[ jit-vm-diff ] %s seed %s\n", spec.name, hex(seed).c_str());
    Trial trial = make_trial(spec, seed);
    const Shape shape = trial.program.shape;
    const VmProgram& p = trial.program;
    const RunSetup& plain = trial.plain;
    const RunSetup& jitted = trial.jitted;
    if (verbose) std::fprintf(stderr, "%s", disassemble(p.chunk).c_str());
    if (verbose) std::fprintf(stderr, "[ jit-vm-diff ] %s\n", options_text(jitted).c_str());
    const Observed want = observe(p.chunk, plain);
    const uint64_t before = entered_now();
    const uint64_t call_outs_before = JitCompiler::stats().trace.call_outs;
    const Observed got = observe(p.chunk, jitted);
    if (!spec.sync) JitCompiler::wait_idle();  // no compile outlives its program's checks
    const uint64_t entries = entered_now() - before;
    t.call_outs += JitCompiler::stats().trace.call_outs - call_outs_before;
    ++t.programs;
    for (const VMResult& res : want.results) {
      if (res.is_error()) {
        ++t.errors;
        break;
      }
    }
    ++t.by_shape[static_cast<size_t>(shape)];
    t.entries += entries;
    if (entries > 0) {
      ++t.entered_programs;
      ++t.entered_by_shape[static_cast<size_t>(shape)];
    }
    std::string diff = difference(want, got);
    if (!diff.empty()) {
      report(t, spec, seed, p, jitted, want, got, diff);
    } else if (spec.reimport) {
      const std::string file = trace_metadata_to_json(JitCompiler().trace_export_all(p.chunk));
      JitCompiler::wait_idle();
      JitCompiler::reset();
      const TraceMetadataLoad loaded = trace_metadata_from_json(file, "traces.json");
      if (!loaded.ok()) {
        report(t, spec, seed, p, jitted, want, got, "the exported traces do not read back: " + loaded.message());
        continue;
      }
      size_t imported = 0;
      std::string refusals;
      for (const TraceMetadata& m : loaded.traces) {
        std::string why;
        if (JitCompiler().trace_import(p.chunk, m, &why)) {
          ++imported;
        } else {
          refusals += "\n  trace at ip " + std::to_string(m.anchor_ip) + ": " + why;
        }
      }
      if (!refusals.empty()) {
        report(t, spec, seed, p, jitted, want, got, "exported traces that do not import:" + refusals);
        continue;
      }
      t.imported += imported;
      const Observed again = observe(p.chunk, jitted);
      diff = difference(want, again);
      if (!diff.empty()) report(t, spec, seed, p, jitted, want, again, "imported traces: " + diff);
    } else if (spec.second_vm) {
      const Observed again = observe(p.chunk, jitted);
      if (!spec.sync) JitCompiler::wait_idle();
      diff = difference(want, again);
      if (!diff.empty()) report(t, spec, seed, p, jitted, want, again, "second VM: " + diff);
    }
  }
  JitCompiler::wait_idle();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("[ jit-vm-diff ] %s: %zu programs in %.1f s (seeds %s..), %zu entered native code (%" PRIu64
              " entries, %" PRIu64 " call-outs), %zu ended in an error, %zu traces re-imported, %zu mismatches; "
              "by shape (programs/entered):",
              spec.name, t.programs, secs, hex(base).c_str(), t.entered_programs, t.entries, t.call_outs, t.errors,
              t.imported, t.mismatches);
  for (int s = 0; s < 4; ++s) {
    if (t.by_shape[s] > 0) {
      std::printf(" %s %zu/%zu", vmgen::shape_name(static_cast<Shape>(s)), t.by_shape[s], t.entered_by_shape[s]);
    }
  }
  std::printf("\n");
  std::fflush(stdout);
  EXPECT_EQ(t.mismatches, 0u);
  if (spec.never_enters) {
    EXPECT_EQ(t.entries, 0u) << "native code was entered although the limits keep the JIT out";
    return;
  }
  // The test must fail if the VM silently stops using the JIT.
  EXPECT_GE(static_cast<double>(t.entered_programs), spec.min_entered * static_cast<double>(t.programs))
      << "native code was entered for only " << t.entered_programs << " of " << t.programs << " programs";
}

class JitVmDifferential : public JitRequired {
 protected:
  void TearDown() override {
    JitCompiler::wait_idle();
    JitRequired::TearDown();
  }
};

TEST_F(JitVmDifferential, straight_line_chunks_match_the_interpreter_under_the_linear_tier) {
  SuiteSpec s{"linear", 0x11AE000000000000ULL, 600, {{Shape::Straight, 1}}};
  s.tiers = JitTiers::Linear;
  s.runs = {1, 2, 3};
  s.min_entered = 0.6;
  run_suite(s);
}

// The tracing tier alone: every loop is recorded after 1 to 50 backedges (spec/jit.md
// §7.5, extended to every kind, division, nested loops, breaks and kind changes), and
// traces are often given up and recorded again.
TEST_F(JitVmDifferential, looped_programs_match_the_interpreter_under_the_tracing_tier) {
  SuiteSpec s{"trace", 0x7EACE00000000000ULL, 600, kMixed};
  s.tiers = JitTiers::Trace;
  s.trace_thresholds = {1, 2, 5, 13, 50};
  s.runs = {1, 2, 5};
  s.second_vm = true;
  s.min_entered = 0.25;
  run_suite(s);
}

// Every trace a run compiled, written as a metadata file, read back into a fresh engine and
// imported (so each passes the import checks) runs as the interpreter does.
TEST_F(JitVmDifferential, imported_traces_match_the_interpreter) {
  SuiteSpec s{"trace-import", 0x1A9087ED00000000ULL, 300, kMixed};
  s.tiers = JitTiers::Trace;
  s.trace_thresholds = {1, 2, 5, 13};
  s.runs = {1, 2};
  s.reimport = true;
  s.min_entered = 0.35;  // as the tracing suite: straight-line programs and most wild ones have no loop
  run_suite(s);
}

// Programs with subs (recursive ones too) under the tracing tier: loops that call them are
// traced through the calls, exits inside the calls make their frames.
TEST_F(JitVmDifferential, programs_with_subs_match_the_interpreter_under_the_tracing_tier) {
  SuiteSpec s{"trace-subs", 0x7EAC5AB500000000ULL, 400, {{Shape::Subs, 1}}};
  s.tiers = JitTiers::Trace;
  s.trace_thresholds = {1, 2, 5, 13};
  s.runs = {1, 2};
  s.min_entered = 0.35;
  run_suite(s);
}

// Block and tracing tiers together (the default): loops the block tier cannot keep native
// are traced.
TEST_F(JitVmDifferential, looped_programs_match_the_interpreter_with_every_tier) {
  SuiteSpec s{"all", 0xA11A000000000000ULL, 400, kMixed};
  s.tiers = JitTiers::All;
  s.thresholds = {1, 10};
  s.trace_thresholds = {1, 5, 50};
  s.runs = {1, 3};
  s.min_entered = 0.35;
  run_suite(s);
}

TEST_F(JitVmDifferential, looped_programs_match_the_interpreter_under_the_block_tier) {
  SuiteSpec s{"block", 0xB10C000000000000ULL, 500, kMixed};
  s.tiers = JitTiers::Block;
  s.runs = {1, 1, 12};  // twelve runs pass the whole-chunk threshold of ten
  s.second_vm = true;   // below the threshold it enters units the first VM compiled
  s.min_entered = 0.35;
  run_suite(s);
}

TEST_F(JitVmDifferential, looped_programs_match_the_interpreter_with_block_threshold_one) {
  SuiteSpec s{"block-threshold-1", 0xB1C1000000000000ULL, 400, kMixed};
  s.tiers = JitTiers::Block;
  s.thresholds = {1};
  s.runs = {1, 2};
  s.min_entered = 0.7;
  run_suite(s);
}

TEST_F(JitVmDifferential, programs_with_subs_match_the_interpreter_under_all_tiers) {
  SuiteSpec s{"subs", 0x5AB5000000000000ULL, 300, {{Shape::Subs, 1}}};
  s.tiers = JitTiers::All;
  s.thresholds = {10};
  s.runs = {1, 2};
  s.min_entered = 0.45;
  run_suite(s);
}

TEST_F(JitVmDifferential, every_shape_matches_the_interpreter_under_all_tiers) {
  SuiteSpec s{"all", 0xA11A000000000000ULL, 500,
              {{Shape::Loops, 4}, {Shape::Subs, 2}, {Shape::Straight, 2}, {Shape::Wild, 2}}};
  s.tiers = JitTiers::All;
  s.thresholds = {1, 2, 3, 10};
  s.runs = {1, 3, 11};
  s.retier = 0.2;
  s.move = 0.2;
  s.min_entered = 0.6;
  run_suite(s);
}

TEST_F(JitVmDifferential, async_compiles_give_the_interpreters_results_on_every_run) {
  SuiteSpec s{"async", 0xA5C0000000000000ULL, 300, kMixed};
  s.tiers = JitTiers::All;
  s.sync = false;
  s.thresholds = {1};
  s.runs = {4};
  s.wait_between_runs = true;
  s.second_vm = true;
  s.min_entered = 0.7;
  run_suite(s);
}

TEST_F(JitVmDifferential, a_value_stack_limit_is_hit_as_interpreted) {
  SuiteSpec s{"stack-limit", 0x57AC000000000000ULL, 150, {{Shape::Wild, 2}, {Shape::Loops, 1}}};
  s.tiers = JitTiers::All;
  s.thresholds = {1};
  s.runs = {1};
  s.tight_stack = 1.0;
  s.min_entered = 0.3;
  run_suite(s);
}

// An interrupt pending when run() starts stops the run at its first interrupt point
// (taken jump, call, block); run() again resumes there and is interrupted again at the next
// one. Native code must stop at the same points with the same state, every time.
TEST_F(JitVmDifferential, interrupted_and_resumed_runs_stop_where_the_interpreter_stops) {
  SuiteSpec s{"interrupts", 0x1E77000000000000ULL, 250, kMixed};
  s.tiers = JitTiers::All;
  s.thresholds = {1, 10};
  s.runs = {1, 2, 12};
  s.interrupt_first = true;
  s.resumes = 40;
  s.min_entered = 0.3;
  run_suite(s);
}

// The same under the tracing tier: traces must poll where the interpreter polls (the
// jumps the interpreter takes) and nowhere else, though they lay the ops out their own way.
TEST_F(JitVmDifferential, interrupted_and_resumed_runs_stop_where_the_interpreter_stops_under_tracing) {
  SuiteSpec s{"trace-interrupts", 0x7E17000000000000ULL, 400, kMixed};
  s.tiers = JitTiers::Trace;
  s.trace_thresholds = {1, 2, 5};
  s.runs = {2, 3};
  s.quiet_runs = 1;  // the first run records and compiles the traces the others are stopped in
  s.interrupt_first = true;
  s.resumes = 400;
  s.min_entered = 0.3;
  run_suite(s);
}

// VMs on several threads at once share the engine, its compile thread and the unit
// table; each must still match its own interpreted run. Threads alternate between sync and
// async compiles and run overlapping seeds, so they meet units other threads are
// compiling or have compiled.
TEST_F(JitVmDifferential, vms_on_several_threads_match_the_interpreter) {
  constexpr int kThreads = 4;
  const size_t per_thread = program_count(60);
  const uint64_t base = 0x7EAD000000000000ULL + seed_offset();
  std::mutex mu;
  std::vector<std::string> failures;
  std::atomic<uint64_t> entered_programs{0};
  const auto started = std::chrono::steady_clock::now();
  auto work = [&](int thread) {
    for (size_t k = 0; k < per_thread; ++k) {
      // Neighbouring threads share half their seeds.
      const uint64_t seed = base + (static_cast<uint64_t>(thread) / 2) * 1'000'000 + k;
      Rand r(seed);
      const Shape shape = pick_shape(r, SuiteSpec{"", 0, 0, kMixed});
      const VmProgram p = VmGen(r, shape).make();
      RunSetup plain;
      plain.prepare = vmgen::register_builtins;
      plain.runs = 1 + static_cast<int>(r.below(3));
      plain.limits.max_string = 1 << 14;
      RunSetup jitted = plain;
      JitOptions o;
      o.tiers = JitTiers::All;
      o.sync = thread % 2 == 0;
      o.strict = true;
      o.block_threshold = r.chance(0.5) ? 1 : 10;
      jitted.jit = o;
      jitted.wait_between_runs = !o.sync;
      const Observed want = observe(p.chunk, plain);
      const uint64_t before = JitCompiler::stats().block.entered;
      const Observed got = observe(p.chunk, jitted);
      if (JitCompiler::stats().block.entered > before) entered_programs.fetch_add(1);
      const std::string diff = difference(want, got);
      if (!diff.empty()) {
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back("thread " + std::to_string(thread) + ", seed " + hex(seed) + " (" +
                           vmgen::shape_name(shape) + ", " + options_text(jitted) + "): " + diff + "\n" +
                           disassemble(p.chunk));
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(work, t);
  for (std::thread& t : threads) t.join();
  JitCompiler::wait_idle();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("[ jit-vm-diff ] threads: %d x %zu programs in %.1f s, native code entered in some (%" PRIu64
              " counted; other threads' entries blur it), %zu mismatches\n",
              kThreads, per_thread, secs, entered_programs.load(), failures.size());
  for (size_t k = 0; k < failures.size() && k < kMaxReported; ++k) ADD_FAILURE() << failures[k];
  EXPECT_GT(JitCompiler::stats().block.entered, 0u);
}

// With max_memory set the VM keeps native code out (vm.hpp enable_jit: units count no
// memory, and a loop unit entered at a backedge would run an iteration past the limit):
// programs that outgrow the limit stop exactly where the interpreter stops.
TEST_F(JitVmDifferential, a_memory_limit_keeps_native_code_out_and_stops_as_interpreted) {
  SuiteSpec s{"memory-limit", 0x3E30000000000000ULL, 150, {{Shape::Loops, 2}, {Shape::Subs, 1}, {Shape::Wild, 1}}};
  s.tiers = JitTiers::All;
  s.thresholds = {1};
  s.runs = {1};
  s.tight_memory = 1.0;
  s.never_enters = true;
  run_suite(s);
}

// -- Regressions found by the suites ----------------------------------------------------------


// Found by stack-limit (seed 0x57ac000000000034), fixed by the driver interpreting when a
// unit's values might not fit: a unit that leaves with values on its exit stack pushes
// them all at once, and the driver (vm_driver.cpp enter()) failed the run when they did
// not all fit: the error named the unit's resume ip and the stack held fewer values than
// the interpreter's, which pushes one at a time and fails at the op that overflows. Each
// unit entry here leaves at the backedge with 2 values (the depth at the header differs),
// the interpreter runs the next iteration, and so on. With max_stack 7: interpreter
// Error(limit exceeded: value stack (7)) at ip 1 with 7 values on the stack; JIT the same
// message at ip 0 with 6 values.
TEST_F(JitVmDifferential, regression_a_full_value_stack_fails_at_the_op_the_interpreter_fails_at) {
  RunSetup s = sync_strict(JitTiers::Block, 1);
  s.limits.max_stack = 7;
  expect_same_as_interpreted(R"(
top:
  GetSlot 0
  GetSlot 3
  Jump top
)", s);
}

// Same cause and fix (found by stack-limit, seed 0x57ac000000000085): the slot writes a
// unit made after the overflowing push were visible. With max_stack 4 the interpreter
// stops at LoadInt 7 (ip 2) with 4 values and slot 0 = Int(4); with the JIT the run ended
// with the same error and stack but slot 0 = Int(5): the unit entered with 4 values ran
// that iteration's PreIncSlotVoid before the driver found its exit value did not fit.
TEST_F(JitVmDifferential, regression_a_full_value_stack_stops_before_later_slot_writes) {
  RunSetup s = sync_strict(JitTiers::Block, 1);
  s.limits.max_stack = 4;
  expect_same_as_interpreted(R"(
  LoadInt 0
  SetSlot 0
top:
  LoadInt 7
  PreIncSlotVoid 0
  Jump top
)", s);
}

// Found by a probe and the memory-limit suite, fixed by keeping the JIT out under
// max_memory: at a hot backedge the interpreter asks the JIT (interp.cpp jit_backedge)
// before it polls, so a loop unit used to run one more iteration before the pending
// memory-limit error (max_memory makes every backedge poll) was raised: interpreter
// Error(limit exceeded: memory (100)) at ip 6 with slot 0 = Int(1), JIT slot 0 = Int(2).
TEST_F(JitVmDifferential, regression_a_memory_limit_stops_a_loop_at_the_same_iteration) {
  RunSetup s = sync_strict(JitTiers::Block, 1);
  s.limits.max_memory = 100;
  expect_same_as_interpreted(R"(
  LoadConst "abcdefgh"
  LoadInt 20
  StringRepeat
  SetSlot 1
  LoadInt 0
  SetSlot 0
top:
  PreIncSlotVoid 0
  GetSlot 0
  LoadInt 100
  NumLt
  JumpIfTrue top
)", s, /*must_enter=*/false);
}

// Found with the memory-limit case above (same cause), fixed by polling before asking the
// JIT at a hot backedge: with an interrupt pending when run() starts, the interpreter
// stops at the first backedge (ip 4, slot 0 = Int(1)); with the JIT at threshold 1 the
// loop unit was entered there first (interp.cpp jit_backedge asked the JIT before it
// polled), ran one iteration and left at its own poll: the same error, slot 0 = Int(2).
TEST_F(JitVmDifferential, regression_a_pending_interrupt_stops_a_loop_at_the_same_iteration) {
  RunSetup s = sync_strict(JitTiers::Block, 1);
  s.interrupt_first = true;
  expect_same_as_interpreted(R"(
  LoadInt 0
  SetSlot 0
  LoadConst "x"
  SetSlot 1
top:
  PreIncSlotVoid 0
  GetSlot 0
  LoadInt 100
  NumLt
  JumpIfTrue top
)", s);
}

// Found by the interrupts suite (seeds 0x1e77000000000002, ...04, ...06), fixed by native
// code polling at every taken jump (emit_vm.cpp edge_to) and the driver polling where a
// unit left on the flag: the interpreter polls at every taken jump, forward ones included
// (interp.cpp JUMP_TO ends in POLL()), while native code polled only at backedges
// (ARCHITECTURE §9 names backedges as the interrupt points). With an interrupt pending,
// the interpreter stops at the first taken forward jump: Error(interrupted) at ip 1 with
// no slots set; the whole-chunk unit (block tier, threshold 1) ran the chunk to its end:
// Halted, slots [Int(1), Int(2)], and the interrupt stayed pending. The same happens inside loops (a forward jump over part
// of the body) and in the fork-region check that rides on the taken-jump poll.
TEST_F(JitVmDifferential, regression_a_pending_interrupt_stops_at_a_taken_forward_jump) {
  RunSetup s = sync_strict(JitTiers::Block, 1);
  s.interrupt_first = true;
  expect_same_as_interpreted(R"(
  Jump next
next:
  LoadInt 1
  SetSlot 0
  LoadInt 2
  SetSlot 1
)", s);
}

// Found by the interrupts suite once native code polled at forward jumps (seed
// 0x1e770000000000c9): a jump past the end of the chunk lands on its end in the
// interpreter (the decoder clamps targets), which reports the pending interrupt at ip 5;
// the unit left with resume_ip 9, the raw target, and the driver polled there: the same
// error at ip 9. Fixed by clamping where native code leaves (vm_driver.cpp resume_ip).
TEST_F(JitVmDifferential, regression_an_interrupt_after_a_jump_past_the_end_is_reported_at_the_end) {
  RunSetup s = sync_strict(JitTiers::Block, 1);
  s.interrupt_first = true;
  // Built directly: the assembler's verifier refuses such a target.
  expect_same_as_interpreted(chunk_of({Op::LoadInt(1), Op::SetSlot(0), Op::LoadFalse(), Op::JumpIfFalse(9), Op::Nop()}),
                             s);
}

// A host whose subshells run "forked" in this process (HostAction::ContinueForked without
// a fork): the region's end boundary ends the run, as a real child would exit there.
class InProcessForkHost : public ShellHost {
 public:
  HostAction subshell_begin(HostContext&) override { return HostAction::ContinueForked; }
  void subshell_end(HostContext& cx) override { cx.vm().raise_error("the forked child ends here"); }
};

// A forked child's region check rides on the interpreter's taken-jump poll (fork regions
// keep `poll` set). Here the loop's last iteration runs natively and its `Jump after`
// leaves the unit at `after`, outside the region: the poll after a native run must send
// it to the region's boundary (SubshellEnd), so the run ends with Error(the forked child
// ends here) at ip 9 and the parent's code (slot 1 = Int(99)) never runs.
TEST_F(JitVmDifferential, a_forked_child_never_leaves_native_code_into_the_parents_code) {
  RunSetup s = sync_strict(JitTiers::Block, 1);
  s.host = [] { return std::make_unique<InProcessForkHost>(); };
  expect_same_as_interpreted(R"(
  SubshellBegin
  LoadInt 0
  SetSlot 0
top:
  PreIncSlotVoid 0
  GetSlot 0
  LoadInt 5
  NumLt
  JumpIfTrue top
  Jump after
  SubshellEnd
after:
  LoadInt 99
  SetSlot 1
)", s);
}

// Fixed by Op::has_target() in vm_units.cpp (found by stack-limit in a long run, seed
// 0x57ac000020000004 with FUSEVM_JIT_DIFF_SEED=0x20000000, minimised): vm_units.cpp
// stays_above_entry_depth()
// follows a target only for ops flagged kBranch, and Jump is flagged kJump alone, so the
// walk stops at `Jump next` and site.max_depth stays 0. The driver's max_stack guard then
// counts only the exit stack (1 value) and enters the loop unit with 4 values although
// the iteration needs 2 more: native code pushes a 6th value past max_stack 5 unchecked.
// Interpreter: Error(limit exceeded: value stack (5)) at ip 6 (GetSlot 1) with 5 values
// and slot 6 = Int(4); JIT: the same message at ip 3 (the next iteration's LoadInt) with 5
// values and slot 6 = Int(5). (The same flag gap makes describe() call a chunk whose only
// jumps are unconditional straight-line, so the linear tier takes it.)
TEST_F(JitVmDifferential, regression_a_jump_inside_a_unit_counts_toward_its_stack_depth) {
  RunSetup s = sync_strict(JitTiers::All, 1);
  s.limits.max_stack = 5;
  expect_same_as_interpreted(R"(
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
)", s);
}

// Fixed with the one above (same flag gap, found reading vm_units.cpp for it): describe()
// sets VmSite::straight_line ("no op in the range can jump") unless an op is flagged kBranch or
// kLoop, and Jump has neither, so a chunk whose only jumps are unconditional counts as
// straight-line and the linear tier compiles it on its first run: here linear.entered is
// 1 for a chunk with a forward Jump (and `top: PreIncSlotVoid 0; Jump top`, an endless
// loop, also runs as a linear unit). Results stay equal; the tier choice does not.
TEST_F(JitVmDifferential, regression_a_chunk_with_a_jump_is_not_taken_by_the_linear_tier) {
  RunSetup s = sync_strict(JitTiers::Linear, 1);
  expect_same_as_interpreted(R"(
  LoadInt 1
  Jump skip
  LoadInt 2
skip:
  LoadInt 3
  Add
  SetSlot 0
  GetSlot 0
)", s, /*must_enter=*/false);
  EXPECT_EQ(JitCompiler::stats().linear.entered, 0u) << "the linear tier ran a chunk that jumps";
}

// -- The generator's own sanity ----------------------------------------------------------------

TEST(JitVmDifferentialGen, programs_are_deterministic_per_seed_and_terminate_in_the_interpreter) {
  size_t pure = 0, made = 0;
  for (uint64_t k = 0; k < 400; ++k) {
    for (int s = 0; s < 4; ++s) {
      Rand a(k * 7 + 1), b(k * 7 + 1);
      VmProgram x = VmGen(a, static_cast<Shape>(s)).make();
      VmProgram y = VmGen(b, static_cast<Shape>(s)).make();
      ASSERT_EQ(x.chunk, y.chunk);
      ++made;
      pure += x.pure;
      RunSetup plain;
      plain.prepare = vmgen::register_builtins;
      plain.limits.max_string = 1 << 14;
      plain.limits.fuel = 5'000'000;
      Observed o = observe(x.chunk, plain);
      ASSERT_FALSE(o.results[0].is_error() && o.results[0].error().message.find("fuel") != std::string::npos)
          << "seed " << k * 7 + 1 << " shape " << vmgen::shape_name(x.shape) << " did not end:\n"
          << disassemble(x.chunk);
      for (const Op& op : x.chunk.ops) {
        if (op.has_target()) {
          ASSERT_LE(op.target(), x.chunk.ops.size() + 2) << disassemble(x.chunk);
        }
      }
    }
  }
  EXPECT_GT(pure * 5, made) << "too few programs consist only of ops a unit may contain";
}

}  // namespace
}  // namespace fusevm_test
