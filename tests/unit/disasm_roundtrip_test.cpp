// Tests that disassemble() output re-assembles to an identical chunk (every field, bitwise).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fusevm/fusevm.hpp"

namespace {

using namespace fusevm;

constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr double kInf = std::numeric_limits<double>::infinity();

uint64_t bits(double f) {
  uint64_t b;
  std::memcpy(&b, &f, 8);
  return b;
}

double from_bits(uint64_t b) {
  double f;
  std::memcpy(&f, &b, 8);
  return f;
}

// Stricter than identical(): NaNs must agree in every bit too.
bool bitwise_equal(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case ValueKind::Float: return bits(a.as_float()) == bits(b.as_float());
    case ValueKind::Str: return a.as_str() == b.as_str();
    case ValueKind::Ref: return bitwise_equal(a.as_ref(), b.as_ref());
    case ValueKind::Array: {
      const ValueArray& x = a.as_array();
      const ValueArray& y = b.as_array();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!bitwise_equal(x[i], y[i])) return false;
      }
      return true;
    }
    case ValueKind::Hash: {
      const auto& x = a.as_hash().entries();
      const auto& y = b.as_hash().entries();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        // Insertion order is part of what must round-trip.
        if (x[i].first != y[i].first || !bitwise_equal(x[i].second, y[i].second)) return false;
      }
      return true;
    }
    default: return identical(a, b);
  }
}

bool constants_bitwise_equal(const Chunk& a, const Chunk& b) {
  if (a.constants.size() != b.constants.size() || a.sub_chunks.size() != b.sub_chunks.size()) {
    return false;
  }
  for (size_t i = 0; i < a.constants.size(); ++i) {
    if (!bitwise_equal(a.constants[i], b.constants[i])) return false;
  }
  for (size_t i = 0; i < a.sub_chunks.size(); ++i) {
    if (!constants_bitwise_equal(a.sub_chunks[i], b.sub_chunks[i])) return false;
  }
  return true;
}

// Disassembles, re-assembles and checks every field; returns the listing.
std::string expect_round_trip(const Chunk& original) {
  std::string listing = disassemble(original);
  LoadResult again = assemble(listing, "roundtrip.fasm");
  EXPECT_TRUE(again.ok()) << again.message() << "\n--- listing ---\n" << listing;
  if (!again.ok()) return listing;
  const Chunk& c = *again.chunk;
  EXPECT_TRUE(c == original) << "--- listing ---\n" << listing << "--- re-disassembled ---\n"
                             << disassemble(c);
  EXPECT_EQ(c.op_hash, original.op_hash);
  EXPECT_TRUE(constants_bitwise_equal(c, original)) << listing;
  EXPECT_EQ(disassemble(c), listing) << "disassembly is a fixed point";
  return listing;
}

// Sets op_hash of `c` and its sub-chunks, as ChunkBuilder::build() and the loaders do.
void rehash(Chunk& c) {
  for (Chunk& sub : c.sub_chunks) rehash(sub);
  c.op_hash = c.compute_op_hash();
}

// -- Hand-built chunks -----------------------------------------------------------------------

// A constant of every kind, including nested collections and awkward floats.
std::vector<Value> every_value_kind() {
  static const char kEscapes[] = "all escapes \\ \" \n \t \r \0 \x01 \x7f \x80 end";
  HashMap inner{{"k", Value::Array({Value::Int(1), Value::Str("x\"y")})},
                {"", Value::Ref(Value::Undef())},
                {"caf\xc3\xa9 \xff", Value::Hash(HashMap{{"z", Value::Status(-1)}})}};
  return {Value::Undef(),
          Value::Bool(true),
          Value::Bool(false),
          Value::Int(0),
          Value::Int(kI64Min),
          Value::Int(kI64Max),
          Value::Float(2.0),
          Value::Float(-0.0),
          Value::Float(0.0),
          Value::Float(kInf),
          Value::Float(-kInf),
          Value::Float(from_bits(0x7ff8000000000000)),
          Value::Float(from_bits(0xfff8000000000001)),
          Value::Float(from_bits(0x7ff0000000000001)),
          Value::Float(5e-324),
          Value::Float(std::numeric_limits<double>::max()),
          Value::Float(0.1 + 0.2),
          Value::Float(1e21),
          Value::Float(-1.5e-300),
          Value::Str(""),
          Value::Str(std::string(kEscapes, sizeof kEscapes - 1)),
          Value::Str("utf-8 \xe6\x97\xa5\xe6\x9c\xac ok"),
          Value::Array({}),
          Value::Array({Value::Array({Value::Array({Value::Int(3)})}), Value::Float(-0.0)}),
          Value::Hash(HashMap{}),
          Value::Hash(inner),
          Value::Status(0),
          Value::Status(std::numeric_limits<int32_t>::min()),
          Value::Ref(Value::Ref(Value::Array({Value::NativeFn(2)}))),
          Value::NativeFn(0),
          Value::NativeFn(65535)};
}

// Operands for op `code` that are in range for `c` (whose pools are already filled).
Op op_with_operands(OpCode code, size_t n_consts, size_t n_names,
                    size_t n_blocks, size_t n_subs, uint64_t target, size_t variant) {
  Op op(code);
  const OpInfo& info = op_info(code);
  for (size_t k = 0; k < info.num_operands; ++k) {
    uint64_t raw = 0;
    switch (info.kinds[k]) {
      case OperandKind::I64: raw = static_cast<uint64_t>(variant >= kNumOps ? kI64Min : kI64Max); break;
      case OperandKind::F64: raw = variant >= kNumOps ? 0xfff0000000000abcULL : bits(-0.0); break;
      case OperandKind::Const: raw = variant % n_consts; break;
      case OperandKind::Name: raw = variant % n_names; break;
      case OperandKind::Block: raw = variant % n_blocks; break;
      case OperandKind::SubChunk: raw = variant % n_subs; break;
      case OperandKind::Target: raw = target; break;
      case OperandKind::Limit:
        raw = static_cast<uint64_t>(static_cast<int64_t>(std::numeric_limits<int32_t>::min()));
        break;
      case OperandKind::Payload: raw = ~uint64_t{0} - variant; break;
      case OperandKind::FileTest: raw = variant % 13; break;
      case OperandKind::RedirOp: raw = variant % 10; break;
      case OperandKind::ParamMod: raw = variant % 19; break;
      default: raw = operand_width(info.kinds[k]) == 1 ? 255 - k : 65535 - k; break;
    }
    op.set_raw_operand(k, raw);
  }
  return op;
}

// A leaf chunk (depth 2) with its own labels, a block, a sub entry and lines.
Chunk leaf_chunk() {
  ChunkBuilder b;
  b.set_source("leaf.fasm");
  uint16_t name = b.add_name("leaf_fn");
  b.add_constant(Value::Float(from_bits(0x7ff4000000000000)));
  b.add_sub_entry(name, 1);
  b.emit(Op::LoadConst(0), 900);
  b.emit(Op::Jump(0), 901);
  b.emit(Op::JumpIfTrue(3), 7);
  b.add_block_range(1, 2);
  return b.build();
}

// A middle chunk (depth 1) holding the leaf.
Chunk middle_chunk() {
  ChunkBuilder b;
  b.set_source("middle.fasm");
  b.add_sub_chunk(leaf_chunk());
  b.add_sub_chunk(leaf_chunk());
  uint16_t x = b.add_name("x");
  b.emit(Op::GetVar(x), 1);
  b.emit(Op::CmdSubst(1), 1);
  b.emit(Op::JumpIfFalseKeep(0), 1);
  b.emit(Op::TrapSet(0), 2);
  b.add_sub_entry(x, 0);
  b.add_sub_entry(x, 4);
  b.add_block_range(0, 4);
  b.add_block_range(0, 0);
  return b.build();
}

Chunk all_ops_chunk() {
  ChunkBuilder b;
  b.set_source("all_ops.fasm");
  std::vector<Value> values = every_value_kind();
  for (const Value& v : values) b.add_constant(v);
  const std::vector<std::string> names = {"main", "with space", "", "q\"uote", "a.b", "true"};
  for (const std::string& n : names) b.add_name(n);
  b.add_sub_chunk(middle_chunk());
  b.add_sub_chunk(ChunkBuilder().build());
  // Ops: two passes over the table with different operand choices; jumps target a
  // spread of positions including the end.
  const size_t total = 2 * kNumOps;
  for (size_t pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < kNumOps; ++i) {
      size_t index = pass * kNumOps + i;
      uint64_t target = (index * 37) % (total + 1);
      Op op = op_with_operands(static_cast<OpCode>(i), values.size(), names.size(), 4, 2,
                               target, index);
      b.emit(op, static_cast<uint32_t>(index % 5 == 0 ? 0 : 1000 + index / 3));
    }
  }
  b.add_block_range(3, 40);
  b.add_block_range(5, 5);
  b.add_block_range(10, 40);
  b.add_block_range(total, total);
  b.add_sub_entry(0, 0);
  b.add_sub_entry(1, 17);
  b.add_sub_entry(1, 17);
  b.add_sub_entry(3, total);
  Chunk c = b.build();
  EXPECT_TRUE(verify(c).empty()) << "the test chunk itself must be valid";
  return c;
}

TEST(DisasmRoundTrip, EveryOpEveryValueKindAndNestedChunks) {
  Chunk c = all_ops_chunk();
  ASSERT_EQ(c.ops.size(), 2 * kNumOps);
  std::string listing = expect_round_trip(c);
  // The listing uses the documented forms.
  for (const char* form : {".const f64(0xfff8000000000001)", ".const -0.0", ".const 2.0",
                           ".const nan", ".const -inf", ".name \"with space\"", ".sub main",
                           ".block B0", ".chunk C0", ".source \"leaf.fasm\"",
                           "TestFile IS_WRITABLE", "Redirect 255, WRITE", "ExpandParam UPPER", "LoadFloat f64(0xfff0000000000abc)",
                           "LoadFloat -0.0", "LoadInt -9223372036854775808", "@\"with space\"",
                           "GetVar @main", "#0", "L0:", ".line 1000"}) {
    EXPECT_NE(listing.find(form), std::string::npos) << "missing " << form << "\n" << listing;
  }
}

TEST(DisasmRoundTrip, EmptyChunk) {
  Chunk c;
  rehash(c);
  expect_round_trip(c);
}

TEST(DisasmRoundTrip, FloatsPrintingLikeIntegersKeepTheirKind) {
  ChunkBuilder b;
  b.add_constant(Value::Float(2.0));
  b.add_constant(Value::Int(2));
  b.add_constant(Value::Float(1e300));
  b.add_constant(Value::Float(-1e-7));
  b.emit(Op::LoadFloat(3.0), 1);
  b.emit(Op::LoadFloat(-1e22), 1);
  Chunk c = b.build();
  std::string listing = expect_round_trip(c);
  EXPECT_NE(listing.find(".const 2.0"), std::string::npos) << listing;
  EXPECT_NE(listing.find(".const 2  "), std::string::npos) << listing;
  EXPECT_NE(listing.find("LoadFloat 3.0"), std::string::npos) << listing;
}

TEST(DisasmRoundTrip, EveryFloatBitPatternClassSurvives) {
  std::mt19937_64 rng(99);
  ChunkBuilder b;
  for (int i = 0; i < 2000; ++i) {
    uint64_t raw = rng();
    if (i % 4 == 1) raw |= 0x7ff0000000000000ULL;  // NaN or inf with random payload and sign
    if (i % 4 == 2) raw &= 0x800fffffffffffffULL;  // subnormal or zero
    b.add_constant(Value::Float(from_bits(raw)));
    b.emit(Op::LoadFloat(from_bits(raw)), 1);
  }
  expect_round_trip(b.build());
}

TEST(DisasmRoundTrip, OverlappingAndUnorderedBlockRangesUseBlockrange) {
  Chunk c;
  c.ops = {Op::Nop(), Op::Nop(), Op::Nop(), Op::Nop(), Op::MapBlock(1)};
  c.lines = {1, 2, 3, 4, 5};
  c.block_ranges = {{0, 3}, {1, 4}};
  rehash(c);
  EXPECT_NE(expect_round_trip(c).find(".blockrange B0 0, 3"), std::string::npos);
  c.block_ranges = {{2, 3}, {0, 1}};
  EXPECT_NE(expect_round_trip(c).find(".blockrange B1 0, 1"), std::string::npos);
  c.block_ranges = {{0, 5}, {0, 5}, {5, 5}, {2, 2}};
  EXPECT_NE(expect_round_trip(c).find(".blockrange"), std::string::npos)
      << "a start before the previous block's start needs explicit ranges";
  c.block_ranges = {{0, 5}, {0, 2}, {2, 2}, {2, 5}, {5, 5}};
  EXPECT_EQ(expect_round_trip(c).find(".blockrange"), std::string::npos)
      << "nested ranges in opener order are written inline";
}

TEST(DisasmRoundTrip, SubEntriesInAnyOrderWithDuplicatesAndAtTheEnd) {
  Chunk c;
  c.ops = {Op::Nop(), Op::Return(), Op::Nop()};
  c.lines = {1, 1, 1};
  c.names = {"f", "g", "f"};
  c.sub_entries = {{0, 3}, {1, 0}, {0, 0}, {2, 1}, {1, 3}};
  rehash(c);
  std::string listing = expect_round_trip(c);
  EXPECT_NE(listing.find(".sub f @ 3"), std::string::npos) << listing;
  EXPECT_NE(listing.find(".sub 2 @ 1"), std::string::npos) << "a duplicate name by index";
  c.sub_entries = {{0, 1}, {0, 1}, {1, 3}};
  listing = expect_round_trip(c);
  EXPECT_EQ(listing.find(" @ "), std::string::npos) << "sorted entries are written inline";
}

TEST(DisasmRoundTrip, DuplicateNamesAndOddNameBytes) {
  Chunk c;
  c.names = {"a", "a", "", "\n\"\\\x01\xff", "9lives", "ok_name", "ok_name"};
  for (uint16_t i = 0; i < c.names.size(); ++i) c.ops.push_back(Op::GetVar(i));
  c.ops.push_back(Op::Call(6, 2));
  c.ops.push_back(Op::PushIntRangeLoop(1, 0, 10));
  c.lines.assign(c.ops.size(), 3);
  c.sub_entries = {{1, 0}, {6, 2}};
  rehash(c);
  std::string listing = expect_round_trip(c);
  EXPECT_NE(listing.find(".dupname \"a\""), std::string::npos) << listing;
}

TEST(DisasmRoundTrip, LinesOfEveryShape) {
  Chunk c;
  c.ops = {Op::Nop(), Op::Nop()};
  c.lines = {};
  rehash(c);
  EXPECT_NE(expect_round_trip(c).find(".lines\n"), std::string::npos);
  c.lines = {0, std::numeric_limits<uint32_t>::max()};
  expect_round_trip(c);
  c.lines = {2, 3};  // the listing's own line numbers: no .line needed
  EXPECT_EQ(expect_round_trip(c).find(".line"), std::string::npos);
}

TEST(DisasmRoundTrip, SourcesWithOddBytes) {
  Chunk c;
  c.source = "dir/with \"quotes\"\t\xc3\xa9\x80.fasm";
  c.sub_chunks.push_back(Chunk{});
  c.sub_chunks[0].source = std::string("\0", 1);
  rehash(c);
  expect_round_trip(c);
}

TEST(DisasmRoundTrip, OutOfRangeOperandsAreWrittenAsNumbers) {
  // Invalid chunks disassemble to text the assembler rejects through the verifier, with
  // the op's line; nothing crashes.
  Chunk c;
  c.ops = {Op::Jump(99), Op::MapBlock(3), Op::CmdSubst(4), Op::GetVar(5), Op::LoadConst(6)};
  c.lines = {10, 11, 12, 13, 14};
  rehash(c);
  std::string listing = disassemble(c);
  for (const char* form : {"Jump 99", "MapBlock 3", "CmdSubst 4", "GetVar 5", "LoadConst #6"}) {
    EXPECT_NE(listing.find(form), std::string::npos) << listing;
  }
  LoadResult r = assemble(listing, "bad.fasm");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics.size(), 5u) << r.message();
  EXPECT_EQ(r.diagnostics[0].to_string().rfind("bad.fasm:10: ", 0), 0u) << r.message();
}

// -- Random chunks ---------------------------------------------------------------------------

class ChunkGen {
 public:
  explicit ChunkGen(uint64_t seed) : rng_(seed) {}

  Chunk chunk(size_t depth) {
    Chunk c;
    size_t n_names = below(7);
    for (size_t i = 0; i < n_names; ++i) {
      // Mostly fresh names; sometimes a repeat, which only .dupname can express.
      c.names.push_back(i > 0 && chance(10) ? c.names[below(i)] : name());
    }
    size_t n_consts = below(8);
    for (size_t i = 0; i < n_consts; ++i) c.constants.push_back(value(0));
    if (depth < 2) {
      size_t n_subs = below(3);
      for (size_t i = 0; i < n_subs; ++i) c.sub_chunks.push_back(chunk(depth + 1));
    }
    size_t n_ops = below(50);
    c.block_ranges = chance(60) ? nested_ranges(n_ops) : random_ranges(n_ops);
    for (size_t i = 0; i < n_ops; ++i) c.ops.push_back(op(c, n_ops));
    if (chance(85)) {
      for (size_t i = 0; i < n_ops; ++i) {
        c.lines.push_back(chance(70) ? static_cast<uint32_t>(below(200)) : static_cast<uint32_t>(rng_()));
      }
    }
    if (n_names > 0) {
      size_t n_entries = below(5);
      for (size_t i = 0; i < n_entries; ++i) {
        c.sub_entries.emplace_back(static_cast<uint16_t>(below(n_names)), below(n_ops + 1));
      }
      if (chance(50)) {
        std::stable_sort(c.sub_entries.begin(), c.sub_entries.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
      }
    }
    if (chance(50)) c.source = bytes(12);
    c.op_hash = c.compute_op_hash();
    return c;
  }

 private:
  uint64_t below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool chance(int percent) { return below(100) < static_cast<uint64_t>(percent); }

  std::string bytes(size_t max_len) {
    static const std::vector<std::string> pieces = {
        "a", "Z", "_", "0", " ", ";", "\"", "\\", "\n", "\t", "\r", std::string("\0", 1),
        "\x01", "\x7f", "\xff", "\x80", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80", "@", "#",
        "[", "{", ",", ":", "."};
    std::string s;
    size_t len = below(max_len + 1);
    for (size_t i = 0; i < len; ++i) s += pieces[below(pieces.size())];
    return s;
  }

  std::string name() {
    static const std::vector<std::string> idents = {"x", "main", "foo_bar", "a.b", "L1",
                                                    "true", "_", "IS_FILE", "B0", "Nop"};
    return chance(60) ? idents[below(idents.size())] + std::to_string(below(3)) : bytes(6);
  }

  double float_value() {
    static const std::vector<uint64_t> special = {
        0x0000000000000000, 0x8000000000000000, 0x7ff0000000000000, 0xfff0000000000000,
        0x7ff8000000000000, 0xfff8000000000000, 0x7ff0000000000001, 0x7fffffffffffffff,
        0x0000000000000001, 0x000fffffffffffff, 0x7fefffffffffffff, 0x3ff0000000000000,
        0x4000000000000000, 0x3fb999999999999a, 0x4415af1d78b58c40};
    switch (below(4)) {
      case 0: return from_bits(special[below(special.size())]);
      case 1: return from_bits(rng_());
      case 2: return static_cast<double>(static_cast<int64_t>(rng_() % 2000001) - 1000000);
      default: return static_cast<double>(static_cast<int64_t>(rng_())) / static_cast<double>(1 + below(1000));
    }
  }

  int64_t int_value() {
    switch (below(4)) {
      case 0: return kI64Min;
      case 1: return kI64Max;
      case 2: return static_cast<int64_t>(below(200)) - 100;
      default: return static_cast<int64_t>(rng_());
    }
  }

  Value value(size_t depth) {
    size_t kind = below(depth < 3 ? 10 : 6);
    switch (kind) {
      case 0: return Value::Undef();
      case 1: return Value::Bool(chance(50));
      case 2: return Value::Int(int_value());
      case 3: return Value::Float(float_value());
      case 4: return Value::Str(bytes(10));
      case 5: return chance(50) ? Value::Status(static_cast<int32_t>(rng_())) : Value::NativeFn(static_cast<uint16_t>(rng_()));
      case 6:
      case 7: {
        ValueArray items;
        size_t n = below(4);
        for (size_t i = 0; i < n; ++i) items.push_back(value(depth + 1));
        return Value::Array(std::move(items));
      }
      case 8: {
        HashMap map;
        size_t n = below(4);
        for (size_t i = 0; i < n; ++i) map.insert_or_assign(bytes(5), value(depth + 1));
        return Value::Hash(std::move(map));
      }
      default: return Value::Ref(value(depth + 1));
    }
  }

  // A laminar family in opener order: what `.block`/`.end` pairs produce.
  std::vector<std::pair<uint64_t, uint64_t>> nested_ranges(size_t n_ops) {
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    std::vector<size_t> open;
    for (size_t p = 0; p <= n_ops; ++p) {
      while (!open.empty() && chance(30)) {
        ranges[open.back()].second = p;
        open.pop_back();
      }
      while (ranges.size() < 8 && chance(15)) {
        open.push_back(ranges.size());
        ranges.emplace_back(p, p);
      }
    }
    for (size_t k : open) ranges[k].second = n_ops;
    return ranges;
  }

  std::vector<std::pair<uint64_t, uint64_t>> random_ranges(size_t n_ops) {
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    size_t n = below(6);
    for (size_t i = 0; i < n; ++i) {
      uint64_t a = below(n_ops + 1), b = below(n_ops + 1);
      ranges.emplace_back(std::min(a, b), std::max(a, b));
    }
    return ranges;
  }

  Op op(const Chunk& c, size_t n_ops) {
    for (;;) {
      auto code = static_cast<OpCode>(below(kNumOps));
      const OpInfo& info = op_info(code);
      Op op(code);
      bool ok = true;
      for (size_t k = 0; k < info.num_operands && ok; ++k) {
        uint64_t raw = 0;
        auto pick = [&](size_t pool) {
          if (pool == 0) ok = false;
          return below(pool);
        };
        switch (info.kinds[k]) {
          case OperandKind::I64: raw = static_cast<uint64_t>(int_value()); break;
          case OperandKind::F64: raw = bits(float_value()); break;
          case OperandKind::Const: raw = pick(c.constants.size()); break;
          case OperandKind::Name: raw = pick(c.names.size()); break;
          case OperandKind::Block: raw = pick(c.block_ranges.size()); break;
          case OperandKind::SubChunk: raw = pick(c.sub_chunks.size()); break;
          case OperandKind::Target: raw = below(n_ops + 1); break;
          case OperandKind::Limit: raw = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(rng_()))); break;
          case OperandKind::Payload: raw = rng_(); break;
          default: raw = rng_(); break;  // set_raw_operand truncates to the width
        }
        if (ok) op.set_raw_operand(k, raw);
      }
      if (ok) return op;
    }
  }

  std::mt19937_64 rng_;
};

TEST(DisasmRoundTrip, RandomChunksFromManySeeds) {
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    ChunkGen gen(seed);
    Chunk c = gen.chunk(0);
    ASSERT_TRUE(verify(c).empty()) << "seed " << seed << ": generator made an invalid chunk";
    SCOPED_TRACE("seed " + std::to_string(seed));
    expect_round_trip(c);
    if (::testing::Test::HasFailure()) break;
  }
}

TEST(DisasmRoundTrip, MutatedListingsNeverCrashTheAssembler) {
  std::mt19937_64 rng(4242);
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    ChunkGen gen(seed);
    std::string listing = disassemble(gen.chunk(0));
    for (int round = 0; round < 20; ++round) {
      std::string text = listing;
      for (int m = 0; m < 1 + static_cast<int>(rng() % 6); ++m) {
        if (text.empty()) break;
        size_t at = rng() % text.size();
        switch (rng() % 3) {
          case 0: text.erase(at, 1 + rng() % 8); break;
          case 1: text.insert(at, 1, static_cast<char>(rng())); break;
          default: text[at] = static_cast<char>(rng()); break;
        }
      }
      LoadResult r = assemble(text, "mutant.fasm");
      EXPECT_TRUE(r.ok() || !r.diagnostics.empty());
    }
  }
}

TEST(DisasmRoundTrip, ConformanceCorpusFiles) {
  namespace fs = std::filesystem;
  fs::path root = fs::path(FUSEVM_SOURCE_DIR) / "tests" / "conformance";
  if (!fs::exists(root)) {
    GTEST_SKIP() << "no conformance corpus at " << root;
  }
  size_t checked = 0, found = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".fasm") continue;
    ++found;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    LoadResult loaded = assemble(text.str(), entry.path().string());
    // Files that test load errors have nothing to round-trip.
    if (!loaded.ok()) continue;
    SCOPED_TRACE(entry.path().string());
    expect_round_trip(*loaded.chunk);
    ++checked;
  }
  RecordProperty("conformance_files_round_tripped", static_cast<int>(checked));
  if (found > 0) {
    EXPECT_GT(checked, 0u) << "no corpus file assembled";
  }
}

}  // namespace
