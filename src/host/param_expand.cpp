// shell::expand_param: every param_mod of spec/ops.md §21.3, with bash's semantics.
//
// Decisions, mod by mod (bash 5 in a UTF-8 locale is the model unless noted):
// - A variable is unset when VarAccess::get gives nullopt or an Undef value. "Null" means
//   its to_str is empty, so an empty Array is null as well.
// - DEFAULT, ASSIGN, ERROR, ALTERNATE are the colon forms (unset OR null). They return
//   Values as-is (the variable's own value, or the word as pushed), so an Array or Int
//   passes through unchanged; ASSIGN stores the word as pushed. ERROR's text is
//   "NAME: WORD", or "NAME: parameter null or not set" for an empty word, with Str "".
// - LENGTH is an Int: elements of an Array, entries of a Hash, otherwise UTF-8 characters
//   of to_str (each byte of an invalid sequence counts as one), 0 when unset.
// - STRIP/RSTRIP and SUBST use shell patterns through fnmatch (shell::pattern_match
//   rules), trying every byte boundary: the shortest or longest prefix/suffix for STRIP,
//   the longest match at the leftmost position for SUBST. `?` therefore matches one byte
//   of a multibyte character unless the embedding program set a UTF-8 locale. A SUBST
//   pattern starting with `#` anchors at the start, `%` at the end; an anchor alone
//   prepends/appends the replacement (bash's `${a[@]/#/pre}` idiom); an empty pattern
//   leaves the value unchanged. The replacement is literal (no `&`). A pattern holding a
//   NUL byte matches nothing; a NUL inside the value is never matched by a pattern.
//   Unset variables give Str "" for all of these. Star-free patterns only try
//   candidates as long as they can match; a pattern with `*` tries them all, which is
//   quadratic in the value's length, as in bash. A SUBST result longer than the caller's
//   max_bytes is refused with ParamResult::error instead of being built.
// - UPPER/LOWER/UPPER_FIRST/LOWER_FIRST change ASCII letters only (bytes >= 0x80 are
//   left alone, so UTF-8 text is never corrupted).
// - INDIRECT gives the value (as-is) of the variable named by v's to_str; Str "" if
//   either is unset. The name is used exactly (no `name[i]` subscripts).
// - KEYS gives an Array of Str: "0".."n-1" for an Array, the keys in insertion order for
//   a Hash, ["0"] for any other set value, [] when unset.
// - SLICE takes (offset, length) as to_int; an Undef length means "to the end" (how a
//   frontend says `${v:o}`). A negative offset counts from the end, and one reaching
//   before the start gives an empty result; a negative length is an end offset from the
//   end, and an end before the start gives an empty result (bash reports an error
//   there; ParamResult::error is kept for ERROR and size limits). Arrays slice elements
//   and Hashes their values in order, both as an Array of Str; other values slice
//   characters as in LENGTH and give a Str.
// - Unknown codes give the plain value as-is, Str "" when unset.
#include <fnmatch.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fusevm/shell_expand.hpp"

namespace fusevm::shell {

VarAccess::~VarAccess() = default;

namespace {

enum ParamMod : uint8_t {
  kDefault = 0, kAssign = 1, kError = 2, kAlternate = 3, kLength = 4, kStripShort = 5,
  kStripLong = 6, kRstripShort = 7, kRstripLong = 8, kSubstFirst = 9, kSubstAll = 10,
  kUpper = 11, kLower = 12, kUpperFirst = 13, kLowerFirst = 14, kIndirect = 15, kKeys = 16,
  kSlice = 17,
};

constexpr size_t kNone = std::string::npos;

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// -- UTF-8 characters -------------------------------------------------------------

// Byte length of the character at `i`: a valid UTF-8 sequence (no overlongs,
// surrogates or code points past U+10FFFF), else 1 for a stray byte.
size_t char_len(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len = 0;
  uint32_t cp = 0, min = 0;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 1;
  }
  if (i + len > s.size()) return 1;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 1;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 1;
  return len;
}

size_t char_count(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += char_len(s, i)) ++n;
  return n;
}

// -- Pattern matching over substrings ------------------------------------------------

// fnmatch over substrings of one value without copying each candidate: the end of a
// candidate is marked by briefly writing a NUL into a private copy. Substrings that
// contain a NUL of the value itself never match, since fnmatch would see them cut short.
class Subject {
 public:
  explicit Subject(std::string_view text) : buf_(text) {
    for (size_t i = buf_.find('\0'); i != kNone; i = buf_.find('\0', i + 1)) nuls_.push_back(i);
  }
  size_t size() const { return buf_.size(); }
  bool has_nul() const { return !nuls_.empty(); }
  // End of the NUL-free run starting at `i`: no matching candidate extends past it.
  size_t run_end(size_t i) const {
    const auto nul = std::lower_bound(nuls_.begin(), nuls_.end(), i);
    return nul == nuls_.end() ? buf_.size() : *nul;
  }
  // Start of the NUL-free run that ends the value.
  size_t last_run_start() const { return nuls_.empty() ? 0 : nuls_.back() + 1; }

  // True if buf_[i, j) matches `pattern` (NUL-free).
  bool matches(size_t i, size_t j, const std::string& pattern) {
    const auto nul = std::lower_bound(nuls_.begin(), nuls_.end(), i);
    if (nul != nuls_.end() && *nul < j) return false;
    char* data = buf_.data();
    const char saved = data[j];  // data[size()] is the terminator and may be read
    if (j < buf_.size()) data[j] = '\0';
    const bool ok = ::fnmatch(pattern.c_str(), data + i, 0) == 0;
    if (j < buf_.size()) data[j] = saved;
    return ok;
  }

 private:
  std::string buf_;
  std::vector<size_t> nuls_;
};

// Appending `*` to a pattern is only sound if its last character is not a lone
// backslash (which would turn the new `*` into a literal).
bool ends_in_escape(const std::string& pattern) {
  size_t backslashes = 0;
  for (auto it = pattern.rbegin(); it != pattern.rend() && *it == '\\'; ++it) ++backslashes;
  return backslashes % 2 == 1;
}

// Longest match of a pattern without `*`, in bytes: every element of it (a character,
// `?`, `\\x`, a bracket expression) takes at least one pattern byte and matches one
// character of at most MB_CUR_MAX bytes. Bounding the candidates this way keeps the
// common `${v//a/b}` linear instead of trying every end position (bash's umatchlen
// serves the same purpose). A pattern with `*` anywhere, even escaped, is unbounded.
std::optional<size_t> max_match_len(const std::string& pattern) {
  if (pattern.find('*') != std::string::npos) return std::nullopt;
  return pattern.size() * MB_CUR_MAX;
}

// Length of the shortest or longest prefix matching `pattern`, if any. Trying every
// prefix is quadratic, so one test first rules out the common "no match": some prefix
// matches `p` exactly when the value matches `p*`. Only the NUL-free run at the start
// can hold a matching prefix, so that run is what is tested and tried.
std::optional<size_t> match_prefix(Subject& subject, const std::string& pattern, bool longest) {
  size_t m = subject.run_end(0);
  if (const auto bound = max_match_len(pattern)) {
    m = std::min(m, *bound);
  } else if (!ends_in_escape(pattern) && !subject.matches(0, m, pattern + "*")) {
    return std::nullopt;
  }
  for (size_t step = 0; step <= m; ++step) {
    const size_t k = longest ? m - step : step;
    if (subject.matches(0, k, pattern)) return k;
  }
  return std::nullopt;
}

// Start of the shortest or longest suffix matching `pattern`, if any (the same
// pre-check with `*p`, which prepending always makes sound).
std::optional<size_t> match_suffix(Subject& subject, const std::string& pattern, bool longest) {
  const size_t n = subject.size();
  size_t start = subject.last_run_start();
  if (const auto bound = max_match_len(pattern)) {
    start = std::max(start, n - std::min(n, *bound));
  } else if (!subject.matches(start, n, "*" + pattern)) {
    return std::nullopt;
  }
  for (size_t step = 0; step <= n - start; ++step) {
    const size_t k = longest ? start + step : n - step;
    if (subject.matches(k, n, pattern)) return k;
  }
  return std::nullopt;
}

// `${v#p}` / `${v##p}`.
std::string strip_prefix(const std::string& text, const std::string& pattern, bool longest) {
  if (has_nul(pattern)) return text;
  Subject subject(text);
  const auto k = match_prefix(subject, pattern, longest);
  return k ? text.substr(*k) : text;
}

// `${v%p}` / `${v%%p}`.
std::string strip_suffix(const std::string& text, const std::string& pattern, bool longest) {
  if (has_nul(pattern)) return text;
  Subject subject(text);
  const auto k = match_suffix(subject, pattern, longest);
  return k ? text.substr(0, *k) : text;
}

// `${v/p/r}` / `${v//p/r}`, bash's pat_subst; nullopt if the result would exceed
// `max_bytes`. The result can be (|v|+1)*|r| bytes, terabytes from two modest strings,
// so the size is checked before each append, not after.
std::optional<std::string> substitute(const std::string& text, const std::string& raw_pattern,
                                      const std::string& rep, bool all, size_t max_bytes) {
  if (raw_pattern.empty() || has_nul(raw_pattern)) return text;
  const char anchor = raw_pattern.front() == '#' || raw_pattern.front() == '%'
                          ? raw_pattern.front()
                          : '\0';
  const std::string pattern = anchor != '\0' ? raw_pattern.substr(1) : raw_pattern;
  const size_t n = text.size();
  // Whether `kept` bytes of the value plus one replacement fit.
  const auto fits = [&](size_t kept) {
    return rep.size() <= max_bytes && kept <= max_bytes - rep.size();
  };
  if (anchor == '#') {
    Subject subject(text);
    const auto k =
        pattern.empty() ? std::optional<size_t>(0) : match_prefix(subject, pattern, true);
    if (!k) return text;
    if (!fits(n - *k)) return std::nullopt;
    return rep + text.substr(*k);
  }
  if (anchor == '%') {
    Subject subject(text);
    const auto k =
        pattern.empty() ? std::optional<size_t>(n) : match_suffix(subject, pattern, true);
    if (!k) return text;
    if (!fits(*k)) return std::nullopt;
    return text.substr(0, *k) + rep;
  }
  Subject subject(text);
  if (n == 0) {
    if (!subject.matches(0, 0, pattern)) return text;
    if (!fits(0)) return std::nullopt;
    return rep;
  }
  // Cheap pre-checks bash also makes: "matches anywhere" and "a match starts here".
  const bool extendable = !ends_in_escape(pattern);
  const auto bound = max_match_len(pattern);
  const std::string anywhere = "*" + pattern + "*", starts_here = pattern + "*";
  if (extendable && !subject.has_nul() && !subject.matches(0, n, anywhere)) return text;
  std::string out;
  size_t i = 0;
  while (i < n) {
    size_t end = kNone;
    const size_t run_end = subject.run_end(i);
    const size_t last = bound ? std::min(run_end, i + std::min(*bound, n - i)) : run_end;
    if (bound || !extendable || subject.matches(i, run_end, starts_here)) {
      for (size_t j = last + 1; j-- > i;) {
        if (subject.matches(i, j, pattern)) {
          end = j;
          break;
        }
      }
    }
    if (end == kNone) {
      out.push_back(text[i++]);
      continue;
    }
    if (!fits(out.size())) return std::nullopt;
    out += rep;
    // An empty match copies one character so the scan always advances (as bash).
    if (end == i) {
      out.push_back(text[i++]);
    } else {
      i = end;
    }
    if (!all) break;
  }
  if (out.size() > max_bytes || n - i > max_bytes - out.size()) return std::nullopt;
  out.append(text, i, kNone);
  return out;
}

// -- Other mods -----------------------------------------------------------------

std::string ascii_case(std::string s, bool upper, bool first_only) {
  for (char& c : s) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (first_only) break;
  }
  return s;
}

Value keys_of(const std::optional<Value>& v) {
  ValueArray keys;
  if (!v) return Value::Array(std::move(keys));
  if (v->is_array()) {
    const size_t n = v->as_array().size();
    keys.reserve(n);
    for (size_t i = 0; i < n; ++i) keys.push_back(Value::Str(std::to_string(i)));
  } else if (v->is_hash()) {
    for (const auto& [key, value] : v->as_hash()) keys.push_back(Value::Str(key));
  } else {
    keys.push_back(Value::Str("0"));
  }
  return Value::Array(std::move(keys));
}

// [begin, end) of a slice of `size` items by bash's offset/length rules; nullopt if empty.
// The length is a plain flag and value: GCC 12 reports a false maybe-uninitialized for an
// optional<int64_t> here at -O2.
std::optional<std::pair<size_t, size_t>> slice_range(size_t size, int64_t offset, bool has_length,
                                                     int64_t length) {
  // Sizes are far below 2^63 (the VM caps strings and arrays), so these casts are exact.
  const auto n = static_cast<int64_t>(size);
  if (offset < 0) {
    if (offset < -n) return std::nullopt;
    offset += n;
  }
  if (offset >= n) return std::nullopt;
  int64_t end = n;
  if (has_length) {
    if (length < 0) {
      if (length < -n) return std::nullopt;
      end = n + length;
    } else {
      end = length > n - offset ? n : offset + length;
    }
  }
  if (end <= offset) return std::nullopt;
  return std::make_pair(static_cast<size_t>(offset), static_cast<size_t>(end));
}

Value slice_of(const std::optional<Value>& v, const Value& offset_arg, const Value& length_arg) {
  if (!v) return Value::Str("");
  const int64_t offset = offset_arg.to_int();
  const bool has_length = !length_arg.is_undef();
  const int64_t length = has_length ? length_arg.to_int() : 0;
  if (v->is_array() || v->is_hash()) {
    std::vector<const Value*> items;
    if (v->is_array()) {
      for (const Value& e : v->as_array()) items.push_back(&e);
    } else {
      for (const auto& [key, value] : v->as_hash()) items.push_back(&value);
    }
    ValueArray out;
    if (const auto range = slice_range(items.size(), offset, has_length, length)) {
      for (size_t i = range->first; i < range->second; ++i) {
        out.push_back(Value::Str(items[i]->to_str()));
      }
    }
    return Value::Array(std::move(out));
  }
  const std::string text = v->to_str();
  const auto range = slice_range(char_count(text), offset, has_length, length);
  if (!range) return Value::Str("");
  // Walk to the two byte offsets rather than record every character's: a table of
  // offsets costs 8 bytes per byte of text (a gigabyte to slice a 64 MiB string).
  size_t first = text.size(), last = text.size();
  size_t i = 0;
  for (size_t k = 0; i < text.size(); ++k, i += char_len(text, i)) {
    if (k == range->first) first = i;
    if (k == range->second) {
      last = i;
      break;
    }
  }
  return Value::Str(text.substr(first, last - first));
}

int64_t length_of(const std::optional<Value>& v) {
  if (!v) return 0;
  if (v->is_array()) return static_cast<int64_t>(v->as_array().size());
  if (v->is_hash()) return static_cast<int64_t>(v->as_hash().size());
  return static_cast<int64_t>(char_count(v->to_str()));
}

}  // namespace

ParamResult expand_param(VarAccess& vars, std::string_view name, uint8_t mod,
                         const std::vector<Value>& args, size_t max_bytes) {
  std::optional<Value> v = vars.get(name);
  if (v && v->is_undef()) v.reset();
  // Missing args (a host called directly with too few) read as Undef, never out of range.
  const auto arg = [&](size_t i) { return i < args.size() ? args[i] : Value(); };
  const bool null = !v || v->to_str().empty();
  const auto text = [&] { return v ? v->to_str() : std::string(); };
  const auto str = [](std::string s) { return ParamResult{Value::Str(std::move(s)), {}}; };

  switch (mod) {
    case kDefault:
      return {null ? arg(0) : *v, {}};
    case kAssign:
      if (!null) return {*v, {}};
      vars.set(name, arg(0));
      return {arg(0), {}};
    case kError: {
      if (!null) return {*v, {}};
      const std::string word = arg(0).to_str();
      return {Value::Str(""),
              std::string(name) + ": " + (word.empty() ? "parameter null or not set" : word)};
    }
    case kAlternate:
      return {null ? Value::Str("") : arg(0), {}};
    case kLength:
      return {Value::Int(length_of(v)), {}};
    case kStripShort:
    case kStripLong:
      if (!v) return str("");
      return str(strip_prefix(text(), arg(0).to_str(), mod == kStripLong));
    case kRstripShort:
    case kRstripLong:
      if (!v) return str("");
      return str(strip_suffix(text(), arg(0).to_str(), mod == kRstripLong));
    case kSubstFirst:
    case kSubstAll: {
      if (!v) return str("");
      std::optional<std::string> out =
          substitute(text(), arg(0).to_str(), arg(1).to_str(), mod == kSubstAll, max_bytes);
      if (!out) {
        return {Value::Str(""), "limit exceeded: string size (" + std::to_string(max_bytes) + ")"};
      }
      return str(std::move(*out));
    }
    case kUpper:
    case kLower:
    case kUpperFirst:
    case kLowerFirst:
      return str(ascii_case(text(), mod == kUpper || mod == kUpperFirst,
                            mod == kUpperFirst || mod == kLowerFirst));
    case kIndirect: {
      if (!v) return str("");
      std::optional<Value> target = vars.get(v->to_str());
      if (!target || target->is_undef()) return str("");
      return {std::move(*target), {}};
    }
    case kKeys:
      return {keys_of(v), {}};
    case kSlice:
      return {slice_of(v, arg(0), arg(1)), {}};
    default:
      return {v ? *v : Value::Str(""), {}};
  }
}

}  // namespace fusevm::shell
