// minish's lexer, `$` forms: parameters and their modifiers, `$(...)`, backquote bodies.
#include <string>

#include "fusevm/op.hpp"
#include "scanner.hpp"

namespace minish::detail {

namespace {

namespace pm = fusevm::param_mod;

bool is_special_param(char c) {
  return c == '?' || c == '#' || c == '$' || c == '@' || c == '*' || c == '!' || c == '-';
}

}  // namespace

void Scanner::push_cmdsubst(Word& w, std::string text, bool quoted, int line) {
  WordPart p;
  p.kind = WordPart::Kind::CmdSubst;
  p.quoted = quoted;
  p.text = std::move(text);
  p.line = line;
  w.parts.push_back(std::move(p));
}

void Scanner::dollar(Word& w, bool quoted) {
  char n = peek(1);
  if (pos_ + 1 >= src_.size()) {
    add_text(w, "$", quoted, line_);
    ++pos_;
    return;
  }
  WordPart p;
  p.kind = WordPart::Kind::Param;
  p.quoted = quoted;
  p.line = line_;
  if (n == '(') {
    if (peek(2) == '(')
      throw SyntaxError(line_, "arithmetic expansion $((...)) is not supported");
    NestingGuard guard(line_);
    int start_line = line_;
    Scanner sub(src_, pos_ + 2, line_);
    sub.run(true, start_line);
    std::string text(src_.substr(pos_ + 2, sub.pos() - pos_ - 2));
    pos_ = sub.pos() + 1;
    line_ = sub.line();
    push_cmdsubst(w, std::move(text), quoted, start_line);
    return;
  }
  if (n == '{') {
    NestingGuard guard(line_);
    braced(w, quoted);
    return;
  }
  if (n == '?') {
    p.kind = WordPart::Kind::Status;
    pos_ += 2;
  } else if (is_alpha(n)) {
    pos_ += 1;
    while (!at_end() && (is_alpha(src_[pos_]) || is_digit(src_[pos_]))) p.text += src_[pos_++];
  } else if (is_digit(n) || is_special_param(n)) {
    p.text = std::string(1, n);
    pos_ += 2;
  } else {
    add_text(w, "$", quoted, line_);
    ++pos_;
    return;
  }
  w.parts.push_back(std::move(p));
}

std::string Scanner::param_name() {
  std::string name;
  char c = peek();
  if (is_alpha(c)) {
    while (is_alpha(peek()) || is_digit(peek())) name += src_[pos_++];
  } else if (is_digit(c)) {
    while (is_digit(peek())) name += src_[pos_++];
  } else if (is_special_param(c) && !at_end()) {
    name = std::string(1, c);
    ++pos_;
  }
  return name;
}

// `${...}`; pos_ is at the `$`.
void Scanner::braced(Word& w, bool quoted) {
  int start_line = line_;
  pos_ += 2;
  WordPart p;
  p.kind = WordPart::Kind::Param;
  p.quoted = quoted;
  p.line = start_line;
  auto bad = [&]() { return SyntaxError(start_line, "bad substitution"); };
  if (peek() == '#' && peek(1) != '}') {
    ++pos_;
    p.mod = pm::LENGTH;
    p.text = param_name();
  } else if (peek() == '!' && peek(1) != '}') {
    ++pos_;
    p.text = param_name();
    if (src_.substr(pos_).starts_with("[@]") || src_.substr(pos_).starts_with("[*]")) {
      pos_ += 3;
      p.mod = pm::KEYS;
    } else {
      p.mod = pm::INDIRECT;
    }
  } else {
    p.text = param_name();
    if (!p.text.empty()) modifier(p, start_line);
  }
  if (p.text.empty()) throw bad();
  if (at_end()) throw SyntaxError(start_line, "unterminated `${'");
  if (peek() != '}') throw bad();
  ++pos_;
  if (p.text == "?" && !p.mod) {
    p.kind = WordPart::Kind::Status;
    p.text.clear();
  } else if (p.text == "?") {
    throw bad();
  }
  w.parts.push_back(std::move(p));
}

void Scanner::modifier(WordPart& p, int start_line) {
  if (at_end()) throw SyntaxError(start_line, "unterminated `${'");
  char c = peek();
  auto two = [&](char a) { return peek(1) == a; };
  auto value_mod = [&](uint8_t mod, size_t skip) {
    pos_ += skip;
    p.mod = mod;
    p.args.push_back(arg_word("}", p.quoted, start_line));
    apply_tilde(p.args.back());
  };
  switch (c) {
    case '}': return;
    case ':':
      if (two('-')) return value_mod(pm::DEFAULT, 2);
      if (two('=')) return value_mod(pm::ASSIGN, 2);
      if (two('?')) return value_mod(pm::ERROR, 2);
      if (two('+')) return value_mod(pm::ALTERNATE, 2);
      ++pos_;
      p.mod = pm::SLICE;
      p.args.push_back(arg_word(":}", p.quoted, start_line));
      if (peek() == ':') {
        ++pos_;
        p.args.push_back(arg_word("}", p.quoted, start_line));
      }
      return;
    // Without the colon POSIX tests "unset" rather than "unset or empty"; param_mod has
    // only the colon forms, so both spellings share them (README: differences).
    case '-': return value_mod(pm::DEFAULT, 1);
    case '=': return value_mod(pm::ASSIGN, 1);
    case '?': return value_mod(pm::ERROR, 1);
    case '+': return value_mod(pm::ALTERNATE, 1);
    // Patterns stay patterns inside "...": POSIX does not let the enclosing double
    // quotes quote them, only quoting inside the braces does.
    case '#':
    case '%': {
      bool doubled = two(c);
      pos_ += doubled ? 2 : 1;
      if (c == '#') p.mod = doubled ? pm::STRIP_LONG : pm::STRIP_SHORT;
      else p.mod = doubled ? pm::RSTRIP_LONG : pm::RSTRIP_SHORT;
      p.args.push_back(arg_word("}", false, start_line));
      return;
    }
    case '/':
      p.mod = two('/') ? pm::SUBST_ALL : pm::SUBST_FIRST;
      pos_ += two('/') ? 2 : 1;
      p.args.push_back(arg_word("/}", false, start_line));
      if (peek() == '/') {
        ++pos_;
        p.args.push_back(arg_word("}", p.quoted, start_line));
      } else {
        p.args.push_back(Word{{}, line_});
      }
      return;
    case '^':
      p.mod = two('^') ? pm::UPPER : pm::UPPER_FIRST;
      pos_ += two('^') ? 2 : 1;
      return;
    case ',':
      p.mod = two(',') ? pm::LOWER : pm::LOWER_FIRST;
      pos_ += two(',') ? 2 : 1;
      return;
    default:
      throw SyntaxError(start_line, "bad substitution");
  }
}

// An operand inside `${...}`, up to one of `stops` at this level.
Word Scanner::arg_word(std::string_view stops, bool quoted, int start_line) {
  Word w;
  w.line = line_;
  for (;;) {
    if (at_end()) throw SyntaxError(start_line, "unterminated `${'");
    char c = src_[pos_];
    if (stops.find(c) != std::string_view::npos) {
      drop_empty_quotes(w);
      return w;
    }
    if (c == '\\' && pos_ + 1 < src_.size()) {
      char n = src_[pos_ + 1];
      if (n == '\n') {
        pos_ += 2;
        ++line_;
        continue;
      }
      if (!quoted || n == '$' || n == '`' || n == '"' || n == '\\' || n == '}') {
        add_text(w, std::string_view(&n, 1), true, line_);
        pos_ += 2;
        continue;
      }
    }
    if (c == '\'' && !quoted) {
      single_quote(w);
    } else if (c == '"') {
      double_quote(w);
    } else if (c == '$') {
      dollar(w, quoted);
    } else if (c == '`') {
      backquote(w, quoted);
    } else {
      if (c == '\n') ++line_;
      add_text(w, std::string_view(&c, 1), quoted, line_);
      ++pos_;
    }
  }
}

}  // namespace minish::detail
