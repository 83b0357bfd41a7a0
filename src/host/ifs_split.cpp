// shell::ifs_split: POSIX field splitting by IFS (XCU 2.6.5), byte by byte.
//
// IFS characters are bytes, as in dash and in bash under the C locale; a multibyte
// character in IFS splits on each of its bytes.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fusevm/shell_expand.hpp"

namespace fusevm::shell {
namespace {

constexpr std::string_view kDefaultIfs = " \t\n";

bool is_ifs_white(char c) { return c == ' ' || c == '\t' || c == '\n'; }

}  // namespace

std::vector<std::string> ifs_split(std::string_view s, const std::optional<std::string>& ifs) {
  const std::string_view delims = ifs ? std::string_view(*ifs) : kDefaultIfs;
  if (delims.empty()) {
    if (s.empty()) return {};
    return {std::string(s)};
  }
  const auto is_delim = [&](char c) { return delims.find(c) != std::string_view::npos; };
  const auto is_white = [&](char c) { return is_ifs_white(c) && is_delim(c); };
  const auto skip_white = [&](size_t i) {
    while (i < s.size() && is_white(s[i])) ++i;
    return i;
  };

  std::vector<std::string> fields;
  size_t i = skip_white(0);
  while (i < s.size()) {
    const size_t start = i;
    while (i < s.size() && !is_delim(s[i])) ++i;
    fields.emplace_back(s.substr(start, i - start));
    if (i == s.size()) break;
    // One delimiter is: IFS white space, optionally one non-white IFS character, and
    // the white space after it. A delimiter at the very end adds no empty field.
    if (is_white(s[i])) {
      i = skip_white(i);
      if (i < s.size() && is_delim(s[i]) && !is_white(s[i])) i = skip_white(i + 1);
    } else {
      i = skip_white(i + 1);
    }
  }
  return fields;
}

}  // namespace fusevm::shell
