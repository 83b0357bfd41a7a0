// minish's parser: tokens to the syntax tree of ast.hpp (a subset of the POSIX grammar).
#pragma once

#include <string_view>

#include "ast.hpp"

namespace minish {

/// Parse a whole script whose first line is `first_line`; `$(...)` bodies are parsed
/// too. Throws SyntaxError with the offending line.
Program parse(std::string_view source, int first_line = 1);

}  // namespace minish
