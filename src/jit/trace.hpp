// The tracing tier's core side (spec/jit.md §4, issue 6): recording one lap of a hot loop
// as the interpreter runs it, and turning the recorded path into a chunk of its own that
// the VM tier's compiler (kUnitVm) compiles like any loop.
//
// A trace is a straight path with guards. Written as a chunk, each conditional jump of the
// path keeps its op and its condition, with the direction the recording took going on to
// the next op of the trace and the other direction jumping past the trace's end; the
// closing jump goes back to op 0. A jump past the end leaves native code there, and
// `real_ip` says where the interpreter goes on. So kinds, guards, exits with the exact
// interpreter state, polling and every op the VM tier runs come from one compiler.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fusevm/chunk.hpp"
#include "fusevm/trace_metadata.hpp"
#include "fusevm/vm.hpp"
#include "jit/vm_units.hpp"

namespace fusevm::jit {

/// Calls one trace may have inlined at once (the reference's MAX_DEOPT_FRAMES).
inline constexpr size_t kMaxInlineDepth = 4;

/// The AbiTag native code holds a value of SlotKind `k` as, or kTagUnused for the kinds
/// it does not hold (Str, Array, Hash, Other).
uint8_t abi_tag_of(SlotKind k);

/// Why a recording stopped without a trace (the text is what --stats counts).
enum class TraceAbort : uint8_t {
  TooLong,        ///< more ops than TraceJitConfig::max_trace_len
  LeftFrame,      ///< a call, return or block activation (traces stay in the loop's frame)
  Op,             ///< an op the trace compiler does not run natively
  Stack,          ///< a lap pops values from before the loop, or leaves values behind
  Unit,           ///< the trace chunk is not a unit the VM tier compiles (see the reason)
  Calls,          ///< calls nested deeper than kMaxInlineDepth, or recursion past max_inline_recursion
  CallOuts,       ///< a lap with fewer native ops per call-out than min_ops_per_call_out
};
/// Text for a TraceAbort.
const char* trace_abort_name(TraceAbort why);

/// A place in a trace tree: the op at position `pos` of path `path`.
struct TracePos {
  int32_t path = -1;
  size_t pos = 0;
  bool operator==(const TracePos&) const = default;
};

/// One recorded path of a trace tree: the first is the loop's lap from its header; each
/// other one starts where a guard of an earlier path went the other way (a side exit that
/// got hot, or an inner loop's exit) and runs until the loop's header, or until a jump
/// back into the tree (an inner loop's backedge).
struct TracePath {
  std::vector<uint64_t> ips;
  /// The inline depth of each op (0: the loop's frame; d: the d-th call inlined into it),
  /// parallel to ips; empty means every op is at depth 0.
  std::vector<uint8_t> depths;
  uint8_t depth(size_t i) const { return depths.empty() ? 0 : depths[i]; }
  /// The ops native code has the core run (TraceCallOut), by position in `ips`, in order:
  /// builtins, and ops holding Str/Array/Hash values or that no unit runs.
  std::vector<TraceCallOut> call_outs;
  /// The call-out starting at `pos`, or null.
  const TraceCallOut* call_out_at(size_t pos) const {
    for (const TraceCallOut& c : call_outs) {
      if (c.at == pos) return &c;
    }
    return nullptr;
  }
  /// True if `pos` is inside a call-out, after its first op (the trace chunk has no op
  /// there: the call-out's op stands for it).
  bool inside_call_out(size_t pos) const {
    for (const TraceCallOut& c : call_outs) {
      if (pos > c.at && pos < c.at + c.len) return true;
    }
    return false;
  }
  int32_t parent = -1;       ///< the path whose guard it continues, or -1 (the first)
  size_t parent_pos = 0;     ///< that guard's position in the parent's ips
  /// Where the path goes on at an op the tree already has: an inner loop's backward jump,
  /// or the op where a side path joins its parent again after the branch. The last op's
  /// position in `ips`, and the place it goes to (in this path or one it continues).
  std::vector<std::pair<size_t, TracePos>> loops;
  /// Where the jump at `pos` goes back to, if it is one of `loops`.
  const TracePos* loop_at(size_t pos) const {
    for (const auto& [at, to] : loops) {
      if (at == pos) return &to;
    }
    return nullptr;
  }
};

/// One recording in progress: the tree so far (a new lap has just an empty path 0) and the
/// path being recorded. After a backward jump into the tree (an inner loop) the recorder
/// follows the tree's recorded ops instead of unrolling the inner loop, and starts a new
/// path where the interpreter leaves them at a guard.
struct TraceRecording {
  uint64_t anchor = 0;      ///< the loop header; landing on it by a jump closes the recording
  uint64_t latch = 0;       ///< the loop's last backward jump to the header: [anchor, latch] is the loop
  size_t frames = 0;        ///< frame count at the header
  std::vector<TracePath> paths;
  int32_t current = 0;      ///< the path being recorded (when not following)
  size_t recorded = 0;      ///< ops recorded by this recording
  bool following = false;
  TracePos last;            ///< while following: the tree op the interpreter ran last
  /// The calls inlined at the op seen last (outermost first): each Call's ip. Its size is
  /// that op's depth.
  std::vector<uint64_t> inline_calls;
  uint64_t prev_ip = 0;     ///< the op seen last (recorded or followed)
  /// The value stack's height under the loop frame's values at the header: what the
  /// loop's frame has above it is the trace's stack.
  size_t stack_base = 0;
  /// The op recorded last is a call-out's (the current path's last TraceCallOut): the
  /// next op sees the state after it (its stack kinds, or a call-out that goes on).
  bool in_call_out = false;
  /// A recording of a lap (a new tree), not of side paths of one.
  bool is_lap = false;
  /// Ops the interpreter ran inside calls this recording's call-outs make (and inlined
  /// ops dropped when a call was handed over): the cost rule weighs them.
  size_t called_ops = 0;
  /// A recording of the lap at `anchor` (path 0, empty).
  static TraceRecording lap(uint64_t anchor, uint64_t latch, size_t frames, size_t stack_base);
  /// A recording that extends `tree` from the guard at `from` (a new path there).
  static TraceRecording side(uint64_t anchor, uint64_t latch, size_t frames, size_t stack_base,
                             std::vector<TracePath> tree, TracePos from);
};

/// What the recorder sees of the VM before an op runs.
struct RecordView {
  std::span<const Value> stack;    ///< the whole value stack, bottom first
  std::span<const Value> slots;    ///< the running frame's slots
  std::span<const Value> globals;
};

/// What the recorder does with the op at `ip` that is about to run.
enum class RecordStep : uint8_t { Continue, Close, Abort };

/// Applies the recording rules to the op at `ip` in `frames` frames (main stream), with
/// `vm` the state it is about to run on: it closes the recording when a jump landed on
/// the anchor, aborts it (with `why` and `detail`) when the op or the place cannot be
/// traced, follows the tree after a jump back into it, or appends the op to the current
/// path — as one native code runs, or into a call-out: ops that meet values native code
/// does not hold (Str, Array, Hash, ...) or that no unit runs, in the loop's frame, until
/// the loop frame's stack holds only scalars again.
RecordStep record_op(const Chunk& chunk, const Lowerings& lowered, const TraceJitConfig& config,
                     TraceRecording& rec, uint64_t ip, size_t frames, const RecordView& vm, TraceAbort& why,
                     std::string& detail);

/// True when `op` at inline depth `depth` is a builtin call inside an inlined call: the
/// builtin would see the VM's frames without the call's, so traces leave it out.
inline bool builtin_inside_call(const Op& op, size_t depth) { return depth > 0 && op.code() == OpCode::CallBuiltin; }

/// An exit of a trace chunk: where the interpreter goes on, and which guard of which path
/// left (a guard is the op at `pos` of path `path`; kNoGuard for other exits).
struct TraceExit {
  uint64_t real = 0;
  int32_t path = -1;
  size_t pos = 0;
};

/// A frame of a call a trace inlined, as the interpreter would have it: where its Return
/// goes, where its stack starts (above the stack at the trace's entry), and the trace slots
/// holding its slots.
struct InlineFrame {
  uint64_t return_ip = 0;
  uint64_t stack_base = 0;
  uint32_t slot_base = 0;
  uint32_t slot_count = 0;
  bool operator==(const InlineFrame&) const = default;
};

/// A recorded lap as a chunk of its own (see the file comment).
struct SyntheticTrace {
  Chunk chunk;                     ///< the trace's ops (the real chunk's pools, no subs)
  std::vector<uint64_t> real_ip;   ///< for each trace ip (and each ip past the end): the real ip
  std::vector<TraceExit> exits;    ///< trace ip n + k leaves through exits[k]
  uint64_t fallthrough = 0;        ///< where the loop's normal exit goes on (a real ip)
  uint64_t backedge = 0;           ///< the trace ip of the closing jump (to op 0)
  uint64_t loop_first = 0;         ///< the recorded lap's lowest and highest real ips
  uint64_t loop_last = 0;
  VmSite site;                     ///< the unit's site over the whole trace chunk
  /// The global variables the trace reads or writes: global globals[k] is trace slot
  /// global_base + k (past every slot its ops name). The VM's driver copies them into the
  /// frame before entering, and back out (restoring what the frame had there) after.
  std::vector<uint16_t> globals;
  uint32_t global_base = 0;
  /// The first slot past the loop frame's own that the trace uses (inlined calls' slots,
  /// then the globals): [lent_base, global_base + globals.size()) is lent for one entry.
  uint32_t lent_base = 0;
  /// Inlined calls: each trace ip (and each ip past the end) runs inside the frames of
  /// chains[chain_of[ip]], outermost first (chain 0: none, the loop's own frame). Leaving
  /// there, the driver makes those frames (deopt as data).
  std::vector<std::vector<InlineFrame>> chains;
  std::vector<uint32_t> chain_of;
  uint8_t max_inline_depth = 0;
  /// True when going on at real ip `real` leaves the loop (an ordinary loop exit, such as
  /// a `while` header's test failing), false for a side exit (the other way of a branch
  /// inside the loop, or an op native code left to the interpreter).
  bool leaves_loop(uint64_t real) const { return real < loop_first || real > loop_last; }
  /// leaves_loop for the place trace ip `k` (or exit n + k) stands for: never inside a call.
  bool leaves_loop_at(uint64_t k) const {
    return k < real_ip.size() && (k >= chain_of.size() || chain_of[k] == 0) && leaves_loop(real_ip[k]);
  }
};

/// A trace tree and its chunk: immutable once built, shared by the VMs that run it and the
/// process's store (trace_store.hpp).
struct TraceTree {
  std::vector<TracePath> paths;  ///< the lap, then side paths
  SyntheticTrace trace;
};

/// Builds the trace chunk of the loop at `anchor` from its recorded paths (paths[0] the lap,
/// each other one attached to its parent's guard instead of that guard's exit); nullopt
/// with `why`/`detail` when they cannot be one (a path's stack is not balanced, or the VM
/// tier would not take the chunk).
std::optional<SyntheticTrace> synthesise_trace(const Chunk& chunk, const Lowerings& lowered, uint64_t anchor,
                                               const std::vector<TracePath>& paths, TraceAbort& why,
                                               std::string& detail);

/// True if `paths` are a trace tree the program can run, checked op by op against `chunk`
/// (for trees that were not recorded here, such as imported ones): the first path starts
/// at `anchor`, every ip is an op of the chunk a trace may hold, each op is followed by
/// one of the chunk's own successors of it (the next op, or the jump's target), each side
/// path starts on the way its parent's conditional jump did not take, and joins land on
/// earlier ops of the tree; a Call goes on at its sub's entry and a Return after its Call
/// (at most kMaxInlineDepth calls deep). Fills each path's depths from its calls and returns.
/// Else false with `why`.
bool check_trace_paths(const Chunk& chunk, const Lowerings& lowered, uint64_t anchor,
                       std::vector<TracePath>& paths, std::string& why);

/// spec/jit.md §4.5's check of a recorded lap without its chunk (JitCompiler::
/// is_trace_eligible): empty when `ops` could be a lap closing at `anchor` — at most
/// `max_len` ops a trace may hold, calls and returns balanced, the last op a jump to
/// `anchor` in the loop's frame and no earlier one there; else why not. Lowered Extended
/// ops, inner loops, builtins, in the loop's frame every op a call-out runs, and inside
/// calls any op (a call meeting one the trace does not take, or nested deeper than
/// kMaxInlineDepth, is made by the interpreter as a call-out) are ours to run, so unlike
/// the reference's check this one accepts them.
std::string lap_ops_problem(std::span<const Op> ops, uint64_t anchor, const Lowerings& lowered, size_t max_len);

/// Text for `fusevm run --dump=trace`: the recorded paths, the trace chunk with each op's
/// real ip, and where each exit goes.
std::string describe_trace(uint64_t anchor, const std::vector<TracePath>& paths, const SyntheticTrace& trace);

}  // namespace fusevm::jit
