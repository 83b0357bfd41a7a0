// Unit tests for shell_builtins: name lookup, aliases (host.md §5.1) and canonical names.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

#include "fusevm/shell_builtins.hpp"

using namespace fusevm::shell_builtins;

TEST(ShellBuiltins, LookupMatchesReferenceTest) {
  EXPECT_EQ(builtin_id("cd"), BUILTIN_CD);
  EXPECT_EQ(builtin_id("chdir"), BUILTIN_CD);
  EXPECT_EQ(builtin_id("echo"), BUILTIN_ECHO);
  EXPECT_EQ(builtin_id("typeset"), BUILTIN_TYPESET);
  EXPECT_EQ(builtin_id("declare"), BUILTIN_TYPESET);
  EXPECT_EQ(builtin_id("ls"), std::nullopt);
  EXPECT_EQ(builtin_id("grep"), std::nullopt);
}

TEST(ShellBuiltins, IsBuiltinMatchesReferenceTest) {
  for (const char* n : {"cd", "export", "cat", "head", "tail", "sort", "find"}) {
    EXPECT_TRUE(is_builtin(n)) << n;
  }
  EXPECT_FALSE(is_builtin("ls"));
}

TEST(ShellBuiltins, AliasesMapToSpecIds) {
  EXPECT_EQ(builtin_id("source"), 7);
  EXPECT_EQ(builtin_id("."), 7);
  EXPECT_EQ(builtin_id("exit"), 8);
  EXPECT_EQ(builtin_id("bye"), 8);
  EXPECT_EQ(builtin_id("logout"), 8);
  EXPECT_EQ(builtin_id("test"), 12);
  EXPECT_EQ(builtin_id("["), 12);
  EXPECT_EQ(builtin_id(":"), 13);
  EXPECT_EQ(builtin_id("declare"), 22);
  EXPECT_EQ(builtin_id("typeset"), 22);
  EXPECT_EQ(builtin_id("mapfile"), 31);
  EXPECT_EQ(builtin_id("readarray"), 31);
  EXPECT_EQ(builtin_id("bindkey"), 142);
  EXPECT_EQ(builtin_id("bind"), 142);
}

TEST(ShellBuiltins, DotAndDeclareIdsAreNeverReturned) {
  for (const char* n : {"dot", "colon", ".", "declare", "DOT", "DECLARE"}) {
    auto id = builtin_id(n);
    EXPECT_NE(id, std::optional<uint16_t>(BUILTIN_DOT)) << n;
    EXPECT_NE(id, std::optional<uint16_t>(BUILTIN_DECLARE)) << n;
  }
  EXPECT_FALSE(builtin_id("dot").has_value());
  EXPECT_FALSE(builtin_id("colon").has_value());
}

TEST(ShellBuiltins, LookupIsExactAndCaseSensitive) {
  for (const char* n : {"Cd", "CD", "cd ", " cd", "", "echo\n", "[[", "..", "pcre-match"}) {
    EXPECT_FALSE(builtin_id(n).has_value()) << '"' << n << '"';
    EXPECT_FALSE(is_builtin(n));
  }
}

TEST(ShellBuiltins, EveryListedNameMapsToItsId) {
  // host.md §5.1 "Full name list", each with the id of its BUILTIN_ constant.
  const std::pair<const char*, uint16_t> names[] = {
      {"pwd", 1}, {"echo", 2}, {"print", 3}, {"printf", 4}, {"export", 5}, {"unset", 6},
      {"return", 9}, {"true", 10}, {"false", 11}, {"local", 20}, {"readonly", 23},
      {"integer", 24}, {"float", 25}, {"read", 30}, {"break", 40}, {"continue", 41},
      {"shift", 42}, {"eval", 43}, {"exec", 44}, {"command", 45}, {"builtin", 46},
      {"let", 47}, {"jobs", 50}, {"fg", 51}, {"bg", 52}, {"kill", 53}, {"disown", 54},
      {"wait", 55}, {"suspend", 56}, {"history", 60}, {"fc", 61}, {"r", 62}, {"alias", 70},
      {"unalias", 71}, {"set", 80}, {"setopt", 81}, {"unsetopt", 82}, {"shopt", 83},
      {"emulate", 84}, {"getopts", 85}, {"autoload", 90}, {"functions", 91},
      {"unfunction", 92}, {"trap", 100}, {"pushd", 110}, {"popd", 111}, {"dirs", 112},
      {"type", 120}, {"whence", 121}, {"where", 122}, {"which", 123}, {"hash", 124},
      {"rehash", 125}, {"unhash", 126}, {"compgen", 130}, {"complete", 131},
      {"compopt", 132}, {"compadd", 133}, {"compset", 134}, {"compdef", 135},
      {"compinit", 136}, {"cdreplay", 137}, {"zstyle", 140}, {"zmodload", 141},
      {"zle", 143}, {"vared", 144}, {"zcompile", 145}, {"zformat", 146},
      {"zparseopts", 147}, {"zregexparse", 148}, {"ulimit", 150}, {"limit", 151},
      {"unlimit", 152}, {"umask", 153}, {"times", 160}, {"caller", 161}, {"help", 162},
      {"enable", 163}, {"disable", 164}, {"noglob", 165}, {"ttyctl", 166}, {"sync", 167},
      {"mkdir", 168}, {"strftime", 169}, {"zsleep", 170}, {"zsystem", 171},
      {"pcre_compile", 180}, {"pcre_match", 181}, {"pcre_study", 182}, {"ztie", 190},
      {"zuntie", 191}, {"zgdbmpath", 192}, {"promptinit", 200}, {"prompt", 201},
      {"async", 210}, {"await", 211}, {"pmap", 212}, {"pgrep", 213}, {"peach", 214},
      {"barrier", 215}, {"intercept", 220}, {"intercept_proceed", 221}, {"doctor", 230},
      {"dbview", 231}, {"profile", 232}, {"zprof", 233}, {"cat", 240}, {"head", 241},
      {"tail", 242}, {"wc", 243}, {"basename", 244}, {"dirname", 245}, {"touch", 246},
      {"realpath", 247}, {"sort", 248}, {"find", 249}, {"uniq", 250}, {"cut", 251},
      {"tr", 252}, {"seq", 253}, {"rev", 254}, {"tee", 255}, {"sleep", 256},
      {"whoami", 257}, {"id", 258}, {"hostname", 259}, {"uname", 260}, {"date", 261},
      {"mktemp", 262},
  };
  EXPECT_EQ(std::size(names), 129u);
  for (const auto& [name, id] : names) {
    EXPECT_EQ(builtin_id(name), std::optional<uint16_t>(id)) << name;
    EXPECT_TRUE(is_builtin(name)) << name;
  }
}

TEST(ShellBuiltins, ConstantsSpotCheck) {
  EXPECT_EQ(BUILTIN_PCRE_MATCH, 181);
  EXPECT_EQ(BUILTIN_INTERCEPT_PROCEED, 221);
  EXPECT_EQ(BUILTIN_MKTEMP, 262);
  EXPECT_EQ(BUILTIN_MAX, 280);
}

TEST(ShellBuiltins, BuiltinNameGivesCanonicalNames) {
  EXPECT_EQ(builtin_name(BUILTIN_CD), "cd");
  EXPECT_EQ(builtin_name(BUILTIN_PCRE_MATCH), "pcre_match");
  EXPECT_EQ(builtin_name(BUILTIN_SOURCE), "source");
  EXPECT_EQ(builtin_name(BUILTIN_EXIT), "exit");
  EXPECT_EQ(builtin_name(BUILTIN_TEST), "test");
  EXPECT_EQ(builtin_name(BUILTIN_COLON), ":");
  EXPECT_EQ(builtin_name(BUILTIN_DOT), ".");
  EXPECT_EQ(builtin_name(BUILTIN_DECLARE), "declare");
  EXPECT_EQ(builtin_name(BUILTIN_TYPESET), "typeset");
  EXPECT_EQ(builtin_name(BUILTIN_MAPFILE), "mapfile");
  EXPECT_EQ(builtin_name(BUILTIN_BINDKEY), "bindkey");
}

TEST(ShellBuiltins, BuiltinNameIsEmptyForUnassignedIds) {
  for (uint16_t id : {15, 19, 26, 63, 138, 263, 279, 280, 65535}) {
    EXPECT_EQ(builtin_name(id), "") << id;
  }
}

TEST(ShellBuiltins, BuiltinNameRoundTripsExceptDotAndDeclare) {
  size_t assigned = 0;
  for (uint16_t id = 0; id < BUILTIN_MAX; ++id) {
    std::string_view n = builtin_name(id);
    if (n.empty()) continue;
    ++assigned;
    if (id == BUILTIN_DOT || id == BUILTIN_DECLARE) continue;
    EXPECT_EQ(builtin_id(n), std::optional<uint16_t>(id)) << n;
  }
  EXPECT_EQ(assigned, 139u) << "every BUILTIN_ constant has a name";
}
