// The .fvc loader and the verifier on any bytes, as given and resealed (a CRC that
// matches): reading fails with diagnostics or gives a chunk; a chunk the verifier accepts
// writes back to an image that reads the same, and runs contained (fuzz_support.hpp).
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_support.hpp"

namespace {

void check(std::span<const uint8_t> bytes) {
  using namespace fusevm;
  const LoadResult r = read_fvc(bytes, "fuzz.fvc");
  const Chunk* loaded = fusevm_fuzz::loaded(r, "read_fvc");
  if (loaded == nullptr) return;
  const Chunk& chunk = *loaded;
  if (!verify(chunk).empty()) return;  // refused with diagnostics: never run
  const LoadResult back = read_fvc(write_fvc(chunk), "again.fvc");
  if (!back.ok() || *back.chunk != chunk) fusevm_fuzz::broken("the .fvc round trip changed the chunk");
  fusevm_fuzz::run_contained(chunk);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  check(bytes);  // as given: the header's checks
  if (size >= 16 && fusevm::is_fvc(bytes)) check(fusevm_fuzz::resealed(bytes));  // the payload decoder's
  return 0;
}
