// Unit tests for verify(): every kind of finding, nested sub-chunks, and valid chunks passing.
#include <gtest/gtest.h>

#include <string>

#include "fusevm/asm.hpp"

using namespace fusevm;

namespace {

// A valid chunk touching every pool: 4 ops, 1 constant, 1 name, 1 block, 1 sub-chunk.
Chunk valid_chunk() {
  ChunkBuilder inner;
  inner.emit(Op::LoadInt(1), 1);
  ChunkBuilder b;
  b.add_constant(Value::Str("c"));
  b.add_name("f");
  b.add_block_range(1, 2);
  b.add_sub_chunk(inner.build());
  b.emit(Op::LoadConst(0), 1);
  b.emit(Op::MapBlock(0), 2);
  b.emit(Op::CmdSubst(0), 3);
  b.emit(Op::Jump(4), 4);  // target == ops.size(): "end", legal
  b.add_sub_entry(0, 4);
  return b.build();
}

std::string only_message(const std::vector<Diagnostic>& d) {
  EXPECT_EQ(d.size(), 1u);
  return d.empty() ? "" : d[0].message;
}

}  // namespace

TEST(Verify, ValidChunkPasses) { EXPECT_TRUE(verify(valid_chunk()).empty()); }

TEST(Verify, EmptyChunkPasses) { EXPECT_TRUE(verify(Chunk{}).empty()); }

TEST(Verify, ChunkWithoutLinesPasses) {
  Chunk c = valid_chunk();
  c.lines.clear();
  EXPECT_TRUE(verify(c).empty());
}

TEST(Verify, JumpTargetPastEndIsReportedWithOpAndLine) {
  Chunk c = valid_chunk();
  c.ops[3] = Op::Jump(99);
  auto d = verify(c, "prog.fasm");
  EXPECT_EQ(only_message(d), "op 3 (Jump): target 99 past end (4 ops)");
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d[0].file, "prog.fasm");
  EXPECT_EQ(d[0].line, 4u) << "line comes from chunk.lines";
  EXPECT_EQ(d[0].to_string(), "prog.fasm:4: op 3 (Jump): target 99 past end (4 ops)");
}

TEST(Verify, FusedJumpTargetIsChecked) {
  Chunk c = valid_chunk();
  c.ops[0] = Op::SlotIncLtIntJumpBack(0, 10, 5);
  EXPECT_EQ(only_message(verify(c)), "op 0 (SlotIncLtIntJumpBack): target 5 past end (4 ops)");
}

TEST(Verify, LineFallsBackToOneBasedOpIndex) {
  Chunk c = valid_chunk();
  c.ops[2] = Op::JumpIfFalse(50);
  c.lines.clear();
  auto d = verify(c);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].line, 3u);
  c.lines = {1, 2, 0, 4};  // a zero line also falls back
  d = verify(c);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].line, 3u);
}

TEST(Verify, ConstantIndexOutOfRange) {
  Chunk c = valid_chunk();
  c.ops[0] = Op::LoadConst(1);
  EXPECT_EQ(only_message(verify(c)), "op 0 (LoadConst): index 1 out of range (1 constant)");
  c.ops[0] = Op::ConcatConstLoop(7, 0, 1, 10);
  EXPECT_EQ(only_message(verify(c)), "op 0 (ConcatConstLoop): index 7 out of range (1 constant)");
  c.ops[0] = Op::HereDoc(3);
  EXPECT_EQ(only_message(verify(c)), "op 0 (HereDoc): index 3 out of range (1 constant)");
}

TEST(Verify, NameIndexOutOfRange) {
  Chunk c = valid_chunk();
  c.ops[0] = Op::Call(2, 0);
  EXPECT_EQ(only_message(verify(c)), "op 0 (Call): name 2 out of range (1 name)");
  c.ops[0] = Op::PushIntRangeLoop(5, 0, 3);
  EXPECT_EQ(only_message(verify(c)), "op 0 (PushIntRangeLoop): name 5 out of range (1 name)");
}

TEST(Verify, BlockIndexOutOfRange) {
  Chunk c = valid_chunk();
  c.ops[1] = Op::SortBlock(1);
  EXPECT_EQ(only_message(verify(c)), "op 1 (SortBlock): block 1 out of range (1 block range)");
}

TEST(Verify, SubChunkIndexOutOfRange) {
  Chunk c = valid_chunk();
  c.ops[2] = Op::TrapSet(4);
  EXPECT_EQ(only_message(verify(c)), "op 2 (TrapSet): sub 4 out of range (1 sub-chunk)");
}

TEST(Verify, UncheckedOperandKindsAcceptAnyValue) {
  Chunk c;
  c.ops = {Op::GetSlot(65535), Op::MakeArray(60000), Op::CallBuiltin(999, 255),
           Op::TestFile(200), Op::Redirect(255, 99), Op::ExpandParam(77),
           Op::ExtendedWide(1, ~uint64_t{0}), Op::AccumSumLoop(0, 1, -5)};
  EXPECT_TRUE(verify(c).empty());
}

TEST(Verify, UnknownOpcodeIsReported) {
  Chunk c;
  c.ops.push_back(Op(static_cast<OpCode>(200)));
  EXPECT_EQ(only_message(verify(c)), "op 0: unknown opcode 200");
}

TEST(Verify, SubEntryPastEndAndBadNameAreReported) {
  Chunk c = valid_chunk();
  c.sub_entries = {{0, 5}, {3, 0}};
  auto d = verify(c);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].message, "sub entry 0: entry 5 past end (4 ops)");
  EXPECT_EQ(d[1].message, "sub entry 1: name 3 out of range (1 name)");
}

TEST(Verify, BlockRangeReversedOrPastEndIsReported) {
  Chunk c = valid_chunk();
  c.block_ranges = {{3, 2}};
  EXPECT_EQ(only_message(verify(c)), "block range 0: start 3 after end 2");
  c.block_ranges = {{1, 9}};
  EXPECT_EQ(only_message(verify(c)), "block range 0: end 9 past end (4 ops)");
  c.block_ranges = {{4, 4}};
  EXPECT_TRUE(verify(c).empty()) << "an empty range at the end is legal";
}

TEST(Verify, LinesOfWrongLengthAreReported) {
  Chunk c = valid_chunk();
  c.lines = {1, 2};
  EXPECT_EQ(only_message(verify(c)), "lines has 2 entries but there are 4 ops");
}

TEST(Verify, NestedSubChunkErrorNamesTheSubChunkPath) {
  Chunk bad;
  bad.ops = {Op::Nop(), Op::Jump(99)};
  Chunk mid;
  mid.sub_chunks = {Chunk{}, bad};
  Chunk top = valid_chunk();
  top.sub_chunks.push_back(Chunk{});
  top.sub_chunks.push_back(mid);
  auto d = verify(top, "x.fvc");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message, "sub-chunk 2: sub-chunk 1: op 1 (Jump): target 99 past end (2 ops)");
  EXPECT_EQ(d[0].line, 2u);
}

TEST(Verify, SubChunkDirectChildErrorFormat) {
  Chunk sub;
  sub.ops = {Op::Nop(), Op::Nop(), Op::Nop(), Op::Nop(), Op::Nop(), Op::Jump(99)};
  sub.ops.resize(12);
  Chunk top;
  top.sub_chunks = {Chunk{}, Chunk{}, sub};
  EXPECT_EQ(only_message(verify(top)), "sub-chunk 2: op 5 (Jump): target 99 past end (12 ops)");
}

TEST(Verify, ReportsEveryFindingNotJustTheFirst) {
  Chunk c;
  c.ops = {Op::LoadConst(0), Op::GetVar(0), Op::Jump(10)};
  c.block_ranges = {{2, 1}};
  EXPECT_EQ(verify(c).size(), 4u);
}
