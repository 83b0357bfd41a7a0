// Interpreter tests: shell ops routed through a ShellHost (a RecordingHost, and defaults).
// Sources: spec/host.md §2 and §4, ARCHITECTURE §9 (HostContext, skip actions, run_chunk).
#include <stdexcept>

#include "vm_test_util.hpp"

namespace fusevm_test {
namespace {

Value I(int64_t i) { return Value::Int(i); }
Value S(std::string_view s) { return Value::Str(s); }

// Joins strings with single spaces.
std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i) out += (i ? " " : "") + xs[i];
  return out;
}

// Records every call as one line of text and answers with fixed values.
class RecordingHost : public ShellHost {
 public:
  std::vector<std::string> log;
  std::vector<const Chunk*> chunks_seen;
  std::vector<HostAction> subshell_actions;  // consumed in order; Continue when empty
  std::vector<HostAction> stage_actions;     // consumed in order; Continue when empty
  std::vector<HostAction> begin_actions;     // pipeline_begin answers; Continue when empty
  bool run_sub_chunks = false;               // cmd_subst runs the chunk via HostContext

  std::vector<std::string> glob(HostContext&, const std::string& pattern, bool recursive) override {
    log.push_back("glob " + pattern + (recursive ? " recursive" : ""));
    return {"one.rs", "two.rs"};
  }
  std::string tilde_expand(HostContext&, const std::string& s) override {
    log.push_back("tilde " + s);
    return s.rfind("~", 0) == 0 ? "/home/u" + s.substr(1) : s;
  }
  std::vector<std::string> brace_expand(HostContext&, const std::string& s) override {
    log.push_back("brace " + s);
    return {"a", "b"};
  }
  std::vector<std::string> word_split(HostContext&, const std::string& s) override {
    log.push_back("split " + s);
    return {"w1", "w2"};
  }
  Value expand_param(HostContext&, const std::string& name, uint8_t mod,
                     std::vector<Value> args) override {
    std::string line = "expand " + name + " " + std::to_string(mod);
    for (const Value& a : args) line += " " + a.repr();
    log.push_back(line);
    if (name == "NUM") return Value::Int(5);
    return Value::Str("EXPANDED");
  }
  std::string cmd_subst(HostContext& cx, const Chunk& sub) override {
    log.push_back("cmd_subst " + std::to_string(sub.ops.size()));
    chunks_seen.push_back(&sub);
    if (run_sub_chunks) {
      VMResult r = cx.run_chunk(sub);
      return r.is_ok() ? r.value().to_str() : r.repr();
    }
    return "captured";
  }
  std::string process_sub_in(HostContext&, const Chunk& sub) override {
    log.push_back("psub_in " + std::to_string(sub.ops.size()));
    return "/dev/fd/63";
  }
  std::string process_sub_out(HostContext&, const Chunk& sub) override {
    log.push_back("psub_out " + std::to_string(sub.ops.size()));
    return "/dev/fd/64";
  }
  void redirect(HostContext&, uint8_t fd, uint8_t op, const std::string& target) override {
    log.push_back("redirect " + std::to_string(fd) + " " + std::to_string(op) + " " + target);
  }
  void heredoc(HostContext& cx, const std::string& content) override {
    log.push_back("heredoc " + content);
    cx.globals().at(0) = Value::Str(content);
  }
  void herestring(HostContext&, const std::string& content) override {
    log.push_back("herestring " + content);
  }
  HostAction pipeline_begin(HostContext&, uint8_t n) override {
    log.push_back("pipeline_begin " + std::to_string(n));
    return next(begin_actions);
  }
  HostAction pipeline_stage(HostContext&) override {
    log.push_back("pipeline_stage");
    return next(stage_actions);
  }
  int32_t pipeline_end(HostContext&) override {
    log.push_back("pipeline_end");
    return 42;
  }
  HostAction subshell_begin(HostContext&) override {
    log.push_back("subshell_begin");
    return next(subshell_actions);
  }
  void subshell_end(HostContext&) override { log.push_back("subshell_end"); }
  void trap_set(HostContext&, const std::string& signal, const Chunk& handler) override {
    log.push_back("trap_set " + signal + " " + std::to_string(handler.ops.size()));
  }
  void trap_check(HostContext&) override { log.push_back("trap_check"); }
  void with_redirects_begin(HostContext&, uint8_t n) override {
    log.push_back("with_redirects_begin " + std::to_string(n));
  }
  void with_redirects_end(HostContext&) override { log.push_back("with_redirects_end"); }
  std::optional<int32_t> call_function(HostContext&, const std::string& name,
                                       const std::vector<std::string>& args) override {
    log.push_back("call_function " + name + (args.empty() ? "" : " " + join(args)));
    if (name == "my_func") return 7;
    return std::nullopt;
  }
  int32_t exec(HostContext&, const std::vector<std::string>& argv) override {
    log.push_back("exec " + join(argv));
    return 5;
  }
  int32_t exec_bg(HostContext&, const std::vector<std::string>& argv) override {
    log.push_back("exec_bg " + join(argv));
    return 1234;
  }
  bool str_match(HostContext&, const std::string& s, const std::string& pattern) override {
    log.push_back("str_match " + s + " " + pattern);
    if (!pattern.empty() && pattern[0] == '*') {
      std::string suffix = pattern.substr(1);
      return s.size() >= suffix.size() &&
             s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
    }
    return s == pattern;
  }
  bool regex_match(HostContext&, const std::string& s, const std::string& re) override {
    log.push_back("regex_match " + s + " " + re);
    return re == "ANY";
  }

 private:
  static HostAction next(std::vector<HostAction>& q) {
    if (q.empty()) return HostAction::Continue;
    HostAction a = q.front();
    q.erase(q.begin());
    return a;
  }
};

// A run with a RecordingHost installed; `host` stays valid while `ran` lives.
struct HostRun {
  Ran ran;
  RecordingHost* host;
};

HostRun run_with_host(Program& p, const std::function<void(RecordingHost&)>& configure = nullptr,
                      const std::function<void(VM&)>& setup = nullptr) {
  RecordingHost* raw = nullptr;
  Ran r = run(p, [&](VM& vm) {
    auto h = std::make_unique<RecordingHost>();
    raw = h.get();
    if (configure) configure(*h);
    vm.set_shell_host(std::move(h));
    if (setup) setup(vm);
  });
  return HostRun{std::move(r), raw};
}

using Log = std::vector<std::string>;

// -- host.md §4 / tests-inventory §10
// --------------------------------------------------------------

TEST(VmHost, host_routes_glob) {
  Program p;
  p.str("*.rs");
  p.emit(Op::Glob());
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, strs({"one.rs", "two.rs"})));
  EXPECT_EQ(h.host->log, (Log{"glob *.rs"}));
}

TEST(VmHost, glob_recursive_passes_the_flag) {
  Program p;
  p.str("**/*.rs");
  p.emit(Op::GlobRecursive());
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, strs({"one.rs", "two.rs"})));
  EXPECT_EQ(h.host->log, (Log{"glob **/*.rs recursive"}));
}

TEST(VmHost, host_routes_tilde_expand) {
  Program p;
  p.str("~/code");
  p.emit(Op::TildeExpand());
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, S("/home/u/code")));
}

TEST(VmHost, brace_expand_and_word_split_route_through_host) {
  Program p;
  p.str("{x,y}");
  p.emit(Op::BraceExpand());
  p.i(12);
  p.emit({Op::WordSplit(), Op::MakeArray(2)});
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, Value::Array({strs({"a", "b"}), strs({"w1", "w2"})})));
  EXPECT_EQ(h.host->log, (Log{"brace {x,y}", "split 12"}));
}

TEST(VmHost, host_expand_param_default) {
  Program p;
  p.str("MY_VAR");
  p.str("fallback");
  p.emit(Op::ExpandParam(param_mod::DEFAULT));
  HostRun h = run_with_host(p);
  EXPECT_TRUE(SameValues(h.ran.full_stack(), {S("EXPANDED")}));
  EXPECT_EQ(h.host->log, (Log{"expand MY_VAR 0 Str(\"fallback\")"}));
}

TEST(VmHost, host_expand_param_subst_pops_two_args) {
  Program p;
  p.str("STR");
  p.str("foo");
  p.str("bar");
  p.emit(Op::ExpandParam(param_mod::SUBST_FIRST));
  HostRun h = run_with_host(p);
  EXPECT_TRUE(SameValues(h.ran.full_stack(), {S("EXPANDED")}));
  EXPECT_EQ(h.host->log, (Log{"expand STR 9 Str(\"foo\") Str(\"bar\")"}));
}

TEST(VmHost, host_expand_param_length_takes_no_args) {
  Program p;
  p.i(1);
  p.str("STR");
  p.emit(Op::ExpandParam(param_mod::LENGTH));
  HostRun h = run_with_host(p);
  EXPECT_TRUE(SameValues(h.ran.full_stack(), {I(1), S("EXPANDED")}));
  EXPECT_EQ(h.host->log, (Log{"expand STR 4"}));
}

TEST(VmHost, expand_param_passes_arg_values_and_pushes_any_value) {
  Program p;
  p.str("NUM");
  p.i(42);
  p.emit(Op::ExpandParam(param_mod::ERROR));
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, I(5)));
  EXPECT_EQ(h.host->log, (Log{"expand NUM 2 Int(42)"}));
}

TEST(VmHost, host_redirect_consumes_target) {
  Program p;
  p.str("/tmp/out");
  p.emit(Op::Redirect(1, redirect_op::WRITE));
  p.str("ok");
  HostRun h = run_with_host(p);
  EXPECT_TRUE(SameValues(h.ran.full_stack(), {S("ok")}));
  EXPECT_EQ(h.host->log, (Log{"redirect 1 0 /tmp/out"}));
}

TEST(VmHost, host_pipeline_lifecycle) {
  Program p;
  p.emit({Op::PipelineBegin(3), Op::PipelineStage(), Op::PipelineStage(), Op::PipelineEnd()});
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, Value::Status(42)));
  EXPECT_EQ(h.ran.vm.last_status(), 42);
  EXPECT_EQ(h.host->log,
            (Log{"pipeline_begin 3", "pipeline_stage", "pipeline_stage", "pipeline_end"}));
}

TEST(VmHost, host_cmd_subst_uses_sub_chunk) {
  Program sub;
  sub.emit({Op::LoadInt(1), Op::LoadInt(2), Op::Add()});
  Program p;
  uint16_t k = p.sub_chunk(sub.build());
  p.emit(Op::CmdSubst(k));
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, S("captured")));
  EXPECT_EQ(h.host->log, (Log{"cmd_subst 3"}));
}

TEST(VmHost, sub_chunks_reach_the_host_as_the_parents_sub_chunks) {
  Program a, b;
  a.emit(Op::Nop());
  b.emit({Op::Nop(), Op::Nop()});
  Program p;
  p.sub_chunk(a.build());
  p.sub_chunk(b.build());
  p.emit({Op::CmdSubst(1), Op::CmdSubst(0), Op::MakeArray(2)});
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, strs({"captured", "captured"})));
  EXPECT_EQ(h.host->log, (Log{"cmd_subst 2", "cmd_subst 1"}));
  const Chunk& parent = h.ran.vm.chunk();
  ASSERT_EQ(h.host->chunks_seen.size(), 2u);
  EXPECT_EQ(h.host->chunks_seen[0], &parent.sub_chunks[1]);
  EXPECT_EQ(h.host->chunks_seen[1], &parent.sub_chunks[0]);
}

TEST(VmHost, cmd_subst_with_bad_index_does_not_call_host) {
  Program p;
  p.emit(Op::CmdSubst(3));
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, S("")));
  EXPECT_TRUE(h.host->log.empty());
}

TEST(VmHost, process_substitutions_route_through_host) {
  Program sub;
  sub.emit(Op::Nop());
  Program p;
  uint16_t k = p.sub_chunk(sub.build());
  p.emit({Op::ProcessSubIn(k), Op::ProcessSubOut(k), Op::MakeArray(2)});
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, strs({"/dev/fd/63", "/dev/fd/64"})));
  EXPECT_EQ(h.host->log, (Log{"psub_in 1", "psub_out 1"}));
}

TEST(VmHost, host_trap_set_records_signal_and_handler) {
  Program handler;
  handler.emit({Op::LoadInt(1), Op::Pop()});
  Program p;
  uint16_t k = p.sub_chunk(handler.build());
  p.str("INT");
  p.emit(Op::TrapSet(k));
  p.str("ok");
  HostRun h = run_with_host(p);
  EXPECT_TRUE(SameValues(h.ran.full_stack(), {S("ok")}));
  EXPECT_EQ(h.host->log, (Log{"trap_set INT 2"}));
}

TEST(VmHost, trap_set_with_bad_index_pops_signal_without_calling_host) {
  Program p;
  p.i(1);
  p.str("INT");
  p.emit({Op::TrapSet(5), Op::TrapCheck()});
  HostRun h = run_with_host(p);
  EXPECT_TRUE(SameValues(h.ran.full_stack(), {I(1)}));
  EXPECT_EQ(h.host->log, (Log{"trap_check"}));
}

TEST(VmHost, host_with_redirects_balance) {
  Program p;
  p.emit({Op::WithRedirectsBegin(2), Op::WithRedirectsBegin(1), Op::WithRedirectsEnd(),
          Op::WithRedirectsEnd()});
  p.str("done");
  HostRun h = run_with_host(p);
  EXPECT_TRUE(SameValues(h.ran.full_stack(), {S("done")}));
  EXPECT_EQ(h.host->log, (Log{"with_redirects_begin 2", "with_redirects_begin 1",
                              "with_redirects_end", "with_redirects_end"}));
}

TEST(VmHost, host_call_function_pops_args_pushes_status) {
  Program p;
  uint16_t f = p.name("my_func");
  p.str("hello");
  p.str("world");
  p.emit(Op::CallFunction(f, 2));
  HostRun h = run_with_host(p);
  EXPECT_TRUE(SameValues(h.ran.full_stack(), {Value::Status(7)}));
  EXPECT_EQ(h.ran.vm.last_status(), 7);
  EXPECT_EQ(h.host->log, (Log{"call_function my_func hello world"}));
}

TEST(VmHost, call_function_with_host_does_not_consult_in_chunk_subs) {
  Program p;
  uint16_t mine = p.sub("my_func", [&] { p.emit({Op::LoadInt(99), Op::ReturnValue()}); });
  uint16_t other = p.sub("other", [&] { p.emit({Op::LoadInt(98), Op::ReturnValue()}); });
  p.emit(Op::CallFunction(mine, 0));
  p.i(3);
  p.load(ints({4, 5}));
  p.emit({Op::CallFunction(other, 2), Op::MakeArray(2)});
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, Value::Array({Value::Status(7), Value::Status(5)})));
  EXPECT_EQ(h.ran.vm.last_status(), 5);
  EXPECT_EQ(h.host->log,
            (Log{"call_function my_func", "call_function other 3 4 5", "exec other 3 4 5"}));
}

TEST(VmHost, host_str_match_glob_pattern) {
  Program p;
  p.str("hello.rs");
  p.str("*.rs");
  p.emit(Op::StrMatch());
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, Value::Bool(true)));
  EXPECT_EQ(h.host->log, (Log{"str_match hello.rs *.rs"}));
}

TEST(VmHost, host_regex_match_routes_through_host) {
  Program p;
  p.str("anything");
  p.str("ANY");
  p.emit(Op::RegexMatch());
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, Value::Bool(true)));
  EXPECT_EQ(h.host->log, (Log{"regex_match anything ANY"}));
}

TEST(VmHost, here_doc_and_here_string_reach_host) {
  Program p;
  p.name("slot_for_heredoc");
  uint16_t c = p.constant(S("body"));
  p.emit(Op::HereDoc(c));
  p.str("word");
  p.emit({Op::HereString(), Op::HereDoc(40)});
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsHalted(h.ran.result));
  EXPECT_EQ(h.host->log, (Log{"heredoc body", "herestring word", "heredoc "}));
  EXPECT_TRUE(Same(h.ran.vm.globals()[0], S("")));
}

TEST(VmHost, host_context_writes_globals) {
  Program p;
  p.name("g");
  uint16_t c = p.constant(S("from host"));
  p.emit({Op::HereDoc(c), Op::GetVar(0)});
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, S("from host")));
}

TEST(VmHost, exec_with_host_runs_external_commands_through_host) {
  Program p;
  p.str("ls");
  p.load(ints({1, 2}));
  p.emit(Op::Exec(2));
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, Value::Status(5)));
  EXPECT_EQ(h.ran.vm.last_status(), 0);
  EXPECT_EQ(h.host->log, (Log{"exec ls 1 2"}));
}

TEST(VmHost, exec_inline_builtins_and_in_chunk_functions_bypass_host) {
  Program p;
  p.sub("fn", [&] { p.emit({Op::MakeArray(1), Op::ReturnValue()}); });
  p.str("true");
  p.emit(Op::Exec(1));
  p.str("false");
  p.emit(Op::Exec(1));
  p.str("echo");
  p.str("hi");
  p.emit(Op::Exec(2));
  p.str("fn");
  p.str("a");
  p.emit({Op::Exec(2), Op::MakeArray(4)});
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, Value::Array({Value::Status(0), Value::Status(1), Value::Status(0),
                                               strs({"a"})})));
  EXPECT_EQ(h.ran.output(), "hi\n");
  EXPECT_TRUE(h.host->log.empty());
}

TEST(VmHost, exec_bg_with_host_pushes_status_zero) {
  Program p;
  p.str("sleep");
  p.i(10);
  p.emit(Op::ExecBg(2));
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, Value::Status(0)));
  EXPECT_EQ(h.host->log, (Log{"exec_bg sleep 10"}));
}

TEST(VmHost, test_file_never_uses_the_host) {
  Program p;
  p.str("/tmp");
  p.emit(Op::TestFile(file_test::IS_DIR));
  HostRun h = run_with_host(p);
  EXPECT_TRUE(IsOk(h.ran.result, Value::Bool(true)));
  EXPECT_TRUE(h.host->log.empty());
}

TEST(VmHost, subshell_continue_runs_the_body) {
  Program p;
  p.emit(Op::SubshellBegin());
  p.str("a");
  p.emit({Op::Print(1), Op::SubshellEnd()});
  HostRun h = run_with_host(p);
  EXPECT_EQ(h.ran.output(), "a");
  EXPECT_EQ(h.host->log, (Log{"subshell_begin", "subshell_end"}));
}

// Emits: SubshellBegin "a" Print SubshellBegin "b" Print SubshellEnd "c" Print SubshellEnd "d"
// Print.
void nested_subshells(Program& p) {
  p.emit(Op::SubshellBegin());
  p.str("a");
  p.emit({Op::Print(1), Op::SubshellBegin()});
  p.str("b");
  p.emit({Op::Print(1), Op::SubshellEnd()});
  p.str("c");
  p.emit({Op::Print(1), Op::SubshellEnd()});
  p.str("d");
  p.emit(Op::Print(1));
}

TEST(VmHost, subshell_skip_jumps_past_the_matching_end_over_nested_subshells) {
  Program p;
  nested_subshells(p);
  HostRun h = run_with_host(
      p, [](RecordingHost& host) { host.subshell_actions = {HostAction::SkipToMatchingEnd}; });
  EXPECT_EQ(h.ran.output(), "d");
  EXPECT_EQ(h.host->log, (Log{"subshell_begin"}));
  EXPECT_FALSE(h.ran.result.is_error());
}

TEST(VmHost, subshell_skip_of_inner_subshell_resumes_in_outer) {
  Program p;
  nested_subshells(p);
  HostRun h = run_with_host(p, [](RecordingHost& host) {
    host.subshell_actions = {HostAction::Continue, HostAction::SkipToMatchingEnd};
  });
  EXPECT_EQ(h.ran.output(), "acd");
  EXPECT_EQ(h.host->log, (Log{"subshell_begin", "subshell_begin", "subshell_end"}));
}

TEST(VmHost, pipeline_stage_skip_goes_to_the_next_stage) {
  Program p;
  p.emit({Op::PipelineBegin(2), Op::PipelineStage()});
  p.str("s1");
  p.emit({Op::Print(1), Op::PipelineStage()});
  p.str("s2");
  p.emit({Op::Print(1), Op::PipelineEnd()});
  HostRun h = run_with_host(
      p, [](RecordingHost& host) { host.stage_actions = {HostAction::SkipToMatchingEnd}; });
  EXPECT_EQ(h.ran.output(), "s2");
  EXPECT_TRUE(IsOk(h.ran.result, Value::Status(42)));
  EXPECT_EQ(h.host->log,
            (Log{"pipeline_begin 2", "pipeline_stage", "pipeline_stage", "pipeline_end"}));
}

TEST(VmHost, pipeline_stage_skip_of_last_stage_goes_to_pipeline_end) {
  Program p;
  p.emit({Op::PipelineBegin(1), Op::PipelineStage()});
  p.str("body");
  p.emit({Op::Print(1), Op::PipelineEnd()});
  HostRun h = run_with_host(
      p, [](RecordingHost& host) { host.stage_actions = {HostAction::SkipToMatchingEnd}; });
  EXPECT_EQ(h.ran.output(), "");
  EXPECT_TRUE(IsOk(h.ran.result, Value::Status(42)));
  EXPECT_EQ(h.host->log, (Log{"pipeline_begin 1", "pipeline_stage", "pipeline_end"}));
}

TEST(VmHost, pipeline_stage_skip_jumps_over_a_nested_pipeline) {
  Program p;
  p.emit({Op::PipelineBegin(2), Op::PipelineStage(), Op::PipelineBegin(2), Op::PipelineStage()});
  p.str("inner");
  p.emit({Op::Print(1), Op::PipelineStage(), Op::PipelineEnd(), Op::Pop(), Op::PipelineStage()});
  p.str("outer");
  p.emit({Op::Print(1), Op::PipelineEnd()});
  HostRun h = run_with_host(
      p, [](RecordingHost& host) { host.stage_actions = {HostAction::SkipToMatchingEnd}; });
  EXPECT_EQ(h.ran.output(), "outer");
  EXPECT_TRUE(IsOk(h.ran.result, Value::Status(42)));
  EXPECT_EQ(h.host->log,
            (Log{"pipeline_begin 2", "pipeline_stage", "pipeline_stage", "pipeline_end"}));
}

TEST(VmHost, pipeline_begin_skip_jumps_to_the_first_stage_boundary) {
  Program p;
  p.emit(Op::PipelineBegin(2));
  p.str("s1");
  p.emit({Op::Print(1), Op::PipelineBegin(2)});  // a nested pipeline inside stage 1
  p.str("nested");
  p.emit({Op::Print(1), Op::PipelineStage(), Op::PipelineEnd(), Op::Pop(), Op::PipelineStage()});
  p.str("s2");
  p.emit({Op::Print(1), Op::PipelineEnd()});
  HostRun h = run_with_host(
      p, [](RecordingHost& host) { host.begin_actions = {HostAction::SkipToMatchingEnd}; });
  EXPECT_EQ(h.ran.output(), "s2");
  EXPECT_TRUE(IsOk(h.ran.result, Value::Status(42)));
  EXPECT_EQ(h.host->log, (Log{"pipeline_begin 2", "pipeline_stage", "pipeline_end"}));
}

TEST(VmHost, pipeline_begin_skip_of_a_single_stage_goes_to_pipeline_end) {
  Program p;
  p.emit(Op::PipelineBegin(1));
  p.str("body");
  p.emit({Op::Print(1), Op::PipelineEnd()});
  HostRun h = run_with_host(
      p, [](RecordingHost& host) { host.begin_actions = {HostAction::SkipToMatchingEnd}; });
  EXPECT_EQ(h.ran.output(), "");
  EXPECT_EQ(h.host->log, (Log{"pipeline_begin 1", "pipeline_end"}));
}

TEST(VmHost, run_chunk_child_reads_and_writes_the_callers_globals_by_name) {
  Program sub;
  uint16_t sx = sub.name("x");
  uint16_t sy = sub.name("y");
  uint16_t sz = sub.name("only_in_child");
  sub.emit(Op::GetVar(sx));
  sub.str("+sub");
  sub.emit({Op::Concat(), Op::Dup(), Op::SetVar(sy)});
  sub.str("child-only");
  sub.emit(Op::SetVar(sz));
  Program p;
  uint16_t py = p.name("y");  // pool order differs from the child's
  uint16_t px = p.name("x");
  uint16_t k = p.sub_chunk(sub.build());
  p.str("parent");
  p.emit({Op::SetVar(px), Op::CmdSubst(k), Op::GetVar(py), Op::MakeArray(2)});
  HostRun h = run_with_host(p, [](RecordingHost& host) { host.run_sub_chunks = true; });
  EXPECT_TRUE(IsOk(h.ran.result, Value::Array({S("parent+sub"), S("parent+sub")})));
  // Only names the caller has are shared; the caller's pool is unchanged.
  EXPECT_EQ(h.ran.vm.globals().size(), 2u);
  EXPECT_TRUE(SameValues(h.ran.vm.globals(), {S("parent+sub"), S("parent")}));
}

TEST(VmHost, run_chunk_child_sees_undef_for_an_unset_caller_global_and_its_status) {
  Program sub;
  uint16_t sv = sub.name("v");
  sub.emit({Op::GetVar(sv), Op::LoadInt(9), Op::SetStatus()});
  Program p;
  p.name("v");
  uint16_t k = p.sub_chunk(sub.build());
  p.emit({Op::LoadInt(3), Op::SetStatus(), Op::CmdSubst(k)});
  HostRun h = run_with_host(p, [](RecordingHost& host) { host.run_sub_chunks = true; });
  EXPECT_TRUE(IsOk(h.ran.result, S("")));  // to_str(Undef)
  EXPECT_EQ(h.ran.vm.last_status(), 9);    // the child's $? comes back
}

// Counts run_finished calls and remembers what each saw.
class FinishRecorder : public ShellHost {
 public:
  std::vector<std::string> seen;
  std::string cmd_subst(HostContext& cx, const Chunk& sub) override {
    VMResult r = cx.run_chunk(sub);
    return r.is_ok() ? r.value().to_str() : r.repr();
  }
  void run_finished(HostContext& cx, const VMResult& result) override {
    seen.push_back(std::to_string(cx.vm().chunk().ops.size()) + " " + result.repr());
  }
};

TEST(VmHost, run_finished_is_told_about_every_run_and_outermost_call) {
  Program sub;
  sub.emit({Op::LoadInt(7)});
  Program p;
  uint16_t k = p.sub_chunk(sub.build());
  uint16_t f = p.sub("f", [&] { p.emit({Op::LoadInt(5), Op::ReturnValue()}); });
  (void)f;
  p.emit({Op::CmdSubst(k)});
  auto host = std::make_unique<FinishRecorder>();
  FinishRecorder* raw = host.get();
  VM vm(p.build());
  vm.set_output([](std::string_view) {});
  vm.set_shell_host(std::move(host));
  VMResult r = vm.run();
  EXPECT_TRUE(IsOk(r, S("7")));
  // The child VM of run_chunk (1 op) finishes first, then the run itself (4 ops).
  EXPECT_EQ(raw->seen, (std::vector<std::string>{"1 Ok(Int(7))", "4 Ok(Str(\"7\"))"}));
  VMResult c = vm.call("f", {});
  EXPECT_TRUE(IsOk(c, Value::Int(5)));
  ASSERT_EQ(raw->seen.size(), 3u);
  EXPECT_EQ(raw->seen[2], "4 Ok(Int(5))");
}

TEST(VmHost, run_chunk_runs_a_sub_chunk_on_a_child_vm_sharing_output_and_builtins) {
  Program sub;
  sub.str("inner");
  sub.emit({Op::PrintLn(1), Op::LoadInt(5), Op::CallBuiltin(0, 1)});
  Program p;
  uint16_t k = p.sub_chunk(sub.build());
  p.str("outer ");
  p.emit({Op::Print(1), Op::CmdSubst(k)});
  HostRun h = run_with_host(
      p, [](RecordingHost& host) { host.run_sub_chunks = true; },
      [](VM& vm) {
        vm.register_builtin(0, [](VM& v, uint8_t) { return Value::Int(v.pop().as_int() * 2); });
      });
  EXPECT_TRUE(IsOk(h.ran.result, S("10")));
  EXPECT_EQ(h.ran.output(), "outer inner\n");
  EXPECT_TRUE(h.ran.vm.stack().empty());
}

TEST(VmHost, host_exception_is_contained) {
  class ThrowingHost : public ShellHost {
   public:
    std::vector<std::string> glob(HostContext&, const std::string&, bool) override {
      throw std::runtime_error("glob exploded");
    }
  };
  Program p;
  p.str("*");
  p.emit(Op::Glob());
  Ran r = run(p, [](VM& vm) { vm.set_shell_host(std::make_unique<ThrowingHost>()); });
  EXPECT_TRUE(IsErrorWith(r.result, "glob exploded"));
}

TEST(VmHost, chunk_with_sub_chunks_round_trips_via_fvc) {
  Program sub;
  sub.emit({Op::LoadInt(1), Op::Pop()});
  Program p;
  uint16_t k = p.sub_chunk(sub.build());
  p.emit(Op::CmdSubst(k));
  Chunk original = p.build();
  LoadResult loaded = read_fvc(write_fvc(original));
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  ASSERT_EQ(loaded.chunk->sub_chunks.size(), 1u);
  EXPECT_EQ(loaded.chunk->sub_chunks[0].ops.size(), 2u);
  EXPECT_EQ(loaded.chunk->ops[0], Op::CmdSubst(0));
  RecordingHost* raw = nullptr;
  Ran r = run(*loaded.chunk, [&](VM& vm) {
    auto h = std::make_unique<RecordingHost>();
    raw = h.get();
    vm.set_shell_host(std::move(h));
  });
  EXPECT_TRUE(IsOk(r.result, S("captured")));
  EXPECT_EQ(raw->log, (Log{"cmd_subst 2"}));
}

// -- The default host differs from no host (host.md §2) ---------------------------------------

TEST(VmHost, default_host_pipeline_end_reports_zero) {
  Program p;
  p.emit({Op::LoadInt(3), Op::SetStatus(), Op::PipelineEnd()});
  Ran r = run(p, [](VM& vm) { vm.set_shell_host(std::make_unique<ShellHost>()); });
  EXPECT_TRUE(IsOk(r.result, Value::Status(0)));
  EXPECT_EQ(r.vm.last_status(), 0);
}

TEST(VmHost, default_host_call_function_spawns_instead_of_in_chunk_sub) {
  Program p;
  uint16_t t = p.sub("true", [&] { p.emit({Op::LoadInt(99), Op::ReturnValue()}); });
  uint16_t f = p.sub("false", [&] { p.emit({Op::LoadInt(98), Op::ReturnValue()}); });
  p.emit({Op::CallFunction(t, 0), Op::CallFunction(f, 0), Op::MakeArray(2)});
  Ran r = run(p, [](VM& vm) { vm.set_shell_host(std::make_unique<ShellHost>()); });
  EXPECT_TRUE(IsOk(r.result, Value::Array({Value::Status(0), Value::Status(1)})));
  EXPECT_EQ(r.vm.last_status(), 1);
}

TEST(VmHost, default_host_fallbacks_match_no_host) {
  Program sub;
  sub.emit(Op::Nop());
  Program p;
  uint16_t k = p.sub_chunk(sub.build());
  p.emit(Op::CmdSubst(k));
  p.str("~/x");
  p.emit(Op::TildeExpand());
  p.str("{a,b}");
  p.emit(Op::BraceExpand());
  p.str(" a  b ");
  p.emit(Op::WordSplit());
  p.str("N");
  p.emit(Op::ExpandParam(param_mod::LENGTH));
  p.str("a");
  p.str("a");
  p.emit(Op::StrMatch());
  p.str("a");
  p.str("a");
  p.emit({Op::RegexMatch(), Op::MakeArray(7)});
  Ran r = run(p, [](VM& vm) { vm.set_shell_host(std::make_unique<ShellHost>()); });
  EXPECT_TRUE(IsOk(r.result, Value::Array({S(""), S("~/x"), strs({"{a,b}"}), strs({"a", "b"}),
                                           S(""), Value::Bool(true), Value::Bool(false)})));
}

}  // namespace
}  // namespace fusevm_test
