// Builtin name <-> id lookup for shell frontends (spec/host.md §5).
#include "fusevm/shell_builtins.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace fusevm::shell_builtins {

namespace {

using Entry = std::pair<std::string_view, uint16_t>;

// Every name builtin_id accepts (host.md §5.1). Aliases deliberately send "." to SOURCE
// (7) and "declare" to TYPESET (22), so DOT (14) and DECLARE (21) are never returned;
// "colon" and "dot" are not names.
constexpr Entry kNames[] = {
    {"cd", BUILTIN_CD}, {"chdir", BUILTIN_CD}, {"pwd", BUILTIN_PWD}, {"echo", BUILTIN_ECHO},
    {"print", BUILTIN_PRINT}, {"printf", BUILTIN_PRINTF}, {"export", BUILTIN_EXPORT},
    {"unset", BUILTIN_UNSET}, {"source", BUILTIN_SOURCE}, {".", BUILTIN_SOURCE},
    {"exit", BUILTIN_EXIT}, {"bye", BUILTIN_EXIT}, {"logout", BUILTIN_EXIT},
    {"return", BUILTIN_RETURN}, {"true", BUILTIN_TRUE}, {"false", BUILTIN_FALSE},
    {"test", BUILTIN_TEST}, {"[", BUILTIN_TEST}, {":", BUILTIN_COLON},
    {"local", BUILTIN_LOCAL}, {"declare", BUILTIN_TYPESET}, {"typeset", BUILTIN_TYPESET},
    {"readonly", BUILTIN_READONLY}, {"integer", BUILTIN_INTEGER}, {"float", BUILTIN_FLOAT},
    {"read", BUILTIN_READ}, {"mapfile", BUILTIN_MAPFILE}, {"readarray", BUILTIN_MAPFILE},
    {"break", BUILTIN_BREAK}, {"continue", BUILTIN_CONTINUE}, {"shift", BUILTIN_SHIFT},
    {"eval", BUILTIN_EVAL}, {"exec", BUILTIN_EXEC}, {"command", BUILTIN_COMMAND},
    {"builtin", BUILTIN_BUILTIN}, {"let", BUILTIN_LET},
    {"jobs", BUILTIN_JOBS}, {"fg", BUILTIN_FG}, {"bg", BUILTIN_BG}, {"kill", BUILTIN_KILL},
    {"disown", BUILTIN_DISOWN}, {"wait", BUILTIN_WAIT}, {"suspend", BUILTIN_SUSPEND},
    {"history", BUILTIN_HISTORY}, {"fc", BUILTIN_FC}, {"r", BUILTIN_R},
    {"alias", BUILTIN_ALIAS}, {"unalias", BUILTIN_UNALIAS},
    {"set", BUILTIN_SET}, {"setopt", BUILTIN_SETOPT}, {"unsetopt", BUILTIN_UNSETOPT},
    {"shopt", BUILTIN_SHOPT}, {"emulate", BUILTIN_EMULATE}, {"getopts", BUILTIN_GETOPTS},
    {"autoload", BUILTIN_AUTOLOAD}, {"functions", BUILTIN_FUNCTIONS},
    {"unfunction", BUILTIN_UNFUNCTION}, {"trap", BUILTIN_TRAP},
    {"pushd", BUILTIN_PUSHD}, {"popd", BUILTIN_POPD}, {"dirs", BUILTIN_DIRS},
    {"type", BUILTIN_TYPE}, {"whence", BUILTIN_WHENCE}, {"where", BUILTIN_WHERE},
    {"which", BUILTIN_WHICH}, {"hash", BUILTIN_HASH}, {"rehash", BUILTIN_REHASH},
    {"unhash", BUILTIN_UNHASH},
    {"compgen", BUILTIN_COMPGEN}, {"complete", BUILTIN_COMPLETE}, {"compopt", BUILTIN_COMPOPT},
    {"compadd", BUILTIN_COMPADD}, {"compset", BUILTIN_COMPSET}, {"compdef", BUILTIN_COMPDEF},
    {"compinit", BUILTIN_COMPINIT}, {"cdreplay", BUILTIN_CDREPLAY},
    {"zstyle", BUILTIN_ZSTYLE}, {"zmodload", BUILTIN_ZMODLOAD}, {"bindkey", BUILTIN_BINDKEY},
    {"bind", BUILTIN_BINDKEY}, {"zle", BUILTIN_ZLE}, {"vared", BUILTIN_VARED},
    {"zcompile", BUILTIN_ZCOMPILE}, {"zformat", BUILTIN_ZFORMAT},
    {"zparseopts", BUILTIN_ZPARSEOPTS}, {"zregexparse", BUILTIN_ZREGEXPARSE},
    {"ulimit", BUILTIN_ULIMIT}, {"limit", BUILTIN_LIMIT}, {"unlimit", BUILTIN_UNLIMIT},
    {"umask", BUILTIN_UMASK},
    {"times", BUILTIN_TIMES}, {"caller", BUILTIN_CALLER}, {"help", BUILTIN_HELP},
    {"enable", BUILTIN_ENABLE}, {"disable", BUILTIN_DISABLE}, {"noglob", BUILTIN_NOGLOB},
    {"ttyctl", BUILTIN_TTYCTL}, {"sync", BUILTIN_SYNC}, {"mkdir", BUILTIN_MKDIR},
    {"strftime", BUILTIN_STRFTIME}, {"zsleep", BUILTIN_ZSLEEP}, {"zsystem", BUILTIN_ZSYSTEM},
    {"pcre_compile", BUILTIN_PCRE_COMPILE}, {"pcre_match", BUILTIN_PCRE_MATCH},
    {"pcre_study", BUILTIN_PCRE_STUDY},
    {"ztie", BUILTIN_ZTIE}, {"zuntie", BUILTIN_ZUNTIE}, {"zgdbmpath", BUILTIN_ZGDBMPATH},
    {"promptinit", BUILTIN_PROMPTINIT}, {"prompt", BUILTIN_PROMPT},
    {"async", BUILTIN_ASYNC}, {"await", BUILTIN_AWAIT}, {"pmap", BUILTIN_PMAP},
    {"pgrep", BUILTIN_PGREP}, {"peach", BUILTIN_PEACH}, {"barrier", BUILTIN_BARRIER},
    {"intercept", BUILTIN_INTERCEPT}, {"intercept_proceed", BUILTIN_INTERCEPT_PROCEED},
    {"doctor", BUILTIN_DOCTOR}, {"dbview", BUILTIN_DBVIEW}, {"profile", BUILTIN_PROFILE},
    {"zprof", BUILTIN_ZPROF},
    {"cat", BUILTIN_CAT}, {"head", BUILTIN_HEAD}, {"tail", BUILTIN_TAIL}, {"wc", BUILTIN_WC},
    {"basename", BUILTIN_BASENAME}, {"dirname", BUILTIN_DIRNAME}, {"touch", BUILTIN_TOUCH},
    {"realpath", BUILTIN_REALPATH}, {"sort", BUILTIN_SORT}, {"find", BUILTIN_FIND},
    {"uniq", BUILTIN_UNIQ}, {"cut", BUILTIN_CUT}, {"tr", BUILTIN_TR}, {"seq", BUILTIN_SEQ},
    {"rev", BUILTIN_REV}, {"tee", BUILTIN_TEE}, {"sleep", BUILTIN_SLEEP},
    {"whoami", BUILTIN_WHOAMI}, {"id", BUILTIN_ID}, {"hostname", BUILTIN_HOSTNAME},
    {"uname", BUILTIN_UNAME}, {"date", BUILTIN_DATE}, {"mktemp", BUILTIN_MKTEMP},
};
constexpr size_t kNumNames = sizeof(kNames) / sizeof(kNames[0]);

using SortedNames = std::array<Entry, kNumNames>;

SortedNames sorted_names() {
  SortedNames s{};
  std::copy(std::begin(kNames), std::end(kNames), s.begin());
  std::sort(s.begin(), s.end());
  return s;
}

// Canonical name per id: what a user types. DOT and COLON have no word names, so they
// give "." and ":"; DECLARE gives "declare" although builtin_id("declare") is TYPESET.
std::array<std::string_view, BUILTIN_MAX> canonical_names() {
  std::array<std::string_view, BUILTIN_MAX> c{};
  // First listed name of each id wins ("cd" over "chdir", "source" over ".").
  for (auto it = std::rbegin(kNames); it != std::rend(kNames); ++it) c[it->second] = it->first;
  c[BUILTIN_DOT] = ".";
  c[BUILTIN_DECLARE] = "declare";
  c[BUILTIN_TYPESET] = "typeset";
  return c;
}

}  // namespace

std::optional<uint16_t> builtin_id(std::string_view name) {
  static const SortedNames names = sorted_names();
  auto it = std::lower_bound(names.begin(), names.end(), name,
                             [](const Entry& e, std::string_view n) { return e.first < n; });
  if (it == names.end() || it->first != name) return std::nullopt;
  return it->second;
}

bool is_builtin(std::string_view name) { return builtin_id(name).has_value(); }

std::string_view builtin_name(uint16_t id) {
  static const auto names = canonical_names();
  return id < names.size() ? names[id] : std::string_view{};
}

}  // namespace fusevm::shell_builtins
