// DefaultHost::Impl: the state behind DefaultHost, shared by its default_host_*.cpp files.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fusevm/default_host.hpp"
#include "fusevm/host.hpp"
#include "fusevm/shell_vars.hpp"

namespace fusevm {

/// One fd changed inside a WithRedirects scope and how to put it back.
struct SavedFd {
  int fd = -1;        ///< the redirected descriptor
  int copy = -1;      ///< a CLOEXEC duplicate (>= 10) of its old file; -1: it was closed
  int fd_flags = 0;   ///< its old FD_CLOEXEC state
};

/// A WithRedirectsBegin ... WithRedirectsEnd scope.
struct RedirectScope {
  std::vector<SavedFd> saved;           ///< in the order first changed
  bool sink_saved = false;              ///< the VM's output sink was replaced in the scope
  OutputFn sink;                        ///< the sink to put back when sink_saved
  bool failed = false;                  ///< a redirection failed: later ones are skipped
};

/// An entry of the nesting stack: a pipeline this process drives, or the pipeline stage
/// or subshell this (forked) process is.
struct Nest {
  enum class Kind : uint8_t { Pipeline, StageChild, SubshellChild };
  Kind kind = Kind::Pipeline;
  // Pipeline (parent side)
  size_t stages = 1;                 ///< stage count announced by PipelineBegin
  size_t stage = 0;                  ///< index of the stage being started
  int prev_read = -1;                ///< read end of the pipe from the previous stage
  std::vector<pid_t> pids;           ///< started stages, in order
  bool failed = false;               ///< a pipe or fork failed: remaining stages skipped
  // StageChild / SubshellChild
  size_t stack_base = 0;             ///< VM stack height when the child was forked
};

/// A background job started by exec_bg.
struct Job {
  pid_t pid = 0;
  bool done = false;   ///< reaped; `status` is valid
  int32_t status = 0;
};

/// What a forked child is for.
enum class ChildRole : uint8_t { Stage, Subshell, Substitution };

struct DefaultHost::Impl {
  explicit Impl(DefaultHostOptions o);

  DefaultHostOptions options;
  ShellVars vars;

  std::vector<RedirectScope> scopes;
  std::vector<Nest> nests;
  std::vector<Job> jobs;
  std::vector<pid_t> helpers;           ///< process-substitution children, reaped quietly
  std::vector<int> procsub_fds;         ///< /dev/fd/N ends kept open for the next command

  // The next command: a here-document to read, or a failed redirection that stops it.
  std::optional<std::string> pending_stdin;
  bool redirect_failed = false;

  // Traps (signal number -> handler); the EXIT trap apart.
  std::map<int, Chunk> traps;
  std::map<int, struct sigaction> saved_actions;
  std::optional<Chunk> exit_trap;

  // Set in a forked child: it must leave with _exit and never return to the embedder.
  bool forked = false;
  VM* forked_vm = nullptr;              ///< the VM that continues into the child's code

  // -- helpers (defined across the default_host_*.cpp files) --------------------------
  /// Write "text\n" to fd 2, immune to SIGPIPE.
  static void report(const std::string& text);
  /// Reap finished background jobs and helpers without blocking.
  void reap();
  /// Close the /dev/fd/N ends of process substitutions (the command using them is done).
  void release_procsubs();
  /// Closes the /dev/fd/N ends of process substitutions when the command using them is
  /// done (at the end of exec / exec_bg, whichever way it returns).
  struct ProcsubRelease {
    Impl& m;
    ~ProcsubRelease() { m.release_procsubs(); }
  };
  /// What starting a command decided (shared by exec and exec_bg).
  enum class CommandStart { Run, RedirectFailed, Empty };
  /// Reap finished children, then decide whether `argv` runs: not after its redirection
  /// failed (already reported), not when it has no words; either way a pending
  /// here-document is consumed.
  CommandStart start_command(const std::vector<std::string>& argv);
  /// Wait for `pid`: exit code, 128+signal, 127 if it cannot be waited for.
  static int32_t wait_for(pid_t pid);
  /// The child's environment: the table's exports with exported VM globals overriding.
  std::vector<std::string> child_environment(HostContext& cx) const;
  /// Spawn argv (stdio inherited except stdin from a pending here-document, or
  /// /dev/null in the background); the pid, or -1 with `*status` set (127 / 1).
  pid_t spawn(HostContext& cx, const std::vector<std::string>& argv, bool background,
              int32_t* status);
  /// A readable fd (CLOEXEC) holding `content`: a pipe when it fits, else an unlinked
  /// temporary file in TMPDIR; -1 with `*error` set on failure.
  int content_fd(HostContext& cx, const std::string& content, std::string* error);
  /// Consume the pending here-document: an fd for it (or -1 if none / on failure,
  /// `*failed` set and the failure reported).
  int take_pending_stdin(HostContext& cx, bool* failed);
  /// Route the VM's own output to the real fd 1 while it is redirected.
  void follow_stdout(HostContext& cx, RedirectScope* scope);
  /// True if `fd` is one this host keeps for itself (saved copies, pipe ends).
  bool is_internal_fd(int fd) const;
  /// Move any internal fd numbered `fd` elsewhere, so `fd` can be reused.
  bool free_fd_number(int fd);
  /// Record fd's current file in `scope` before it changes (once per scope and fd).
  bool save_fd(RedirectScope& scope, int fd, std::string* error);
  /// Put a scope's fds and output sink back.
  void restore_scope(HostContext* cx, RedirectScope& scope);
  /// Apply one redirection; false with `*error` set if it cannot be done.
  bool apply_redirect(HostContext& cx, int fd, uint8_t op, const std::string& target,
                      RedirectScope* scope, std::string* error);
  /// Fork a child for `role`; in the child set it up (0 returned), in the parent the pid
  /// (-1 on failure, reported as "WHAT: strerror").
  pid_t fork_child(HostContext& cx, ChildRole role, const char* what);
  /// In a forked child: flush the VM output and _exit with `status`.
  [[noreturn]] static void leave(HostContext& cx, int32_t status);
  /// The status a forked child leaves with at its end boundary.
  int32_t child_status(HostContext& cx, const Nest& nest) const;
  /// Start the current pipeline stage (fork it); the action for the VM.
  HostAction start_stage(HostContext& cx);
  /// In a substitution child: run `sub` on a child VM and _exit with its status.
  [[noreturn]] static void run_substitution(HostContext& cx, const Chunk& sub);
  /// Fork `<(sub)` (in) or `>(sub)` (out); the /dev/fd path of the parent's end.
  std::string process_sub(HostContext& cx, const Chunk& sub, bool in);
  /// Reset traps in a forked child (shells do not inherit handlers into subshells).
  void reset_traps_in_child();
  /// Restore every signal disposition this host changed.
  void restore_traps();
  /// Run one trap handler chunk with $? preserved; its error text if it failed.
  std::optional<std::string> run_trap(HostContext& cx, const Chunk& handler);
};

/// Hand children nobody will wait for to the process-wide list reaped by every host.
void adopt_orphans(const std::vector<pid_t>& pids);
/// Reap finished children of that list without blocking.
void reap_orphans();
/// Move `from` onto `to` (dup2 + close; a no-op move just clears FD_CLOEXEC).
void move_fd(int from, int to);
/// The output sink of a forked child: fd 1, and _exit(128+SIGPIPE) once the reader is gone.
OutputFn child_output_sink();

}  // namespace fusevm
