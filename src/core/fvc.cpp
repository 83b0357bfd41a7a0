// The binary chunk format (.fvc): writer, bounds-checked reader and magic test.
//
// Layout, all little-endian:
//   header (16 bytes): "FVMC", u32 format version (kFvcVersion), u32 payload length,
//                      u32 CRC-32 (zlib) of the payload
//   payload: one chunk
//   chunk:   source (str), ops, constants, names, lines, sub_entries, block_ranges,
//            sub_chunks — each list as a u32 count followed by its elements
//   str:     u32 byte length + bytes
//   op:      u8 opcode (ops.def order) + each operand at its natural width
//            (operand_width: u8 1, u16 2, i32 4, i64/f64 bits/usize 8)
//   value:   u8 ValueKind + payload: Undef none, Bool u8 (0/1), Int i64, Float u64 bits,
//            Str str, Array u32 count + values, Hash u32 count + (str key, value) in
//            insertion order, Status i32, Ref value, NativeFn u16
//   line: u32; sub entry: u16 name + u64 ip; block range: u64 start + u64 end
// op_hash is not stored: it is recomputed on load, for sub-chunks too.
//
// Reader diagnostics use Diagnostic::line for the 0-based BYTE OFFSET in the file of
// the field that is wrong; once the image decodes, verify() reports by op as usual.
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "fusevm/asm.hpp"

namespace fusevm {

namespace {

constexpr char kMagic[4] = {'F', 'V', 'M', 'C'};
constexpr size_t kHeaderSize = 16;

// Minimum encoded sizes, used to reject counts that cannot fit in the remaining bytes
// before anything is allocated.
constexpr size_t kMinOp = 1, kMinValue = 1, kMinStr = 4, kMinLine = 4, kMinSubEntry = 10,
                 kMinBlockRange = 16, kMinChunk = 32, kMinHashEntry = kMinStr + kMinValue;

uint32_t crc32_of(const uint8_t* data, size_t len) {
  return static_cast<uint32_t>(crc32_z(0L, data, len));
}

// -- Writer -------------------------------------------------------------------------

class FvcWriter {
 public:
  std::vector<uint8_t> out;

  void chunk(const Chunk& c, size_t depth) {
    if (depth > kMaxNesting) {
      throw Error("write_fvc: sub-chunks nested deeper than " + std::to_string(kMaxNesting));
    }
    str(c.source);
    count(c.ops.size(), "ops");
    for (const Op& op : c.ops) {
      auto code = static_cast<size_t>(op.code());
      if (code >= kNumOps) throw Error("write_fvc: unknown opcode " + std::to_string(code));
      u8(static_cast<uint8_t>(code));
      const OpInfo& info = op.info();
      for (size_t i = 0; i < info.num_operands; ++i) {
        le(op.raw_operand(i), operand_width(info.kinds[i]));
      }
    }
    count(c.constants.size(), "constants");
    for (const Value& v : c.constants) value(v, 0);
    count(c.names.size(), "names");
    for (const std::string& n : c.names) str(n);
    count(c.lines.size(), "lines");
    for (uint32_t l : c.lines) le(l, 4);
    count(c.sub_entries.size(), "sub entries");
    for (auto [name, ip] : c.sub_entries) {
      le(name, 2);
      le(ip, 8);
    }
    count(c.block_ranges.size(), "block ranges");
    for (auto [start, end] : c.block_ranges) {
      le(start, 8);
      le(end, 8);
    }
    count(c.sub_chunks.size(), "sub-chunks");
    for (const Chunk& sub : c.sub_chunks) chunk(sub, depth + 1);
  }

 private:
  void u8(uint8_t v) { out.push_back(v); }
  void le(uint64_t v, size_t width) {
    for (size_t i = 0; i < width; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void count(size_t n, const char* what) {
    if (n > std::numeric_limits<uint32_t>::max()) {
      throw Error(std::string("write_fvc: too many ") + what + " for the format");
    }
    le(n, 4);
  }
  void str(std::string_view s) {
    count(s.size(), "string bytes");
    out.insert(out.end(), s.begin(), s.end());
  }

  void value(const Value& v, size_t depth) {
    u8(static_cast<uint8_t>(v.kind()));
    switch (v.kind()) {
      case ValueKind::Undef: break;
      case ValueKind::Bool: u8(v.as_bool() ? 1 : 0); break;
      case ValueKind::Int: le(static_cast<uint64_t>(v.as_int()), 8); break;
      case ValueKind::Float: le(v.raw_bits(), 8); break;
      case ValueKind::Str: str(v.as_str()); break;
      case ValueKind::Status: le(static_cast<uint32_t>(v.as_status()), 4); break;
      case ValueKind::NativeFn: le(v.as_native_fn(), 2); break;
      case ValueKind::Array:
        enter(depth);
        count(v.as_array().size(), "array elements");
        for (const Value& e : v.as_array()) value(e, depth + 1);
        break;
      case ValueKind::Hash:
        enter(depth);
        count(v.as_hash().size(), "hash entries");
        for (const auto& [key, e] : v.as_hash()) {
          str(key);
          value(e, depth + 1);
        }
        break;
      case ValueKind::Ref:
        enter(depth);
        value(v.as_ref(), depth + 1);
        break;
    }
  }
  static void enter(size_t depth) {
    if (depth >= kMaxNesting) {
      throw Error("write_fvc: constant nested deeper than " + std::to_string(kMaxNesting));
    }
  }
};

// -- Reader -------------------------------------------------------------------------

// A decode failure at a byte offset; caught in read_fvc and turned into a Diagnostic.
struct DecodeFailure {
  size_t offset;
  std::string message;
};

class FvcReader {
 public:
  FvcReader(std::span<const uint8_t> bytes, size_t pos) : bytes_(bytes), pos_(pos) {}

  size_t pos() const { return pos_; }

  Chunk chunk(size_t depth) {
    if (depth > kMaxNesting) {
      fail(pos_, "sub-chunks nested deeper than " + std::to_string(kMaxNesting));
    }
    Chunk c;
    c.source = str("source");
    size_t n = count("op", kMinOp);
    c.ops.reserve(n);
    for (size_t i = 0; i < n; ++i) c.ops.push_back(op());
    n = count("constant", kMinValue);
    c.constants.reserve(n);
    for (size_t i = 0; i < n; ++i) c.constants.push_back(value(0));
    n = count("name", kMinStr);
    c.names.reserve(n);
    for (size_t i = 0; i < n; ++i) c.names.push_back(str("name"));
    n = count("line", kMinLine);
    c.lines.reserve(n);
    for (size_t i = 0; i < n; ++i) c.lines.push_back(static_cast<uint32_t>(le(4, "line")));
    n = count("sub entry", kMinSubEntry);
    c.sub_entries.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      auto name = static_cast<uint16_t>(le(2, "sub entry name"));
      c.sub_entries.emplace_back(name, le(8, "sub entry ip"));
    }
    n = count("block range", kMinBlockRange);
    c.block_ranges.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      uint64_t start = le(8, "block range start");
      c.block_ranges.emplace_back(start, le(8, "block range end"));
    }
    n = count("sub-chunk", kMinChunk);
    c.sub_chunks.reserve(n);
    for (size_t i = 0; i < n; ++i) c.sub_chunks.push_back(chunk(depth + 1));
    // Not stored: recomputed for every chunk, sub-chunks included (they run too).
    c.op_hash = c.compute_op_hash();
    return c;
  }

 private:
  [[noreturn]] static void fail(size_t offset, std::string message) {
    throw DecodeFailure{offset, std::move(message)};
  }

  size_t remaining() const { return bytes_.size() - pos_; }

  void need(size_t n, std::string_view what) {
    if (remaining() < n) {
      fail(pos_, "truncated: " + std::string(what) + " needs " + std::to_string(n) +
                     " bytes, " + std::to_string(remaining()) + " left");
    }
  }

  uint64_t le(size_t width, std::string_view what) {
    need(width, what);
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) v |= static_cast<uint64_t>(bytes_[pos_ + i]) << (8 * i);
    pos_ += width;
    return v;
  }

  // A u32 element count, rejected when even minimal elements could not fit.
  size_t count(std::string_view what, size_t min_size) {
    size_t at = pos_;
    uint64_t n = le(4, std::string(what) + " count");
    if (n > remaining() / min_size) {
      fail(at, std::string(what) + " count " + std::to_string(n) + " too large for the " +
                   std::to_string(remaining()) + " bytes left");
    }
    return static_cast<size_t>(n);
  }

  std::string str(std::string_view what) {
    size_t at = pos_;
    uint64_t n = le(4, std::string(what) + " length");
    if (n > remaining()) {
      fail(at, std::string(what) + " length " + std::to_string(n) + " larger than the " +
                   std::to_string(remaining()) + " bytes left");
    }
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(n));
    pos_ += n;
    return s;
  }

  Op op() {
    size_t at = pos_;
    auto code = static_cast<uint8_t>(le(1, "opcode"));
    if (code >= kNumOps) fail(at, "unknown opcode " + std::to_string(code));
    Op o{static_cast<OpCode>(code)};
    const OpInfo& info = op_info(o.code());
    for (size_t i = 0; i < info.num_operands; ++i) {
      std::string what = std::string(info.name) + " operand " + std::string(info.operand_names[i]);
      o.set_raw_operand(i, le(operand_width(info.kinds[i]), what));
    }
    return o;
  }

  Value value(size_t depth) {
    size_t at = pos_;
    auto tag = static_cast<uint8_t>(le(1, "value tag"));
    switch (tag) {
      case static_cast<uint8_t>(ValueKind::Undef): return Value::Undef();
      case static_cast<uint8_t>(ValueKind::Bool): {
        size_t b_at = pos_;
        auto b = static_cast<uint8_t>(le(1, "Bool"));
        if (b > 1) fail(b_at, "bad Bool byte " + std::to_string(b) + " (must be 0 or 1)");
        return Value::Bool(b == 1);
      }
      case static_cast<uint8_t>(ValueKind::Int):
        return Value::Int(static_cast<int64_t>(le(8, "Int")));
      case static_cast<uint8_t>(ValueKind::Float): {
        uint64_t bits = le(8, "Float");
        double d;
        std::memcpy(&d, &bits, 8);
        return Value::Float(d);
      }
      case static_cast<uint8_t>(ValueKind::Str): return Value::Str(str("Str"));
      case static_cast<uint8_t>(ValueKind::Status):
        return Value::Status(static_cast<int32_t>(static_cast<uint32_t>(le(4, "Status"))));
      case static_cast<uint8_t>(ValueKind::NativeFn):
        return Value::NativeFn(static_cast<uint16_t>(le(2, "NativeFn")));
      case static_cast<uint8_t>(ValueKind::Array): {
        enter(at, depth);
        size_t n = count("array element", kMinValue);
        ValueArray elems;
        elems.reserve(n);
        for (size_t i = 0; i < n; ++i) elems.push_back(value(depth + 1));
        return Value::Array(std::move(elems));
      }
      case static_cast<uint8_t>(ValueKind::Hash): {
        enter(at, depth);
        size_t n = count("hash entry", kMinHashEntry);
        HashMap map;
        for (size_t i = 0; i < n; ++i) {
          size_t key_at = pos_;
          std::string key = str("hash key");
          // A duplicate would be silently merged, so the image would not round-trip.
          if (map.contains(key)) fail(key_at, "duplicate hash key \"" + key + "\"");
          Value v = value(depth + 1);
          map.insert_or_assign(std::move(key), std::move(v));
        }
        return Value::Hash(std::move(map));
      }
      case static_cast<uint8_t>(ValueKind::Ref): {
        enter(at, depth);
        return Value::Ref(value(depth + 1));
      }
      default: fail(at, "unknown value tag " + std::to_string(tag));
    }
  }

  static void enter(size_t at, size_t depth) {
    if (depth >= kMaxNesting) {
      fail(at, "constant nested deeper than " + std::to_string(kMaxNesting));
    }
  }

  std::span<const uint8_t> bytes_;
  size_t pos_;
};

uint64_t read_le(std::span<const uint8_t> b, size_t at, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= static_cast<uint64_t>(b[at + i]) << (8 * i);
  return v;
}

LoadResult failure(std::string_view file, size_t offset, std::string message) {
  LoadResult r;
  auto line = static_cast<uint32_t>(
      std::min<size_t>(offset, std::numeric_limits<uint32_t>::max()));
  r.diagnostics.push_back(Diagnostic{std::string(file), line, std::move(message)});
  return r;
}

}  // namespace

std::vector<uint8_t> write_fvc(const Chunk& chunk) {
  FvcWriter w;
  w.chunk(chunk, 0);
  if (w.out.size() > std::numeric_limits<uint32_t>::max()) {
    throw Error("write_fvc: payload larger than 4 GiB");
  }
  std::vector<uint8_t> image;
  image.reserve(kHeaderSize + w.out.size());
  image.insert(image.end(), kMagic, kMagic + 4);
  auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) image.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put32(kFvcVersion);
  put32(static_cast<uint32_t>(w.out.size()));
  put32(crc32_of(w.out.data(), w.out.size()));
  image.insert(image.end(), w.out.begin(), w.out.end());
  return image;
}

bool is_fvc(std::span<const uint8_t> bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), kMagic, 4) == 0;
}

LoadResult read_fvc(std::span<const uint8_t> bytes, std::string_view file) {
  size_t magic_len = std::min<size_t>(bytes.size(), 4);
  if (magic_len > 0 && std::memcmp(bytes.data(), kMagic, magic_len) != 0) {
    return failure(file, 0, "bad magic: not a .fvc file");
  }
  if (bytes.size() < kHeaderSize) {
    return failure(file, bytes.size(), "truncated header: " + std::to_string(kHeaderSize) +
                                           " bytes needed, " + std::to_string(bytes.size()) +
                                           " present");
  }
  auto version = static_cast<uint32_t>(read_le(bytes, 4, 4));
  if (version != kFvcVersion) {
    return failure(file, 4, "unsupported .fvc format version " + std::to_string(version) +
                                " (this build reads version " + std::to_string(kFvcVersion) +
                                ")");
  }
  uint64_t payload_len = read_le(bytes, 8, 4);
  size_t present = bytes.size() - kHeaderSize;
  if (payload_len > present) {
    return failure(file, 8, "truncated: header announces " + std::to_string(payload_len) +
                                " payload bytes, " + std::to_string(present) + " present");
  }
  if (payload_len < present) {
    return failure(file, kHeaderSize + payload_len,
                   std::to_string(present - payload_len) + " trailing bytes after the payload");
  }
  auto stored_crc = static_cast<uint32_t>(read_le(bytes, 12, 4));
  uint32_t actual_crc = crc32_of(bytes.data() + kHeaderSize, present);
  if (stored_crc != actual_crc) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "checksum mismatch: header says 0x%08x, payload has 0x%08x",
                  stored_crc, actual_crc);
    return failure(file, 12, buf);
  }

  LoadResult result;
  try {
    FvcReader reader(bytes, kHeaderSize);
    Chunk chunk = reader.chunk(0);
    if (reader.pos() != bytes.size()) {
      return failure(file, reader.pos(), std::to_string(bytes.size() - reader.pos()) +
                                             " bytes after the chunk");
    }
    result.diagnostics = verify(chunk, file);
    if (!result.diagnostics.empty()) return result;
    result.chunk = std::move(chunk);
  } catch (const DecodeFailure& f) {
    return failure(file, f.offset, f.message);
  }
  return result;
}

}  // namespace fusevm
