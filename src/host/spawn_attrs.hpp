// posix_spawn's attribute and file-action objects, set up the one way every spawner in
// the host layer needs them (the no-host path in spawn.cpp and DefaultHost).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

#include <string>
#include <vector>

namespace fusevm {

/// Owns one spawn's attribute and file-action objects. The child gets the default
/// disposition of every catchable signal and an empty mask: our handlers are reset by
/// exec anyway, but ignored signals and a blocked mask survive it (an ignored SIGPIPE
/// would break `yes | head` style children).
class SpawnAttrs {
 public:
  SpawnAttrs() {
    attr_ok_ = ::posix_spawnattr_init(&attr_) == 0;
    actions_ok_ = ::posix_spawn_file_actions_init(&actions_) == 0;
    if (!attr_ok_ || !actions_ok_) return;
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    sigset_t none;
    sigemptyset(&none);
    ok_ = ::posix_spawnattr_setsigdefault(&attr_, &all) == 0 &&
          ::posix_spawnattr_setsigmask(&attr_, &none) == 0 &&
          ::posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) == 0;
  }
  ~SpawnAttrs() {
    if (actions_ok_) ::posix_spawn_file_actions_destroy(&actions_);
    if (attr_ok_) ::posix_spawnattr_destroy(&attr_);
  }
  SpawnAttrs(const SpawnAttrs&) = delete;
  SpawnAttrs& operator=(const SpawnAttrs&) = delete;

  /// True while every set-up step has succeeded.
  bool ok() const { return ok_; }
  /// The child opens `path` with `flags` on `fd`.
  void open_on(int fd, const char* path, int flags) {
    ok_ = ok_ && ::posix_spawn_file_actions_addopen(&actions_, fd, path, flags, 0) == 0;
  }
  /// The child's `to` becomes a copy of `from`.
  void dup_onto(int from, int to) { ok_ = ok_ && ::posix_spawn_file_actions_adddup2(&actions_, from, to) == 0; }
  /// For posix_spawn / posix_spawnp.
  const posix_spawnattr_t* attr() const { return &attr_; }
  /// For posix_spawn / posix_spawnp.
  const posix_spawn_file_actions_t* actions() const { return &actions_; }

 private:
  posix_spawnattr_t attr_{};
  posix_spawn_file_actions_t actions_{};
  bool attr_ok_ = false;
  bool actions_ok_ = false;
  bool ok_ = false;
};

/// argv/envp for exec: pointers into `strings`, then a terminating null.
inline std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace fusevm
