// VMState: everything a VM owns, shared by the dispatch loop, slow paths and the API.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fusevm/chunk.hpp"
#include "fusevm/host.hpp"
#include "fusevm/vm.hpp"
#include "vm/code.hpp"
#include "vm/jit_hook.hpp"

namespace fusevm {

/// Why a dispatch loop returned.
enum class ExitReason : uint8_t {
  End,        ///< fell off (or jumped past) the end of the main stream
  Halt,       ///< top-level Return (result from the stack)
  HaltValue,  ///< top-level ReturnValue (result in VMState::halt_value)
  BlockDone,  ///< a block activation reached its end
  CallDone,   ///< VM::call's sub returned to the host-return sentinel
  Error,      ///< VMState::error is set
  Switch,     ///< a trace recording started or ended: go on in the other dispatch loop
  Stopped,    ///< a call-out's ops are done: the next op lies outside them (VMState::stop_hi)
};

/// Adds the wall time of its scope to one field of a profile (a VM's run, a native call);
/// does nothing, at the cost of a branch, when `profile` is null.
class ProfileTime {
 public:
  ProfileTime(VmProfile* profile, uint64_t VmProfile::*field)
      : profile_(profile), field_(field),
        start_(profile != nullptr ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{}) {}
  ~ProfileTime() {
    if (profile_ == nullptr) return;
    profile_->*field_ += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_).count());
  }
  ProfileTime(const ProfileTime&) = delete;
  ProfileTime& operator=(const ProfileTime&) = delete;

 private:
  VmProfile* profile_;
  uint64_t VmProfile::*field_;
  std::chrono::steady_clock::time_point start_;
};

/// Tools may tune these; the interpreter reads them through VMState.
struct VMState {
  explicit VMState(Chunk c);

  Chunk chunk;                      // immutable after construction
  CodeSet code;                     // pre-decoded streams (main, blocks, host return)
  ValueStack stack;
  FrameStack frames;
  std::vector<Value> globals;
  uint64_t ip = 0;                  // next op (index into chunk.ops) when not running
  uint32_t cur_stream = 0;          // stream `ip` belongs to while running
  int32_t last_status = 0;
  bool halted = false;
  uint32_t block_depth = 0;         // active block activations (count toward call depth)
  bool running = false;

  // A child a forking host created for one region of code (HostAction::ContinueForked):
  // a taken jump that leaves [begin, end] at the region's own call depth, or a Return
  // below that depth, goes to the boundary op `end` instead, whose host call ends the
  // child. Nested when a child forks again; the innermost region is the back().
  struct ForkRegion {
    uint64_t begin = 0;
    uint64_t end = 0;          // the SubshellEnd / PipelineStage / PipelineEnd op
    uint32_t stream = 0;
    size_t call_depth = 0;     // frames.call_count() when the region was entered
  };
  std::vector<ForkRegion> fork_regions;

  Limits limits;
  uint64_t fuel_left = 0;
  int64_t memory_baseline = 0;      // heap_bytes_live() when the limit was set
  std::atomic<bool> interrupt_requested{false};
  // Set when any poll-point work is pending (interrupt or memory limit); read at every
  // backedge and call, so it must stay a single relaxed load.
  std::atomic<bool> poll{false};

  // The JIT side (null until enable_jit). jit_counters points at jit->hot_counters when
  // JIT entries are allowed for this run (no fuel limit), else it is null; the dispatch
  // loop reads it once per entry.
  std::unique_ptr<JitHook> jit;
  int32_t* jit_counters = nullptr;
  // A trace recording is armed (JitHook::on_record): the metered dispatch loop runs, and
  // shows the hook every op before it executes.
  bool recording = false;
  std::unique_ptr<VmProfile> profile;  // VM::enable_profiling: counted by the metered loop
  /// Count the op at `ip` of the main stream or a block (profiling).
  void count_op(uint16_t xop) {
    if (xop >= kNumOps) return;  // the streams' own sentinels and stubs
    VmProfile& p = *profile;
    ++p.ops[xop];
    if (p.last < kNumOps) ++p.pairs[size_t(p.last) * kNumOps + xop];
    p.last = xop;
  }
  // A call-out from native code (a trace's) runs ops [stop_lo, stop_hi) of the main
  // stream in a frame count of stop_frames: the metered dispatch loop stops before any
  // other op there (ExitReason::Stopped). stop_hi == 0: no call-out is running.
  uint64_t stop_lo = 0;
  uint64_t stop_hi = 0;
  size_t stop_frames = 0;

  std::vector<BuiltinFn> builtins;
  // Builtins running (nested calls count): while one runs, register_builtin leaves the
  // table's storage alone and starts a new table, keeping the old one here until the
  // last returns (the running function object lives in it). So calls need not copy the
  // std::function first, which cost every call a clone.
  uint32_t builtins_running = 0;
  std::vector<std::vector<BuiltinFn>> retired_builtins;
  // The VM that owns this state, set by run() and call(): a builtin that native code has
  // the core run (a trace's call-out) is handed it.
  VM* vm = nullptr;
  ExtensionHandler ext_handler;
  ExtensionWideHandler ext_wide_handler;
  std::unique_ptr<ShellHost> owned_host;
  ShellHost* host = nullptr;        // owned_host.get(), or the parent's host in a child VM

  OutputFn output;                  // empty: fd 1
  InputFn input;                    // empty: fd 0
  std::string out_buf;
  int8_t out_tty = -1;              // isatty(1), computed on first use

  bool stdout_is_tty();

  std::unique_ptr<RuntimeError> error;   // set with ExitReason::Error
  std::string pending_error;             // raise_error() from a call-out
  bool has_pending_error = false;
  Value halt_value;                      // result of a top-level ReturnValue
  ExitReason exit_reason = ExitReason::End;  // with OpStatus::Exit

  void flush_output();
  void write_output(std::string_view bytes) {
    out_buf.append(bytes);
    if (out_buf.size() >= 65536) flush_output();
  }
  void refresh_poll() {
    poll.store(interrupt_requested.load(std::memory_order_relaxed) || limits.max_memory != 0 ||
                   !fork_regions.empty(),
               std::memory_order_relaxed);
  }
  /// True when one more frame or block activation would pass max_call_depth (frames and
  /// active blocks count alike).
  bool call_depth_full() const { return frames.size() + block_depth >= limits.max_call_depth; }
  /// Work at an interrupt point once `poll` is set: a pending interrupt or a memory-limit
  /// breach sets the error (at `at_ip`) and returns false; a jump out of a fork region
  /// moves `ip` to the region's boundary op (the caller re-reads it).
  bool poll_slow(uint64_t at_ip);
  /// After a Return: if it left the innermost fork region (below its call depth), replace
  /// the return target (stream, ip) with the region's boundary op.
  void keep_return_in_fork_region(uint32_t& stream, uint64_t& ip) const {
    if (fork_regions.empty() || frames.call_count() >= fork_regions.back().call_depth) return;
    stream = fork_regions.back().stream;
    ip = fork_regions.back().end;
  }
  /// Build a RuntimeError at `ip` with a backtrace of the frame stack.
  void set_error(std::string message, uint64_t at_ip);
  /// "limit exceeded: <name> (<value>)".
  void set_limit_error(const char* name, uint64_t value, uint64_t at_ip);
  /// Reset to the state right after construction (keeps chunk, code, handlers, host, limits).
  void reset();
};

}  // namespace fusevm
