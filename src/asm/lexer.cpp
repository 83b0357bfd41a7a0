// Line tokenizer for .fasm text: words, decoded strings, punctuation; `;` starts a comment.
#include "asm/lexer.hpp"

#include <cstdint>

namespace fusevm::fasm {

namespace {

// ASCII-only classes: <cctype> depends on the locale and is undefined for negative chars.
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_word_char(char c) { return is_alpha(c) || is_digit(c) || c == '_' || c == '.'; }
bool is_punct(char c) {
  switch (c) {
    case ':': case ',': case '@': case '#': case '[': case ']': case '{': case '}':
    case '(': case ')': return true;
    default: return false;
  }
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const char kHexDigits[] = "0123456789ABCDEF";

std::string hex_byte(unsigned char b) {
  return std::string{'\\', 'x', kHexDigits[b >> 4], kHexDigits[b & 15]};
}

std::string describe_char(char c) {
  auto b = static_cast<unsigned char>(c);
  if (b >= 0x21 && b < 0x7f) return std::string("unexpected character '") + c + "'";
  return "unexpected byte 0x" + std::string{kHexDigits[b >> 4], kHexDigits[b & 15]};
}

// Decodes the string literal starting at line[i] == '"'; on success `i` is past the
// closing quote.
bool lex_string(std::string_view line, size_t& i, std::string& out, std::string& error) {
  ++i;
  while (i < line.size()) {
    char c = line[i++];
    if (c == '"') return true;
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (i >= line.size()) break;
    char e = line[i++];
    switch (e) {
      case '\\': out.push_back('\\'); break;
      case '"': out.push_back('"'); break;
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 'r': out.push_back('\r'); break;
      case '0': out.push_back('\0'); break;
      case 'x': {
        int hi = i < line.size() ? hex_value(line[i]) : -1;
        int lo = i + 1 < line.size() ? hex_value(line[i + 1]) : -1;
        if (hi < 0 || lo < 0) {
          error = "bad escape in string: \\x needs two hex digits";
          return false;
        }
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        break;
      }
      default: {
        auto b = static_cast<unsigned char>(e);
        error = (b >= 0x21 && b < 0x7f) ? std::string("bad escape in string: \\") + e
                                        : "bad escape in string: \\ followed by byte 0x" +
                                              std::string{kHexDigits[b >> 4], kHexDigits[b & 15]};
        return false;
      }
    }
  }
  error = "unterminated string";
  return false;
}

// Length of the valid UTF-8 sequence (2..4 bytes, no overlongs or surrogates) starting
// at s[i], or 0.
size_t utf8_sequence(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
  else return 0;
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return len;
}

}  // namespace

LexedLine lex_line(std::string_view line) {
  LexedLine out;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (c == ' ' || c == '\t') {
      ++i;
    } else if (c == ';') {
      break;
    } else if (c == '"') {
      Token t{TokKind::String, {}};
      if (!lex_string(line, i, t.text, out.error)) return out;
      out.tokens.push_back(std::move(t));
    } else if (is_punct(c)) {
      out.tokens.push_back(Token{TokKind::Punct, std::string(1, c)});
      ++i;
    } else if (is_word_char(c) ||
               (c == '-' && i + 1 < line.size() && is_word_char(line[i + 1]))) {
      size_t j = i + (c == '-' ? 1 : 0);
      // A number may carry an exponent sign (1e-5, 2.5E+3); hex digits may not.
      bool numeric = is_digit(line[j]) ||
                     (line[j] == '.' && j + 1 < line.size() && is_digit(line[j + 1]));
      bool hex = numeric && line[j] == '0' && j + 1 < line.size() &&
                 (line[j + 1] == 'x' || line[j + 1] == 'X');
      while (j < line.size()) {
        char d = line[j];
        if (is_word_char(d)) {
          ++j;
        } else if ((d == '+' || d == '-') && numeric && !hex &&
                   (line[j - 1] == 'e' || line[j - 1] == 'E')) {
          ++j;
        } else {
          break;
        }
      }
      out.tokens.push_back(Token{TokKind::Word, std::string(line.substr(i, j - i))});
      i = j;
    } else {
      out.error = describe_char(c);
      return out;
    }
  }
  return out;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || !(is_alpha(s[0]) || s[0] == '_')) return false;
  for (char c : s) {
    if (!is_word_char(c)) return false;
  }
  return true;
}

std::string quote_string(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    switch (b) {
      case '\\': out += "\\\\"; ++i; continue;
      case '"': out += "\\\""; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\0': out += "\\0"; ++i; continue;
      default: break;
    }
    if (b >= 0x20 && b < 0x7f) {
      out.push_back(static_cast<char>(b));
      ++i;
    } else if (size_t n = b >= 0x80 ? utf8_sequence(s, i) : 0; n > 0) {
      // Valid UTF-8 stays readable; anything else is escaped byte by byte.
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += hex_byte(b);
      ++i;
    }
  }
  out.push_back('"');
  return out;
}

std::string show_token(const Token& t) {
  constexpr size_t kMaxShown = 40;
  std::string body = t.kind == TokKind::String ? quote_string(t.text) : t.text;
  if (body.size() > kMaxShown) body = body.substr(0, kMaxShown) + "...";
  std::string out = "'";
  for (char c : body) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) out += hex_byte(b);
    else out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace fusevm::fasm
