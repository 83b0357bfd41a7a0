// Kind inference of a kUnitVm: the static kind of every slot and stack value before each op.
//
// No LLVM headers: this is the part of the VM tier that decides what the code does, kept
// apart from how it is emitted (emit_vm.cpp) so it compiles fast and reads on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jit_abi/plugin_abi.hpp"

namespace fusevm::jit_llvm {

/// Kind states one block start may be compiled for; an edge bringing yet another leaves
/// the unit there.
inline constexpr size_t kMaxBlockVersions = 3;

/// Work a bounded loop may do between two polls, in op costs (op_cost): entering one checks
/// that its trip count times its body's cost stays under this, so a pending interrupt
/// waits at most about a millisecond of native code, as a fused loop op's 65,536 laps do.
inline constexpr int64_t kUnpolledBudget = int64_t{1} << 20;

/// The static kind of a value inside a kUnitVm. The numbers are the AbiTags.
enum class Kind : uint8_t { Undef = 0, Bool = 1, Int = 2, Float = 3 };

/// Kinds at one program point: the named slots (in VmPlan::named_slots order) and the
/// abstract stack, bottom first (the entry values included).
struct KindState {
  std::vector<Kind> slots;  ///< one per named slot
  std::vector<Kind> stack;  ///< bottom first
  /// 1 + the index in VmPlan::bounded of the loop this state runs unpolled in, else 0.
  uint32_t loop = 0;
  /// With `loop`: the block version whose edge entered the loop (VmPlan::origin). Each
  /// entering block version gets its own copy of the loop: when an outer loop's first lap
  /// is a version of its own (kinds changed), a shared inner loop would be the header of
  /// both cycles, and LLVM's loop passes would neither vectorise nor close it.
  uint64_t entered_from = 0;
  bool operator==(const KindState&) const = default;
};

/// What one op does, as far as kinds and control flow go.
struct KindStep {
  /// The op does not run natively: the unit exits before it (resume_ip = the op) with
  /// `exit_reason`, and the state is left as it was.
  bool exits = false;
  jit_abi::VmExit exit_reason = jit_abi::kExitLeft;
  /// Div: a zero divisor leaves through kExitDeopt before the op, with the state before it.
  bool may_deopt = false;
  /// Control may continue at ip + 1.
  bool falls_through = false;
  /// Control may continue at `target`.
  bool jumps = false;
  /// The jump's absolute target (possibly outside the range).
  uint64_t target = 0;
  /// Call (compiled functions only): the FnPlan version it calls natively, else -1.
  int32_t callee = -1;
  /// Return/ReturnValue (compiled functions only): the function returns here natively.
  bool returns = false;
};

struct FnPlan;

/// An innermost counted loop that may run without polling at its jumps, in strips of at
/// most `laps` laps with a poll between two (emit_vm.cpp): the interpreter polls at every
/// taken jump, so native code that polls at each lap keeps LLVM from vectorising it or
/// closing its sums (the nested-loop benchmark ran 4x slower than C++ for that alone).
/// Skipping polls is exact because nothing inside such a loop can raise the flag itself
/// (no calls, no extension ops): only another thread or a signal can, and for them "the
/// next interrupt point" is only later.
///
/// Shapes: a latch `Jump header` whose header tests `GetSlot s; LoadInt C; NumLt|NumLe;
/// JumpIfFalse out` or `SlotLtIntJumpIfFalse s C out`, or a do-while latch `GetSlot s;
/// LoadInt C; NumLt|NumLe; JumpIfTrue header`, with one increment of s on every lap
/// (`PreIncSlot[Void] s` or `GetSlot s; LoadInt 1; Add; SetSlot s`; no jump skips it or
/// lands inside it) and no other write of s; or a latch `SlotIncLtIntJumpBack s C header`
/// and no other write of s. No other jump goes backward.
struct BoundedLoop {
  uint64_t header = 0;  ///< the loop is [header, latch]
  uint64_t latch = 0;
  uint16_t slot = 0;    ///< the counter (an Int where the loop is entered unpolled)
  /// Entering with counter >= this runs at most kUnpolledBudget of work.
  int64_t lowest_entry = 0;
  /// Laps that make kUnpolledBudget of work: entered lower, the loop runs in strips of
  /// this many unpolled laps with a poll between two strips.
  int64_t laps = 1;
  /// The loop goes on while counter < limit_excl (its test's limit, + 1 for NumLe).
  int64_t limit_excl = 0;
  /// The op whose value or operand is the limit (LoadInt, or the fused op), and the op
  /// whose jump or fall-through leaves the loop when the test fails.
  uint64_t limit_ip = 0;
  uint64_t exit_ip = 0;
};

/// The outcome of kind inference over [begin, end).
struct VmPlan {
  uint64_t begin = 0;  ///< UnitRequest::range_begin
  uint64_t end = 0;    ///< UnitRequest::range_end
  /// Every slot an op of the range names, ascending.
  std::vector<uint16_t> named_slots;
  /// For each slot below num_slots: its index in named_slots, or -1.
  std::vector<int32_t> slot_pos;
  /// Compiled functions only: the function table, and which version this plan is.
  FnPlan* fns = nullptr;
  int32_t version = -1;
  /// The deepest the abstract stack gets on any path the plan follows (entry values
  /// included).
  uint32_t max_depth = 0;
  /// The kinds at entry_ip (UnitRequest::slot_tags and entry_stack_tags).
  KindState entry;
  /// Ops where paths may join, which start basic blocks: entry_ip, every in-range jump
  /// target and the op after a conditional branch (index ip - begin). Any other op has
  /// one possible predecessor, the op before it, and shares its block.
  std::vector<uint8_t> block_start;
  /// The versions of each reached block start (index ip - begin): the kinds of the first
  /// kMaxBlockVersions different states of one stack depth that edges brought to it, in
  /// the order they came, each compiled as its own block (an outer loop's header first
  /// reached with the inner counter still Undef, then always with an Int, gets two);
  /// empty elsewhere.
  std::vector<std::vector<KindState>> versions;
  /// The range's bounded loops, by ascending header; they never overlap.
  std::vector<BoundedLoop> bounded;

  /// True if `ip` lies in the unit's range.
  bool in_range(uint64_t ip) const { return ip >= begin && ip < end; }
  /// True if `ip` is a block start that some path from the entry reaches.
  bool is_leader(uint64_t ip) const { return in_range(ip) && !versions[ip - begin].empty(); }
  /// True if `ip` starts a block (reached or not).
  bool starts_block(uint64_t ip) const { return in_range(ip) && block_start[ip - begin] != 0; }
  /// The versions of block start `ip` (empty when unreached).
  const std::vector<KindState>& at(uint64_t ip) const { return versions[ip - begin]; }
  /// The version of `target` an edge carrying `state` continues in natively, or -1 for an
  /// exit edge (kExitLeft, resume_ip = target). Precondition: `target` is out of range or
  /// a block start.
  int32_t version_of(uint64_t target, const KindState& state) const {
    if (!in_range(target)) return -1;
    const std::vector<KindState>& v = versions[target - begin];
    for (size_t k = 0; k < v.size(); ++k) {
      if (v[k] == state) return static_cast<int32_t>(k);
    }
    return -1;
  }
  /// Where slot `s` sits in KindState::slots (precondition: an op of the range names it).
  size_t pos(uint16_t s) const { return static_cast<size_t>(slot_pos[s]); }
  /// True if `target` is outside bounded loop `loop` (1 + its index).
  bool leaves(uint64_t target, uint32_t loop) const {
    const BoundedLoop& l = bounded[loop - 1];
    return target < l.header || target > l.latch;
  }
  /// `state` after an edge to `target`: unpolled while the edge stays in its loop.
  void loop_after(uint64_t target, KindState& state) const {
    if (state.loop == 0) return;
    const BoundedLoop& l = bounded[state.loop - 1];
    if (target >= l.header && target <= l.latch) return;
    state.loop = 0;
    state.entered_from = 0;
  }
  /// KindState::entered_from of an edge leaving version `version` of block start `start`.
  uint64_t origin(uint64_t start, size_t version) const {
    return ((start - begin) << 8 | version) + 1;
  }
  /// The bounded loop (index in `bounded`) an edge from `from` (kNoIp: the unit's entry)
  /// to `target` enters at its header, arriving with `state` (already through loop_after)
  /// and an Int counter; else -1. Such an edge continues unpolled when the counter is at
  /// least lowest_entry, polled otherwise.
  int32_t bounded_entry(uint64_t from, uint64_t target, const KindState& state) const {
    if (state.loop != 0) return -1;
    for (size_t k = 0; k < bounded.size(); ++k) {
      const BoundedLoop& l = bounded[k];
      if (l.header != target || (from >= l.header && from <= l.latch)) continue;
      return state.slots[pos(l.slot)] == Kind::Int ? static_cast<int32_t>(k) : -1;
    }
    return -1;
  }
  static constexpr uint64_t kNoIp = ~uint64_t{0};
};

/// How a compiled function's version returns: fixed by the first return op the planner
/// reaches; a return op of the other form, or returning another kind, bails out instead.
enum class Returns : uint8_t { Unknown, Nothing, Value };

/// One version of a compiled function: a sub specialised for its argument kinds.
struct FnVersion {
  uint64_t entry = 0;      ///< the sub's first op
  std::vector<Kind> args;  ///< argument kinds, bottom first
  Returns returns = Returns::Unknown;
  Kind result = Kind::Undef;  ///< the returned kind, with Returns::Value
  VmPlan plan;
};

/// Every version a kUnitFn compiles: versions[0] is the requested sub; the others are
/// the (sub, argument kinds) its Calls reach. Planned to a fixed point, since a Call's
/// result kind is its callee's return kind.
struct FnPlan {
  std::vector<FnVersion> versions;
  bool changed = false;  ///< a pass added a version or fixed a return
  bool frozen = false;   ///< planning is over: nothing may change any more
  /// The version for (entry, args), added unless frozen or full; -1 if none.
  int32_t find_or_add(uint64_t entry, const std::vector<Kind>& args);
};

/// Validates a kUnitFn request and plans its versions. False, with `reason`, for a
/// malformed request or kinds that do not settle.
bool plan_fn_unit(const jit_abi::UnitRequest& request, FnPlan& fns, std::string& reason);

/// Validates a kUnitVm request and infers its kinds from entry_ip, visiting blocks in
/// ascending ip order. False, with `reason`, only for a malformed request (range or entry
/// outside the ops, slot index not below num_slots, a named slot or entry value whose tag
/// is not a scalar, missing tag arrays, a call-out whose tags are not scalars or lie
/// outside call_out_tags, an unknown vm_tier).
bool plan_vm_unit(const jit_abi::UnitRequest& request, VmPlan& plan, std::string& reason);

/// Applies op `ip` to `state`, as the interpreter would (left unchanged when the op exits).
/// The result kinds here are the ones the emitted code produces.
KindStep step_kinds(const jit_abi::UnitRequest& request, const VmPlan& plan, uint64_t ip,
                    KindState& state);

/// The call-out at op `ip` of a kUnitVm (UnitRequest::call_outs), or null.
const jit_abi::AbiCallOut* call_out_at(const jit_abi::UnitRequest& request, uint64_t ip);

/// The request's lowering of Extended id `ext_id`, or null.
const jit_abi::AbiLowering* lowering_of(const jit_abi::UnitRequest& request, uint16_t ext_id);

/// Name of a kind ("Int", ...).
const char* kind_name(Kind k);

}  // namespace fusevm::jit_llvm
