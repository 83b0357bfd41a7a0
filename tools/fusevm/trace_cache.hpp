// `fusevm run --trace-cache DIR`: trace trees kept between runs, one file per program
// (named by its op_hash) in the trace metadata format.
#pragma once

#include <string>

#include "fusevm/chunk.hpp"

namespace fusevm::tool {

/// Imports the trees DIR holds for `chunk` (before a VM on it enables the JIT). A file that
/// cannot be read and trees that do not fit the chunk are skipped with a warning on stderr.
void load_trace_cache(const std::string& dir, const Chunk& chunk);
/// Writes the trees the process has for `chunk` to DIR (created with mode 0700), replacing
/// the file atomically. Failures are warnings: the run's own outcome stands.
void save_trace_cache(const std::string& dir, const Chunk& chunk);

}  // namespace fusevm::tool
