// minish's compiler: the syntax tree to a fusevm chunk of shell ops (see README.md).
#pragma once

#include <string>
#include <string_view>

#include "ast.hpp"
#include "fusevm/chunk.hpp"

namespace minish {

/// Compile a parsed script into a chunk whose source is `source`; `$(...)` and trap
/// bodies become sub-chunks. Throws SyntaxError for constructs minish rejects.
fusevm::Chunk compile(const Program& program, const std::string& source);

/// Parse and compile `text`. Throws SyntaxError.
fusevm::Chunk compile_source(std::string_view text, const std::string& source);

}  // namespace minish
