// Out-of-line shell ops (spec/ops.md §20): host calls, and the VM's own no-host behaviour.
#include <algorithm>
#include <exception>
#include <optional>

#include "fusevm/host.hpp"
#include "vm/interp.hpp"
#include "vm/semantics.hpp"

namespace fusevm {

namespace {

// Argument list of Exec/ExecBg/CallFunction: the top `argc` values (all if fewer) in push
// order; an Array contributes each element's to_str (one level), anything else to_str.
std::vector<std::string> take_args(VMState& st, size_t argc) {
  const size_t n = std::min(argc, st.stack.size());
  const size_t from = st.stack.size() - n;
  std::vector<std::string> args;
  args.reserve(n);
  for (size_t k = from; k < st.stack.size(); ++k) {
    const Value& v = st.stack[k];
    if (v.is_array()) {
      for (const Value& e : v.as_array()) args.push_back(e.to_str());
    } else {
      args.push_back(v.to_str());
    }
  }
  st.stack.truncate(from);
  return args;
}

Value str_array(const std::vector<std::string>& items) {
  ValueArray a;
  a.reserve(items.size());
  for (const auto& s : items) a.push_back(Value::Str(s));
  return Value::Array(std::move(a));
}

// Every host call: output flushed first, exceptions and raise_error() contained.
template <class F>
bool host_call(VMState& st, const char* what, F&& fn) {
  st.flush_output();
  return contained_call(st, [what] { return std::string("host ") + what; }, std::forward<F>(fn));
}

// Index of the op after the SubshellEnd matching the SubshellBegin at `at`.
uint64_t after_matching_subshell_end(const Chunk& c, uint64_t at) {
  int depth = 0;
  for (uint64_t k = at; k < c.ops.size(); ++k) {
    const OpCode op = c.ops[k].code();
    if (op == OpCode::SubshellBegin) ++depth;
    if (op == OpCode::SubshellEnd && --depth == 0) return k + 1;
  }
  return c.ops.size();
}

// Index of the next PipelineStage or PipelineEnd of the pipeline whose PipelineBegin or
// stage boundary is at `at` (nested pipelines skipped).
uint64_t next_pipeline_boundary(const Chunk& c, uint64_t at) {
  int depth = 0;
  for (uint64_t k = at + 1; k < c.ops.size(); ++k) {
    const OpCode op = c.ops[k].code();
    if (op == OpCode::PipelineBegin) ++depth;
    else if (op == OpCode::PipelineEnd && depth > 0) --depth;
    else if (depth == 0 && (op == OpCode::PipelineStage || op == OpCode::PipelineEnd)) return k;
  }
  return c.ops.size();
}

bool is_inline_builtin(const std::string& cmd) {
  return cmd == "true" || cmd == "test" || cmd == "[" || cmd == "false" || cmd == "echo";
}

// Precondition: is_inline_builtin(args[0]).
int32_t run_inline_builtin(VMState& st, const std::vector<std::string>& args) {
  const std::string& cmd = args[0];
  if (cmd == "false") return 1;
  if (cmd != "echo") return 0;  // true, and test/[ which evaluate nothing
  std::string line;
  for (size_t k = 1; k < args.size(); ++k) {
    if (k > 1) line.push_back(' ');
    line += args[k];
  }
  line.push_back('\n');
  st.write_output(line);
  return 0;
}

}  // namespace

OpStatus enter_function(VMState& st, uint64_t entry, const std::vector<std::string>& args) {
  if (st.call_depth_full()) {
    st.set_limit_error("call depth", st.limits.max_call_depth, st.ip - 1);
    return OpStatus::Error;
  }
  if (st.stack.size() + args.size() > st.limits.max_stack) {
    st.set_limit_error("value stack", st.limits.max_stack, st.ip - 1);
    return OpStatus::Error;
  }
  const size_t base = st.stack.size();
  for (const auto& a : args) st.stack.push_back(Value::Str(a));
  st.frames.push(st.ip, base, FrameKind::Call, st.cur_stream);
  st.ip = entry;
  st.cur_stream = CodeSet::kMain;  // sub bodies live in the main stream
  return OpStatus::Jumped;
}

namespace {

// HostAction::ContinueForked: this process runs [op_ip + 1, end] alone.
void enter_fork_region(VMState& st, uint64_t op_ip, uint64_t end) {
  VMState::ForkRegion r;
  r.begin = op_ip + 1;
  r.end = std::min<uint64_t>(end, st.chunk.ops.size());
  r.stream = st.cur_stream;
  r.call_depth = st.frames.call_count();
  st.fork_regions.push_back(r);
  st.refresh_poll();
}

// A boundary op reached: the innermost fork region ending here is over (a host that
// returned ContinueForked normally ends the process in this op's host call).
void leave_fork_region_at(VMState& st, uint64_t op_ip) {
  if (!st.fork_regions.empty() && st.fork_regions.back().end == op_ip) {
    st.fork_regions.pop_back();
    st.refresh_poll();
  }
}

}  // namespace

OpStatus exec_shell_op(VMState& st, VM& vm, const Insn& in) {
  ShellHost* host = st.host;
  HostContext cx(vm);
  const Chunk& chunk = st.chunk;
  const uint64_t op_ip = st.ip - 1;
  auto sub_chunk = [&](uint16_t k) -> const Chunk* {
    return k < chunk.sub_chunks.size() ? &chunk.sub_chunks[k] : nullptr;
  };
  auto push_or_fail = [&](Value v) { return stack_push(st, std::move(v)) ? OpStatus::Next : OpStatus::Error; };

  switch (static_cast<OpCode>(in.op)) {
    case OpCode::Exec: {
      std::vector<std::string> args = take_args(st, in.a);
      if (args.empty()) return push_or_fail(Value::Status(0));
      // (1) an in-chunk function, host or not
      if (const uint64_t* entry = st.code.exec_entry(st.chunk, args[0])) {
        args.erase(args.begin());
        return enter_function(st, *entry, args);
      }
      // (2) inline builtins, host or not; a host still sees them begin and end, so state
      // it keeps for "the next command" (a here-document, a failed redirection, process-
      // substitution fds) belongs to this one and does not reach a later command.
      if (is_inline_builtin(args[0])) {
        std::optional<int32_t> skipped;
        if (host && !host_call(st, "inline_builtin_begin",
                               [&] { skipped = host->inline_builtin_begin(cx, args); }))
          return OpStatus::Error;
        const int32_t code = skipped ? *skipped : run_inline_builtin(st, args);
        if (host && !host_call(st, "inline_builtin_end", [&] { host->inline_builtin_end(cx); }))
          return OpStatus::Error;
        return push_or_fail(Value::Status(code));
      }
      // (3) the host, or a real spawn
      int32_t code = 0;
      if (host) {
        if (!host_call(st, "exec", [&] { code = host->exec(cx, args); })) return OpStatus::Error;
      } else {
        st.flush_output();
        code = spawn_and_wait(args);
      }
      return push_or_fail(Value::Status(code));  // Exec leaves last_status alone
    }
    case OpCode::ExecBg: {
      std::vector<std::string> args = take_args(st, in.a);
      if (!args.empty()) {
        if (host) {
          if (!host_call(st, "exec_bg", [&] { host->exec_bg(cx, args); })) return OpStatus::Error;
        } else {
          st.flush_output();
          spawn_background(args);
        }
      }
      return push_or_fail(Value::Status(0));  // always Status(0), even if the spawn failed
    }
    case OpCode::CallFunction: {
      const std::string fname = in.a < chunk.names.size() ? chunk.names[in.a] : std::string();
      std::vector<std::string> args = take_args(st, in.b);
      int32_t s = 0;
      if (host) {
        std::optional<int32_t> r;
        if (!host_call(st, "call_function", [&] { r = host->call_function(cx, fname, args); }))
          return OpStatus::Error;
        if (r) {
          s = *r;
        } else {
          std::vector<std::string> argv{fname};
          argv.insert(argv.end(), args.begin(), args.end());
          if (!host_call(st, "exec", [&] { s = host->exec(cx, argv); })) return OpStatus::Error;
        }
      } else {
        if (auto entry = chunk.find_sub(in.a)) return enter_function(st, *entry, args);
        std::vector<std::string> argv{fname};
        argv.insert(argv.end(), args.begin(), args.end());
        st.flush_output();
        s = spawn_and_wait(argv);
      }
      st.last_status = s;
      return push_or_fail(Value::Status(s));
    }
    case OpCode::PipelineBegin: {
      // A forking host forks the first stage here: the child continues into the stage's
      // code, the parent skips to the stage's end boundary.
      HostAction a = HostAction::Continue;
      if (host && !host_call(st, "pipeline_begin", [&] { a = host->pipeline_begin(cx, static_cast<uint8_t>(in.a)); }))
        return OpStatus::Error;
      if (a == HostAction::SkipToMatchingEnd) {
        st.ip = next_pipeline_boundary(chunk, op_ip);
        return OpStatus::Jumped;
      }
      if (a == HostAction::ContinueForked) enter_fork_region(st, op_ip, next_pipeline_boundary(chunk, op_ip));
      return OpStatus::Next;
    }
    case OpCode::PipelineStage: {
      leave_fork_region_at(st, op_ip);
      HostAction a = HostAction::Continue;
      if (host && !host_call(st, "pipeline_stage", [&] { a = host->pipeline_stage(cx); }))
        return OpStatus::Error;
      if (a == HostAction::SkipToMatchingEnd) {
        st.ip = next_pipeline_boundary(chunk, op_ip);
        return OpStatus::Jumped;
      }
      if (a == HostAction::ContinueForked) enter_fork_region(st, op_ip, next_pipeline_boundary(chunk, op_ip));
      return OpStatus::Next;
    }
    case OpCode::PipelineEnd: {
      leave_fork_region_at(st, op_ip);
      int32_t s = st.last_status;
      if (host && !host_call(st, "pipeline_end", [&] { s = host->pipeline_end(cx); }))
        return OpStatus::Error;
      st.last_status = s;
      return push_or_fail(Value::Status(s));
    }
    case OpCode::SubshellBegin: {
      HostAction a = HostAction::Continue;
      if (host && !host_call(st, "subshell_begin", [&] { a = host->subshell_begin(cx); }))
        return OpStatus::Error;
      if (a == HostAction::SkipToMatchingEnd) {
        st.ip = after_matching_subshell_end(chunk, op_ip);
        return OpStatus::Jumped;
      }
      if (a == HostAction::ContinueForked)
        enter_fork_region(st, op_ip, after_matching_subshell_end(chunk, op_ip) - 1);
      return OpStatus::Next;
    }
    case OpCode::SubshellEnd:
      leave_fork_region_at(st, op_ip);
      if (host && !host_call(st, "subshell_end", [&] { host->subshell_end(cx); })) return OpStatus::Error;
      return OpStatus::Next;
    case OpCode::Redirect: {
      const std::string target = stack_pop(st).to_str();
      if (host && !host_call(st, "redirect", [&] {
            host->redirect(cx, static_cast<uint8_t>(in.a), static_cast<uint8_t>(in.b), target);
          }))
        return OpStatus::Error;
      return OpStatus::Next;
    }
    case OpCode::HereDoc: {
      // Pops nothing (the reference's comment mentions an fd; its code takes none).
      if (host) {
        const std::string body = in.a < chunk.constants.size() ? chunk.constants[in.a].to_str() : "";
        if (!host_call(st, "heredoc", [&] { host->heredoc(cx, body); })) return OpStatus::Error;
      }
      return OpStatus::Next;
    }
    case OpCode::HereString: {
      const std::string word = stack_pop(st).to_str();
      if (host && !host_call(st, "herestring", [&] { host->herestring(cx, word); }))
        return OpStatus::Error;
      return OpStatus::Next;
    }
    case OpCode::CmdSubst: case OpCode::ProcessSubIn: case OpCode::ProcessSubOut: {
      std::string out;
      const Chunk* sub = sub_chunk(in.a);
      if (host && sub) {
        const OpCode op = static_cast<OpCode>(in.op);
        const char* what = op == OpCode::CmdSubst ? "cmd_subst"
                           : op == OpCode::ProcessSubIn ? "process_sub_in" : "process_sub_out";
        if (!host_call(st, what, [&] {
              out = op == OpCode::CmdSubst       ? host->cmd_subst(cx, *sub)
                    : op == OpCode::ProcessSubIn ? host->process_sub_in(cx, *sub)
                                                 : host->process_sub_out(cx, *sub);
            }))
          return OpStatus::Error;
      }
      return push_or_fail(Value::Str(std::move(out)));
    }
    case OpCode::Glob: case OpCode::GlobRecursive: {
      const std::string pattern = stack_pop(st).to_str();
      const bool recursive = static_cast<OpCode>(in.op) == OpCode::GlobRecursive;
      std::vector<std::string> paths;
      if (host) {
        if (!host_call(st, "glob", [&] { paths = host->glob(cx, pattern, recursive); }))
          return OpStatus::Error;
      } else {
        paths = fs_glob(pattern);  // `**` already recurses; the flag changes nothing
      }
      return push_or_fail(str_array(paths));
    }
    case OpCode::TestFile: {
      const std::string path = stack_pop(st).to_str();
      return push_or_fail(Value::Bool(test_file(path, static_cast<uint8_t>(in.a))));
    }
    case OpCode::TrapSet: {
      const std::string signal = stack_pop(st).to_str();  // always popped
      const Chunk* sub = sub_chunk(in.a);
      if (host && sub && !host_call(st, "trap_set", [&] { host->trap_set(cx, signal, *sub); }))
        return OpStatus::Error;
      return OpStatus::Next;
    }
    case OpCode::TrapCheck:
      if (host && !host_call(st, "trap_check", [&] { host->trap_check(cx); })) return OpStatus::Error;
      return OpStatus::Next;
    case OpCode::ExpandParam: {
      const uint8_t mod = static_cast<uint8_t>(in.a);
      const size_t k = param_mod::arg_count(mod);
      std::vector<Value> args(k);
      for (size_t n = k; n-- > 0;) args[n] = stack_pop(st);  // restore push order
      const std::string name = stack_pop(st).to_str();
      Value r = Value::Str("");
      if (host && !host_call(st, "expand_param", [&] { r = host->expand_param(cx, name, mod, std::move(args)); }))
        return OpStatus::Error;
      return push_or_fail(std::move(r));
    }
    case OpCode::WordSplit: case OpCode::BraceExpand: {
      const std::string s = stack_pop(st).to_str();
      const bool split = static_cast<OpCode>(in.op) == OpCode::WordSplit;
      std::vector<std::string> words;
      if (host) {
        if (!host_call(st, split ? "word_split" : "brace_expand", [&] {
              words = split ? host->word_split(cx, s) : host->brace_expand(cx, s);
            }))
          return OpStatus::Error;
      } else {
        words = split ? unicode_word_split(s) : std::vector<std::string>{s};
      }
      return push_or_fail(str_array(words));
    }
    case OpCode::TildeExpand: {
      std::string s = stack_pop(st).to_str();
      if (host && !host_call(st, "tilde_expand", [&] { s = host->tilde_expand(cx, s); }))
        return OpStatus::Error;
      return push_or_fail(Value::Str(std::move(s)));
    }
    case OpCode::StrMatch: case OpCode::RegexMatch: {
      const std::string pat = stack_pop(st).to_str();
      const std::string s = stack_pop(st).to_str();
      const bool is_re = static_cast<OpCode>(in.op) == OpCode::RegexMatch;
      bool r = is_re ? false : s == pat;
      if (host && !host_call(st, is_re ? "regex_match" : "str_match", [&] {
            r = is_re ? host->regex_match(cx, s, pat) : host->str_match(cx, s, pat);
          }))
        return OpStatus::Error;
      return push_or_fail(Value::Bool(r));
    }
    case OpCode::WithRedirectsBegin:
      if (host && !host_call(st, "with_redirects_begin", [&] { host->with_redirects_begin(cx, static_cast<uint8_t>(in.a)); }))
        return OpStatus::Error;
      return OpStatus::Next;
    case OpCode::WithRedirectsEnd:
      if (host && !host_call(st, "with_redirects_end", [&] { host->with_redirects_end(cx); }))
        return OpStatus::Error;
      return OpStatus::Next;
    default:
      st.set_error("internal: op routed to the shell by mistake", op_ip);
      return OpStatus::Error;
  }
}

}  // namespace fusevm
