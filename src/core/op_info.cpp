// The opcode table (kOpInfo) generated from ops.def, operand access, and the constant-name tables.
#include <algorithm>
#include <array>
#include <string>

#include "fusevm/error.hpp"
#include "fusevm/op.hpp"

namespace fusevm {

const OpInfo kOpInfo[kNumOps] = {
#define FUSEVM_OP0(N_, po, pu, fl) {#N_, po, pu, fl, 0, {}, {}},
#define FUSEVM_OP1(N_, po, pu, fl, k1, n1) {#N_, po, pu, fl, 1, {OperandKind::k1}, {#n1}},
#define FUSEVM_OP2(N_, po, pu, fl, k1, n1, k2, n2) \
  {#N_, po, pu, fl, 2, {OperandKind::k1, OperandKind::k2}, {#n1, #n2}},
#define FUSEVM_OP3(N_, po, pu, fl, k1, n1, k2, n2, k3, n3) \
  {#N_, po, pu, fl, 3, {OperandKind::k1, OperandKind::k2, OperandKind::k3}, {#n1, #n2, #n3}},
#define FUSEVM_OP4(N_, po, pu, fl, k1, n1, k2, n2, k3, n3, k4, n4)                          \
  {#N_, po, pu, fl, 4, {OperandKind::k1, OperandKind::k2, OperandKind::k3, OperandKind::k4}, \
   {#n1, #n2, #n3, #n4}},
#include "fusevm/ops.def"
};

namespace {

// Mnemonics sorted by name, for binary search (the assembler looks up every line).
using NameIndex = std::array<std::pair<std::string_view, OpCode>, kNumOps>;

NameIndex build_name_index() {
  NameIndex idx{};
  for (size_t i = 0; i < kNumOps; ++i) idx[i] = {kOpInfo[i].name, static_cast<OpCode>(i)};
  std::sort(idx.begin(), idx.end());
  return idx;
}

// Where operand `i` of `info` is stored: the storage class and, for Small, its slot.
struct OperandLocation {
  OperandKind kind;
  OperandStorage storage;
  size_t small_slot;
};

OperandLocation locate(OpCode code, size_t i) {
  if (static_cast<size_t>(code) >= kNumOps) {
    throw Error("operand access on unknown opcode " + std::to_string(static_cast<int>(code)));
  }
  const OpInfo& info = op_info(code);
  if (i >= info.num_operands) {
    throw Error("operand " + std::to_string(i) + " of " + std::string(info.name) +
                " does not exist (" + std::to_string(info.num_operands) + " operands)");
  }
  size_t slot = 0;
  for (size_t j = 0; j < i; ++j) {
    if (operand_storage(info.kinds[j]) == OperandStorage::Small) ++slot;
  }
  return {info.kinds[i], operand_storage(info.kinds[i]), slot};
}

uint64_t width_mask(OperandKind k) {
  size_t w = operand_width(k);
  return w >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * w)) - 1;
}

}  // namespace

std::optional<OpCode> op_from_name(std::string_view name) {
  static const NameIndex index = build_name_index();
  auto it = std::lower_bound(index.begin(), index.end(), name,
                             [](const auto& entry, std::string_view n) { return entry.first < n; });
  if (it == index.end() || it->first != name) return std::nullopt;
  return it->second;
}

std::string_view operand_kind_name(OperandKind k) {
  switch (k) {
    case OperandKind::I64: return "I64";
    case OperandKind::F64: return "F64";
    case OperandKind::Const: return "Const";
    case OperandKind::Name: return "Name";
    case OperandKind::Slot: return "Slot";
    case OperandKind::Count: return "Count";
    case OperandKind::Block: return "Block";
    case OperandKind::SubChunk: return "SubChunk";
    case OperandKind::Id: return "Id";
    case OperandKind::Argc: return "Argc";
    case OperandKind::N: return "N";
    case OperandKind::Arg: return "Arg";
    case OperandKind::Fd: return "Fd";
    case OperandKind::RedirOp: return "RedirOp";
    case OperandKind::FileTest: return "FileTest";
    case OperandKind::ParamMod: return "ParamMod";
    case OperandKind::Limit: return "Limit";
    case OperandKind::Target: return "Target";
    case OperandKind::Payload: return "Payload";
  }
  return "?";
}

bool Op::has_target() const {
  if (static_cast<size_t>(code_) >= kNumOps) return false;
  const OpInfo& info = op_info(code_);
  for (size_t i = 0; i < info.num_operands; ++i) {
    if (info.kinds[i] == OperandKind::Target) return true;
  }
  return false;
}

uint64_t Op::raw_operand(size_t i) const {
  OperandLocation loc = locate(code_, i);
  switch (loc.storage) {
    case OperandStorage::Small: return small_[loc.small_slot];
    case OperandStorage::I32: return static_cast<uint64_t>(static_cast<int64_t>(i32_));
    case OperandStorage::Wide: return wide_;
  }
  return 0;
}

void Op::set_raw_operand(size_t i, uint64_t raw) {
  OperandLocation loc = locate(code_, i);
  raw &= width_mask(loc.kind);
  switch (loc.storage) {
    case OperandStorage::Small: small_[loc.small_slot] = static_cast<uint16_t>(raw); break;
    case OperandStorage::I32: i32_ = static_cast<int32_t>(static_cast<uint32_t>(raw)); break;
    case OperandStorage::Wide: wide_ = raw; break;
  }
}

size_t Op::hash() const {
  // splitmix64-style mixing of every field; unused fields are zero in well-formed ops.
  auto mix = [](uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    return h;
  };
  uint64_t h = static_cast<uint8_t>(code_);
  h = mix(h, (uint64_t{small_[0]} << 32) | (uint64_t{small_[1]} << 16) | small_[2]);
  h = mix(h, static_cast<uint32_t>(i32_));
  h = mix(h, wide_);
  return static_cast<size_t>(h);
}

namespace {

// Looks `name` up in a dense code-indexed table.
template <size_t N>
std::optional<uint8_t> code_of(const std::array<std::string_view, N>& names,
                               std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<uint8_t>(i);
  }
  return std::nullopt;
}

template <size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, uint8_t code) {
  return code < N ? names[code] : std::string_view{};
}

constexpr std::array<std::string_view, 12> kFileTestNames = {
    "IS_FILE",     "IS_DIR",    "IS_READABLE", "IS_WRITABLE", "IS_EXECUTABLE", "EXISTS",
    "IS_NONEMPTY", "IS_SYMLINK", "IS_SOCKET",  "IS_FIFO",     "IS_BLOCK_DEV",  "IS_CHAR_DEV"};

constexpr std::array<std::string_view, 9> kRedirectOpNames = {
    "WRITE",     "APPEND",    "READ",       "READ_WRITE", "CLOBBER",
    "DUP_READ",  "DUP_WRITE", "WRITE_BOTH", "APPEND_BOTH"};

constexpr std::array<std::string_view, 18> kParamModNames = {
    "DEFAULT",     "ASSIGN",      "ERROR",       "ALTERNATE",   "LENGTH",   "STRIP_SHORT",
    "STRIP_LONG",  "RSTRIP_SHORT", "RSTRIP_LONG", "SUBST_FIRST", "SUBST_ALL", "UPPER",
    "LOWER",       "UPPER_FIRST", "LOWER_FIRST", "INDIRECT",    "KEYS",     "SLICE"};

}  // namespace

namespace file_test {
std::string_view name(uint8_t code) { return name_of(kFileTestNames, code); }
std::optional<uint8_t> from_name(std::string_view name) { return code_of(kFileTestNames, name); }
}  // namespace file_test

namespace redirect_op {
std::string_view name(uint8_t code) { return name_of(kRedirectOpNames, code); }
std::optional<uint8_t> from_name(std::string_view name) {
  return code_of(kRedirectOpNames, name);
}
}  // namespace redirect_op

namespace param_mod {
std::string_view name(uint8_t code) { return name_of(kParamModNames, code); }
std::optional<uint8_t> from_name(std::string_view name) { return code_of(kParamModNames, name); }
}  // namespace param_mod

}  // namespace fusevm
