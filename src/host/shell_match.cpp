// shell::pattern_match (fnmatch) and shell::regex_search (POSIX ERE with a per-thread cache).
#include <fnmatch.h>
#include <regex.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fusevm/shell_expand.hpp"

namespace fusevm::shell {
namespace {

constexpr std::string_view kNul("\0", 1);

// regcomp'd patterns, most recently used last. Small on purpose: a script uses a handful
// of distinct expressions, and a linear scan of a few entries beats hashing long ones.
constexpr size_t kRegexCacheSize = 16;

struct RegexFree {
  void operator()(regex_t* re) const {
    ::regfree(re);
    delete re;
  }
};
using RegexPtr = std::unique_ptr<regex_t, RegexFree>;

struct CachedRegex {
  std::string pattern;
  RegexPtr re;
};

// Compiled regex for `re`, or the regcomp error text. Only successful compilations are
// cached; an invalid expression is recompiled on each use, which is rare and cheap.
const regex_t* compiled(std::string_view re, std::string& error) {
  thread_local std::vector<CachedRegex> cache;
  for (size_t i = 0; i < cache.size(); ++i) {
    if (cache[i].pattern == re) {
      // Move to the back so the least recently used entry is evicted first.
      std::rotate(cache.begin() + static_cast<std::ptrdiff_t>(i),
                  cache.begin() + static_cast<std::ptrdiff_t>(i) + 1, cache.end());
      return cache.back().re.get();
    }
  }
  const std::string text(re);
  RegexPtr fresh(new regex_t{});
  const int rc = ::regcomp(fresh.get(), text.c_str(), REG_EXTENDED | REG_NOSUB);
  if (rc != 0) {
    char buf[256];
    ::regerror(rc, fresh.get(), buf, sizeof buf);
    error = buf;
    // regcomp leaves nothing to free on failure; release the struct only.
    delete fresh.release();
    return nullptr;
  }
  if (cache.size() == kRegexCacheSize) cache.erase(cache.begin());
  cache.push_back(CachedRegex{text, std::move(fresh)});
  return cache.back().re.get();
}

}  // namespace

bool pattern_match(std::string_view s, std::string_view pattern) {
  // fnmatch sees C strings: a NUL would silently cut either side short, so a string or
  // pattern holding one never matches.
  if (s.find(kNul) != std::string_view::npos || pattern.find(kNul) != std::string_view::npos) {
    return false;
  }
  return ::fnmatch(std::string(pattern).c_str(), std::string(s).c_str(), 0) == 0;
}

RegexResult regex_search(std::string_view s, std::string_view re) {
  RegexResult result;
  if (re.find(kNul) != std::string_view::npos) {
    result.error = "regular expression contains a NUL byte";
    return result;
  }
  std::string error;
  const regex_t* compiled_re = compiled(re, error);
  if (compiled_re == nullptr) {
    result.error = std::move(error);
    return result;
  }
  const std::string subject(s);
#ifdef REG_STARTEND
  if (subject.size() > static_cast<size_t>(std::numeric_limits<regoff_t>::max())) {
    result.error = "string too long for a regular expression match";
    return result;
  }
  // REG_STARTEND bounds the subject by length, so NUL bytes inside it are ordinary
  // characters instead of an early end.
  regmatch_t range[1];
  range[0].rm_so = 0;
  range[0].rm_eo = static_cast<regoff_t>(subject.size());
  result.matched = ::regexec(compiled_re, subject.c_str(), 1, range, REG_STARTEND) == 0;
#else
  // Without REG_STARTEND the subject would be cut at its first NUL: refuse to match.
  result.matched = subject.find('\0') == std::string::npos &&
                   ::regexec(compiled_re, subject.c_str(), 0, nullptr, 0) == 0;
#endif
  return result;
}

}  // namespace fusevm::shell
