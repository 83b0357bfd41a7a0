// shell::shell_glob: filesystem glob with shell rules (fnmatch per component, hidden dotfiles).
//
// The directory walk is the one fs_glob uses (host/glob_walk.hpp); only the component
// matcher and the policies differ. Shell rules, as bash with globstar and without
// dotglob: a leading '.' must be matched by a literal '.' (fnmatch's FNM_PERIOD), `**`
// neither enters nor yields hidden directories and does not descend through symlinks
// (bash >= 4.3, which also keeps `**` from looping), backslash escapes a character, and
// `*/` yields directories with their trailing '/' as a shell prints them.
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fusevm/shell_expand.hpp"
#include "host/glob_walk.hpp"

namespace fusevm::shell {
namespace {

// True if `text` has an unescaped `*`, `?` or `[`.
bool has_wildcard(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '*' || text[i] == '?' || text[i] == '[') {
      return true;
    }
  }
  return false;
}

// Quote removal of backslashes: a literal component names the entry without them. A
// trailing lone backslash stays, as fnmatch would match it literally.
std::string unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) ++i;
    out.push_back(text[i]);
  }
  return out;
}

glob_walk::ComponentParser shell_parser(bool dotglob) {
  const int flags = dotglob ? 0 : FNM_PERIOD;
  return [flags](std::string text) -> std::optional<glob_walk::Component> {
    glob_walk::Component c;
    // Compared by characters: GCC 12 reports a false -Wmaybe-uninitialized for
    // `text == "**"` after inlining (the same family as GCC bug 105329).
    if (text.size() == 2 && text[0] == '*' && text[1] == '*') {
      c.recursive = true;
      c.literal = false;
      return c;
    }
    if (!has_wildcard(text)) {
      c.text = unescape(text);
      return c;
    }
    c.literal = false;
    c.match = [pattern = std::move(text), flags](const std::string& name) {
      return ::fnmatch(pattern.c_str(), name.c_str(), flags) == 0;
    };
    return c;
  };
}

}  // namespace

std::vector<std::string> shell_glob(std::string_view pattern, const GlobOptions& options) {
  // A NUL cannot be part of a path; refusing it beats matching a truncated pattern.
  if (pattern.empty() || pattern.find('\0') != std::string_view::npos) return {};
  const auto comps = glob_walk::split_pattern(pattern, shell_parser(options.dotglob));
  if (!comps) return {};
  const bool any_wildcard = std::any_of(comps->begin(), comps->end(),
                                        [](const glob_walk::Component& c) { return !c.literal; });
  if (!any_wildcard) {
    // The path as the shell would name it after quote removal, if it exists.
    std::string path = unescape(pattern);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) return {std::move(path)};
    return {};
  }
  glob_walk::WalkOptions walk_options;
  walk_options.require_dir = pattern.back() == '/';
  walk_options.trailing_slash = true;
  walk_options.hidden_in_recursion = options.dotglob;
  walk_options.follow_links_in_recursion = false;
  return glob_walk::walk(*comps, pattern.front() == '/' ? "/" : "", walk_options);
}

}  // namespace fusevm::shell
