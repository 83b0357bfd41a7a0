// JIT code memory: units carved from reserved slabs, with failed links that can never unmap a live slab.
#pragma once

#include <cstddef>
#include <memory>

#include <llvm/ExecutionEngine/JITLink/JITLinkMemoryManager.h>
#include <llvm/Support/Error.h>

namespace fusevm::jit_llvm {

/// ORC's MapperJITLinkMemoryManager over in-process memory reserved `slab_bytes` at a
/// time (committed only as pages are touched), except that the memory of a link that
/// fails after allocation stays reserved until the manager is destroyed instead of being
/// released. LLVM 19 releases it as if the allocation were a whole reservation: when it
/// is the first in its slab, the slab is unmapped while the manager keeps handing out
/// the rest of it, and the next link writes into unmapped memory.
llvm::Expected<std::unique_ptr<llvm::jitlink::JITLinkMemoryManager>> create_slab_memory_manager(
    size_t slab_bytes);

}  // namespace fusevm::jit_llvm
