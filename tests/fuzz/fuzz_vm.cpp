// The VM on random chunks the verifier accepts, under limits (fuzz_support.hpp): any
// outcome but a crash, a hang or a leak. The input is an .fvc image (the seeds are real
// programs), or else a compact encoding read by ChunkDecoder below, which reaches far more
// verified chunks than random .fvc bytes: every opcode with operands in range.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using namespace fusevm;

/// Bytes read front to back; zeros once they run out.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint64_t u64() {
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v |= static_cast<uint64_t>(u8()) << (8 * k);
    return v;
  }
  bool done() const { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

/// A chunk from bytes: a few constants and names, up to 200 ops whose operands are mostly
/// in range (slots below 8, jumps inside the chunk), a sub entry and a block range or two.
Chunk decode(Bytes& in) {
  Chunk c;
  const size_t constants = in.u8() % 6;
  for (size_t k = 0; k < constants; ++k) {
    switch (in.u8() % 4) {
      case 0: c.constants.push_back(Value::Int(static_cast<int64_t>(in.u64()))); break;
      case 1: {
        double d;
        const uint64_t bits = in.u64();
        std::memcpy(&d, &bits, sizeof d);
        c.constants.push_back(Value::Float(d));
        break;
      }
      case 2: {
        std::string s(in.u8() % 12, 'a');
        for (char& ch : s) ch = static_cast<char>(in.u8());
        c.constants.push_back(Value::Str(std::move(s)));
        break;
      }
      default: c.constants.push_back(Value::Bool(in.u8() & 1)); break;
    }
  }
  const size_t names = 1 + in.u8() % 4;
  for (size_t k = 0; k < names; ++k) c.names.push_back("n" + std::to_string(k));
  const size_t ops = 1 + in.u8() % 200;
  for (size_t i = 0; i < ops && !in.done(); ++i) {
    Op op(static_cast<OpCode>(in.u8() % kNumOps));
    const OpInfo& info = op.info();
    for (size_t k = 0; k < info.num_operands; ++k) {
      const uint8_t pick = in.u8();
      uint64_t v = 0;
      switch (info.kinds[k]) {
        case OperandKind::I64: case OperandKind::F64: case OperandKind::Payload: v = in.u64(); break;
        case OperandKind::Const: v = pick % (c.constants.empty() ? 1 : c.constants.size()); break;
        case OperandKind::Name: v = pick % names; break;
        case OperandKind::Slot: v = pick % 8; break;
        case OperandKind::Target: v = pick % (ops + 1); break;
        case OperandKind::Limit: v = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(pick)) * 7); break;
        default: v = pick % 4; break;  // counts, ids, codes: small
      }
      op.set_raw_operand(k, v);
    }
    c.ops.push_back(op);
  }
  if (in.u8() & 1) c.sub_entries.emplace_back(0, in.u8() % c.ops.size());
  if (in.u8() & 1) {
    const uint64_t a = in.u8() % c.ops.size(), b = in.u8() % (c.ops.size() + 1);
    c.block_ranges.emplace_back(std::min(a, b), std::max(a, b));
  }
  c.op_hash = c.compute_op_hash();
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  if (is_fvc(bytes)) {  // (resealed: mutated seeds keep a CRC that matches)
    const LoadResult r = read_fvc(size >= 16 ? fusevm_fuzz::resealed(bytes) : std::vector<uint8_t>(data, data + size),
                                  "fuzz.fvc");
    if (r.ok() && verify(*r.chunk).empty()) fusevm_fuzz::run_contained(*r.chunk);
    return 0;
  }
  Bytes in(data, size);
  const Chunk chunk = decode(in);
  if (verify(chunk).empty()) fusevm_fuzz::run_contained(chunk);
  return 0;
}
