// Unit tests for the .fvc binary format: full round trips, every corruption, fuzz-style robustness.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fusevm/asm.hpp"

using namespace fusevm;

namespace {

using Bytes = std::vector<uint8_t>;

// An operand value that passes verify() in a chunk with one entry in every pool and
// distinctive bits elsewhere (so a misplaced operand changes the chunk).
template <OperandKind K>
operand_t<K> valid_arg(size_t k) {
  if constexpr (K == OperandKind::Const || K == OperandKind::Name || K == OperandKind::Block ||
                K == OperandKind::SubChunk || K == OperandKind::Target) {
    return 0;
  } else if constexpr (K == OperandKind::I64) {
    return std::numeric_limits<int64_t>::min() + 3;
  } else if constexpr (K == OperandKind::F64) {
    return -1.5e300;
  } else if constexpr (K == OperandKind::Limit) {
    return -7 - static_cast<int32_t>(k);
  } else if constexpr (K == OperandKind::Payload) {
    return 0xfedcba9876543210ULL;
  } else if constexpr (operand_width(K) == 1) {
    return static_cast<uint8_t>(250 - k);
  } else {
    return static_cast<uint16_t>(65000 + k);
  }
}

// Emits every opcode once, in table order.
void emit_every_op(ChunkBuilder& b) {
#define A(K, i) valid_arg<OperandKind::K>(i)
#define FUSEVM_OP0(N_, po, pu, fl) b.emit(Op::N_(), 1);
#define FUSEVM_OP1(N_, po, pu, fl, k1, n1) b.emit(Op::N_(A(k1, 0)), 2);
#define FUSEVM_OP2(N_, po, pu, fl, k1, n1, k2, n2) b.emit(Op::N_(A(k1, 0), A(k2, 1)), 3);
#define FUSEVM_OP3(N_, po, pu, fl, k1, n1, k2, n2, k3, n3) \
  b.emit(Op::N_(A(k1, 0), A(k2, 1), A(k3, 2)), 4);
#define FUSEVM_OP4(N_, po, pu, fl, k1, n1, k2, n2, k3, n3, k4, n4) \
  b.emit(Op::N_(A(k1, 0), A(k2, 1), A(k3, 2), A(k4, 3)), 5);
#include "fusevm/ops.def"
#undef A
}

// One constant of every value kind, with awkward payloads (NaN, -0.0, NUL and 0xFF bytes,
// a Hash whose insertion order is not sorted, nesting through Array, Hash and Ref).
std::vector<Value> every_value_kind() {
  HashMap inner;
  inner.insert_or_assign("zeta", Value::Int(26));
  inner.insert_or_assign("alpha", Value::Array({Value::Bool(false), Value::Undef()}));
  inner.insert_or_assign("", Value::Str(std::string("\0\xff", 2)));
  return {
      Value::Undef(),
      Value::Bool(true),
      Value::Bool(false),
      Value::Int(std::numeric_limits<int64_t>::min()),
      Value::Int(-1),
      Value::Float(2.5),
      Value::Float(-0.0),
      Value::Float(std::numeric_limits<double>::quiet_NaN()),
      Value::Float(-std::numeric_limits<double>::infinity()),
      Value::Str(""),
      Value::Str(std::string("a\0b\xff\n", 5)),
      Value::Array({}),
      Value::Array({Value::Int(1), Value::Array({Value::Str("deep"), Value::Status(-2)})}),
      Value::Hash(HashMap{}),
      Value::Hash(inner),
      Value::Status(3),
      Value::Status(std::numeric_limits<int32_t>::min()),
      Value::Ref(Value::Ref(Value::Hash(inner))),
      Value::NativeFn(65535),
  };
}

// A chunk using every op and value kind and every field, with sub-chunks two deep.
Chunk rich_chunk() {
  ChunkBuilder leaf;
  leaf.add_constant(Value::Str("leaf"));
  leaf.emit(Op::LoadConst(0), 7);
  leaf.emit(Op::PrintLn(1), 8);
  leaf.set_source("leaf.fasm");
  ChunkBuilder mid;
  mid.add_name("m");
  mid.emit(Op::CmdSubst(0), 3);
  mid.emit(Op::Return(), 4);
  mid.add_sub_entry(0, 1);
  mid.add_sub_chunk(leaf.build());
  ChunkBuilder b;
  for (Value& v : every_value_kind()) b.add_constant(std::move(v));
  b.add_name("main");
  b.add_name("ünïcode");
  b.add_name("");
  b.add_block_range(0, 2);
  b.add_block_range(5, 5);
  b.add_sub_chunk(mid.build());
  // Built, not Chunk{}: loading recomputes op_hash, and Chunk{} carries a stale 0.
  b.add_sub_chunk(ChunkBuilder().build());
  emit_every_op(b);
  b.add_sub_entry(1, 3);
  b.add_sub_entry(0, b.current_pos());
  b.set_source("rich.fasm");
  return b.build();
}

uint32_t get32(const Bytes& b, size_t at) {
  return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 |
         uint32_t(b[at + 3]) << 24;
}

void put32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// Fixes the header's payload length and CRC after the payload was edited, so a test
// reaches the payload decoder instead of stopping at the checksum.
Bytes reseal(Bytes image) {
  put32(image, 8, static_cast<uint32_t>(image.size() - 16));
  put32(image, 12, static_cast<uint32_t>(crc32(0L, image.data() + 16,
                                               static_cast<uInt>(image.size() - 16))));
  return image;
}

// An image from a hand-written payload.
Bytes image_of(const Bytes& payload) {
  Bytes img = {'F', 'V', 'M', 'C', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  img.insert(img.end(), payload.begin(), payload.end());
  return reseal(img);
}

void add32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// The single diagnostic of a failed load.
Diagnostic only_error(const LoadResult& r) {
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics.size(), 1u);
  return r.diagnostics.empty() ? Diagnostic{} : r.diagnostics[0];
}

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST(Fvc, RichChunkRoundTripsEveryField) {
  Chunk c = rich_chunk();
  ASSERT_TRUE(verify(c).empty());
  Bytes img = write_fvc(c);
  LoadResult r = read_fvc(img, "rich.fvc");
  ASSERT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].to_string());
  EXPECT_TRUE(r.diagnostics.empty());
  const Chunk& d = *r.chunk;
  EXPECT_EQ(d.ops.size(), kNumOps + 0);
  // Field by field first, so a failure says which field differs.
  EXPECT_EQ(d.ops, c.ops);
  ASSERT_EQ(d.constants.size(), c.constants.size());
  for (size_t i = 0; i < c.constants.size(); ++i) {
    EXPECT_TRUE(identical(d.constants[i], c.constants[i]))
        << i << ": " << d.constants[i].repr() << " vs " << c.constants[i].repr();
  }
  EXPECT_EQ(d.names, c.names);
  EXPECT_EQ(d.lines, c.lines);
  EXPECT_EQ(d.sub_entries, c.sub_entries);
  EXPECT_EQ(d.block_ranges, c.block_ranges);
  EXPECT_EQ(d.source, c.source);
  EXPECT_TRUE(d == c);
  EXPECT_EQ(d.op_hash, c.op_hash);
  ASSERT_EQ(d.sub_chunks.size(), 2u);
  ASSERT_EQ(d.sub_chunks[0].sub_chunks.size(), 1u);
  EXPECT_EQ(d.sub_chunks[0].sub_chunks[0].source, "leaf.fasm");
  EXPECT_EQ(d.sub_chunks[0].sub_chunks[0].lines, (std::vector<uint32_t>{7, 8}));
}

TEST(Fvc, HashConstantKeepsInsertionOrder) {
  Chunk c = rich_chunk();
  LoadResult r = read_fvc(write_fvc(c));
  ASSERT_TRUE(r.ok());
  const HashMap& m = r.chunk->constants[14].as_hash();
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m.entries()[0].first, "zeta");
  EXPECT_EQ(m.entries()[1].first, "alpha");
  EXPECT_EQ(m.entries()[2].first, "");
}

TEST(Fvc, WritingIsDeterministicAndReloadRewritesIdentically) {
  Chunk c = rich_chunk();
  Bytes a = write_fvc(c);
  EXPECT_EQ(a, write_fvc(c));
  LoadResult r = read_fvc(a);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(write_fvc(*r.chunk), a);
}

TEST(Fvc, SmallChunkKeepsCountsAndSource) {
  // The .fvc analogue of the reference's chunk_serde_roundtrip.
  ChunkBuilder b;
  b.add_constant(Value::Float(1.5));
  uint16_t x = b.add_name("x");
  b.emit(Op::LoadConst(0), 1);
  b.emit(Op::SetVar(x), 1);
  b.emit(Op::GetVar(x), 2);
  b.set_source("test.stk");
  Chunk c = b.build();
  LoadResult r = read_fvc(write_fvc(c));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.chunk->ops.size(), 3u);
  EXPECT_EQ(r.chunk->names.size(), 1u);
  EXPECT_EQ(r.chunk->constants.size(), 1u);
  EXPECT_EQ(r.chunk->source, "test.stk");
}

TEST(Fvc, OpHashIsRecomputedOnLoad) {
  Chunk c = rich_chunk();
  uint64_t expected = c.op_hash;
  c.op_hash = 12345;  // not stored in the image
  LoadResult r = read_fvc(write_fvc(c));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.chunk->op_hash, expected);
}

TEST(Fvc, EmptyChunkRoundTrips) {
  Chunk c = ChunkBuilder().build();
  Bytes img = write_fvc(c);
  EXPECT_EQ(img.size(), 16u + 32u);
  LoadResult r = read_fvc(img);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r.chunk, c);
}

TEST(Fvc, HeaderLayoutIsMagicVersionLengthCrc) {
  Bytes img = write_fvc(rich_chunk());
  ASSERT_GE(img.size(), 16u);
  EXPECT_EQ(std::string(img.begin(), img.begin() + 4), "FVMC");
  EXPECT_EQ(get32(img, 4), kFvcVersion);
  EXPECT_EQ(get32(img, 8), img.size() - 16);
  EXPECT_EQ(get32(img, 12), crc32(0L, img.data() + 16, static_cast<uInt>(img.size() - 16)));
}

TEST(Fvc, IsFvcChecksMagicOnly) {
  EXPECT_TRUE(is_fvc(write_fvc(Chunk{})));
  Bytes magic = {'F', 'V', 'M', 'C'};
  EXPECT_TRUE(is_fvc(magic));
  Bytes short_magic = {'F', 'V', 'M'};
  EXPECT_FALSE(is_fvc(short_magic));
  Bytes text = {'L', 'o', 'a', 'd', 'I', 'n', 't'};
  EXPECT_FALSE(is_fvc(text));
  EXPECT_FALSE(is_fvc({}));
}

TEST(Fvc, BadMagicIsRejectedAtOffsetZero) {
  Bytes img = write_fvc(Chunk{});
  img[0] = 'X';
  Diagnostic d = only_error(read_fvc(img, "f.fvc"));
  EXPECT_EQ(d.to_string(), "f.fvc: bad magic: not a .fvc file");
}

TEST(Fvc, TruncatedHeaderIsRejected) {
  Bytes img = write_fvc(Chunk{});
  img.resize(10);
  Diagnostic d = only_error(read_fvc(img));
  EXPECT_EQ(d.line, 10u);
  EXPECT_TRUE(contains(d.message, "truncated header")) << d.message;
  EXPECT_FALSE(read_fvc({}).ok());
}

TEST(Fvc, UnsupportedVersionIsRejected) {
  Bytes img = write_fvc(Chunk{});
  put32(img, 4, 2);
  Diagnostic d = only_error(read_fvc(img));
  EXPECT_EQ(d.line, 4u);
  EXPECT_TRUE(contains(d.message, "unsupported .fvc format version 2")) << d.message;
}

TEST(Fvc, TruncatedPayloadIsRejected) {
  Bytes img = write_fvc(rich_chunk());
  img.resize(img.size() - 1);
  Diagnostic d = only_error(read_fvc(img));
  EXPECT_EQ(d.line, 8u);
  EXPECT_TRUE(contains(d.message, "truncated")) << d.message;
}

TEST(Fvc, TrailingBytesAfterPayloadAreRejected) {
  Bytes img = write_fvc(Chunk{});
  img.push_back(0);
  Diagnostic d = only_error(read_fvc(img));
  EXPECT_TRUE(contains(d.message, "trailing")) << d.message;
}

TEST(Fvc, ChecksumMismatchIsRejected) {
  Bytes img = write_fvc(rich_chunk());
  img[40] ^= 0x01;
  Diagnostic d = only_error(read_fvc(img));
  EXPECT_EQ(d.line, 12u);
  EXPECT_TRUE(contains(d.message, "checksum mismatch")) << d.message;
}

TEST(Fvc, UnknownOpcodeIsRejectedAtItsOffset) {
  ChunkBuilder b;
  b.emit(Op::Nop(), 1);
  Bytes img = write_fvc(b.build());
  ASSERT_EQ(img[24], 0);  // header 16 + source length 4 + op count 4
  img[24] = 200;
  Diagnostic d = only_error(read_fvc(reseal(img), "op.fvc"));
  EXPECT_EQ(d.to_string(), "op.fvc:24: unknown opcode 200");
  img[24] = static_cast<uint8_t>(kNumOps);
  EXPECT_EQ(only_error(read_fvc(reseal(img))).message, "unknown opcode 134");
}

TEST(Fvc, UnknownValueTagIsRejected) {
  ChunkBuilder b;
  b.add_constant(Value::Undef());
  Bytes img = write_fvc(b.build());
  ASSERT_EQ(img[28], 0);  // header 16 + source 4 + op count 4 + constant count 4
  img[28] = 77;
  Diagnostic d = only_error(read_fvc(reseal(img)));
  EXPECT_EQ(d.line, 28u);
  EXPECT_EQ(d.message, "unknown value tag 77");
}

TEST(Fvc, BadBoolByteIsRejected) {
  ChunkBuilder b;
  b.add_constant(Value::Bool(true));
  Bytes img = write_fvc(b.build());
  ASSERT_EQ(img[29], 1);
  img[29] = 2;
  EXPECT_TRUE(contains(only_error(read_fvc(reseal(img))).message, "bad Bool byte 2"));
}

TEST(Fvc, AbsurdCountsAreRejectedWithoutAllocating) {
  Bytes img = write_fvc(Chunk{});
  // op count at offset 20: claims four billion ops in a 48-byte file.
  put32(img, 20, 0xffffffffu);
  Diagnostic d = only_error(read_fvc(reseal(img)));
  EXPECT_EQ(d.line, 20u);
  EXPECT_TRUE(contains(d.message, "op count 4294967295 too large")) << d.message;
  for (size_t at = 20; at < img.size(); at += 4) {
    Bytes bad = write_fvc(Chunk{});
    put32(bad, at, 0x7fffffffu);
    EXPECT_FALSE(read_fvc(reseal(bad)).ok()) << "count at " << at;
  }
}

TEST(Fvc, AbsurdStringLengthIsRejected) {
  Bytes img = write_fvc(Chunk{});
  put32(img, 16, 1000000);  // source length
  Diagnostic d = only_error(read_fvc(reseal(img)));
  EXPECT_EQ(d.line, 16u);
  EXPECT_TRUE(contains(d.message, "source length 1000000 larger than")) << d.message;
}

TEST(Fvc, DuplicateHashKeyIsRejected) {
  Bytes p;
  add32(p, 0);  // source
  add32(p, 0);  // ops
  add32(p, 1);  // constants
  p.push_back(static_cast<uint8_t>(ValueKind::Hash));
  add32(p, 2);
  for (int i = 0; i < 2; ++i) {
    add32(p, 1);
    p.push_back('k');
    p.push_back(static_cast<uint8_t>(ValueKind::Undef));
  }
  for (int i = 0; i < 5; ++i) add32(p, 0);
  EXPECT_TRUE(contains(only_error(read_fvc(image_of(p))).message, "duplicate hash key \"k\""));
}

// Payload with one constant made of `depth` nested one-element Arrays around an Undef.
Bytes nested_array_payload(size_t depth) {
  Bytes p;
  add32(p, 0);
  add32(p, 0);
  add32(p, 1);
  for (size_t i = 0; i < depth; ++i) {
    p.push_back(static_cast<uint8_t>(ValueKind::Array));
    add32(p, 1);
  }
  p.push_back(static_cast<uint8_t>(ValueKind::Undef));
  for (int i = 0; i < 5; ++i) add32(p, 0);
  return p;
}

TEST(Fvc, ValueNestingDeeperThan64IsRejected) {
  EXPECT_TRUE(read_fvc(image_of(nested_array_payload(64))).ok());
  Diagnostic d = only_error(read_fvc(image_of(nested_array_payload(65))));
  EXPECT_TRUE(contains(d.message, "constant nested deeper than 64")) << d.message;
  EXPECT_FALSE(read_fvc(image_of(nested_array_payload(100000))).ok());
}

TEST(Fvc, WriterRefusesValuesTheReaderWouldReject) {
  Value v = Value::Undef();
  for (int i = 0; i < 64; ++i) v = Value::Array({v});
  Chunk c;
  c.constants.push_back(v);
  EXPECT_TRUE(read_fvc(write_fvc(c)).ok());
  c.constants[0] = Value::Ref(v);
  EXPECT_THROW(write_fvc(c), Error);
}

// Payload of `depth` chunks nested as each other's only sub-chunk.
Bytes nested_chunk_payload(size_t depth) {
  Bytes p;
  for (size_t i = 0; i <= depth; ++i) {
    for (int f = 0; f < 7; ++f) add32(p, 0);  // source and six empty lists
    add32(p, i < depth ? 1 : 0);              // sub-chunk count
  }
  return p;
}

TEST(Fvc, SubChunkNestingDeeperThan64IsRejected) {
  EXPECT_TRUE(read_fvc(image_of(nested_chunk_payload(64))).ok());
  Diagnostic d = only_error(read_fvc(image_of(nested_chunk_payload(65))));
  EXPECT_TRUE(contains(d.message, "sub-chunks nested deeper than 64")) << d.message;
}

TEST(Fvc, DecodedChunkIsVerified) {
  Chunk c;
  c.ops = {Op::Nop(), Op::Jump(99)};
  LoadResult r = read_fvc(write_fvc(c), "bad.fvc");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].to_string(), "bad.fvc:2: op 1 (Jump): target 99 past end (2 ops)");
}

// Every single-byte corruption and every truncation of a small image gives a clean result:
// a verified chunk or at least one diagnostic. Reseal() makes the payload decoder see the
// corruption instead of the checksum test.
TEST(Fvc, FlippingAnyByteNeverCrashes) {
  ChunkBuilder sub;
  sub.emit(Op::LoadInt(3), 1);
  ChunkBuilder b;
  b.add_constant(Value::Array({Value::Str("ab"), Value::Float(1.5)}));
  HashMap m;
  m.insert_or_assign("k", Value::Ref(Value::Status(1)));
  b.add_constant(Value::Hash(m));
  b.add_name("f");
  b.add_block_range(0, 1);
  b.add_sub_chunk(sub.build());
  b.emit(Op::LoadConst(1), 1);
  b.emit(Op::Call(0, 1), 2);
  b.emit(Op::SlotLtIntJumpIfFalse(0, 10, 4), 3);
  b.emit(Op::CmdSubst(0), 4);
  b.add_sub_entry(0, 1);
  b.set_source("s");
  const Bytes img = write_fvc(b.build());
  size_t ok = 0, rejected = 0;
  for (size_t i = 0; i < img.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      Bytes bad = img;
      bad[i] ^= mask;
      for (const Bytes& candidate : {bad, i >= 16 ? reseal(bad) : bad}) {
        LoadResult r = read_fvc(candidate);
        if (r.ok()) {
          ++ok;
          EXPECT_TRUE(verify(*r.chunk).empty());
        } else {
          ++rejected;
          EXPECT_FALSE(r.diagnostics.empty()) << "byte " << i;
        }
      }
    }
  }
  EXPECT_GT(rejected, img.size()) << "corruptions must mostly be caught";
  EXPECT_GT(ok, 0u) << "resealed operand edits that stay in range load fine";
}

TEST(Fvc, TruncatingAtEveryLengthIsRejected) {
  Chunk c = rich_chunk();
  const Bytes img = write_fvc(c);
  for (size_t len = 0; len < img.size(); ++len) {
    Bytes cut(img.begin(), img.begin() + static_cast<std::ptrdiff_t>(len));
    LoadResult plain = read_fvc(cut);
    EXPECT_FALSE(plain.ok()) << len;
    EXPECT_FALSE(plain.diagnostics.empty()) << len;
    if (len >= 16) {
      LoadResult sealed = read_fvc(reseal(cut));
      EXPECT_FALSE(sealed.ok()) << "resealed truncation at " << len;
      EXPECT_FALSE(sealed.diagnostics.empty()) << len;
    }
  }
}
