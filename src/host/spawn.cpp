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
#include "host/spawn_attrs.hpp"

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

// Spawn argv through PATH with `attrs`; the child's pid, or -1 if it could not be started.
pid_t spawn_path(const SpawnAttrs& attrs, const std::vector<std::string>& argv) {
  if (!attrs.ok() || argv.empty()) return -1;
  // A NUL inside an argument cannot be passed to exec; refuse rather than truncate.
  for (const std::string& a : argv) {
    if (a.find('\0') != std::string::npos) return -1;
  }
  std::vector<char*> cargv = c_strings(argv);
  pid_t pid = -1;
  // glibc reports exec failures (ENOENT, EACCES, ENOEXEC) as the return value.
  if (::posix_spawnp(&pid, cargv[0], attrs.actions(), attrs.attr(), cargv.data(), environ) != 0) return -1;
  return pid;
}

}  // namespace

int32_t spawn_and_wait(const std::vector<std::string>& argv) {
  reap_background();
  if (argv.empty()) return 0;
  SpawnAttrs attrs;
  const pid_t pid = spawn_path(attrs, argv);
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
  SpawnAttrs attrs;
  attrs.open_on(1, "/dev/null", O_WRONLY);  // stdout and stderr to the null device
  attrs.dup_onto(1, 2);
  const pid_t pid = spawn_path(attrs, argv);
  if (pid <= 0) return 0;
  std::lock_guard<std::mutex> lock(bg_mutex);
  bg_pids.push_back(pid);
  return static_cast<int32_t>(pid);
}

}  // namespace fusevm
