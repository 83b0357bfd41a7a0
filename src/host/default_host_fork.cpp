// DefaultHost: forking children (stages, subshells, substitutions) and leaving them.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "host/default_host_impl.hpp"
#include "vm/fd_write.hpp"

namespace fusevm {

OutputFn child_output_sink() {
  // A forked child has no embedder to hand output to: fd 1 is its output. When the
  // reader is gone it stops, as a process killed by SIGPIPE would, so
  // `while true; do echo y; done | head -1` ends.
  return [](std::string_view bytes) {
    if (write_all_no_sigpipe(1, bytes) == FdWriteResult::BrokenPipe) ::_exit(128 + SIGPIPE);
  };
}

pid_t DefaultHost::Impl::fork_child(HostContext& cx, ChildRole role, const char* what) {
  cx.flush_output();  // or the child would print the parent's buffered output again
  const pid_t pid = ::fork();
  if (pid < 0) {
    report(std::string(what) + ": " + std::strerror(errno));
    return -1;
  }
  if (pid > 0) return pid;
  forked = true;
  // Stages and subshells continue in this VM's code and end at its boundary (or in
  // run_finished); a substitution child runs a sub-chunk and leaves on its own.
  forked_vm = role == ChildRole::Substitution ? nullptr : &cx.vm();
  jobs.clear();  // the parent's children: this process cannot wait for them
  helpers.clear();
  reset_traps_in_child();
  cx.vm().set_output(child_output_sink());
  if (role == ChildRole::Substitution) {
    // The substitution is part of a word, not of the command being built around it.
    nests.clear();
    pending_stdin.reset();
    redirect_failed = false;
  }
  return 0;
}

void DefaultHost::Impl::leave(HostContext& cx, int32_t status) {
  cx.flush_output();
  ::_exit(status & 0xff);
}

int32_t DefaultHost::Impl::child_status(HostContext& cx, const Nest& nest) const {
  // A command leaves Status on the stack (Exec does not set $?), so the stage's own
  // result comes first, then $?.
  ValueStack& stack = cx.vm().stack();
  if (stack.size() > nest.stack_base && stack.back().is_status()) return stack.back().as_status();
  return cx.last_status();
}

}  // namespace fusevm
