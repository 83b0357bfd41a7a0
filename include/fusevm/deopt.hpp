// The reference's raw-slot trace entry as data (spec/jit.md §1.7, §1.8, §4.2):
// JitCompiler::trace_lookup runs a trace on an `int64_t` slot array and describes where
// the interpreter goes on in a DeoptInfo. Our VMs enter and leave traces themselves (with
// their frames, kinds and globals); this is for embedders that drive traces by hand.
//
// DeoptInfo keeps the reference's C layout as a prefix (ARCHITECTURE §9) and adds, after
// it, what the reference lost: each inlined frame's stack base (quirk Q8) and the kinds of
// its slots. Stack kinds add Bool, Undef and Value to the reference's Int and Float.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fusevm {

/// Calls one trace may have inlined at an exit.
inline constexpr size_t MAX_DEOPT_FRAMES = 4;
/// Slots an inlined frame may have in a DeoptFrame.
inline constexpr size_t MAX_DEOPT_SLOTS_PER_FRAME = 16;
/// Values an exit may leave on the stack.
inline constexpr size_t MAX_DEOPT_STACK = 32;
/// DeoptInfo::stack_kinds and DeoptInfo::frame_slot_kinds values.
inline constexpr uint8_t STACK_KIND_INT = 0;
inline constexpr uint8_t STACK_KIND_FLOAT = 1;   ///< the payload is the double's bits
inline constexpr uint8_t STACK_KIND_BOOL = 2;    ///< 0 or 1
inline constexpr uint8_t STACK_KIND_UNDEF = 3;   ///< the payload is 0
/// An owned `Value*` a restore routine releases; trace_lookup never produces one (traces
/// it runs hold scalars only).
inline constexpr uint8_t STACK_KIND_VALUE = 4;

/// One inlined call at a trace exit, outermost first (spec/jit.md §1.8; 144 bytes).
struct DeoptFrame {
  size_t return_ip = 0;   ///< the op after the Call in the caller
  size_t slot_count = 0;  ///< valid entries of `slots` (every one written: quirk Q9 fixed)
  int64_t slots[MAX_DEOPT_SLOTS_PER_FRAME] = {};  ///< payloads (kinds in DeoptInfo::frame_slot_kinds)
};
static_assert(sizeof(DeoptFrame) == 144);

/// Where and with what the interpreter goes on after a trace ran (spec/jit.md §1.8). The
/// first 888 bytes are the reference's layout; the fields after them are ours.
struct DeoptInfo {
  size_t resume_ip = 0;    ///< the chunk's ip where the interpreter continues
  size_t frame_count = 0;  ///< inlined calls the exit is inside (0: the loop's frame)
  size_t stack_count = 0;  ///< values in stack_buf
  DeoptFrame frames[MAX_DEOPT_FRAMES];
  int64_t stack_buf[MAX_DEOPT_STACK] = {};  ///< bottom first; every frame's values, the loop frame's first
  uint8_t stack_kinds[MAX_DEOPT_STACK] = {};
  // -- Beyond the reference ------------------------------------------------------------
  /// frames[k]'s stack base: its values start at stack_buf[frame_stack_base[k]] (Q8 fixed).
  size_t frame_stack_base[MAX_DEOPT_FRAMES] = {};
  /// The kind of each slot of frames[k] (STACK_KIND_*).
  uint8_t frame_slot_kinds[MAX_DEOPT_FRAMES][MAX_DEOPT_SLOTS_PER_FRAME] = {};

  /// A DeoptInfo with every field zero.
  static DeoptInfo zeroed() { return DeoptInfo{}; }
};
static_assert(offsetof(DeoptInfo, frames) == 24 && offsetof(DeoptInfo, stack_buf) == 600 &&
              offsetof(DeoptInfo, stack_kinds) == 856 && offsetof(DeoptInfo, frame_stack_base) == 888,
              "the reference's DeoptInfo layout stays a prefix");

/// What trace_lookup did (spec/jit.md §1.7).
struct TraceLookup {
  enum class Kind : uint8_t {
    NotHot,          ///< no trace; the key's lookups are still below trace_threshold
    StartRecording,  ///< no trace, and the key is hot: record the next lap (until installed or aborted)
    Ran,             ///< the trace passed its entry guard and ran: resume_ip and the DeoptInfo say where to go on
    GuardMismatch,   ///< a slot the trace reads has another kind than it was compiled for; it did not run
    Skip,            ///< the key is aborted or blacklisted, the JIT is unavailable, or the trace needs a VM
  };
  Kind kind = Kind::Skip;
  size_t resume_ip = 0;  ///< with Ran
  bool operator==(const TraceLookup&) const = default;
};

}  // namespace fusevm
