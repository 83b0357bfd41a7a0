// Facts read back from a unit's object file: sizes, and what loading a cached object checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fusevm::jit_llvm {

/// What the engine reports about an emitted object.
struct ObjectFacts {
  uint64_t code_bytes = 0;   ///< bytes of all executable sections
  uint64_t symbol_size = 0;  ///< st_size of the unit's function symbol (0 if absent)
  bool has_function = false; ///< the object defines `symbol` as a function
  bool relocatable = false;  ///< a relocatable object (not an executable or shared object)
  unsigned arch = 0;         ///< llvm::Triple::ArchType the object was built for
};

/// Checks, with bounds-checked reads only, that [data, data+size) is a well-formed ELF64
/// little-endian object: every section, name, symbol and relocation lies inside the file
/// and refers to sections and symbols that exist. False, with `error`, otherwise. Bytes
/// from outside (the object cache) must pass this before any other reader sees them:
/// LLVM's convenience accessors (and JITLink) abort on malformed input.
bool validate_object(const char* data, size_t size, std::string& error);

/// Reads `facts` from the ELF object in [data, data+size). False, with `error`, if the
/// bytes are not an object LLVM can parse.
bool inspect_object(const char* data, size_t size, const char* symbol, ObjectFacts& facts,
                    std::string& error);

}  // namespace fusevm::jit_llvm
