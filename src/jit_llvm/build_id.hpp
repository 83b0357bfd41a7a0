// The loaded plugin's own identity, so cached objects never outlive the code generator that made them.
#pragma once

#include <string>

namespace fusevm::jit_llvm {

/// The hex GNU build ID of the shared object that contains this code; when it has none,
/// "file:<size>:<mtime ns>" of that file; "unknown" if neither can be read. A rebuilt plugin
/// may emit different code for the same request, so the object cache keys on this.
std::string plugin_build_id();

}  // namespace fusevm::jit_llvm
