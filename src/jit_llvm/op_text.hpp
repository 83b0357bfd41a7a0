// Text for failure reasons (opcode mnemonics, printf-style formatting), free of LLVM headers.
#pragma once

#include <cstdint>
#include <string>

namespace fusevm::jit_llvm {

/// Mnemonic of an opcode for messages ("op#200" when the code is unknown).
std::string op_label(uint8_t code);

/// printf-style formatting for failure reasons.
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace fusevm::jit_llvm
