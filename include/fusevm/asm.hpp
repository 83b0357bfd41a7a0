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
#include "fusevm/trace_metadata.hpp"

namespace fusevm {

/// Deepest nesting of sub-chunks, and of Array/Hash/Ref inside one constant, that every
/// loader and writer (.fasm, .fvc, JSON) accepts: one limit, so a chunk that one format
/// carries converts to the others, and hostile input cannot exhaust the native stack.
inline constexpr size_t kMaxNesting = 64;

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

/// Options of chunk_to_reference_json.
struct JsonWriteOptions {
  bool strict = false;           ///< refuse NaN and infinities instead of writing null
  bool pretty = true;            ///< one field, op and constant per line; false: one line
  std::string file = "<chunk>";  ///< file name used in diagnostics
};
/// A JSON text, or the reasons it could not be written.
struct JsonWriteResult {
  std::optional<std::string> text;     ///< set on success
  std::vector<Diagnostic> warnings;    ///< e.g. a NaN written as null
  std::vector<Diagnostic> errors;      ///< non-empty on failure
  /// True if text was written.
  bool ok() const { return text.has_value(); }
};
/// Read the Rust fusevm's serde JSON form of a chunk (spec/chunk-and-vm.md §1.2): ops and
/// values as externally tagged enums, pairs as 2-element arrays, `null` as NaN, integers
/// as full 64-bit values. `ops` is required; other fields default to empty; unknown
/// fields are errors; `op_hash` is ignored and recomputed. The result is verified.
LoadResult chunk_from_reference_json(std::string_view text, std::string_view file = "<input>");
/// Write `chunk` in the Rust fusevm's serde JSON form, every field but op_hash, in the
/// reference's field order. NaN and infinities become `null` with a warning (an error
/// when strict); a Str, name, key or source that is not valid UTF-8 is an error naming it.
JsonWriteResult chunk_to_reference_json(const Chunk& chunk, const JsonWriteOptions& options = {});

/// Trace trees read from the trace metadata format, or the reasons they could not be.
struct TraceMetadataLoad {
  std::vector<TraceMetadata> traces;     ///< all of the file's trees (none on failure)
  std::vector<Diagnostic> diagnostics;   ///< errors (non-empty on failure)
  /// True if the file was read.
  bool ok() const { return diagnostics.empty(); }
  /// All diagnostics, one `file:line: message` per line.
  std::string message() const;
};
/// The trace metadata format (`fusevm run --trace-cache`, README "Trace metadata"): a JSON
/// object {"format": "fusevm-traces", "version": 1, "op_hash": "siphash-1-3", "traces":
/// [...]}, each trace with TraceMetadata's fields by name, ops in the chunk JSON's serde
/// form, slot kinds as strings, joins as [at, path, pos]. NaN and infinite LoadFloat
/// operands are written as null (such a trace then no longer matches its chunk).
std::string trace_metadata_to_json(std::span<const TraceMetadata> traces);
/// Reads that format. Unknown fields, another format or version, and numbers out of range
/// are errors naming the line; whether each trace fits a chunk is JitCompiler::trace_import's
/// check.
TraceMetadataLoad trace_metadata_from_json(std::string_view text, std::string_view file = "<input>");

/// Check operand ranges, jump and sub-entry targets, pool indices and block ranges of
/// `chunk` and its sub-chunks. Empty result = valid. Lines come from chunk.lines.
std::vector<Diagnostic> verify(const Chunk& chunk, std::string_view file = "<chunk>");

/// Load a file of any supported format, detected by content: the .fvc magic, then a
/// leading `{` (after blanks) for reference JSON, else .fasm.
LoadResult load_chunk_file(const std::string& path);

}  // namespace fusevm
