// The verifier with source positions supplied by a loader (for formats whose chunks do
// not carry the loader's own line numbers, such as reference JSON).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "fusevm/asm.hpp"

namespace fusevm {

/// Where each part of a chunk was written in the loaded file; 0 = unknown.
struct ChunkLocations {
  std::vector<uint32_t> ops;           ///< line of each op
  std::vector<uint32_t> sub_entries;   ///< line of each sub entry
  std::vector<uint32_t> block_ranges;  ///< line of each block range
  uint32_t lines_field = 0;            ///< line of the `lines` table
  uint32_t chunk = 0;                  ///< line where the chunk starts
  std::vector<ChunkLocations> subs;    ///< the sub-chunks', in order
};

/// verify(), reporting each finding at the line `where` gives for it (falling back to
/// the chunk's start for chunk-level findings) instead of `chunk.lines`.
std::vector<Diagnostic> verify_located(const Chunk& chunk, std::string_view file,
                                       const ChunkLocations& where);

}  // namespace fusevm
