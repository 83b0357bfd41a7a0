// DefaultHost: command substitution, process substitution and subshells (all forked).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "host/default_host_impl.hpp"

namespace fusevm {

void DefaultHost::Impl::run_substitution(HostContext& cx, const Chunk& sub) {
  VMResult r = cx.run_chunk(sub);
  int32_t status = cx.last_status();
  if (r.is_error()) {
    report("fusevm: " + r.error().message);
    status = 1;
  } else if (r.is_ok() && r.value().is_status()) {
    status = r.value().as_status();  // the last command's Status (Exec leaves $? alone)
  }
  leave(cx, status);
}

namespace {

// The first fd above the ones a program names in its redirections (0-9).
constexpr int kFirstHighFd = 10;

// A pipe whose ends are both above the standard fds.
bool make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  for (int k = 0; k < 2; ++k) {
    if (fds[k] > 2) continue;
    const int hi = ::fcntl(fds[k], F_DUPFD_CLOEXEC, 10);
    ::close(fds[k]);
    fds[k] = hi;
  }
  if (fds[0] < 0 || fds[1] < 0) {
    const int saved = errno;
    if (fds[0] >= 0) ::close(fds[0]);
    if (fds[1] >= 0) ::close(fds[1]);
    errno = saved;
    return false;
  }
  return true;
}

}  // namespace

std::string DefaultHost::cmd_subst(HostContext& cx, const Chunk& sub) {
  Impl& m = *impl_;
  m.reap();
  int fds[2];
  if (!make_pipe(fds)) {
    Impl::report(std::string("command substitution: pipe: ") + std::strerror(errno));
    cx.set_last_status(1);
    return "";
  }
  const pid_t pid = m.fork_child(cx, ChildRole::Substitution, "command substitution: fork");
  if (pid == 0) {
    ::close(fds[0]);
    move_fd(fds[1], 1);
    Impl::run_substitution(cx, sub);
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    cx.set_last_status(1);
    return "";
  }
  std::string out;
  const size_t limit = cx.vm().limits().max_string;
  bool too_long = false;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() + static_cast<size_t>(n) > limit) {
      too_long = true;
      ::kill(pid, SIGKILL);  // it would never fit in a string; stop producing it
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  const int32_t status = Impl::wait_for(pid);
  if (too_long) {
    cx.vm().raise_error("limit exceeded: string size (" + std::to_string(limit) + ")");
    return "";
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();  // as shells strip them
  cx.set_last_status(status);
  return out;
}

// `<(cmd)` reads what cmd writes, `>(cmd)` writes to cmd's stdin; the parent's end is
// left open without CLOEXEC, so the next command opens it as /dev/fd/N, and is closed
// when that command is done.
std::string DefaultHost::Impl::process_sub(HostContext& cx, const Chunk& sub, bool in) {
  Impl& m = *this;
  m.reap();
  int fds[2];
  if (!make_pipe(fds)) {
    report(std::string("process substitution: pipe: ") + std::strerror(errno));
    cx.set_last_status(1);
    return "";
  }
  // The /dev/fd/N end stays open in this process while the program runs, so it must not
  // sit on 0-9, the fds the program redirects itself: on fd 3, `cat <(x) 3>log` read the
  // log instead of the pipe, and the scope's restore then left the pipe open, untracked
  // and inheritable, for good. (bash keeps these fds high for the same reason.)
  int& parent_slot = in ? fds[0] : fds[1];
  if (parent_slot < kFirstHighFd) {
    const int high = ::fcntl(parent_slot, F_DUPFD_CLOEXEC, kFirstHighFd);
    if (high < 0) {
      report(std::string("process substitution: ") + std::strerror(errno));
      ::close(fds[0]);
      ::close(fds[1]);
      cx.set_last_status(1);
      return "";
    }
    ::close(parent_slot);
    parent_slot = high;
  }
  const int child_end = in ? fds[1] : fds[0];
  const int parent_end = in ? fds[0] : fds[1];
  const pid_t pid = m.fork_child(cx, ChildRole::Substitution, "process substitution: fork");
  if (pid == 0) {
    ::close(parent_end);
    // Other /dev/fd/N ends of the parent would keep their pipes open in here.
    for (int fd : m.procsub_fds) ::close(fd);
    m.procsub_fds.clear();
    move_fd(child_end, in ? 1 : 0);
    run_substitution(cx, sub);
  }
  ::close(child_end);
  if (pid < 0) {
    ::close(parent_end);
    cx.set_last_status(1);
    return "";
  }
  ::fcntl(parent_end, F_SETFD, 0);
  m.procsub_fds.push_back(parent_end);
  m.helpers.push_back(pid);
  return "/dev/fd/" + std::to_string(parent_end);
}

std::string DefaultHost::process_sub_in(HostContext& cx, const Chunk& sub) {
  return impl_->process_sub(cx, sub, true);
}

std::string DefaultHost::process_sub_out(HostContext& cx, const Chunk& sub) {
  return impl_->process_sub(cx, sub, false);
}

HostAction DefaultHost::subshell_begin(HostContext& cx) {
  Impl& m = *impl_;
  m.reap();
  const pid_t pid = m.fork_child(cx, ChildRole::Subshell, "subshell: fork");
  if (pid == 0) {
    Nest n;
    n.kind = Nest::Kind::SubshellChild;
    n.stack_base = cx.vm().stack().size();
    m.nests.push_back(n);
    return HostAction::ContinueForked;
  }
  // Whatever was pending for the next command went into the subshell.
  m.pending_stdin.reset();
  m.redirect_failed = false;
  const int32_t status = pid < 0 ? 1 : Impl::wait_for(pid);
  m.release_procsubs();
  cx.set_last_status(status);
  return HostAction::SkipToMatchingEnd;
}

void DefaultHost::subshell_end(HostContext& cx) {
  Impl& m = *impl_;
  if (m.nests.empty() || m.nests.back().kind != Nest::Kind::SubshellChild) return;
  Impl::leave(cx, m.child_status(cx, m.nests.back()));
}

}  // namespace fusevm
