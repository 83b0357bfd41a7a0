// The examples in docs/ cannot rot: every ```fasm block with `; expect` lines is assembled
// and run, and must print exactly those lines (and give `; expect-result`, if stated);
// a block marked `; jit: trace` must also be compiled and entered by the tracing tier and
// print the same there. The guide's C++ example must be examples/guide/embed.cpp as it
// is (CI builds and runs that file: ctest example_guide_embed), and docs/fvc.md's
// annotated image must be what write_fvc writes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "conformance_corpus.hpp"
#include "fusevm/asm.hpp"
#include "fusevm/jit.hpp"
#include "fusevm/vm.hpp"
#include "jit_test_util.hpp"

namespace fusevm_test {
namespace {

using fusevm::JitCompiler;
using fusevm::conformance::Expectations;
using fusevm::conformance::parse_expectations;
using fusevm::conformance::result_repr;

struct DocBlock {
  std::string file;  // docs/NAME.md
  size_t line = 0;   // of the opening fence
  std::string lang;
  std::string text;
};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every fenced block of every docs/*.md, in file order.
std::vector<DocBlock> doc_blocks() {
  std::vector<DocBlock> out;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(FUSEVM_SOURCE_DIR) / "docs")) {
    if (e.path().extension() == ".md") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    const std::string text = slurp(path);
    size_t pos = 0, line = 1;
    DocBlock* open = nullptr;
    size_t indent = 0;  // of the opening fence: a block inside a list item is indented
    while (pos < text.size()) {
      const size_t end = std::min(text.find('\n', pos), text.size());
      const std::string l = text.substr(pos, end - pos);
      const size_t lead = l.find_first_not_of(' ');
      if (lead != std::string::npos && l.compare(lead, 3, "```") == 0) {
        if (open == nullptr) {
          out.push_back(DocBlock{"docs/" + path.filename().string(), line, l.substr(lead + 3), ""});
          open = &out.back();
          indent = lead;
        } else {
          open = nullptr;
        }
      } else if (open != nullptr) {
        open->text += l.substr(std::min(indent, l.find_first_not_of(' ') == std::string::npos ? l.size()
                                                                                              : l.find_first_not_of(' '))) +
                      "\n";
      }
      pos = end + 1;
      ++line;
    }
  }
  return out;
}

struct Ran {
  fusevm::VMResult result = fusevm::VMResult::Halted();
  std::string out;
};

Ran run_block(const fusevm::Chunk& chunk, const fusevm::JitOptions* jit) {
  fusevm::VM vm(chunk);
  Ran r;
  vm.set_output([&r](std::string_view b) { r.out.append(b); });
  if (jit != nullptr) vm.enable_jit(*jit);
  r.result = vm.run();
  vm.flush_output();
  return r;
}

TEST(DocsExamples, EveryFasmExampleWithExpectationsRunsAsItSays) {
  size_t checked = 0, traced = 0;
  for (const DocBlock& b : doc_blocks()) {
    if (b.lang != "fasm" || b.text.find("; expect") == std::string::npos) continue;
    const std::string where = b.file + ":" + std::to_string(b.line);
    const Expectations want = parse_expectations(b.text);
    ASSERT_TRUE(want.problems.empty()) << where << ": " << want.problems.front();
    fusevm::LoadResult loaded = fusevm::assemble(b.text, where);
    ASSERT_TRUE(loaded.ok()) << loaded.message();
    const Ran plain = run_block(*loaded.chunk, nullptr);
    EXPECT_EQ(plain.out, want.expected_stdout()) << where;
    if (want.result) {
      EXPECT_EQ(result_repr(plain.result), *want.result) << where;
    }
    if (!want.error) {
      EXPECT_FALSE(plain.result.is_error()) << where << ": " << plain.result.repr();
    }
    ++checked;
    if (b.text.find("; jit: trace") == std::string::npos) continue;
    if (!JitCompiler::available()) {
      if (jit_strict()) ADD_FAILURE() << "the JIT is unavailable: " << JitCompiler::unavailable_reason();
      continue;
    }
    JitCompiler::reset();
    fusevm::JitOptions o;
    o.tiers = fusevm::JitTiers::Trace;
    o.sync = true;
    o.strict = true;
    const Ran jitted = run_block(*loaded.chunk, &o);
    EXPECT_EQ(jitted.out, plain.out) << where << " under the tracing tier";
    EXPECT_GT(JitCompiler::stats().trace.entered, 0u) << where << ": the tracing tier did not compile it";
    ++traced;
  }
  EXPECT_GE(checked, 6u) << "the docs lost their runnable examples";
  if (JitCompiler::available()) {
    EXPECT_GE(traced, 1u) << "the docs lost their traced example";
  }
}

// docs/fvc.md's annotated image is what write_fvc writes for the chunk it shows.
TEST(DocsExamples, TheFvcPagesImageIsWhatWriteFvcWrites) {
  fusevm::ChunkBuilder b;  // as in docs/fvc.md §9
  b.set_source("x");
  uint16_t k = b.add_constant(fusevm::Value::Str("hi"));
  b.emit(fusevm::Op::LoadConst(k), 1);
  b.emit(fusevm::Op::PrintLn(1), 1);
  const std::vector<uint8_t> image = fusevm::write_fvc(b.build());
  std::vector<uint8_t> shown;
  bool found = false;
  for (const DocBlock& d : doc_blocks()) {
    if (d.file != "docs/fvc.md" || d.lang != "text" || d.text.find("magic \"FVMC\"") == std::string::npos) continue;
    found = true;
    std::istringstream lines(d.text);
    for (std::string l; std::getline(lines, l);) {
      std::istringstream words(l);
      std::string offset, w;
      words >> offset;
      if (offset.size() != 4 || offset.find_first_not_of("0123456789abcdef") != std::string::npos) continue;
      ASSERT_EQ(std::stoul(offset, nullptr, 16), shown.size()) << l;
      while (words >> w && w.size() == 2 && w.find_first_not_of("0123456789abcdef") == std::string::npos) {
        shown.push_back(static_cast<uint8_t>(std::stoul(w, nullptr, 16)));
      }
    }
  }
  ASSERT_TRUE(found) << "docs/fvc.md lost its example image";
  EXPECT_EQ(shown, image);
}

TEST(DocsExamples, TheGuidesCppExampleIsTheBuiltFile) {
  const std::string file = slurp(std::filesystem::path(FUSEVM_SOURCE_DIR) / "examples/guide/embed.cpp");
  ASSERT_FALSE(file.empty());
  size_t found = 0;
  for (const DocBlock& b : doc_blocks()) {
    if (b.file == "docs/guide.md" && b.lang == "cpp") {
      EXPECT_EQ(b.text, file) << "docs/guide.md:" << b.line << " differs from examples/guide/embed.cpp";
      ++found;
    }
  }
  EXPECT_EQ(found, 1u);
}

}  // namespace
}  // namespace fusevm_test
