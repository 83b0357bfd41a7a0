// Tests for spawn_and_wait / spawn_background: spec/host.md §3 exit-status rules.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fusevm/host.hpp"

namespace fusevm {
namespace {

using Argv = std::vector<std::string>;

class SpawnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fusevm_spawn_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write_file(const std::string& name, const std::string& text, mode_t mode) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  std::string dir_;
};

// Process state letter from /proc/<pid>/stat ('Z' = zombie), or 0 if gone.
char proc_state(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return 0;
  const size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return 0;
  return line[close + 2];
}

// Wait (bounded) until `pid` has exited but is not yet reaped.
bool wait_until_zombie(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    if (proc_state(pid) == 'Z') return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Wait (bounded) until `pid` has exited: a zombie, or already reaped.
bool wait_until_finished(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    const char st = proc_state(pid);
    if (st == 'Z' || st == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Runs `fn` with fd 1 redirected into a file and returns what was written to it.
template <class Fn>
std::string capture_stdout(const std::string& path, Fn fn) {
  const int saved = ::dup(1);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ::dup2(fd, 1);
  ::close(fd);
  fn();
  ::dup2(saved, 1);
  ::close(saved);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_F(SpawnTest, ExitCodeOfChildIsReturned) {
  EXPECT_EQ(spawn_and_wait({"sh", "-c", "exit 3"}), 3);
  EXPECT_EQ(spawn_and_wait({"sh", "-c", "exit 255"}), 255);
}

TEST_F(SpawnTest, TrueAndFalseResolvedThroughPath) {
  EXPECT_EQ(spawn_and_wait({"true"}), 0);
  EXPECT_EQ(spawn_and_wait({"false"}), 1);
}

TEST_F(SpawnTest, MissingCommandGives127) {
  EXPECT_EQ(spawn_and_wait({"/no/such/cmd"}), 127);
  EXPECT_EQ(spawn_and_wait({"fusevm-no-such-command-anywhere"}), 127);
}

TEST_F(SpawnTest, NonExecutableFileGives127Not126) {
  const std::string path = write_file("script.sh", "#!/bin/sh\nexit 0\n", 0644);
  EXPECT_EQ(spawn_and_wait({path}), 127);
}

TEST_F(SpawnTest, ExecutableWithoutInterpreterGives127) {
  // ENOEXEC: posix_spawnp, unlike execvp, never retries through /bin/sh.
  const std::string path = write_file("garbage", "\x01\x02\x03 not a program\n", 0755);
  EXPECT_EQ(spawn_and_wait({path}), 127);
}

TEST_F(SpawnTest, ChildKilledBySignalGives1) {
  EXPECT_EQ(spawn_and_wait({"sh", "-c", "kill -9 $$"}), 1);
  EXPECT_EQ(spawn_and_wait({"sh", "-c", "kill -TERM $$"}), 1);
}

TEST_F(SpawnTest, EmptyArgvGives0WithoutSpawning) { EXPECT_EQ(spawn_and_wait({}), 0); }

TEST_F(SpawnTest, ArgumentWithNulByteCannotStart) {
  EXPECT_EQ(spawn_and_wait({"sh", std::string("-c\0x", 4), "exit 0"}), 127);
}

TEST_F(SpawnTest, ArgumentsArePassedVerbatimWithoutAShell) {
  EXPECT_EQ(spawn_and_wait({"sh", "-c", "test \"$1\" = 'a b*'", "sh", "a b*"}), 0);
}

TEST_F(SpawnTest, ChildInheritsStdout) {
  const std::string out = capture_stdout(dir_ + "/out", [] {
    EXPECT_EQ(spawn_and_wait({"sh", "-c", "echo hello"}), 0);
  });
  EXPECT_EQ(out, "hello\n");
}

TEST_F(SpawnTest, ChildGetsDefaultSignalDispositionsAndEmptyMask) {
  // An ignored disposition and a blocked signal both survive exec; the child must see
  // neither, or `kill -TERM $$` / `kill -USR2 $$` would not kill the shell.
  struct sigaction ign {}, old_term {};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGTERM, &ign, &old_term), 0);
  sigset_t usr2, old_mask;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr2, &old_mask), 0);
  const int32_t term = spawn_and_wait({"sh", "-c", "kill -TERM $$; exit 0"});
  const int32_t user2 = spawn_and_wait({"sh", "-c", "kill -USR2 $$; exit 0"});
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  EXPECT_EQ(term, 1);
  EXPECT_EQ(user2, 1);
}

TEST_F(SpawnTest, BackgroundSpawnReturnsPidAndDiscardsOutput) {
  const std::string out = capture_stdout(dir_ + "/out", [&] {
    const int32_t pid = spawn_background({"sh", "-c", "echo out; echo err >&2"});
    ASSERT_GT(pid, 0);
    // Reaping it here is harmless: the background list drops pids it cannot wait for.
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status));
  });
  EXPECT_EQ(out, "");
  EXPECT_EQ(spawn_and_wait({"true"}), 0);
}

TEST_F(SpawnTest, BackgroundSpawnFailureGives0) {
  EXPECT_EQ(spawn_background({}), 0);
  EXPECT_EQ(spawn_background({"/no/such/cmd"}), 0);
}

TEST_F(SpawnTest, FinishedBackgroundChildrenAreReapedByLaterSpawns) {
  std::vector<pid_t> pids;
  for (int i = 0; i < 3; ++i) {
    const int32_t pid = spawn_background({"true"});
    ASSERT_GT(pid, 0);
    pids.push_back(pid);
  }
  // Earlier ones may already have been reaped by the later spawn_background calls; the
  // last one has seen no later spawn, so it must linger as a zombie until the next one.
  ASSERT_TRUE(wait_until_zombie(pids.back())) << pids.back();
  for (pid_t pid : pids) ASSERT_TRUE(wait_until_finished(pid)) << pid;
  EXPECT_EQ(spawn_and_wait({"true"}), 0);
  for (pid_t pid : pids) {
    // Reaped: no zombie left and not our child any more.
    EXPECT_EQ(proc_state(pid), 0) << pid;
    errno = 0;
    EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
  }
}

TEST_F(SpawnTest, BackgroundSpawnAlsoReapsEarlierBackgroundChildren) {
  const int32_t first = spawn_background({"true"});
  ASSERT_GT(first, 0);
  ASSERT_TRUE(wait_until_zombie(first));
  const int32_t second = spawn_background({"sleep", "0"});
  ASSERT_GT(second, 0);
  EXPECT_EQ(proc_state(first), 0);
  ASSERT_TRUE(wait_until_zombie(second));
  EXPECT_EQ(spawn_and_wait({}), 0);  // even an empty argv reaps
  EXPECT_EQ(proc_state(second), 0);
}

}  // namespace
}  // namespace fusevm
