// Chunk (one compiled unit) and ChunkBuilder (spec/chunk-and-vm.md §1–2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fusevm/error.hpp"
#include "fusevm/op.hpp"
#include "fusevm/value.hpp"

namespace fusevm {

/// Largest pool (constants, names, block ranges, sub-chunks): indices are u16.
inline constexpr size_t kMaxPoolEntries = 65536;

/// One compiled unit: ops plus the pools they index. Plain data.
struct Chunk {
  std::vector<Op> ops;                                   ///< the bytecode
  std::vector<Value> constants;                          ///< literal pool
  std::vector<std::string> names;                        ///< name pool (= global ids)
  std::vector<uint32_t> lines;                           ///< source line per op
  std::vector<std::pair<uint16_t, uint64_t>> sub_entries;  ///< (name index, entry op)
  std::vector<std::pair<uint64_t, uint64_t>> block_ranges;  ///< [start, end) per block
  std::vector<Chunk> sub_chunks;                         ///< nested chunks for the host
  std::string source;                                    ///< source file name
  uint64_t op_hash = 0;                                  ///< hash of ops + constants

  /// Entry op of the first sub entry named `name_index`, if any.
  std::optional<uint64_t> find_sub(uint16_t name_index) const;
  /// Index of the first entry of the name pool equal to `name` (a global's id), if any.
  std::optional<uint16_t> find_name(std::string_view name) const;
  /// The op_hash of the current ops and constants (SipHash-1-3, spec §1.1).
  uint64_t compute_op_hash() const;
  /// A copy sharing no heap payload with this chunk (safe to hand to another thread).
  Chunk deep_copy() const;
  /// Every field equal, recursively (constants bitwise, see identical()).
  friend bool operator==(const Chunk& a, const Chunk& b);
  friend bool operator!=(const Chunk& a, const Chunk& b) { return !(a == b); }
};

/// Builds a Chunk op by op (spec/chunk-and-vm.md §2).
class ChunkBuilder {
 public:
  /// An empty builder.
  ChunkBuilder() = default;
  /// Append `op` with its source line; returns its index.
  size_t emit(Op op, uint32_t line);
  /// Append a constant (no de-duplication); returns its index. Throws Error past 65,536.
  uint16_t add_constant(Value v);
  /// Intern a name; returns its index. Throws Error past 65,536.
  uint16_t add_name(std::string_view name);
  /// Number of ops emitted so far.
  size_t current_pos() const { return chunk_.ops.size(); }
  /// Rewrite the target of one of the five jumps at `op_index`; throws Error
  /// "patch_jump on non-jump op at N" otherwise.
  void patch_jump(size_t op_index, uint64_t target);
  /// Append a sub entry (no validation).
  void add_sub_entry(uint16_t name_index, uint64_t ip);
  /// Append a block range; returns its index. Throws Error past 65,536.
  uint16_t add_block_range(uint64_t start, uint64_t end);
  /// Append a nested chunk; returns its index. Throws Error past 65,536.
  uint16_t add_sub_chunk(Chunk chunk);
  /// Set the source file name.
  void set_source(std::string name);
  /// Compute op_hash and return the chunk; the builder is left empty.
  Chunk build();

 private:
  Chunk chunk_;
  std::unordered_map<std::string, uint16_t> name_index_;
};

/// SipHash-1-3 with keys (0, 0) over `bytes` (Rust's DefaultHasher; used by op_hash).
uint64_t siphash13(const void* bytes, size_t len);

}  // namespace fusevm
