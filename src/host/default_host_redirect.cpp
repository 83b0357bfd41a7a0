// DefaultHost: redirections on real fds, WithRedirects scopes, here-documents/strings.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "fusevm/op.hpp"
#include "host/default_host_impl.hpp"
#include "vm/vm_state.hpp"

namespace fusevm {

namespace {

// Internal fds live at 10 and above, out of the way of the shell's 0-9.
constexpr int kFirstInternalFd = 10;
// A here-document up to this size goes through a pipe; larger ones through a temp file,
// so writing it can never block on a reader that has not started yet.
constexpr size_t kPipeContentLimit = 16384;

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

// An fd number written as decimal digits, or -1.
int parse_fd(const std::string& s) {
  if (s.empty() || s.size() > 9) return -1;
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

// Lift `fd` to kFirstInternalFd or above (CLOEXEC); the original is closed.
int lift_fd(int fd) {
  if (fd < 0 || fd >= kFirstInternalFd) return fd;
  const int hi = ::fcntl(fd, F_DUPFD_CLOEXEC, kFirstInternalFd);
  ::close(fd);
  return hi;
}

int pipe_with_content(const std::string& content) {
  if (content.size() > kPipeContentLimit) return -1;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return -1;
  ::fcntl(p[1], F_SETFL, O_NONBLOCK);
  size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = ::write(p[1], content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: the pipe is smaller than expected
    off += static_cast<size_t>(n);
  }
  ::close(p[1]);
  if (off < content.size()) {
    ::close(p[0]);
    return -1;
  }
  return p[0];
}

// An unlinked temporary file in `dir` holding `content`, positioned at its start.
int tmpfile_with_content(const std::string& dir, const std::string& content, std::string* error) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // Filesystems without O_TMPFILE: a named file, removed at once.
    std::string tmpl = dir + "/fusevm-heredoc-XXXXXX";
    fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(tmpl.c_str());
  }
  if (fd < 0) {
    *error = errno_text("here-document: " + dir, errno);
    return -1;
  }
  size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = errno_text("here-document: " + dir, n < 0 ? errno : ENOSPC);
      ::close(fd);
      return -1;
    }
    off += static_cast<size_t>(n);
  }
  if (::lseek(fd, 0, SEEK_SET) != 0) {
    *error = errno_text("here-document: " + dir, errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

void move_fd(int from, int to) {
  if (from < 0) return;
  if (from == to) {
    ::fcntl(to, F_SETFD, 0);  // keep it, but let spawned commands inherit it
    return;
  }
  ::dup2(from, to);
  ::close(from);
}

int DefaultHost::Impl::content_fd(HostContext& cx, const std::string& content, std::string* error) {
  int fd = pipe_with_content(content);
  if (fd < 0) {
    // TMPDIR as lookup() resolves it: the program's global first, then the table.
    std::string dir;
    const std::vector<std::string>& names = cx.names();
    for (size_t k = 0; k < names.size() && k < cx.globals().size(); ++k) {
      if (names[k] != "TMPDIR") continue;
      if (!cx.globals()[k].is_undef()) dir = ShellVars::text_of(cx.globals()[k]);
      break;
    }
    if (dir.empty())
      if (const Value* t = vars.get("TMPDIR")) dir = ShellVars::text_of(*t);
    if (dir.empty()) dir = "/tmp";
    fd = tmpfile_with_content(dir, content, error);
    if (fd < 0) return -1;
  }
  // posix_spawn's dup2 onto fd 0 must not find the source at 0 itself.
  fd = lift_fd(fd);
  if (fd < 0) *error = errno_text("here-document", errno);
  return fd;
}

int DefaultHost::Impl::take_pending_stdin(HostContext& cx, bool* failed) {
  *failed = false;
  if (!pending_stdin) return -1;
  std::string content = std::move(*pending_stdin);
  pending_stdin.reset();
  std::string error;
  const int fd = content_fd(cx, content, &error);
  if (fd < 0) {
    report(error);
    *failed = true;
  }
  return fd;
}

void DefaultHost::Impl::follow_stdout(HostContext& cx, RedirectScope* scope) {
  // A forked child already writes its VM output straight to fd 1; the empty sink of an
  // unredirected VM writes to fd 1 as well.
  if (forked) return;
  VMState& st = cx.vm().state();
  if (!st.output) return;
  if (scope != nullptr && !scope->sink_saved) {
    scope->sink = st.output;
    scope->sink_saved = true;
  }
  cx.vm().set_output(OutputFn());  // the VM's own fd-1 writer, SIGPIPE-safe
}

bool DefaultHost::Impl::is_internal_fd(int fd) const {
  for (const RedirectScope& s : scopes)
    for (const SavedFd& f : s.saved)
      if (f.copy == fd) return true;
  for (const Nest& n : nests)
    if (n.prev_read == fd) return true;
  return false;
}

bool DefaultHost::Impl::free_fd_number(int fd) {
  auto relocate = [&](int& held) {
    if (held != fd) return true;
    const int moved = ::fcntl(held, F_DUPFD_CLOEXEC, kFirstInternalFd);
    if (moved < 0) return false;
    ::close(held);
    held = moved;
    return true;
  };
  for (RedirectScope& s : scopes)
    for (SavedFd& f : s.saved)
      if (!relocate(f.copy)) return false;
  for (Nest& n : nests)
    if (!relocate(n.prev_read)) return false;
  // A /dev/fd/N the program redirects over is no longer ours to close.
  std::erase(procsub_fds, fd);
  return true;
}

bool DefaultHost::Impl::save_fd(RedirectScope& scope, int fd, std::string* error) {
  for (const SavedFd& f : scope.saved)
    if (f.fd == fd) return true;
  SavedFd s;
  s.fd = fd;
  // One of our own fds (moved away before the redirection) is closed as the program sees it.
  const int flags = is_internal_fd(fd) ? -1 : ::fcntl(fd, F_GETFD);
  if (flags < 0) {
    s.copy = -1;  // closed now: closed again when the scope ends
  } else {
    s.fd_flags = flags;
    s.copy = ::fcntl(fd, F_DUPFD_CLOEXEC, kFirstInternalFd);
    if (s.copy < 0) {
      *error = errno_text(std::to_string(fd), errno);
      return false;
    }
  }
  scope.saved.push_back(s);
  return true;
}

void DefaultHost::Impl::restore_scope(HostContext* cx, RedirectScope& scope) {
  for (auto it = scope.saved.rbegin(); it != scope.saved.rend(); ++it) {
    if (it->copy >= 0) {
      ::dup2(it->copy, it->fd);
      ::fcntl(it->fd, F_SETFD, it->fd_flags);
      ::close(it->copy);
    } else {
      ::close(it->fd);
    }
  }
  scope.saved.clear();
  if (scope.sink_saved && cx != nullptr && !forked) cx->vm().set_output(std::move(scope.sink));
  scope.sink_saved = false;
}

bool DefaultHost::Impl::apply_redirect(HostContext& cx, int fd, uint8_t op,
                                       const std::string& target, RedirectScope* scope,
                                       std::string* error) {
  int flags = 0;
  std::vector<int> dests{fd};
  switch (op) {
    case redirect_op::WRITE:
    case redirect_op::CLOBBER: flags = O_WRONLY | O_CREAT | O_TRUNC; break;
    case redirect_op::APPEND: flags = O_WRONLY | O_CREAT | O_APPEND; break;
    case redirect_op::READ: flags = O_RDONLY; break;
    case redirect_op::READ_WRITE: flags = O_RDWR | O_CREAT; break;
    case redirect_op::WRITE_BOTH: flags = O_WRONLY | O_CREAT | O_TRUNC; dests = {1, 2}; break;
    case redirect_op::APPEND_BOTH: flags = O_WRONLY | O_CREAT | O_APPEND; dests = {1, 2}; break;
    case redirect_op::DUP_READ:
    case redirect_op::DUP_WRITE: {
      const int src = parse_fd(target);
      if (target != "-" && src < 0) {
        // `>&word` with a non-number is bash's old spelling of `&>word`.
        if (op == redirect_op::DUP_WRITE && fd == 1)
          return apply_redirect(cx, fd, redirect_op::WRITE_BOTH, target, scope, error);
        *error = target + ": ambiguous redirect";
        return false;
      }
      if (src >= 0 && (::fcntl(src, F_GETFD) < 0 || is_internal_fd(src))) {
        *error = errno_text(target, EBADF);
        return false;
      }
      if (scope != nullptr && !save_fd(*scope, fd, error)) {
        *error = errno_text(target, errno);
        return false;
      }
      if (!free_fd_number(fd)) {
        *error = errno_text(std::to_string(fd), errno);
        return false;
      }
      if (target == "-") {
        ::close(fd);  // `n>&-`
      } else if (src != fd && ::dup2(src, fd) < 0) {
        *error = errno_text(std::to_string(fd), errno);
        return false;
      }
      if (fd == 1) follow_stdout(cx, scope);
      return true;
    }
    default:
      *error = "redirect: unknown operator " + std::to_string(op);
      return false;
  }
  // Save first: open() may hand out the number of a closed fd we are about to fill.
  if (scope != nullptr) {
    for (int d : dests) {
      if (!save_fd(*scope, d, error)) {
        *error = errno_text(target, errno);
        return false;
      }
    }
  }
  // open() blocks on a FIFO until its other end opens; a signal whose handler lacks
  // SA_RESTART (the embedder's; our traps restart) interrupts it, which is no failure.
  int src;
  do {
    src = ::open(target.c_str(), flags | O_CLOEXEC, 0666);
  } while (src < 0 && errno == EINTR);
  if (src < 0) {
    *error = errno_text(target, errno);
    return false;
  }
  for (int d : dests) {
    if (!free_fd_number(d)) {
      *error = errno_text(std::to_string(d), errno);
      ::close(src);
      return false;
    }
  }
  bool src_is_dest = false;
  for (int d : dests) src_is_dest = src_is_dest || d == src;
  for (int d : dests) {
    if (d == src) {
      ::fcntl(d, F_SETFD, 0);
    } else if (::dup2(src, d) < 0) {
      *error = errno_text(std::to_string(d), errno);
      if (!src_is_dest) ::close(src);
      return false;
    }
  }
  if (!src_is_dest) ::close(src);
  for (int d : dests)
    if (d == 1) follow_stdout(cx, scope);
  return true;
}

void DefaultHost::redirect(HostContext& cx, uint8_t fd, uint8_t op, const std::string& target) {
  Impl& m = *impl_;
  m.reap();
  RedirectScope* scope = m.scopes.empty() ? nullptr : &m.scopes.back();
  if (scope != nullptr && scope->failed) return;  // shells stop at the first failure
  std::string error;
  if (m.apply_redirect(cx, fd, op, target, scope, &error)) return;
  Impl::report(error);
  m.redirect_failed = true;  // the command this redirection belongs to does not run
  cx.set_last_status(1);
  if (scope != nullptr) {
    scope->failed = true;
    // Nor does an inline one (echo, Print): its output is dropped until the scope ends.
    VMState& st = cx.vm().state();
    if (!scope->sink_saved) {
      scope->sink = st.output;
      scope->sink_saved = true;
    }
    cx.vm().set_output([](std::string_view) {});
  }
}

void DefaultHost::with_redirects_begin(HostContext&, uint8_t) {
  impl_->reap();
  impl_->scopes.emplace_back();
}

void DefaultHost::with_redirects_end(HostContext& cx) {
  Impl& m = *impl_;
  m.reap();
  if (m.scopes.empty()) return;  // unbalanced End: nothing to restore
  RedirectScope scope = std::move(m.scopes.back());
  m.scopes.pop_back();
  cx.flush_output();
  if (scope.failed && scope.sink_saved && m.forked) {
    // A child mutes through the scope too; its real sink is the fd-1 writer.
    cx.vm().set_output(child_output_sink());
  }
  m.restore_scope(&cx, scope);
  // The scope's command is over: whatever it did not consume expires with it.
  m.redirect_failed = false;
  m.pending_stdin.reset();
  m.release_procsubs();
}

// Inside a scope a here-document is the scope's fd 0 (a compound command reads it,
// builtins included); outside one it feeds the next command only.
void DefaultHost::heredoc(HostContext& cx, const std::string& content) {
  Impl& m = *impl_;
  m.reap();
  if (m.scopes.empty()) {
    m.pending_stdin = content;
    return;
  }
  RedirectScope& scope = m.scopes.back();
  if (scope.failed) return;
  std::string error;
  int fd = m.content_fd(cx, content, &error);
  if (fd >= 0 && !m.save_fd(scope, 0, &error)) {
    ::close(fd);
    fd = -1;
  }
  if (fd < 0 || !m.free_fd_number(0)) {
    if (fd >= 0) ::close(fd);
    if (error.empty()) error = errno_text("here-document", errno);
    Impl::report(error);
    m.redirect_failed = true;
    cx.set_last_status(1);
    scope.failed = true;
    VMState& st = cx.vm().state();
    if (!scope.sink_saved) {
      scope.sink = st.output;
      scope.sink_saved = true;
    }
    cx.vm().set_output([](std::string_view) {});
    return;
  }
  move_fd(fd, 0);
}

void DefaultHost::herestring(HostContext& cx, const std::string& content) {
  heredoc(cx, content + "\n");  // `<<< word` adds the newline a here-string ends with
}

}  // namespace fusevm
