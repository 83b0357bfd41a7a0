// Interpreter tests: shell ops with no host installed (the VM's own fallbacks).
// Sources: spec/ops.md §20, host.md §2–3, tests-inventory §10 and §14, ARCHITECTURE §9.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "vm_test_util.hpp"

namespace fusevm_test {
namespace {

namespace fs = std::filesystem;

Value I(int64_t i) { return Value::Int(i); }
Value S(std::string_view s) { return Value::Str(s); }

// Runs `path TestFile(code)` with no host.
Ran test_file_op(const std::string& path, uint8_t code) {
  Program p;
  p.str(path);
  p.emit(Op::TestFile(code));
  return run(p);
}

// -- Glob (tests-inventory §10, ops.md §20.4) -------------------------------------------------

TEST(VmShellNoHost, default_host_glob_uses_fs_glob) {
  TempDir dir;
  std::string cargo = dir.write("Cargo.toml", "[package]\n");
  Program p;
  p.str(cargo);
  p.emit(Op::Glob());
  Ran r = run(p);
  ASSERT_TRUE(r.result.is_ok());
  ASSERT_TRUE(r.result.value().is_array());
  EXPECT_EQ(r.result.value().as_array().size(), 1u);
  EXPECT_TRUE(IsOk(r.result, Value::Array({S(cargo)})));
}

TEST(VmShellNoHost, glob_wildcard_is_sorted_and_matches_leading_dot) {
  TempDir dir;
  dir.write("b.toml");
  dir.write("a.toml");
  dir.write("c.txt");
  dir.write(".hidden.toml");
  Program p;
  p.str(dir / "*.toml");
  p.emit(Op::Glob());
  EXPECT_TRUE(IsOk(run(p).result,
                   Value::Array({S(dir / ".hidden.toml"), S(dir / "a.toml"), S(dir / "b.toml")})));
}

TEST(VmShellNoHost, glob_relative_pattern_returns_relative_paths) {
  TempDir dir;
  dir.write("Cargo.toml");
  dir.write("notes.md");
  fs::create_directory(dir / "src");
  std::string old_cwd = fs::current_path().string();
  ASSERT_EQ(chdir(dir.path().c_str()), 0);
  Program p;
  p.str("Cargo.toml");
  p.emit(Op::Glob());
  p.str("*");
  p.emit({Op::Glob(), Op::MakeArray(2)});
  Ran r = run(p);
  ASSERT_EQ(chdir(old_cwd.c_str()), 0);
  EXPECT_TRUE(IsOk(r.result,
                   Value::Array({strs({"Cargo.toml"}), strs({"Cargo.toml", "notes.md", "src"})})));
}

TEST(VmShellNoHost, glob_without_match_is_empty) {
  TempDir dir;
  Program p;
  p.str(dir / "*.nothing");
  p.emit(Op::Glob());
  p.str(dir / "missing-literal");
  p.emit({Op::Glob(), Op::MakeArray(2)});
  EXPECT_TRUE(IsOk(run(p).result, Value::Array({Value::Array({}), Value::Array({})})));
}

TEST(VmShellNoHost, glob_recursive_walks_double_star) {
  TempDir dir;
  fs::create_directories(dir / "sub/deep");
  dir.write("sub/deep/x.rs");
  dir.write("sub/y.rs");
  dir.write("sub/z.txt");
  Program p;
  p.str(dir / "sub/**/*.rs");
  p.emit(Op::GlobRecursive());
  Ran r = run(p);
  ASSERT_TRUE(r.result.is_ok()) << r.result.repr();
  ASSERT_TRUE(r.result.value().is_array());
  std::vector<std::string> got;
  for (const Value& v : r.result.value().as_array()) got.push_back(v.as_str());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{dir / "sub/deep/x.rs", dir / "sub/y.rs"}));
}

// -- Expansion and matching fallbacks ---------------------------------------------------------

TEST(VmShellNoHost, default_host_tilde_expand_passes_through) {
  Program p;
  p.str("~/foo");
  p.emit(Op::TildeExpand());
  EXPECT_TRUE(IsOk(run(p).result, S("~/foo")));
}

TEST(VmShellNoHost, tilde_expand_stringifies) {
  EXPECT_TRUE(IsOk(run_ops({Op::LoadInt(3), Op::TildeExpand()}).result, S("3")));
}

TEST(VmShellNoHost, default_host_word_split_pushes_array) {
  Program p;
  p.str("a b c");
  p.emit(Op::WordSplit());
  EXPECT_TRUE(IsOk(run(p).result, strs({"a", "b", "c"})));
}

TEST(VmShellNoHost, word_split_collapses_runs_of_whitespace) {
  Program p;
  p.str("  a \t b\n c  ");
  p.emit(Op::WordSplit());
  EXPECT_TRUE(IsOk(run(p).result, strs({"a", "b", "c"})));
}

TEST(VmShellNoHost, word_split_uses_unicode_white_space) {
  Program p;
  p.str(
      "a\xc2\xa0"
      "b\xe2\x80\x83"
      "c\xe3\x80\x80"
      "d");
  p.emit(Op::WordSplit());
  p.str("");
  p.emit({Op::WordSplit(), Op::MakeArray(2)});
  EXPECT_TRUE(IsOk(run(p).result, Value::Array({strs({"a", "b", "c", "d"}), Value::Array({})})));
}

TEST(VmShellNoHost, default_host_brace_expand_returns_singleton) {
  Program p;
  p.str("{a,b,c}");
  p.emit(Op::BraceExpand());
  EXPECT_TRUE(IsOk(run(p).result, strs({"{a,b,c}"})));
}

TEST(VmShellNoHost, default_host_str_match_is_equality) {
  Program p;
  p.str("foo");
  p.str("foo");
  p.emit(Op::StrMatch());
  p.str("foo");
  p.str("f*");
  p.emit({Op::StrMatch(), Op::MakeArray(2)});
  EXPECT_TRUE(IsOk(run(p).result, Value::Array({Value::Bool(true), Value::Bool(false)})));
}

TEST(VmShellNoHost, default_host_regex_match_returns_false) {
  Program p;
  p.str("foo123");
  p.str("\\d+");
  p.emit(Op::RegexMatch());
  p.str("x");
  p.str("x");
  p.emit({Op::RegexMatch(), Op::MakeArray(2)});
  EXPECT_TRUE(IsOk(run(p).result, Value::Array({Value::Bool(false), Value::Bool(false)})));
}

TEST(VmShellNoHost, default_host_struct_works) {
  Program p;
  p.str("foo");
  p.emit(Op::TildeExpand());
  Ran r = run(p, [](VM& vm) { vm.set_shell_host(std::make_unique<ShellHost>()); });
  EXPECT_TRUE(IsOk(r.result, S("foo")));
}

TEST(VmShellNoHost, expand_param_pops_name_and_args_and_pushes_empty) {
  EXPECT_TRUE(SameValues(run_ops({Op::LoadInt(1), Op::LoadInt(2), Op::ExpandParam(0)}).full_stack(),
                         {S("")}));
  EXPECT_TRUE(SameValues(
      run_ops({Op::LoadInt(1), Op::LoadInt(2), Op::LoadInt(3), Op::LoadInt(4), Op::ExpandParam(9)})
          .full_stack(),
      {I(1), S("")}));
  EXPECT_TRUE(SameValues(run_ops({Op::LoadInt(1), Op::LoadInt(2), Op::ExpandParam(4)}).full_stack(),
                         {I(1), S("")}));
  EXPECT_TRUE(SameValues(
      run_ops({Op::LoadInt(1), Op::LoadInt(2), Op::ExpandParam(200)}).full_stack(), {I(1), S("")}));
  EXPECT_TRUE(SameValues(
      run_ops({Op::LoadInt(1), Op::LoadInt(2), Op::LoadInt(3), Op::LoadInt(4), Op::ExpandParam(17)})
          .full_stack(),
      {I(1), S("")}));
}

TEST(VmShellNoHost, cmd_subst_and_process_subs_push_empty_string) {
  Program sub;
  sub.str("ignored");
  Program p;
  uint16_t k = p.sub_chunk(sub.build());
  p.emit({Op::CmdSubst(k), Op::CmdSubst(9), Op::ProcessSubIn(k), Op::ProcessSubOut(k),
          Op::MakeArray(4)});
  EXPECT_TRUE(IsOk(run(p).result, strs({"", "", "", ""})));
}

TEST(VmShellNoHost, cmd_subst_without_sub_chunks_is_empty) {
  EXPECT_TRUE(IsOk(run_ops({Op::CmdSubst(0)}).result, S("")));
}

// -- Stack effects of the host-only ops -------------------------------------------------------

TEST(VmShellNoHost, here_doc_pops_nothing) {
  Program p;
  uint16_t c = p.constant(S("body"));
  p.emit({Op::LoadInt(3), Op::HereDoc(c), Op::HereDoc(50)});
  EXPECT_TRUE(SameValues(run(p).full_stack(), {I(3)}));
}

TEST(VmShellNoHost, trap_set_pops_only_the_signal) {
  EXPECT_TRUE(
      SameValues(run_ops({Op::LoadInt(3), Op::LoadInt(4), Op::TrapSet(7)}).full_stack(), {I(3)}));
}

TEST(VmShellNoHost, redirect_and_here_string_pop_one_value) {
  Program p;
  p.i(5);
  p.str("/tmp/never-written");
  p.emit(Op::Redirect(1, redirect_op::WRITE));
  p.str("word");
  p.emit(Op::HereString());
  Ran r = run(p);
  EXPECT_TRUE(SameValues(r.full_stack(), {I(5)}));
  EXPECT_FALSE(fs::exists("/tmp/never-written"));
}

TEST(VmShellNoHost, scope_ops_do_nothing_without_host) {
  Ran r = run_ops({Op::LoadInt(5), Op::PipelineBegin(2), Op::PipelineStage(), Op::SubshellBegin(),
                   Op::LoadInt(6), Op::SubshellEnd(), Op::WithRedirectsBegin(1),
                   Op::WithRedirectsEnd(), Op::TrapCheck()});
  EXPECT_TRUE(SameValues(r.full_stack(), {I(5), I(6)}));
}

TEST(VmShellNoHost, pipeline_end_without_host_reports_last_status) {
  Ran r = run_ops({Op::LoadInt(3), Op::SetStatus(), Op::PipelineEnd()});
  EXPECT_TRUE(IsOk(r.result, Value::Status(3)));
  EXPECT_EQ(r.vm.last_status(), 3);
}

// -- Exec / ExecBg (ops.md §20.1, host.md §3) ------------------------------------------------

// Runs `args... Exec(argc)` with no host.
Ran exec(std::initializer_list<Value> args, uint8_t argc) {
  Program p;
  for (const Value& a : args) p.load(a);
  p.emit(Op::Exec(argc));
  return run(p);
}

TEST(VmShellNoHost, exec_true_and_false_are_inline) {
  EXPECT_TRUE(IsOk(exec({S("true")}, 1).result, Value::Status(0)));
  EXPECT_TRUE(IsOk(exec({S("false")}, 1).result, Value::Status(1)));
  EXPECT_TRUE(IsOk(exec({S("test"), S("-f"), S("/no/such")}, 3).result, Value::Status(0)));
  EXPECT_TRUE(IsOk(exec({S("["), S("1"), S("="), S("2"), S("]")}, 5).result, Value::Status(0)));
}

TEST(VmShellNoHost, exec_with_no_args_is_status_zero) {
  Ran r = exec({}, 0);
  EXPECT_TRUE(IsOk(r.result, Value::Status(0)));
}

TEST(VmShellNoHost, exec_echo_writes_args_joined_by_spaces) {
  Ran r = exec({S("echo"), I(1), Value::Float(2.5)}, 3);
  EXPECT_TRUE(IsOk(r.result, Value::Status(0)));
  EXPECT_EQ(r.output(), "1 2.5\n");
}

TEST(VmShellNoHost, exec_echo_flattens_one_array_level) {
  Ran r = exec({S("echo"), Value::Array({I(1), ints({2}), I(3)})}, 2);
  EXPECT_TRUE(IsOk(r.result, Value::Status(0)));
  EXPECT_EQ(r.output(), "1 2 3\n");
}

TEST(VmShellNoHost, exec_echo_without_args_prints_newline) {
  Ran r = exec({S("echo")}, 1);
  EXPECT_EQ(r.output(), "\n");
}

TEST(VmShellNoHost, exec_spawns_and_returns_exit_code) {
  Ran r = exec({S("sh"), S("-c"), S("exit 3")}, 3);
  EXPECT_TRUE(IsOk(r.result, Value::Status(3)));
  EXPECT_EQ(r.vm.last_status(), 0);
}

TEST(VmShellNoHost, exec_spawn_gets_flattened_arguments) {
  Ran r = exec(
      {S("sh"), S("-c"), S("exit $#"), S("zero"), Value::Array({I(1), ints({2, 3}), I(4)})}, 5);
  EXPECT_TRUE(IsOk(r.result, Value::Status(3)));
}

TEST(VmShellNoHost, exec_missing_command_is_127) {
  Ran r = exec({S("/no/such/cmd")}, 1);
  EXPECT_TRUE(IsOk(r.result, Value::Status(127)));
  EXPECT_EQ(r.vm.last_status(), 0);
}

TEST(VmShellNoHost, exec_killed_by_signal_is_1) {
  Ran r = exec({S("sh"), S("-c"), S("kill -9 $$")}, 3);
  EXPECT_TRUE(IsOk(r.result, Value::Status(1)));
  EXPECT_EQ(r.vm.last_status(), 0);
}

TEST(VmShellNoHost, exec_does_not_touch_last_status) {
  Program p;
  p.emit({Op::LoadInt(42), Op::SetStatus()});
  p.str("false");
  p.emit({Op::Exec(1), Op::Pop(), Op::GetStatus()});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, Value::Status(42)));
}

TEST(VmShellNoHost, exec_bg_always_pushes_status_zero) {
  Ran missing = [] {
    Program p;
    p.str("/no/such/cmd");
    p.emit(Op::ExecBg(1));
    return run(p);
  }();
  EXPECT_TRUE(IsOk(missing.result, Value::Status(0)));
  EXPECT_EQ(missing.vm.last_status(), 0);
  EXPECT_TRUE(IsOk(run_ops({Op::ExecBg(0)}).result, Value::Status(0)));
}

TEST(VmShellNoHost, exec_bg_has_no_inline_echo_and_does_not_wait) {
  TempDir dir;
  std::string marker = dir / "done";
  Program p;
  p.str("echo");
  p.str("hidden");
  p.emit(Op::ExecBg(2));
  p.str("sh");
  p.str("-c");
  p.str("sleep 1; touch '" + marker + "'");
  p.emit({Op::ExecBg(3), Op::MakeArray(2)});
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, Value::Array({Value::Status(0), Value::Status(0)})));
  EXPECT_EQ(r.output(), "");
  EXPECT_FALSE(fs::exists(marker)) << "ExecBg waited for its child";
  for (int i = 0; i < 500 && !fs::exists(marker); ++i) usleep(20000);
  EXPECT_TRUE(fs::exists(marker)) << "the background child never ran";
}

// -- In-chunk functions reached by Exec / CallFunction ---------------------------------------

TEST(VmShellNoHost, exec_of_in_chunk_function_pushes_args_as_strings) {
  Program p;
  p.sub("myfn", [&] { p.emit({Op::MakeArray(3), Op::ReturnValue()}); });
  p.str("myfn");
  p.str("x");
  p.load(ints({1, 2}));
  p.emit(Op::Exec(3));
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, strs({"x", "1", "2"})));
  EXPECT_EQ(r.vm.frames().size(), 1u);
  EXPECT_EQ(r.vm.stack().size(), 0u);
}

TEST(VmShellNoHost, exec_of_in_chunk_function_with_plain_return_pushes_nothing) {
  Program p;
  p.sub("quiet", [&] { p.emit(Op::Return()); });
  p.i(5);
  p.str("quiet");
  p.str("arg");
  p.emit(Op::Exec(2));
  EXPECT_TRUE(SameValues(run(p).full_stack(), {I(5)}));
}

TEST(VmShellNoHost, exec_prefers_in_chunk_function_over_inline_builtin) {
  Program p;
  p.sub("echo", [&] { p.emit({Op::LoadInt(77), Op::ReturnValue()}); });
  p.str("echo");
  p.str("hi");
  p.emit(Op::Exec(2));
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, I(77)));
  EXPECT_EQ(r.output(), "");
}

TEST(VmShellNoHost, exec_of_pool_name_without_sub_entry_runs_the_command) {
  Program p;
  p.name("true");
  p.str("true");
  p.emit(Op::Exec(1));
  EXPECT_TRUE(IsOk(run(p).result, Value::Status(0)));
}

TEST(VmShellNoHost, call_function_without_host_jumps_into_sub) {
  Program p;
  uint16_t fn2 = p.sub("fn2", [&] { p.emit({Op::MakeArray(2), Op::ReturnValue()}); });
  p.str("q");
  p.i(3);
  p.emit(Op::CallFunction(fn2, 2));
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, strs({"q", "3"})));
  EXPECT_EQ(r.vm.last_status(), 0);
  EXPECT_EQ(r.vm.frames().size(), 1u);
}

TEST(VmShellNoHost, call_function_false_sets_last_status) {
  Program p;
  uint16_t f = p.name("false");
  p.emit(Op::CallFunction(f, 0));
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, Value::Status(1)));
  EXPECT_EQ(r.vm.last_status(), 1);
}

TEST(VmShellNoHost, call_function_spawns_with_args) {
  Program p;
  uint16_t sh = p.name("sh");
  p.str("-c");
  p.str("exit 4");
  p.emit(Op::CallFunction(sh, 2));
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, Value::Status(4)));
  EXPECT_EQ(r.vm.last_status(), 4);
}

TEST(VmShellNoHost, call_function_missing_command_is_127) {
  Program p;
  uint16_t f = p.name("/no/such/cmd");
  p.emit(Op::CallFunction(f, 0));
  Ran r = run(p);
  EXPECT_TRUE(IsOk(r.result, Value::Status(127)));
  EXPECT_EQ(r.vm.last_status(), 127);
}

// -- TestFile (ops.md §20.5; access() for -r/-w/-x, ARCHITECTURE §9) --------------------------

TEST(VmTestFile, test_file_exists) {
  TempDir dir;
  std::string f = dir.write("Cargo.toml", "x");
  EXPECT_TRUE(IsOk(test_file_op(f, file_test::EXISTS).result, Value::Bool(true)));
}

TEST(VmTestFile, test_file_is_file) {
  TempDir dir;
  std::string f = dir.write("Cargo.toml", "x");
  EXPECT_TRUE(IsOk(test_file_op(f, file_test::IS_FILE).result, Value::Bool(true)));
  EXPECT_TRUE(IsOk(test_file_op(dir.path(), file_test::IS_FILE).result, Value::Bool(false)));
}

TEST(VmTestFile, test_file_is_dir) {
  TempDir dir;
  fs::create_directory(dir / "src");
  dir.write("file");
  EXPECT_TRUE(IsOk(test_file_op(dir / "src", file_test::IS_DIR).result, Value::Bool(true)));
  EXPECT_TRUE(IsOk(test_file_op(dir / "file", file_test::IS_DIR).result, Value::Bool(false)));
}

TEST(VmTestFile, test_nonexistent_file) {
  EXPECT_TRUE(
      IsOk(test_file_op("/no/such/file/ever", file_test::EXISTS).result, Value::Bool(false)));
}

TEST(VmTestFile, test_file_dispatch_unchanged) {
  EXPECT_TRUE(IsOk(test_file_op("/tmp", file_test::IS_DIR).result, Value::Bool(true)));
}

TEST(VmTestFile, unknown_code_is_false) {
  EXPECT_TRUE(IsOk(test_file_op("/tmp", 99).result, Value::Bool(false)));
  EXPECT_TRUE(IsOk(test_file_op("/tmp", 12).result, Value::Bool(false)));
}

TEST(VmTestFile, nonexistent_path_is_not_readable) {
  EXPECT_TRUE(
      IsOk(test_file_op("/no/such/file/ever", file_test::IS_READABLE).result, Value::Bool(false)));
}

TEST(VmTestFile, tmp_is_nonempty_and_executable) {
  EXPECT_TRUE(IsOk(test_file_op("/tmp", file_test::IS_NONEMPTY).result, Value::Bool(true)));
  EXPECT_TRUE(IsOk(test_file_op("/tmp", file_test::IS_EXECUTABLE).result, Value::Bool(true)));
}

TEST(VmTestFile, empty_path_is_false_for_every_code) {
  for (uint8_t code = 0; code <= 12; ++code)
    EXPECT_TRUE(IsOk(test_file_op("", code).result, Value::Bool(false))) << int(code);
}

TEST(VmTestFile, nonempty_follows_size) {
  TempDir dir;
  std::string empty = dir.write("empty");
  std::string full = dir.write("full", "data");
  EXPECT_TRUE(IsOk(test_file_op(empty, file_test::IS_NONEMPTY).result, Value::Bool(false)));
  EXPECT_TRUE(IsOk(test_file_op(full, file_test::IS_NONEMPTY).result, Value::Bool(true)));
}

TEST(VmTestFile, symlinks) {
  TempDir dir;
  std::string target = dir.write("target", "t");
  fs::create_symlink(target, dir / "link");
  fs::create_symlink(dir / "nowhere", dir / "dangling");
  EXPECT_TRUE(IsOk(test_file_op(dir / "link", file_test::IS_SYMLINK).result, Value::Bool(true)));
  EXPECT_TRUE(IsOk(test_file_op(dir / "link", file_test::IS_FILE).result, Value::Bool(true)));
  EXPECT_TRUE(IsOk(test_file_op(target, file_test::IS_SYMLINK).result, Value::Bool(false)));
  EXPECT_TRUE(
      IsOk(test_file_op(dir / "dangling", file_test::IS_SYMLINK).result, Value::Bool(true)));
  EXPECT_TRUE(IsOk(test_file_op(dir / "dangling", file_test::EXISTS).result, Value::Bool(false)));
}

TEST(VmTestFile, fifo_socket_and_devices) {
  TempDir dir;
  std::string fifo = dir / "fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string sock_path = dir / "sock";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);

  EXPECT_TRUE(IsOk(test_file_op(fifo, file_test::IS_FIFO).result, Value::Bool(true)));
  EXPECT_TRUE(IsOk(test_file_op(fifo, file_test::IS_FILE).result, Value::Bool(false)));
  EXPECT_TRUE(IsOk(test_file_op(sock_path, file_test::IS_SOCKET).result, Value::Bool(true)));
  EXPECT_TRUE(IsOk(test_file_op(fifo, file_test::IS_SOCKET).result, Value::Bool(false)));
  EXPECT_TRUE(IsOk(test_file_op("/dev/null", file_test::IS_CHAR_DEV).result, Value::Bool(true)));
  EXPECT_TRUE(IsOk(test_file_op("/dev/null", file_test::IS_BLOCK_DEV).result, Value::Bool(false)));
  close(fd);

  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/dev", ec)) {
    if (e.is_block_file(ec) && !e.is_symlink(ec)) {
      EXPECT_TRUE(
          IsOk(test_file_op(e.path().string(), file_test::IS_BLOCK_DEV).result, Value::Bool(true)));
      break;
    }
  }
}

TEST(VmTestFile, permission_tests_use_access_as_an_unprivileged_user) {
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  struct Case {
    std::string path;
    uint8_t code;
    bool expected;
  };
  std::string ro = dir.write("ro", "r");
  std::string rw = dir.write("rw", "w");
  std::string exe = dir.write("exe", "#!/bin/sh\n");
  std::string none = dir.write("none", "n");
  chmod(ro.c_str(), 0444);
  chmod(rw.c_str(), 0666);
  chmod(exe.c_str(), 0755);
  chmod(none.c_str(), 0000);
  std::vector<Case> cases = {
      {ro, file_test::IS_READABLE, true},    {ro, file_test::IS_WRITABLE, false},
      {ro, file_test::IS_EXECUTABLE, false}, {rw, file_test::IS_WRITABLE, true},
      {exe, file_test::IS_EXECUTABLE, true}, {none, file_test::IS_READABLE, false},
      {none, file_test::IS_WRITABLE, false}, {none, file_test::EXISTS, true},
  };
  // The child drops root (access() checks the real uid) and reports one char per case.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    std::string report;
    if (getuid() == 0 &&
        (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)) {
      report = "X";
    } else {
      for (const Case& c : cases) {
        Program p;
        p.str(c.path);
        p.emit(Op::TestFile(c.code));
        VM vm(p.build());
        VMResult r = vm.run();
        report += (r.is_ok() && r.value().is_bool()) ? (r.value().as_bool() ? '1' : '0') : '?';
      }
    }
    ssize_t n = write(fds[1], report.data(), report.size());
    _exit(n == static_cast<ssize_t>(report.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::string report;
  char buf[64];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    report.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  if (report == "X") GTEST_SKIP() << "cannot drop privileges here";
  ASSERT_EQ(report.size(), cases.size()) << report;
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(report[i], cases[i].expected ? '1' : '0')
        << cases[i].path << " code " << int(cases[i].code);
}

}  // namespace
}  // namespace fusevm_test
