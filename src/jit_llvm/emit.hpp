// IR builders of the unit kinds: each fills a fresh module with one function for a unit.
#pragma once

#include <string>

#include "jit_abi/plugin_abi.hpp"

namespace llvm {
class Module;
}

namespace fusevm::jit_llvm {

/// spec/jit.md §2: `i64|double name(ptr slots)`, straight-line code with the reference's
/// typing. False, with `reason`, if the unit cannot compile.
bool build_linear(llvm::Module& module, const jit_abi::UnitRequest& request, std::string& reason);

/// spec/jit.md §3: `i64 name(ptr slots, ptr bailed)` over the unit's CFG, slots promoted to
/// SSA and written back only at the normal return. False, with `reason`, if it cannot compile.
bool build_block(llvm::Module& module, const jit_abi::UnitRequest& request, std::string& reason);

/// kUnitVm: `i32 name(ptr frame)` over [range_begin, range_end), kind-exact (vm_kinds.hpp),
/// leaving through VmUnitFrame. `max_exit_stack` gets the most values any exit stores.
/// kUnitFn: `i32 name(ptr FnFrame)` and one internal function per (sub, argument kinds)
/// the sub calls, directly or not; `max_exit_stack` gets the sub's deepest stack.
/// False, with `reason`, only for a malformed request.
bool build_vm(llvm::Module& module, const jit_abi::UnitRequest& request, uint32_t& max_exit_stack,
              std::string& reason);

}  // namespace fusevm::jit_llvm
