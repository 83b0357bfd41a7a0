// Tests for the ShellHost defaults of spec/host.md §1 and the no-host word splitting.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cerrno>

#include "fusevm/host.hpp"
#include "fusevm/vm.hpp"

namespace fusevm {
namespace {

using Strings = std::vector<std::string>;

// Overrides nothing: every call reaches a default.
class EmptyHost : public ShellHost {};

class HostDefaultsTest : public ::testing::Test {
 protected:
  HostDefaultsTest() : vm_(Chunk{}), cx_(vm_) {}
  VM vm_;
  HostContext cx_;
  EmptyHost host_;
  Chunk sub_;
};

TEST_F(HostDefaultsTest, GlobIsFilesystemGlobAndIgnoresRecursiveFlag) {
  char tmpl[] = "/tmp/fusevm_hostglob_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::ofstream(dir + "/one.rs") << "";
  std::ofstream(dir + "/two.rs") << "";
  std::ofstream(dir + "/three.txt") << "";
  const Strings want{dir + "/one.rs", dir + "/two.rs"};
  EXPECT_EQ(host_.glob(cx_, dir + "/*.rs", false), want);
  EXPECT_EQ(host_.glob(cx_, dir + "/*.rs", true), want);
  EXPECT_EQ(host_.glob(cx_, dir + "/*.none", false), Strings{});
  std::filesystem::remove_all(dir);
}

TEST_F(HostDefaultsTest, TildeExpandReturnsInputUnchanged) {
  EXPECT_EQ(host_.tilde_expand(cx_, "~/code"), "~/code");
  EXPECT_EQ(host_.tilde_expand(cx_, ""), "");
}

TEST_F(HostDefaultsTest, BraceExpandReturnsSingleElement) {
  EXPECT_EQ(host_.brace_expand(cx_, "{a,b,c}"), Strings{"{a,b,c}"});
  EXPECT_EQ(host_.brace_expand(cx_, ""), Strings{""});
}

TEST_F(HostDefaultsTest, WordSplitSplitsOnWhitespaceRuns) {
  EXPECT_EQ(host_.word_split(cx_, "  a \t b\n c  "), (Strings{"a", "b", "c"}));
}

TEST_F(HostDefaultsTest, ExpandParamReturnsEmptyStr) {
  EXPECT_EQ(host_.expand_param(cx_, "HOME", 0, {Value::Str("x")}), Value::Str(""));
  EXPECT_EQ(host_.expand_param(cx_, "v", 9, {Value::Str("p"), Value::Str("r")}), Value::Str(""));
  EXPECT_EQ(host_.expand_param(cx_, "v", 200, {}), Value::Str(""));
}

TEST_F(HostDefaultsTest, ArrayIndexReturnsUndef) {
  EXPECT_TRUE(host_.array_index(cx_, "arr", Value::Int(0)).is_undef());
}

TEST_F(HostDefaultsTest, SubstitutionsReturnEmptyStrings) {
  EXPECT_EQ(host_.cmd_subst(cx_, sub_), "");
  EXPECT_EQ(host_.process_sub_in(cx_, sub_), "");
  EXPECT_EQ(host_.process_sub_out(cx_, sub_), "");
}

TEST_F(HostDefaultsTest, PipelineDefaultsContinueAndEndWithZero) {
  vm_.set_last_status(5);
  EXPECT_EQ(host_.pipeline_begin(cx_, 3), HostAction::Continue);
  EXPECT_EQ(host_.pipeline_stage(cx_), HostAction::Continue);
  EXPECT_EQ(host_.pipeline_stage(cx_), HostAction::Continue);
  EXPECT_EQ(host_.pipeline_end(cx_), 0);
  EXPECT_EQ(vm_.last_status(), 5);  // the VM, not the host, stores the status
}

TEST_F(HostDefaultsTest, SubshellBeginContinues) {
  EXPECT_EQ(host_.subshell_begin(cx_), HostAction::Continue);
  host_.subshell_end(cx_);
}

TEST_F(HostDefaultsTest, NoOpMethodsLeaveVmStateAlone) {
  vm_.set_last_status(7);
  host_.redirect(cx_, 1, 0, "/tmp/should-not-be-created-by-fusevm");
  host_.heredoc(cx_, "body\n");
  host_.herestring(cx_, "word");
  host_.trap_set(cx_, "INT", sub_);
  host_.trap_check(cx_);
  host_.with_redirects_begin(cx_, 2);
  host_.with_redirects_end(cx_);
  EXPECT_EQ(vm_.last_status(), 7);
  EXPECT_TRUE(vm_.stack().empty());
  struct stat st {};
  EXPECT_NE(::lstat("/tmp/should-not-be-created-by-fusevm", &st), 0);
}

TEST_F(HostDefaultsTest, CallFunctionSaysNotAFunction) {
  EXPECT_EQ(host_.call_function(cx_, "my_func", {"a", "b"}), std::nullopt);
}

TEST_F(HostDefaultsTest, ExecSpawnsThroughPathAndReportsStatus) {
  EXPECT_EQ(host_.exec(cx_, {"sh", "-c", "exit 3"}), 3);
  EXPECT_EQ(host_.exec(cx_, {"true"}), 0);
  EXPECT_EQ(host_.exec(cx_, {"/no/such/cmd"}), 127);
  EXPECT_EQ(host_.exec(cx_, {"sh", "-c", "kill -9 $$"}), 1);
  EXPECT_EQ(host_.exec(cx_, {}), 0);
}

TEST_F(HostDefaultsTest, ExecBgReturnsPidOrZero) {
  const int32_t pid = host_.exec_bg(cx_, {"true"});
  EXPECT_GT(pid, 0);
  EXPECT_EQ(host_.exec_bg(cx_, {}), 0);
  EXPECT_EQ(host_.exec_bg(cx_, {"/no/such/cmd"}), 0);
  // The two later exec_bg calls reap finished background children, so `true` may be
  // gone already (ECHILD); either way no zombie outlives the test.
  int status = 0;
  const pid_t r = ::waitpid(pid, &status, 0);
  const int err = errno;
  EXPECT_TRUE(r == pid || (r == -1 && err == ECHILD)) << "waitpid gave " << r;
}

TEST_F(HostDefaultsTest, StrMatchIsExactEquality) {
  EXPECT_TRUE(host_.str_match(cx_, "hello.rs", "hello.rs"));
  EXPECT_FALSE(host_.str_match(cx_, "hello.rs", "*.rs"));
  EXPECT_FALSE(host_.str_match(cx_, "a", "A"));
  EXPECT_TRUE(host_.str_match(cx_, "", ""));
}

TEST_F(HostDefaultsTest, RegexMatchIsAlwaysFalse) {
  EXPECT_FALSE(host_.regex_match(cx_, "anything", "ANY"));
  EXPECT_FALSE(host_.regex_match(cx_, "abc", "abc"));
  EXPECT_FALSE(host_.regex_match(cx_, "", ""));
}

// -- unicode_word_split --------------------------------------------------------------

TEST(UnicodeWordSplit, AsciiWhitespaceRunsGiveNoEmptyWords) {
  EXPECT_EQ(unicode_word_split("  a \t b\n c  "), (Strings{"a", "b", "c"}));
  EXPECT_EQ(unicode_word_split("a\v\fb\rc"), (Strings{"a", "b", "c"}));
  EXPECT_EQ(unicode_word_split("one"), Strings{"one"});
}

TEST(UnicodeWordSplit, EmptyAndAllWhitespaceGiveNoWords) {
  EXPECT_EQ(unicode_word_split(""), Strings{});
  EXPECT_EQ(unicode_word_split(" \t\n "), Strings{});
  EXPECT_EQ(unicode_word_split("\xC2\xA0\xE3\x80\x80"), Strings{});
}

TEST(UnicodeWordSplit, NonAsciiWhiteSpaceSeparates) {
  // NEL, NBSP, OGHAM SPACE, EN QUAD, HAIR SPACE, LINE SEP, PARA SEP, NNBSP, MMSP,
  // IDEOGRAPHIC SPACE.
  for (const char* sep : {"\xC2\x85", "\xC2\xA0", "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x8A",
                          "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAF", "\xE2\x81\x9F",
                          "\xE3\x80\x80"}) {
    EXPECT_EQ(unicode_word_split(std::string("x") + sep + "y"), (Strings{"x", "y"})) << sep;
  }
}

TEST(UnicodeWordSplit, NonWhiteSpaceFormatCharactersStayInWords) {
  // ZERO WIDTH SPACE (U+200B) and U+180E are not White_Space.
  EXPECT_EQ(unicode_word_split("a\xE2\x80\x8B" "b"), Strings{"a\xE2\x80\x8B" "b"});
  EXPECT_EQ(unicode_word_split("a\xE1\xA0\x8E" "b"), Strings{"a\xE1\xA0\x8E" "b"});
  EXPECT_EQ(unicode_word_split("h\xC3\xA9llo w\xC3\xB6rld"), (Strings{"h\xC3\xA9llo", "w\xC3\xB6rld"}));
}

TEST(UnicodeWordSplit, InvalidUtf8BytesAreKeptAsWordBytes) {
  EXPECT_EQ(unicode_word_split("a\xFF" "b c\x80"), (Strings{"a\xFF" "b", "c\x80"}));
  // A truncated sequence must not swallow the separator after it.
  EXPECT_EQ(unicode_word_split("x\xE2\x80 y"), (Strings{"x\xE2\x80", "y"}));
  // An overlong encoding of a space is not a space.
  EXPECT_EQ(unicode_word_split("p\xC0\xA0q"), Strings{"p\xC0\xA0q"});
}

TEST(UnicodeWordSplit, EmbeddedNulIsAWordByte) {
  EXPECT_EQ(unicode_word_split(std::string("a\0b c", 5)), (Strings{std::string("a\0b", 3), "c"}));
}

}  // namespace
}  // namespace fusevm
