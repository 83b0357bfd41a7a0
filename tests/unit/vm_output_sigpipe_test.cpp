// The VM's default output (fd 1) survives a closed pipe: SIGPIPE never kills the host.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "fusevm/fusevm.hpp"
#include "vm/fd_write.hpp"

namespace fusevm {
namespace {

// Points fd 1 at the write end of a pipe whose read end is closed, for one scope.
class BrokenStdout {
 public:
  BrokenStdout() {
    saved_ = ::fcntl(1, F_DUPFD_CLOEXEC, 10);
    int p[2];
    ok_ = saved_ >= 0 && ::pipe2(p, O_CLOEXEC) == 0;
    if (!ok_) return;
    ::close(p[0]);
    ::dup2(p[1], 1);
    ::close(p[1]);
  }
  ~BrokenStdout() { restore(); }
  void restore() {
    if (saved_ < 0) return;
    ::dup2(saved_, 1);
    ::close(saved_);
    saved_ = -1;
  }
  bool ok() const { return ok_; }

 private:
  int saved_ = -1;
  bool ok_ = false;
};

bool sigpipe_pending() {
  sigset_t s;
  sigemptyset(&s);
  ::sigpending(&s);
  return sigismember(&s, SIGPIPE) == 1;
}

bool sigpipe_blocked() {
  sigset_t s;
  ::pthread_sigmask(SIG_SETMASK, nullptr, &s);
  return sigismember(&s, SIGPIPE) == 1;
}

Chunk print_chunk(const std::string& text) {
  ChunkBuilder b;
  b.emit(Op::LoadConst(b.add_constant(Value::Str(text))), 1);
  b.emit(Op::PrintLn(1), 1);
  b.emit(Op::LoadInt(7), 1);
  return b.build();
}

TEST(VmOutputSigpipe, PrintToAClosedPipeDropsOutputAndKeepsTheProcessAlive) {
  VMResult r = VMResult::Halted();
  bool pending_after = true;
  bool blocked_after = true;
  {
    BrokenStdout broken;
    ASSERT_TRUE(broken.ok());
    VM vm(print_chunk("nobody reads this"));
    r = vm.run();  // flushes to fd 1 at the end of the run
    pending_after = sigpipe_pending();
    blocked_after = sigpipe_blocked();
    broken.restore();
  }
  // Reaching this line at all means SIGPIPE did not kill the test process.
  EXPECT_TRUE(r.is_ok());
  EXPECT_EQ(r.value(), Value::Int(7));
  EXPECT_FALSE(pending_after);  // the SIGPIPE the write raised was consumed
  EXPECT_FALSE(blocked_after);  // the mask is back as it was
}

TEST(VmOutputSigpipe, WriteHelperReportsBrokenPipeAndLeavesAnEarlierPendingSigpipe) {
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &pipe_only, &old), 0);
  ASSERT_EQ(::pthread_kill(::pthread_self(), SIGPIPE), 0);  // someone else's SIGPIPE
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ::close(p[0]);
  const FdWriteResult w = write_all_no_sigpipe(p[1], "data");
  ::close(p[1]);
  const bool still_pending = sigpipe_pending();
  const bool still_blocked = sigpipe_blocked();
  // Take the signal we raised ourselves before unblocking.
  const timespec zero{0, 0};
  ::sigtimedwait(&pipe_only, nullptr, &zero);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(w, FdWriteResult::BrokenPipe);
  EXPECT_TRUE(still_pending);
  EXPECT_TRUE(still_blocked);  // it was blocked before the call, so it stays blocked
}

TEST(VmOutputSigpipe, WriteHelperWritesEverythingToAnOpenPipe) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  EXPECT_EQ(write_all_no_sigpipe(p[1], "hello"), FdWriteResult::Ok);
  char buf[16] = {};
  EXPECT_EQ(::read(p[0], buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf), "hello");
  EXPECT_EQ(write_all_no_sigpipe(-1, "x"), FdWriteResult::Failed);
  ::close(p[0]);
  ::close(p[1]);
}

}  // namespace
}  // namespace fusevm
