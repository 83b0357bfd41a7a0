// The assembler on any text: it either fails with diagnostics or gives a verified chunk
// that disassembles to text assembling to the same chunk, whose .fvc image reads back the
// same, and which runs contained (fuzz_support.hpp) without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fusevm;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const LoadResult r = assemble(text, "fuzz.fasm");
  const Chunk* loaded = fusevm_fuzz::loaded(r, "assemble");
  if (loaded == nullptr) return 0;
  const Chunk& chunk = *loaded;
  if (!verify(chunk).empty()) fusevm_fuzz::broken("assemble gave a chunk the verifier refuses");
  const LoadResult again = assemble(disassemble(chunk), "fuzz.fasm");
  if (!again.ok()) fusevm_fuzz::broken("disassembled text does not assemble", again.message());
  if (*again.chunk != chunk) fusevm_fuzz::broken("disassembly changed the chunk", disassemble(chunk));
  const LoadResult image = read_fvc(write_fvc(chunk), "fuzz.fvc");
  if (!image.ok()) fusevm_fuzz::broken("a written .fvc image does not read back", image.message());
  if (*image.chunk != chunk) fusevm_fuzz::broken("the .fvc round trip changed the chunk");
  fusevm_fuzz::run_contained(chunk);
  return 0;
}
