// Loaders and writers: text assembly (.fasm), binary chunks (.fvc), the verifier.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fusevm/chunk.hpp"
#include "fusevm/error.hpp"

namespace fusevm {

/// A loaded chunk or the reasons it could not be loaded.
struct LoadResult {
  std::optional<Chunk> chunk;             ///< set on success
  std::vector<Diagnostic> diagnostics;    ///< errors (non-empty on failure)
  /// True if a chunk was loaded.
  bool ok() const { return chunk.has_value(); }
  /// All diagnostics, one `file:line: message` per line.
  std::string message() const;
};

/// Assemble `.fasm` text (ARCHITECTURE §6, §9); the result is verified.
LoadResult assemble(std::string_view text, std::string_view file = "<input>");
/// Text that assemble() turns back into an identical chunk (same op_hash, every field).
std::string disassemble(const Chunk& chunk);

/// Current .fvc format version.
inline constexpr uint32_t kFvcVersion = 1;
/// Serialize to the binary .fvc form (magic, version, CRC-32 of the payload).
std::vector<uint8_t> write_fvc(const Chunk& chunk);
/// Load a .fvc image; the result is verified.
LoadResult read_fvc(std::span<const uint8_t> bytes, std::string_view file = "<input>");
/// True if `bytes` starts with the .fvc magic.
bool is_fvc(std::span<const uint8_t> bytes);

/// Check operand ranges, jump and sub-entry targets, pool indices and block ranges of
/// `chunk` and its sub-chunks. Empty result = valid. Lines come from chunk.lines.
std::vector<Diagnostic> verify(const Chunk& chunk, std::string_view file = "<chunk>");

/// Load a file of any supported format, detected by content (.fvc magic, else .fasm).
LoadResult load_chunk_file(const std::string& path);

}  // namespace fusevm
