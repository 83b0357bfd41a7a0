// minish's lexer: shell source to tokens, with words already split into quoted parts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ast.hpp"

namespace minish {

/// What a token is.
enum class TokenKind : uint8_t {
  Word,      ///< a word (reserved words are words; the parser decides)
  IoNumber,  ///< digits written right before `<` or `>` (`2>`)
  Op,        ///< an operator: && || ;; ; & | ( ) and the redirection operators
  Newline,   ///< a line end (a separator)
  End,       ///< end of input
};

/// One token.
struct Token {
  TokenKind kind = TokenKind::End;  ///< what it is
  std::string text;                 ///< Op spelling, IoNumber digits, Word source text
  Word word;                        ///< Word: its parts
  int line = 1;                     ///< where it starts
  /// `<<`/`<<-` only: the body read after the next newline.
  std::string heredoc_body;
  /// `<<`/`<<-` only: the delimiter was unquoted, so the body expands like "...".
  bool heredoc_expands = false;
  /// `<<`/`<<-` with heredoc_expands: the body as a word (all parts quoted).
  Word heredoc_word;
};

/// Split `source` into tokens, the first on line `first_line`. `$(...)` bodies are kept
/// as source text in CmdSubst parts (the parser parses them). Throws SyntaxError.
std::vector<Token> tokenize(std::string_view source, int first_line = 1);

/// The text of `w` if it is one unquoted literal part (how reserved words are spelt).
std::optional<std::string> plain_text(const Word& w);

/// The text of `w` if every part is a literal, quoted or not (a command name written
/// as `"cd"` is still cd).
std::optional<std::string> literal_text(const Word& w);

/// Turn a leading unquoted `~` or `~user` (up to the first `/`) into a Tilde part.
void apply_tilde(Word& w);

/// `w` as an assignment if it starts with an unquoted `name=`; the value keeps the
/// remaining parts (a leading `~` expanded as in a word).
std::optional<Assignment> split_assignment(const Word& w);

/// True if `s` is a valid variable name.
bool is_name(std::string_view s);

}  // namespace minish
