// Directory walker shared by fs_glob (spec rules) and shell::shell_glob (shell rules).
//
// The two globs differ only in how one name is matched against one component and in a
// few policies (leading dots under `**`, symlinks under `**`, a trailing '/'); splitting
// the pattern, listing directories in byte order and walking `**` are the same, so they
// live here once and each front end supplies its component parser and options.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fusevm::glob_walk {

/// Matches one directory entry name against a wildcard component.
using NameMatcher = std::function<bool(const std::string& name)>;

/// One '/'-separated component of a glob pattern.
struct Component {
  std::string text;        ///< the entry name to use verbatim when `literal`
  bool recursive = false;  ///< the whole component is `**`
  bool literal = true;     ///< no wildcard: joined to the path without listing the directory
  NameMatcher match;       ///< the matcher of a wildcard (non-literal, non-recursive) component
};

/// Compiles one component's text; nullopt makes the whole pattern invalid.
using ComponentParser = std::function<std::optional<Component>(std::string text)>;

/// Splits `pattern` at '/' (empty components dropped, `**/**` collapsed into one `**`)
/// and compiles each component with `parse`; nullopt if any component is invalid.
std::optional<std::vector<Component>> split_pattern(std::string_view pattern,
                                                    const ComponentParser& parse);

/// Policies that differ between the spec's glob and the shell's.
struct WalkOptions {
  bool require_dir = false;               ///< only directories match (pattern ended in '/')
  bool trailing_slash = false;            ///< with require_dir, results keep a final '/'
  bool hidden_in_recursion = true;        ///< `**` enters and yields names starting with '.'
  bool follow_links_in_recursion = true;  ///< `**` descends through symlinked directories
};

/// Every path matching `comps` below `root` ("" = the current directory, "/" = absolute),
/// sorted byte-wise per directory level. Unreadable directories contribute nothing.
std::vector<std::string> walk(const std::vector<Component>& comps, const std::string& root,
                              const WalkOptions& options);

}  // namespace fusevm::glob_walk
