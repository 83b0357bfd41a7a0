// Shell expansions and matching used by DefaultHost, usable on their own by frontends.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fusevm/value.hpp"

namespace fusevm::shell {

/// Brace expansion as bash does it: comma lists `a{b,c}d`, nested braces, numeric
/// sequences `{1..10}`, `{10..1}`, `{01..10..2}` (zero padding taken from the wider
/// endpoint), letter sequences `{a..e}`, steps of either sign; `\{` and quoted-free
/// text stay literal; an unmatched or single-item brace (`{a}`, `{`) is left as written.
std::vector<std::string> brace_expand(std::string_view s);

/// Looks up a user's home directory (nullopt if there is no such user).
using HomeLookup = std::function<std::optional<std::string>(std::string_view user)>;
/// The system's lookup (getpwnam_r).
std::optional<std::string> passwd_home(std::string_view user);
/// Tilde expansion of a word: a leading `~` (up to the first `/`) becomes `home`
/// (unchanged word if `home` is nullopt), `~user` the user's home via `lookup`;
/// an unknown user leaves the word unchanged. Only the word's start is expanded.
std::string tilde_expand(std::string_view word, const std::optional<std::string>& home,
                         const HomeLookup& lookup = passwd_home);

/// POSIX field splitting of `s` by `ifs` (nullopt = unset IFS = " \t\n"): IFS
/// whitespace runs separate fields and are trimmed at both ends; each non-whitespace
/// IFS character delimits exactly one field (so "a,,b" with IFS="," gives a, "", b);
/// an empty IFS performs no splitting (one field, none if `s` is empty).
std::vector<std::string> ifs_split(std::string_view s, const std::optional<std::string>& ifs);

/// Shell pattern match (fnmatch without flags: `*`, `?`, `[...]`, `[!...]`, `\x`).
bool pattern_match(std::string_view s, std::string_view pattern);

/// Result of a regular-expression match.
struct RegexResult {
  bool matched = false;               ///< true if `re` matches somewhere in the string
  std::optional<std::string> error;   ///< regcomp's message for an invalid expression
};
/// POSIX extended regular expression search (regcomp REG_EXTENDED; compiled patterns
/// are cached per thread).
RegexResult regex_search(std::string_view s, std::string_view re);

/// Options for shell_glob.
struct GlobOptions {
  bool dotglob = false;  ///< wildcards match a leading `.` (never `.` or `..` themselves)
};
/// Filesystem glob with shell rules: `*`, `?`, `[...]`, `[!...]`, `**` (any depth,
/// directories only when last), sorted byte-wise per level; a leading `.` in a name must
/// be matched explicitly unless `dotglob`; a pattern without wildcards yields itself
/// only if the path exists; no match gives an empty list.
std::vector<std::string> shell_glob(std::string_view pattern, const GlobOptions& options = {});

/// Variable access for expand_param (DefaultHost resolves VM globals, then its table).
class VarAccess {
 public:
  virtual ~VarAccess();
  /// The value of `name`, nullopt if unset.
  virtual std::optional<Value> get(std::string_view name) = 0;
  /// Assign `name` (used by ASSIGN).
  virtual void set(std::string_view name, Value v) = 0;
};

/// What ExpandParam produced.
struct ParamResult {
  Value value;                        ///< pushed by the VM
  std::optional<std::string> error;   ///< set by ERROR (`${v:?w}`) when v is unset or empty,
                                      ///< or when a result would exceed `max_bytes`
};
/// Parameter expansion for a param_mod code (spec/ops.md §21.3) with its args in push
/// order. Scalars are to_str of the value; an Array variable counts its elements for
/// LENGTH, gives its indices for KEYS and its elements for SLICE; patterns of the
/// STRIP and SUBST mods are shell patterns; SLICE offsets may be negative (from the
/// end); unknown codes give the plain value (Str "" if unset). A SUBST result longer than
/// `max_bytes` is never built: Str "" and the error "limit exceeded: string size (N)".
ParamResult expand_param(VarAccess& vars, std::string_view name, uint8_t mod,
                         const std::vector<Value>& args, size_t max_bytes = SIZE_MAX);

}  // namespace fusevm::shell
