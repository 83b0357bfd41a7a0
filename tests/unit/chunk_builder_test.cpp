// Unit tests for ChunkBuilder and Chunk (tests-inventory §11, plus pool-overflow refusal).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "fusevm/chunk.hpp"

using namespace fusevm;

TEST(ChunkBuilder, EmptyBuilderProducesEmptyChunk) {
  Chunk c = ChunkBuilder().build();
  EXPECT_TRUE(c.ops.empty());
  EXPECT_TRUE(c.constants.empty());
  EXPECT_TRUE(c.names.empty());
  EXPECT_TRUE(c.lines.empty());
  EXPECT_TRUE(c.sub_entries.empty());
  EXPECT_TRUE(c.block_ranges.empty());
  EXPECT_TRUE(c.sub_chunks.empty());
  EXPECT_EQ(c.source, "");
}

TEST(ChunkBuilder, EmitReturnsOpIndex) {
  ChunkBuilder b;
  EXPECT_EQ(b.emit(Op::LoadInt(1), 1), 0u);
  EXPECT_EQ(b.emit(Op::LoadInt(2), 1), 1u);
  EXPECT_EQ(b.emit(Op::Add(), 1), 2u);
}

TEST(ChunkBuilder, LineNumbersRecordedPerOp) {
  ChunkBuilder b;
  b.emit(Op::Nop(), 10);
  b.emit(Op::Nop(), 20);
  b.emit(Op::Nop(), 30);
  Chunk c = b.build();
  EXPECT_EQ(c.lines, (std::vector<uint32_t>{10, 20, 30}));
}

TEST(ChunkBuilder, NamePoolDedupesRepeatedNames) {
  ChunkBuilder b;
  uint16_t foo = b.add_name("foo");
  EXPECT_EQ(b.add_name("foo"), foo);
  uint16_t bar = b.add_name("bar");
  EXPECT_NE(bar, foo);
  EXPECT_EQ(b.add_name("foo"), foo);
  Chunk c = b.build();
  EXPECT_EQ(c.names, (std::vector<std::string>{"foo", "bar"}));
}

TEST(ChunkBuilder, NameIndicesAreDenseAndCaseSensitive) {
  ChunkBuilder b;
  EXPECT_EQ(b.add_name("x"), 0);
  EXPECT_EQ(b.add_name("X"), 1);
  EXPECT_EQ(b.add_name(""), 2);
  EXPECT_EQ(b.add_name("x"), 0);
}

TEST(ChunkBuilder, ConstantPoolDoesNotDedupe) {
  ChunkBuilder b;
  uint16_t a = b.add_constant(Value::Int(42));
  uint16_t c2 = b.add_constant(Value::Int(42));
  EXPECT_NE(a, c2);
  Chunk c = b.build();
  ASSERT_EQ(c.constants.size(), 2u);
  EXPECT_EQ(c.constants[0], Value::Int(42));
  EXPECT_EQ(c.constants[1], Value::Int(42));
}

TEST(ChunkBuilder, CurrentPosReflectsOpCount) {
  ChunkBuilder b;
  EXPECT_EQ(b.current_pos(), 0u);
  b.emit(Op::Nop(), 1);
  EXPECT_EQ(b.current_pos(), 1u);
  b.emit(Op::Nop(), 1);
  b.emit(Op::Nop(), 1);
  EXPECT_EQ(b.current_pos(), 3u);
}

TEST(ChunkBuilder, PatchJumpUpdatesTarget) {
  ChunkBuilder b;
  size_t j = b.emit(Op::Jump(0), 1);
  b.emit(Op::Nop(), 1);
  b.emit(Op::Nop(), 1);
  b.patch_jump(j, 3);
  Chunk c = b.build();
  EXPECT_EQ(c.ops[0], Op::Jump(3));
}

TEST(ChunkBuilder, PatchJumpWorksOnAllJumpVariants) {
  ChunkBuilder b;
  b.emit(Op::JumpIfTrue(0), 1);
  b.emit(Op::JumpIfFalse(0), 1);
  b.emit(Op::JumpIfTrueKeep(0), 1);
  b.emit(Op::JumpIfFalseKeep(0), 1);
  b.patch_jump(0, 100);
  b.patch_jump(1, 200);
  b.patch_jump(2, 300);
  b.patch_jump(3, 400);
  Chunk c = b.build();
  EXPECT_EQ(c.ops[0], Op::JumpIfTrue(100));
  EXPECT_EQ(c.ops[1], Op::JumpIfFalse(200));
  EXPECT_EQ(c.ops[2], Op::JumpIfTrueKeep(300));
  EXPECT_EQ(c.ops[3], Op::JumpIfFalseKeep(400));
}

TEST(ChunkBuilder, PatchJumpOnNonJumpOpThrowsWithIndex) {
  ChunkBuilder b;
  b.emit(Op::Nop(), 1);
  b.emit(Op::LoadInt(5), 1);
  try {
    b.patch_jump(1, 7);
    FAIL() << "patch_jump on LoadInt did not throw";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "patch_jump on non-jump op at 1");
  }
  Chunk c = b.build();
  EXPECT_EQ(c.ops[1], Op::LoadInt(5)) << "the failed patch must not change the op";
}

TEST(ChunkBuilder, PatchJumpRefusesFusedJumpsAndExtendedWide) {
  ChunkBuilder b;
  b.emit(Op::SlotLtIntJumpIfFalse(0, 10, 0), 1);
  b.emit(Op::SlotIncLtIntJumpBack(0, 10, 0), 1);
  b.emit(Op::ExtendedWide(1, 0), 1);
  EXPECT_THROW(b.patch_jump(0, 5), Error);
  EXPECT_THROW(b.patch_jump(1, 5), Error);
  EXPECT_THROW(b.patch_jump(2, 5), Error);
}

TEST(ChunkBuilder, PatchJumpOutOfRangeIndexThrows) {
  ChunkBuilder b;
  b.emit(Op::Jump(0), 1);
  try {
    b.patch_jump(9, 1);
    FAIL() << "patch_jump past the end did not throw";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "patch_jump on non-jump op at 9");
  }
}

TEST(ChunkBuilder, SubEntryLookupFindsFunction) {
  ChunkBuilder b;
  uint16_t foo = b.add_name("foo");
  b.add_sub_entry(foo, 42);
  Chunk c = b.build();
  EXPECT_EQ(c.find_sub(foo), std::optional<uint64_t>(42));
  EXPECT_EQ(c.find_sub(999), std::nullopt);
}

TEST(ChunkBuilder, FindSubReturnsFirstOfDuplicateEntries) {
  ChunkBuilder b;
  b.add_sub_entry(0, 7);
  b.add_sub_entry(1, 8);
  b.add_sub_entry(0, 9);
  Chunk c = b.build();
  EXPECT_EQ(c.find_sub(0), std::optional<uint64_t>(7));
  EXPECT_EQ(c.sub_entries.size(), 3u);
}

TEST(ChunkBuilder, BlockRangeAssignedSequentialIndices) {
  ChunkBuilder b;
  EXPECT_EQ(b.add_block_range(10, 20), 0);
  EXPECT_EQ(b.add_block_range(30, 40), 1);
  Chunk c = b.build();
  EXPECT_EQ(c.block_ranges[1], (std::pair<uint64_t, uint64_t>{30, 40}));
}

TEST(ChunkBuilder, SubChunksGetSequentialIndices) {
  ChunkBuilder inner;
  inner.emit(Op::LoadInt(1), 1);
  Chunk sub = inner.build();
  ChunkBuilder b;
  EXPECT_EQ(b.add_sub_chunk(sub), 0);
  EXPECT_EQ(b.add_sub_chunk(Chunk{}), 1);
  Chunk c = b.build();
  ASSERT_EQ(c.sub_chunks.size(), 2u);
  EXPECT_EQ(c.sub_chunks[0], sub);
}

TEST(ChunkBuilder, SourceFilenamePersists) {
  ChunkBuilder b;
  b.set_source("test.fuse");
  EXPECT_EQ(b.build().source, "test.fuse");
}

TEST(ChunkBuilder, OpHashIdenticalForEqualChunksWithDifferentLines) {
  ChunkBuilder a, b;
  a.emit(Op::LoadInt(1), 1);
  a.emit(Op::LoadInt(2), 2);
  b.emit(Op::LoadInt(1), 100);
  b.emit(Op::LoadInt(2), 200);
  EXPECT_EQ(a.build().op_hash, b.build().op_hash);
}

TEST(ChunkBuilder, OpHashDiffersForDifferentOps) {
  ChunkBuilder a, b;
  a.emit(Op::Add(), 1);
  b.emit(Op::Sub(), 1);
  EXPECT_NE(a.build().op_hash, b.build().op_hash);
}

TEST(ChunkBuilder, OpHashDiffersForDifferentConstants) {
  ChunkBuilder a, b;
  a.add_constant(Value::Str("hello"));
  b.add_constant(Value::Str("world"));
  EXPECT_NE(a.build().op_hash, b.build().op_hash);
}

TEST(ChunkBuilder, OpSizeIs24Bytes) { EXPECT_LE(sizeof(Op), 24u); }

TEST(ChunkBuilder, DefaultChunkIsEmptyWithZeroHash) {
  Chunk c;
  EXPECT_TRUE(c.ops.empty());
  EXPECT_EQ(c.op_hash, 0u);
}

TEST(ChunkBuilder, BuildSetsOpHashAndLeavesBuilderEmpty) {
  ChunkBuilder b;
  b.add_name("n");
  b.add_constant(Value::Int(1));
  b.emit(Op::LoadConst(0), 1);
  b.set_source("s");
  Chunk c = b.build();
  EXPECT_EQ(c.op_hash, c.compute_op_hash());
  EXPECT_NE(c.op_hash, 0u);
  EXPECT_EQ(b.current_pos(), 0u);
  EXPECT_EQ(b.add_name("other"), 0) << "name map must be cleared with the chunk";
  Chunk again = b.build();
  EXPECT_TRUE(again.constants.empty());
  EXPECT_EQ(again.source, "");
  EXPECT_EQ(again.names, std::vector<std::string>{"other"});
}

// Each pool takes exactly 65,536 entries; the next one throws an Error naming the pool
// (the reference would silently alias index 0).
TEST(ChunkBuilder, ConstantPoolOverflowThrows) {
  ChunkBuilder b;
  for (size_t i = 0; i < kMaxPoolEntries; ++i) {
    ASSERT_EQ(b.add_constant(Value::Int(static_cast<int64_t>(i))), static_cast<uint16_t>(i));
  }
  try {
    b.add_constant(Value::Int(-1));
    FAIL() << "65,537th constant accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("constant pool"), std::string::npos) << e.what();
  }
  EXPECT_EQ(b.build().constants.size(), kMaxPoolEntries);
}

TEST(ChunkBuilder, NamePoolOverflowThrowsButExistingNamesStillResolve) {
  ChunkBuilder b;
  for (size_t i = 0; i < kMaxPoolEntries; ++i) {
    ASSERT_EQ(b.add_name("n" + std::to_string(i)), static_cast<uint16_t>(i));
  }
  try {
    b.add_name("one-too-many");
    FAIL() << "65,537th name accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("name pool"), std::string::npos) << e.what();
  }
  EXPECT_EQ(b.add_name("n65535"), 65535) << "interning an existing name needs no new entry";
}

TEST(ChunkBuilder, BlockRangePoolOverflowThrows) {
  ChunkBuilder b;
  for (size_t i = 0; i < kMaxPoolEntries; ++i) ASSERT_EQ(b.add_block_range(0, 0), uint16_t(i));
  try {
    b.add_block_range(0, 0);
    FAIL() << "65,537th block range accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("block range pool"), std::string::npos) << e.what();
  }
}

TEST(ChunkBuilder, SubChunkPoolOverflowThrows) {
  ChunkBuilder b;
  for (size_t i = 0; i < kMaxPoolEntries; ++i) ASSERT_EQ(b.add_sub_chunk(Chunk{}), uint16_t(i));
  try {
    b.add_sub_chunk(Chunk{});
    FAIL() << "65,537th sub-chunk accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sub-chunk pool"), std::string::npos) << e.what();
  }
}

TEST(Chunk, DeepCopyIsEqualAndSharesNoPayload) {
  ChunkBuilder inner;
  inner.add_constant(Value::Str("inner"));
  inner.emit(Op::LoadConst(0), 1);
  ChunkBuilder b;
  b.add_constant(Value::Array({Value::Str("a"), Value::Int(1)}));
  b.add_constant(Value::Str("shared"));
  b.add_sub_chunk(inner.build());
  b.emit(Op::LoadConst(1), 3);
  Chunk c = b.build();
  Chunk d = c.deep_copy();
  EXPECT_EQ(c, d);
  EXPECT_FALSE(c.constants[0].is_shared());
  EXPECT_FALSE(c.constants[1].is_shared());
  EXPECT_FALSE(c.sub_chunks[0].constants[0].is_shared());
  Chunk plain = c;  // a plain copy does share payloads
  EXPECT_TRUE(c.constants[1].is_shared());
}

TEST(Chunk, EqualityComparesEveryField) {
  ChunkBuilder b;
  b.add_name("x");
  b.add_constant(Value::Float(0.0));
  b.emit(Op::GetVar(0), 1);
  b.add_sub_entry(0, 0);
  b.add_block_range(0, 1);
  b.add_sub_chunk(Chunk{});
  b.set_source("f");
  const Chunk base = b.build();
  EXPECT_EQ(base, base.deep_copy());
  auto differs = [&](auto mutate) {
    Chunk c = base.deep_copy();
    mutate(c);
    return c != base;
  };
  EXPECT_TRUE(differs([](Chunk& c) { c.ops[0] = Op::GetVar(1); }));
  EXPECT_TRUE(differs([](Chunk& c) { c.constants[0] = Value::Float(-0.0); }));
  EXPECT_TRUE(differs([](Chunk& c) { c.names[0] = "y"; }));
  EXPECT_TRUE(differs([](Chunk& c) { c.lines[0] = 2; }));
  EXPECT_TRUE(differs([](Chunk& c) { c.sub_entries[0].second = 1; }));
  EXPECT_TRUE(differs([](Chunk& c) { c.block_ranges[0].first = 1; }));
  EXPECT_TRUE(differs([](Chunk& c) { c.sub_chunks[0].source = "z"; }));
  EXPECT_TRUE(differs([](Chunk& c) { c.source = "g"; }));
  EXPECT_TRUE(differs([](Chunk& c) { c.op_hash ^= 1; }));
}

TEST(Chunk, EqualityTreatsNanConstantsAsIdentical) {
  Chunk a;
  a.constants.push_back(Value::Float(std::nan("")));
  Chunk b = a.deep_copy();
  EXPECT_EQ(a, b);
}
