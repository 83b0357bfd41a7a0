// Tests for the shell expansions of shell_expand.hpp (brace, tilde, IFS, patterns, regex,
// parameter expansion, shell-rules glob).
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fusevm/shell_expand.hpp"

namespace fusevm::shell {
namespace {

using Strings = std::vector<std::string>;
using std::string_literals::operator""s;

// -- Brace expansion ----------------------------------------------------------------

TEST(ShellExpandBrace, CommaListWithPreambleAndPostscript) {
  EXPECT_EQ(brace_expand("a{b,c,d}e"), (Strings{"abe", "ace", "ade"}));
}

TEST(ShellExpandBrace, NestedBracesExpandInsideOut) {
  EXPECT_EQ(brace_expand("a{b,c{d,e}}f"), (Strings{"abf", "acdf", "acef"}));
}

TEST(ShellExpandBrace, AdjacentGroupsFormTheProductInOrder) {
  EXPECT_EQ(brace_expand("{a,b}{c,d}"), (Strings{"ac", "ad", "bc", "bd"}));
}

TEST(ShellExpandBrace, EmptyAlternativesAreKept) {
  EXPECT_EQ(brace_expand("x{,y}z"), (Strings{"xz", "xyz"}));
  EXPECT_EQ(brace_expand("x{,}y"), (Strings{"xy", "xy"}));
}

TEST(ShellExpandBrace, NumericSequenceAscending) {
  EXPECT_EQ(brace_expand("{1..5}"), (Strings{"1", "2", "3", "4", "5"}));
}

TEST(ShellExpandBrace, NumericSequenceDescending) {
  EXPECT_EQ(brace_expand("{5..1}"), (Strings{"5", "4", "3", "2", "1"}));
}

TEST(ShellExpandBrace, ZeroPaddedSequenceWithStep) {
  EXPECT_EQ(brace_expand("{01..10..2}"), (Strings{"01", "03", "05", "07", "09"}));
}

TEST(ShellExpandBrace, PaddingWidthComesFromTheWiderEndpoint) {
  EXPECT_EQ(brace_expand("{1..010..3}"), (Strings{"001", "004", "007", "010"}));
}

TEST(ShellExpandBrace, PaddingCountsTheMinusSignLikePrintf) {
  EXPECT_EQ(brace_expand("{-01..1}"), (Strings{"-01", "000", "001"}));
}

TEST(ShellExpandBrace, StepSignIsIgnoredAsBashDoes) {
  EXPECT_EQ(brace_expand("{1..10..-3}"), (Strings{"1", "4", "7", "10"}));
  EXPECT_EQ(brace_expand("{10..1..3}"), (Strings{"10", "7", "4", "1"}));
}

TEST(ShellExpandBrace, ZeroStepCountsAsOne) {
  EXPECT_EQ(brace_expand("{1..3..0}"), (Strings{"1", "2", "3"}));
}

TEST(ShellExpandBrace, LetterSequences) {
  EXPECT_EQ(brace_expand("{a..e}"), (Strings{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(brace_expand("{e..a..2}"), (Strings{"e", "c", "a"}));
  EXPECT_EQ(brace_expand("{a..z..10}"), (Strings{"a", "k", "u"}));
}

TEST(ShellExpandBrace, LetterSequenceAcrossCasesIncludesPunctuationLikeBash) {
  EXPECT_EQ(brace_expand("{Z..a}"), (Strings{"Z", "[", "\\", "]", "^", "_", "`", "a"}));
}

TEST(ShellExpandBrace, SequenceAtInt64Limits) {
  EXPECT_EQ(brace_expand("{9223372036854775806..9223372036854775807}"),
            (Strings{"9223372036854775806", "9223372036854775807"}));
  EXPECT_EQ(brace_expand("{-9223372036854775808..-9223372036854775807}"),
            (Strings{"-9223372036854775808", "-9223372036854775807"}));
}

TEST(ShellExpandBrace, InvalidSequencesStayLiteral) {
  EXPECT_EQ(brace_expand("{1..a}"), Strings{"{1..a}"});
  EXPECT_EQ(brace_expand("{1..3..}"), Strings{"{1..3..}"});
  EXPECT_EQ(brace_expand("{1..2..x}"), Strings{"{1..2..x}"});
  EXPECT_EQ(brace_expand("{ab..c}"), Strings{"{ab..c}"});
  EXPECT_EQ(brace_expand("{99999999999999999999..1}"), Strings{"{99999999999999999999..1}"});
}

TEST(ShellExpandBrace, SingleItemAndEmptyBracesStayLiteral) {
  EXPECT_EQ(brace_expand("{a}"), Strings{"{a}"});
  EXPECT_EQ(brace_expand("{}"), Strings{"{}"});
  EXPECT_EQ(brace_expand("plain"), Strings{"plain"});
  EXPECT_EQ(brace_expand(""), Strings{""});
}

TEST(ShellExpandBrace, UnmatchedOpenBraceStaysLiteral) {
  EXPECT_EQ(brace_expand("a{b"), Strings{"a{b"});
  EXPECT_EQ(brace_expand("{"), Strings{"{"});
  EXPECT_EQ(brace_expand("a}b,c"), Strings{"a}b,c"});
}

TEST(ShellExpandBrace, UnmatchedBraceBeforeAValidGroupLikeBash) {
  EXPECT_EQ(brace_expand("{a,b{c,d}"), (Strings{"{a,bc", "{a,bd"}));
}

TEST(ShellExpandBrace, LiteralBraceBeforeAGroupIsKeptInThePreamble) {
  EXPECT_EQ(brace_expand("{a}{b,c}"), (Strings{"{a}b", "{a}c"}));
  EXPECT_EQ(brace_expand("{a{b,c}}"), (Strings{"{ab}", "{ac}"}));
}

TEST(ShellExpandBrace, EscapedBraceIsLiteralAndKeepsItsBackslash) {
  EXPECT_EQ(brace_expand("\\{a,b}"), Strings{"\\{a,b}"});
  EXPECT_EQ(brace_expand("{a,b\\}"), Strings{"{a,b\\}"});
}

TEST(ShellExpandBrace, EscapedCommaDoesNotSeparate) {
  EXPECT_EQ(brace_expand("{a\\,b,c}"), (Strings{"a\\,b", "c"}));
}

TEST(ShellExpandBrace, QuotedTextIsLiteralAndKeepsItsQuotes) {
  EXPECT_EQ(brace_expand("\"{a,b}\"c{d,e}"), (Strings{"\"{a,b}\"cd", "\"{a,b}\"ce"}));
  EXPECT_EQ(brace_expand("'{a,b}'"), Strings{"'{a,b}'"});
  // A quote that is never closed is an ordinary character.
  EXPECT_EQ(brace_expand("it's{a,b}"), (Strings{"it'sa", "it'sb"}));
}

TEST(ShellExpandBrace, DollarBraceIsAParameterNotAGroup) {
  EXPECT_EQ(brace_expand("${a,b}"), Strings{"${a,b}"});
  EXPECT_EQ(brace_expand("${x}{a,b}"), (Strings{"${x}a", "${x}b"}));
}

TEST(ShellExpandBrace, TooManyWordsLeavesTheWordAsWritten) {
  EXPECT_EQ(brace_expand("{1..9999999999}"), Strings{"{1..9999999999}"});
  EXPECT_EQ(brace_expand("x{1..2000}{1..2000}"), Strings{"x{1..2000}{1..2000}"});
}

TEST(ShellExpandBrace, ExplosiveProductLeavesTheWordAsWritten) {
  std::string word;
  for (int i = 0; i < 21; ++i) word += "{a,b}";  // 2^21 words, over the limit
  EXPECT_EQ(brace_expand(word), Strings{word});
  EXPECT_EQ(brace_expand("{a,b}{a,b}{a,b}").size(), 8u);
}

TEST(ShellExpandBrace, TooDeepNestingLeavesTheWordAsWritten) {
  std::string deep;
  for (int i = 0; i < 600; ++i) deep += "{a,";
  deep += "b";
  for (int i = 0; i < 600; ++i) deep += "}";
  EXPECT_EQ(brace_expand(deep), Strings{deep});
}

TEST(ShellExpandBrace, ModerateNestingExpands) {
  EXPECT_EQ(brace_expand("{a,{b,{c,{d,e}}}}"), (Strings{"a", "b", "c", "d", "e"}));
}

// -- Tilde expansion -----------------------------------------------------------------

std::optional<std::string> fake_lookup(std::string_view user) {
  if (user == "alice") return std::string("/home/alice");
  return std::nullopt;
}

TEST(ShellExpandTilde, BareTildeIsHome) {
  EXPECT_EQ(tilde_expand("~", std::string("/home/me"), fake_lookup), "/home/me");
}

TEST(ShellExpandTilde, TildeSlashPrefixesHome) {
  EXPECT_EQ(tilde_expand("~/x/y", std::string("/home/me"), fake_lookup), "/home/me/x/y");
}

TEST(ShellExpandTilde, UnsetHomeLeavesTheWord) {
  EXPECT_EQ(tilde_expand("~/x", std::nullopt, fake_lookup), "~/x");
}

TEST(ShellExpandTilde, TildeUserUsesTheLookup) {
  EXPECT_EQ(tilde_expand("~alice", std::nullopt, fake_lookup), "/home/alice");
  EXPECT_EQ(tilde_expand("~alice/notes", std::nullopt, fake_lookup), "/home/alice/notes");
}

TEST(ShellExpandTilde, UnknownUserLeavesTheWord) {
  EXPECT_EQ(tilde_expand("~bob/x", std::string("/home/me"), fake_lookup), "~bob/x");
}

TEST(ShellExpandTilde, OnlyTheWordStartIsExpanded) {
  EXPECT_EQ(tilde_expand("a~b", std::string("/home/me"), fake_lookup), "a~b");
  EXPECT_EQ(tilde_expand("x/~", std::string("/home/me"), fake_lookup), "x/~");
  EXPECT_EQ(tilde_expand("", std::string("/home/me"), fake_lookup), "");
}

TEST(ShellExpandTilde, RootUserThroughPasswd) {
  const passwd* pw = ::getpwnam("root");
  ASSERT_NE(pw, nullptr);
  const std::string home = pw->pw_dir;
  EXPECT_EQ(passwd_home("root"), home);
  EXPECT_EQ(tilde_expand("~root", std::nullopt), home);
  EXPECT_EQ(tilde_expand("~root/etc", std::nullopt), home + "/etc");
}

TEST(ShellExpandTilde, NoSuchUserThroughPasswd) {
  EXPECT_EQ(passwd_home("fusevm_no_such_user_x9"), std::nullopt);
  EXPECT_EQ(tilde_expand("~fusevm_no_such_user_x9/a", std::string("/h")), "~fusevm_no_such_user_x9/a");
}

TEST(ShellExpandTilde, PasswdRejectsEmptyAndNulNames) {
  EXPECT_EQ(passwd_home(""), std::nullopt);
  EXPECT_EQ(passwd_home("root\0x"s), std::nullopt);
}

TEST(ShellExpandTilde, EmptyLookupFunctionLeavesUserWords) {
  EXPECT_EQ(tilde_expand("~root", std::string("/h"), HomeLookup{}), "~root");
}

// -- IFS field splitting ---------------------------------------------------------------

TEST(ShellExpandIfs, DefaultIfsSplitsOnWhitespaceRunsAndTrims) {
  EXPECT_EQ(ifs_split("  a \t b\n\nc  ", std::nullopt), (Strings{"a", "b", "c"}));
}

TEST(ShellExpandIfs, ExplicitDefaultIfsMatchesUnset) {
  EXPECT_EQ(ifs_split(" x  y ", std::string(" \t\n")), ifs_split(" x  y ", std::nullopt));
}

TEST(ShellExpandIfs, NonWhitespaceIfsKeepsEmptyFields) {
  EXPECT_EQ(ifs_split("a,,b", std::string(",")), (Strings{"a", "", "b"}));
  EXPECT_EQ(ifs_split(",a", std::string(",")), (Strings{"", "a"}));
}

TEST(ShellExpandIfs, TrailingNonWhitespaceDelimiterAddsNoField) {
  EXPECT_EQ(ifs_split("a,b,", std::string(",")), (Strings{"a", "b"}));
  EXPECT_EQ(ifs_split(",", std::string(",")), Strings{""});
}

TEST(ShellExpandIfs, NonWhitespaceIfsDoesNotTrimSpaces) {
  EXPECT_EQ(ifs_split(" a , b ", std::string(",")), (Strings{" a ", " b "}));
}

TEST(ShellExpandIfs, MixedIfsAbsorbsWhitespaceAroundDelimiters) {
  EXPECT_EQ(ifs_split(" a , b ", std::string(" ,")), (Strings{"a", "b"}));
  EXPECT_EQ(ifs_split("a  ,  ,b", std::string(" ,")), (Strings{"a", "", "b"}));
}

TEST(ShellExpandIfs, MixedIfsLeadingDelimiterGivesAnEmptyField) {
  EXPECT_EQ(ifs_split(" , a", std::string(" ,")), (Strings{"", "a"}));
}

TEST(ShellExpandIfs, EmptyIfsDoesNotSplit) {
  EXPECT_EQ(ifs_split(" a b ", std::string()), Strings{" a b "});
  EXPECT_EQ(ifs_split("", std::string()), Strings{});
}

TEST(ShellExpandIfs, EmptyOrBlankInputGivesNoFields) {
  EXPECT_EQ(ifs_split("", std::nullopt), Strings{});
  EXPECT_EQ(ifs_split(" \t\n ", std::nullopt), Strings{});
}

TEST(ShellExpandIfs, NulBytesAreOrdinaryUnlessInIfs) {
  EXPECT_EQ(ifs_split("a\0b c"s, std::nullopt), (Strings{"a\0b"s, "c"}));
  EXPECT_EQ(ifs_split("a\0b"s, std::string("\0"s)), (Strings{"a", "b"}));
}

// -- Shell patterns ----------------------------------------------------------------------

TEST(ShellExpandMatch, StarAndQuestionMark) {
  EXPECT_TRUE(pattern_match("hello.txt", "*.txt"));
  EXPECT_TRUE(pattern_match("abc", "a?c"));
  EXPECT_FALSE(pattern_match("abbc", "a?c"));
  EXPECT_TRUE(pattern_match("", "*"));
  EXPECT_FALSE(pattern_match("x", ""));
}

TEST(ShellExpandMatch, BracketsRangesAndNegation) {
  EXPECT_TRUE(pattern_match("b1", "[a-c][0-9]"));
  EXPECT_FALSE(pattern_match("d1", "[a-c][0-9]"));
  EXPECT_TRUE(pattern_match("x", "[!a]"));
  EXPECT_FALSE(pattern_match("a", "[!a]"));
}

TEST(ShellExpandMatch, BackslashEscapesAWildcard) {
  EXPECT_TRUE(pattern_match("a*", "a\\*"));
  EXPECT_FALSE(pattern_match("ab", "a\\*"));
}

TEST(ShellExpandMatch, StarCrossesSlashesAndLeadingDots) {
  EXPECT_TRUE(pattern_match("dir/sub/file", "dir*file"));
  EXPECT_TRUE(pattern_match(".hidden", "*hidden"));
}

TEST(ShellExpandMatch, NulBytesNeverMatch) {
  EXPECT_FALSE(pattern_match("a\0b"s, "a*"));
  EXPECT_FALSE(pattern_match("a"s, "a\0*"s));
  EXPECT_FALSE(pattern_match("a\0b"s, "a\0b"s));
}

// -- Regular expressions ----------------------------------------------------------------

TEST(ShellExpandRegex, SearchFindsAMatchAnywhere) {
  const RegexResult r = regex_search("hello world", "o w");
  EXPECT_TRUE(r.matched);
  EXPECT_FALSE(r.error.has_value());
}

TEST(ShellExpandRegex, ExtendedSyntaxAndAnchors) {
  EXPECT_TRUE(regex_search("abc123", "^[a-z]+[0-9]{3}$").matched);
  EXPECT_TRUE(regex_search("cat", "^(dog|cat)$").matched);
  EXPECT_FALSE(regex_search("cow", "^(dog|cat)$").matched);
  EXPECT_FALSE(regex_search("xabc", "^abc").matched);
}

TEST(ShellExpandRegex, InvalidExpressionReportsRegcompError) {
  for (const char* bad : {"(", "a{1", "[a", "*?+("}) {
    const RegexResult r = regex_search("a", bad);
    EXPECT_FALSE(r.matched) << bad;
    ASSERT_TRUE(r.error.has_value()) << bad;
    EXPECT_FALSE(r.error->empty()) << bad;
  }
}

TEST(ShellExpandRegex, InvalidExpressionErrorRepeatsOnEveryCall) {
  const RegexResult first = regex_search("a", "(");
  const RegexResult second = regex_search("a", "(");
  ASSERT_TRUE(first.error && second.error);
  EXPECT_EQ(*first.error, *second.error);
}

TEST(ShellExpandRegex, NulInExpressionIsAnError) {
  const RegexResult r = regex_search("a", "a\0b"s);
  EXPECT_FALSE(r.matched);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_NE(r.error->find("NUL"), std::string::npos);
}

TEST(ShellExpandRegex, NulInSubjectIsAnOrdinaryByte) {
  EXPECT_TRUE(regex_search("a\0b"s, "b$").matched);
  EXPECT_FALSE(regex_search("a\0b"s, "^a$").matched);
}

TEST(ShellExpandRegex, CacheEvictionKeepsResultsCorrect) {
  // More distinct expressions than the cache holds, then the first ones again.
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 40; ++i) {
      const std::string re = "^x" + std::to_string(i) + "$";
      EXPECT_TRUE(regex_search("x" + std::to_string(i), re).matched) << re;
      EXPECT_FALSE(regex_search("x" + std::to_string(i + 100), re).matched) << re;
    }
  }
}

TEST(ShellExpandRegex, EachThreadHasItsOwnCache) {
  bool other_ok = false;
  std::thread t([&] {
    other_ok = regex_search("abc", "b").matched && !regex_search("abc", "^b").matched &&
               regex_search("a", "(").error.has_value();
  });
  t.join();
  EXPECT_TRUE(other_ok);
  EXPECT_TRUE(regex_search("abc", "b").matched);
}

// -- Parameter expansion ------------------------------------------------------------------

// A VarAccess over a plain map; records assignments.
class MapVars : public VarAccess {
 public:
  std::optional<Value> get(std::string_view name) override {
    const auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  }
  void set(std::string_view name, Value v) override { vars[std::string(name)] = std::move(v); }
  std::map<std::string, Value> vars;
};

enum : uint8_t {
  kDefault = 0, kAssign = 1, kError = 2, kAlternate = 3, kLength = 4, kStripShort = 5,
  kStripLong = 6, kRstripShort = 7, kRstripLong = 8, kSubstFirst = 9, kSubstAll = 10,
  kUpper = 11, kLower = 12, kUpperFirst = 13, kLowerFirst = 14, kIndirect = 15, kKeys = 16,
  kSlice = 17,
};

Value S(const std::string& s) { return Value::Str(s); }
Value StrArray(const Strings& items) {
  ValueArray a;
  for (const auto& s : items) a.push_back(S(s));
  return Value::Array(std::move(a));
}

class ShellExpandParam : public ::testing::Test {
 protected:
  void SetUp() override {
    vars_.vars["empty"] = S("");
    vars_.vars["hello"] = S("hello world");
    vars_.vars["path"] = S("/usr/local/lib/file.tar.gz");
    vars_.vars["utf"] = S("h\xC3\xA9llo");  // "héllo": 5 characters, 6 bytes
    vars_.vars["undef"] = Value();
    vars_.vars["arr"] = StrArray({"x", "y", "z", "w"});
    vars_.vars["ints"] = Value::Array({Value::Int(1), Value::Int(2), Value::Int(3)});
    vars_.vars["noarr"] = Value::Array(ValueArray{});
    HashMap h;
    h.insert_or_assign("k2", S("v2"));
    h.insert_or_assign("k1", S("v1"));
    h.insert_or_assign("k3", S("v3"));
    vars_.vars["hash"] = Value::Hash(std::move(h));
    vars_.vars["num"] = Value::Int(42);
  }
  Value run(const char* name, uint8_t mod, const std::vector<Value>& args = {}) {
    const ParamResult r = expand_param(vars_, name, mod, args);
    EXPECT_FALSE(r.error.has_value()) << name << " mod " << int(mod) << ": " << *r.error;
    return r.value;
  }
  std::string text(const char* name, uint8_t mod, const std::vector<Value>& args = {}) {
    const Value v = run(name, mod, args);
    EXPECT_TRUE(v.is_str()) << v.repr();
    return v.to_str();
  }
  MapVars vars_;
};

TEST_F(ShellExpandParam, DefaultUsesWordWhenUnsetOrEmpty) {
  EXPECT_EQ(run("nosuch", kDefault, {S("w")}), S("w"));
  EXPECT_EQ(run("empty", kDefault, {S("w")}), S("w"));
  EXPECT_EQ(run("undef", kDefault, {S("w")}), S("w"));
  EXPECT_EQ(run("noarr", kDefault, {S("w")}), S("w"));
}

TEST_F(ShellExpandParam, DefaultKeepsASetValueAsIs) {
  EXPECT_EQ(run("hello", kDefault, {S("w")}), S("hello world"));
  EXPECT_EQ(run("num", kDefault, {S("w")}), Value::Int(42));
  EXPECT_EQ(run("arr", kDefault, {S("w")}), vars_.vars["arr"]);
  EXPECT_EQ(vars_.vars.count("nosuch"), 0u);
}

TEST_F(ShellExpandParam, AssignStoresTheWordWhenUnsetOrEmpty) {
  EXPECT_EQ(run("nosuch", kAssign, {S("w")}), S("w"));
  EXPECT_EQ(vars_.vars["nosuch"], S("w"));
  EXPECT_EQ(run("empty", kAssign, {S("z")}), S("z"));
  EXPECT_EQ(vars_.vars["empty"], S("z"));
}

TEST_F(ShellExpandParam, AssignLeavesASetVariableAlone) {
  EXPECT_EQ(run("hello", kAssign, {S("w")}), S("hello world"));
  EXPECT_EQ(vars_.vars["hello"], S("hello world"));
}

TEST_F(ShellExpandParam, ErrorReportsTheWordWhenUnsetOrEmpty) {
  const ParamResult unset = expand_param(vars_, "nosuch", kError, {S("need it")});
  ASSERT_TRUE(unset.error.has_value());
  EXPECT_EQ(*unset.error, "nosuch: need it");
  EXPECT_EQ(unset.value, S(""));
  const ParamResult empty = expand_param(vars_, "empty", kError, {S("")});
  ASSERT_TRUE(empty.error.has_value());
  EXPECT_EQ(*empty.error, "empty: parameter null or not set");
}

TEST_F(ShellExpandParam, ErrorPassesASetValue) {
  EXPECT_EQ(run("hello", kError, {S("msg")}), S("hello world"));
}

TEST_F(ShellExpandParam, AlternateGivesTheWordOnlyWhenSetAndNonEmpty) {
  EXPECT_EQ(run("hello", kAlternate, {S("alt")}), S("alt"));
  EXPECT_EQ(run("empty", kAlternate, {S("alt")}), S(""));
  EXPECT_EQ(run("nosuch", kAlternate, {S("alt")}), S(""));
}

TEST_F(ShellExpandParam, LengthCountsUtf8Characters) {
  EXPECT_EQ(run("hello", kLength), Value::Int(11));
  EXPECT_EQ(run("utf", kLength), Value::Int(5));
  EXPECT_EQ(run("num", kLength), Value::Int(2));
}

TEST_F(ShellExpandParam, LengthCountsEachInvalidByteOnce) {
  vars_.vars["bad"] = S("a\xFF\xC3z");  // a stray byte and a truncated sequence
  EXPECT_EQ(run("bad", kLength), Value::Int(4));
}

TEST_F(ShellExpandParam, LengthOfUnsetOrEmptyIsZero) {
  EXPECT_EQ(run("nosuch", kLength), Value::Int(0));
  EXPECT_EQ(run("empty", kLength), Value::Int(0));
}

TEST_F(ShellExpandParam, LengthOfCollectionsCountsElements) {
  EXPECT_EQ(run("arr", kLength), Value::Int(4));
  EXPECT_EQ(run("hash", kLength), Value::Int(3));
  EXPECT_EQ(run("noarr", kLength), Value::Int(0));
}

TEST_F(ShellExpandParam, StripPrefixShortestAndLongest) {
  EXPECT_EQ(text("path", kStripShort, {S("*/")}), "usr/local/lib/file.tar.gz");
  EXPECT_EQ(text("path", kStripLong, {S("*/")}), "file.tar.gz");
}

TEST_F(ShellExpandParam, StripSuffixShortestAndLongest) {
  EXPECT_EQ(text("path", kRstripShort, {S(".*")}), "/usr/local/lib/file.tar");
  EXPECT_EQ(text("path", kRstripLong, {S(".*")}), "/usr/local/lib/file");
}

TEST_F(ShellExpandParam, StripWithoutAMatchOrWithEmptyPatternIsUnchanged) {
  EXPECT_EQ(text("hello", kStripLong, {S("x*")}), "hello world");
  EXPECT_EQ(text("hello", kRstripShort, {S("*x")}), "hello world");
  EXPECT_EQ(text("hello", kStripShort, {S("")}), "hello world");
  EXPECT_EQ(text("hello", kRstripLong, {S("")}), "hello world");
}

TEST_F(ShellExpandParam, StripLiteralAndBracketPatterns) {
  EXPECT_EQ(text("hello", kStripShort, {S("hello ")}), "world");
  EXPECT_EQ(text("hello", kRstripShort, {S("[a-z]")}), "hello worl");
}

TEST_F(ShellExpandParam, StripOfUnsetAndEmptyIsEmpty) {
  EXPECT_EQ(text("nosuch", kStripShort, {S("*")}), "");
  EXPECT_EQ(text("empty", kRstripLong, {S("*")}), "");
}

TEST_F(ShellExpandParam, StripNeverMatchesAcrossANulInTheValue) {
  vars_.vars["nul"] = S("ab\0cd"s);
  EXPECT_EQ(text("nul", kStripShort, {S("a?")}), "\0cd"s);
  EXPECT_EQ(text("nul", kRstripLong, {S("*d")}), "ab\0"s);
  EXPECT_EQ(text("nul", kStripLong, {S("*")}), "\0cd"s);
}

TEST_F(ShellExpandParam, SubstMatchesOnEitherSideOfANulInTheValue) {
  vars_.vars["nul"] = S("ab\0ab"s);
  EXPECT_EQ(text("nul", kSubstAll, {S("b"), S("X")}), "aX\0aX"s);
  EXPECT_EQ(text("nul", kSubstFirst, {S("a*b"), S("X")}), "X\0ab"s);
  EXPECT_EQ(text("nul", kSubstFirst, {S("%a?"), S("X")}), "ab\0X"s);
}

TEST_F(ShellExpandParam, PatternHoldingANulMatchesNothing) {
  EXPECT_EQ(text("hello", kStripLong, {S("h\0*"s)}), "hello world");
  EXPECT_EQ(text("hello", kSubstAll, {S("o\0"s), S("X")}), "hello world");
}

TEST_F(ShellExpandParam, SubstFirstReplacesTheLeftmostLongestMatch) {
  EXPECT_EQ(text("hello", kSubstFirst, {S("o"), S("0")}), "hell0 world");
  EXPECT_EQ(text("hello", kSubstFirst, {S("l*o"), S("X")}), "heXrld");
}

TEST_F(ShellExpandParam, SubstAllReplacesEveryMatch) {
  EXPECT_EQ(text("hello", kSubstAll, {S("o"), S("0")}), "hell0 w0rld");
  EXPECT_EQ(text("hello", kSubstAll, {S("[lo]"), S("")}), "he wrd");
}

TEST_F(ShellExpandParam, SubstWithEmptyReplacementDeletes) {
  EXPECT_EQ(text("hello", kSubstAll, {S("o"), S("")}), "hell wrld");
}

TEST_F(ShellExpandParam, SubstWithEmptyPatternIsUnchanged) {
  EXPECT_EQ(text("hello", kSubstAll, {S(""), S("X")}), "hello world");
  EXPECT_EQ(text("hello", kSubstFirst, {S(""), S("X")}), "hello world");
}

TEST_F(ShellExpandParam, SubstHashAnchorsAtTheStart) {
  EXPECT_EQ(text("hello", kSubstFirst, {S("#he"), S("X")}), "Xllo world");
  EXPECT_EQ(text("hello", kSubstFirst, {S("#wo"), S("X")}), "hello world");
  EXPECT_EQ(text("hello", kSubstAll, {S("#h*o"), S("X")}), "Xrld");
}

TEST_F(ShellExpandParam, SubstPercentAnchorsAtTheEnd) {
  EXPECT_EQ(text("hello", kSubstFirst, {S("%ld"), S("X")}), "hello worX");
  EXPECT_EQ(text("hello", kSubstFirst, {S("%he"), S("X")}), "hello world");
  EXPECT_EQ(text("hello", kSubstFirst, {S("%o*"), S("X")}), "hellX");
}

TEST_F(ShellExpandParam, SubstBareAnchorPrependsOrAppends) {
  EXPECT_EQ(text("hello", kSubstFirst, {S("#"), S("P")}), "Phello world");
  EXPECT_EQ(text("hello", kSubstFirst, {S("%"), S("S")}), "hello worldS");
}

TEST_F(ShellExpandParam, SubstOnEmptyValueReplacesAnEmptyMatch) {
  EXPECT_EQ(text("empty", kSubstFirst, {S("*"), S("x")}), "x");
  EXPECT_EQ(text("empty", kSubstFirst, {S("a"), S("x")}), "");
  EXPECT_EQ(text("nosuch", kSubstFirst, {S("*"), S("x")}), "");
}

TEST_F(ShellExpandParam, SubstStarReplacesTheWholeValueOnce) {
  EXPECT_EQ(text("hello", kSubstAll, {S("*"), S("X")}), "X");
}

TEST_F(ShellExpandParam, SubstAllOnALongValue) {
  // Star-free patterns only try candidates as long as they can match; trying every end
  // position here would take minutes.
  vars_.vars["long"] = S(std::string(200000, 'a') + "z");
  const std::string out = text("long", kSubstAll, {S("a"), S("bc")});
  ASSERT_EQ(out.size(), 400001u);
  EXPECT_EQ(out.substr(0, 4), "bcbc");
  EXPECT_EQ(out.back(), 'z');
  EXPECT_EQ(text("long", kSubstFirst, {S("?z"), S("!")}), std::string(199999, 'a') + "!");
}

TEST_F(ShellExpandParam, StripOnALongValue) {
  vars_.vars["long"] = S(std::string(200000, 'a') + ".txt");
  EXPECT_EQ(text("long", kRstripShort, {S(".txt")}), std::string(200000, 'a'));
  EXPECT_EQ(text("long", kRstripLong, {S(".*")}), std::string(200000, 'a'));
  EXPECT_EQ(text("long", kStripLong, {S("*.")}), "txt");
  EXPECT_EQ(text("long", kStripShort, {S("a")}), std::string(199999, 'a') + ".txt");
}

TEST_F(ShellExpandParam, SubstEscapedBackslashMatchesABackslash) {
  vars_.vars["bs"] = S("a\\b\\");
  EXPECT_EQ(text("bs", kSubstAll, {S("\\\\"), S("/")}), "a/b/");
}

TEST_F(ShellExpandParam, SubstPatternEndingInALoneBackslashMatchesNothing) {
  // fnmatch never matches a trailing lone backslash; the pre-checks must not change that.
  vars_.vars["bs"] = S("a\\b\\");
  EXPECT_EQ(text("bs", kSubstAll, {S("b\\"), S("X")}), "a\\b\\");
}

TEST_F(ShellExpandParam, CaseChangesAreAscii) {
  EXPECT_EQ(text("hello", kUpper), "HELLO WORLD");
  EXPECT_EQ(text("hello", kUpperFirst), "Hello world");
  vars_.vars["mixed"] = S("HeLLo \xC3\xA9");
  EXPECT_EQ(text("mixed", kLower), "hello \xC3\xA9");
  EXPECT_EQ(text("mixed", kLowerFirst), "heLLo \xC3\xA9");
  EXPECT_EQ(text("utf", kUpper), "H\xC3\xA9LLO");
}

TEST_F(ShellExpandParam, CaseChangesOfUnsetAreEmpty) {
  EXPECT_EQ(text("nosuch", kUpper), "");
  EXPECT_EQ(text("empty", kLowerFirst), "");
}

TEST_F(ShellExpandParam, IndirectReadsTheNamedVariable) {
  vars_.vars["ref"] = S("hello");
  EXPECT_EQ(run("ref", kIndirect), S("hello world"));
  vars_.vars["aref"] = S("arr");
  EXPECT_EQ(run("aref", kIndirect), vars_.vars["arr"]);
}

TEST_F(ShellExpandParam, IndirectThroughUnsetIsEmpty) {
  EXPECT_EQ(run("nosuch", kIndirect), S(""));
  vars_.vars["dangling"] = S("nosuch");
  EXPECT_EQ(run("dangling", kIndirect), S(""));
  vars_.vars["toundef"] = S("undef");
  EXPECT_EQ(run("toundef", kIndirect), S(""));
}

TEST_F(ShellExpandParam, KeysOfAnArrayAreItsIndices) {
  EXPECT_EQ(run("arr", kKeys), StrArray({"0", "1", "2", "3"}));
  EXPECT_EQ(run("noarr", kKeys), StrArray({}));
}

TEST_F(ShellExpandParam, KeysOfAHashKeepInsertionOrder) {
  EXPECT_EQ(run("hash", kKeys), StrArray({"k2", "k1", "k3"}));
}

TEST_F(ShellExpandParam, KeysOfAScalarAndOfUnset) {
  EXPECT_EQ(run("hello", kKeys), StrArray({"0"}));
  EXPECT_EQ(run("empty", kKeys), StrArray({"0"}));
  EXPECT_EQ(run("nosuch", kKeys), StrArray({}));
}

TEST_F(ShellExpandParam, SliceOfAScalarByOffsetAndLength) {
  EXPECT_EQ(text("hello", kSlice, {Value::Int(1), Value::Int(3)}), "ell");
  EXPECT_EQ(text("hello", kSlice, {Value::Int(6), Value()}), "world");
  EXPECT_EQ(text("hello", kSlice, {S("6"), S("2")}), "wo");
  EXPECT_EQ(text("hello", kSlice, {Value::Int(0), Value::Int(0)}), "");
}

TEST_F(ShellExpandParam, SliceNegativeOffsetCountsFromTheEnd) {
  EXPECT_EQ(text("hello", kSlice, {Value::Int(-3), Value()}), "rld");
  EXPECT_EQ(text("hello", kSlice, {Value::Int(-5), Value::Int(2)}), "wo");
  EXPECT_EQ(text("hello", kSlice, {Value::Int(-30), Value()}), "");
}

TEST_F(ShellExpandParam, SliceNegativeLengthIsAnEndOffset) {
  EXPECT_EQ(text("hello", kSlice, {Value::Int(1), Value::Int(-1)}), "ello worl");
  EXPECT_EQ(text("hello", kSlice, {Value::Int(8), Value::Int(-5)}), "");
  EXPECT_EQ(text("hello", kSlice, {Value::Int(0), Value::Int(-30)}), "");
}

TEST_F(ShellExpandParam, SliceOutOfRangeIsEmpty) {
  EXPECT_EQ(text("hello", kSlice, {Value::Int(11), Value()}), "");
  EXPECT_EQ(text("hello", kSlice, {Value::Int(INT64_MAX), Value::Int(INT64_MAX)}), "");
  EXPECT_EQ(text("hello", kSlice, {Value::Int(INT64_MIN), Value::Int(INT64_MIN)}), "");
  EXPECT_EQ(text("hello", kSlice, {Value::Int(2), Value::Int(INT64_MAX)}), "llo world");
}

TEST_F(ShellExpandParam, SliceCountsUtf8Characters) {
  EXPECT_EQ(text("utf", kSlice, {Value::Int(1), Value::Int(2)}), "\xC3\xA9l");
  EXPECT_EQ(text("utf", kSlice, {Value::Int(-4), Value::Int(1)}), "\xC3\xA9");
}

TEST_F(ShellExpandParam, SliceOfAnArrayGivesAnArrayOfStr) {
  EXPECT_EQ(run("arr", kSlice, {Value::Int(1), Value::Int(2)}), StrArray({"y", "z"}));
  EXPECT_EQ(run("arr", kSlice, {Value::Int(-2), Value()}), StrArray({"z", "w"}));
  EXPECT_EQ(run("arr", kSlice, {Value::Int(1), Value::Int(-1)}), StrArray({"y", "z"}));
  EXPECT_EQ(run("ints", kSlice, {Value::Int(1), Value()}), StrArray({"2", "3"}));
  EXPECT_EQ(run("arr", kSlice, {Value::Int(9), Value()}), StrArray({}));
}

TEST_F(ShellExpandParam, SliceOfAHashSlicesItsValuesInOrder) {
  EXPECT_EQ(run("hash", kSlice, {Value::Int(1), Value()}), StrArray({"v1", "v3"}));
}

TEST_F(ShellExpandParam, SliceOfUnsetIsEmpty) {
  EXPECT_EQ(text("nosuch", kSlice, {Value::Int(0), Value::Int(2)}), "");
}

TEST_F(ShellExpandParam, UnknownModGivesThePlainValue) {
  EXPECT_EQ(run("num", 18), Value::Int(42));
  EXPECT_EQ(run("hello", 255), S("hello world"));
  EXPECT_EQ(run("nosuch", 99), S(""));
}

TEST_F(ShellExpandParam, MissingArgsNeverReadOutOfRange) {
  EXPECT_EQ(run("nosuch", kDefault), Value());
  EXPECT_EQ(text("hello", kSubstAll), "hello world");
  EXPECT_EQ(text("hello", kSlice), "hello world");
  EXPECT_EQ(text("hello", kStripLong), "hello world");
}

// -- Shell-rules glob -----------------------------------------------------------------------

// A tree with dotfiles, a hidden directory, nested dirs and a symlinked directory:
//   .config/inner.rs .hidden Z.txt a.txt b.txt c.rs link->sub q? qx
//   sub/.dot.rs sub/one.rs sub/deep/three.rs
class ShellGlobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fusevm_shglob_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    for (const char* f : {".hidden", "Z.txt", "a.txt", "b.txt", "c.rs", "q?", "qx"}) {
      touch(root_ + "/" + f);
    }
    make_dir(root_ + "/.config");
    touch(root_ + "/.config/inner.rs");
    make_dir(root_ + "/sub");
    touch(root_ + "/sub/.dot.rs");
    touch(root_ + "/sub/one.rs");
    make_dir(root_ + "/sub/deep");
    touch(root_ + "/sub/deep/three.rs");
    ASSERT_EQ(::symlink("sub", (root_ + "/link").c_str()), 0);
  }
  void TearDown() override {
    if (!old_cwd_.empty()) {
      EXPECT_EQ(::chdir(old_cwd_.c_str()), 0);
    }
    std::filesystem::remove_all(root_);
  }
  static void touch(const std::string& path) { std::ofstream(path) << "x"; }
  static void make_dir(const std::string& path) {
    ASSERT_EQ(::mkdir(path.c_str(), 0755), 0) << path;
  }
  Strings under(const Strings& rel) const {
    Strings out;
    for (const auto& r : rel) out.push_back(root_ + "/" + r);
    return out;
  }
  std::string root_;
  std::string old_cwd_;
};

TEST_F(ShellGlobTest, StarSkipsDotfilesAndSortsByteWise) {
  EXPECT_EQ(shell_glob(root_ + "/*"),
            under({"Z.txt", "a.txt", "b.txt", "c.rs", "link", "q?", "qx", "sub"}));
}

TEST_F(ShellGlobTest, ExplicitLeadingDotMatchesHiddenNamesButNotDotAndDotDot) {
  EXPECT_EQ(shell_glob(root_ + "/.*"), under({".config", ".hidden"}));
}

TEST_F(ShellGlobTest, DotglobLetsWildcardsMatchLeadingDots) {
  GlobOptions dotglob;
  dotglob.dotglob = true;
  EXPECT_EQ(shell_glob(root_ + "/*", dotglob),
            under({".config", ".hidden", "Z.txt", "a.txt", "b.txt", "c.rs", "link", "q?", "qx",
                   "sub"}));
  EXPECT_EQ(shell_glob(root_ + "/?hidden", dotglob), under({".hidden"}));
}

TEST_F(ShellGlobTest, QuestionMarkAndBracketDoNotMatchALeadingDot) {
  EXPECT_EQ(shell_glob(root_ + "/?hidden"), Strings{});
  EXPECT_EQ(shell_glob(root_ + "/[.]hidden"), Strings{});
}

TEST_F(ShellGlobTest, NegatedClass) {
  EXPECT_EQ(shell_glob(root_ + "/[!a]*"), under({"Z.txt", "b.txt", "c.rs", "link", "q?", "qx",
                                                 "sub"}));
}

TEST_F(ShellGlobTest, QuestionMarkAndSuffix) {
  EXPECT_EQ(shell_glob(root_ + "/?.rs"), under({"c.rs"}));
  EXPECT_EQ(shell_glob(root_ + "/*.txt"), under({"Z.txt", "a.txt", "b.txt"}));
}

TEST_F(ShellGlobTest, WildcardInTheMiddleFollowsSymlinkedDirectories) {
  EXPECT_EQ(shell_glob(root_ + "/*/one.rs"), under({"link/one.rs", "sub/one.rs"}));
}

TEST_F(ShellGlobTest, DoubleStarRecursesSkippingHiddenAndSymlinkedDirectories) {
  EXPECT_EQ(shell_glob(root_ + "/**/*.rs"), under({"c.rs", "sub/deep/three.rs", "sub/one.rs"}));
}

TEST_F(ShellGlobTest, DoubleStarFindsHiddenFilesNamedExplicitly) {
  EXPECT_EQ(shell_glob(root_ + "/**/.*.rs"), under({"sub/.dot.rs"}));
}

TEST_F(ShellGlobTest, DoubleStarWithDotglobEntersHiddenDirectories) {
  GlobOptions dotglob;
  dotglob.dotglob = true;
  EXPECT_EQ(shell_glob(root_ + "/**/*.rs", dotglob),
            under({".config/inner.rs", "c.rs", "sub/.dot.rs", "sub/deep/three.rs", "sub/one.rs"}));
}

TEST_F(ShellGlobTest, TrailingDoubleStarYieldsDirectoriesOnly) {
  EXPECT_EQ(shell_glob(root_ + "/**"), under({"link", "sub", "sub/deep"}));
}

TEST_F(ShellGlobTest, TrailingSlashYieldsDirectoriesWithTheSlash) {
  EXPECT_EQ(shell_glob(root_ + "/*/"), under({"link/", "sub/"}));
}

TEST_F(ShellGlobTest, NoMatchGivesEmptyList) {
  EXPECT_EQ(shell_glob(root_ + "/*.none"), Strings{});
  EXPECT_EQ(shell_glob(root_ + "/nodir/*"), Strings{});
  EXPECT_EQ(shell_glob(root_ + "/a.txt/*"), Strings{});
}

TEST_F(ShellGlobTest, LiteralPathYieldsItselfOnlyIfItExists) {
  EXPECT_EQ(shell_glob(root_ + "/a.txt"), under({"a.txt"}));
  EXPECT_EQ(shell_glob(root_ + "/sub/deep"), under({"sub/deep"}));
  EXPECT_EQ(shell_glob(root_ + "/missing"), Strings{});
}

TEST_F(ShellGlobTest, EscapedWildcardIsLiteralAndUnescapedInTheResult) {
  EXPECT_EQ(shell_glob(root_ + "/q\\?"), under({"q?"}));
  EXPECT_EQ(shell_glob(root_ + "/q?"), under({"q?", "qx"}));
  EXPECT_EQ(shell_glob(root_ + "/\\*"), Strings{});
}

TEST_F(ShellGlobTest, RelativePatternGivesRelativeResults) {
  old_cwd_ = std::filesystem::current_path().string();
  ASSERT_EQ(::chdir(root_.c_str()), 0);
  EXPECT_EQ(shell_glob("*.txt"), (Strings{"Z.txt", "a.txt", "b.txt"}));
  EXPECT_EQ(shell_glob("sub/*.rs"), Strings{"sub/one.rs"});
  EXPECT_EQ(shell_glob("**/three.rs"), Strings{"sub/deep/three.rs"});
  EXPECT_EQ(shell_glob("c.rs"), Strings{"c.rs"});
}

TEST_F(ShellGlobTest, EmptyOrNulPatternGivesNothing) {
  EXPECT_EQ(shell_glob(""), Strings{});
  EXPECT_EQ(shell_glob(root_ + "/a\0*"s), Strings{});
}

TEST_F(ShellGlobTest, UnclosedBracketIsLiteralAsInFnmatch) {
  touch(root_ + "/[x");
  EXPECT_EQ(shell_glob(root_ + "/[x*"), under({"[x"}));
}

}  // namespace
}  // namespace fusevm::shell
