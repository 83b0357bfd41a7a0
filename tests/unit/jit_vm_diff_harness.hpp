// The harness of the VM-driven JIT differential tests: runs a program interpreted or with
// vm.enable_jit, captures everything observable (ARCHITECTURE §9 "Equality in differential
// tests"), compares two captures exactly and minimises a program that differs.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "jit_test_util.hpp"

namespace fusevm_test::vmdiff {

// -- Settings -----------------------------------------------------------------------------

/// Candidate programs tried per minimisation.
inline constexpr size_t kMinimiseBudget = 1500;

/// FUSEVM_JIT_DIFF_PROGRAMS, or `fallback` when unset or not a positive number.
inline size_t program_count(size_t fallback) {
  const char* s = std::getenv("FUSEVM_JIT_DIFF_PROGRAMS");
  if (s == nullptr || *s == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(s, &end, 10);
  return end != nullptr && *end == '\0' && n > 0 ? static_cast<size_t>(n) : fallback;
}

/// FUSEVM_JIT_DIFF_SEED (decimal or 0x hex), added to every suite's base seed; 0 when unset.
inline uint64_t seed_offset() {
  const char* s = std::getenv("FUSEVM_JIT_DIFF_SEED");
  if (s == nullptr || *s == '\0') return 0;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(s, &end, 0);
  return end != nullptr && *end == '\0' ? n : 0;
}

/// `x` as 0x hex.
inline std::string hex(uint64_t x) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, x);
  return buf;
}

// -- Observing a program ----------------------------------------------------------------------

/// How one side runs a program.
struct RunSetup {
  std::optional<JitOptions> jit;  ///< nullopt: interpreted
  int runs = 1;                   ///< run() calls, with vm.reset() between
  Limits limits;
  bool wait_between_runs = false;  ///< JitCompiler::wait_idle() before each later run
  uint64_t watchdog_ms = 0;        ///< interrupt a run that takes longer (minimising)
  bool interrupt_first = false;    ///< vm.interrupt() before each run: it stops at the first poll
  int quiet_runs = 0;              ///< ... except the first this many runs (they warm the JIT up)
  int resumes = 0;                 ///< run() again (interrupted first) after an interrupted run
  /// VM::call after the runs: sub name and arguments.
  std::vector<std::pair<std::string, std::vector<Value>>> calls;
  /// Makes the VM's shell host (none when empty).
  std::function<std::unique_ptr<ShellHost>()> host;
  /// Before run k (k >= 1), enable_jit(retier[k % size]) instead of keeping the options.
  std::vector<JitOptions> retier;
  bool move_between_runs = false;  ///< the VM is moved into a new object before each later run
  ExtensionHandler extension;      ///< the VM's handler of Extended ops (none when empty)
  /// Called on each new VM before enable_jit (registers builtins; state they keep must be
  /// made inside, so both sides start alike).
  std::function<void(VM&)> prepare;
};

/// Everything observable after the runs (each run's result and output, the final state).
struct Observed {
  std::vector<VMResult> results;
  std::vector<std::string> outputs;
  std::vector<Value> globals, stack;
  std::vector<std::vector<Value>> slots;  // per frame, trailing Undef dropped
  int32_t status = 0;
  bool halted = false;
};

/// `slots` without trailing Undef: a read past the end gives Undef either way, so those
/// are not observable.
inline std::vector<Value> trimmed(std::vector<Value> slots) {
  while (!slots.empty() && slots.back().is_undef()) slots.pop_back();
  return slots;
}

/// Interrupts the VM when `ms` pass before it is destroyed (a JIT bug may turn a loop
/// endless). retarget() follows the VM when it moves.
class Watchdog {
 public:
  /// Watches `vm`; `ms` 0 watches nothing.
  Watchdog(VM* vm, uint64_t ms) : vm_(vm) {
    if (ms == 0) return;
    thread_ = std::thread([this, ms] {
      std::unique_lock<std::mutex> lock(mu_);
      if (!cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopped_; })) vm_->interrupt();
    });
  }
  /// The VM moved to `vm`.
  void retarget(VM* vm) {
    std::lock_guard<std::mutex> lock(mu_);
    vm_ = vm;
  }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  VM* vm_;
  std::thread thread_;
};

/// Runs `chunk` as `setup` says and captures what is observable.
inline Observed observe(const Chunk& chunk, const RunSetup& setup) {
  Observed o;
  auto owner = std::make_unique<VM>(chunk);
  std::string out;
  owner->set_output([&out](std::string_view b) { out.append(b); });
  owner->set_limits(setup.limits);
  if (setup.host) owner->set_shell_host(setup.host());
  if (setup.extension) owner->set_extension_handler(setup.extension);
  if (setup.prepare) setup.prepare(*owner);
  if (setup.jit) owner->enable_jit(*setup.jit);
  {
    Watchdog dog(owner.get(), setup.watchdog_ms);
    for (int k = 0; k < setup.runs; ++k) {
      if (k > 0) {
        if (setup.move_between_runs) {
          auto moved = std::make_unique<VM>(std::move(*owner));
          dog.retarget(moved.get());
          owner = std::move(moved);
        }
        owner->reset();
        if (!setup.retier.empty()) owner->enable_jit(setup.retier[static_cast<size_t>(k) % setup.retier.size()]);
        if (setup.wait_between_runs) JitCompiler::wait_idle();
      }
      VM& vm = *owner;
      out.clear();
      const bool interrupting = setup.interrupt_first && k >= setup.quiet_runs;
      if (interrupting) vm.interrupt();
      o.results.push_back(vm.run());
      vm.flush_output();
      o.outputs.push_back(out);
      // An interrupted run resumes where it stopped; each resumption is interrupted again.
      for (int n = 0; n < setup.resumes && o.results.back().is_error() &&
                      o.results.back().error().message == "interrupted";
           ++n) {
        out.clear();
        if (interrupting) vm.interrupt();
        o.results.push_back(vm.run());
        vm.flush_output();
        o.outputs.push_back(out);
      }
    }
    for (const auto& [sub, args] : setup.calls) {
      out.clear();
      VM& vm = *owner;
      o.results.push_back(vm.call(sub, args));
      vm.flush_output();
      o.outputs.push_back(out);
    }
  }
  VM& vm = *owner;
  o.globals = vm.globals();
  for (size_t k = 0; k < vm.stack().size(); ++k) o.stack.push_back(vm.stack()[k]);
  for (Frame& f : vm.frames()) o.slots.push_back(trimmed(f.slots));
  o.status = vm.last_status();
  o.halted = vm.is_halted();
  return o;
}

/// Same outcome: identical values, or the same error message, ip, line and backtrace ips.
inline bool same_result(const VMResult& a, const VMResult& b) {
  if (a.kind() != b.kind()) return false;
  if (a.is_ok()) return identical(a.value(), b.value());
  if (a.is_error()) {
    const RuntimeError& x = a.error();
    const RuntimeError& y = b.error();
    if (x.message != y.message || x.ip != y.ip || x.line != y.line) return false;
    if (x.backtrace.size() != y.backtrace.size()) return false;
    for (size_t k = 0; k < x.backtrace.size(); ++k) {
      if (x.backtrace[k].ip != y.backtrace[k].ip) return false;
    }
  }
  return true;
}

/// repr() plus the ip of an error.
inline std::string result_text(const VMResult& r) {
  if (!r.is_error()) return r.repr();
  return r.repr() + " at ip " + std::to_string(r.error().ip);
}

/// Same length and identical() elements.
inline bool same_values(const std::vector<Value>& x, const std::vector<Value>& y) {
  if (x.size() != y.size()) return false;
  for (size_t k = 0; k < x.size(); ++k) {
    if (!identical(x[k], y[k])) return false;
  }
  return true;
}

/// "[repr, ...]".
inline std::string values_text(const std::vector<Value>& v) {
  std::string s = "[";
  for (size_t k = 0; k < v.size(); ++k) s += (k ? ", " : "") + v[k].repr();
  return s + "]";
}

/// `s` in quotes with newlines as \\n.
inline std::string quoted(const std::string& s) {
  std::string q = "\"";
  for (char c : s) q += c == '\n' ? std::string("\\n") : std::string(1, c);
  return q + "\"";
}

/// "" when `got` equals `want` exactly, else the first difference.
inline std::string difference(const Observed& want, const Observed& got) {
  for (size_t k = 0; k < want.results.size() && k < got.results.size(); ++k) {
    if (!same_result(want.results[k], got.results[k])) {
      return "run " + std::to_string(k + 1) + " result: interpreter " + result_text(want.results[k]) + ", jit " +
             result_text(got.results[k]);
    }
    if (want.outputs[k] != got.outputs[k]) {
      return "run " + std::to_string(k + 1) + " output: interpreter " + quoted(want.outputs[k]) + ", jit " +
             quoted(got.outputs[k]);
    }
  }
  if (want.status != got.status) {
    return "last status: interpreter " + std::to_string(want.status) + ", jit " + std::to_string(got.status);
  }
  if (want.halted != got.halted) return "halted flag differs";
  if (!same_values(want.globals, got.globals)) {
    return "globals: interpreter " + values_text(want.globals) + ", jit " + values_text(got.globals);
  }
  if (!same_values(want.stack, got.stack)) {
    return "stack: interpreter " + values_text(want.stack) + ", jit " + values_text(got.stack);
  }
  if (want.slots.size() != got.slots.size()) {
    return "frame count: interpreter " + std::to_string(want.slots.size()) + ", jit " + std::to_string(got.slots.size());
  }
  for (size_t f = 0; f < want.slots.size(); ++f) {
    if (!same_values(want.slots[f], got.slots[f])) {
      return "slots of frame " + std::to_string(f) + ": interpreter " + values_text(want.slots[f]) + ", jit " +
             values_text(got.slots[f]);
    }
  }
  return "";
}

/// Every run's result and output and the final state, one item per line.
inline std::string state_text(const Observed& o) {
  std::string s;
  for (size_t k = 0; k < o.results.size(); ++k) {
    s += "  run " + std::to_string(k + 1) + ": " + result_text(o.results[k]) + ", output " + quoted(o.outputs[k]) + "\n";
  }
  s += "  status " + std::to_string(o.status) + ", globals " + values_text(o.globals) + ", stack " +
       values_text(o.stack) + "\n";
  for (size_t f = 0; f < o.slots.size(); ++f) s += "  frame " + std::to_string(f) + " slots " + values_text(o.slots[f]) + "\n";
  return s;
}

/// The VM::call list of `s`, for messages.
inline std::string calls_text(const RunSetup& s) {
  std::string t;
  for (const auto& [sub, args] : s.calls) t += ", then VM::call(" + sub + ", " + values_text(args) + ")";
  return t;
}

/// JitOptions, for messages.
inline std::string jit_text(const JitOptions& o) {
  const char* tiers = o.tiers == JitTiers::Off      ? "Off"
                      : o.tiers == JitTiers::Linear ? "Linear"
                      : o.tiers == JitTiers::Block  ? "Block"
                      : o.tiers == JitTiers::Trace  ? "Trace"
                                                    : "All";
  return std::string("tiers ") + tiers + (o.sync ? ", sync" : ", async") + (o.strict ? ", strict" : "") +
         ", block_threshold " + std::to_string(o.block_threshold) + ", trace_threshold " +
         std::to_string(o.trace.trace_threshold) + ", max_side_exits " + std::to_string(o.trace.max_side_exits);
}

/// How the JIT side runs, for messages.
inline std::string options_text(const RunSetup& s) {
  if (!s.jit) return "interpreted";
  std::string retier;
  for (const JitOptions& o : s.retier) retier += (retier.empty() ? "" : " / ") + jit_text(o);
  return jit_text(*s.jit) + ", " + std::to_string(s.runs) + " run(s)" +
         (retier.empty() ? "" : ", later runs re-enabled as: " + retier) +
         (s.move_between_runs ? ", VM moved between runs" : "") +
         (s.interrupt_first ? ", interrupted first, " + std::to_string(s.resumes) + " resumes" : "") +
         (s.limits.max_stack != Limits{}.max_stack ? ", max_stack " + std::to_string(s.limits.max_stack) : "") +
         (s.limits.max_memory != 0 ? ", max_memory " + std::to_string(s.limits.max_memory) : "") +
         calls_text(s);
}

/// Native entries of both tiers so far (since the last JitCompiler::reset()).
inline uint64_t entered_now() {
  const JitStats s = JitCompiler::stats();
  return s.linear.entered + s.block.entered + s.trace.entered;
}

// -- Minimising -----------------------------------------------------------------------------

/// `chunk` without op `i`: jump targets and sub entries after it move down by one.
inline Chunk without_op(const Chunk& chunk, size_t i) {
  Chunk c = chunk;
  c.ops.erase(c.ops.begin() + static_cast<std::ptrdiff_t>(i));
  c.lines.erase(c.lines.begin() + static_cast<std::ptrdiff_t>(i));
  for (Op& op : c.ops) {
    if (op.has_target() && op.target() > i) op.set_target(op.target() - 1);
  }
  for (auto& [name, entry] : c.sub_entries) {
    if (entry > i) --entry;
  }
  c.op_hash = c.compute_op_hash();
  return c;
}

/// True if `chunk` is a program the interpreter finishes (within fuel) and the JIT side
/// still runs differently, without being interrupted.
inline bool still_differs(const Chunk& chunk, const RunSetup& jitted) {
  RunSetup plain = jitted;
  plain.jit.reset();
  plain.wait_between_runs = false;
  plain.limits.fuel = 2'000'000;
  Observed want = observe(chunk, plain);
  for (const VMResult& r : want.results) {
    if (r.is_error() && r.error().message.find("fuel") != std::string::npos) return false;
  }
  plain.limits.fuel = 0;
  want = observe(chunk, plain);
  RunSetup j = jitted;
  j.watchdog_ms = 3000;
  Observed got = observe(chunk, j);
  for (const VMResult& r : got.results) {
    if (r.is_error() && r.error().message.find("interrupted") != std::string::npos) return false;
  }
  if (jitted.wait_between_runs) JitCompiler::wait_idle();
  return !difference(want, got).empty();
}

/// Deletes ops one at a time while the program still differs.
inline Chunk minimised(Chunk chunk, const RunSetup& jitted) {
  size_t tried = 0;
  for (bool changed = true; changed && tried < kMinimiseBudget;) {
    changed = false;
    for (size_t i = chunk.ops.size(); i-- > 0 && tried < kMinimiseBudget;) {
      if (i >= chunk.ops.size()) continue;
      Chunk candidate = without_op(chunk, i);
      ++tried;
      if (still_differs(candidate, jitted)) {
        chunk = std::move(candidate);
        changed = true;
      }
    }
  }
  return chunk;
}

/// Options for a synchronous, strict JIT side.
inline RunSetup sync_strict(JitTiers tiers, uint32_t threshold) {
  RunSetup s;
  JitOptions o;
  o.tiers = tiers;
  o.sync = true;
  o.strict = true;
  o.block_threshold = threshold;
  // Every lap with call-outs is traced, however few native ops it has: the suites test
  // call-outs, not the cost rule (jit_trace_values_test.cpp tests that).
  o.trace.min_ops_per_call_out = 0;
  s.jit = o;
  return s;
}

/// The tracing tier alone, synchronous and strict, recording after `threshold` backedges.
inline RunSetup traced(uint32_t threshold = 50, int runs = 1) {
  RunSetup s = sync_strict(JitTiers::Trace, 10);
  s.jit->trace.trace_threshold = threshold;
  s.runs = runs;
  return s;
}

/// The tracing tier's counters.
inline JitTierStats trace_stats() { return JitCompiler::stats().trace; }

/// How often reasons starting with `prefix` were counted.
inline uint64_t reason_count(const JitTierStats& t, const std::string& prefix) {
  uint64_t n = 0;
  for (const auto& [reason, count] : t.reasons) {
    if (reason.rfind(prefix, 0) == 0) n += count;
  }
  return n;
}

/// `text` assembled, or a test failure and an empty chunk.
inline Chunk assembled_or_fail(const std::string& text) {
  LoadResult r = assemble(text, "test.fasm");
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? std::move(*r.chunk) : Chunk{};
}

// Runs the .fasm `text` interpreted and with the JIT as `jitted` says; everything must be
// identical and, unless `must_enter` is false, native code must have been entered.
// FUSEVM_JIT_DIFF_SHOW=1 prints both states even when they agree.
inline void expect_same_as_interpreted(const Chunk& chunk, RunSetup jitted, bool must_enter = true) {
  RunSetup plain = jitted;
  plain.jit.reset();
  const Observed want = observe(chunk, plain);
  const uint64_t before = entered_now();
  const Observed got = observe(chunk, jitted);
  JitCompiler::wait_idle();
  if (must_enter) {
    EXPECT_GT(entered_now(), before) << "native code was never entered";
  }
  const std::string diff = difference(want, got);
  if (std::getenv("FUSEVM_JIT_DIFF_SHOW")) {
    std::printf("interpreter:\n%sjit (%llu entries):\n%s", state_text(want).c_str(),
                static_cast<unsigned long long>(entered_now() - before), state_text(got).c_str());
  }
  EXPECT_EQ(diff, "") << "interpreter:\n" << state_text(want) << "jit:\n" << state_text(got) << disassemble(chunk);
}

/// The same for a program in .fasm text.
inline void expect_same_as_interpreted(const std::string& text, RunSetup jitted, bool must_enter = true) {
  LoadResult loaded = assemble(text, "regression.fasm");
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  expect_same_as_interpreted(*loaded.chunk, std::move(jitted), must_enter);
}

}  // namespace fusevm_test::vmdiff
