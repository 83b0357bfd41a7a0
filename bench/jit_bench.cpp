// JIT benchmarks: the issue's block-tier loops run natively through the direct API, and the
// compile latency of each tier; the native C++ baselines are in native/loops_bench.cpp.
//
// Layout: loop_cases() is the table of loop programs; each way of running them (a "mode") is one
// function over a LoopCase, registered as MODE/NAME: block_direct (JitCompiler::
// try_run_block_eager) and vm_block (a VM that compiles the loop itself). vm_program_jit and
// vm_program_interp run whole bench/*.fasm programs (the recursive ones compiled functions
// are for) through a warm VM with the JIT on and off.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fusevm/fusevm.hpp"
#include "fusevm/jit.hpp"

namespace {

using fusevm::Chunk;
using fusevm::JitCompiler;
using fusevm::JitStats;
using fusevm::JitTierStats;
using Clock = std::chrono::steady_clock;

/// One loop program: a standalone chunk that sets up its own slots and leaves its result on
/// the stack, so it runs the same from any starting slot contents (and under the VM).
struct LoopCase {
  std::string name;                                   ///< benchmark name after the mode
  std::string source;                                 ///< .fasm text of the chunk
  int64_t result = 0;                                 ///< the chunk's value (top of the final stack)
  std::vector<std::pair<uint16_t, int64_t>> slots;    ///< slot values after a run
  int64_t loop_iterations = 1;                        ///< innermost-body executions per run
  /// Has ops a trace runs as call-outs (builtin 0, its argument times two, which the VMs
  /// register; ops on strings): VM modes only (vm_interp, vm_trace, vm_trace_call_outs).
  bool call_outs = false;
};

// The slot counts here are also the span sizes the direct API is given.
constexpr size_t kLoopSlots = 4;

// The head of the *_mixed loops (slots 0 = sum, 1 = i, 2 = t): up to `sum + x` where
// `call_out` pushes x, among a dozen ops of arithmetic:
//   while i < 100000 { t = ((i * 3 + 7) ^ (i >> 2)) - i; sum = sum + x ...
std::string mixed_loop(const std::string& call_out) {
  return R"(    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
loop_top:
    GetSlot 1
    LoadInt 100000
    NumLt
    JumpIfFalse loop_done
    GetSlot 1
    LoadInt 3
    Mul
    LoadInt 7
    Add
    GetSlot 1
    LoadInt 2
    Shr
    BitXor
    GetSlot 1
    Sub
    SetSlot 2
    GetSlot 0
)" + call_out;
}

// The tail of the *_mixed loops: sum = sum + x + t; i = i + 1; the result is sum.
const std::string kMixedTail = R"(
    Add
    GetSlot 2
    Add
    SetSlot 0
    PreIncSlotVoid 1
    Jump loop_top
loop_done:
    GetSlot 0
)";

// The issue's four block-tier loops with plain (unfused) slot ops, written as the matching
// bench/*.fasm programs' inner loops: sum_unfused, nested_loop, counter_loop, branch_loop.
const std::vector<LoopCase>& loop_cases() {
  static const std::vector<LoopCase> cases = {
      {"sum_1m_unfused",
       // Slots: 0 = sum, 1 = i.  sum = 0; i = 1; while i < 1000001 { sum = sum + i; i = i + 1 }
       R"(    LoadInt 0
    SetSlot 0
    LoadInt 1
    SetSlot 1
loop_top:
    GetSlot 1
    LoadInt 1000001
    NumLt
    JumpIfFalse loop_done
    GetSlot 0
    GetSlot 1
    Add
    SetSlot 0
    PreIncSlotVoid 1
    Jump loop_top
loop_done:
    GetSlot 0
)",
       500000500000, {{0, 500000500000}, {1, 1000001}}, 1000000},
      {"nested_loop",
       // Slots: 0 = sum, 1 = i, 2 = j.  100 x 100 loops adding i + j to sum.
       R"(    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
outer_top:
    GetSlot 1
    LoadInt 100
    NumLt
    JumpIfFalse outer_done
    LoadInt 0
    SetSlot 2
inner_top:
    GetSlot 2
    LoadInt 100
    NumLt
    JumpIfFalse inner_done
    GetSlot 0
    GetSlot 1
    Add
    GetSlot 2
    Add
    SetSlot 0
    PreIncSlotVoid 2
    Jump inner_top
inner_done:
    PreIncSlotVoid 1
    Jump outer_top
outer_done:
    GetSlot 0
)",
       990000, {{0, 990000}, {1, 100}, {2, 100}}, 10000},
      {"counter_loop",
       // Slots: 0 = i.  i = 0; while i < 100000 { i = i + 1 }
       R"(    LoadInt 0
    SetSlot 0
loop_top:
    GetSlot 0
    LoadInt 100000
    NumLt
    JumpIfFalse loop_done
    GetSlot 0
    LoadInt 1
    Add
    SetSlot 0
    Jump loop_top
loop_done:
    GetSlot 0
)",
       100000, {{0, 100000}}, 100000},
      {"branch_loop",
       // Slots: 0 = i, 1 = a, 2 = b.
       //   a = 0; b = 0; i = 0; while i < 100000 { if i % 2 == 0 { a = a + i } else { b = b + 1 } i = i + 1 }
       R"(    LoadInt 0
    SetSlot 1
    LoadInt 0
    SetSlot 2
    LoadInt 0
    SetSlot 0
loop_top:
    GetSlot 0
    LoadInt 100000
    NumLt
    JumpIfFalse loop_done
    GetSlot 0
    LoadInt 2
    Mod
    LoadInt 0
    NumEq
    JumpIfFalse odd
    GetSlot 1
    GetSlot 0
    Add
    SetSlot 1
    Jump next
odd:
    GetSlot 2
    LoadInt 1
    Add
    SetSlot 2
next:
    GetSlot 0
    LoadInt 1
    Add
    SetSlot 0
    Jump loop_top
loop_done:
    GetSlot 1
    GetSlot 2
    Add
)",
       2500000000, {{0, 100000}, {1, 2499950000}, {2, 50000}}, 100000},
      {"builtin_loop",
       // Slots: 0 = sum, 1 = i.  sum = 0; i = 0; while i < 100000 { sum = sum + f(i); i = i + 1 }
       R"(    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
loop_top:
    GetSlot 1
    LoadInt 100000
    NumLt
    JumpIfFalse loop_done
    GetSlot 0
    GetSlot 1
    CallBuiltin 0, 1
    Add
    SetSlot 0
    PreIncSlotVoid 1
    Jump loop_top
loop_done:
    GetSlot 0
)",
       9999900000, {{0, 9999900000}, {1, 100000}}, 100000, true},
      {"builtin_loop_mixed",
       // Slots: 0 = sum, 1 = i, 2 = t.  The builtin among a dozen ops of arithmetic:
       //   while i < 100000 { t = ((i * 3 + 7) ^ (i >> 2)) - i; sum = sum + f(t) + t; i = i + 1 }
       mixed_loop("    GetSlot 2\n    CallBuiltin 0, 1\n") + kMixedTail,
       30126851136, {{1, 100000}}, 100000, true},
      {"string_len_loop",
       // Slots: 0 = sum, 1 = i, 3 = s.  while i < 100000 { sum = sum + len(s) + i; i = i + 1 }:
       // a lap the tracing tier leaves interpreted by default (6 native ops per call-out).
       R"(    LoadConst "hello, world"
    SetSlot 3
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
loop_top:
    GetSlot 1
    LoadInt 100000
    NumLt
    JumpIfFalse loop_done
    GetSlot 0
    GetSlot 3
    StringLen
    Add
    GetSlot 1
    Add
    SetSlot 0
    PreIncSlotVoid 1
    Jump loop_top
loop_done:
    GetSlot 0
)",
       5001150000, {{1, 100000}}, 100000, true},
      {"string_len_mixed",
       // Slots: 0 = sum, 1 = i, 2 = t, 3 = s.  The string's length among a dozen ops of
       // arithmetic, as builtin_loop_mixed: t = ((i * 3 + 7) ^ (i >> 2)) - i; sum = sum + len(s) + t
       "    LoadConst \"hello, world\"\n    SetSlot 3\n" + mixed_loop("    GetSlot 3\n    StringLen\n") + kMixedTail,
       10043483712, {{1, 100000}}, 100000, true},
      {"sub_string_mixed",
       // Slots: 0 = sum, 1 = i, 2 = t.  As builtin_loop_mixed with a sub in place of the
       // builtin, which makes a string (native code cannot hold it, so the tracing tier has
       // the interpreter make the whole call): sum = sum + tag_len(t) + t, where
       // tag_len(x) = len("t" . x).
       "    Jump main\n.sub tag_len\n    SetSlot 0\n    LoadConst \"t\"\n    GetSlot 0\n    Concat\n"
       "    StringLen\n    ReturnValue\nmain:\n" +
           mixed_loop("    GetSlot 2\n    Call @tag_len, 1\n") + kMixedTail,
       10042928040, {{1, 100000}}, 100000, true},
  };
  return cases;
}

/// Assemble `source`, or say why not.
std::optional<Chunk> assemble_or_error(const std::string& source, const std::string& name, std::string& error) {
  fusevm::LoadResult loaded = fusevm::assemble(source, name);
  if (!loaded.ok()) {
    error = name + ": " + loaded.message();
    return std::nullopt;
  }
  return std::move(loaded.chunk);
}

/// Every fallback/failure reason the engine recorded for a tier, for error messages.
std::string reasons_of(const JitTierStats& tier) {
  std::string out;
  for (const auto& [reason, count] : tier.reasons) {
    out += (out.empty() ? "" : "; ") + reason + " (x" + std::to_string(count) + ")";
  }
  return out.empty() ? "no reason recorded" : out;
}

/// The slot values a case promises, checked after a run; empty when they all match.
std::string check_slots(const LoopCase& c, const std::vector<int64_t>& slots) {
  for (const auto& [slot, value] : c.slots) {
    if (slots[slot] != value) {
      return c.name + ": slot " + std::to_string(slot) + " is " + std::to_string(slots[slot]) + ", expected " +
             std::to_string(value);
    }
  }
  return {};
}

/// Laps the tracing tier left interpreted by its cost rule (TraceJitConfig::min_ops_per_call_out).
uint64_t cost_rule_refusals(const JitTierStats& tier) {
  uint64_t n = 0;
  for (const auto& [reason, count] : tier.reasons) {
    if (reason.rfind("recording aborted: too few native ops per call-out", 0) == 0) n += count;
  }
  return n;
}

/// Skip a benchmark with `error` (the loop must still be entered once, as Google Benchmark requires).
void skip(benchmark::State& state, const std::string& error) {
  state.SkipWithError(error.c_str());
  for (auto _ : state) {
  }
}

// -- mode block_direct: the block tier through JitCompiler::try_run_block_eager ------

/// Compile once (untimed, checked against the case's result and slots), then time the cached
/// native runs: each iteration is one call of the direct API, its cache lookup included.
void block_direct(benchmark::State& state, const LoopCase* c) {
  if (!JitCompiler::available()) return skip(state, "JIT unavailable: " + JitCompiler::unavailable_reason());
  std::string error;
  std::optional<Chunk> chunk = assemble_or_error(c->source, c->name, error);
  if (!chunk) return skip(state, error);
  JitCompiler jit;
  std::vector<int64_t> slots(kLoopSlots, 0);
  std::optional<int64_t> first = jit.try_run_block_eager(*chunk, slots);
  if (!first) return skip(state, c->name + ": the block tier did not run it: " + reasons_of(JitCompiler::stats().block));
  if (*first != c->result) {
    return skip(state, c->name + ": result " + std::to_string(*first) + ", expected " + std::to_string(c->result));
  }
  if (error = check_slots(*c, slots); !error.empty()) return skip(state, error);

  std::optional<int64_t> last;
  for (auto _ : state) {
    last = jit.try_run_block_eager(*chunk, slots);
    benchmark::DoNotOptimize(last);
  }
  if (last != c->result) return state.SkipWithError((c->name + ": a timed run gave a different result").c_str());
  // Time per execution of the innermost loop body.
  state.counters["per_iter"] = benchmark::Counter(static_cast<double>(c->loop_iterations),
                                                  benchmark::Counter::kIsIterationInvariantRate |
                                                      benchmark::Counter::kInvert);
}

// -- mode vm_block: the same loops through a VM that compiles them itself ------------------

/// A VM over `chunk` with `tiers` on (synchronous, strict, hot at once); `every_call_out`:
/// laps of few native ops per call-out are traced too (TraceJitConfig::min_ops_per_call_out 0).
std::unique_ptr<fusevm::VM> jit_vm(const Chunk& chunk, fusevm::JitTiers tiers = fusevm::JitTiers::Block,
                                   bool every_call_out = false) {
  auto vm = std::make_unique<fusevm::VM>(chunk);
  fusevm::JitOptions o;
  o.tiers = tiers;
  o.sync = true;
  o.strict = true;
  o.block_threshold = 1;
  o.trace.trace_threshold = 1;
  if (every_call_out) o.trace.min_ops_per_call_out = 0;
  vm->enable_jit(o);
  return vm;
}

/// One run from a reset VM; its value is the one the chunk leaves on top of the stack.
std::optional<int64_t> vm_run(fusevm::VM& vm) {
  vm.reset();
  fusevm::VMResult r = vm.run();
  if (!r.is_ok()) return std::nullopt;
  return r.value().to_int();
}

/// The VM-driven path as a program meets it: run() enters the loop's unit (vm_block) or
/// trace (vm_trace) at its first or second backedge (compiled on the first, untimed run);
/// each iteration is reset + run. JitTiers::Off (vm_interp) is the interpreter's figure for
/// the same loop, so the tiers' speed-ups are ratios from one run of this binary. A lap the
/// tracing tier leaves interpreted by its cost rule (too few native ops per call-out) runs
/// interpreted under vm_trace; vm_trace_call_outs traces it anyway (the call-outs' cost).
void vm_loop(benchmark::State& state, const LoopCase* c, fusevm::JitTiers tier, bool every_call_out) {
  const bool interpreted = tier == fusevm::JitTiers::Off;
  if (!interpreted && !JitCompiler::available()) {
    return skip(state, "JIT unavailable: " + JitCompiler::unavailable_reason());
  }
  std::string error;
  std::optional<Chunk> chunk = assemble_or_error(c->source, c->name, error);
  if (!chunk) return skip(state, error);
  // As a fresh process: no loop kept out by an earlier benchmark's refusals (nor a unit
  // it compiled).
  if (!interpreted) JitCompiler::reset();
  std::unique_ptr<fusevm::VM> vm =
      interpreted ? std::make_unique<fusevm::VM>(*chunk) : jit_vm(*chunk, tier, every_call_out);
  if (c->call_outs) {
    vm->register_builtin(0, [](fusevm::VM& v, uint8_t) {
      const int64_t x = v.stack().back().to_int();
      v.stack().pop_back();
      return fusevm::Value::Int(2 * x);
    });
  }
  auto tier_stats = [tier] {
    const fusevm::JitStats s = JitCompiler::stats();
    return tier == fusevm::JitTiers::Trace ? s.trace : s.block;
  };
  const uint64_t entered = tier_stats().entered;
  const uint64_t refused = cost_rule_refusals(tier_stats());
  std::optional<int64_t> first = vm_run(*vm);
  const bool by_cost_rule = tier == fusevm::JitTiers::Trace && cost_rule_refusals(tier_stats()) > refused;
  if (first != c->result || (!interpreted && tier_stats().entered == entered && !by_cost_rule)) {
    return skip(state, c->name + ": the VM did not run it natively with the right result: " +
                           reasons_of(tier_stats()));
  }
  std::optional<int64_t> last;
  for (auto _ : state) {
    last = vm_run(*vm);
    benchmark::DoNotOptimize(last);
  }
  if (last != c->result) return state.SkipWithError((c->name + ": a timed run gave a different result").c_str());
  state.counters["per_iter"] = benchmark::Counter(static_cast<double>(c->loop_iterations),
                                                  benchmark::Counter::kIsIterationInvariantRate |
                                                      benchmark::Counter::kInvert);
}

// -- mode trace_fresh: the reference's tracing benchmarks (spec/jit.md §7.6) ---------------

/// `counter_loop(n)` (the §4.14 shape, `i = 0; do { ++i } while (i < n)`) or
/// `loop_with_branch(n)` (the same with an always-true `if i > 0 { Nop }`).
struct TraceCase {
  std::string name;
  int64_t n;
  bool branch;
};

const std::vector<TraceCase>& trace_cases() {
  static const std::vector<TraceCase> cases = {
      {"counter_loop/1000", 1000, false}, {"counter_loop/100000", 100000, false},
      {"loop_with_branch/1000", 1000, true}, {"loop_with_branch/100000", 100000, true}};
  return cases;
}

std::string trace_case_source(const TraceCase& c) {
  const std::string branch = c.branch ? "    GetSlot 0\n    LoadInt 0\n    NumGt\n    JumpIfFalse skip\n    Nop\nskip:\n" : "";
  return "    LoadInt 0\n    SetSlot 0\ntop:\n    PreIncSlotVoid 0\n" + branch + "    GetSlot 0\n    LoadInt " +
         std::to_string(c.n) + "\n    NumLt\n    JumpIfTrue top\n    GetSlot 0\n";
}

/// As the reference measures its tracing tier (`fresh`): threshold 5, one warm-up run, then
/// each iteration is a new VM, enable_jit and run (which finds the process's trace and
/// enters it at the loop's first backedge). Not fresh: one VM, reset and run (a loop met
/// again in a running program), so the figure is the loop's and not the VM's construction.
void trace_loop(benchmark::State& state, const TraceCase* c, bool fresh) {
  if (!JitCompiler::available()) return skip(state, "JIT unavailable: " + JitCompiler::unavailable_reason());
  std::string error;
  std::optional<Chunk> chunk = assemble_or_error(trace_case_source(*c), c->name, error);
  if (!chunk) return skip(state, error);
  fusevm::JitOptions o;
  o.tiers = fusevm::JitTiers::Trace;
  o.sync = true;
  o.strict = true;
  o.trace.trace_threshold = 5;
  fusevm::VM warm(*chunk);
  warm.enable_jit(o);
  auto run_once = [&] {
    if (!fresh) return vm_run(warm);
    fusevm::VM vm(*chunk);
    vm.enable_jit(o);
    fusevm::VMResult r = vm.run();
    return r.is_ok() ? std::optional<int64_t>(r.value().to_int()) : std::nullopt;
  };
  if (run_once() != c->n) return skip(state, c->name + ": the warm-up run gave a wrong result");
  const uint64_t entered = JitCompiler::stats().trace.entered;
  if (run_once() != c->n || JitCompiler::stats().trace.entered == entered) {
    return skip(state, c->name + ": a new VM did not enter the trace: " + reasons_of(JitCompiler::stats().trace));
  }
  std::optional<int64_t> last;
  for (auto _ : state) {
    last = run_once();
    benchmark::DoNotOptimize(last);
  }
  if (last != c->n) return state.SkipWithError((c->name + ": a timed run gave a different result").c_str());
}

// -- mode vm_program: bench/*.fasm whole programs, JIT on against the interpreter ----------

/// The recursive programs compiled functions exist for (bench/compare times them against
/// LuaJIT per process, start-up and compiles included; here is the steady state).
const std::vector<std::string>& program_names() {
  static const std::vector<std::string> names = {"fib_recursive", "ackermann"};
  return names;
}

/// Each iteration is one whole run (reset + run) of bench/NAME.fasm, its output captured;
/// `jit` false runs the interpreter. The first, untimed run compiles.
void vm_program(benchmark::State& state, const std::string* name, bool jit) {
  if (jit && !JitCompiler::available()) return skip(state, "JIT unavailable: " + JitCompiler::unavailable_reason());
  const std::string path = std::string(FUSEVM_BENCH_SOURCE_DIR) + "/" + *name + ".fasm";
  fusevm::LoadResult loaded = fusevm::load_chunk_file(path);
  if (!loaded.ok()) return skip(state, path + ": " + loaded.message());
  std::unique_ptr<fusevm::VM> vm = jit ? jit_vm(*loaded.chunk) : std::make_unique<fusevm::VM>(*loaded.chunk);
  std::string out;
  vm->set_output([&out](std::string_view bytes) { out.append(bytes); });
  vm->run();
  const std::string expected = out;
  if (expected.empty()) return skip(state, *name + ": the program printed nothing");
  for (auto _ : state) {
    out.clear();
    vm->reset();
    benchmark::DoNotOptimize(vm->run());
  }
  if (out != expected) return state.SkipWithError((*name + ": a timed run printed something else").c_str());
}

// -- compile latency per tier ---------------------------------------------------------

/// Tiers whose compile latency is measured.
enum class Tier { Linear, Block };

const JitTierStats& tier_stats(const JitStats& stats, Tier tier) {
  return tier == Tier::Linear ? stats.linear : stats.block;
}

// Distinct chunks of one shape: the seed changes a constant, so each has its own op_hash and
// every call compiles. A process-wide seed keeps repetitions (--benchmark_repetitions) fresh.
int next_seed() {
  static int seed = 0;
  return ++seed;
}

/// Straight-line slot arithmetic for the linear tier: the reference's slot_mixed_100 shape,
/// GetSlot 0 then 100 x (x 3, + k, - 2), 601 ops.
std::string linear_source(int seed) {
  std::string s = "    GetSlot 0\n";
  for (int k = 0; k < 100; ++k) {
    s += "    LoadInt 3\n    Mul\n    LoadInt " + std::to_string(7 + seed) + "\n    Add\n    LoadInt 2\n    Sub\n";
  }
  return s;
}

/// The branch loop of loop_cases() with a seed-dependent bound, for the block tier.
std::string block_source(int seed) {
  auto branch = std::find_if(loop_cases().begin(), loop_cases().end(),
                             [](const LoopCase& c) { return c.name == "branch_loop"; });
  std::string s = branch->source;
  const std::string bound = "LoadInt 100000\n";
  s.replace(s.find(bound), bound.size(), "LoadInt " + std::to_string(1000 + seed) + "\n");
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n == 0 ? 0.0 : (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0);
}

/// Compile one chunk through the tier's direct API (its first call compiles it and runs it).
bool compile_and_run(JitCompiler& jit, Tier tier, const Chunk& chunk, std::vector<int64_t>& slots) {
  if (tier == Tier::Linear) return jit.try_run_linear(chunk, slots).has_value();
  return jit.try_run_block_eager(chunk, slots).has_value();
}

/// Each iteration compiles a chunk no earlier call has seen. The iteration time (manual) is the
/// first call's wall time: the hand-off to the compile thread, compiling, and one run. The
/// counters are medians: compile_ms as the plugin measures it (JitStats compile_ns) and
/// first_call_ms; the one compile before the loop absorbs the engine's own start-up.
void compile_latency(benchmark::State& state, Tier tier) {
  if (!JitCompiler::available()) return skip(state, "JIT unavailable: " + JitCompiler::unavailable_reason());
  JitCompiler jit;
  std::vector<int64_t> slots(kLoopSlots, 5);
  auto make_chunk = [&](std::string& error) {
    int seed = next_seed();
    std::string name = "compile_" + std::to_string(seed);
    return assemble_or_error(tier == Tier::Linear ? linear_source(seed) : block_source(seed), name, error);
  };
  std::string error;
  std::optional<Chunk> warm = make_chunk(error);
  if (!warm) return skip(state, error);
  if (!compile_and_run(jit, tier, *warm, slots)) {
    return skip(state, "warm-up compile failed: " + reasons_of(tier_stats(JitCompiler::stats(), tier)));
  }

  std::vector<double> compile_ms;
  std::vector<double> first_call_ms;
  for (auto _ : state) {
    std::optional<Chunk> chunk = make_chunk(error);
    if (!chunk) return state.SkipWithError(error.c_str());
    JitTierStats before = tier_stats(JitCompiler::stats(), tier);
    Clock::time_point t0 = Clock::now();
    bool ran = compile_and_run(jit, tier, *chunk, slots);
    Clock::time_point t1 = Clock::now();
    JitTierStats after = tier_stats(JitCompiler::stats(), tier);
    if (!ran || after.compiled != before.compiled + 1) {
      return state.SkipWithError(("a fresh chunk was not compiled: " + reasons_of(after)).c_str());
    }
    double seconds = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(seconds);
    first_call_ms.push_back(seconds * 1e3);
    compile_ms.push_back(static_cast<double>(after.compile_ns - before.compile_ns) / 1e6);
  }
  state.counters["compile_ms_median"] = median(compile_ms);
  state.counters["first_call_ms_median"] = median(first_call_ms);
}

/// Before any benchmark: how long loading the plugin takes, and the process's first compile
/// (the engine's one-time start-up included), as context lines of the report.
void measure_first_use() {
  Clock::time_point t0 = Clock::now();
  bool available = JitCompiler::available();
  Clock::time_point t1 = Clock::now();
  if (!available) {
    benchmark::AddCustomContext("jit", "unavailable: " + JitCompiler::unavailable_reason());
    return;
  }
  benchmark::AddCustomContext("jit_plugin_load_ms",
                              std::to_string(std::chrono::duration<double, std::milli>(t1 - t0).count()));
  std::string error;
  std::optional<Chunk> chunk = assemble_or_error("    LoadInt 40\n    LoadInt 2\n    Add\n", "first_compile", error);
  if (!chunk) return;
  JitCompiler jit;
  std::vector<int64_t> slots;
  Clock::time_point t2 = Clock::now();
  bool ran = jit.try_run_linear(*chunk, slots).has_value();
  Clock::time_point t3 = Clock::now();
  benchmark::AddCustomContext("jit_first_compile_ms",
                              ran ? std::to_string(std::chrono::duration<double, std::milli>(t3 - t2).count())
                                  : "failed: " + reasons_of(JitCompiler::stats().linear));
}

}  // namespace

int main(int argc, char** argv) {
  // Everything here measures code this process compiles: the on-disk object cache would
  // serve the compile-latency chunks of an earlier run instead.
  ::setenv("FUSEVM_JIT_CACHE", "off", 1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  measure_first_use();
  for (const LoopCase& c : loop_cases()) {
    benchmark::RegisterBenchmark(("vm_interp/" + c.name).c_str(), vm_loop, &c, fusevm::JitTiers::Off, false)
        ->Unit(benchmark::kMicrosecond);
    if (!c.call_outs) {  // the block tier leaves builtins and strings (and their loops) to the interpreter
      benchmark::RegisterBenchmark(("block_direct/" + c.name).c_str(), block_direct, &c)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("vm_block/" + c.name).c_str(), vm_loop, &c, fusevm::JitTiers::Block, false)
          ->Unit(benchmark::kMicrosecond);
    }
    benchmark::RegisterBenchmark(("vm_trace/" + c.name).c_str(), vm_loop, &c, fusevm::JitTiers::Trace, false)
        ->Unit(benchmark::kMicrosecond);
    if (c.call_outs) {
      benchmark::RegisterBenchmark(("vm_trace_call_outs/" + c.name).c_str(), vm_loop, &c, fusevm::JitTiers::Trace, true)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  for (const TraceCase& c : trace_cases()) {
    benchmark::RegisterBenchmark(("trace_fresh/" + c.name).c_str(), trace_loop, &c, true)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("trace_warm/" + c.name).c_str(), trace_loop, &c, false)->Unit(benchmark::kMicrosecond);
  }
  for (const std::string& name : program_names()) {
    benchmark::RegisterBenchmark(("vm_program_jit/" + name).c_str(), vm_program, &name, true)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("vm_program_interp/" + name).c_str(), vm_program, &name, false)
        ->Unit(benchmark::kMillisecond);
  }
  // A fixed count: every iteration adds a compiled unit that lives until the process ends.
  constexpr int kCompiles = 21;
  benchmark::RegisterBenchmark("compile_latency/linear", compile_latency, Tier::Linear)
      ->Iterations(kCompiles)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("compile_latency/block", compile_latency, Tier::Block)
      ->Iterations(kCompiles)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
