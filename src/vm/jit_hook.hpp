// The interface through which the interpreter consults the JIT (ARCHITECTURE §7): the VM
// knows nothing of units, plugins or LLVM, only these two questions at its trigger points.
#pragma once

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
  Error,      ///< the run ends: st.error is set (a strict-mode fallback)
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
  /// The options in force.
  virtual const JitOptions& options() const = 0;

  /// One counter per op of the main stream (and one past the end): the interpreter adds
  /// one at every taken backward jump to that op and calls on_backedge when it reaches 0.
  std::vector<int32_t> hot_counters;
};

/// A hook for `chunk` (defined by the JIT core, src/jit).
std::unique_ptr<JitHook> make_jit_hook(const Chunk& chunk, const JitOptions& options);

}  // namespace fusevm
