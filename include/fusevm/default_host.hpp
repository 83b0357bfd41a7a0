// DefaultHost: a POSIX ShellHost a real shell can run on (processes, pipes, fds, traps).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fusevm/host.hpp"
#include "fusevm/shell_vars.hpp"

namespace fusevm {

/// Options of a DefaultHost.
struct DefaultHostOptions {
  bool pipefail = false;      ///< a pipeline's status is the last non-zero stage status
  bool seed_environ = true;   ///< start the variable table from `environ`
  bool dotglob = false;       ///< globs match leading dots
};

/// A ShellHost that runs real processes.
///
/// - Variables: `lookup` resolves a name to the calling VM's global of that name when the
///   chunk's name pool has it and it is not Undef, else to the host's ShellVars table.
///   Children get `vars().environment()` with exported globals overriding the table.
/// - Commands: posix_spawn through PATH with default signal dispositions and an empty
///   mask; status is the exit code, 128+N for signal N, 127 if it cannot start.
///   Background children are reaped (no zombies).
/// - Pipelines, subshells, `$(...)`, `<(...)`/`>(...)` fork; a forked child runs its code
///   and leaves with `_exit`, never returning into the embedding program's frames.
/// - Redirections change real file descriptors; WithRedirectsBegin/End scopes restore
///   them exactly. While fd 1 is redirected, the VM's own output follows it.
/// - Traps record the signal in an async-signal-safe handler and run at TrapCheck.
class DefaultHost : public ShellHost {
 public:
  /// A host with `options`.
  explicit DefaultHost(DefaultHostOptions options = {});
  /// Restores signal dispositions it changed and reaps finished children.
  ~DefaultHost() override;

  /// The variable table.
  ShellVars& vars();
  /// The variable table.
  const ShellVars& vars() const;
  /// The options in force.
  DefaultHostOptions& options();

  /// Variable value as `expand_param` and word splitting see it (globals first).
  std::optional<Value> lookup(HostContext& cx, std::string_view name);
  /// Assign a variable: the VM global if the chunk names it, else the table.
  void assign(HostContext& cx, std::string_view name, Value v);
  /// Pids of background children not yet reaped.
  std::vector<int32_t> background_jobs();
  /// Wait for background child `pid` (or every one when pid is 0); its status.
  int32_t wait_background(int32_t pid = 0);
  /// Run the EXIT trap, if one is set (a frontend calls this when its program ends).
  void run_exit_trap(HostContext& cx);

  std::vector<std::string> glob(HostContext& cx, const std::string& pattern,
                                bool recursive) override;
  std::string tilde_expand(HostContext& cx, const std::string& s) override;
  std::vector<std::string> brace_expand(HostContext& cx, const std::string& s) override;
  std::vector<std::string> word_split(HostContext& cx, const std::string& s) override;
  Value expand_param(HostContext& cx, const std::string& name, uint8_t mod,
                     std::vector<Value> args) override;
  std::string cmd_subst(HostContext& cx, const Chunk& sub) override;
  std::string process_sub_in(HostContext& cx, const Chunk& sub) override;
  std::string process_sub_out(HostContext& cx, const Chunk& sub) override;
  void redirect(HostContext& cx, uint8_t fd, uint8_t op, const std::string& target) override;
  void heredoc(HostContext& cx, const std::string& content) override;
  void herestring(HostContext& cx, const std::string& content) override;
  HostAction pipeline_begin(HostContext& cx, uint8_t n) override;
  HostAction pipeline_stage(HostContext& cx) override;
  int32_t pipeline_end(HostContext& cx) override;
  HostAction subshell_begin(HostContext& cx) override;
  void subshell_end(HostContext& cx) override;
  void trap_set(HostContext& cx, const std::string& signal, const Chunk& handler) override;
  void trap_check(HostContext& cx) override;
  void with_redirects_begin(HostContext& cx, uint8_t n) override;
  void with_redirects_end(HostContext& cx) override;
  std::optional<int32_t> call_function(HostContext& cx, const std::string& name,
                                       const std::vector<std::string>& args) override;
  int32_t exec(HostContext& cx, const std::vector<std::string>& argv) override;
  /// Skips the builtin (status 1) when its redirection failed; drops its here-document.
  std::optional<int32_t> inline_builtin_begin(HostContext& cx,
                                              const std::vector<std::string>& argv) override;
  /// Closes the builtin's process-substitution fds.
  void inline_builtin_end(HostContext& cx) override;
  int32_t exec_bg(HostContext& cx, const std::vector<std::string>& argv) override;
  bool str_match(HostContext& cx, const std::string& s, const std::string& pattern) override;
  bool regex_match(HostContext& cx, const std::string& s, const std::string& re) override;
  /// In a forked stage or subshell whose code ended early: _exit with its status.
  void run_finished(HostContext& cx, const VMResult& result) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fusevm
