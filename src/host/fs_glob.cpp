// Filesystem glob of spec/ops.md §20.4 (the no-host Glob and the default ShellHost::glob).
//
// Our own matcher rather than glob(3)/fnmatch(3): the reference rules differ from POSIX in
// ways those functions cannot be configured for — `[^...]` is not negation, there are no
// backslash escapes or [:class:] names, `?` matches one Unicode character, an unclosed
// `[` makes the whole pattern invalid, and `**` is a recursive component.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fusevm/host.hpp"

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

// One path component of the pattern.
struct Component {
  std::string text;           // as written (used verbatim for literal components)
  bool recursive = false;     // the whole component is `**`
  bool literal = true;        // no wildcard at all
  std::vector<Token> tokens;  // for wildcard components
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

// Compile one component; nullopt if invalid (unclosed or empty class, `***`, or `**`
// sharing a component with anything else).
std::optional<Component> parse_component(std::string text) {
  Component c;
  c.text = std::move(text);
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
      c.tokens.push_back(Token::make(Token::AnySeq));
      c.literal = false;
      ++i;
    } else if (ch == '?') {
      c.tokens.push_back(Token::make(Token::AnyChar));
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
      c.tokens.push_back(std::move(t));
      c.literal = false;
      i = close + 1;
    } else {
      c.tokens.push_back(Token::make(Token::Char, ch));
      ++i;
    }
  }
  return c;
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

std::string join(const std::string& prefix, const std::string& name) {
  if (prefix.empty()) return name;
  if (prefix.back() == '/') return prefix + name;
  return prefix + "/" + name;
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.empty() ? "." : path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Entries of `dir` ("" = the current directory) except . and .., in byte order; nullopt
// if it cannot be read completely (the reference drops the whole directory then).
std::optional<std::vector<std::string>> list_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.empty() ? "." : dir.c_str());
  if (d == nullptr) return std::nullopt;
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d);
    if (e == nullptr) break;
    const std::string_view n(e->d_name);
    if (n == "." || n == "..") continue;
    names.emplace_back(n);
  }
  const int err = errno;
  ::closedir(d);
  if (err != 0) return std::nullopt;
  std::sort(names.begin(), names.end());  // char_traits<char> compares as unsigned bytes
  return names;
}

class Walker {
 public:
  Walker(std::vector<Component> comps, bool require_dir)
      : comps_(std::move(comps)), require_dir_(require_dir) {}

  std::vector<std::string> take() { return std::move(out_); }

  // Match comps_[idx..] below `prefix` (the output text so far; "" = relative start).
  void walk(size_t idx, const std::string& prefix) {
    const Component& c = comps_[idx];
    if (c.recursive) {
      walk_recursive(idx, prefix);
      return;
    }
    if (c.literal) {
      const std::string next = join(prefix, c.text);
      if (last(idx)) {
        struct stat st {};
        if (::lstat(next.c_str(), &st) == 0) emit(next);
      } else {
        walk(idx + 1, next);
      }
      return;
    }
    const auto names = list_dir(prefix);
    if (!names) return;
    for (const std::string& name : *names) match_at(idx, name, join(prefix, name));
  }

 private:
  bool last(size_t idx) const { return idx + 1 == comps_.size(); }

  void emit(const std::string& path) {
    if (require_dir_ && !is_dir(path)) return;
    out_.push_back(path);
  }

  // `name` (at `path`) against comps_[idx], then the rest of the pattern below it.
  void match_at(size_t idx, const std::string& name, const std::string& path) {
    const Component& c = comps_[idx];
    const bool ok = c.literal ? name == c.text : matches(c.tokens, decode_units(name));
    if (!ok) return;
    if (last(idx)) {
      emit(path);
    } else {
      walk(idx + 1, path);
    }
  }

  // `**` at comps_[idx] listing `dir`: each entry is first tried as "zero more
  // directories" (matched against the next component), then descended into. A trailing
  // `**` yields every directory below `dir` but neither `dir` itself nor files, as the
  // reference does.
  void walk_recursive(size_t idx, const std::string& dir) {
    struct stat st {};
    if (::stat(dir.empty() ? "." : dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
    // Symlinks are followed like the reference does, so a link back to an ancestor
    // would recurse forever; stop at any directory already on the current path.
    const std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
    if (std::find(ancestors_.begin(), ancestors_.end(), id) != ancestors_.end()) return;
    const auto names = list_dir(dir);
    if (!names) return;
    ancestors_.push_back(id);
    for (const std::string& name : *names) {
      const std::string path = join(dir, name);
      const bool dir_entry = is_dir(path);
      if (last(idx)) {
        if (dir_entry) emit(path);
      } else {
        match_at(idx + 1, name, path);
      }
      if (dir_entry) walk_recursive(idx, path);
    }
    ancestors_.pop_back();
  }

  std::vector<Component> comps_;
  bool require_dir_;
  std::vector<std::pair<dev_t, ino_t>> ancestors_;
  std::vector<std::string> out_;
};

}  // namespace

std::vector<std::string> fs_glob(const std::string& pattern) {
  if (pattern.empty() || pattern.find('\0') != std::string::npos) return {};
  const bool absolute = pattern.front() == '/';
  std::vector<Component> comps;
  bool any_wildcard = false;
  size_t i = 0;
  while (i < pattern.size()) {
    size_t j = pattern.find('/', i);
    if (j == std::string::npos) j = pattern.size();
    if (j > i) {
      auto c = parse_component(pattern.substr(i, j - i));
      if (!c) return {};
      any_wildcard = any_wildcard || !c->literal;
      // `**/**` is the same as `**`.
      if (!(c->recursive && !comps.empty() && comps.back().recursive)) comps.push_back(*c);
    }
    i = j + 1;
  }
  if (!any_wildcard) {
    struct stat st {};
    if (::lstat(pattern.c_str(), &st) == 0) return {pattern};
    return {};
  }
  // A trailing separator asks for directories; the results carry no trailing slash.
  const bool require_dir = pattern.back() == '/';
  Walker w(std::move(comps), require_dir);
  w.walk(0, absolute ? "/" : "");
  return w.take();
}

}  // namespace fusevm
