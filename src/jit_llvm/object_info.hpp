// Facts read back from a unit's object file: machine-code size and the function's size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fusevm::jit_llvm {

/// What the engine reports about an emitted object.
struct ObjectFacts {
  uint64_t code_bytes = 0;   ///< bytes of all executable sections
  uint64_t symbol_size = 0;  ///< st_size of the unit's function symbol (0 if absent)
};

/// Reads `facts` from the ELF object in [data, data+size). False, with `error`, if the
/// bytes are not an object LLVM can parse.
bool inspect_object(const char* data, size_t size, const char* symbol, ObjectFacts& facts,
                    std::string& error);

}  // namespace fusevm::jit_llvm
