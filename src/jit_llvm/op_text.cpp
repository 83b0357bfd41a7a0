// Mnemonics and message formatting for the plugin's failure reasons; no LLVM headers, so
// the planner (vm_kinds.cpp) links without LLVM (tests/jit_planner).
#include "jit_llvm/op_text.hpp"

#include <cstdarg>
#include <cstdio>
#include <string_view>

#include "fusevm/op.hpp"

namespace fusevm::jit_llvm {

namespace {

// Mnemonics straight from the opcode table: the plugin links nothing from the core, so
// it cannot use fusevm::op_name.
constexpr std::string_view kOpNames[] = {
#define FUSEVM_OP(name, pops, pushes, flags) #name,
#include "fusevm/ops.def"
};
static_assert(sizeof(kOpNames) / sizeof(kOpNames[0]) == kNumOps);

}  // namespace

std::string format(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

std::string op_label(uint8_t code) {
  if (code < kNumOps) return std::string(kOpNames[code]);
  return format("op#%u", static_cast<unsigned>(code));
}

}  // namespace fusevm::jit_llvm
