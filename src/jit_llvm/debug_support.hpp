// Debugger and profiler registration of JIT code: GDB's JIT interface and perf jitdump.
#pragma once

#include <memory>
#include <string>

namespace llvm::orc {
class ExecutionSession;
class ObjectLinkingLayer;
}  // namespace llvm::orc

namespace fusevm::jit_llvm {

/// The GDB registrations one engine made.
class GdbRegistrations;

/// Registers every object `layer` links with GDB's JIT interface. Returns the engine's
/// registrations, which withdraw_gdb removes before the code is freed.
std::shared_ptr<GdbRegistrations> enable_gdb(llvm::orc::ObjectLinkingLayer& layer,
                                             llvm::orc::ExecutionSession& es);

/// Removes the engine's entries from GDB's list (LLVM 19 never does): after destroy the
/// entries would point at freed memory.
void withdraw_gdb(GdbRegistrations& registrations);

/// Writes a perf jitdump (under $JITDUMPDIR or $HOME, in .debug/jit/) for every object
/// `layer` links. LLVM keeps one jitdump per process, so only one engine at a time may
/// have it. False, with `error`, if it cannot start.
bool enable_jitdump(llvm::orc::ObjectLinkingLayer& layer, llvm::orc::ExecutionSession& es,
                    std::string& error);

/// Marks the process's jitdump free again; call after the engine's JIT is destroyed.
void release_jitdump();

}  // namespace fusevm::jit_llvm
