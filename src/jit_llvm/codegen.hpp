// Machine code for units: host TargetMachines, the block tier's passes, object/asm emission.
#pragma once

#include <memory>
#include <string>

#include <llvm/ADT/SmallVector.h>

namespace llvm {
class Module;
class TargetMachine;
}  // namespace llvm

namespace fusevm::jit_llvm {

/// Registers the native target with LLVM once per process (thread-safe).
void initialize_native_target();

/// A TargetMachine for the host CPU: CodeGenOptLevel::None when `optimize` is false (the
/// linear tier), Default otherwise. Null, with `error`, if the host is not supported.
/// A TargetMachine is used by one thread at a time (never shared concurrently).
std::unique_ptr<llvm::TargetMachine> create_host_target_machine(bool optimize, std::string& error);

/// Runs the block tier's short function pass list (SROA, EarlyCSE, SimplifyCFG,
/// InstCombine, LoopRotate, LICM, IndVars, GVN, DCE) on `module`. The pipeline is built for
/// this call only: a built pipeline must not run twice.
void optimize_block_module(llvm::Module& module, llvm::TargetMachine& tm);

/// Emits `module` as an ELF object (`assembly` false) or as assembly text into `out`.
/// False, with `error`, if the target cannot emit it.
bool emit_machine_code(llvm::Module& module, llvm::TargetMachine& tm, bool assembly,
                       llvm::SmallVectorImpl<char>& out, std::string& error);

}  // namespace fusevm::jit_llvm
