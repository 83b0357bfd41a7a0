// The interface through which the interpreter consults the JIT (ARCHITECTURE §7): the VM
// knows nothing of units, plugins or LLVM, only these questions at its trigger points.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "fusevm/vm.hpp"

namespace fusevm {

struct VMState;

/// What a JIT hook did at a trigger point.
enum class JitOutcome : uint8_t {
  Interpret,  ///< nothing: the interpreter carries on where it was
  Ran,        ///< native code ran: st.ip, the stack and the frame's slots moved on
  Error,      ///< the run ends: st.error is set (a strict-mode fallback, or the poll
              ///< after a unit left at a taken jump found an interrupt)
  Record,     ///< on_backedge armed a trace recording (st.recording): the interpreter
              ///< goes on at st.ip showing each op to on_record
};

/// The JIT side of one VM. Called on the VM's thread only, with st synced (stack top,
/// ip, stream) and the main stream current.
class JitHook {
 public:
  virtual ~JitHook() = default;
  /// run() is starting at ip 0 with the main frame on top.
  virtual JitOutcome on_run_start(VMState& st) = 0;
  /// A backward jump from op `from` to `st.ip` (both in the main stream) was taken and
  /// the target's counter in `hot_counters` reached zero. The hook resets the counter to
  /// a negative value: how many more backedges until it is asked again.
  virtual JitOutcome on_backedge(VMState& st, uint64_t from) = 0;
  /// A Call at `st.ip` (main stream) passed its poll and depth checks and its counter in
  /// `call_counter` reached zero; nothing of the call has happened yet. The hook resets
  /// the counter. Ran: the call is done (st.ip after it, result pushed) or native code
  /// bailed out inside it (its frames are on the frame stack, st.ip where to go on).
  virtual JitOutcome on_call(VMState& st) = 0;
  /// While st.recording: the op at st.ip (stream st.cur_stream) is about to execute.
  /// Returns false when the recording is over (closed or aborted; st.recording is then
  /// false) and the op has not been recorded.
  virtual bool on_record(VMState& st) = 0;
  /// The run ended (or an embedder's call returned) with a recording still armed: it is
  /// dropped without counting against its loop (the loop may be entered again).
  virtual void drop_recording() = 0;
  /// The options in force.
  virtual const JitOptions& options() const = 0;

  /// Sized with size_counters(). For op `ip` of the main stream (or one past its end):
  /// counters()[ip] counts taken backward jumps to it, counters()[-1 - ip] Calls at it.
  /// The interpreter adds one and asks the hook when a counter reaches zero. One array,
  /// so the dispatch loop keeps a single pointer for both.
  std::vector<int32_t> hot_counters;
  void size_counters(size_t num_ops, int32_t backedge_start, int32_t call_start) {
    hot_counters.assign(2 * (num_ops + 1), backedge_start);
    std::fill(hot_counters.begin(), hot_counters.begin() + static_cast<ptrdiff_t>(num_ops + 1), call_start);
  }
  int32_t* counters() { return hot_counters.data() + hot_counters.size() / 2; }
  int32_t& backedge_counter(uint64_t ip) { return counters()[ip]; }
  int32_t& call_counter(uint64_t ip) { return counters()[-1 - static_cast<ptrdiff_t>(ip)]; }
};

/// A hook for `chunk` (defined by the JIT core, src/jit).
std::unique_ptr<JitHook> make_jit_hook(const Chunk& chunk, const JitOptions& options);

}  // namespace fusevm
