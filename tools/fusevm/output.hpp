// Output helpers for the fusevm tool: whole-file writes and diagnostic reporting.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "fusevm/asm.hpp"

namespace fusevm::tool {

/// Write `bytes` to stdout in full (retrying short writes); false on a write error.
bool write_stdout(std::span<const char> bytes);
/// Write `bytes` to `path` ("-" or "" = stdout), replacing the file; on failure prints
/// `fusevm: cannot write PATH: REASON` to stderr, removes a partial file, returns false.
bool write_output(const std::string& path, std::span<const char> bytes);
/// Print a failed load's diagnostics to stderr, one `file:line: message` per line
/// (a generic line naming `file` if the loader gave none); returns kExitBadInput.
int report_load_failure(const LoadResult& result, const std::string& file);
/// Print `fusevm: TEXT` and a newline to stderr.
void print_error(std::string_view text);
/// Write `text` to stderr as it is (reports: --stats, --profile, runtime errors).
void write_stderr(std::string_view text);

}  // namespace fusevm::tool
