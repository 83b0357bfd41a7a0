// The reference JSON chunk reader on any text: it fails with diagnostics or gives a
// verified chunk, which writes back to JSON that reads the same and runs contained
// (fuzz_support.hpp) without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fusevm;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const LoadResult r = chunk_from_reference_json(text, "fuzz.json");
  const Chunk* loaded = fusevm_fuzz::loaded(r, "the JSON reader");
  if (loaded == nullptr) return 0;
  const Chunk& chunk = *loaded;
  if (!verify(chunk).empty()) fusevm_fuzz::broken("the JSON reader gave a chunk the verifier refuses");
  const JsonWriteResult json = chunk_to_reference_json(chunk);
  if (json.ok() && json.warnings.empty()) {  // (NaN and infinities are written as null)
    const LoadResult back = chunk_from_reference_json(*json.text, "again.json");
    if (!back.ok() || back.chunk->op_hash != chunk.op_hash) fusevm_fuzz::broken("the JSON round trip changed the chunk");
  }
  fusevm_fuzz::run_contained(chunk);
  return 0;
}
