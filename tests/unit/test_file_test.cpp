// Tests for test_file: TestFile codes of spec/ops.md §20.5/§21.1 with access() for -r/-w/-x.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "fusevm/host.hpp"

namespace fusevm {
namespace {

// file_test codes (spec/ops.md §21.1).
constexpr uint8_t kIsFile = 0, kIsDir = 1, kIsReadable = 2, kIsWritable = 3,
                  kIsExecutable = 4, kExists = 5, kIsNonempty = 6, kIsSymlink = 7,
                  kIsSocket = 8, kIsFifo = 9, kIsBlockDev = 10, kIsCharDev = 11;

// Fork, drop to uid/gid 65534 when root, run `fn`, return its exit status.
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

class TestFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fusevm_testfile_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);  // searchable by the unprivileged child
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file(const std::string& name, const std::string& text, mode_t mode = 0644) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  std::string dir_;
};

TEST_F(TestFileTest, EmptyPathIsFalseForEveryCode) {
  for (int code = 0; code < 16; ++code) EXPECT_FALSE(test_file("", uint8_t(code))) << code;
}

TEST_F(TestFileTest, MissingPathIsFalseForEveryCode) {
  const std::string missing = dir_ + "/missing";
  for (int code = 0; code < 16; ++code) EXPECT_FALSE(test_file(missing, uint8_t(code))) << code;
}

TEST_F(TestFileTest, RegularFileKindAndSize) {
  const std::string empty = file("empty", "");
  const std::string full = file("full", "data");
  EXPECT_TRUE(test_file(empty, kIsFile));
  EXPECT_FALSE(test_file(empty, kIsDir));
  EXPECT_TRUE(test_file(empty, kExists));
  EXPECT_FALSE(test_file(empty, kIsNonempty));
  EXPECT_TRUE(test_file(full, kIsNonempty));
  for (uint8_t code : {kIsSymlink, kIsSocket, kIsFifo, kIsBlockDev, kIsCharDev}) {
    EXPECT_FALSE(test_file(full, code)) << int(code);
  }
}

TEST_F(TestFileTest, DirectoryIsDirNotFile) {
  EXPECT_TRUE(test_file(dir_, kIsDir));
  EXPECT_FALSE(test_file(dir_, kIsFile));
  EXPECT_TRUE(test_file(dir_, kExists));
}

TEST_F(TestFileTest, SymlinkIsFollowedExceptForSymlinkTest) {
  const std::string target = file("target", "x");
  const std::string link = dir_ + "/link";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_TRUE(test_file(link, kIsSymlink));
  EXPECT_TRUE(test_file(link, kIsFile));
  EXPECT_TRUE(test_file(link, kExists));
  EXPECT_TRUE(test_file(link, kIsNonempty));
  EXPECT_FALSE(test_file(target, kIsSymlink));
}

TEST_F(TestFileTest, DanglingSymlinkIsSymlinkButDoesNotExist) {
  const std::string link = dir_ + "/dangling";
  ASSERT_EQ(::symlink("nowhere", link.c_str()), 0);
  EXPECT_TRUE(test_file(link, kIsSymlink));
  EXPECT_FALSE(test_file(link, kExists));
  EXPECT_FALSE(test_file(link, kIsFile));
  EXPECT_FALSE(test_file(link, kIsReadable));
}

TEST_F(TestFileTest, FifoUsesLstat) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  EXPECT_TRUE(test_file(fifo, kIsFifo));
  EXPECT_FALSE(test_file(fifo, kIsFile));
  EXPECT_TRUE(test_file(fifo, kExists));
  // A link to a fifo is a symlink for lstat-based tests.
  const std::string link = dir_ + "/fifo_link";
  ASSERT_EQ(::symlink(fifo.c_str(), link.c_str()), 0);
  EXPECT_FALSE(test_file(link, kIsFifo));
}

TEST_F(TestFileTest, UnixSocketIsSocket) {
  const std::string path = dir_ + "/sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_TRUE(test_file(path, kIsSocket));
  EXPECT_FALSE(test_file(path, kIsFifo));
  EXPECT_FALSE(test_file(path, kIsFile));
  ::close(fd);
}

TEST_F(TestFileTest, DevNullIsCharDevice) {
  EXPECT_TRUE(test_file("/dev/null", kIsCharDev));
  EXPECT_FALSE(test_file("/dev/null", kIsBlockDev));
  EXPECT_FALSE(test_file("/dev/null", kIsFile));
}

TEST_F(TestFileTest, BlockDeviceIsBlockDev) {
  std::string found;
  if (DIR* d = ::opendir("/dev")) {
    while (const dirent* e = ::readdir(d)) {
      struct stat st {};
      const std::string p = std::string("/dev/") + e->d_name;
      if (::lstat(p.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) {
        found = p;
        break;
      }
    }
    ::closedir(d);
  }
  if (found.empty()) GTEST_SKIP() << "no block device visible in /dev";
  EXPECT_TRUE(test_file(found, kIsBlockDev));
  EXPECT_FALSE(test_file(found, kIsCharDev));
}

TEST_F(TestFileTest, CodesTwelveAndAboveAreFalse) {
  const std::string f = file("f", "x", 0777);
  for (int code : {12, 13, 100, 255}) EXPECT_FALSE(test_file(f, uint8_t(code))) << code;
}

TEST_F(TestFileTest, EmbeddedNulIsFalse) {
  const std::string f = file("f", "x");
  EXPECT_FALSE(test_file(f + std::string("\0junk", 5), kExists));
}

TEST_F(TestFileTest, ExecutableNeedsAnExecuteBitEvenForRoot) {
  EXPECT_FALSE(test_file(file("plain", "x", 0644), kIsExecutable));
  EXPECT_TRUE(test_file(file("tool", "x", 0755), kIsExecutable));
}

TEST_F(TestFileTest, PermissionTestsUseAccessForTheRealUser) {
  const std::string secret = file("secret", "x", 0600);   // root-only
  const std::string shared = file("shared", "x", 0644);   // world-readable
  const std::string open = file("open", "x", 0666);       // world-writable
  const std::string tool = file("tool", "x", 0755);       // world-executable
  const std::string plain = file("plain", "x", 0644);
  // Each failed expectation sets one bit, so a failure names the case.
  const int rc = run_unprivileged([&] {
    int bad = 0;
    if (test_file(secret, kIsReadable)) bad |= 1;
    if (test_file(secret, kIsWritable)) bad |= 2;
    if (!test_file(shared, kIsReadable)) bad |= 4;
    if (test_file(shared, kIsWritable)) bad |= 8;
    if (!test_file(open, kIsWritable)) bad |= 16;
    if (!test_file(tool, kIsExecutable)) bad |= 32;
    if (test_file(plain, kIsExecutable)) bad |= 64;
    // Non-permission tests still see the file.
    if (!test_file(secret, kExists) || !test_file(secret, kIsFile)) bad |= 128;
    return bad;
  });
  EXPECT_EQ(rc, 0);
}

}  // namespace
}  // namespace fusevm
