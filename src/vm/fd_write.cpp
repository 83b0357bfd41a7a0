// write_all_no_sigpipe: fd output that reports a broken pipe instead of dying of SIGPIPE.
#include "vm/fd_write.hpp"

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace fusevm {

FdWriteResult write_all_no_sigpipe(int fd, std::string_view bytes) {
  const int saved_errno = errno;
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigset_t old_mask;
  // SIGPIPE is never ignored process-wide (ARCHITECTURE §9): children and other threads
  // keep the default, so only this thread's mask changes, and only for this write.
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
  sigset_t pending;
  sigemptyset(&pending);
  ::sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;

  FdWriteResult result = FdWriteResult::Ok;
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      result = errno == EPIPE ? FdWriteResult::BrokenPipe : FdWriteResult::Failed;
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (result == FdWriteResult::BrokenPipe && !was_pending) {
    // The EPIPE raised a thread-directed SIGPIPE that is now pending; take it so that
    // unblocking does not deliver it. A SIGPIPE pending before the write belongs to
    // someone else and stays.
    const timespec zero{0, 0};
    while (::sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = saved_errno;
  return result;
}

}  // namespace fusevm
