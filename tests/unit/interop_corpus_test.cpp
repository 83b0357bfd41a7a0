// The hand-written reference-JSON corpus in tests/interop: every file loads, round-trips
// through the JSON writer, .fasm and .fvc, runs with its expected output; bad/ fails cleanly.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "conformance_corpus.hpp"
#include "fusevm/asm.hpp"
#include "fusevm/chunk.hpp"
#include "fusevm/op.hpp"
#include "fusevm/value.hpp"
#include "fusevm/vm.hpp"

extern char** environ;

namespace fusevm {
namespace {

namespace fs = std::filesystem;

const char* const kTool = FUSEVM_TOOL_PATH;

// A corpus program that never ends would hang the suite; far above what any file needs.
constexpr uint64_t kHangGuardFuel = 200'000'000;

/// One file of the corpus.
struct InteropFile {
  std::string path;  ///< absolute path
  std::string stem;  ///< file name without extension (also the GoogleTest name)
};

void PrintTo(const InteropFile& f, std::ostream* os) { *os << f.stem; }

std::string interop_dir() { return std::string(FUSEVM_SOURCE_DIR) + "/tests/interop"; }

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// GoogleTest names allow only [A-Za-z0-9_].
std::string test_name_of(const std::string& stem) {
  std::string name = stem;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// Every `*.ext` file directly inside `dir`, sorted by name.
std::vector<InteropFile> files_with_extension(const std::string& dir, const std::string& ext) {
  std::vector<InteropFile> files;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file() || e.path().extension() != ext) continue;
    files.push_back({e.path().string(), e.path().stem().string()});
  }
  std::sort(files.begin(), files.end(),
            [](const InteropFile& a, const InteropFile& b) { return a.stem < b.stem; });
  return files;
}

std::vector<InteropFile> good_json_files() { return files_with_extension(interop_dir(), ".json"); }

std::vector<InteropFile> runnable_json_files() {
  std::vector<InteropFile> runnable;
  for (const InteropFile& f : good_json_files()) {
    if (fs::exists(interop_dir() + "/" + f.stem + ".out")) runnable.push_back(f);
  }
  return runnable;
}

std::vector<InteropFile> bad_json_files() { return files_with_extension(interop_dir() + "/bad", ".json"); }

std::vector<InteropFile> fasm_twins() { return files_with_extension(interop_dir(), ".fasm"); }

std::string sibling(const InteropFile& f, const std::string& ext) {
  return fs::path(f.path).replace_extension(ext).string();
}

LoadResult load_json_file(const InteropFile& f) {
  std::optional<std::string> text = read_file(f.path);
  if (!text) {
    LoadResult r;
    r.diagnostics.push_back(Diagnostic{f.path, 0, "cannot read"});
    return r;
  }
  return chunk_from_reference_json(*text, f.stem + ".json");
}

// Bitwise identity plus Hash entry order (identical() ignores order, but HashKeys output
// depends on it, so a round trip must keep it); repr() lists entries in order.
bool same_value(const Value& a, const Value& b) { return identical(a, b) && a.repr() == b.repr(); }

std::string op_text(const Op& op) {
  std::string s(op.name());
  for (size_t k = 0; k < op.info().num_operands; ++k) {
    s += (k ? ", " : " ") + std::to_string(op.raw_operand(k));
  }
  return s;
}

template <typename T, typename Show>
std::string list_difference(const std::string& what, const std::vector<T>& a, const std::vector<T>& b,
                            Show show) {
  if (a.size() != b.size()) {
    return what + ": " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " entries";
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i])) return what + "[" + std::to_string(i) + "]: " + show(a[i]) + " vs " + show(b[i]);
  }
  return "";
}

/// The first field in which two chunks differ ("" if none), recursively; `with_lines`
/// false skips `lines` (a .fasm twin records its own physical lines).
std::string chunk_difference(const Chunk& a, const Chunk& b, const std::string& where, bool with_lines) {
  std::string d = list_difference(where + "ops", a.ops, b.ops, op_text);
  if (!d.empty()) return d;
  if (a.constants.size() != b.constants.size()) {
    return where + "constants: " + std::to_string(a.constants.size()) + " vs " +
           std::to_string(b.constants.size()) + " entries";
  }
  for (size_t i = 0; i < a.constants.size(); ++i) {
    if (!same_value(a.constants[i], b.constants[i])) {
      return where + "constants[" + std::to_string(i) + "]: " + a.constants[i].repr() + " vs " +
             b.constants[i].repr();
    }
  }
  d = list_difference(where + "names", a.names, b.names, [](const std::string& s) { return "\"" + s + "\""; });
  if (!d.empty()) return d;
  if (with_lines) {
    d = list_difference(where + "lines", a.lines, b.lines, [](uint32_t l) { return std::to_string(l); });
    if (!d.empty()) return d;
  }
  auto pair_text = [](const auto& p) {
    return "[" + std::to_string(p.first) + ", " + std::to_string(p.second) + "]";
  };
  d = list_difference(where + "sub_entries", a.sub_entries, b.sub_entries, pair_text);
  if (!d.empty()) return d;
  d = list_difference(where + "block_ranges", a.block_ranges, b.block_ranges, pair_text);
  if (!d.empty()) return d;
  if (a.source != b.source) return where + "source: \"" + a.source + "\" vs \"" + b.source + "\"";
  if (a.op_hash != b.op_hash) {
    return where + "op_hash: " + std::to_string(a.op_hash) + " vs " + std::to_string(b.op_hash);
  }
  if (a.sub_chunks.size() != b.sub_chunks.size()) {
    return where + "sub_chunks: " + std::to_string(a.sub_chunks.size()) + " vs " +
           std::to_string(b.sub_chunks.size()) + " entries";
  }
  for (size_t k = 0; k < a.sub_chunks.size(); ++k) {
    d = chunk_difference(a.sub_chunks[k], b.sub_chunks[k], where + "sub_chunks[" + std::to_string(k) + "].",
                         with_lines);
    if (!d.empty()) return d;
  }
  return "";
}

// Every chunk's stored op_hash must be the recomputed one, and non-zero (a loader that
// forgot to hash would leave the default 0, colliding in the JIT caches).
void expect_fresh_op_hashes(const Chunk& c, const std::string& where) {
  EXPECT_EQ(c.op_hash, c.compute_op_hash()) << where;
  EXPECT_NE(c.op_hash, 0u) << where;
  for (size_t k = 0; k < c.sub_chunks.size(); ++k) {
    expect_fresh_op_hashes(c.sub_chunks[k], where + "sub_chunks[" + std::to_string(k) + "].");
  }
}

/// What one tool invocation produced.
struct ToolRun {
  int status = -1;
  std::string out;
  std::string err;
};

/// A parameterized fixture owning a fresh temporary directory, for tests that run the tool.
class InteropToolTest : public testing::TestWithParam<InteropFile> {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "fusevm_interop_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Stdin from /dev/null, stdout and stderr into files, so a chatty child never blocks.
  ToolRun run_tool(const std::vector<std::string>& args) const {
    ToolRun r;
    std::string out_path = dir_ + "/stdout";
    std::string err_path = dir_ + "/stderr";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> argv{const_cast<char*>(kTool)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, kTool, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      r.err = std::string("posix_spawn failed: ") + std::strerror(rc);
      return r;
    }
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    r.out = read_file(out_path).value_or("");
    r.err = read_file(err_path).value_or("");
    return r;
  }

  std::string dir_;
};

std::string param_name(const testing::TestParamInfo<InteropFile>& info) {
  return test_name_of(info.param.stem);
}

// -- (a) every good file loads and round-trips through every format ---------------------

class InteropJson : public testing::TestWithParam<InteropFile> {
 protected:
  void SetUp() override {
    LoadResult loaded = load_json_file(GetParam());
    ASSERT_TRUE(loaded.ok()) << loaded.message();
    chunk_ = std::move(*loaded.chunk);
  }
  Chunk chunk_;
};

TEST_P(InteropJson, LoadsWithOpHashRecomputedForEveryChunk) {
  expect_fresh_op_hashes(chunk_, "");
  EXPECT_TRUE(verify(chunk_).empty());
}

TEST_P(InteropJson, JsonWriterOutputReloadsToTheSameChunk) {
  JsonWriteOptions options;
  options.file = GetParam().stem + ".json";
  JsonWriteResult written = chunk_to_reference_json(chunk_, options);
  ASSERT_TRUE(written.ok()) << (written.errors.empty() ? "" : written.errors[0].to_string());
  LoadResult again = chunk_from_reference_json(*written.text, "rewritten.json");
  ASSERT_TRUE(again.ok()) << again.message() << "\n--- written ---\n" << *written.text;
  EXPECT_EQ(chunk_difference(chunk_, *again.chunk, "", true), "");

  options.pretty = false;
  JsonWriteResult compact = chunk_to_reference_json(chunk_, options);
  ASSERT_TRUE(compact.ok());
  LoadResult compact_again = chunk_from_reference_json(*compact.text, "compact.json");
  ASSERT_TRUE(compact_again.ok()) << compact_again.message();
  EXPECT_EQ(chunk_difference(chunk_, *compact_again.chunk, "", true), "");
}

TEST_P(InteropJson, DisassemblyReassemblesToTheSameChunk) {
  std::string listing = disassemble(chunk_);
  LoadResult again = assemble(listing, GetParam().stem + ".fasm");
  ASSERT_TRUE(again.ok()) << again.message() << "\n--- listing ---\n" << listing;
  EXPECT_EQ(chunk_difference(chunk_, *again.chunk, "", true), "") << "--- listing ---\n" << listing;
}

TEST_P(InteropJson, FvcImageReadsBackToTheSameChunk) {
  std::vector<uint8_t> image = write_fvc(chunk_);
  ASSERT_TRUE(is_fvc(image));
  LoadResult again = read_fvc(image, GetParam().stem + ".fvc");
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(chunk_difference(chunk_, *again.chunk, "", true), "");
}

INSTANTIATE_TEST_SUITE_P(InteropCorpus, InteropJson, testing::ValuesIn(good_json_files()), param_name);

// -- (b) runnable files print their .out and exit with their .status --------------------

class InteropRun : public InteropToolTest {
 protected:
  void SetUp() override {
    InteropToolTest::SetUp();
    std::optional<std::string> out = read_file(sibling(GetParam(), ".out"));
    ASSERT_TRUE(out.has_value());
    expected_out_ = *out;
    expected_status_ = 0;
    if (std::optional<std::string> status = read_file(sibling(GetParam(), ".status"))) {
      expected_status_ = std::stoi(*status);
    }
  }
  std::string expected_out_;
  int expected_status_ = 0;
};

TEST_P(InteropRun, VmPrintsTheExpectedOutputAndStatus) {
  LoadResult loaded = load_json_file(GetParam());
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  VM vm(std::move(*loaded.chunk));
  Limits limits;
  limits.fuel = kHangGuardFuel;
  vm.set_limits(limits);
  std::string out;
  vm.set_output([&out](std::string_view s) { out.append(s); });
  // The corpus never reads stdin; an empty input keeps a mistake from blocking the suite.
  vm.set_input([]() -> std::optional<std::string> { return std::nullopt; });
  VMResult r = vm.run();
  vm.flush_output();
  EXPECT_EQ(out, expected_out_);
  EXPECT_EQ(conformance::cli_exit_status(r, vm.last_status()), expected_status_)
      << conformance::result_repr(r);
}

TEST_P(InteropRun, ToolRunPrintsTheExpectedOutputAndStatus) {
  ToolRun r = run_tool({"run", GetParam().path});
  EXPECT_EQ(r.out, expected_out_);
  EXPECT_EQ(r.status, expected_status_) << r.err;
  // Only a runtime error (status 1 from `Call` of an unknown sub) may write to stderr.
  if (expected_status_ != 1) {
    EXPECT_EQ(r.err, "");
  }
}

INSTANTIATE_TEST_SUITE_P(InteropCorpus, InteropRun, testing::ValuesIn(runnable_json_files()), param_name);

// -- (c) the corpus as a whole covers every op and value kind ---------------------------

/// What the corpus uses, gathered over every chunk, sub-chunk and nested value.
struct Coverage {
  std::set<OpCode> ops;
  std::set<ValueKind> kinds;
  std::vector<Value> leaves;  ///< every constant and nested element
  size_t max_sub_chunk_depth = 0;
  bool sub_entries = false, block_ranges = false, lines = false, source = false;

  void add_value(const Value& v) {
    kinds.insert(v.kind());
    leaves.push_back(v);
    if (v.is_array()) {
      for (const Value& e : v.as_array()) add_value(e);
    } else if (v.is_hash()) {
      for (const auto& [key, e] : v.as_hash()) add_value(e);
    } else if (v.is_ref()) {
      add_value(v.as_ref());
    }
  }
  void add_chunk(const Chunk& c, size_t depth) {
    max_sub_chunk_depth = std::max(max_sub_chunk_depth, depth);
    for (const Op& op : c.ops) ops.insert(op.code());
    for (const Value& v : c.constants) add_value(v);
    sub_entries |= !c.sub_entries.empty();
    block_ranges |= !c.block_ranges.empty();
    lines |= !c.lines.empty();
    source |= !c.source.empty();
    for (const Chunk& s : c.sub_chunks) add_chunk(s, depth + 1);
  }
  bool has(const std::function<bool(const Value&)>& pred) const {
    return std::any_of(leaves.begin(), leaves.end(), pred);
  }
};

Coverage corpus_coverage() {
  Coverage cov;
  for (const InteropFile& f : good_json_files()) {
    LoadResult loaded = load_json_file(f);
    EXPECT_TRUE(loaded.ok()) << loaded.message();
    if (!loaded.ok()) continue;
    cov.add_chunk(*loaded.chunk, 0);
    // LoadInt/LoadFloat immediates count as values too (i64 extremes, NaN).
    for (const Op& op : loaded.chunk->ops) {
      if (op.code() == OpCode::LoadInt) cov.leaves.push_back(Value::Int(op.imm_int()));
      if (op.code() == OpCode::LoadFloat) cov.leaves.push_back(Value::Float(op.imm_float()));
    }
  }
  return cov;
}

TEST(InteropCorpus, UsesAllOpsAndValueKinds) {
  Coverage cov = corpus_coverage();
  std::string missing_ops;
  for (size_t i = 0; i < kNumOps; ++i) {
    OpCode code = static_cast<OpCode>(i);
    if (!cov.ops.count(code)) missing_ops += " " + std::string(op_name(code));
  }
  EXPECT_EQ(missing_ops, "") << "ops no corpus file uses";
  std::string missing_kinds;
  for (uint8_t k = 0; k <= static_cast<uint8_t>(ValueKind::NativeFn); ++k) {
    if (!cov.kinds.count(static_cast<ValueKind>(k))) {
      missing_kinds += " " + std::string(kind_name(static_cast<ValueKind>(k)));
    }
  }
  EXPECT_EQ(missing_kinds, "") << "value kinds no corpus constant uses";
  EXPECT_GE(cov.max_sub_chunk_depth, 2u) << "sub_chunks must nest at least two levels";
  EXPECT_TRUE(cov.sub_entries);
  EXPECT_TRUE(cov.block_ranges);
  EXPECT_TRUE(cov.lines);
  EXPECT_TRUE(cov.source);
}

TEST(InteropCorpus, UsesTheEdgeValuesOfEveryNumericAndStringKind) {
  Coverage cov = corpus_coverage();
  auto float_bits = [](double d) {
    uint64_t b;
    std::memcpy(&b, &d, 8);
    return b;
  };
  auto is_float_bits = [&](uint64_t bits) {
    return [=](const Value& v) { return v.is_float() && float_bits(v.as_float()) == bits; };
  };
  auto str_contains = [](std::string_view piece) {
    return [=](const Value& v) { return v.is_str() && v.as_str().find(piece) != std::string::npos; };
  };
  EXPECT_TRUE(cov.has([](const Value& v) { return v.is_int() && v.as_int() == INT64_MIN; }));
  EXPECT_TRUE(cov.has([](const Value& v) { return v.is_int() && v.as_int() == INT64_MAX; }));
  EXPECT_TRUE(cov.has([](const Value& v) { return v.is_float() && std::isnan(v.as_float()); }));
  EXPECT_TRUE(cov.has(is_float_bits(float_bits(-0.0))));
  EXPECT_TRUE(cov.has(is_float_bits(float_bits(1e300))));
  EXPECT_TRUE(cov.has(is_float_bits(float_bits(5e-324))));
  EXPECT_TRUE(cov.has(str_contains("\xc3\xa9")));          // \u00e9
  EXPECT_TRUE(cov.has(str_contains("\xf0\x9f\x98\x80")));  // \ud83d\ude00
  EXPECT_TRUE(cov.has(str_contains("\"")));
  EXPECT_TRUE(cov.has(str_contains("\\")));
  EXPECT_TRUE(cov.has(str_contains("\n")));
  EXPECT_TRUE(cov.has([](const Value& v) {
    if (!v.is_array()) return false;
    const ValueArray& a = v.as_array();
    return std::any_of(a.begin(), a.end(), [](const Value& e) { return e.is_array(); });
  })) << "an Array nested in an Array";
  EXPECT_TRUE(cov.has([](const Value& v) {
    if (!v.is_hash()) return false;
    const HashMap& h = v.as_hash();
    return std::any_of(h.begin(), h.end(), [](const auto& e) { return e.second.is_hash(); });
  })) << "a Hash nested in a Hash";
}

// values.json spelled out independently: each constant must decode to exactly this value.
TEST(InteropCorpus, ValuesJsonDecodesEachConstantExactly) {
  LoadResult loaded = load_json_file({interop_dir() + "/values.json", "values"});
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  const std::vector<Value>& c = loaded.chunk->constants;
  HashMap deep_c{{"c", Value::Array({Value::Int(1)})}};
  HashMap deep_b{{"b", Value::Hash(deep_c)}};
  HashMap nested{{"a", Value::Hash(deep_b)},
                 {"\xc3\xbcml\xc3\xa4ut", Value::Str("x")},
                 {"with \"quote\"", Value::Ref(Value::Int(5))},
                 {"", Value::Undef()}};
  std::vector<Value> want = {
      Value::Undef(),
      Value::Bool(true),
      Value::Bool(false),
      Value::Int(INT64_MAX),
      Value::Int(INT64_MIN),
      Value::Int(0),
      Value::Float(std::numeric_limits<double>::quiet_NaN()),
      Value::Float(-0.0),
      Value::Float(1e300),
      Value::Float(5e-324),
      Value::Float(1.5),
      Value::Str("\xc3\xa9\xf0\x9f\x98\x80 \"q\" \\ \n\t/"),
      Value::Array({}),
      Value::Array({Value::Array({Value::Array({Value::Undef(), Value::Bool(true)})}),
                    Value::Hash(HashMap{{"k", Value::Int(1)}})}),
      Value::Hash(HashMap{}),
      Value::Hash(nested),
      Value::Status(3),
      Value::Status(INT32_MIN),
      Value::Status(INT32_MAX),
      Value::Ref(Value::Ref(Value::Array({Value::Int(1), Value::Str("r")}))),
      Value::Ref(Value::Undef()),
      Value::NativeFn(7),
      Value::NativeFn(0),
      Value::NativeFn(65535),
      Value::Str("|"),
  };
  ASSERT_EQ(c.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(same_value(c[i], want[i])) << "constants[" << i << "]: " << c[i].repr() << " vs " << want[i].repr();
  }
  EXPECT_TRUE(std::signbit(c[7].as_float())) << "-0.0 lost its sign";
  EXPECT_EQ(loaded.chunk->names, std::vector<std::string>{"h"});
}

// The immediates of arith.json: i64 extremes as full 64-bit integers, null as NaN, an
// integer literal for an f64 operand.
TEST(InteropCorpus, ArithJsonDecodesImmediatesExactly) {
  LoadResult loaded = load_json_file({interop_dir() + "/arith.json", "arith"});
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  const std::vector<Op>& ops = loaded.chunk->ops;
  ASSERT_GE(ops.size(), 80u);
  EXPECT_EQ(ops[4], Op::LoadInt(INT64_MAX));
  EXPECT_EQ(ops[8], Op::LoadInt(INT64_MIN));
  EXPECT_EQ(ops[68].code(), OpCode::LoadFloat);
  EXPECT_TRUE(std::isnan(ops[68].imm_float()));
  EXPECT_EQ(ops[70], Op::LoadFloat(3.0));
  EXPECT_EQ(ops[74], Op::LoadFloat(-0.25));
  EXPECT_EQ(loaded.chunk->source, "arith.calc");
}

// The spec's op_hash vector for an empty chunk (spec/chunk-and-vm.md §1.1).
TEST(InteropCorpus, MinimalJsonHasTheEmptyChunkOpHash) {
  LoadResult loaded = load_json_file({interop_dir() + "/minimal.json", "minimal"});
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  EXPECT_TRUE(loaded.chunk->ops.empty());
  EXPECT_EQ(loaded.chunk->op_hash, 0x76be999e3e25b2a0u);
}

// compact.json: CRLF line ends, tabs, fields out of order, a stale op_hash field that must
// be ignored, a name pool holding one string twice, a u32::MAX line.
TEST(InteropCorpus, CompactJsonIgnoresFieldOrderAndStaleOpHash) {
  LoadResult loaded = load_json_file({interop_dir() + "/compact.json", "compact"});
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  const Chunk& c = *loaded.chunk;
  EXPECT_NE(c.op_hash, 12345u);
  EXPECT_EQ(c.op_hash, c.compute_op_hash());
  EXPECT_EQ(c.names, (std::vector<std::string>{"dup", "dup"}));
  EXPECT_EQ(c.lines, (std::vector<uint32_t>{4294967295u, 0, 7}));
  EXPECT_EQ(c.source, "compact.src");
}

TEST(InteropCorpus, EverySidecarBelongsToAJsonFile) {
  size_t outs = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(interop_dir())) {
    std::string ext = e.path().extension().string();
    if (ext == ".out" || ext == ".status" || ext == ".fasm") {
      EXPECT_TRUE(fs::exists(fs::path(e.path()).replace_extension(".json"))) << e.path();
    }
    if (ext == ".status") {
      EXPECT_TRUE(fs::exists(fs::path(e.path()).replace_extension(".out"))) << e.path();
    }
    outs += ext == ".out";
  }
  for (const fs::directory_entry& e : fs::directory_iterator(interop_dir() + "/bad")) {
    if (e.path().extension() == ".err") {
      EXPECT_TRUE(fs::exists(fs::path(e.path()).replace_extension(".json"))) << e.path();
    }
  }
  EXPECT_GE(good_json_files().size(), 10u);
  EXPECT_GE(outs, 10u);
  EXPECT_GE(fasm_twins().size(), 3u);
  EXPECT_GE(bad_json_files().size(), 20u);
}

// -- (d) every bad file is refused with its message, by the library and by the tool -------

class InteropBad : public InteropToolTest {};

TEST_P(InteropBad, LoadFailsWithTheExpectedMessage) {
  std::optional<std::string> want = read_file(sibling(GetParam(), ".err"));
  ASSERT_TRUE(want.has_value()) << "missing " << sibling(GetParam(), ".err");
  std::string substring = *want;
  while (!substring.empty() && (substring.back() == '\n' || substring.back() == '\r')) substring.pop_back();
  ASSERT_FALSE(substring.empty());

  std::string name = GetParam().stem + ".json";
  LoadResult loaded = load_json_file(GetParam());
  ASSERT_FALSE(loaded.ok());
  ASSERT_FALSE(loaded.diagnostics.empty());
  for (const Diagnostic& d : loaded.diagnostics) EXPECT_EQ(d.file, name);
  EXPECT_NE(loaded.message().find(substring), std::string::npos)
      << "message: " << loaded.message() << "\nwanted: " << substring;
}

TEST_P(InteropBad, ToolVerifyExitsTwoNamingTheFile) {
  ToolRun r = run_tool({"verify", GetParam().path});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind(GetParam().path + ":", 0), 0u) << r.err;
}

INSTANTIATE_TEST_SUITE_P(InteropCorpus, InteropBad, testing::ValuesIn(bad_json_files()), param_name);

// -- (e) the .fasm twins assemble to the JSON file's chunk ------------------------------

class InteropTwin : public testing::TestWithParam<InteropFile> {};

TEST_P(InteropTwin, FasmTwinAssemblesToTheJsonChunk) {
  std::optional<std::string> text = read_file(GetParam().path);
  ASSERT_TRUE(text.has_value());
  LoadResult from_fasm = assemble(*text, GetParam().stem + ".fasm");
  ASSERT_TRUE(from_fasm.ok()) << from_fasm.message();
  LoadResult from_json = load_json_file({sibling(GetParam(), ".json"), GetParam().stem});
  ASSERT_TRUE(from_json.ok()) << from_json.message();
  EXPECT_EQ(from_fasm.chunk->op_hash, from_json.chunk->op_hash);
  // Lines differ by design: the twin records its own physical lines.
  EXPECT_EQ(chunk_difference(*from_fasm.chunk, *from_json.chunk, "", false), "");
}

INSTANTIATE_TEST_SUITE_P(InteropCorpus, InteropTwin, testing::ValuesIn(fasm_twins()), param_name);

}  // namespace
}  // namespace fusevm
