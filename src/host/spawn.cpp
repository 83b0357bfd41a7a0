// Process spawning for the no-host Exec/ExecBg/CallFunction and the default ShellHost.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "fusevm/host.hpp"

extern char** environ;

namespace fusevm {
namespace {

// Exit statuses fixed by spec/host.md §3.
constexpr int32_t kCannotStart = 127;
constexpr int32_t kKilledBySignal = 1;

// Background children not yet reaped. Process-wide because children are: any VM (or
// thread) may start one and any later spawn reaps it. No SIGCHLD handler is installed,
// so embedders keep full control of that signal.
std::mutex bg_mutex;
std::vector<pid_t> bg_pids;

void reap_background() {
  std::lock_guard<std::mutex> lock(bg_mutex);
  std::erase_if(bg_pids, [](pid_t pid) {
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    // r == pid: finished and reaped now; r < 0 (ECHILD): someone else reaped it.
    return r != 0;
  });
}

// Owns posix_spawn's attribute and file-action objects for one spawn.
class SpawnSetup {
 public:
  SpawnSetup() {
    ok_ = ::posix_spawnattr_init(&attr_) == 0;
    if (!ok_) return;
    actions_ok_ = ::posix_spawn_file_actions_init(&actions_) == 0;
    ok_ = actions_ok_;
    // The child must not inherit our handlers' dispositions (already reset by exec) nor
    // ignored signals or a blocked mask (both survive exec): e.g. an ignored SIGPIPE
    // would break `yes | head` style children.
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    sigset_t none;
    sigemptyset(&none);
    ok_ = ok_ && ::posix_spawnattr_setsigdefault(&attr_, &all) == 0 &&
          ::posix_spawnattr_setsigmask(&attr_, &none) == 0 &&
          ::posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) == 0;
  }
  ~SpawnSetup() {
    if (actions_ok_) ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  /// Send stdout and stderr of the child to the null device.
  void discard_output() {
    ok_ = ok_ &&
          ::posix_spawn_file_actions_addopen(&actions_, 1, "/dev/null", O_WRONLY, 0) == 0 &&
          ::posix_spawn_file_actions_adddup2(&actions_, 1, 2) == 0;
  }

  /// Spawn argv through PATH; the child's pid, or -1 if it could not be started.
  pid_t spawn(const std::vector<std::string>& argv) {
    if (!ok_ || argv.empty()) return -1;
    std::vector<char*> cargv;
    cargv.reserve(argv.size() + 1);
    for (const std::string& a : argv) {
      // A NUL inside an argument cannot be passed to exec; refuse rather than truncate.
      if (a.find('\0') != std::string::npos) return -1;
      cargv.push_back(const_cast<char*>(a.c_str()));
    }
    cargv.push_back(nullptr);
    pid_t pid = -1;
    // glibc reports exec failures (ENOENT, EACCES, ENOEXEC) as the return value.
    if (::posix_spawnp(&pid, cargv[0], &actions_, &attr_, cargv.data(), environ) != 0) return -1;
    return pid;
  }

 private:
  posix_spawnattr_t attr_{};
  posix_spawn_file_actions_t actions_{};
  bool ok_ = false;
  bool actions_ok_ = false;
};

}  // namespace

int32_t spawn_and_wait(const std::vector<std::string>& argv) {
  reap_background();
  if (argv.empty()) return 0;
  SpawnSetup setup;
  const pid_t pid = setup.spawn(argv);
  if (pid < 0) return kCannotStart;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, 0);
    if (r == pid) break;
    if (r < 0 && errno == EINTR) continue;
    // ECHILD: something else reaped our child (e.g. SIGCHLD set to SIG_IGN); its status is
    // lost, so report it like a failed start rather than invent a success.
    return kCannotStart;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return kKilledBySignal;
  return kCannotStart;
}

int32_t spawn_background(const std::vector<std::string>& argv) {
  reap_background();
  if (argv.empty()) return 0;
  SpawnSetup setup;
  setup.discard_output();
  const pid_t pid = setup.spawn(argv);
  if (pid <= 0) return 0;
  std::lock_guard<std::mutex> lock(bg_mutex);
  bg_pids.push_back(pid);
  return static_cast<int32_t>(pid);
}

}  // namespace fusevm
