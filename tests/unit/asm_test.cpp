// Tests of the .fasm assembler: directives, literals, symbolic names, errors, robustness, loader.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "fusevm/fusevm.hpp"

namespace {

using namespace fusevm;

constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

Chunk assemble_ok(std::string_view text) {
  LoadResult r = assemble(text, "t.fasm");
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? std::move(*r.chunk) : Chunk{};
}

// The diagnostics of a text that must fail, as `file:line: message` strings.
std::vector<std::string> errors_of(std::string_view text) {
  LoadResult r = assemble(text, "t.fasm");
  EXPECT_FALSE(r.ok()) << "assembled unexpectedly:\n" << text;
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) out.push_back(d.to_string());
  EXPECT_FALSE(out.empty());
  return out;
}

// The single diagnostic of `text`; it must start with `prefix` and contain `fragment`.
void expect_error(std::string_view text, const std::string& prefix, const std::string& fragment) {
  std::vector<std::string> errors = errors_of(text);
  ASSERT_EQ(errors.size(), 1u) << "for:\n" << text << "\nfirst: " << (errors.empty() ? "" : errors[0]);
  EXPECT_EQ(errors[0].rfind(prefix, 0), 0u) << errors[0];
  EXPECT_NE(errors[0].find(fragment), std::string::npos) << errors[0];
}

uint64_t bits(double f) {
  uint64_t b;
  std::memcpy(&b, &f, 8);
  return b;
}

// The constant a one-instruction `LoadConst LITERAL` program appends.
Value literal(std::string_view lit) {
  Chunk c = assemble_ok("LoadConst " + std::string(lit) + "\n");
  EXPECT_EQ(c.constants.size(), 1u) << lit;
  return c.constants.empty() ? Value() : c.constants[0];
}

// -- Instructions and operands ----------------------------------------------------------

TEST(AsmInstructions, OneOpPerLineWithOperandsFromTheOpTable) {
  Chunk c = assemble_ok(
      "LoadInt 40\n"
      "  LoadInt 2   ; comment after an op\n"
      "Add\n"
      "; a whole-line comment\n"
      "\n"
      "Call @f, 3\n"
      "SlotLtIntJumpIfFalse 4, -7, 0\n"
      "ConcatConstLoop \"x\", 1, 2, 100\n");
  ASSERT_EQ(c.ops.size(), 6u);
  EXPECT_EQ(c.ops[0], Op::LoadInt(40));
  EXPECT_EQ(c.ops[1], Op::LoadInt(2));
  EXPECT_EQ(c.ops[2], Op::Add());
  EXPECT_EQ(c.ops[3], Op::Call(0, 3));
  EXPECT_EQ(c.ops[4], Op::SlotLtIntJumpIfFalse(4, -7, 0));
  EXPECT_EQ(c.ops[5], Op::ConcatConstLoop(0, 1, 2, 100));
  EXPECT_EQ(c.names, std::vector<std::string>{"f"});
  EXPECT_EQ(c.lines, (std::vector<uint32_t>{1, 2, 3, 6, 7, 8}));
  EXPECT_EQ(c.op_hash, c.compute_op_hash());
  EXPECT_NE(c.op_hash, 0u);
}

TEST(AsmInstructions, EveryMnemonicOfTheOpTableAssembles) {
  // Each op with zero operands of the right shape: proves the mnemonic list and operand
  // counts come from kOpInfo and that every operand kind parses a plain 0 or a name.
  std::string text = ".const 0\n.name \"n\"\n.blockrange b 0, 0\n.chunk c\n.end\n";
  for (const OpInfo& info : kOpInfo) {
    text += std::string(info.name);
    for (size_t k = 0; k < info.num_operands; ++k) {
      text += k == 0 ? " " : ", ";
      switch (info.kinds[k]) {
        case OperandKind::Const: text += "#0"; break;
        case OperandKind::Name: text += "@n"; break;
        case OperandKind::Block: text += "b"; break;
        case OperandKind::SubChunk: text += "c"; break;
        default: text += "0"; break;
      }
    }
    text += "\n";
  }
  Chunk c = assemble_ok(text);
  ASSERT_EQ(c.ops.size(), kNumOps);
  for (size_t i = 0; i < kNumOps; ++i) {
    EXPECT_EQ(c.ops[i], Op(static_cast<OpCode>(i))) << kOpInfo[i].name;
  }
}

TEST(AsmInstructions, MnemonicsAreCaseSensitive) {
  expect_error("loadint 1\n", "t.fasm:1: ", "unknown mnemonic 'loadint'");
  expect_error("ADD\n", "t.fasm:1: ", "did you mean 'Add'?");
}

TEST(AsmInstructions, IntegerOperandsAcceptHexAndFullRanges) {
  Chunk c = assemble_ok(
      "LoadInt -9223372036854775808\n"
      "LoadInt 9223372036854775807\n"
      "LoadInt 0x7fffffffffffffff\n"
      "LoadInt -0x10\n"
      "ExtendedWide 65535, 18446744073709551615\n"
      "ExtendedWide 0, 0xFFFFFFFFFFFFFFFF\n"
      "SlotIncLtIntJumpBack 65535, -2147483648, 0\n"
      "SlotIncLtIntJumpBack 0, 2147483647, 0\n"
      "Extended 7, 255\n"
      "GetSlot 0xffff\n");
  EXPECT_EQ(c.ops[0], Op::LoadInt(kI64Min));
  EXPECT_EQ(c.ops[1], Op::LoadInt(kI64Max));
  EXPECT_EQ(c.ops[2], Op::LoadInt(kI64Max));
  EXPECT_EQ(c.ops[3], Op::LoadInt(-16));
  EXPECT_EQ(c.ops[4], Op::ExtendedWide(65535, ~uint64_t{0}));
  EXPECT_EQ(c.ops[5], Op::ExtendedWide(0, ~uint64_t{0}));
  EXPECT_EQ(c.ops[6], Op::SlotIncLtIntJumpBack(65535, std::numeric_limits<int32_t>::min(), 0));
  EXPECT_EQ(c.ops[7], Op::SlotIncLtIntJumpBack(0, std::numeric_limits<int32_t>::max(), 0));
  EXPECT_EQ(c.ops[8], Op::Extended(7, 255));
  EXPECT_EQ(c.ops[9], Op::GetSlot(65535));
}

TEST(AsmInstructions, LoadFloatTakesFloatsAndIntegers) {
  Chunk c = assemble_ok(
      "LoadFloat 1.5\nLoadFloat 3\nLoadFloat -0.0\nLoadFloat nan\nLoadFloat -inf\n"
      "LoadFloat 2.5e-3\nLoadFloat f64(0xfff0000000000123)\nLoadFloat -7\n");
  EXPECT_EQ(bits(c.ops[0].imm_float()), bits(1.5));
  EXPECT_EQ(bits(c.ops[1].imm_float()), bits(3.0));
  EXPECT_EQ(bits(c.ops[2].imm_float()), bits(-0.0));
  EXPECT_EQ(bits(c.ops[3].imm_float()), 0x7ff8000000000000u);
  EXPECT_EQ(c.ops[4].imm_float(), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(bits(c.ops[5].imm_float()), bits(2.5e-3));
  EXPECT_EQ(bits(c.ops[6].imm_float()), 0xfff0000000000123u);
  EXPECT_EQ(bits(c.ops[7].imm_float()), bits(-7.0));
}

TEST(AsmInstructions, NameOperandsAreInternedInFirstUseOrder) {
  Chunk c = assemble_ok(
      "GetVar @b\nSetVar @\"a b\"\nGetVar @b\nCall @\"\", 0\nGetArray 1\n");
  EXPECT_EQ(c.names, (std::vector<std::string>{"b", "a b", ""}));
  EXPECT_EQ(c.ops[0], Op::GetVar(0));
  EXPECT_EQ(c.ops[1], Op::SetVar(1));
  EXPECT_EQ(c.ops[2], Op::GetVar(0));
  EXPECT_EQ(c.ops[3], Op::Call(2, 0));
  EXPECT_EQ(c.ops[4], Op::GetArray(1)) << "a bare number is a name index";
}

// -- Labels and jump targets ----------------------------------------------------------------

TEST(AsmLabels, ForwardAndBackwardReferencesResolve) {
  Chunk c = assemble_ok(
      "top:\n"
      "  JumpIfFalse done\n"
      "  Jump top\n"
      "mid: Nop\n"
      "  SlotIncLtIntJumpBack 0, 10, mid\n"
      "done:\n");
  ASSERT_EQ(c.ops.size(), 4u);
  EXPECT_EQ(c.ops[0], Op::JumpIfFalse(4)) << "a label at the end is ops.size()";
  EXPECT_EQ(c.ops[1], Op::Jump(0));
  EXPECT_EQ(c.ops[3], Op::SlotIncLtIntJumpBack(0, 10, 2));
}

TEST(AsmLabels, StandAloneAndStackedLabelsNameTheNextOp) {
  Chunk c = assemble_ok("Nop\na:\nb: c:\n\nd: Nop\nJump a\nJump b\nJump c\nJump d\nJump 5\n");
  EXPECT_EQ(c.ops[2], Op::Jump(1));
  EXPECT_EQ(c.ops[3], Op::Jump(1));
  EXPECT_EQ(c.ops[4], Op::Jump(1));
  EXPECT_EQ(c.ops[5], Op::Jump(1));
  EXPECT_EQ(c.ops[6], Op::Jump(5)) << "absolute index";
}

TEST(AsmLabels, LabelsAreCaseSensitiveAndScopedPerChunk) {
  Chunk c = assemble_ok(
      "Nop\nloop: Jump loop\nLOOP: Jump LOOP\n"
      ".chunk inner\n  Nop\n  Nop\n  loop: Jump loop\n.end\n");
  EXPECT_EQ(c.ops[1], Op::Jump(1));
  EXPECT_EQ(c.ops[2], Op::Jump(2));
  ASSERT_EQ(c.sub_chunks.size(), 1u);
  EXPECT_EQ(c.sub_chunks[0].ops[2], Op::Jump(2));
}

// -- Directives --------------------------------------------------------------------------------

TEST(AsmDirectives, ConstFixesPoolOrderAndInlineLiteralsAppendWithoutDedupe) {
  Chunk c = assemble_ok(
      ".const \"a\"\n"
      ".const 1\n"
      "LoadConst 1\n"
      "LoadConst 1\n"
      "LoadConst #0\n"
      "HereDoc \"doc\"\n"
      ".const 2.5\n");
  ASSERT_EQ(c.constants.size(), 6u);
  EXPECT_TRUE(identical(c.constants[0], Value::Str("a")));
  EXPECT_TRUE(identical(c.constants[1], Value::Int(1)));
  EXPECT_TRUE(identical(c.constants[2], Value::Int(1)));
  EXPECT_TRUE(identical(c.constants[3], Value::Int(1)));
  EXPECT_TRUE(identical(c.constants[4], Value::Str("doc")));
  EXPECT_TRUE(identical(c.constants[5], Value::Float(2.5)));
  EXPECT_EQ(c.ops[0], Op::LoadConst(2));
  EXPECT_EQ(c.ops[1], Op::LoadConst(3));
  EXPECT_EQ(c.ops[2], Op::LoadConst(0));
  EXPECT_EQ(c.ops[3], Op::HereDoc(4));
}

TEST(AsmDirectives, NameFixesPoolOrderAndInterns) {
  Chunk c = assemble_ok(".name \"z\"\n.name \"a\"\n.name \"z\"\nGetVar @a\nGetVar @z\nGetVar @new\n");
  EXPECT_EQ(c.names, (std::vector<std::string>{"z", "a", "new"}));
  EXPECT_EQ(c.ops[0], Op::GetVar(1));
  EXPECT_EQ(c.ops[1], Op::GetVar(0));
  EXPECT_EQ(c.ops[2], Op::GetVar(2));
}

TEST(AsmDirectives, DupnameAppendsASecondCopyReachableByIndex) {
  Chunk c = assemble_ok(".name \"x\"\n.dupname \"x\"\nGetVar @x\nGetVar 1\n");
  EXPECT_EQ(c.names, (std::vector<std::string>{"x", "x"}));
  EXPECT_EQ(c.ops[0], Op::GetVar(0));
  EXPECT_EQ(c.ops[1], Op::GetVar(1));
}

TEST(AsmDirectives, SubRecordsTheNextOpAndInternsItsName) {
  Chunk c = assemble_ok(
      ".name \"first\"\n"
      "Nop\n"
      ".sub main\n"
      "Nop\n"
      ".sub \"odd name\"\n"
      ".sub @main\n"
      "Nop\n"
      ".sub 0\n"
      ".sub late @ 1\n"
      ".sub end\n");
  EXPECT_EQ(c.names, (std::vector<std::string>{"first", "main", "odd name", "late", "end"}));
  using E = std::pair<uint16_t, uint64_t>;
  EXPECT_EQ(c.sub_entries, (std::vector<E>{{1, 1}, {2, 2}, {1, 2}, {0, 3}, {3, 1}, {4, 3}}));
  EXPECT_EQ(c.find_sub(1), 1u);
}

TEST(AsmDirectives, BlockRecordsTheRangeOfOpsBetweenItsDirectives) {
  Chunk c = assemble_ok(
      "Nop\n"
      ".block outer\n"
      "  Nop\n"
      "  .block inner\n"
      "    Dup\n"
      "  .end\n"
      "  .block empty\n"
      "  .end\n"
      ".end\n"
      "MapBlock inner\n"
      "GrepBlock 0\n"
      "SortBlock empty\n"
      "ForEachBlock later\n"
      ".blockrange later 1, 3\n");
  using R = std::pair<uint64_t, uint64_t>;
  EXPECT_EQ(c.block_ranges, (std::vector<R>{{1, 3}, {2, 3}, {3, 3}, {1, 3}}));
  EXPECT_EQ(c.ops[3], Op::MapBlock(1));
  EXPECT_EQ(c.ops[4], Op::GrepBlock(0));
  EXPECT_EQ(c.ops[5], Op::SortBlock(2));
  EXPECT_EQ(c.ops[6], Op::ForEachBlock(3));
}

TEST(AsmDirectives, ChunkNestsRecursivelyWithItsOwnPools) {
  Chunk c = assemble_ok(
      ".source \"outer.fasm\"\n"
      "CmdSubst second\n"
      "TrapSet 0\n"
      ".chunk first\n"
      "  .source \"first.fasm\"\n"
      "  GetVar @inner_name\n"
      "  LoadConst \"inner\"\n"
      "  ProcessSubIn deep\n"
      "  .chunk deep\n"
      "    LoadInt 9\n"
      "  .end\n"
      ".end\n"
      ".chunk second\n"
      "  .chunk deep\n"
      "  .end\n"
      ".end\n");
  EXPECT_EQ(c.source, "outer.fasm");
  EXPECT_EQ(c.ops[0], Op::CmdSubst(1));
  EXPECT_EQ(c.ops[1], Op::TrapSet(0));
  EXPECT_TRUE(c.names.empty());
  EXPECT_TRUE(c.constants.empty());
  ASSERT_EQ(c.sub_chunks.size(), 2u);
  const Chunk& first = c.sub_chunks[0];
  EXPECT_EQ(first.source, "first.fasm");
  EXPECT_EQ(first.names, std::vector<std::string>{"inner_name"});
  EXPECT_EQ(first.ops[2], Op::ProcessSubIn(0));
  EXPECT_EQ(first.lines, (std::vector<uint32_t>{6, 7, 8}));
  ASSERT_EQ(first.sub_chunks.size(), 1u);
  EXPECT_EQ(first.sub_chunks[0].ops, std::vector<Op>{Op::LoadInt(9)});
  EXPECT_EQ(first.sub_chunks[0].op_hash, first.sub_chunks[0].compute_op_hash());
  EXPECT_EQ(first.sub_chunks[0].source, "") << "a nested chunk has its own (empty) source";
  EXPECT_EQ(c.sub_chunks[1].sub_chunks.size(), 1u);
}

TEST(AsmDirectives, SourceDefaultsToEmpty) {
  EXPECT_EQ(assemble_ok("Nop\n").source, "");
  EXPECT_EQ(assemble_ok(".source \"a\\tb.fasm\"\nNop\n").source, "a\tb.fasm");
}

TEST(AsmDirectives, LineSetsOnlyTheNextOp) {
  Chunk c = assemble_ok("Nop\n.line 100\nNop\nNop\n.line 0\n\nNop\n.line 4294967295\nNop\n");
  EXPECT_EQ(c.lines, (std::vector<uint32_t>{1, 100, 4, 0, 4294967295u}));
}

TEST(AsmDirectives, LinesReplacesTheWholeTable) {
  EXPECT_TRUE(assemble_ok(".lines\nNop\nNop\n").lines.empty());
  EXPECT_EQ(assemble_ok("Nop\n.lines 7, 8\nNop\n").lines, (std::vector<uint32_t>{7, 8}));
}

TEST(AsmDirectives, CrlfLineEndingsAreAccepted) {
  Chunk c = assemble_ok("LoadConst \"a\"\r\nPrintLn 1\r\n");
  EXPECT_EQ(c.ops.size(), 2u);
  EXPECT_TRUE(identical(c.constants[0], Value::Str("a")));
}

// -- Literals ----------------------------------------------------------------------------------

TEST(AsmLiterals, Integers) {
  EXPECT_TRUE(identical(literal("0"), Value::Int(0)));
  EXPECT_TRUE(identical(literal("-0"), Value::Int(0)));
  EXPECT_TRUE(identical(literal("0042"), Value::Int(42)));
  EXPECT_TRUE(identical(literal("0x1F"), Value::Int(31)));
  EXPECT_TRUE(identical(literal("-0xff"), Value::Int(-255)));
  EXPECT_TRUE(identical(literal("-9223372036854775808"), Value::Int(kI64Min)));
  EXPECT_TRUE(identical(literal("9223372036854775807"), Value::Int(kI64Max)));
  EXPECT_TRUE(identical(literal("-0x8000000000000000"), Value::Int(kI64Min)));
}

TEST(AsmLiterals, FloatsNeedADotAnExponentOrAKeyword) {
  EXPECT_TRUE(identical(literal("1.0"), Value::Float(1.0)));
  EXPECT_TRUE(identical(literal("1."), Value::Float(1.0)));
  EXPECT_TRUE(identical(literal(".25"), Value::Float(0.25)));
  EXPECT_TRUE(identical(literal("1e3"), Value::Float(1000.0)));
  EXPECT_TRUE(identical(literal("-2.5E-3"), Value::Float(-0.0025)));
  EXPECT_TRUE(identical(literal("1e+300"), Value::Float(1e300)));
  EXPECT_TRUE(identical(literal("5e-324"), Value::Float(5e-324)));
  EXPECT_TRUE(identical(literal("inf"), Value::Float(std::numeric_limits<double>::infinity())));
  EXPECT_TRUE(identical(literal("-inf"), Value::Float(-std::numeric_limits<double>::infinity())));
  EXPECT_EQ(bits(literal("nan").as_float()), 0x7ff8000000000000u);
  EXPECT_EQ(bits(literal("-0.0").as_float()), bits(-0.0));
  EXPECT_EQ(bits(literal("0.0").as_float()), 0u);
  EXPECT_EQ(bits(literal("0.1").as_float()), bits(0.1));
  EXPECT_EQ(bits(literal("f64(0x7ff0000000000001)").as_float()), 0x7ff0000000000001u);
  EXPECT_EQ(bits(literal("f64(1)").as_float()), 1u);
}

TEST(AsmLiterals, StringsDecodeEveryEscape) {
  Value v = literal(R"("a\\b\"c\nd\te\rf\0g\x41\xff\x00")");
  ASSERT_TRUE(v.is_str());
  EXPECT_EQ(v.as_str(), std::string("a\\b\"c\nd\te\rf\0gA\xff\0", 16));
  EXPECT_EQ(literal("\"\"").as_str(), "");
  EXPECT_EQ(literal("\"; not a comment\"").as_str(), "; not a comment");
  EXPECT_EQ(literal("\"caf\xc3\xa9\"").as_str(), "caf\xc3\xa9");
}

TEST(AsmLiterals, KeywordsAndConstructors) {
  EXPECT_TRUE(identical(literal("true"), Value::Bool(true)));
  EXPECT_TRUE(identical(literal("false"), Value::Bool(false)));
  EXPECT_TRUE(identical(literal("undef"), Value::Undef()));
  EXPECT_TRUE(identical(literal("status(3)"), Value::Status(3)));
  EXPECT_TRUE(identical(literal("status(-2147483648)"),
                        Value::Status(std::numeric_limits<int32_t>::min())));
  EXPECT_TRUE(identical(literal("native(65535)"), Value::NativeFn(65535)));
  EXPECT_TRUE(identical(literal("ref(1)"), Value::Ref(Value::Int(1))));
  EXPECT_TRUE(identical(literal("ref(ref(\"x\"))"), Value::Ref(Value::Ref(Value::Str("x")))));
}

TEST(AsmLiterals, NestedArraysAndHashesKeepOrder) {
  Value v = literal(R"([1, [2, [3.5, []]], {"k": [true], "a": {}, "": undef}, ref([native(1)])])");
  HashMap inner{{"k", Value::Array({Value::Bool(true)})},
                {"a", Value::Hash(HashMap{})},
                {"", Value::Undef()}};
  Value expected = Value::Array(
      {Value::Int(1),
       Value::Array({Value::Int(2), Value::Array({Value::Float(3.5), Value::Array({})})}),
       Value::Hash(inner), Value::Ref(Value::Array({Value::NativeFn(1)}))});
  EXPECT_TRUE(identical(v, expected)) << v.repr();
  std::vector<std::string> keys;
  for (const auto& [k, e] : v.as_array()[2].as_hash()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"k", "a", ""})) << "insertion order is kept";
}

TEST(AsmLiterals, LiteralsNestUpToTheFvcLimit) {
  std::string ok(64, '[');
  ok += std::string(64, ']');
  Value v = literal(ok);
  size_t depth = 0;
  const Value* p = &v;
  while (p->is_array()) {
    ++depth;
    if (p->as_array().empty()) break;
    p = &p->as_array()[0];
  }
  EXPECT_EQ(depth, 64u);
  std::string deep(65, '[');
  deep += std::string(65, ']');
  expect_error("LoadConst " + deep + "\n", "t.fasm:1: ", "nested too deeply");
}

// -- Symbolic operand names (spec/ops.md §21) ----------------------------------------------

TEST(AsmSymbolicNames, EveryFileTestName) {
  for (uint8_t code = 0; code < 12; ++code) {
    std::string name(file_test::name(code));
    ASSERT_FALSE(name.empty());
    Chunk c = assemble_ok("TestFile " + name + "\nTestFile " + std::to_string(code) + "\n");
    EXPECT_EQ(c.ops[0], Op::TestFile(code)) << name;
    EXPECT_EQ(c.ops[1], Op::TestFile(code));
  }
  EXPECT_EQ(assemble_ok("TestFile 200\n").ops[0], Op::TestFile(200));
}

TEST(AsmSymbolicNames, EveryRedirectOpName) {
  for (uint8_t code = 0; code < 9; ++code) {
    std::string name(redirect_op::name(code));
    ASSERT_FALSE(name.empty());
    Chunk c = assemble_ok("Redirect 2, " + name + "\n");
    EXPECT_EQ(c.ops[0], Op::Redirect(2, code)) << name;
  }
  EXPECT_EQ(assemble_ok("Redirect 1, 77\n").ops[0], Op::Redirect(1, 77));
  expect_error("Redirect WRITE, WRITE\n", "t.fasm:1: ", "Redirect");
}

TEST(AsmSymbolicNames, EveryParamModName) {
  for (uint8_t code = 0; code < 18; ++code) {
    std::string name(param_mod::name(code));
    ASSERT_FALSE(name.empty());
    Chunk c = assemble_ok("ExpandParam " + name + "\n");
    EXPECT_EQ(c.ops[0], Op::ExpandParam(code)) << name;
  }
  EXPECT_EQ(assemble_ok("ExpandParam 255\n").ops[0], Op::ExpandParam(255));
}

TEST(AsmSymbolicNames, NamesAreCaseSensitive) {
  expect_error("TestFile is_file\n", "t.fasm:1: ", "unknown file test 'is_file'");
  expect_error("ExpandParam Default\n", "t.fasm:1: ", "unknown param mod");
}

// -- Errors ------------------------------------------------------------------------------------

TEST(AsmErrors, UnknownMnemonicSuggestsTheClosest) {
  expect_error("Nop\nLoadIntt 1\n", "t.fasm:2: ", "unknown mnemonic 'LoadIntt' (did you mean 'LoadInt'?)");
  expect_error("\n\nPrintln 1\n", "t.fasm:3: ", "did you mean 'PrintLn'?");
  expect_error("JumpIfFalsee 0\n", "t.fasm:1: ", "did you mean 'JumpIfFalse'?");
}

TEST(AsmErrors, WrongOperandCount) {
  expect_error("Add 1\n", "t.fasm:1: ", "Add takes 0 operands, got 1");
  expect_error("Nop\nLoadInt\n", "t.fasm:2: ", "LoadInt takes 1 operand, got 0");
  expect_error("Call @f\n", "t.fasm:1: ", "Call takes 2 operands, got 1");
  expect_error("Call @f, 1, 2\n", "t.fasm:1: ", "Call takes 2 operands, got 3");
  expect_error("Call @f,\n", "t.fasm:1: ", "missing operand 2");
}

TEST(AsmErrors, BadLiterals) {
  expect_error("LoadConst 12abc\n", "t.fasm:1: ", "bad literal '12abc'");
  expect_error("LoadConst [1, 2\n", "t.fasm:1: ", "expected ']'");
  expect_error("LoadConst {1: 2}\n", "t.fasm:1: ", "hash key must be a string");
  expect_error("LoadConst {\"a\": 1, \"a\": 2}\n", "t.fasm:1: ", "duplicate hash key");
  expect_error("LoadConst status(x)\n", "t.fasm:1: ", "status");
  expect_error("LoadConst 1e999\n", "t.fasm:1: ", "out of range");
  expect_error("LoadConst 9223372036854775808\n", "t.fasm:1: ", "out of range for i64");
  expect_error("LoadConst \"\\q\"\n", "t.fasm:1: ", "bad escape");
  expect_error("LoadConst \"\\x4\"\n", "t.fasm:1: ", "\\x needs two hex digits");
  expect_error("LoadInt 1.5\n", "t.fasm:1: ", "expected an integer");
  expect_error("LoadFloat \"x\"\n", "t.fasm:1: ", "expected a float literal");
  expect_error("LoadConst 1 2\n", "t.fasm:1: ", "unexpected '2'");
  expect_error("LoadInt $5\n", "t.fasm:1: ", "unexpected character '$'");
}

TEST(AsmErrors, UnterminatedString) {
  expect_error("Nop\nLoadConst \"abc\n", "t.fasm:2: ", "unterminated string");
  expect_error(".source \"a\\\"\n", "t.fasm:1: ", "unterminated string");
}

TEST(AsmErrors, UndefinedAndDuplicateLabels) {
  expect_error("Nop\nJump nowhere\n", "t.fasm:2: ", "undefined label 'nowhere'");
  expect_error("a: Nop\n\na: Nop\n", "t.fasm:3: ", "duplicate label 'a' (first defined at line 1)");
  expect_error("x: Nop\n.chunk c\n  Jump x\n.end\n", "t.fasm:3: ", "undefined label 'x'");
  expect_error("12: Nop\n", "t.fasm:1: ", "bad label");
}

TEST(AsmErrors, UnknownBlockAndChunkNames) {
  expect_error("MapBlock nope\n", "t.fasm:1: ", "unknown block 'nope'");
  expect_error("Nop\nCmdSubst nope\n", "t.fasm:2: ", "unknown chunk 'nope'");
  expect_error(".block b\n.end\n.block b\n.end\n", "t.fasm:3: ", "duplicate block name 'b'");
  expect_error(".chunk c\n.end\n.chunk c\n.end\n", "t.fasm:3: ", "duplicate chunk name 'c'");
}

TEST(AsmErrors, EndWithoutOpenerAndMissingEnd) {
  expect_error("Nop\n.end\n", "t.fasm:2: ", ".end without a matching .block or .chunk");
  expect_error("Nop\n.block b\nNop\n", "t.fasm:2: ", "missing .end for .block 'b'");
  expect_error(".chunk c\n  Nop\n", "t.fasm:1: ", "missing .end for .chunk 'c'");
  std::vector<std::string> both = errors_of(".chunk c\n.block b\nNop\n");
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0], "t.fasm:1: missing .end for .chunk 'c'");
  EXPECT_EQ(both[1], "t.fasm:2: missing .end for .block 'b'");
}

TEST(AsmErrors, ValuesOutOfRangeForTheirOperandWidth) {
  expect_error("GetSlot 70000\n", "t.fasm:1: ", "value 70000 out of range for Slot operand (0..65535)");
  expect_error("Print 300\n", "t.fasm:1: ", "value 300 out of range for N operand (0..255)");
  expect_error("SlotLtIntJumpIfFalse 0, 2147483648, 0\n", "t.fasm:1: ",
               "out of range for Limit operand (-2147483648..2147483647)");
  expect_error("AccumSumLoop 0, 0, -2147483649\n", "t.fasm:1: ", "out of range for Limit");
  expect_error("GetSlot -1\n", "t.fasm:1: ", "out of range for Slot");
  expect_error("Jump -1\n", "t.fasm:1: ", "out of range for Target");
  expect_error("LoadInt 9223372036854775808\n", "t.fasm:1: ", "out of range for I64");
  expect_error("LoadInt -9223372036854775809\n", "t.fasm:1: ", "out of range for I64");
  expect_error("ExtendedWide 0, 18446744073709551616\n", "t.fasm:1: ", "out of range");
  expect_error("CallBuiltin 65536, 0\n", "t.fasm:1: ", "out of range for Id");
  expect_error("Exec 256\n", "t.fasm:1: ", "out of range for Argc");
  expect_error("LoadConst #65536\n", "t.fasm:1: ", "out of range for Const");
  expect_error("GetVar 65536\n", "t.fasm:1: ", "name index 65536 out of range");
  expect_error("TestFile 256\n", "t.fasm:1: ", "out of range for FileTest");
  expect_error("Redirect 256, 0\n", "t.fasm:1: ", "out of range for Fd");
  expect_error("LoadConst native(65536)\n", "t.fasm:1: ", "out of range");
  expect_error("LoadConst status(2147483648)\n", "t.fasm:1: ", "out of range for i32");
  expect_error(".line 4294967296\nNop\n", "t.fasm:1: ", "out of range");
}

TEST(AsmErrors, DirectiveMisuse) {
  expect_error(".bogus 1\n", "t.fasm:1: ", "unknown directive '.bogus'");
  expect_error(".const\n", "t.fasm:1: ", "missing literal");
  expect_error(".const 1, 2\n", "t.fasm:1: ", "unexpected ','");
  expect_error(".source foo\n", "t.fasm:1: ", ".source expects a string");
  expect_error(".block 1\n", "t.fasm:1: ", ".block expects a name");
  expect_error(".end extra\n", "t.fasm:1: ", "unexpected 'extra'");
  expect_error("5\n", "t.fasm:1: ", "expected an instruction");
}

TEST(AsmErrors, SeveralErrorsAreCollectedInLineOrder) {
  std::vector<std::string> errors = errors_of(
      "Jump nowhere\n"
      "Bogus\n"
      "Nop\n"
      "GetSlot 70000\n"
      "Call @f, 300\n"
      "LoadConst \"x\n");
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0].rfind("t.fasm:1: undefined label 'nowhere'", 0), 0u);
  EXPECT_EQ(errors[1].rfind("t.fasm:2: unknown mnemonic 'Bogus'", 0), 0u);
  EXPECT_EQ(errors[2].rfind("t.fasm:4: ", 0), 0u);
  EXPECT_EQ(errors[3].rfind("t.fasm:5: ", 0), 0u);
  EXPECT_EQ(errors[4], "t.fasm:6: unterminated string");
}

TEST(AsmErrors, OneLineCanReportSeveralBadOperands) {
  std::vector<std::string> errors = errors_of("SlotLtIntJumpIfFalse 70000, 1.5, nowhere\n");
  ASSERT_EQ(errors.size(), 3u);
  for (const std::string& e : errors) EXPECT_EQ(e.rfind("t.fasm:1: ", 0), 0u) << e;
}

TEST(AsmErrors, TooManyErrorsStopsWithANote) {
  std::string text;
  for (int i = 0; i < 500; ++i) text += "Bogus\n";
  std::vector<std::string> errors = errors_of(text);
  EXPECT_LE(errors.size(), 101u);
  EXPECT_NE(errors.back().find("too many errors"), std::string::npos);
}

TEST(AsmErrors, VerifierFindingsCarryTheSourceLine) {
  std::vector<std::string> errors = errors_of("Nop\nNop\nJump 99\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("t.fasm:3: ", 0), 0u) << errors[0];
  std::vector<std::string> moved = errors_of("Nop\n.line 40\nLoadConst #3\n");
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].rfind("t.fasm:40: ", 0), 0u) << "the verifier reads lines[]: " << moved[0];
  EXPECT_FALSE(assemble("MapBlock 0\n", "x.fasm").ok());
  EXPECT_FALSE(assemble(".sub f @ 2\nNop\n", "x.fasm").ok());
  EXPECT_TRUE(assemble(".sub f @ 1\nNop\n", "x.fasm").ok()) << "an entry at ops.size() is legal";
}

TEST(AsmErrors, PoolsHoldAtMost65536Entries) {
  std::string text;
  for (int i = 0; i < 65536; ++i) text += ".const 0\n";
  Chunk full = assemble_ok(text);
  EXPECT_EQ(full.constants.size(), 65536u);
  expect_error(text + "LoadConst 1\n", "t.fasm:65537: ", "too many constants");
}

TEST(AsmErrors, FileNameIsTheOneGiven) {
  LoadResult r = assemble("Bogus\n", "dir/prog.fasm");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].file, "dir/prog.fasm");
  EXPECT_EQ(r.diagnostics[0].line, 1u);
  EXPECT_EQ(assemble("Bogus\n").diagnostics.at(0).file, "<input>");
}

// -- Robustness: never crash -------------------------------------------------------------------

TEST(AsmRobustness, RandomGarbageBytesGiveDiagnostics) {
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 300; ++round) {
    std::string text(rng() % 2000, '\0');
    for (char& ch : text) ch = static_cast<char>(rng());
    LoadResult r = assemble(text, "g.fasm");
    if (!r.ok()) {
      ASSERT_FALSE(r.diagnostics.empty());
      EXPECT_EQ(r.diagnostics[0].file, "g.fasm");
    }
  }
}

TEST(AsmRobustness, RandomTokenSoupNeverCrashes) {
  const std::vector<std::string> pieces = {
      "LoadInt", "Jump", "Call", "@", "#", "\"s\"", "[", "]", "{", "}", "(", ")", ",", ":",
      ".block", ".chunk", ".end", ".sub", ".const", ".name", ".line", ".lines", ".blockrange",
      ".source", ".dupname", "x", "L1", "0", "-1", "65536", "1.5", "nan", "status", "ref",
      "native", "f64", "0x", "1e", "TestFile", "IS_FILE", "Redirect", "MapBlock", "CmdSubst",
      "\n", "\n", "\n", " ", ";", "\\", "\"", "-"};
  std::mt19937_64 rng(777);
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    size_t n = rng() % 40;
    for (size_t i = 0; i < n; ++i) {
      text += pieces[rng() % pieces.size()];
      text += ' ';
    }
    LoadResult r = assemble(text, "soup.fasm");
    EXPECT_TRUE(r.ok() || !r.diagnostics.empty());
  }
}

TEST(AsmRobustness, VeryLongLinesAndDeepNesting) {
  std::string long_string = "LoadConst \"" + std::string(1 << 20, 'a') + "\"\n";
  Chunk c = assemble_ok(long_string);
  EXPECT_EQ(c.constants.at(0).as_str().size(), size_t{1} << 20);

  EXPECT_FALSE(assemble("LoadInt " + std::string(1 << 20, '7') + "\n").ok());
  EXPECT_FALSE(assemble("Bogus" + std::string(1 << 20, 'x') + "\n").ok());
  EXPECT_FALSE(assemble("LoadConst " + std::string(100000, '[') + "\n").ok());
  EXPECT_FALSE(assemble("LoadConst " + std::string(100000, '{') + "\n").ok());
  std::string refs;
  for (int i = 0; i < 100000; ++i) refs += "ref(";
  EXPECT_FALSE(assemble("LoadConst " + refs + "1\n").ok());
  EXPECT_FALSE(assemble("Call " + std::string(100000, ',') + "\n").ok());

  std::string chunks;
  for (int i = 0; i < 100000; ++i) chunks += ".chunk c\n";
  LoadResult deep = assemble(chunks);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.message().find("nested too deeply"), std::string::npos);

  std::string blocks;
  for (int i = 0; i < 20000; ++i) blocks += ".block b" + std::to_string(i) + "\nNop\n";
  for (int i = 0; i < 20000; ++i) blocks += ".end\n";
  Chunk many = assemble_ok(blocks);
  EXPECT_EQ(many.block_ranges.size(), 20000u);
  EXPECT_EQ(many.block_ranges[0], (std::pair<uint64_t, uint64_t>{0, 20000}));
}

TEST(AsmRobustness, ChunksNestUpToTheFvcLimit) {
  std::string text;
  for (int i = 0; i < 64; ++i) text += ".chunk c\n";
  text += "Nop\n";
  for (int i = 0; i < 64; ++i) text += ".end\n";
  Chunk c = assemble_ok(text);
  size_t depth = 0;
  for (const Chunk* p = &c; !p->sub_chunks.empty(); p = &p->sub_chunks[0]) ++depth;
  EXPECT_EQ(depth, 64u);
  std::vector<uint8_t> image = write_fvc(c);
  EXPECT_TRUE(read_fvc(image).ok()) << "every assembled chunk can be written as .fvc";
}

// -- load_chunk_file ---------------------------------------------------------------------------

class AsmLoadFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fusevm_asm_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& bytes) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(AsmLoadFile, MissingFileIsADiagnosticAtLineZero) {
  std::string path = (dir_ / "absent.fasm").string();
  LoadResult r = load_chunk_file(path);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.message(), path + ": cannot read: " + std::strerror(ENOENT));
}

TEST_F(AsmLoadFile, DirectoryIsUnreadable) {
  LoadResult r = load_chunk_file(dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), dir_.string() + ": cannot read: " + std::strerror(EISDIR));
}

TEST_F(AsmLoadFile, TextIsAssembledWithThePathInDiagnostics) {
  std::string good = write("good.fasm", "LoadInt 1\nLoadInt 2\nAdd\n");
  LoadResult r = load_chunk_file(good);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.chunk->ops.size(), 3u);

  std::string bad = write("bad.fasm", "Nop\nPopp\nJump x\n");
  LoadResult b = load_chunk_file(bad);
  ASSERT_FALSE(b.ok());
  ASSERT_EQ(b.diagnostics.size(), 2u);
  EXPECT_EQ(b.diagnostics[0].file, bad);
  EXPECT_EQ(b.message(), bad + ":2: unknown mnemonic 'Popp' (did you mean 'Pop'?)\n" + bad +
                             ":3: undefined label 'x'")
      << "one diagnostic per line, no trailing newline";
}

TEST_F(AsmLoadFile, FvcIsDetectedByMagicWhateverTheExtension) {
  Chunk c = assemble_ok(".source \"s\"\nLoadConst [1, \"two\"]\n.chunk k\nNop\n.end\n");
  std::vector<uint8_t> image = write_fvc(c);
  std::string path = write("program.fasm", std::string(image.begin(), image.end()));
  LoadResult r = load_chunk_file(path);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(*r.chunk, c);
}

TEST_F(AsmLoadFile, EmptyFileIsAnEmptyChunk) {
  LoadResult r = load_chunk_file(write("empty.fasm", ""));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(r.chunk->ops.empty());
  EXPECT_EQ(r.chunk->op_hash, Chunk{}.compute_op_hash());
}

}  // namespace
