// DefaultHost: N-stage pipelines, one forked child per stage joined by real pipes.
//
// Bytecode shape: PipelineBegin(n); stage 1; PipelineStage; stage 2; ...; PipelineEnd.
// The parent forks stage 1 at PipelineBegin and each next stage at PipelineStage, and
// skips the stage code itself; a child runs its stage and leaves at the next boundary
// of its own pipeline; PipelineEnd in the parent waits for every stage.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "host/default_host_impl.hpp"

namespace fusevm {

namespace {

// In a stage child: stdin from `in`, stdout to `out` (either may be -1: inherited).
// Both are lifted above the standard fds first, so that no dup2 clobbers the other.
void wire_stage(int in, int out, int unused) {
  if (unused >= 0) ::close(unused);
  auto lift = [](int fd) {
    if (fd < 0 || fd > 2) return fd;
    const int hi = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
    ::close(fd);
    return hi;
  };
  in = lift(in);
  out = lift(out);
  move_fd(in, 0);
  move_fd(out, 1);
}

}  // namespace

HostAction DefaultHost::Impl::start_stage(HostContext& cx) {
  Nest& p = nests.back();
  if (p.failed) return HostAction::SkipToMatchingEnd;
  const bool last = p.stage + 1 >= p.stages;
  int fds[2] = {-1, -1};
  auto fail = [&](const std::string& message) {
    report(message);
    p.failed = true;
    // Earlier stages see EOF or EPIPE and finish; PipelineEnd collects them.
    if (p.prev_read >= 0) ::close(p.prev_read);
    p.prev_read = -1;
    return HostAction::SkipToMatchingEnd;
  };
  if (!last && ::pipe2(fds, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
  const int prev = p.prev_read;
  const pid_t pid = fork_child(cx, ChildRole::Stage, "fork");
  if (pid < 0) {
    if (!last) {
      ::close(fds[0]);
      ::close(fds[1]);
    }
    p.failed = true;
    if (p.prev_read >= 0) ::close(p.prev_read);
    p.prev_read = -1;
    return HostAction::SkipToMatchingEnd;
  }
  if (pid == 0) {
    wire_stage(prev, last ? -1 : fds[1], last ? -1 : fds[0]);
    Nest child;
    child.kind = Nest::Kind::StageChild;
    child.stack_base = cx.vm().stack().size();
    nests.back() = child;
    return HostAction::ContinueForked;
  }
  if (prev >= 0) ::close(prev);
  p.prev_read = last ? -1 : fds[0];
  if (!last) ::close(fds[1]);
  p.pids.push_back(pid);
  // A here-document or failed redirection before the pipeline went to this stage.
  pending_stdin.reset();
  redirect_failed = false;
  return HostAction::SkipToMatchingEnd;
}

HostAction DefaultHost::pipeline_begin(HostContext& cx, uint8_t n) {
  Impl& m = *impl_;
  m.reap();
  Nest p;
  p.kind = Nest::Kind::Pipeline;
  p.stages = n == 0 ? 1 : n;
  m.nests.push_back(std::move(p));
  return m.start_stage(cx);
}

HostAction DefaultHost::pipeline_stage(HostContext& cx) {
  Impl& m = *impl_;
  if (m.nests.empty()) return HostAction::Continue;  // no pipeline open: nothing to do
  Nest& top = m.nests.back();
  if (top.kind == Nest::Kind::StageChild) Impl::leave(cx, m.child_status(cx, top));
  if (top.kind != Nest::Kind::Pipeline) return HostAction::Continue;
  m.reap();
  ++top.stage;
  return m.start_stage(cx);
}

int32_t DefaultHost::pipeline_end(HostContext& cx) {
  Impl& m = *impl_;
  if (m.nests.empty()) return cx.last_status();
  Nest& top = m.nests.back();
  if (top.kind == Nest::Kind::StageChild) Impl::leave(cx, m.child_status(cx, top));
  if (top.kind != Nest::Kind::Pipeline) return cx.last_status();
  Nest p = std::move(top);
  m.nests.pop_back();
  // Fewer stages than announced: nobody will read the last pipe.
  if (p.prev_read >= 0) ::close(p.prev_read);
  std::vector<int32_t> statuses;
  for (pid_t pid : p.pids) statuses.push_back(Impl::wait_for(pid));
  // A stage that could not be started counts as a failure of 1.
  while (statuses.size() < p.stages && p.failed) statuses.push_back(1);
  if (statuses.empty()) statuses.push_back(1);
  m.release_procsubs();
  m.reap();
  if (m.options.pipefail) {
    for (auto it = statuses.rbegin(); it != statuses.rend(); ++it)
      if (*it != 0) return *it;
    return 0;
  }
  return statuses.back();
}

}  // namespace fusevm
