// The differential suites' programs and settings, shared by the VM-driven JIT
// differential test (jit_vm_differential_test.cpp) and the JIT differential fuzzer
// (tests/fuzz/fuzz_jit.cpp): a suite is a mix of program shapes and JIT settings, and a
// seed makes one trial of it — a generated program and the two ways to run it.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "jit_vm_diff_harness.hpp"
#include "jit_vm_program_gen.hpp"

namespace fusevm_test::vmdiff {

using jitgen::Rand;
using vmgen::Shape;
using vmgen::VmGen;
using vmgen::VmProgram;

/// One differential suite: which programs, and how the JIT side runs them.
struct SuiteSpec {
  const char* name;
  uint64_t base_seed;
  size_t default_count;
  std::vector<std::pair<Shape, int>> shapes;  // shape, weight
  JitTiers tiers = JitTiers::All;
  bool sync = true;
  std::vector<uint32_t> thresholds{10};  // block_threshold, drawn per program
  std::vector<uint32_t> trace_thresholds{50};  // TraceJitConfig::trace_threshold, drawn per program
  std::vector<int> runs{1};   // drawn per program
  bool wait_between_runs = false;
  double tight_stack = 0.0;   // share of programs run with a small max_stack
  double tight_memory = 0.0;  // share of programs run with a small max_memory (polls)
  double min_entered = 0.5;   // share of programs that must enter native code
  bool second_vm = false;     // a second jitted VM runs it too, finding the units compiled
  // The traces the run compiled go through the metadata file format, the engine is reset
  // (a new process), they are imported, and a new VM runs the program in them.
  bool reimport = false;
  bool never_enters = false;  // the setup keeps native code out (vm.hpp): no entry at all
  bool interrupt_first = false;  // every run() starts with an interrupt pending
  int quiet_runs = 0;            // ... but the first this many
  int resumes = 0;               // run() again after an interrupted run, this many times
  double retier = 0.0;           // share of programs whose later runs change the JIT options
  double move = 0.0;             // share of programs whose VM is moved between runs
};

/// Every shape, loops most often.
inline const std::vector<std::pair<Shape, int>> kMixed = {
    {Shape::Loops, 6}, {Shape::Subs, 2}, {Shape::Straight, 1}, {Shape::Wild, 1}};

/// A shape drawn by the suite's weights.
inline Shape pick_shape(Rand& r, const SuiteSpec& spec) {
  int total = 0;
  for (const auto& [s, w] : spec.shapes) total += w;
  int x = static_cast<int>(r.below(static_cast<size_t>(total)));
  for (const auto& [s, w] : spec.shapes) {
    if (x < w) return s;
    x -= w;
  }
  return spec.shapes.front().first;
}

/// One program of a suite and the two ways it runs.
struct Trial {
  VmProgram program;  ///< its shape drawn by the suite's weights
  RunSetup plain;   ///< interpreted
  RunSetup jitted;  ///< the same, with the suite's JIT options
};

/// The trial `seed` makes for `spec` (the same for a given seed, on every machine).
inline Trial make_trial(const SuiteSpec& spec, uint64_t seed) {
  Rand r(seed);
  Trial t;
  t.program = VmGen(r, pick_shape(r, spec)).make();
  const VmProgram& p = t.program;
  RunSetup& plain = t.plain;
  RunSetup& jitted = t.jitted;
  plain.prepare = vmgen::register_builtins;
  plain.runs = spec.runs[r.below(spec.runs.size())];
  if (r.chance(spec.tight_stack)) plain.limits.max_stack = 4 + r.below(40);
  if (r.chance(spec.tight_memory)) plain.limits.max_memory = 1 + r.below(200);
  plain.limits.max_string = 1 << 14;  // programs may double strings in loops
  // Subs are called again through VM::call, with arguments of every scalar kind.
  for (const VmProgram::SubEntry& sub : p.subs) {
    if (!r.chance(0.5)) continue;
    std::vector<Value> args;
    for (uint8_t a = 0; a < sub.argc; ++a) {
      if (sub.recursive) args.push_back(Value::Int(r.range(0, 3)));
      else if (r.chance(0.4)) args.push_back(Value::Int(r.any_int()));
      else if (r.chance(0.5)) args.push_back(Value::Float(r.any_float()));
      else args.push_back(r.chance(0.5) ? Value::Bool(r.chance(0.5)) : Value());
    }
    plain.calls.emplace_back(sub.name, std::move(args));
  }
  jitted = plain;
  JitOptions o;
  o.tiers = spec.tiers;
  o.sync = spec.sync;
  o.strict = true;
  o.block_threshold = spec.thresholds[r.below(spec.thresholds.size())];
  o.trace.trace_threshold = spec.trace_thresholds[r.below(spec.trace_thresholds.size())];
  if (r.chance(0.3)) o.trace.max_side_exits = 1 + static_cast<uint32_t>(r.below(4));  // give traces up often
  jitted.jit = o;
  jitted.wait_between_runs = spec.wait_between_runs;
  if (r.chance(spec.retier)) {
    // Later runs switch tiers, thresholds or the JIT itself off and on again.
    static const JitTiers kTiers[] = {JitTiers::Off, JitTiers::Linear, JitTiers::Block, JitTiers::Trace,
                                      JitTiers::All};
    for (int n = 0; n < 3; ++n) {
      JitOptions x = o;
      x.tiers = kTiers[r.below(5)];
      x.block_threshold = r.chance(0.5) ? 1 : 10;
      jitted.retier.push_back(x);
    }
  }
  jitted.move_between_runs = r.chance(spec.move);
  plain.interrupt_first = jitted.interrupt_first = spec.interrupt_first;
  plain.quiet_runs = jitted.quiet_runs = spec.quiet_runs;
  plain.resumes = jitted.resumes = spec.resumes;
  return t;
}

}  // namespace fusevm_test::vmdiff
