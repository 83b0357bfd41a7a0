// VM-driven units (plugin_abi.hpp kUnitVm): which code a unit covers, the request that
// compiles it, and the process-wide table that shares compiled units by content.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fusevm/chunk.hpp"
#include "jit/engine.hpp"

namespace fusevm::jit {

/// The chunk's Extended ops native code runs itself (JitExtension::lower), as the plugin
/// takes them. Every unit of the chunk carries the whole table.
struct Lowerings {
  std::vector<jit_abi::AbiLowering> list;  ///< `symbol` unset: see symbols
  std::vector<std::string> symbols;        ///< one per entry of `list`
  /// The lowering of Extended id `ext_id`, or null.
  const jit_abi::AbiLowering* find(uint16_t ext_id) const;
};
/// Asks `extensions`, in order, to lower each Extended id the chunk uses; lowerings that
/// break JitLowering's rules (no address, more than kMaxLoweringArgs operands) are
/// dropped, and those ops stay in the interpreter.
Lowerings lowerings_for(const Chunk& chunk, const std::vector<std::shared_ptr<const JitExtension>>& extensions);

/// Ops a VM unit may contain: the block tier's set without the frame ops (a unit works
/// on one frame), and the lowered Extended ops. Anything else ends a site.
bool vm_unit_op(OpCode code);
bool vm_unit_op(const Op& op, const Lowerings& lowered);
/// Ops a trace may hold: a unit's, the global variable ops (GetVar, SetVar, DeclareVar),
/// which a trace chunk runs on slots of its own (SyntheticTrace::globals), calls and
/// returns, which it inlines (SyntheticTrace::chains), and CallBuiltin, which native code
/// has the core run (VmUnitFrame::call_out) outside inlined calls.
bool trace_op(const Op& op, const Lowerings& lowered);
/// Ops a trace may have the core run between two native ops (a call-out): any op that
/// stays in its frame and goes on at the next op — no jumps, calls, returns, frame or
/// block ops, and of the shell ops only those that compute a value (no commands, sub
/// chunks, pipelines or redirections). The core still checks, op by op, that the run
/// went on where the trace does.
bool call_out_op(const Op& op);
/// Ops a call-out may hold: call_out_op's, and Call — the interpreter makes the whole call
/// (one whose callee meets values or ops native code does not take, or that nests deeper
/// than a trace inlines) and the call-out ends when it returns to the next op.
inline bool call_out_may_hold(const Op& op) { return call_out_op(op) || op.code() == OpCode::Call; }
/// True for the global variable ops a trace runs.
inline bool is_global_var_op(OpCode code) {
  return code == OpCode::GetVar || code == OpCode::SetVar || code == OpCode::DeclareVar;
}
/// The values `op` pops and pushes in a unit (a lowered Extended op: its operands and
/// result); false for an op whose effect depends on its operands' values.
bool stack_effect(const Op& op, const Lowerings& lowered, int64_t& pops, int64_t& pushes);

/// The ops of a chunk native code has the core run (UnitRequest::call_outs, call_out_tags):
/// empty, or one AbiCallOut per op, and the stack tags they index.
struct CallOuts {
  std::vector<jit_abi::AbiCallOut> at;
  std::vector<uint8_t> tags;
  /// The call-out at op `ip`, or null.
  const jit_abi::AbiCallOut* find(uint64_t ip) const {
    return ip < at.size() && at[ip].depth != jit_abi::kNoCallOut ? &at[ip] : nullptr;
  }
};

/// The code one unit covers: ops [begin, end) of the main stream, entered at `entry`,
/// and the slots it names.
struct VmSite {
  uint64_t begin = 0;
  uint64_t end = 0;
  uint64_t entry = 0;
  std::vector<uint16_t> slots;   ///< slots the ops name, ascending
  uint32_t num_slots = 0;        ///< highest named slot + 1 (0: none)
  bool straight_line = false;    ///< no op in the range can jump
  /// The deepest the value stack gets above its depth at entry, on any path native code
  /// takes: entering with fewer than max_stack - max_depth values keeps every push that
  /// the interpreter would refuse out of native code.
  uint32_t max_depth = 0;
  /// Empty, or one byte per op of the chunk: taking that op's jump does not poll (a trace
  /// chunk's jumps that stand for interpreted fall-throughs, UnitRequest::quiet_jumps).
  std::vector<uint8_t> quiet_jumps;
  /// A trace chunk's call-outs (UnitRequest::call_outs).
  CallOuts call_outs;
};

/// The whole-chunk site for run(): [0, e) with e the first op a unit cannot contain.
/// nullopt (with `reason`) when that prefix is too short to be worth a unit.
std::optional<VmSite> chunk_site(const Chunk& chunk, const Lowerings& lowered, std::string& reason);
/// The site of the loop whose backward jump at `from` goes to `header`: [header, e) with
/// e the first op a unit cannot contain. nullopt (with `reason`) when the backward jump
/// is not inside it, or when a path could pop below the stack depth at the header.
/// `call_outs`: ops the core runs (a trace chunk's), which the unit admits whatever they
/// are, whose slots it does not name, and after which its stack is theirs.
std::optional<VmSite> loop_site(const Chunk& chunk, const Lowerings& lowered, uint64_t header, uint64_t from,
                                std::string& reason, CallOuts call_outs = {});

/// One compiled (or compiling) unit, shared by every VM whose site has the same code,
/// tier and entry kinds.
struct VmUnit {
  jit_abi::VmTier tier = jit_abi::kVmTierBlock;
  /// Created with the unit (so VMs on other threads never see it change); done once
  /// the compile compile_vm_unit requested has finished.
  std::shared_ptr<PendingCompile> pending = std::make_shared<PendingCompile>();
  std::atomic<bool> outcome_counted{false};  ///< the compile's result went into the stats
  /// True once compiling finished, successfully or not.
  bool finished() const { return pending->done.load(std::memory_order_acquire); }
};

/// The process-wide unit for (site code, tier, entry kinds). With `created` non-null a
/// missing unit is added and *created tells whether it is new (its compile not yet
/// requested); with null, a missing unit gives nullptr.
std::shared_ptr<VmUnit> find_vm_unit(const Chunk& chunk, const Lowerings& lowered, const VmSite& site,
                                     jit_abi::VmTier tier, const std::vector<uint8_t>& slot_tags, bool* created);
/// Start compiling `unit` (asynchronously, or on the compile thread while the caller
/// waits when `sync`).
void compile_vm_unit(VmUnit& unit, const Chunk& chunk, const Lowerings& lowered, const VmSite& site,
                     const std::vector<uint8_t>& slot_tags, bool sync);
/// The process-wide compiled function (kUnitFn) for the sub at `entry` called with
/// arguments tagged `arg_tags`; `created` as for find_vm_unit. Its code depends on the
/// whole chunk (the subs it calls compile with it).
std::shared_ptr<VmUnit> find_fn_unit(const Chunk& chunk, const Lowerings& lowered, uint64_t entry,
                                     const std::vector<uint8_t>& arg_tags, bool* created);
/// Start compiling the function `unit` (see compile_vm_unit).
void compile_fn_unit(VmUnit& unit, const Chunk& chunk, const Lowerings& lowered, uint64_t entry,
                     const std::vector<uint8_t>& arg_tags, bool sync);
/// Forget every VM unit (JitCompiler::reset; no VM may hold one).
void clear_vm_units();

}  // namespace fusevm::jit
