// ShellHost: the callback interface that serves shell ops (spec/host.md, ARCHITECTURE §9).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fusevm/chunk.hpp"
#include "fusevm/value.hpp"
#include "fusevm/vm.hpp"

namespace fusevm {

/// What the VM does after subshell_begin(), pipeline_begin() or pipeline_stage().
enum class HostAction : uint8_t {
  Continue,           ///< run the following code in this process
  SkipToMatchingEnd,  ///< skip it: past the matching SubshellEnd, or to the next
                      ///< PipelineStage / PipelineEnd of the same pipeline
  ContinueForked,     ///< run it in this process, which is a child forked for that code
                      ///< alone: however control leaves it (a jump past its end, a
                      ///< Return out of the enclosing function), the VM goes to its end
                      ///< boundary instead, so the child never runs the parent's code
};

/// What a host call may see and do in the calling VM.
class HostContext {
 public:
  /// Context for `vm`.
  explicit HostContext(VM& vm) : vm_(vm) {}
  /// The calling VM.
  VM& vm() { return vm_; }
  /// Global variables of the calling VM.
  std::vector<Value>& globals() { return vm_.globals(); }
  /// The chunk's name pool (global ids).
  const std::vector<std::string>& names() const { return vm_.chunk().names; }
  /// $? of the calling VM.
  int32_t last_status() const { return vm_.last_status(); }
  /// Set $? of the calling VM.
  void set_last_status(int32_t s) { vm_.set_last_status(s); }
  /// Write to the VM's output sink.
  void write_output(std::string_view bytes);
  /// Flush the VM's output sink.
  void flush_output() { vm_.flush_output(); }
  /// Run `chunk` on a child VM sharing builtins, handlers, host, output and limits.
  /// The child sees the caller's variables: before the run, every name of `chunk`'s
  /// pool that is also in the caller's pool (first match) takes the caller's global of
  /// that name; after the run those globals are written back, so `$(echo $x)` and trap
  /// handlers read and set the shell's variables. Other child globals start Undef.
  VMResult run_chunk(const Chunk& chunk);

 private:
  VM& vm_;
};

/// Runtime side of the shell ops. Every method has a default (spec/host.md §1), so a host
/// overrides only what it needs. Sub-chunks are the running chunk's `sub_chunks`.
class ShellHost {
 public:
  virtual ~ShellHost();
  /// Glob (default: the VM's filesystem glob; `recursive` ignored).
  virtual std::vector<std::string> glob(HostContext& cx, const std::string& pattern,
                                        bool recursive);
  /// Tilde expansion (default: unchanged).
  virtual std::string tilde_expand(HostContext& cx, const std::string& s);
  /// Brace expansion (default: [s]).
  virtual std::vector<std::string> brace_expand(HostContext& cx, const std::string& s);
  /// Word splitting (default: runs of Unicode whitespace, no empty words).
  virtual std::vector<std::string> word_split(HostContext& cx, const std::string& s);
  /// Parameter expansion with a param_mod code and its args in push order
  /// (default: Str("")).
  virtual Value expand_param(HostContext& cx, const std::string& name, uint8_t mod,
                             std::vector<Value> args);
  /// Reserved: never called by the VM (default: Undef).
  virtual Value array_index(HostContext& cx, const std::string& name, const Value& index);
  /// Command substitution: captured stdout (default: "").
  virtual std::string cmd_subst(HostContext& cx, const Chunk& sub);
  /// Process substitution <(...): a path to read from (default: "").
  virtual std::string process_sub_in(HostContext& cx, const Chunk& sub);
  /// Process substitution >(...): a path to write to (default: "").
  virtual std::string process_sub_out(HostContext& cx, const Chunk& sub);
  /// Redirect fd with a redirect_op code to `target` (default: nothing).
  virtual void redirect(HostContext& cx, uint8_t fd, uint8_t op, const std::string& target);
  /// Here-document body (default: nothing).
  virtual void heredoc(HostContext& cx, const std::string& content);
  /// Here-string (default: nothing).
  virtual void herestring(HostContext& cx, const std::string& content);
  /// Start an n-stage pipeline; the result applies to the first stage's code, as for
  /// pipeline_stage() (default: Continue).
  virtual HostAction pipeline_begin(HostContext& cx, uint8_t n);
  /// Boundary between stages (default: Continue).
  virtual HostAction pipeline_stage(HostContext& cx);
  /// End of the pipeline: its status (default: 0).
  virtual int32_t pipeline_end(HostContext& cx);
  /// Start of a subshell (default: Continue).
  virtual HostAction subshell_begin(HostContext& cx);
  /// End of a subshell (default: nothing).
  virtual void subshell_end(HostContext& cx);
  /// Install a trap handler for a named signal (default: nothing).
  virtual void trap_set(HostContext& cx, const std::string& signal, const Chunk& handler);
  /// Run pending traps (default: nothing).
  virtual void trap_check(HostContext& cx);
  /// Start a scope of n redirections (default: nothing).
  virtual void with_redirects_begin(HostContext& cx, uint8_t n);
  /// End the innermost redirection scope (default: nothing).
  virtual void with_redirects_end(HostContext& cx);
  /// Call a shell function; nullopt means "not a function" (default: nullopt).
  virtual std::optional<int32_t> call_function(HostContext& cx, const std::string& name,
                                               const std::vector<std::string>& args);
  /// Run a command and wait: exit code, 1 if signalled, 127 if it cannot start
  /// (default: spawn through PATH with inherited stdio; empty argv gives 0).
  virtual int32_t exec(HostContext& cx, const std::vector<std::string>& argv);
  /// Start a command in the background: its pid, 0 on failure (default: spawn with
  /// stdout/stderr to /dev/null, reaped later).
  virtual int32_t exec_bg(HostContext& cx, const std::vector<std::string>& argv);
  /// Shell pattern match (default: exact equality).
  virtual bool str_match(HostContext& cx, const std::string& s, const std::string& pattern);
  /// Regex match (default: false).
  virtual bool regex_match(HostContext& cx, const std::string& s, const std::string& re);
  /// An inline builtin (echo, true, false, test, [) is about to run inside the VM, where
  /// exec() never sees it: a status skips it (its redirection failed), nullopt runs it
  /// (default: nullopt).
  virtual std::optional<int32_t> inline_builtin_begin(HostContext& cx,
                                                      const std::vector<std::string>& argv);
  /// The inline builtin has run: state that belonged to that one command (a pending
  /// here-document, process-substitution fds) ends here (default: nothing).
  virtual void inline_builtin_end(HostContext& cx);
  /// run() or an outermost call() of a VM using this host is about to return `result`
  /// (default: nothing). A forking host ends a forked child here, so the child never
  /// returns into the embedding program.
  virtual void run_finished(HostContext& cx, const VMResult& result);
};

// -- The VM's own shell behaviours, shared by the no-host path and the defaults ----
/// Filesystem glob of spec/ops.md §20.4: sorted, `*` `?` `[...]` `[!...]` `**`.
std::vector<std::string> fs_glob(const std::string& pattern);
/// Split on runs of Unicode White_Space (UTF-8), no empty words.
std::vector<std::string> unicode_word_split(std::string_view s);
/// Spawn argv through PATH and wait: exit code, 1 if signalled, 127 if it cannot start.
int32_t spawn_and_wait(const std::vector<std::string>& argv);
/// TestFile: apply file_test `code` to `path` on the real filesystem (never the host).
/// IS_READABLE/IS_WRITABLE/IS_EXECUTABLE use access() (a listed departure).
bool test_file(const std::string& path, uint8_t code);
/// Spawn argv with stdout/stderr to /dev/null without waiting: pid, or 0 on failure.
/// Finished background children are reaped by later calls.
int32_t spawn_background(const std::vector<std::string>& argv);

}  // namespace fusevm
