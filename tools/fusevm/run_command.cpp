// `fusevm run`: load a program, run it on the interpreter, map the outcome to an exit status.
#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <cstdio>
#include <optional>
#include <string>

#include "commands.hpp"
#include "fusevm/asm.hpp"
#include "fusevm/jit.hpp"
#include "fusevm/vm.hpp"
#include "output.hpp"
#include "run_report.hpp"
#include "trace_cache.hpp"

namespace fusevm::tool {
namespace {

using Clock = std::chrono::steady_clock;

// CPU time of this process so far, in milliseconds.
double process_cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Backtraces of runaway recursion can hold 100,000 entries; show the innermost few.
constexpr size_t kMaxBacktraceLines = 10;

// The VM a SIGINT should stop. A lock-free atomic pointer is constant-initialised (no
// start-up work) and safe to read from a signal handler.
std::atomic<VM*> g_interrupt_target{nullptr};

extern "C" void on_sigint(int) {
  if (VM* vm = g_interrupt_target.load(std::memory_order_relaxed)) vm->interrupt();
}

// While alive, the first Ctrl-C asks the VM to stop (so buffered output is flushed and the
// error names the line); SA_RESETHAND makes a second Ctrl-C kill the process as usual,
// e.g. when the program sits in a blocking ReadLine.
class InterruptOnSigint {
 public:
  explicit InterruptOnSigint(VM& vm) {
    g_interrupt_target.store(&vm);
    struct sigaction sa = {};
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    installed_ = sigaction(SIGINT, &sa, &previous_) == 0;
  }
  ~InterruptOnSigint() {
    if (installed_) sigaction(SIGINT, &previous_, nullptr);
    g_interrupt_target.store(nullptr);
  }
  InterruptOnSigint(const InterruptOnSigint&) = delete;
  InterruptOnSigint& operator=(const InterruptOnSigint&) = delete;

 private:
  struct sigaction previous_ = {};
  bool installed_ = false;
};

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// `fusevm: FILE:LINE: runtime error: TEXT`, then the callers. FILE is the chunk's source
// (the file its line numbers refer to, e.g. after `.source`), else the path that was run.
void report_runtime_error(const RuntimeError& e, const std::string& file) {
  write_stderr("fusevm: " + e.report(file, kMaxBacktraceLines));
}

int exit_status_of(const VMResult& r, const VM& vm) {
  if (r.is_error()) return kExitRuntimeError;
  if (r.is_ok() && r.value().is_status()) return r.value().as_status() & 255;
  return vm.last_status() & 255;
}

}  // namespace

int run_command(const RunOptions& options) {
  Clock::time_point t_start = Clock::now();
  LoadResult loaded = load_chunk_file(options.file);
  Clock::time_point t_loaded = Clock::now();
  if (!loaded.ok()) return report_load_failure(loaded, options.file);

  const std::optional<uint16_t> argv_index = loaded.chunk->find_name("ARGV");
  VM vm(std::move(*loaded.chunk));
  vm.set_limits(options.limits);
  if (options.jit.dump != JitDump::None) JitCompiler::set_dump(options.jit.dump);
  // Imported first: a VM takes the process's stored traces when its JIT is enabled.
  const bool trace_cache = !options.jit.trace_cache.empty() && has_tiers(options.jit.options.tiers, JitTiers::Trace);
  if (trace_cache) load_trace_cache(options.jit.trace_cache, vm.chunk());
  vm.enable_jit(options.jit.options);
  vm.enable_profiling(options.profile);
  if (argv_index) {
    ValueArray args;
    args.reserve(options.args.size());
    for (const std::string& a : options.args) args.push_back(Value::Str(a));
    std::vector<Value>& globals = vm.globals();
    if (globals.size() <= *argv_index) globals.resize(*argv_index + 1);
    globals[*argv_index] = Value::Array(std::move(args));
  }
  Clock::time_point t_compiled = Clock::now();
  const double cpu_before = process_cpu_ms();

  VMResult result = VMResult::Halted();
  {
    InterruptOnSigint guard(vm);
    result = vm.run();
  }
  vm.flush_output();
  Clock::time_point t_ran = Clock::now();
  // Background compiles may still be running; their counters (and dumps) belong to this
  // run, and exiting under one is unsafe (src/jit/engine.cpp drain_at_exit).
  if (vm.jit_options().tiers != JitTiers::Off) JitCompiler::wait_idle();
  if (trace_cache) save_trace_cache(options.jit.trace_cache, vm.chunk());
  const double cpu_run = process_cpu_ms() - cpu_before;
  const RunTimes times{ms_between(t_start, t_loaded), ms_between(t_loaded, t_compiled), ms_between(t_compiled, t_ran),
                       cpu_run};
  if (options.jit.stats == "text") write_stderr(jit_stats_text(JitCompiler::stats()));
  if (options.profile && options.jit.stats != "json") write_stderr(profile_text(*vm.profile()));

  bool result_too_long = false;
  if (result.is_error()) {
    report_runtime_error(result.error(), options.file);
  } else if (options.print_result) {
    // The program's value is printed under the run's string limit (a value that shares
    // elements can render to exponentially long text).
    try {
      const StringLimit strings(options.limits.max_string);
      std::string text = result.is_ok() ? result.value().repr() : std::string("Halted");
      text.push_back('\n');
      write_stdout(text);
    } catch (const StringLimitExceeded& e) {
      print_error(std::string("--print-result: the result is too long to print: ") + e.what());
      result_too_long = true;
    }
  }
  if (options.time) {
    // run-cpu is the figure to compare with peers timed by os.clock() (also CPU time):
    // on a busy machine wall time inflates far more.
    std::fprintf(stderr, "time: load %.3f ms, compile %.3f ms, run %.3f ms, run-cpu %.3f ms\n", times.load_ms,
                 times.compile_ms, times.run_ms, times.run_cpu_ms);
  }
  const int status = result_too_long ? kExitRuntimeError : exit_status_of(result, vm);
  if (options.jit.stats == "json") write_stderr(stats_json(status, times, JitCompiler::stats(), vm.profile()));
  return status;
}

}  // namespace fusevm::tool
