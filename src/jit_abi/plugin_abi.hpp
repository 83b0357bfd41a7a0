// The ABI between the core's JIT engine (src/jit) and the LLVM plugin (src/jit_llvm).
//
// Plain data and function pointers only: the plugin links nothing from the core (it is
// built with -Wl,--no-undefined), no C++ library object crosses the boundary, and the two
// sides may even use different copies of libstdc++ (the tool links it statically). Core
// and plugin are built from one tree, so kAbiVersion is bumped on any change and a
// mismatched plugin is refused rather than trusted.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fusevm::jit_abi {

/// Bumped whenever anything in this file changes.
inline constexpr uint32_t kAbiVersion = 6;

/// Name of the plugin's only exported symbol: `const PluginApi* fusevm_jit_plugin()`.
inline constexpr const char* kEntrySymbol = "fusevm_jit_plugin";

/// One op, byte-for-byte a fusevm::Op (the core static_asserts the layout): opcode, the
/// small u8/u16 operands in order, the i32 operand, the wide operand (i64 / f64 bits /
/// usize). Operand placement follows ops.def (see Op in op.hpp).
struct AbiOp {
  uint8_t code;
  uint8_t pad;
  uint16_t small[3];
  int32_t i32;
  uint64_t wide;
};
static_assert(sizeof(AbiOp) == 24);

/// A constant-pool entry as a unit may load it.
struct AbiConst {
  uint8_t kind;     ///< ConstKind
  uint8_t pad[7];
  uint64_t bits;    ///< the i64, or the f64's bits
};
/// Kinds of AbiConst; the core only lets a unit load Int and Float constants.
enum ConstKind : uint8_t { kConstOther = 0, kConstInt = 1, kConstFloat = 2 };

/// What a unit is.
enum UnitKind : uint32_t {
  /// spec/jit.md §2 straight-line code with the reference's typing (§2.3-2.4, with the
  /// "Do" fixes: integral LoadFloat stays Float, mixed Swap/Rot allowed, saturating
  /// float->int). Signature `int64_t f(int64_t* slots)` or `double f(int64_t* slots)`
  /// (UnitRequest::result_is_float); slots may be null when no slot op occurs. The core
  /// has validated it (§2.2): no stack underflow, final depth 1, Div/Mod/Pow acceptance.
  kUnitLinear = 1,
  /// spec/jit.md §3 block tier with the reference's typing: `int64_t f(int64_t* slots,
  /// int32_t* bailed)`. Slots referenced are promoted to SSA variables and written back
  /// only at the normal return. Where the reference would trap (integer Div by 0 or
  /// MIN / -1, Mod by 0) the code sets *bailed = 1 and returns 0 without writing slots
  /// back, so the caller can interpret; float->int conversions saturate (NaN -> 0).
  kUnitBlock = 2,
  /// VM-driven, kind-exact code (ARCHITECTURE §9 "Typing") for the ops [range_begin,
  /// range_end) of a chunk, entered at `entry_ip`. Signature `uint32_t f(VmUnitFrame*)`,
  /// returning the VmExit it also stores in VmUnitFrame::exit_reason. See VmUnitFrame.
  kUnitVm = 3,
  /// A compiled function (ARCHITECTURE §9 "Compiled functions"): the sub whose body
  /// starts at `entry_ip`, called with `entry_depth` arguments of kinds
  /// `entry_stack_tags` on a new frame (every slot Undef). `ops` is the whole chunk, and
  /// each Call op carries its callee's entry ip in `wide` (kNoSub: undefined), so the
  /// subs it calls compile into the same code, specialised per argument kinds, and call
  /// each other natively. Signature `uint32_t f(FnFrame*)`, returning an FnExit.
  kUnitFn = 4,
};

/// In a kUnitFn request, the `wide` of a Call whose name has no sub.
inline constexpr uint64_t kNoSub = UINT64_MAX;

/// How a kUnitVm is optimised (and which tier's statistics it counts toward).
enum VmTier : uint32_t {
  kVmTierLinear = 1,  ///< no IR passes, CodeGenOptLevel::None (compiled on first run)
  kVmTierBlock = 2,   ///< the block tier's pass list, CodeGenOptLevel::Default
};

/// A fusevm::Value as native code sees it (the core static_asserts the layout): the
/// 8-byte payload (i64, f64 bits, or bool as 0/1) at offset 0 and the tag at offset 8.
struct AbiValue {
  uint64_t bits;
  uint8_t tag;
  uint8_t pad[7];
};
static_assert(sizeof(AbiValue) == 16);

/// The tags a kUnitVm reads and writes: the scalar ValueKinds (no heap bit, so storing
/// one over another needs no reference counting).
enum AbiTag : uint8_t { kTagUndef = 0, kTagBool = 1, kTagInt = 2, kTagFloat = 3 };
/// In UnitRequest::slot_tags: the unit never names this slot.
inline constexpr uint8_t kTagUnused = 0xff;

/// Why a kUnitVm returned. In every case the unit has stored every slot it names (payload
/// and tag) into VmUnitFrame::slots and its abstract value stack into VmUnitFrame::stack,
/// so the interpreter continues at `resume_ip` exactly as if it had run the same ops.
enum VmExit : uint32_t {
  /// Control left the range: a jump to an ip outside [range_begin, range_end), falling
  /// through range_end, or reaching an op the unit does not contain. resume_ip = that ip.
  kExitLeft = 0,
  /// An op met values it does not handle natively (integer division by zero, which the
  /// interpreter turns into Undef, ...): resume_ip = that op, which the interpreter runs.
  kExitDeopt = 1,
  /// The poll flag was set at a taken jump, forward or backward (interrupt pending):
  /// resume_ip = the jump's target; the core polls there, as the interpreter does after
  /// every taken jump, before interpreting it.
  kExitPoll = 2,
  /// Only in an FnRecord: this frame was calling when a callee below it bailed out;
  /// FnRecord::ip is its Call op, so the callee's frame returns to ip + 1.
  kExitCallee = 3,
  /// A call-out (VmUnitFrame::call_out) handed the run to the interpreter: the core has
  /// already set up its state (slots, stack, ip, or the error the op raised); the unit
  /// stored nothing more and the core uses none of the out fields.
  kExitTaken = 4,
};

/// The state a kUnitVm shares with the core for one entry.
struct VmUnitFrame {
  /// The frame's slots, at least UnitRequest::num_slots of them; on entry each slot the
  /// unit names has the tag UnitRequest::slot_tags gives for it (the core checks).
  AbiValue* slots;
  /// On entry: the UnitRequest::entry_depth values the unit starts with (a sub's
  /// arguments), bottom first, tags as UnitRequest::entry_stack_tags. On exit: the
  /// unit's stack above that base, bottom first (capacity UnitResult::max_exit_stack).
  AbiValue* stack;
  /// The VM's poll flag (a std::atomic<bool>, read with a relaxed load at taken jumps).
  const uint8_t* poll;
  /// Out: the absolute ip at which the interpreter continues.
  uint64_t resume_ip;
  /// Out: number of values stored into `stack`.
  uint32_t exit_depth;
  /// Out: the VmExit (also the return value).
  uint32_t exit_reason;
  /// In: passed back to call_out.
  void* core;
  /// In: runs an op native code does not (UnitRequest::call_outs: a trace's CallBuiltin,
  /// or the first of ops holding Str/Array/Hash values, standing for all of them) in the
  /// core. Before the call the unit has stored its state as for an exit at that op (every
  /// named slot, its stack with exit_depth values, resume_ip the op). Returns 0 when the
  /// unit goes on after the op: `slots` (which may have moved) hold the state after it
  /// and `stack` the AbiCallOut's `depth` values, every value a scalar the unit reloads
  /// with tag guards; 1 when the interpreter takes over (kExitTaken). Must not throw.
  uint32_t (*call_out)(void* core, VmUnitFrame* frame);
};

/// How a kUnitFn returned.
enum FnExit : uint32_t {
  /// The function returned: FnFrame::result holds its value when has_result is 1.
  kFnReturned = 0,
  /// Native code bailed out: FnFrame::record was called once per native frame, innermost
  /// first, and the interpreter continues from those frames (see FnRecord).
  kFnBailed = 1,
};

/// One native frame's state at a bail-out, which the core turns into an interpreter
/// frame. The pointers are valid only during the FnFrame::record call.
struct FnRecord {
  uint64_t ip;            ///< innermost: where the interpreter resumes; else its Call op
  uint32_t reason;        ///< innermost: kExitLeft/kExitDeopt/kExitPoll; else kExitCallee
  uint32_t num_slots;     ///< `slots` holds slots 0 .. num_slots-1
  const AbiValue* slots;  ///< the frame's slots
  const AbiValue* stack;  ///< the frame's operand stack, bottom first (a caller's without
                          ///< the arguments, which belong to the callee's frame)
  uint32_t depth;         ///< values in `stack`
  uint32_t pad;
};

/// The state a kUnitFn shares with the core for one call from the interpreter.
struct FnFrame {
  /// In: the arguments, bottom first, tagged as UnitRequest::entry_stack_tags.
  const AbiValue* args;
  /// In: the VM's poll flag, read at every call and taken jump.
  const uint8_t* poll;
  /// In: the interpreter's value stack height below the called frame's region.
  uint64_t base;
  /// In: the VM's value stack limit. Before each native call the caller checks that the
  /// callee's deepest stack fits (base + UnitResult::max_exit_stack for the first).
  uint64_t max_stack;
  /// In: the native call depth at which a Call bails out to the interpreter instead (the
  /// call depth limit, or a cap on native recursion): the first frame has depth 1.
  uint64_t depth_room;
  /// In: passed back to `record`.
  void* core;
  /// In: called for each native frame at a bail-out; must not throw.
  void (*record)(void* core, const FnRecord* record);
  /// Out (kFnReturned): the returned value, if has_result.
  AbiValue result;
  /// Out (kFnReturned): 1 after ReturnValue, 0 after Return.
  uint32_t has_result;
  uint32_t pad;
};

/// Most operands a lowered extension op's C function takes (after the op's operand).
inline constexpr uint32_t kMaxLoweringArgs = 6;

/// An `Extended` op native code runs by calling a C function (fusevm::JitLowering):
/// `R f(int64_t arg, A0, A1, ...)` with Int int64_t, Float double, Bool bool. Code that
/// calls one bakes its address in, so the core keeps such units out of the object cache.
struct AbiLowering {
  uint16_t ext_id;
  uint8_t num_args;                 ///< operands popped, at most kMaxLoweringArgs
  uint8_t result;                   ///< AbiTag (Bool, Int, Float) pushed, or kTagUnused
  uint8_t args[kMaxLoweringArgs];   ///< operand AbiTags, bottom first
  uint8_t pad[6];
  const char* symbol;               ///< the function's name
  uint64_t address;                 ///< the function
};
static_assert(sizeof(AbiLowering) == 32);

/// kUnitVm: an op native code has the core run (VmUnitFrame::call_out) — a trace's
/// CallBuiltin, or the first of a run of ops native code does not hold (Str, Array or
/// Hash values on the stack or in the slots they name, ops no unit runs), standing for
/// the whole run — after which native code goes on at the next op with `depth` values
/// on its stack (the entry values included), tagged call_out_tags[tags .. tags + depth)
/// (Undef, Bool, Int, Float: each one guarded). A call-out op names no slots for the unit.
struct AbiCallOut {
  uint32_t depth;  ///< kNoCallOut: the op is not a call-out
  uint32_t tags;
};
/// AbiCallOut::depth of an op that is not a call-out.
inline constexpr uint32_t kNoCallOut = UINT32_MAX;

/// Flags of a UnitRequest.
enum UnitFlags : uint32_t {
  kDumpIr = 1u << 0,    ///< put the optimised LLVM IR in UnitResult::dump
  kDumpAsm = 1u << 1,   ///< put the machine code's assembly in UnitResult::dump
  kWantObject = 1u << 2,  ///< put the relocatable object file in UnitResult::object (for
                          ///< the on-disk cache, reloaded with PluginApi::load_object)
};

/// A compile job. Everything it points to stays valid for the duration of compile().
struct UnitRequest {
  uint32_t kind;              ///< UnitKind
  uint32_t flags;             ///< UnitFlags
  const AbiOp* ops;           ///< the unit's ops; jump targets index this array
  uint64_t num_ops;
  const AbiConst* consts;     ///< the chunk's constant pool
  uint64_t num_consts;
  uint32_t result_is_float;   ///< kUnitLinear: the result type the core's validation found
  uint32_t num_slots;         ///< highest slot referenced + 1 (0: no slot ops)
  const char* name;           ///< unique symbol name for the function (e.g. fusevm_lin_<hash>)
  // kUnitVm and kUnitFn only (zero otherwise; kUnitFn ignores the range and slot_tags).
  // Jump targets in `ops` are absolute chunk ips, and `ops` is the whole chunk, so
  // targets outside the range are exits, not errors.
  uint32_t vm_tier;           ///< VmTier
  uint32_t entry_depth;       ///< values on the stack at entry (see VmUnitFrame::stack)
  uint64_t range_begin;       ///< first op of the unit
  uint64_t range_end;         ///< one past its last op
  uint64_t entry_ip;          ///< where native code starts, in [range_begin, range_end)
  const uint8_t* slot_tags;   ///< num_slots entries: AbiTag at entry, or kTagUnused
  const uint8_t* entry_stack_tags;  ///< entry_depth AbiTags
  /// kUnitVm and kUnitFn: the Extended ids native code runs itself (no two alike).
  const AbiLowering* lowerings;
  uint32_t num_lowerings;
  /// kUnitVm: null, or one byte per op of `ops`: non-zero where taking the op's jump does
  /// not poll (a trace's own jumps standing for ops that fall through when interpreted).
  const uint8_t* quiet_jumps;
  /// kUnitVm: null, or one AbiCallOut per op of `ops`, and the tags they index.
  const AbiCallOut* call_outs;
  const uint8_t* call_out_tags;
  uint64_t num_call_out_tags;
};

/// A compile job's outcome.
struct UnitResult {
  void* entry;                ///< the function, or null if compilation failed
  uint64_t compile_ns;        ///< wall time spent in the plugin
  uint64_t code_bytes;        ///< size of the emitted machine code (0 if unknown)
  char reason[256];           ///< why it failed (NUL-terminated), empty on success
  char* dump;                 ///< requested dumps (malloc'd, NUL-terminated) or null;
                              ///< the core releases it with PluginApi::free_text
  uint32_t max_exit_stack;    ///< kUnitVm: most values any exit stores into VmUnitFrame::stack;
                              ///< kUnitFn: the function's deepest operand stack
  char* object;               ///< kWantObject: the object file (malloc'd) or null;
                              ///< the core releases it with PluginApi::free_text
  uint64_t object_size;       ///< bytes in `object`
};

/// Options for a plugin engine.
struct EngineOptions {
  uint32_t perf_map;          ///< 0 none, 1 /tmp/perf-PID.map, 2 jitdump
  uint32_t gdb;               ///< register code with GDB's JIT interface
};

/// The plugin's entry points. One engine is driven by one thread at a time (the core's
/// compile thread); functions it returns may be called from any thread until destroy().
struct PluginApi {
  uint32_t abi_version;         ///< kAbiVersion the plugin was built with
  const char* llvm_version;     ///< e.g. "19.1.7"
  /// A new engine, or null with a message in `error`.
  void* (*create)(const EngineOptions* options, char* error, size_t error_size);
  /// Free an engine and all code it compiled.
  void (*destroy)(void* engine);
  /// Compile one unit; returns 1 on success (result->entry set), 0 on failure.
  int (*compile)(void* engine, const UnitRequest* request, UnitResult* result);
  /// Release UnitResult::dump or UnitResult::object.
  void (*free_text)(char* text);
  /// Link an object file that compile() produced (kWantObject), possibly in another
  /// process, and look up the function `name` in it; returns 1 with result->entry set, or
  /// 0 with result->reason. The bytes are copied.
  int (*load_object)(void* engine, const char* name, const void* bytes, uint64_t size,
                     UnitResult* result);
  /// What makes an object file usable only on this host: target triple, CPU name and
  /// features (NUL-terminated; owned by the engine). Part of the object cache's key.
  const char* (*target_key)(void* engine);
};

}  // namespace fusevm::jit_abi

extern "C" {
/// The plugin's entry point (see kEntrySymbol).
const fusevm::jit_abi::PluginApi* fusevm_jit_plugin();
}
