// ShellHost defaults (spec/host.md §1): each falls back to what the VM does with no host.
#include <optional>
#include <string>
#include <vector>

#include "fusevm/host.hpp"

namespace fusevm {

ShellHost::~ShellHost() = default;

std::vector<std::string> ShellHost::glob(HostContext&, const std::string& pattern, bool) {
  return fs_glob(pattern);
}

std::string ShellHost::tilde_expand(HostContext&, const std::string& s) { return s; }

std::vector<std::string> ShellHost::brace_expand(HostContext&, const std::string& s) {
  return {s};
}

std::vector<std::string> ShellHost::word_split(HostContext&, const std::string& s) {
  return unicode_word_split(s);
}

Value ShellHost::expand_param(HostContext&, const std::string&, uint8_t, std::vector<Value>) {
  return Value::Str("");
}

Value ShellHost::array_index(HostContext&, const std::string&, const Value&) {
  return Value::Undef();
}

std::string ShellHost::cmd_subst(HostContext&, const Chunk&) { return ""; }

std::string ShellHost::process_sub_in(HostContext&, const Chunk&) { return ""; }

std::string ShellHost::process_sub_out(HostContext&, const Chunk&) { return ""; }

void ShellHost::redirect(HostContext&, uint8_t, uint8_t, const std::string&) {}

void ShellHost::heredoc(HostContext&, const std::string&) {}

void ShellHost::herestring(HostContext&, const std::string&) {}

HostAction ShellHost::pipeline_begin(HostContext&, uint8_t) { return HostAction::Continue; }

HostAction ShellHost::pipeline_stage(HostContext&) { return HostAction::Continue; }

int32_t ShellHost::pipeline_end(HostContext&) { return 0; }

HostAction ShellHost::subshell_begin(HostContext&) { return HostAction::Continue; }

void ShellHost::subshell_end(HostContext&) {}

void ShellHost::trap_set(HostContext&, const std::string&, const Chunk&) {}

void ShellHost::trap_check(HostContext&) {}

void ShellHost::with_redirects_begin(HostContext&, uint8_t) {}

void ShellHost::with_redirects_end(HostContext&) {}

std::optional<int32_t> ShellHost::call_function(HostContext&, const std::string&,
                                                const std::vector<std::string>&) {
  return std::nullopt;
}

// The VM flushes its own output buffer before calling exec, so ordering with the child's
// inherited stdout is already right here.
int32_t ShellHost::exec(HostContext&, const std::vector<std::string>& argv) {
  return spawn_and_wait(argv);
}

int32_t ShellHost::exec_bg(HostContext&, const std::vector<std::string>& argv) {
  return spawn_background(argv);
}

bool ShellHost::str_match(HostContext&, const std::string& s, const std::string& pattern) {
  return s == pattern;
}

bool ShellHost::regex_match(HostContext&, const std::string&, const std::string&) {
  return false;
}

std::optional<int32_t> ShellHost::inline_builtin_begin(HostContext&, const std::vector<std::string>&) {
  return std::nullopt;
}
void ShellHost::inline_builtin_end(HostContext&) {}
void ShellHost::run_finished(HostContext&, const VMResult&) {}

}  // namespace fusevm
