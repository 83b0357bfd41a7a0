// Tests for fs_glob: the no-host filesystem glob of spec/ops.md §20.4.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fusevm/host.hpp"

namespace fusevm {
namespace {

using Strings = std::vector<std::string>;

std::string make_temp_dir() {
  char tmpl[] = "/tmp/fusevm_glob_XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  EXPECT_NE(d, nullptr);
  // Searchable by the unprivileged user of the permission test.
  ::chmod(tmpl, 0755);
  return d ? std::string(d) : std::string();
}

void touch(const std::string& path) { std::ofstream(path) << ""; }

void make_dir(const std::string& path) { ASSERT_EQ(::mkdir(path.c_str(), 0755), 0) << path; }

void make_symlink(const std::string& target, const std::string& path) {
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0) << path;
}

// Run `fn` in a forked child as uid/gid 65534 (when we are root) and return its exit
// status; the child never touches gtest state.
int run_unprivileged(const std::function<int()>& fn) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::geteuid() == 0 && (::setresgid(65534, 65534, 65534) != 0 ||
                             ::setresuid(65534, 65534, 65534) != 0)) {
      ::_exit(99);
    }
    ::_exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 98;
}

// A tree with files, dotfiles, nested dirs, a dangling symlink and a loop back to root:
//   .hidden a.txt b.txt c.rs dangling->nowhere loop->.
//   other/four.rs   sub/.dot.rs sub/one.rs sub/two.rs sub/deep/three.rs
class FsGlobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = make_temp_dir();
    for (const char* f : {".hidden", "a.txt", "b.txt", "c.rs"}) touch(root_ + "/" + f);
    make_symlink("nowhere", root_ + "/dangling");
    make_symlink(".", root_ + "/loop");
    make_dir(root_ + "/other");
    touch(root_ + "/other/four.rs");
    make_dir(root_ + "/sub");
    for (const char* f : {".dot.rs", "one.rs", "two.rs"}) touch(root_ + "/sub/" + f);
    make_dir(root_ + "/sub/deep");
    touch(root_ + "/sub/deep/three.rs");
  }
  void TearDown() override {
    if (!old_cwd_.empty()) {
      EXPECT_EQ(::chdir(old_cwd_.c_str()), 0);
    }
    std::filesystem::remove_all(root_);
  }
  // Make root_ the current directory for the rest of the test.
  void enter_root() {
    old_cwd_ = std::filesystem::current_path().string();
    ASSERT_EQ(::chdir(root_.c_str()), 0);
  }
  // root_-prefixed paths.
  Strings under(const Strings& rel) const {
    Strings out;
    for (const auto& r : rel) out.push_back(root_ + "/" + r);
    return out;
  }
  std::string root_;
  std::string old_cwd_;
};

TEST_F(FsGlobTest, StarMatchesSuffixInByteOrder) {
  EXPECT_EQ(fs_glob(root_ + "/*.txt"), under({"a.txt", "b.txt"}));
}

TEST_F(FsGlobTest, StarMatchesLeadingDotAndListsEveryEntrySorted) {
  EXPECT_EQ(fs_glob(root_ + "/*"), under({".hidden", "a.txt", "b.txt", "c.rs", "dangling", "loop",
                                         "other", "sub"}));
}

TEST_F(FsGlobTest, StarNeverMatchesDotAndDotDot) {
  EXPECT_EQ(fs_glob(root_ + "/.*"), under({".hidden"}));
}

TEST_F(FsGlobTest, QuestionMarkMatchesExactlyOneCharacter) {
  EXPECT_EQ(fs_glob(root_ + "/?.rs"), under({"c.rs"}));
  EXPECT_EQ(fs_glob(root_ + "/?.txt"), under({"a.txt", "b.txt"}));
  EXPECT_EQ(fs_glob(root_ + "/??.rs"), Strings{});
}

TEST_F(FsGlobTest, BracketClassesRangesAndNegation) {
  EXPECT_EQ(fs_glob(root_ + "/[ab].txt"), under({"a.txt", "b.txt"}));
  EXPECT_EQ(fs_glob(root_ + "/[a-b].txt"), under({"a.txt", "b.txt"}));
  EXPECT_EQ(fs_glob(root_ + "/[!a].txt"), under({"b.txt"}));
  EXPECT_EQ(fs_glob(root_ + "/[c-z].txt"), Strings{});
}

TEST_F(FsGlobTest, WildcardInIntermediateComponentSkipsFilesAndFollowsDirLinks) {
  // loop -> . is a directory for the walk, so loop/c.rs is a match.
  EXPECT_EQ(fs_glob(root_ + "/*/*.rs"), under({"loop/c.rs", "other/four.rs", "sub/.dot.rs",
                                              "sub/one.rs", "sub/two.rs"}));
  EXPECT_EQ(fs_glob(root_ + "/*/four.rs"), under({"other/four.rs"}));
}

TEST_F(FsGlobTest, DoubleStarMatchesZeroOrMoreDirectoriesInPreorder) {
  EXPECT_EQ(fs_glob(root_ + "/**/*.rs"), under({"c.rs", "other/four.rs", "sub/.dot.rs",
                                               "sub/deep/three.rs", "sub/one.rs", "sub/two.rs"}));
}

TEST_F(FsGlobTest, DoubleStarDoesNotLoopThroughSymlinkToAncestor) {
  // loop -> . would otherwise give loop/other/four.rs, loop/loop/other/four.rs, ...
  EXPECT_EQ(fs_glob(root_ + "/**/four.rs"), under({"other/four.rs"}));
}

TEST_F(FsGlobTest, TrailingDoubleStarYieldsOnlyDirectoriesBelowBase) {
  EXPECT_EQ(fs_glob(root_ + "/**"), under({"loop", "other", "sub", "sub/deep"}));
}

TEST_F(FsGlobTest, ConsecutiveDoubleStarsActAsOne) {
  EXPECT_EQ(fs_glob(root_ + "/**/**/*.rs"), fs_glob(root_ + "/**/*.rs"));
}

TEST_F(FsGlobTest, TrailingSlashKeepsOnlyDirectoriesWithoutTheSlash) {
  EXPECT_EQ(fs_glob(root_ + "/*/"), under({"loop", "other", "sub"}));
}

TEST_F(FsGlobTest, PatternWithoutWildcardsReturnsItselfOnlyIfItExists) {
  EXPECT_EQ(fs_glob(root_ + "/a.txt"), under({"a.txt"}));
  EXPECT_EQ(fs_glob(root_ + "/sub/deep"), under({"sub/deep"}));
  EXPECT_EQ(fs_glob(root_ + "/missing.txt"), Strings{});
  // lstat: the link itself exists even though its target does not.
  EXPECT_EQ(fs_glob(root_ + "/dangling"), under({"dangling"}));
}

TEST_F(FsGlobTest, StarListsDanglingSymlink) {
  EXPECT_EQ(fs_glob(root_ + "/dang*"), under({"dangling"}));
}

TEST_F(FsGlobTest, NoMatchGivesEmptyList) {
  EXPECT_EQ(fs_glob(root_ + "/*.none"), Strings{});
  EXPECT_EQ(fs_glob(root_ + "/nodir/*"), Strings{});
  EXPECT_EQ(fs_glob(root_ + "/a.txt/*"), Strings{});
}

TEST_F(FsGlobTest, InvalidPatternsGiveEmptyList) {
  EXPECT_EQ(fs_glob(root_ + "/[ab"), Strings{});        // unclosed class
  EXPECT_EQ(fs_glob(root_ + "/[]"), Strings{});         // empty class
  EXPECT_EQ(fs_glob(root_ + "/[!]"), Strings{});        // empty negated class
  EXPECT_EQ(fs_glob(root_ + "/a**"), Strings{});        // ** not a whole component
  EXPECT_EQ(fs_glob(root_ + "/**a/*.rs"), Strings{});
  EXPECT_EQ(fs_glob(root_ + "/***"), Strings{});        // more than two stars
  EXPECT_EQ(fs_glob(root_ + "/[ab/*.txt"), Strings{});  // a class never spans a '/'
  EXPECT_EQ(fs_glob(""), Strings{});
  EXPECT_EQ(fs_glob(std::string("a\0b*", 4)), Strings{});
}

TEST_F(FsGlobTest, RelativePatternGivesRelativeResults) {
  enter_root();
  EXPECT_EQ(fs_glob("*.txt"), (Strings{"a.txt", "b.txt"}));
  EXPECT_EQ(fs_glob("sub/*.rs"), (Strings{"sub/.dot.rs", "sub/one.rs", "sub/two.rs"}));
  EXPECT_EQ(fs_glob("./*.txt"), (Strings{"./a.txt", "./b.txt"}));
  EXPECT_EQ(fs_glob("**/t*.rs"), (Strings{"sub/deep/three.rs", "sub/two.rs"}));
  EXPECT_EQ(fs_glob("c.rs"), Strings{"c.rs"});
}

TEST_F(FsGlobTest, RepeatedSeparatorsAreCollapsedInResults) {
  EXPECT_EQ(fs_glob(root_ + "//sub//*.rs"), under({"sub/.dot.rs", "sub/one.rs", "sub/two.rs"}));
}

// A second tree for character-class corner cases.
class FsGlobClassTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = make_temp_dir();
    for (const char* f : {"x]", "x-", "xa", "^", "a", "b", "Upper.TXT", "lower.txt",
                          "\xC3\xA9.u", "ab.u", "back\\slash"}) {
      touch(root_ + "/" + f);
    }
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(FsGlobClassTest, CloseBracketFirstInClassIsLiteral) {
  EXPECT_EQ(fs_glob(root_ + "/x[]]"), Strings{root_ + "/x]"});
  EXPECT_EQ(fs_glob(root_ + "/x[!]]"), (Strings{root_ + "/x-", root_ + "/xa"}));
}

TEST_F(FsGlobClassTest, TrailingDashInClassIsLiteral) {
  EXPECT_EQ(fs_glob(root_ + "/x[a-]"), (Strings{root_ + "/x-", root_ + "/xa"}));
}

TEST_F(FsGlobClassTest, CaretIsNotNegation) {
  EXPECT_EQ(fs_glob(root_ + "/[^a]"), (Strings{root_ + "/^", root_ + "/a"}));
}

TEST_F(FsGlobClassTest, MatchingIsCaseSensitive) {
  EXPECT_EQ(fs_glob(root_ + "/*.txt"), Strings{root_ + "/lower.txt"});
  EXPECT_EQ(fs_glob(root_ + "/*.TXT"), Strings{root_ + "/Upper.TXT"});
}

TEST_F(FsGlobClassTest, QuestionMarkMatchesOneUnicodeCharacter) {
  EXPECT_EQ(fs_glob(root_ + "/?.u"), Strings{root_ + "/\xC3\xA9.u"});
  EXPECT_EQ(fs_glob(root_ + "/??.u"), Strings{root_ + "/ab.u"});
}

TEST_F(FsGlobClassTest, BackslashIsAnOrdinaryCharacter) {
  EXPECT_EQ(fs_glob(root_ + "/back\\*"), Strings{root_ + "/back\\slash"});
}

TEST(FsGlob, AbsoluteRootWithoutWildcardsExists) {
  EXPECT_EQ(fs_glob("/"), Strings{"/"});
}

TEST(FsGlob, UnreadableDirectoryContributesNothing) {
  const std::string root = make_temp_dir();
  ASSERT_EQ(::mkdir((root + "/open").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root + "/locked").c_str(), 0755), 0);
  touch(root + "/open/x.rs");
  touch(root + "/locked/secret.rs");
  ASSERT_EQ(::chmod((root + "/locked").c_str(), 0), 0);
  // Root reads any directory, so the check runs as an unprivileged user.
  const int rc = run_unprivileged([&] {
    const Strings star = fs_glob(root + "/*/*.rs");
    const Strings deep = fs_glob(root + "/**/*.rs");
    const Strings inside = fs_glob(root + "/locked/*");
    const Strings want{root + "/open/x.rs"};
    return (star == want && deep == want && inside.empty()) ? 0 : 1;
  });
  EXPECT_EQ(rc, 0);
  ::chmod((root + "/locked").c_str(), 0755);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace fusevm
