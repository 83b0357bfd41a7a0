// The JIT tiers differentially against the interpreter: each input picks one of the
// differential suites (the tracing tier alone, with subs, every tier,
// the block tier, interrupts) and a seed, which make a generated program and its JIT
// settings exactly as in jit_vm_differential_test.cpp (jit_vm_diff_suite.hpp); the program
// runs interpreted and jitted, and anything observable that differs is a crash. The
// plugin is the Release build's (FUSEVM_JIT_PLUGIN, set by scripts/fuzz): the core's JIT
// driver, trace store and call-outs run instrumented here, native code as compiled.
//
// The seed is a hash of the whole input, so libFuzzer's mutations give new programs and
// its coverage feedback keeps the seeds that reach new code in the VM and the JIT driver.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "jit_vm_diff_suite.hpp"

namespace {

using namespace fusevm_test::vmdiff;
using fusevm::JitCompiler;
using fusevm::JitTiers;

std::vector<SuiteSpec> suites() {
  std::vector<SuiteSpec> out;
  SuiteSpec trace{"trace", 0, 0, kMixed};
  trace.tiers = JitTiers::Trace;
  trace.trace_thresholds = {1, 2, 5, 13, 50};
  trace.runs = {1, 2, 5};
  out.push_back(trace);
  SuiteSpec subs{"trace-subs", 0, 0, {{Shape::Subs, 1}}};
  subs.tiers = JitTiers::Trace;
  subs.trace_thresholds = {1, 2, 5, 13};
  subs.runs = {1, 2};
  out.push_back(subs);
  SuiteSpec all{"all", 0, 0, kMixed};
  all.tiers = JitTiers::All;
  all.thresholds = {1, 10};
  all.trace_thresholds = {1, 5, 50};
  all.runs = {1, 3};
  all.retier = 0.2;
  all.move = 0.2;
  out.push_back(all);
  SuiteSpec block{"block", 0, 0, kMixed};
  block.tiers = JitTiers::Linear | JitTiers::Block;
  block.thresholds = {1, 10};
  block.runs = {1, 3};
  block.tight_stack = 0.1;
  out.push_back(block);
  SuiteSpec interrupted{"interrupts", 0, 0, kMixed};
  interrupted.tiers = JitTiers::All;
  interrupted.thresholds = {1};
  interrupted.trace_thresholds = {1, 2};
  interrupted.runs = {3};
  interrupted.interrupt_first = true;
  interrupted.quiet_runs = 2;
  interrupted.resumes = 3;
  out.push_back(interrupted);
  return out;
}

uint64_t fnv1a(const uint8_t* data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t k = 0; k < size; ++k) h = (h ^ data[k]) * 0x100000001b3ULL;
  return h;
}

// Inputs between engine resets: compiled code and traces of earlier programs pile up.
constexpr uint64_t kResetEvery = 100;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // FUSEVM_JIT_CACHE=off: every unit is compiled, none comes from a disk cache.
  setenv("FUSEVM_JIT_CACHE", "off", 0);
  if (!JitCompiler::available()) {
    std::fprintf(stderr, "fuzz_jit: the JIT plugin is unavailable: %s\n", JitCompiler::unavailable_reason().c_str());
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<SuiteSpec> kSuites = suites();
  static uint64_t inputs = 0;
  if (size == 0) return 0;
  if (++inputs % kResetEvery == 0) {
    JitCompiler::wait_idle();
    JitCompiler::reset();
  }
  const SuiteSpec& spec = kSuites[data[0] % kSuites.size()];
  const uint64_t seed = fnv1a(data, size);
  const Trial t = make_trial(spec, seed);
  const Observed want = observe(t.program.chunk, t.plain);
  const Observed got = observe(t.program.chunk, t.jitted);
  const std::string diff = difference(want, got);
  if (!diff.empty()) {
    fusevm_fuzz::broken("the JIT differs from the interpreter",
                        std::string(spec.name) + " seed " + hex(seed) + " (" + options_text(t.jitted) + "): " + diff +
                            "\ninterpreter:\n" + state_text(want) + "jit:\n" + state_text(got) + "program:\n" +
                            fusevm::disassemble(t.program.chunk));
  }
  return 0;
}
