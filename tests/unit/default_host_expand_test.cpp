// DefaultHost: expansions forwarded to fusevm::shell with the host's variables and options.
#include <string>

#include "default_host_test_util.hpp"

namespace fusevm_test {
namespace {

Value strs(std::initializer_list<std::string> xs) {
  ValueArray a;
  for (const std::string& x : xs) a.push_back(Value::Str(x));
  return Value::Array(std::move(a));
}

TEST(DefaultHostExpand, GlobFollowsShellRulesAndTheDotglobOption) {
  TempDir dir;
  spit(dir / "b.txt", "");
  spit(dir / "a.txt", "");
  spit(dir / ".hidden.txt", "");
  ::mkdir((dir / "sub").c_str(), 0755);
  spit(dir / "sub/c.txt", "");
  const std::string text = "  LoadConst " + q(dir / "*.txt") + "\n  Glob\n  LoadConst " +
                           q(dir / "**/*.txt") + "\n  GlobRecursive\n  MakeArray 2\n";
  HostedVM h = hosted(text);
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()),
            R(Value::Array({strs({dir / "a.txt", dir / "b.txt"}),
                            strs({dir / "a.txt", dir / "b.txt", dir / "sub/c.txt"})})));
  HostedVM d = hosted("  LoadConst " + q(dir / "*.txt") + "\n  Glob\n",
                      DefaultHostOptions{.dotglob = true});
  r = d.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(strs({dir / ".hidden.txt", dir / "a.txt", dir / "b.txt"})));
}

TEST(DefaultHostExpand, TildeUsesHomeFromTheProgramThenTheTable) {
  HostedVM h = hosted(".name \"HOME\"\n  LoadConst \"~/code\"\n  TildeExpand\n"
                      "  LoadConst \"/from/global\"\n  SetVar @HOME\n"
                      "  LoadConst \"~/code\"\n  TildeExpand\n  MakeArray 2\n",
                      DefaultHostOptions{.seed_environ = false});
  h.host->vars().set("HOME", Value::Str("/from/table"));
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(strs({"/from/table/code", "/from/global/code"})));
}

TEST(DefaultHostExpand, BraceExpansionIsForwarded) {
  HostedVM h = hosted("  LoadConst \"a{b,c}d{1..3}\"\n  BraceExpand\n");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(strs({"abd1", "abd2", "abd3", "acd1", "acd2", "acd3"})));
}

TEST(DefaultHostExpand, WordSplitUsesIfs) {
  HostedVM h = hosted(".name \"IFS\"\n  LoadConst \" a  b\\tc \"\n  WordSplit\n"
                      "  LoadConst \",\"\n  SetVar @IFS\n"
                      "  LoadConst \"x,,y z\"\n  WordSplit\n  MakeArray 2\n",
                      DefaultHostOptions{.seed_environ = false});
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Array({strs({"a", "b", "c"}), strs({"x", "", "y z"})})));
}

TEST(DefaultHostExpand, ExpandParamReadsAndAssignsThroughTheHost) {
  HostedVM h = hosted(R"(
.name "v"
.name "unset_in_pool"
  LoadConst "v"
  ExpandParam LENGTH
  LoadConst "unset_in_pool"
  LoadConst "dflt"
  ExpandParam ASSIGN
  GetVar @unset_in_pool
  LoadConst "TABLE_ONLY"
  LoadConst "tbl"
  ExpandParam ASSIGN
  MakeArray 4
)",
                      DefaultHostOptions{.seed_environ = false});
  h.host->vars().set("v", Value::Str("hello"));
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Int(5), Value::Str("dflt"), Value::Str("dflt"),
                                          Value::Str("tbl")})));
  ASSERT_NE(h.host->vars().get("TABLE_ONLY"), nullptr);
  EXPECT_EQ(R(*h.host->vars().get("TABLE_ONLY")), R(Value::Str("tbl")));
  EXPECT_EQ(h.host->vars().get("unset_in_pool"), nullptr);  // went to the global
}

TEST(DefaultHostExpand, ExpandParamErrorStopsTheRun) {
  HostedVM h = hosted("  LoadConst \"missing\"\n  LoadConst \"is required\"\n  ExpandParam ERROR\n",
                      DefaultHostOptions{.seed_environ = false});
  VMResult r = h.run();
  ASSERT_TRUE(r.is_error()) << r.repr();
  EXPECT_EQ(r.error().message, "missing: is required");
}

TEST(DefaultHostExpand, StrMatchAndRegexMatch) {
  HostedVM h = hosted(R"(
  LoadConst "hello.rs"
  LoadConst "*.rs"
  StrMatch
  LoadConst "hello.rs"
  LoadConst "h?llo.[!c]s"
  StrMatch
  LoadConst "hello.rs"
  LoadConst "*.c"
  StrMatch
  LoadConst "abbbc"
  LoadConst "^ab+c$"
  RegexMatch
  LoadConst "abc"
  LoadConst "x|y"
  RegexMatch
  MakeArray 5
)");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Bool(true), Value::Bool(true), Value::Bool(false),
                                          Value::Bool(true), Value::Bool(false)})));
}

TEST(DefaultHostExpand, InvalidRegexIsAnError) {
  HostedVM h = hosted("  LoadConst \"abc\"\n  LoadConst \"(unclosed\"\n  RegexMatch\n");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_error()) << r.repr();
  EXPECT_EQ(r.error().message.rfind("invalid regex '(unclosed': ", 0), 0u) << r.error().message;
}

}  // namespace
}  // namespace fusevm_test
