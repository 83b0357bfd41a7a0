// shell::brace_expand: bash brace expansion (comma lists, nesting, numeric and letter ranges).
//
// Follows bash's brace_expand: the first `{` that has a matching `}` and either a
// top-level comma or a valid sequence body splits the word into preamble, items and
// postscript; items and postscript are expanded on their own and combined. A `{` that
// qualifies for neither stays literal and the search goes on after it, so `{a}{b,c}`
// gives `{a}b {a}c` and `{a{b,c}}` gives `{ab} {ac}`, as in bash.
//
// Decisions (documented here because the VM has no quoting of its own):
// - Backslash-escaped characters and text inside '...' or "..." never delimit braces or
//   commas; the backslashes and quotes are kept in the output, because in a shell quote
//   removal is a later step (and glob still needs `\*`). A quote without its closing
//   partner is an ordinary character.
// - `${` starts a parameter expansion, not a brace expansion, and is skipped up to its
//   matching `}`, as bash does.
// - A sequence step's sign is ignored (`{1..10..-3}` is 1 4 7 10; the endpoints decide
//   the direction) and a zero step counts as 1, as in bash. Endpoints must fit in int64.
// - A brace is judged by its own top-level commas. bash instead turns any brace whose
//   body holds `..` and a comma at any depth into a list, so `{1..{2,3}}` gives
//   `1..2 1..3` there and `{1..2} {1..3}` here; this quirk is not reproduced.
// - Bad input must never exhaust memory: an expansion that would produce more than
//   kMaxWords words or kMaxBytes bytes, or nest deeper than kMaxDepth, is left as written.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fusevm/shell_expand.hpp"

namespace fusevm::shell {
namespace {

constexpr size_t kNone = std::string_view::npos;
constexpr size_t kMaxWords = size_t{1} << 20;
constexpr size_t kMaxBytes = size_t{1} << 26;
constexpr int kMaxDepth = 512;

using Words = std::vector<std::string>;
using Matches = std::unordered_map<size_t, size_t>;  // index of `{` -> index of its `}`

// Index of the quote closing the one at `i`, or kNone if it is never closed.
size_t closing_quote(std::string_view s, size_t i) {
  const char q = s[i];
  for (size_t j = i + 1; j < s.size(); ++j) {
    if (q == '"' && s[j] == '\\') {
      ++j;
    } else if (s[j] == q) {
      return j;
    }
  }
  return kNone;
}

// Index just past the token starting at `i`: an escaped character, a closed quoted span,
// or one character. Every scan below steps with this, so all agree on what is quoted.
size_t next_token(std::string_view s, size_t i) {
  if (s[i] == '\\') return std::min(i + 2, s.size());
  if (s[i] == '\'' || s[i] == '"') {
    const size_t close = closing_quote(s, i);
    return close == kNone ? i + 1 : close + 1;
  }
  return i + 1;
}

// Pairs every unquoted `{` with its `}` in one pass; an unmatched `{` has no entry.
Matches match_braces(std::string_view s) {
  Matches matches;
  std::vector<size_t> open;
  for (size_t i = 0; i < s.size(); i = next_token(s, i)) {
    if (s[i] == '{') {
      open.push_back(i);
    } else if (s[i] == '}' && !open.empty()) {
      matches.emplace(open.back(), i);
      open.pop_back();
    }
  }
  return matches;
}

// The next candidate `{` in [from, end), skipping `${...}`.
size_t find_open(std::string_view s, size_t from, size_t end, const Matches& matches) {
  for (size_t i = from; i < end;) {
    if (s[i] == '$' && i + 1 < end && s[i + 1] == '{') {
      const auto it = matches.find(i + 1);
      i = it == matches.end() ? i + 2 : it->second + 1;
      continue;
    }
    if (s[i] == '{') return i;
    i = next_token(s, i);
  }
  return kNone;
}

// Commas directly inside the braces at `open`..`close` (not inside nested braces).
std::vector<size_t> top_level_commas(std::string_view s, size_t open, size_t close,
                                     const Matches& matches) {
  std::vector<size_t> commas;
  for (size_t i = open + 1; i < close;) {
    if (s[i] == '{') {
      const auto it = matches.find(i);
      if (it != matches.end()) {
        i = it->second + 1;
        continue;
      }
    }
    if (s[i] == ',') commas.push_back(i);
    i = next_token(s, i);
  }
  return commas;
}

// An optionally signed decimal integer that fits int64; `padded` if it has a leading 0
// followed by more digits (bash's cue for zero padding).
bool parse_int(std::string_view t, int64_t& value, bool& padded) {
  bool negative = false;
  if (!t.empty() && (t.front() == '-' || t.front() == '+')) {
    negative = t.front() == '-';
    t.remove_prefix(1);
  }
  if (t.empty() || !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  uint64_t magnitude = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), magnitude);
  if (ec != std::errc() || end != t.data() + t.size()) return false;
  constexpr uint64_t kMaxPositive = static_cast<uint64_t>(INT64_MAX);
  if (magnitude > kMaxPositive + (negative ? 1 : 0)) return false;
  // Two's-complement negation in unsigned arithmetic, defined for INT64_MIN too.
  value = static_cast<int64_t>(negative ? 0 - magnitude : magnitude);
  padded = t.size() > 1 && t.front() == '0';
  return true;
}

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// A sequence body `x..y` or `x..y..step`.
struct Sequence {
  bool letters = false;
  int64_t first = 0, last = 0;
  uint64_t step = 1;  // magnitude only
  size_t width = 0;   // zero-padding width, 0 for none
};

// Longest valid sequence body: three signed 64-bit numbers and four dots. Checking it
// first keeps a long brace body from being searched for ".." again at every level.
constexpr size_t kMaxSequenceBody = 3 * 20 + 4;

std::optional<Sequence> parse_sequence(std::string_view body) {
  if (body.size() > kMaxSequenceBody) return std::nullopt;
  const size_t dots1 = body.find("..");
  if (dots1 == kNone) return std::nullopt;
  const std::string_view lhs = body.substr(0, dots1);
  std::string_view rhs = body.substr(dots1 + 2);
  std::string_view step_text;
  if (const size_t dots2 = rhs.find(".."); dots2 != kNone) {
    step_text = rhs.substr(dots2 + 2);
    rhs = rhs.substr(0, dots2);
    if (step_text.empty()) return std::nullopt;
  }
  Sequence seq;
  if (!step_text.empty()) {
    int64_t step = 0;
    bool unused = false;
    if (!parse_int(step_text, step, unused)) return std::nullopt;
    seq.step = step < 0 ? 0 - static_cast<uint64_t>(step) : static_cast<uint64_t>(step);
    if (seq.step == 0) seq.step = 1;
  }
  bool lhs_padded = false, rhs_padded = false;
  if (parse_int(lhs, seq.first, lhs_padded) && parse_int(rhs, seq.last, rhs_padded)) {
    if (lhs_padded || rhs_padded) seq.width = std::max(lhs.size(), rhs.size());
    return seq;
  }
  if (lhs.size() == 1 && rhs.size() == 1 && is_ascii_letter(lhs[0]) && is_ascii_letter(rhs[0])) {
    seq.letters = true;
    seq.first = static_cast<unsigned char>(lhs[0]);
    seq.last = static_cast<unsigned char>(rhs[0]);
    return seq;
  }
  return std::nullopt;
}

// printf("%0*lld", width, v): zeros go between the sign and the digits.
std::string format_padded(int64_t v, size_t width) {
  const uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  std::string digits = std::to_string(magnitude);
  const size_t sign = v < 0 ? 1 : 0;
  if (digits.size() + sign < width) digits.insert(0, width - digits.size() - sign, '0');
  return v < 0 ? "-" + digits : digits;
}

// The words of a sequence, or nullopt if there would be more than `max_words`.
std::optional<Words> generate(const Sequence& seq, size_t max_words) {
  const bool up = seq.first <= seq.last;
  const uint64_t span = up ? static_cast<uint64_t>(seq.last) - static_cast<uint64_t>(seq.first)
                           : static_cast<uint64_t>(seq.first) - static_cast<uint64_t>(seq.last);
  const uint64_t steps = span / seq.step;  // count - 1, so it cannot overflow
  if (steps >= max_words) return std::nullopt;
  Words out;
  out.reserve(steps + 1);
  for (uint64_t k = 0; k <= steps; ++k) {
    // Every term lies between the endpoints, so modular arithmetic gives the exact value.
    const uint64_t offset = k * seq.step;
    const auto v = static_cast<int64_t>(up ? static_cast<uint64_t>(seq.first) + offset
                                           : static_cast<uint64_t>(seq.first) - offset);
    if (seq.letters) {
      out.emplace_back(1, static_cast<char>(v));
    } else {
      out.push_back(format_padded(v, seq.width));
    }
  }
  return out;
}

size_t total_bytes(const Words& words) {
  size_t n = 0;
  for (const auto& w : words) n += w.size();
  return n;
}

// The word being expanded with its braces paired once. (Pairing every alternative and
// postscript again at each of up to kMaxDepth levels made long words quadratic: 100000
// `{1..1}` groups took over half a minute.) Pairing a range alone gives the pairs the
// whole word has inside it, because every range expand() works on is one where no pair
// of the word crosses the range's start or end from an opening brace inside: the whole
// word; an alternative, which lies between top-level commas of a pair's body; a
// postscript, which is a suffix of such a range. Quoted spans never cross those bounds
// either, since commas and braces inside quotes are not delimiters.
struct Word {
  std::string_view text;
  Matches matches;
};

// Expansion of w.text[begin, end) into at most `max_words` words, or nullopt when a limit
// is hit (the caller then keeps the input). The word budget is handed down, so an
// explosive product fails as soon as one factor exceeds its share instead of after
// building the others.
std::optional<Words> expand(const Word& w, size_t begin, size_t end, int depth, size_t max_words) {
  if (depth > kMaxDepth || max_words == 0) return std::nullopt;
  const std::string_view s = w.text.substr(begin, end - begin);
  if (s.find('{') == kNone) return Words{std::string(s)};
  for (size_t from = begin;;) {
    const size_t open = find_open(w.text, from, end, w.matches);
    if (open == kNone) return Words{std::string(s)};
    from = open + 1;
    const auto it = w.matches.find(open);
    if (it == w.matches.end()) continue;
    const size_t close = it->second;
    const std::vector<size_t> commas = top_level_commas(w.text, open, close, w.matches);
    Words items;
    if (!commas.empty()) {
      size_t start = open + 1;
      for (size_t k = 0; k <= commas.size(); ++k) {
        const size_t stop = k < commas.size() ? commas[k] : close;
        auto alt = expand(w, start, stop, depth + 1, max_words - items.size());
        if (!alt || items.size() + alt->size() > max_words) return std::nullopt;
        items.insert(items.end(), std::make_move_iterator(alt->begin()),
                     std::make_move_iterator(alt->end()));
        start = stop + 1;
      }
    } else if (auto seq = parse_sequence(w.text.substr(open + 1, close - open - 1))) {
      auto words = generate(*seq, max_words);
      if (!words) return std::nullopt;
      items = std::move(*words);
    } else {
      continue;
    }
    const auto posts = expand(w, close + 1, end, depth + 1, max_words / items.size());
    if (!posts) return std::nullopt;
    // Checked by division so the products themselves cannot overflow.
    const auto fits = [](size_t a, size_t b) { return b == 0 || a <= kMaxBytes / b; };
    if (posts->size() > max_words / items.size()) return std::nullopt;
    const size_t count = items.size() * posts->size();
    const size_t item_bytes = total_bytes(items), post_bytes = total_bytes(*posts);
    const size_t pre_bytes = open - begin;
    if (!fits(pre_bytes, count) || !fits(item_bytes, posts->size()) ||
        !fits(post_bytes, items.size()) ||
        pre_bytes * count + item_bytes * posts->size() + post_bytes * items.size() > kMaxBytes) {
      return std::nullopt;
    }
    const std::string_view pre = w.text.substr(begin, pre_bytes);
    Words out;
    out.reserve(count);
    for (const auto& item : items) {
      for (const auto& post : *posts) {
        std::string w;
        w.reserve(pre.size() + item.size() + post.size());
        w.append(pre).append(item).append(post);
        out.push_back(std::move(w));
      }
    }
    return out;
  }
}

}  // namespace

std::vector<std::string> brace_expand(std::string_view s) {
  if (s.find('{') == kNone) return {std::string(s)};
  const Word w{s, match_braces(s)};
  auto words = expand(w, 0, s.size(), 0, kMaxWords);
  if (!words) return {std::string(s)};
  return std::move(*words);
}

}  // namespace fusevm::shell
