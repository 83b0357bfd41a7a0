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

/// The static kind of a value inside a kUnitVm. The numbers are the AbiTags.
enum class Kind : uint8_t { Undef = 0, Bool = 1, Int = 2, Float = 3 };

/// Kinds at one program point: the named slots (in VmPlan::named_slots order) and the
/// abstract stack, bottom first (the entry values included).
struct KindState {
  std::vector<Kind> slots;  ///< one per named slot
  std::vector<Kind> stack;  ///< bottom first
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
/// is not a scalar, missing tag arrays, an unknown vm_tier).
bool plan_vm_unit(const jit_abi::UnitRequest& request, VmPlan& plan, std::string& reason);

/// Applies op `ip` to `state`, as the interpreter would (left unchanged when the op exits).
/// The result kinds here are the ones the emitted code produces.
KindStep step_kinds(const jit_abi::UnitRequest& request, const VmPlan& plan, uint64_t ip,
                    KindState& state);

/// The request's lowering of Extended id `ext_id`, or null.
const jit_abi::AbiLowering* lowering_of(const jit_abi::UnitRequest& request, uint16_t ext_id);

/// Name of a kind ("Int", ...).
const char* kind_name(Kind k);

}  // namespace fusevm::jit_llvm
