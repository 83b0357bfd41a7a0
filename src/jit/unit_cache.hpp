// Cache of compiled units keyed by op_hash, with the ops and constants compared on every
// hit so a hash collision or an unset hash can never run another chunk's code
// (spec/jit.md §1.10 "Do", quirk Q14).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

#include "fusevm/chunk.hpp"
#include "jit_abi/plugin_abi.hpp"

namespace fusevm::jit {

/// A constant as units see it: numbers by bits, anything else as "other" (no unit may
/// load it, so its content cannot change the code). Padding is zero.
jit_abi::AbiConst abi_constant(const Value& v);
/// The constant pool as units see it.
std::vector<jit_abi::AbiConst> abi_constants(const Chunk& chunk);
/// chunk.op_hash, or the hash computed now when the chunk was built by hand (0).
uint64_t code_hash(const Chunk& chunk);

/// Units of one tier. `Entry` holds the tier's per-unit state. Not thread-safe: the
/// owner locks.
template <typename Entry>
class UnitCache {
 public:
  /// The entry for `chunk`'s code, or nullptr.
  Entry* find(const Chunk& chunk, uint64_t hash) {
    auto range = map_.equal_range(hash);
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second->ops == chunk.ops && same_constants(it->second->consts, chunk)) return &it->second->entry;
    }
    return nullptr;
  }
  /// The entry for `chunk`'s code, created (value-initialised) if missing.
  Entry& find_or_add(const Chunk& chunk, uint64_t hash) {
    if (Entry* e = find(chunk, hash)) return *e;
    auto slot = std::make_unique<Slot>();
    slot->ops = chunk.ops;
    slot->consts = abi_constants(chunk);
    Entry& e = slot->entry;
    map_.emplace(hash, std::move(slot));
    return e;
  }
  /// Forget everything.
  void clear() { map_.clear(); }

 private:
  struct Slot {
    std::vector<Op> ops;
    std::vector<jit_abi::AbiConst> consts;
    Entry entry{};
  };
  static bool same_constants(const std::vector<jit_abi::AbiConst>& a, const Chunk& chunk) {
    if (a.size() != chunk.constants.size()) return false;
    for (size_t k = 0; k < a.size(); ++k) {
      jit_abi::AbiConst b = abi_constant(chunk.constants[k]);
      if (std::memcmp(&a[k], &b, sizeof b) != 0) return false;
    }
    return true;
  }
  std::unordered_multimap<uint64_t, std::unique_ptr<Slot>> map_;
};

}  // namespace fusevm::jit
