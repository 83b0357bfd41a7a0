// Line tokenizer for .fasm text (docs/fasm.md "Lexical structure").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fusevm::fasm {

/// What a token is.
enum class TokKind : unsigned char {
  Word,    ///< identifier, number, directive or keyword: [-]?[A-Za-z0-9_.]+ (plus e+/e- in numbers)
  String,  ///< a "..." literal; `text` holds the decoded bytes
  Punct,   ///< one of : , @ # [ ] { } ( )
};

/// One token of a line.
struct Token {
  TokKind kind;      ///< token class
  std::string text;  ///< the word, the decoded string, or the punctuation character
  /// True if this is punctuation `c`.
  bool is(char c) const { return kind == TokKind::Punct && text.size() == 1 && text[0] == c; }
};

/// The tokens of one line, or why it could not be tokenized.
struct LexedLine {
  std::vector<Token> tokens;  ///< tokens before any `;` comment
  std::string error;          ///< non-empty if the line is malformed
};

/// Tokenize one line (without its newline); a trailing '\r' is ignored.
LexedLine lex_line(std::string_view line);

/// True for [A-Za-z_][A-Za-z0-9_.]* (labels, block/chunk names, `@name` operands).
bool is_identifier(std::string_view s);

/// `s` quoted as a .fasm string literal that lex_line decodes back to the same bytes.
std::string quote_string(std::string_view s);

/// A token shown in a message: quoted, shortened and with control bytes escaped.
std::string show_token(const Token& t);

}  // namespace fusevm::fasm
