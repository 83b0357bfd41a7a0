// Filesystem glob of spec/ops.md §20.4 (the no-host Glob and the default ShellHost::glob).
//
// Our own matcher rather than glob(3)/fnmatch(3): the reference rules differ from POSIX in
// ways those functions cannot be configured for — `[^...]` is not negation, there are no
// backslash escapes or [:class:] names, `?` matches one Unicode character, an unclosed
// `[` makes the whole pattern invalid, and `**` is a recursive component. Walking the
// directories is shared with shell::shell_glob (host/glob_walk.hpp).
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fusevm/host.hpp"
#include "host/glob_walk.hpp"

namespace fusevm {
namespace {

// A pattern or name is matched as a sequence of units: Unicode code points, with each
// byte of invalid UTF-8 mapped above the code-point range so it only equals itself.
using Unit = uint32_t;
constexpr Unit kInvalidByteBase = 0x110000;

std::vector<Unit> decode_units(std::string_view s) {
  std::vector<Unit> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    Unit cp = 0, min = 0;
    if (b0 < 0x80) {
      len = 1, cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    }
    bool ok = len != 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      ok = (b & 0xC0) == 0x80;
      cp = (cp << 6) | (b & 0x3F);
    }
    ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!ok) {
      out.push_back(kInvalidByteBase + b0);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

struct Token {
  enum Kind : uint8_t { Char, AnyChar, AnySeq, Within, Except };
  Kind kind = Char;
  Unit ch = 0;                                  // Char
  std::vector<std::pair<Unit, Unit>> ranges;    // Within / Except, inclusive

  static Token make(Kind k, Unit c = 0) {
    Token t;
    t.kind = k;
    t.ch = c;
    return t;
  }
};

// Class body `[...]` → ranges: `a-z` is a range when a character follows the dash,
// otherwise every character (including a leading `]` or `-`) stands for itself.
std::vector<std::pair<Unit, Unit>> parse_class(const std::vector<Unit>& u, size_t b, size_t e) {
  std::vector<std::pair<Unit, Unit>> ranges;
  size_t i = b;
  while (i < e) {
    if (i + 2 < e && u[i + 1] == '-') {
      ranges.emplace_back(u[i], u[i + 2]);
      i += 3;
    } else {
      ranges.emplace_back(u[i], u[i]);
      ++i;
    }
  }
  return ranges;
}

bool token_matches_one(const Token& t, Unit ch) {
  switch (t.kind) {
    case Token::Char: return t.ch == ch;
    case Token::AnyChar: return true;
    case Token::Within:
    case Token::Except: {
      bool in = false;
      for (const auto& [lo, hi] : t.ranges) in = in || (lo <= ch && ch <= hi);
      return in == (t.kind == Token::Within);
    }
    case Token::AnySeq: return false;
  }
  return false;
}

// Whole-name match with single-star backtracking: linear in practice, and never
// exponential because only the most recent `*` is ever retried.
bool matches(const std::vector<Token>& tokens, const std::vector<Unit>& name) {
  size_t p = 0, n = 0;
  size_t star_p = SIZE_MAX, star_n = 0;
  while (n < name.size()) {
    if (p < tokens.size() && tokens[p].kind == Token::AnySeq) {
      star_p = p++;
      star_n = n;
    } else if (p < tokens.size() && token_matches_one(tokens[p], name[n])) {
      ++p;
      ++n;
    } else if (star_p != SIZE_MAX) {
      p = star_p + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < tokens.size() && tokens[p].kind == Token::AnySeq) ++p;
  return p == tokens.size();
}

// Compile one component; nullopt if invalid (unclosed or empty class, `***`, or `**`
// sharing a component with anything else).
std::optional<glob_walk::Component> parse_component(std::string text) {
  glob_walk::Component c;
  c.text = std::move(text);
  std::vector<Token> tokens;
  if (c.text == "**") {
    c.recursive = true;
    c.literal = false;
    return c;
  }
  const std::vector<Unit> u = decode_units(c.text);
  size_t i = 0;
  while (i < u.size()) {
    const Unit ch = u[i];
    if (ch == '*') {
      size_t run = 0;
      while (i + run < u.size() && u[i + run] == '*') ++run;
      if (run > 1) return std::nullopt;
      tokens.push_back(Token::make(Token::AnySeq));
      c.literal = false;
      ++i;
    } else if (ch == '?') {
      tokens.push_back(Token::make(Token::AnyChar));
      c.literal = false;
      ++i;
    } else if (ch == '[') {
      // The first body character is never the closing bracket, so `[]x]` and `[!]x]`
      // contain a literal `]`; a class needs at least one character.
      const bool negated = i + 1 < u.size() && u[i + 1] == '!';
      const size_t body = i + (negated ? 2 : 1);
      if (body >= u.size()) return std::nullopt;
      size_t close = body + 1;
      while (close < u.size() && u[close] != ']') ++close;
      if (close >= u.size()) return std::nullopt;
      Token t = Token::make(negated ? Token::Except : Token::Within);
      t.ranges = parse_class(u, body, close);
      tokens.push_back(std::move(t));
      c.literal = false;
      i = close + 1;
    } else {
      tokens.push_back(Token::make(Token::Char, ch));
      ++i;
    }
  }
  if (!c.literal) {
    c.match = [tokens = std::move(tokens)](const std::string& name) {
      return matches(tokens, decode_units(name));
    };
  }
  return c;
}

}  // namespace

std::vector<std::string> fs_glob(const std::string& pattern) {
  if (pattern.empty() || pattern.find('\0') != std::string::npos) return {};
  const auto comps = glob_walk::split_pattern(pattern, parse_component);
  if (!comps) return {};
  const bool any_wildcard = std::any_of(comps->begin(), comps->end(),
                                        [](const glob_walk::Component& c) { return !c.literal; });
  if (!any_wildcard) {
    struct stat st {};
    if (::lstat(pattern.c_str(), &st) == 0) return {pattern};
    return {};
  }
  // A trailing separator asks for directories; the results carry no trailing slash.
  glob_walk::WalkOptions options;
  options.require_dir = pattern.back() == '/';
  return glob_walk::walk(*comps, pattern.front() == '/' ? "/" : "", options);
}

}  // namespace fusevm
