// What JitCompiler's source files share (jit_compiler.cpp, jit_compiler_trace.cpp,
// trace_lookup.cpp).
#pragma once

#include <memory>
#include <vector>

#include "fusevm/jit.hpp"
#include "jit/vm_units.hpp"

namespace fusevm::jit {

/// How the registered extensions lower `chunk`'s Extended ops (the shared_ptrs alias
/// extensions the JitCompiler owns; they outlive the call).
Lowerings owned_lowerings(const Chunk& chunk, const std::vector<std::unique_ptr<JitExtension>>& owned);

/// The calling thread's tracing configuration (spec/jit.md §1.6: per thread).
TraceJitConfig& thread_trace_config();

}  // namespace fusevm::jit
