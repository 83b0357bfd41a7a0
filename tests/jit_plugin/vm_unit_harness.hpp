// Test harness for kUnitVm: hand-built requests, runs on a VmUnitFrame, and the real
// interpreter stepped op by op to check that it passes through the unit's exit state.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fusevm/op.hpp"
#include "fusevm/value.hpp"
#include "jit_abi/plugin_abi.hpp"
#include "plugin_harness.hpp"

namespace fusevm::jit_plugin_test {

/// A kUnitVm compile job plus the state it is entered with.
struct VmJob {
  std::vector<Op> ops;           ///< the whole chunk
  std::vector<Value> consts;     ///< the chunk's constants (Int/Float become AbiConsts)
  uint64_t range_begin = 0;
  uint64_t range_end = UINT64_MAX;  ///< UINT64_MAX: ops.size()
  uint64_t entry_ip = 0;
  uint32_t tier = jit_abi::kVmTierBlock;
  uint32_t flags = 0;
  std::vector<Value> slots;      ///< the frame's slots at entry (num_slots = their count)
  std::vector<Value> stack;      ///< the entry stack values, bottom first
  /// Overrides of what the request says (malformed-request tests); empty: from the values.
  std::optional<std::vector<uint8_t>> slot_tags;
  std::optional<std::vector<uint8_t>> stack_tags;
  std::optional<uint32_t> num_slots;
  std::optional<uint32_t> entry_depth;
  bool null_slot_tags = false;
  /// kUnitVm, or kUnitFn (a compiled function: entry_ip is the sub, `stack` its arguments;
  /// Call ops must carry their callee's entry in `wide`).
  uint32_t kind = jit_abi::kUnitVm;
};

/// A compiled VM unit.
struct VmUnit {
  bool ok = false;
  void* entry = nullptr;
  std::string reason;
  std::string dump;
  uint32_t max_exit_stack = 0;
  uint64_t code_bytes = 0;
  std::string name;    ///< the function's symbol
  std::string object;  ///< the object file, with kWantObject
};

/// What one call of a VM unit left in its frame.
struct VmExitState {
  uint32_t returned = 0;      ///< the function's return value
  uint32_t reason = 0;        ///< VmUnitFrame::exit_reason
  uint64_t resume_ip = 0;
  uint32_t depth = 0;
  std::vector<jit_abi::AbiValue> slots;  ///< the whole slot array after the call
  std::vector<jit_abi::AbiValue> stack;  ///< the exit stack (depth values)
};

/// `v` as native code sees it (payload bits and tag).
jit_abi::AbiValue abi(const Value& v);
/// Same tag and payload bits, except that any two Float NaNs are equal (ARCHITECTURE §9).
bool same_value(const jit_abi::AbiValue& a, const jit_abi::AbiValue& b);
/// "Int(5)", "Float(2.5 bits=...)", "Bool(1)", "Undef", "tag#N(bits)".
std::string describe(const jit_abi::AbiValue& v);

/// Compiles `job` as a kUnitVm in `engine` (a fresh unique function name each time).
VmUnit compile_vm(Engine& engine, const VmJob& job);

/// Runs `unit` once, entered with the job's slots and stack; `poll` is the flag's value.
/// The stack buffer is checked for writes past max_exit_stack.
VmExitState run_vm(const VmUnit& unit, const VmJob& job, bool poll = false);

/// Steps the real interpreter (fusevm::VM, fuel 1 per run) from the job's entry state and
/// succeeds if it passes through `exit`'s resume_ip with the same slots and stack.
::testing::AssertionResult interpreter_passes_through(const VmJob& job, const VmExitState& exit,
                                                      size_t max_steps = 200000);

}  // namespace fusevm::jit_plugin_test
