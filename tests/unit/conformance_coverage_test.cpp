// Checks that the conformance corpus, taken together, exercises every one of the 134 ops.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "conformance_corpus.hpp"
#include "fusevm/asm.hpp"
#include "fusevm/op.hpp"

namespace fusevm::conformance {
namespace {

void mark_ops(const Chunk& chunk, std::array<bool, kNumOps>& used) {
  for (const Op& op : chunk.ops) used[static_cast<size_t>(op.code())] = true;
  for (const Chunk& sub : chunk.sub_chunks) mark_ops(sub, used);
}

TEST(ConformanceCoverage, CorpusUsesEveryOpcode) {
  std::array<bool, kNumOps> used{};
  size_t assembled = 0;
  for (const CorpusFile& file : discover_corpus()) {
    std::optional<std::string> text = read_text_file(file.path);
    ASSERT_TRUE(text.has_value()) << file.path;
    LoadResult loaded = assemble(*text, file.relative);
    // Assembly failures are reported by the runner; here they only shrink coverage.
    if (!loaded.ok()) continue;
    ++assembled;
    mark_ops(*loaded.chunk, used);
  }
  ASSERT_GT(assembled, 0u) << "no corpus file assembled (root " << corpus_root() << ")";
  std::string missing;
  for (size_t i = 0; i < kNumOps; ++i) {
    if (!used[i]) missing += " " + std::string(kOpInfo[i].name);
  }
  EXPECT_TRUE(missing.empty()) << "ops no conformance program uses:" << missing;
}

}  // namespace
}  // namespace fusevm::conformance
