// Runs every tests/conformance/**/*.fasm program on the interpreter and checks its headers.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <string>

#include "conformance_corpus.hpp"
#include "fusevm/asm.hpp"
#include "fusevm/vm.hpp"

namespace fusevm::conformance {
namespace {

// The only tier this runner executes; files listing other tiers only are skipped, so
// the JIT tiers can reuse the corpus with their own runners.
constexpr std::string_view kTier = "interp";

// A conformance program that never ends would hang the suite; this much fuel is far
// above what any corpus program needs (the value-stack limit file uses ~2 M ops).
constexpr uint64_t kHangGuardFuel = 200'000'000;

// Splits input into the lines ReadLine sees: each without its "\n"; a final unterminated
// line is still a line; after the last one the input is at EOF.
std::deque<std::string> input_lines(const std::string& text) {
  std::deque<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      lines.push_back(text.substr(pos));
      break;
    }
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

class ConformanceTest : public testing::TestWithParam<CorpusFile> {};

TEST_P(ConformanceTest, ProgramMeetsItsHeaderExpectations) {
  const CorpusFile& file = GetParam();
  std::optional<std::string> text = read_text_file(file.path);
  ASSERT_TRUE(text.has_value()) << "cannot read " << file.path;

  Expectations want = parse_expectations(*text);
  for (const std::string& p : want.problems) ADD_FAILURE() << file.relative << ": " << p;
  ASSERT_TRUE(want.problems.empty());
  ASSERT_TRUE(want.asserts_anything())
      << file.relative << " has no expect/expect-result/expect-error/exit header";
  if (!want.tiers.empty() &&
      std::find(want.tiers.begin(), want.tiers.end(), kTier) == want.tiers.end()) {
    GTEST_SKIP() << "not for tier " << kTier;
  }

  LoadResult loaded = assemble(*text, file.relative);
  ASSERT_TRUE(loaded.ok()) << "assembly failed:\n" << loaded.message();
  const Chunk& chunk = *loaded.chunk;

  // The disassembly must re-assemble to the very same chunk (ARCHITECTURE §6).
  std::string listing = disassemble(chunk);
  LoadResult again = assemble(listing, file.relative);
  ASSERT_TRUE(again.ok()) << "disassembly does not re-assemble:\n"
                          << again.message() << "\n--- listing ---\n" << listing;
  EXPECT_TRUE(*again.chunk == chunk) << "round trip changed the chunk\n--- listing ---\n"
                                     << listing;
  EXPECT_EQ(again.chunk->op_hash, chunk.op_hash);

  VM vm(chunk);
  Limits limits;
  limits.fuel = kHangGuardFuel;
  vm.set_limits(limits);
  std::string out;
  vm.set_output([&out](std::string_view s) { out.append(s); });
  std::deque<std::string> input = input_lines(want.stdin_text.value_or(""));
  vm.set_input([&input]() -> std::optional<std::string> {
    if (input.empty()) return std::nullopt;
    std::string line = std::move(input.front());
    input.pop_front();
    return line;
  });

  VMResult r = vm.run();
  vm.flush_output();

  EXPECT_EQ(out, want.expected_stdout()) << "stdout differs";
  if (want.error) {
    ASSERT_TRUE(r.is_error()) << "expected an error containing '" << *want.error
                              << "', got " << result_repr(r);
    EXPECT_NE(r.error().message.find(*want.error), std::string::npos)
        << "error message: " << r.error().message;
  } else {
    EXPECT_FALSE(r.is_error()) << "unexpected runtime error: " << r.error().to_string();
  }
  if (want.result) {
    EXPECT_EQ(result_repr(r), *want.result);
  }
  if (want.exit_status) {
    EXPECT_EQ(cli_exit_status(r, vm.last_status()), *want.exit_status);
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, ConformanceTest, testing::ValuesIn(discover_corpus()),
                         [](const testing::TestParamInfo<CorpusFile>& info) {
                           return info.param.test_name;
                         });

TEST(ConformanceCorpus, HoldsAtLeastSixtyPrograms) {
  EXPECT_GE(discover_corpus().size(), 60u) << "corpus root: " << corpus_root();
}

TEST(ConformanceCorpus, HeaderParserReadsEveryHeaderKind) {
  Expectations e = parse_expectations(
      "; a free comment: with a colon\n"
      "; expect: a  b \n"
      ";expect:\n"
      "; expect-result: Int(42)\n"
      "; expect-error: limit exceeded\n"
      "; exit: 3\n"
      "; stdin: \"x\\ty\\n\\x41\"\n"
      "; tiers: interp trace\n"
      "    LoadInt 1\n"
      "; expect: not a header any more\n");
  EXPECT_TRUE(e.problems.empty());
  ASSERT_EQ(e.stdout_lines.size(), 2u);
  EXPECT_EQ(e.stdout_lines[0], "a  b ");
  EXPECT_EQ(e.stdout_lines[1], "");
  EXPECT_EQ(e.expected_stdout(), "a  b \n\n");
  EXPECT_EQ(e.result, "Int(42)");
  EXPECT_EQ(e.error, "limit exceeded");
  EXPECT_EQ(e.exit_status, 3);
  EXPECT_EQ(e.stdin_text, std::string("x\ty\nA"));
  EXPECT_EQ(e.tiers, (std::vector<std::string>{"interp", "trace"}));
}

TEST(ConformanceCorpus, HeaderParserReportsMalformedHeaders) {
  Expectations e = parse_expectations("; exit: three\n; stdin: unquoted\n; expect-reslt: 1\n");
  EXPECT_EQ(e.problems.size(), 3u);
  EXPECT_FALSE(e.asserts_anything());
}

TEST(ConformanceCorpus, CliExitStatusFollowsArchitectureRules) {
  EXPECT_EQ(cli_exit_status(VMResult::Ok(Value::Status(259)), 7), 3);
  EXPECT_EQ(cli_exit_status(VMResult::Ok(Value::Int(5)), 258), 2);
  EXPECT_EQ(cli_exit_status(VMResult::Halted(), -1), 255);
  RuntimeError boom;
  boom.message = "boom";
  EXPECT_EQ(cli_exit_status(VMResult::Error(boom), 0), 1);
}

}  // namespace
}  // namespace fusevm::conformance
