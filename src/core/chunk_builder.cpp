// ChunkBuilder (spec/chunk-and-vm.md §2): emits ops, fills the pools, patches jumps.
#include <string>

#include "fusevm/chunk.hpp"

namespace fusevm {

namespace {

// The reference truncates pool indices to u16 and silently aliases entry 0 past 65,536
// entries; we refuse instead (spec §10).
void check_pool(size_t size, const char* pool) {
  if (size >= kMaxPoolEntries) {
    throw Error(std::string(pool) + " pool full: more than " + std::to_string(kMaxPoolEntries) +
                " entries (indices are u16)");
  }
}

}  // namespace

size_t ChunkBuilder::emit(Op op, uint32_t line) {
  chunk_.ops.push_back(op);
  chunk_.lines.push_back(line);
  return chunk_.ops.size() - 1;
}

uint16_t ChunkBuilder::add_constant(Value v) {
  check_pool(chunk_.constants.size(), "constant");
  chunk_.constants.push_back(std::move(v));
  return static_cast<uint16_t>(chunk_.constants.size() - 1);
}

uint16_t ChunkBuilder::add_name(std::string_view name) {
  std::string key(name);
  if (auto it = name_index_.find(key); it != name_index_.end()) return it->second;
  check_pool(chunk_.names.size(), "name");
  auto index = static_cast<uint16_t>(chunk_.names.size());
  chunk_.names.push_back(key);
  name_index_.emplace(std::move(key), index);
  return index;
}

void ChunkBuilder::patch_jump(size_t op_index, uint64_t target) {
  // Only the five contiguous Jump* ops (ORDER JUMP in op.hpp) are patchable; fused
  // jumps and ExtendedWide are not. An out-of-range index fails with the same text.
  auto first = static_cast<uint8_t>(OpCode::Jump);
  auto last = static_cast<uint8_t>(OpCode::JumpIfFalseKeep);
  if (op_index >= chunk_.ops.size() ||
      static_cast<uint8_t>(chunk_.ops[op_index].code()) < first ||
      static_cast<uint8_t>(chunk_.ops[op_index].code()) > last) {
    throw Error("patch_jump on non-jump op at " + std::to_string(op_index));
  }
  chunk_.ops[op_index].set_target(target);
}

void ChunkBuilder::add_sub_entry(uint16_t name_index, uint64_t ip) {
  chunk_.sub_entries.emplace_back(name_index, ip);
}

uint16_t ChunkBuilder::add_block_range(uint64_t start, uint64_t end) {
  check_pool(chunk_.block_ranges.size(), "block range");
  chunk_.block_ranges.emplace_back(start, end);
  return static_cast<uint16_t>(chunk_.block_ranges.size() - 1);
}

uint16_t ChunkBuilder::add_sub_chunk(Chunk chunk) {
  check_pool(chunk_.sub_chunks.size(), "sub-chunk");
  chunk_.sub_chunks.push_back(std::move(chunk));
  return static_cast<uint16_t>(chunk_.sub_chunks.size() - 1);
}

void ChunkBuilder::set_source(std::string name) { chunk_.source = std::move(name); }

Chunk ChunkBuilder::build() {
  chunk_.op_hash = chunk_.compute_op_hash();
  Chunk out = std::move(chunk_);
  // A moved-from vector is only "valid but unspecified": reset explicitly.
  chunk_ = Chunk{};
  name_index_.clear();
  return out;
}

}  // namespace fusevm
