// Unit tests for op_hash: the spec's four test vectors and what the hash covers.
#include <gtest/gtest.h>

#include <string>

#include "fusevm/chunk.hpp"

using namespace fusevm;

namespace {

Chunk build(std::initializer_list<Op> ops, std::initializer_list<Value> constants) {
  ChunkBuilder b;
  for (const Value& v : constants) b.add_constant(v);
  uint32_t line = 1;
  for (const Op& op : ops) b.emit(op, line++);
  return b.build();
}

}  // namespace

// spec/chunk-and-vm.md §1.1 test vectors: must match the reference bit for bit.
TEST(OpHash, EmptyChunkVector) { EXPECT_EQ(build({}, {}).op_hash, 0x76be999e3e25b2a0ULL); }

TEST(OpHash, IntAddVector) {
  EXPECT_EQ(build({Op::LoadInt(1), Op::LoadInt(2), Op::Add()}, {}).op_hash,
            0x9409a42ecfa37100ULL);
}

TEST(OpHash, StrConstantVector) {
  EXPECT_EQ(build({Op::LoadConst(0)}, {Value::Str("hello")}).op_hash, 0x558049d6bf2ac466ULL);
}

TEST(OpHash, MixedOperandWidthsAndValueKindsVector) {
  Chunk c = build({Op::Nop(), Op::Jump(7), Op::Call(3, 2), Op::SlotLtIntJumpIfFalse(1, -5, 9),
                   Op::LoadFloat(0.5), Op::WithRedirectsEnd()},
                  {Value::Float(2.5), Value::Undef(), Value::Bool(true),
                   Value::Array({Value::Int(-1), Value::Status(3)})});
  EXPECT_EQ(c.op_hash, 0x96a48d64dfb3750dULL);
}

TEST(OpHash, SiphashOfEmptyInputIsRustDefaultHasherFinish) {
  // DefaultHasher::new().finish() in Rust: SipHash-1-3, zero keys, no input.
  EXPECT_EQ(siphash13("", 0), 0xd1fba762150c532cULL);
}

TEST(OpHash, EqualChunksHaveEqualHash) {
  Chunk a = build({Op::GetSlot(0), Op::LoadConst(0), Op::Concat()}, {Value::Str("x")});
  Chunk b = build({Op::GetSlot(0), Op::LoadConst(0), Op::Concat()}, {Value::Str("x")});
  EXPECT_EQ(a.op_hash, b.op_hash);
}

TEST(OpHash, LineNumbersAreIgnored) {
  ChunkBuilder a, b;
  a.emit(Op::LoadInt(1), 1);
  b.emit(Op::LoadInt(1), 999);
  EXPECT_EQ(a.build().op_hash, b.build().op_hash);
}

TEST(OpHash, NamesSubEntriesBlocksSubChunksAndSourceAreIgnored) {
  Chunk plain = build({Op::Nop()}, {});
  Chunk extra = plain.deep_copy();
  extra.names = {"a", "b"};
  extra.sub_entries = {{0, 0}};
  extra.block_ranges = {{0, 1}};
  extra.sub_chunks.push_back(build({Op::Add()}, {}));
  extra.source = "file.fasm";
  EXPECT_EQ(extra.compute_op_hash(), plain.op_hash);
}

TEST(OpHash, EveryOperandAffectsTheHash) {
  uint64_t base = build({Op::ConcatConstLoop(1, 2, 3, 4)}, {}).op_hash;
  EXPECT_NE(build({Op::ConcatConstLoop(9, 2, 3, 4)}, {}).op_hash, base);
  EXPECT_NE(build({Op::ConcatConstLoop(1, 9, 3, 4)}, {}).op_hash, base);
  EXPECT_NE(build({Op::ConcatConstLoop(1, 2, 9, 4)}, {}).op_hash, base);
  EXPECT_NE(build({Op::ConcatConstLoop(1, 2, 3, 9)}, {}).op_hash, base);
}

TEST(OpHash, ConstantKindAndValueAffectTheHash) {
  uint64_t i1 = build({}, {Value::Int(1)}).op_hash;
  EXPECT_NE(build({}, {Value::Int(2)}).op_hash, i1);
  EXPECT_NE(build({}, {Value::Float(1.0)}).op_hash, i1);
  EXPECT_NE(build({}, {Value::Status(1)}).op_hash, i1);
  EXPECT_NE(build({}, {Value::Float(0.0)}).op_hash, build({}, {Value::Float(-0.0)}).op_hash);
}

TEST(OpHash, HashConstantIsIndependentOfInsertionOrder) {
  HashMap ab;
  ab.insert_or_assign("a", Value::Int(1));
  ab.insert_or_assign("b", Value::Str("two"));
  HashMap ba;
  ba.insert_or_assign("b", Value::Str("two"));
  ba.insert_or_assign("a", Value::Int(1));
  Chunk x = build({Op::LoadConst(0)}, {Value::Hash(ab)});
  Chunk y = build({Op::LoadConst(0)}, {Value::Hash(ba)});
  EXPECT_EQ(x.op_hash, y.op_hash);
  HashMap other;
  other.insert_or_assign("a", Value::Int(2));
  other.insert_or_assign("b", Value::Str("two"));
  EXPECT_NE(build({Op::LoadConst(0)}, {Value::Hash(other)}).op_hash, x.op_hash);
}

TEST(OpHash, ComputeOpHashMatchesBuild) {
  Chunk c = build({Op::LoadInt(5), Op::PrintLn(1)}, {Value::Str("s")});
  EXPECT_EQ(c.compute_op_hash(), c.op_hash);
}
