// Chunk: sub lookup, op_hash (spec/chunk-and-vm.md §1.1), deep copy and structural equality.
#include <string>

#include "fusevm/chunk.hpp"

namespace fusevm {

namespace {

void put_le(std::string& out, uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

std::optional<uint64_t> Chunk::find_sub(uint16_t name_index) const {
  // First match wins, as in the reference (duplicate entries are allowed).
  for (const auto& [name, ip] : sub_entries) {
    if (name == name_index) return ip;
  }
  return std::nullopt;
}

std::optional<uint16_t> Chunk::find_name(std::string_view name) const {
  for (size_t k = 0; k < names.size(); ++k) {
    if (names[k] == name) return static_cast<uint16_t>(k);
  }
  return std::nullopt;
}

uint64_t Chunk::compute_op_hash() const {
  // The byte stream of spec §1.1: lengths and enum indices as 8 LE bytes, operands at
  // their natural width, then each constant's Value stream. Names, lines, sub entries,
  // block ranges, sub-chunks and source are deliberately not hashed.
  std::string bytes;
  bytes.reserve(16 + ops.size() * 20);
  put_le(bytes, ops.size(), 8);
  for (const Op& op : ops) {
    put_le(bytes, static_cast<uint8_t>(op.code()), 8);
    // An opcode outside the table (only constructible by casting) has no operands to hash.
    if (static_cast<size_t>(op.code()) >= kNumOps) continue;
    const OpInfo& info = op.info();
    for (size_t i = 0; i < info.num_operands; ++i) {
      put_le(bytes, op.raw_operand(i), operand_width(info.kinds[i]));
    }
  }
  put_le(bytes, constants.size(), 8);
  for (const Value& v : constants) v.hash_bytes(bytes);
  return siphash13(bytes.data(), bytes.size());
}

Chunk Chunk::deep_copy() const {
  Chunk out;
  out.ops = ops;
  out.constants.reserve(constants.size());
  for (const Value& v : constants) out.constants.push_back(v.deep_copy());
  out.names = names;
  out.lines = lines;
  out.sub_entries = sub_entries;
  out.block_ranges = block_ranges;
  out.sub_chunks.reserve(sub_chunks.size());
  for (const Chunk& c : sub_chunks) out.sub_chunks.push_back(c.deep_copy());
  out.source = source;
  out.op_hash = op_hash;
  return out;
}

bool operator==(const Chunk& a, const Chunk& b) {
  if (a.ops != b.ops || a.names != b.names || a.lines != b.lines ||
      a.sub_entries != b.sub_entries || a.block_ranges != b.block_ranges ||
      a.source != b.source || a.op_hash != b.op_hash) {
    return false;
  }
  if (a.constants.size() != b.constants.size()) return false;
  for (size_t i = 0; i < a.constants.size(); ++i) {
    // identical(), not ==: a NaN constant must equal itself and 0.0 must differ from -0.0.
    if (!identical(a.constants[i], b.constants[i])) return false;
  }
  if (a.sub_chunks.size() != b.sub_chunks.size()) return false;
  for (size_t i = 0; i < a.sub_chunks.size(); ++i) {
    if (!(a.sub_chunks[i] == b.sub_chunks[i])) return false;
  }
  return true;
}

}  // namespace fusevm
