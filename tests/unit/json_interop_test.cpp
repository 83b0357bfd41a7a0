// Reference JSON interop (issue 3): chunk_from_reference_json / chunk_to_reference_json.
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "vm_test_util.hpp"

namespace {

using namespace fusevm_test;

Chunk load_ok(const std::string& text) {
  LoadResult r = chunk_from_reference_json(text, "t.json");
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? *r.chunk : Chunk{};
}

std::string load_error(const std::string& text) {
  LoadResult r = chunk_from_reference_json(text, "t.json");
  EXPECT_FALSE(r.ok()) << text;
  return r.message();
}

std::string write_ok(const Chunk& c, JsonWriteOptions o = {}) {
  JsonWriteResult w = chunk_to_reference_json(c, o);
  EXPECT_TRUE(w.ok());
  for (const Diagnostic& d : w.errors) ADD_FAILURE() << d.to_string();
  return w.text.value_or("");
}

uint64_t bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

// -- Reading the reference's form ------------------------------------------------------

TEST(JsonInterop, ReadsTheThreeOpShapesOfSerde) {
  Chunk c = load_ok(R"({"ops": ["Nop", {"LoadInt": 42}, {"Call": [1, 2]}, "Return"],
                        "names": ["f", "g"], "sub_entries": [[1, 3]]})");
  ASSERT_EQ(c.ops.size(), 4u);
  EXPECT_EQ(c.ops[0], Op::Nop());
  EXPECT_EQ(c.ops[1], Op::LoadInt(42));
  EXPECT_EQ(c.ops[2], Op::Call(1, 2));
  EXPECT_EQ(c.sub_entries, (std::vector<std::pair<uint16_t, uint64_t>>{{1, 3}}));
}

TEST(JsonInterop, OpHashIsRecomputedAndMatchesTheSpecVectors) {
  EXPECT_EQ(load_ok(R"({"ops": []})").op_hash, 0x76be999e3e25b2a0ULL);
  EXPECT_EQ(load_ok(R"({"ops": [{"LoadInt": 1}, {"LoadInt": 2}, "Add"]})").op_hash,
            0x9409a42ecfa37100ULL);
  EXPECT_EQ(load_ok(R"({"ops": [{"LoadConst": 0}], "constants": [{"Str": "hello"}]})").op_hash,
            0x558049d6bf2ac466ULL);
  // A stored op_hash (not part of the reference's form) is ignored, never trusted.
  EXPECT_EQ(load_ok(R"({"ops": [], "op_hash": 12345})").op_hash, 0x76be999e3e25b2a0ULL);
}

TEST(JsonInterop, IntegersAreFull64BitNeverRoundedThroughDouble) {
  Chunk c = load_ok(R"({"ops": [{"LoadInt": -9223372036854775808}, {"LoadInt": 9223372036854775807},
                                {"LoadInt": 9007199254740993}, {"ExtendedWide": [1, 18446744073709551615]}],
                        "constants": [{"Int": -9223372036854775807}]})");
  EXPECT_EQ(c.ops[0].imm_int(), kMin);
  EXPECT_EQ(c.ops[1].imm_int(), kMax);
  EXPECT_EQ(c.ops[2].imm_int(), 9007199254740993LL);  // 2^53 + 1: not a double
  EXPECT_EQ(c.ops[3].wide(), UINT64_MAX);
  EXPECT_EQ(c.constants[0].as_int(), kMin + 1);
}

TEST(JsonInterop, NullWhereAFloatIsExpectedLoadsAsNaN) {
  Chunk c = load_ok(R"({"ops": [{"LoadFloat": null}], "constants": [{"Float": null}, {"Float": 2}]})");
  EXPECT_TRUE(std::isnan(c.ops[0].imm_float()));
  EXPECT_TRUE(std::isnan(c.constants[0].as_float()));
  EXPECT_TRUE(c.constants[1].is_float());  // an integer literal is accepted for f64
  EXPECT_EQ(c.constants[1].as_float(), 2.0);
}

TEST(JsonInterop, ReadsEveryValueKind) {
  Chunk c = load_ok(R"({"ops": [], "constants": [
      "Undef", {"Bool": true}, {"Int": -42}, {"Float": 3.14}, {"Str": "h\u00e9\ud83d\ude00\n"},
      {"Array": [{"Int": 1}, {"Array": []}]}, {"Hash": {"b": {"Int": 2}, "a": "Undef"}},
      {"Status": 127}, {"Ref": {"Str": "boxed"}}, {"NativeFn": 7}]})");
  ASSERT_EQ(c.constants.size(), 10u);
  EXPECT_TRUE(exact(c.constants[0], Value()));
  EXPECT_TRUE(exact(c.constants[1], Value::Bool(true)));
  EXPECT_TRUE(exact(c.constants[2], Value::Int(-42)));
  EXPECT_TRUE(exact(c.constants[3], Value::Float(3.14)));
  EXPECT_EQ(c.constants[4].as_str(), "h\xc3\xa9\xf0\x9f\x98\x80\n");
  EXPECT_TRUE(exact(c.constants[5], Value::Array({Value::Int(1), Value::Array({})})));
  ASSERT_TRUE(c.constants[6].is_hash());
  // Key order is the file's (insertion order), so op_hash's sorted hashing is what
  // makes two orders equal.
  EXPECT_EQ(c.constants[6].as_hash().entries()[0].first, "b");
  EXPECT_TRUE(exact(c.constants[7], Value::Status(127)));
  EXPECT_TRUE(exact(c.constants[8], Value::Ref(Value::Str("boxed"))));
  EXPECT_TRUE(exact(c.constants[9], Value::NativeFn(7)));
}

TEST(JsonInterop, FieldOrderIsNotSignificantAndMissingFieldsAreEmpty) {
  Chunk a = load_ok(R"({"source": "s", "names": ["x"], "ops": [{"GetVar": 0}]})");
  Chunk b = load_ok(R"({"ops": [{"GetVar": 0}], "names": ["x"], "source": "s", "lines": [],
                        "sub_entries": [], "block_ranges": [], "sub_chunks": [], "constants": []})");
  EXPECT_EQ(a, b);
}

TEST(JsonInterop, NestedSubChunksLoadWithTheirOwnHashes) {
  Chunk c = load_ok(R"({"ops": [{"CmdSubst": 0}], "sub_chunks": [
      {"ops": [{"CmdSubst": 0}], "sub_chunks": [{"ops": [{"LoadInt": 1}, {"LoadInt": 2}, "Add"]}]}]})");
  ASSERT_EQ(c.sub_chunks.size(), 1u);
  ASSERT_EQ(c.sub_chunks[0].sub_chunks.size(), 1u);
  EXPECT_EQ(c.sub_chunks[0].sub_chunks[0].op_hash, 0x9409a42ecfa37100ULL);
  EXPECT_NE(c.sub_chunks[0].op_hash, 0u);
}

// -- Writing -----------------------------------------------------------------------------

TEST(JsonInterop, WritesSerdeShapesInTheReferenceFieldOrder) {
  ChunkBuilder b;
  b.emit(Op::Nop(), 1);
  b.emit(Op::LoadInt(-5), 2);
  b.emit(Op::SlotLtIntJumpIfFalse(1, -5, 3), 3);
  b.add_constant(Value::Status(3));
  b.add_name("main");
  b.add_sub_entry(0, 1);
  b.set_source("x.src");
  Chunk c = b.build();
  c.block_ranges = {{0, 2}};
  JsonWriteOptions one_line;
  one_line.pretty = false;
  EXPECT_EQ(write_ok(c, one_line),
            R"({"ops":["Nop",{"LoadInt":-5},{"SlotLtIntJumpIfFalse":[1,-5,3]}],"constants":[{"Status":3}],)"
            R"("names":["main"],"lines":[1,2,3],"sub_entries":[[0,1]],"block_ranges":[[0,2]],)"
            R"("sub_chunks":[],"source":"x.src"})");
}

TEST(JsonInterop, PrettyOutputPutsOneOpPerLineAndReadsBack) {
  ChunkBuilder b;
  b.emit(Op::LoadInt(1), 1);
  b.emit(Op::LoadInt(2), 1);
  b.emit(Op::Add(), 1);
  Chunk c = b.build();
  std::string text = write_ok(c);
  EXPECT_NE(text.find("\n    {\"LoadInt\":2},\n    \"Add\"\n  ]"), std::string::npos) << text;
  EXPECT_EQ(text.find("op_hash"), std::string::npos);
  EXPECT_EQ(load_ok(text), c);
}

TEST(JsonInterop, WritingNaNAndInfinitiesWarnsAndWritesNull) {
  ChunkBuilder b;
  b.emit(Op::LoadFloat(kNaN), 7);
  b.add_constant(Value::Float(kInf));
  b.add_constant(Value::Array({Value::Float(-kInf)}));
  JsonWriteOptions o;
  o.file = "p.fasm";
  JsonWriteResult w = chunk_to_reference_json(b.build(), o);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w.warnings.size(), 3u);
  EXPECT_EQ(w.warnings[0].to_string(), "p.fasm:7: ops[0] (LoadFloat): NaN written as null (reads back as NaN)");
  EXPECT_EQ(w.warnings[1].to_string(), "p.fasm: constants[0]: inf written as null (reads back as NaN)");
  EXPECT_EQ(w.warnings[2].to_string(), "p.fasm: constants[1][0]: -inf written as null (reads back as NaN)");
  EXPECT_NE(w.text->find("{\"LoadFloat\":null}"), std::string::npos);
  EXPECT_NE(w.text->find("{\"Float\":null}"), std::string::npos);
}

TEST(JsonInterop, StrictWritingRefusesNaN) {
  ChunkBuilder b;
  b.add_constant(Value::Float(kNaN));
  JsonWriteOptions o;
  o.strict = true;
  JsonWriteResult w = chunk_to_reference_json(b.build(), o);
  EXPECT_FALSE(w.ok());
  ASSERT_EQ(w.errors.size(), 1u);
  EXPECT_NE(w.errors[0].message.find("constants[0]: NaN cannot be written as JSON (strict)"), std::string::npos);
}

TEST(JsonInterop, InvalidUtf8IsAnErrorNamingTheString) {
  Chunk c;
  c.constants.push_back(Value::Str("ok"));
  c.constants.push_back(Value::Str(std::string("a\xff", 2)));
  JsonWriteResult w = chunk_to_reference_json(c);
  EXPECT_FALSE(w.ok());
  ASSERT_EQ(w.errors.size(), 1u);
  EXPECT_NE(w.errors[0].message.find("constants[1]: not valid UTF-8 (byte 0xff at offset 1)"), std::string::npos)
      << w.errors[0].message;

  Chunk names;
  names.names.push_back(std::string("\xc0\x80", 2));  // overlong NUL
  EXPECT_NE(chunk_to_reference_json(names).errors.at(0).message.find("names[0]: not valid UTF-8"), std::string::npos);
  Chunk key;
  key.constants.push_back(Value::Hash(HashMap{{std::string("\xed\xa0\x80"), Value()}}));  // surrogate
  EXPECT_FALSE(chunk_to_reference_json(key).ok());
  Chunk sub;
  sub.sub_chunks.emplace_back();
  sub.sub_chunks[0].source = "\x80";
  EXPECT_NE(chunk_to_reference_json(sub).errors.at(0).message.find("sub_chunks[0].source"), std::string::npos);
}

TEST(JsonInterop, EveryValueKindAndFloatBitPatternRoundTrips) {
  Chunk c;
  c.constants = {Value(), Value::Bool(false), Value::Int(kMin), Value::Float(-0.0), Value::Float(5e-324),
                 Value::Float(1e300), Value::Float(0.1), Value::Str("q\"\\\x01\xe2\x82\xac"),
                 Value::Array({Value::Array({Value::Int(1)})}),
                 Value::Hash(HashMap{{"z", Value::Int(1)}, {"a", Value::Hash(HashMap{{"in", Value()}})}}),
                 Value::Status(-1), Value::Ref(Value::Ref(Value::Int(3))), Value::NativeFn(65535)};
  c.ops.push_back(Op::LoadFloat(-0.0));
  c.op_hash = c.compute_op_hash();
  Chunk back = load_ok(write_ok(c));
  EXPECT_EQ(back, c);
  EXPECT_EQ(back.op_hash, c.op_hash);
  EXPECT_EQ(bits(back.constants[3].as_float()), bits(-0.0));
  EXPECT_EQ(bits(back.ops[0].imm_float()), bits(-0.0));
}

// Reference tests (spec/tests-inventory.md): chunk_serde_roundtrip,
// chunk_with_floats_roundtrips_via_json, serde_roundtrip_preserves_value.
TEST(JsonInterop, ReferenceChunkSerdeRoundtripKeepsCountsAndSource) {
  ChunkBuilder b;
  uint16_t k = b.add_constant(Value::Int(7));
  uint16_t n = b.add_name("x");
  b.emit(Op::LoadConst(k), 1);
  b.emit(Op::SetVar(n), 1);
  b.emit(Op::GetVar(n), 2);
  b.set_source("test.stk");
  Chunk back = load_ok(write_ok(b.build()));
  EXPECT_EQ(back.ops.size(), 3u);
  EXPECT_EQ(back.names.size(), 1u);
  EXPECT_EQ(back.constants.size(), 1u);
  EXPECT_EQ(back.source, "test.stk");
}

TEST(JsonInterop, ReferenceChunkWithFloatsGivesTheSameResultAfterJson) {
  Program p;
  p.emit({Op::LoadFloat(1.5), Op::LoadFloat(2.25), Op::Mul(), Op::LoadInt(10), Op::Add()});
  Chunk original = p.build();
  Chunk restored = load_ok(write_ok(original));
  Ran a = run(original);
  Ran b = run(restored);
  ASSERT_TRUE(a.result.is_ok());
  EXPECT_TRUE(exact(a.result.value(), b.result.value()));
  EXPECT_TRUE(exact(b.result.value(), Value::Float(13.375)));
}

TEST(JsonInterop, ReferenceValuesSurviveJson) {
  Chunk c;
  c.constants = {Value(), Value::Bool(true), Value::Int(-42), Value::Float(3.14), Value::Str("hello"),
                 Value::Status(127)};
  Chunk back = load_ok(write_ok(c));
  ASSERT_EQ(back.constants.size(), c.constants.size());
  for (size_t i = 0; i < c.constants.size(); ++i) EXPECT_TRUE(exact(back.constants[i], c.constants[i])) << i;
}

TEST(JsonInterop, WriterRefusesNestingThatNoLoaderAccepts) {
  Value deep = Value::Int(0);
  for (size_t i = 0; i < kMaxNesting + 1; ++i) deep = Value::Array({deep});
  Chunk c;
  c.constants.push_back(deep);
  JsonWriteResult w = chunk_to_reference_json(c);
  EXPECT_FALSE(w.ok());
  EXPECT_NE(w.errors.at(0).message.find("nested deeper than 64"), std::string::npos);

  Chunk chain;
  for (size_t i = 0; i < kMaxNesting + 1; ++i) {
    Chunk outer;
    outer.sub_chunks.push_back(std::move(chain));
    chain = std::move(outer);
  }
  EXPECT_FALSE(chunk_to_reference_json(chain).ok());
}

// -- Bad input -------------------------------------------------------------------------

TEST(JsonInterop, SyntaxErrorsNameTheLine) {
  EXPECT_EQ(load_error("{\n  \"ops\": [\n    \"Nop\",\n  ]\n}").substr(0, 32), "t.json:4: JSON syntax error (col");
  EXPECT_NE(load_error("{\"ops\": [\"Nop\"]").find("t.json:1: JSON syntax error"), std::string::npos);
  EXPECT_NE(load_error("{\"ops\": [], \"source\": \"\xff\"}").find("JSON syntax error"), std::string::npos);
  EXPECT_NE(load_error(R"({"ops": [], "source": "\ud800"})").find("surrogate"), std::string::npos);
  EXPECT_NE(load_error("{\"ops\": []} trailing").find("JSON syntax error"), std::string::npos);
}

TEST(JsonInterop, StructuralErrorsNameTheLineAndPath) {
  EXPECT_EQ(load_error("{\"ops\": [\n\"Nop\",\n{\"Fooo\": 1}]}"), "t.json:3: ops[1]: unknown op \"Fooo\"");
  EXPECT_EQ(load_error(R"({"ops": [{"GetVar": 70000}]})"),
            "t.json:1: ops[0] (GetVar): 70000 is out of range for u16 (0..65535)");
  EXPECT_EQ(load_error(R"({"ops": [{"Print": 300}]})"), "t.json:1: ops[0] (Print): 300 is out of range for u8 (0..255)");
  EXPECT_EQ(load_error(R"({"ops": [{"Jump": -1}]})"),
            "t.json:1: ops[0] (Jump): -1 is out of range for usize (0..18446744073709551615)");
  EXPECT_EQ(load_error(R"({"ops": [{"LoadInt": 9223372036854775808}]})"),
            "t.json:1: ops[0] (LoadInt): 9223372036854775808 is out of range for i64 "
            "(-9223372036854775808..9223372036854775807)");
  EXPECT_NE(load_error(R"({"ops": [{"LoadInt": 99999999999999999999999}]})").find("99999999999999999999999 is out of range"),
            std::string::npos);
  EXPECT_EQ(load_error(R"({"ops": [{"LoadInt": 1.5}]})"), "t.json:1: ops[0] (LoadInt): expected an integer (i64), got a number");
  EXPECT_EQ(load_error(R"({"ops": [{"LoadInt": "1"}]})"), "t.json:1: ops[0] (LoadInt): expected an integer (i64), got a string");
  EXPECT_EQ(load_error(R"({"ops": [{"Call": [1]}]})"),
            "t.json:1: ops[0] (Call): takes 2 operands; write it as {\"Call\": [name, argc]}, got 1 operand");
  EXPECT_EQ(load_error(R"({"ops": [{"Call": 1}]})"),
            "t.json:1: ops[0] (Call): takes 2 operands; write it as {\"Call\": [name, argc]}, got an integer");
  EXPECT_EQ(load_error(R"({"ops": ["LoadInt"]})"),
            "t.json:1: ops[0] (LoadInt): takes 1 operand (n); write it as {\"LoadInt\": N}");
  EXPECT_EQ(load_error(R"({"ops": [{"Add": 1}]})"), "t.json:1: ops[0] (Add): takes no operands; write it as \"Add\"");
  EXPECT_EQ(load_error(R"({"ops": [{"Add": 1, "Sub": 2}]})"),
            "t.json:1: ops[0]: expected an op (\"Name\" or an object with one key), got an object with 2 keys");
  EXPECT_EQ(load_error(R"({"ops": [], "constants": [{"Integer": 1}]})"),
            "t.json:1: constants[0]: unknown value kind \"Integer\"");
  EXPECT_EQ(load_error(R"({"ops": [], "constants": ["Null"]})"),
            "t.json:1: constants[0]: unknown value \"Null\" (only Undef is written as a bare string)");
  EXPECT_EQ(load_error(R"({"ops": [], "constants": [{"Hash": {"a": "Undef", "a": "Undef"}}]})"),
            "t.json:1: constants[0] (Hash)[\"a\"]: duplicate key");
  EXPECT_EQ(load_error(R"({"names": []})"), "t.json:1: chunk: missing field \"ops\"");
  EXPECT_EQ(load_error(R"({"ops": [], "ops": []})"), "t.json:1: ops: duplicate field");
  EXPECT_NE(load_error(R"({"ops": [], "opz": []})").find("opz: unknown chunk field \"opz\""), std::string::npos);
  EXPECT_EQ(load_error(R"({"ops": [], "sub_entries": [[0]]})"),
            "t.json:1: sub_entries[0]: expected a pair [a, b], got 1 elements");
  EXPECT_EQ(load_error(R"(["Nop"])"), "t.json:1: chunk: expected a chunk object, got an array");
  EXPECT_EQ(load_error(R"({"ops": [], "sub_chunks": [{"ops": [{"Foo": 1}]}]})"),
            "t.json:1: sub_chunks[0].ops[0]: unknown op \"Foo\"");
}

TEST(JsonInterop, NegativeZeroReadsAsNegativeZeroWhereAFloatIsExpected) {
  // serde_json reads `-0` as -0.0; nlohmann reports it as the integer 0.
  Chunk c = load_ok(R"({"ops": [{"LoadFloat": -0}, {"LoadInt": -0}], "constants": [{"Float": -0}]})");
  EXPECT_EQ(bits(c.ops[0].imm_float()), bits(-0.0));
  EXPECT_EQ(bits(c.constants[0].as_float()), bits(-0.0));
  EXPECT_EQ(c.ops[1].imm_int(), 0);
  EXPECT_EQ(load_error(R"({"ops": [{"GetSlot": -0}]})"),
            "t.json:1: ops[0] (GetSlot): -0 is out of range for u16 (0..65535)");
}

TEST(JsonInterop, NumberOverflowIsReportedWithoutLibraryNoise) {
  EXPECT_EQ(load_error("{\"ops\": [],\n \"constants\": [{\"Float\": 1e400}]}"),
            "t.json:2: JSON number out of range: number overflow parsing '1e400'");
}

TEST(JsonInterop, ChunkLevelVerifierFindingsPointAtTheirEntries) {
  std::string text = "{\"ops\": [\"Nop\"],\n \"block_ranges\": [\n  [0, 1],\n  [0, 9]],\n \"names\": [\"f\"],"
                     "\n \"sub_entries\": [[0, 5]],\n \"lines\": [1, 2]}";
  LoadResult r = chunk_from_reference_json(text, "t.json");
  ASSERT_FALSE(r.ok());
  std::string m = r.message();
  EXPECT_NE(m.find("t.json:4: block range 1: end 9 past end"), std::string::npos) << m;
  EXPECT_NE(m.find("t.json:6: sub entry 0: entry 5 past end"), std::string::npos) << m;
  EXPECT_NE(m.find("t.json:7: lines has 2 entries"), std::string::npos) << m;
}

TEST(JsonInterop, NestingErrorsNameTheConstantNotEveryLevel) {
  std::string deep = R"({"ops": [], "constants": ["Undef", )";
  for (int i = 0; i < 70; ++i) deep += R"({"Array": [)";
  deep += "\"Undef\"";
  for (int i = 0; i < 70; ++i) deep += "]}";
  deep += "]}";
  EXPECT_EQ(load_error(deep), "t.json:1: constants[1]: constant nested deeper than 64");
}

TEST(JsonInterop, VerifierFindingsPointAtTheOpsLineInTheJson) {
  std::string text = "{\"ops\": [\n  \"Nop\",\n  {\"Jump\": 9},\n  {\"LoadConst\": 4}\n], \"lines\": [10, 20, 30]}";
  LoadResult r = chunk_from_reference_json(text, "t.json");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 2u) << r.message();
  EXPECT_EQ(r.diagnostics[0].line, 3u) << r.message();
  EXPECT_EQ(r.diagnostics[1].line, 4u) << r.message();
  EXPECT_NE(r.diagnostics[0].message.find("op 1 (Jump)"), std::string::npos) << r.message();
}

TEST(JsonInterop, HostileNestingIsRefusedWithoutExhaustingTheStack) {
  std::string deep_json(100000, '[');
  EXPECT_NE(load_error(deep_json).find("nested deeper than"), std::string::npos);
  std::string deep_value = R"({"ops": [], "constants": [)";
  for (int i = 0; i < 65; ++i) deep_value += R"({"Array": [)";
  deep_value += "\"Undef\"";
  for (int i = 0; i < 65; ++i) deep_value += "]}";
  deep_value += "]}";
  EXPECT_NE(load_error(deep_value).find("constant nested deeper than 64"), std::string::npos);
  std::string deep_chunk;
  for (int i = 0; i < 66; ++i) deep_chunk += R"({"ops": [], "sub_chunks": [)";
  deep_chunk += R"({"ops": []})";
  for (int i = 0; i < 66; ++i) deep_chunk += "]}";
  EXPECT_NE(load_error(deep_chunk).find("sub-chunks nested deeper than 64"), std::string::npos);
}

TEST(JsonInterop, LoadChunkFileDetectsJsonAfterAByteOrderMarkAndArraysToo) {
  std::string dir = (std::filesystem::temp_directory_path() / "fusevm_json_XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  {
    std::ofstream(dir + "/bom.json") << "\xEF\xBB\xBF{\"ops\": [\"Nop\"]}";
    std::ofstream(dir + "/array.json") << "  [\"Nop\"]";
  }
  LoadResult bom = load_chunk_file(dir + "/bom.json");
  EXPECT_TRUE(bom.ok()) << bom.message();
  LoadResult array = load_chunk_file(dir + "/array.json");
  EXPECT_EQ(array.message(), dir + "/array.json:1: chunk: expected a chunk object, got an array");
  std::filesystem::remove_all(dir);
}

TEST(JsonInterop, LoadChunkFileDetectsJsonByLeadingBrace) {
  std::string dir = (std::filesystem::temp_directory_path() / "fusevm_json_XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::string path = dir + "/prog.txt";  // the extension plays no part
  {
    std::ofstream out(path);
    out << "\n \t\r\n{\"ops\": [{\"LoadInt\": 5}]}";
  }
  LoadResult r = load_chunk_file(path);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.chunk->ops.at(0), Op::LoadInt(5));
  std::filesystem::remove_all(dir);
}

}  // namespace
