// The lexer's character scanner, shared by lexer.cpp and expansion_lexer.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lexer.hpp"

namespace minish::detail {

/// True for a name character that may start a name (ASCII letter or `_`).
bool is_alpha(char c);
/// True for an ASCII digit.
bool is_digit(char c);
/// Append literal text to `w`, merging with a last literal part of the same quoting.
void add_text(Word& w, std::string_view s, bool quoted, int line);
/// Drop empty quoted literals once another quoted part records the quoting.
void drop_empty_quotes(Word& w);

/// Scans shell source from a position, producing tokens or word parts.
class Scanner {
 public:
  /// A scanner over `src` starting at byte `pos` on line `line`.
  Scanner(std::string_view src, size_t pos, int line) : src_(src), pos_(pos), line_(line) {}

  /// Tokens up to the end, or (until_paren) up to the `)` closing a `$(` opened on
  /// `open_line`, which is left unread.
  std::vector<Token> run(bool until_paren, int open_line);
  /// The whole input as the body of an expanding here-document.
  Word heredoc_word();
  /// Byte offset reached.
  size_t pos() const { return pos_; }
  /// Line reached.
  int line() const { return line_; }

 private:
  bool at_end() const { return pos_ >= src_.size(); }
  char peek(size_t k = 0) const { return pos_ + k < src_.size() ? src_[pos_ + k] : '\0'; }

  // lexer.cpp
  void skip_blanks();
  std::optional<std::string_view> match_op();
  size_t digits_before_redirect() const;
  void lex_word(Word& w);
  void single_quote(Word& w);
  void double_quote(Word& w);
  void double_quoted_char(Word& w, bool escapes_quote);
  void backquote(Word& w, bool quoted);
  void read_heredocs(std::vector<Token>& out, std::vector<size_t>& pending);

  // expansion_lexer.cpp
  static void push_cmdsubst(Word& w, std::string text, bool quoted, int line);
  void dollar(Word& w, bool quoted);
  std::string param_name();
  void braced(Word& w, bool quoted);
  void modifier(WordPart& p, int start_line);
  Word arg_word(std::string_view stops, bool quoted, int start_line);

  std::string_view src_;
  size_t pos_;
  int line_;
};

}  // namespace minish::detail
