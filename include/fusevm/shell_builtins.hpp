// Builtin id numbering for shell frontends (spec/host.md §5). The VM registers nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace fusevm::shell_builtins {

// Core
inline constexpr uint16_t BUILTIN_CD = 0, BUILTIN_PWD = 1, BUILTIN_ECHO = 2, BUILTIN_PRINT = 3,
    BUILTIN_PRINTF = 4, BUILTIN_EXPORT = 5, BUILTIN_UNSET = 6, BUILTIN_SOURCE = 7,
    BUILTIN_EXIT = 8, BUILTIN_RETURN = 9, BUILTIN_TRUE = 10, BUILTIN_FALSE = 11,
    BUILTIN_TEST = 12, BUILTIN_COLON = 13, BUILTIN_DOT = 14;
// Declarations
inline constexpr uint16_t BUILTIN_LOCAL = 20, BUILTIN_DECLARE = 21, BUILTIN_TYPESET = 22,
    BUILTIN_READONLY = 23, BUILTIN_INTEGER = 24, BUILTIN_FLOAT = 25;
// I/O
inline constexpr uint16_t BUILTIN_READ = 30, BUILTIN_MAPFILE = 31;
// Control
inline constexpr uint16_t BUILTIN_BREAK = 40, BUILTIN_CONTINUE = 41, BUILTIN_SHIFT = 42,
    BUILTIN_EVAL = 43, BUILTIN_EXEC = 44, BUILTIN_COMMAND = 45, BUILTIN_BUILTIN = 46,
    BUILTIN_LET = 47;
// Jobs
inline constexpr uint16_t BUILTIN_JOBS = 50, BUILTIN_FG = 51, BUILTIN_BG = 52,
    BUILTIN_KILL = 53, BUILTIN_DISOWN = 54, BUILTIN_WAIT = 55, BUILTIN_SUSPEND = 56;
// History
inline constexpr uint16_t BUILTIN_HISTORY = 60, BUILTIN_FC = 61, BUILTIN_R = 62;
// Aliases
inline constexpr uint16_t BUILTIN_ALIAS = 70, BUILTIN_UNALIAS = 71;
// Options
inline constexpr uint16_t BUILTIN_SET = 80, BUILTIN_SETOPT = 81, BUILTIN_UNSETOPT = 82,
    BUILTIN_SHOPT = 83, BUILTIN_EMULATE = 84, BUILTIN_GETOPTS = 85;
// Functions
inline constexpr uint16_t BUILTIN_AUTOLOAD = 90, BUILTIN_FUNCTIONS = 91,
    BUILTIN_UNFUNCTION = 92;
// Traps
inline constexpr uint16_t BUILTIN_TRAP = 100;
// Directory stack
inline constexpr uint16_t BUILTIN_PUSHD = 110, BUILTIN_POPD = 111, BUILTIN_DIRS = 112;
// Lookup
inline constexpr uint16_t BUILTIN_TYPE = 120, BUILTIN_WHENCE = 121, BUILTIN_WHERE = 122,
    BUILTIN_WHICH = 123, BUILTIN_HASH = 124, BUILTIN_REHASH = 125, BUILTIN_UNHASH = 126;
// Completion
inline constexpr uint16_t BUILTIN_COMPGEN = 130, BUILTIN_COMPLETE = 131,
    BUILTIN_COMPOPT = 132, BUILTIN_COMPADD = 133, BUILTIN_COMPSET = 134,
    BUILTIN_COMPDEF = 135, BUILTIN_COMPINIT = 136, BUILTIN_CDREPLAY = 137;
// Zsh
inline constexpr uint16_t BUILTIN_ZSTYLE = 140, BUILTIN_ZMODLOAD = 141, BUILTIN_BINDKEY = 142,
    BUILTIN_ZLE = 143, BUILTIN_VARED = 144, BUILTIN_ZCOMPILE = 145, BUILTIN_ZFORMAT = 146,
    BUILTIN_ZPARSEOPTS = 147, BUILTIN_ZREGEXPARSE = 148;
// Limits
inline constexpr uint16_t BUILTIN_ULIMIT = 150, BUILTIN_LIMIT = 151, BUILTIN_UNLIMIT = 152,
    BUILTIN_UMASK = 153;
// Misc
inline constexpr uint16_t BUILTIN_TIMES = 160, BUILTIN_CALLER = 161, BUILTIN_HELP = 162,
    BUILTIN_ENABLE = 163, BUILTIN_DISABLE = 164, BUILTIN_NOGLOB = 165, BUILTIN_TTYCTL = 166,
    BUILTIN_SYNC = 167, BUILTIN_MKDIR = 168, BUILTIN_STRFTIME = 169, BUILTIN_ZSLEEP = 170,
    BUILTIN_ZSYSTEM = 171;
// PCRE
inline constexpr uint16_t BUILTIN_PCRE_COMPILE = 180, BUILTIN_PCRE_MATCH = 181,
    BUILTIN_PCRE_STUDY = 182;
// GDBM
inline constexpr uint16_t BUILTIN_ZTIE = 190, BUILTIN_ZUNTIE = 191, BUILTIN_ZGDBMPATH = 192;
// Prompt
inline constexpr uint16_t BUILTIN_PROMPTINIT = 200, BUILTIN_PROMPT = 201;
// Async
inline constexpr uint16_t BUILTIN_ASYNC = 210, BUILTIN_AWAIT = 211, BUILTIN_PMAP = 212,
    BUILTIN_PGREP = 213, BUILTIN_PEACH = 214, BUILTIN_BARRIER = 215;
// Intercept
inline constexpr uint16_t BUILTIN_INTERCEPT = 220, BUILTIN_INTERCEPT_PROCEED = 221;
// Debug
inline constexpr uint16_t BUILTIN_DOCTOR = 230, BUILTIN_DBVIEW = 231, BUILTIN_PROFILE = 232,
    BUILTIN_ZPROF = 233;
// Coreutils
inline constexpr uint16_t BUILTIN_CAT = 240, BUILTIN_HEAD = 241, BUILTIN_TAIL = 242,
    BUILTIN_WC = 243, BUILTIN_BASENAME = 244, BUILTIN_DIRNAME = 245, BUILTIN_TOUCH = 246,
    BUILTIN_REALPATH = 247, BUILTIN_SORT = 248, BUILTIN_FIND = 249, BUILTIN_UNIQ = 250,
    BUILTIN_CUT = 251, BUILTIN_TR = 252, BUILTIN_SEQ = 253, BUILTIN_REV = 254,
    BUILTIN_TEE = 255, BUILTIN_SLEEP = 256, BUILTIN_WHOAMI = 257, BUILTIN_ID = 258,
    BUILTIN_HOSTNAME = 259, BUILTIN_UNAME = 260, BUILTIN_DATE = 261, BUILTIN_MKTEMP = 262;

/// Intended size of a pre-allocated handler table (ids <= 262 are used).
inline constexpr uint16_t BUILTIN_MAX = 280;

/// Id of a builtin name (exact, case-sensitive; aliases of spec/host.md §5.1), or nullopt.
std::optional<uint16_t> builtin_id(std::string_view name);
/// builtin_id(name) has a value.
bool is_builtin(std::string_view name);
/// Canonical lower-case name of an id ("cd", "pcre_match"), or empty if unassigned.
std::string_view builtin_name(uint16_t id);

}  // namespace fusevm::shell_builtins
