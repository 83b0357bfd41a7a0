// Constant-pool and hash views shared by the tiers' caches.
#include "jit/unit_cache.hpp"

#include <cstring>

namespace fusevm::jit {

jit_abi::AbiConst abi_constant(const Value& v) {
  jit_abi::AbiConst c{};
  if (v.is_int()) {
    c.kind = jit_abi::kConstInt;
    c.bits = static_cast<uint64_t>(v.as_int());
  } else if (v.is_float()) {
    c.kind = jit_abi::kConstFloat;
    double d = v.as_float();
    std::memcpy(&c.bits, &d, 8);
  }
  return c;
}

std::vector<jit_abi::AbiConst> abi_constants(const Chunk& chunk) {
  std::vector<jit_abi::AbiConst> out;
  out.reserve(chunk.constants.size());
  for (const Value& v : chunk.constants) out.push_back(abi_constant(v));
  return out;
}

uint64_t code_hash(const Chunk& chunk) { return chunk.op_hash != 0 ? chunk.op_hash : chunk.compute_op_hash(); }

}  // namespace fusevm::jit
