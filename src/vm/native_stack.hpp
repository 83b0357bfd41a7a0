// Guard for native recursion: block activations, VM::call and child VMs nest C++ frames.
#pragma once

#include <cstddef>

namespace fusevm {

/// Bytes of this thread's native stack kept free for the host program and handlers.
inline constexpr size_t kNativeStackReserve = size_t(256) << 10;

/// False when fewer than kNativeStackReserve bytes of this thread's stack remain, so
/// nesting one more activation could overflow it. The VM's call-depth limit bounds
/// interpreted calls (they use no native stack); this bounds the nestings that do.
bool native_stack_ok();

/// Usable bytes of this thread's stack (its size minus the reserve), for messages.
size_t native_stack_budget();

}  // namespace fusevm
