// minish's lexer: tokens, operators, comments, quotes and here-document bodies.
#include "lexer.hpp"

#include <array>

#include "scanner.hpp"

namespace minish {

namespace {

thread_local int nesting_depth = 0;

bool is_meta(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '<' ||
         c == '>' || c == '(' || c == ')';
}

// Longest spellings first, so `<<-` wins over `<<` and `<`.
constexpr std::array<std::string_view, 20> kOps = {
    "<<<", "<<-", "&>>", "&&", "||", ";;", "<<", ">>", "<&", ">&",
    "<>",  ">|",  "&>",  "|",  "&",  ";",  "(",  ")",  "<",  ">"};

}  // namespace

namespace detail {

// ASCII only: <cctype> would follow the locale, and names are ASCII in POSIX sh.
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

void add_text(Word& w, std::string_view s, bool quoted, int line) {
  if (!w.parts.empty() && w.parts.back().kind == WordPart::Kind::Literal &&
      w.parts.back().quoted == quoted) {
    w.parts.back().text += s;
    return;
  }
  WordPart p;
  p.quoted = quoted;
  p.text = std::string(s);
  p.line = line;
  w.parts.push_back(std::move(p));
}

// An empty quoted literal ("" or '') only records that the word was quoted; once another
// quoted part says so, it is noise in the generated code.
void drop_empty_quotes(Word& w) {
  size_t quoted = 0;
  for (const WordPart& p : w.parts) quoted += p.quoted;
  for (size_t i = 0; i < w.parts.size() && quoted > 1;) {
    const WordPart& p = w.parts[i];
    if (p.kind == WordPart::Kind::Literal && p.quoted && p.text.empty()) {
      w.parts.erase(w.parts.begin() + static_cast<std::ptrdiff_t>(i));
      --quoted;
    } else {
      ++i;
    }
  }
}

std::vector<Token> Scanner::run(bool until_paren, int open_line) {
  std::vector<Token> out;
  std::vector<size_t> pending_heredocs;  // indices of `<<` ops awaiting a body
  int depth = 0;
  for (;;) {
    skip_blanks();
    if (at_end()) {
      if (until_paren) throw SyntaxError(open_line, "unterminated `$('");
      read_heredocs(out, pending_heredocs);
      out.push_back(Token{TokenKind::End, "", {}, line_, {}, false, {}});
      return out;
    }
    char c = src_[pos_];
    if (until_paren && c == ')' && depth == 0) return out;
    Token t;
    t.line = line_;
    if (c == '\n') {
      ++pos_;
      t.kind = TokenKind::Newline;
      t.text = "\n";
      out.push_back(std::move(t));
      ++line_;
      read_heredocs(out, pending_heredocs);
      continue;
    }
    if (auto op = match_op()) {
      t.kind = TokenKind::Op;
      t.text = std::string(*op);
      if (*op == "(") ++depth;
      if (*op == ")") --depth;
    } else if (size_t k = digits_before_redirect(); k > 0) {
      t.kind = TokenKind::IoNumber;
      t.text = std::string(src_.substr(pos_, k));
      pos_ += k;
    } else {
      size_t start = pos_;
      t.kind = TokenKind::Word;
      t.word.line = line_;
      lex_word(t.word);
      drop_empty_quotes(t.word);
      t.text = std::string(src_.substr(start, pos_ - start));
      apply_tilde(t.word);
      if (!out.empty() && out.back().kind == TokenKind::Op &&
          (out.back().text == "<<" || out.back().text == "<<-"))
        pending_heredocs.push_back(out.size() - 1);
    }
    out.push_back(std::move(t));
  }
}

// Like "..." without the closing quote: `\` escapes only `$`, backquote, `\` and newline.
Word Scanner::heredoc_word() {
  Word w;
  w.line = line_;
  while (!at_end()) double_quoted_char(w, false);
  drop_empty_quotes(w);
  return w;
}

void Scanner::skip_blanks() {
  while (!at_end()) {
    char c = src_[pos_];
    if (c == ' ' || c == '\t') {
      ++pos_;
    } else if (c == '\\' && peek(1) == '\n') {
      pos_ += 2;
      ++line_;
    } else if (c == '#') {
      while (!at_end() && src_[pos_] != '\n') ++pos_;
    } else {
      return;
    }
  }
}

std::optional<std::string_view> Scanner::match_op() {
  std::string_view rest = src_.substr(pos_);
  for (std::string_view op : kOps) {
    if (rest.starts_with(op)) {
      pos_ += op.size();
      return op;
    }
  }
  return std::nullopt;
}

size_t Scanner::digits_before_redirect() const {
  size_t k = 0;
  while (is_digit(peek(k))) ++k;
  char after = peek(k);
  return (k > 0 && (after == '<' || after == '>')) ? k : 0;
}

void Scanner::lex_word(Word& w) {
  while (!at_end() && !is_meta(src_[pos_])) {
    char c = src_[pos_];
    if (c == '\\') {
      if (pos_ + 1 >= src_.size()) {  // a trailing backslash stays literal
        add_text(w, "\\", false, line_);
        ++pos_;
      } else if (src_[pos_ + 1] == '\n') {
        pos_ += 2;
        ++line_;
      } else {
        add_text(w, src_.substr(pos_ + 1, 1), true, line_);
        pos_ += 2;
      }
    } else if (c == '\'') {
      single_quote(w);
    } else if (c == '"') {
      double_quote(w);
    } else if (c == '$') {
      dollar(w, false);
    } else if (c == '`') {
      backquote(w, false);
    } else {
      add_text(w, std::string_view(&c, 1), false, line_);
      ++pos_;
    }
  }
}

void Scanner::single_quote(Word& w) {
  int start_line = line_;
  size_t end = src_.find('\'', pos_ + 1);
  if (end == std::string_view::npos) throw SyntaxError(start_line, "unterminated single quote");
  std::string_view text = src_.substr(pos_ + 1, end - pos_ - 1);
  add_text(w, text, true, start_line);
  for (char c : text) line_ += (c == '\n');
  pos_ = end + 1;
}

void Scanner::double_quote(Word& w) {
  int start_line = line_;
  ++pos_;
  add_text(w, "", true, line_);  // "" is still a (quoted, empty) field
  for (;;) {
    if (at_end()) throw SyntaxError(start_line, "unterminated double quote");
    char c = src_[pos_];
    if (c == '"') {
      ++pos_;
      return;
    }
    double_quoted_char(w, true);
  }
}

// One character (or escape, or expansion) with double-quote rules: `\` escapes `$`,
// backquote, `\` and newline, and `"` too inside "..." (not in a here-document).
void Scanner::double_quoted_char(Word& w, bool escapes_quote) {
  char c = src_[pos_];
  if (c == '\\' && pos_ + 1 < src_.size()) {
    char n = src_[pos_ + 1];
    if (n == '\n') {
      pos_ += 2;
      ++line_;
      return;
    }
    if (n == '$' || n == '`' || n == '\\' || (escapes_quote && n == '"')) {
      add_text(w, std::string_view(&n, 1), true, line_);
      pos_ += 2;
      return;
    }
  }
  if (c == '$') {
    dollar(w, true);
  } else if (c == '`') {
    backquote(w, true);
  } else {
    if (c == '\n') ++line_;
    add_text(w, std::string_view(&c, 1), true, line_);
    ++pos_;
  }
}

void Scanner::backquote(Word& w, bool quoted) {
  int start_line = line_;
  ++pos_;
  std::string text;
  for (;;) {
    if (at_end()) throw SyntaxError(start_line, "unterminated backquote");
    char c = src_[pos_];
    if (c == '`') {
      ++pos_;
      break;
    }
    if (c == '\\' && pos_ + 1 < src_.size()) {
      char n = src_[pos_ + 1];
      if (n == '$' || n == '`' || n == '\\' || (quoted && n == '"')) {
        text += n;
        pos_ += 2;
        continue;
      }
    }
    if (c == '\n') ++line_;
    text += c;
    ++pos_;
  }
  push_cmdsubst(w, std::move(text), quoted, start_line);
}

// Bodies of the here-documents opened on the line just ended.
void Scanner::read_heredocs(std::vector<Token>& out, std::vector<size_t>& pending) {
  for (size_t index : pending) {
    Token& op = out[index];
    const Token& delim_tok = out[index + 1];
    std::string delim = literal_text(delim_tok.word).value_or(delim_tok.text);
    bool expands = true;
    for (const WordPart& part : delim_tok.word.parts) expands = expands && !part.quoted;
    bool strip_tabs = op.text == "<<-";
    int body_line = line_;
    std::string body;
    // A missing delimiter ends the body at end of input, as bash and dash accept.
    while (!at_end()) {
      size_t eol = src_.find('\n', pos_);
      size_t end = eol == std::string_view::npos ? src_.size() : eol;
      std::string_view text = src_.substr(pos_, end - pos_);
      pos_ = eol == std::string_view::npos ? end : end + 1;
      ++line_;
      if (strip_tabs) {
        while (!text.empty() && text.front() == '\t') text.remove_prefix(1);
      }
      if (text == delim) break;
      body.append(text);
      body += '\n';
    }
    op.heredoc_body = body;
    op.heredoc_expands = expands;
    if (expands) {
      Scanner sub(op.heredoc_body, 0, body_line);
      op.heredoc_word = sub.heredoc_word();
    }
  }
  pending.clear();
}

}  // namespace detail

NestingGuard::NestingGuard(int line) {
  if (nesting_depth >= kMaxNesting) throw SyntaxError(line, "nesting too deep");
  ++nesting_depth;
}

NestingGuard::~NestingGuard() { --nesting_depth; }

std::vector<Token> tokenize(std::string_view source, int first_line) {
  detail::Scanner scanner(source, 0, first_line);
  return scanner.run(false, first_line);
}

std::optional<std::string> plain_text(const Word& w) {
  if (w.parts.size() != 1) return std::nullopt;
  const WordPart& p = w.parts[0];
  if (p.kind != WordPart::Kind::Literal || p.quoted) return std::nullopt;
  return p.text;
}

std::optional<std::string> literal_text(const Word& w) {
  std::string text;
  for (const WordPart& p : w.parts) {
    if (p.kind != WordPart::Kind::Literal) return std::nullopt;
    text += p.text;
  }
  return text;
}

void apply_tilde(Word& w) {
  if (w.parts.empty()) return;
  WordPart& first = w.parts[0];
  if (first.kind != WordPart::Kind::Literal || first.quoted || !first.text.starts_with('~'))
    return;
  size_t slash = first.text.find('/');
  // The tilde-prefix runs to the first unquoted slash; quoted or expanded characters
  // inside it disable the expansion, as in POSIX.
  if (slash == std::string::npos && w.parts.size() > 1) return;
  std::string prefix = first.text.substr(0, slash);
  std::string rest = slash == std::string::npos ? "" : first.text.substr(slash);
  first.kind = WordPart::Kind::Tilde;
  first.text = prefix;
  if (!rest.empty()) {
    WordPart lit;
    lit.text = rest;
    lit.line = first.line;
    w.parts.insert(w.parts.begin() + 1, std::move(lit));
  }
}

std::optional<Assignment> split_assignment(const Word& w) {
  if (w.parts.empty()) return std::nullopt;
  const WordPart& first = w.parts[0];
  if (first.kind != WordPart::Kind::Literal || first.quoted) return std::nullopt;
  size_t eq = first.text.find('=');
  if (eq == std::string::npos || !is_name(std::string_view(first.text).substr(0, eq)))
    return std::nullopt;
  Assignment a;
  a.name = first.text.substr(0, eq);
  a.line = w.line;
  a.value.line = w.line;
  if (eq + 1 < first.text.size()) {
    WordPart rest = first;
    rest.text = first.text.substr(eq + 1);
    a.value.parts.push_back(std::move(rest));
  }
  a.value.parts.insert(a.value.parts.end(), w.parts.begin() + 1, w.parts.end());
  apply_tilde(a.value);
  return a;
}

bool is_name(std::string_view s) {
  if (s.empty() || !detail::is_alpha(s[0])) return false;
  for (char c : s) {
    if (!detail::is_alpha(c) && !detail::is_digit(c)) return false;
  }
  return true;
}

}  // namespace minish
