// DefaultHost: spawning commands, statuses, environment, PATH, background jobs, functions.
#include <signal.h>

#include <string>
#include <vector>

#include "default_host_test_util.hpp"

namespace fusevm_test {
namespace {

class DefaultHostExec : public LeakCheck {};

int32_t status_of(const VMResult& r) {
  return r.is_ok() && r.value().is_status() ? r.value().as_status() : -1000;
}

TEST_F(DefaultHostExec, ExitCodesSignalsAndMissingCommands) {
  HostedVM h = hosted(cmd({"sh", "-c", "exit 3"}) + cmd({"sh", "-c", "kill -9 $$"}) +
                      cmd({"sh", "-c", "kill -TERM $$"}) + cmd({"true"}, "Exec") +
                      "  MakeArray 4\n");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  // DefaultHost reports 128+N for death by signal N (the no-host path says 1).
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Status(3), Value::Status(137), Value::Status(143),
                                     Value::Status(0)})));
}

TEST_F(DefaultHostExec, MissingCommandGives127AndSaysCommandNotFound) {
  TempDir dir;
  HostedVM h = hosted(cmd({"fusevm-no-such-command-xyz", "a"}) + cmd({dir / "nope"}) +
                      "  MakeArray 2\n");
  FdCapture err(2, dir / "stderr");
  VMResult r = h.run();
  const std::string text = err.stop();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Status(127), Value::Status(127)})));
  EXPECT_NE(text.find("fusevm-no-such-command-xyz: command not found\n"), std::string::npos) << text;
  EXPECT_NE(text.find(dir / "nope" + ": No such file or directory\n"), std::string::npos) << text;
}

TEST_F(DefaultHostExec, NonExecutableFileIsReportedAndGives127) {
  TempDir dir;
  spit(dir / "script", "echo hi\n");  // mode 0644: not executable
  DefaultHost host(DefaultHostOptions{.seed_environ = false});
  host.vars().set("PATH", Value::Str(dir.path()));
  host.vars().set_exported("PATH");
  VM vm(Chunk{});
  HostContext cx(vm);
  FdCapture err(2, dir / "stderr");
  const int32_t s = host.exec(cx, {"script"});
  const std::string text = err.stop();
  EXPECT_EQ(s, 127);
  EXPECT_EQ(text, "script: Permission denied\n");
}

TEST_F(DefaultHostExec, PathIsSearchedInTheChildEnvironment) {
  TempDir dir;
  spit(dir / "fusevm-hello", "#!/bin/sh\necho from-path > \"$1\"\n");
  ::chmod((dir / "fusevm-hello").c_str(), 0755);
  // The program's own PATH global, exported, decides where the command is found.
  HostedVM h = hosted(".name \"PATH\"\n  LoadConst " + q(dir.path() + ":/usr/bin:/bin") +
                      "\n  SetVar @PATH\n" + cmd({"fusevm-hello", dir / "out"}));
  h.host->vars().set_exported("PATH");
  VMResult r = h.run();
  EXPECT_EQ(status_of(r), 0) << r.repr();
  EXPECT_EQ(slurp(dir / "out"), "from-path\n");
}

TEST_F(DefaultHostExec, ScriptWithoutShebangRunsWithSh) {
  TempDir dir;
  spit(dir / "plain", "echo plain-script > \"$1\"\n");
  ::chmod((dir / "plain").c_str(), 0755);
  HostedVM h = hosted(cmd({dir / "plain", dir / "out"}));
  EXPECT_EQ(status_of(h.run()), 0);
  EXPECT_EQ(slurp(dir / "out"), "plain-script\n");
}

TEST_F(DefaultHostExec, ChildEnvironmentHasTableExportsWithExportedGlobalsOverriding) {
  TempDir dir;
  HostedVM h = hosted(".name \"GREETING\"\n.name \"LOCAL_ONLY\"\n"
                      "  LoadConst \"from-global\"\n  SetVar @GREETING\n"
                      "  LoadConst \"not-exported\"\n  SetVar @LOCAL_ONLY\n" +
                          cmd({"sh", "-c",
                               "printf '%s|%s|%s|%s' \"$GREETING\" \"$TABLE_VAR\" "
                               "\"${LOCAL_ONLY-unset}\" \"${HIDDEN-unset}\" > \"$1\"",
                               "sh", dir / "env"}),
                      DefaultHostOptions{.seed_environ = false});
  ShellVars& v = h.host->vars();
  v.set("GREETING", Value::Str("from-table"));
  v.set_exported("GREETING");
  v.set("TABLE_VAR", Value::Array({Value::Str("a"), Value::Str("b")}));
  v.set_exported("TABLE_VAR");
  v.set("HIDDEN", Value::Str("not exported"));
  EXPECT_EQ(status_of(h.run()), 0);
  EXPECT_EQ(slurp(dir / "env"), "from-global|a b|unset|unset");
}

TEST_F(DefaultHostExec, ChildrenGetDefaultSignalDispositionsAndAnEmptyMask) {
  TempDir dir;
  struct sigaction ign {}, old_int {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  ASSERT_EQ(::sigaction(SIGINT, &ign, &old_int), 0);
  sigset_t usr1, old_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, &old_mask), 0);
  HostedVM h = hosted(cmd({"sh", "-c", "kill -INT $$; exit 0"}) +
                      cmd({"sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status > \"$1\"", "sh",
                           dir / "status"}) +
                      "  MakeArray 2\n");
  VMResult r = h.run();
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGINT, &old_int, nullptr);
  ASSERT_TRUE(r.is_ok()) << r.repr();
  // An ignored SIGINT would survive exec; the child got the default and died of it.
  EXPECT_EQ(r.value().as_array()[0], Value::Status(128 + SIGINT));
  const std::string st = slurp(dir / "status");
  EXPECT_NE(st.find("SigBlk:\t0000000000000000"), std::string::npos) << st;
}

TEST_F(DefaultHostExec, BackgroundJobsAreTrackedWaitedAndReaped) {
  TempDir dir;
  HostedVM h = hosted(cmd({"sh", "-c", "exit 7"}, "ExecBg") + "  Pop\n" +
                      cmd({"sleep", "0.2"}, "ExecBg") + "  Pop\n");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_halted()) << r.repr();
  std::vector<int32_t> jobs = h.host->background_jobs();
  EXPECT_LE(jobs.size(), 2u);
  EXPECT_GE(jobs.size(), 1u);  // the sleep is still running
  const int32_t last = h.host->wait_background(0);
  EXPECT_EQ(last, 0);  // the status of the last job started (sleep)
  EXPECT_TRUE(h.host->background_jobs().empty());
  EXPECT_EQ(child_pids().size(), children_before());
}

TEST_F(DefaultHostExec, WaitBackgroundForOnePidGivesItsStatus) {
  VM vm(Chunk{});
  HostContext cx(vm);
  DefaultHost host;
  const int32_t pid = host.exec_bg(cx, {"sh", "-c", "exit 5"});
  ASSERT_GT(pid, 0);
  EXPECT_EQ(host.wait_background(pid), 5);
  EXPECT_EQ(host.wait_background(pid), 127);  // no longer a job
  EXPECT_EQ(host.exec_bg(cx, {"fusevm-no-such-command-xyz"}), 0);
}

TEST_F(DefaultHostExec, FinishedBackgroundJobsLeaveNoZombies) {
  VM vm(Chunk{});
  HostContext cx(vm);
  DefaultHost host;
  for (int k = 0; k < 5; ++k) ASSERT_GT(host.exec_bg(cx, {"true"}), 0);
  // Reaped at the next host call once they are done, without anyone waiting.
  for (int k = 0; k < 200 && !host.background_jobs().empty(); ++k)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(host.background_jobs().empty());
  EXPECT_EQ(child_pids().size(), children_before());
  EXPECT_EQ(host.exec(cx, {"true"}), 0);
}

TEST_F(DefaultHostExec, DestroyedHostHandsRunningJobsToTheNextHost) {
  VM vm(Chunk{});
  HostContext cx(vm);
  {
    DefaultHost host;
    ASSERT_GT(host.exec_bg(cx, {"sleep", "0.1"}), 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  DefaultHost next;
  EXPECT_EQ(next.exec(cx, {"true"}), 0);  // any host call reaps the orphan
  EXPECT_EQ(child_pids().size(), children_before());
}

TEST_F(DefaultHostExec, BackgroundStdinIsDevNull) {
  TempDir dir;
  VM vm(Chunk{});
  HostContext cx(vm);
  DefaultHost host;
  const int32_t pid = host.exec_bg(cx, {"sh", "-c", "readlink /proc/self/fd/0 > \"$1\"", "sh",
                                        dir / "in"});
  ASSERT_GT(pid, 0);
  EXPECT_EQ(host.wait_background(pid), 0);
  EXPECT_EQ(slurp(dir / "in"), "/dev/null\n");
}

TEST_F(DefaultHostExec, CallFunctionRunsAnInChunkSubAndReturnsItsStatus) {
  HostedVM h = hosted(R"(
.name "greet"
.name "plain"
  LoadConst "a"
  LoadConst "b"
  CallFunction @greet, 2
  CallFunction @plain, 0
  CallFunction @"true", 0
  MakeArray 3
  ReturnValue
.sub greet
  Swap
  Concat
  LoadConst "ba"
  StrEq
  JumpIfFalse wrong
  LoadConst status(4)
  ReturnValue
wrong:
  LoadConst status(9)
  ReturnValue
.sub plain
  LoadInt 6
  ReturnValue
)");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  // Functions run in this VM; a name without a sub entry falls back to exec.
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Status(4), Value::Status(6), Value::Status(0)})));
  EXPECT_EQ(h.vm->last_status(), 0);
}

TEST_F(DefaultHostExec, LookupPrefersSetGlobalsThenTheTable) {
  HostedVM h = hosted(".name \"A\"\n.name \"B\"\n  LoadConst \"global\"\n  SetVar @A\n",
                      DefaultHostOptions{.seed_environ = false});
  h.host->vars().set("A", Value::Str("table-a"));
  h.host->vars().set("B", Value::Str("table-b"));
  HostContext cx = h.cx();
  EXPECT_EQ(h.host->lookup(cx, "A"), Value::Str("table-a"));  // global still Undef
  ASSERT_TRUE(h.run().is_halted());
  EXPECT_EQ(h.host->lookup(cx, "A"), Value::Str("global"));
  EXPECT_EQ(h.host->lookup(cx, "B"), Value::Str("table-b"));
  EXPECT_EQ(h.host->lookup(cx, "C"), std::nullopt);
  h.host->assign(cx, "B", Value::Str("now-global"));  // B is in the pool: the global
  h.host->assign(cx, "C", Value::Str("table-c"));     // C is not: the table
  EXPECT_EQ(h.vm->globals()[1], Value::Str("now-global"));
  EXPECT_EQ(*h.host->vars().get("B"), Value::Str("table-b"));
  EXPECT_EQ(*h.host->vars().get("C"), Value::Str("table-c"));
}

TEST_F(DefaultHostExec, SeededTableHoldsTheEnvironment) {
  ::setenv("FUSEVM_DHOST_SEED", "seeded", 1);
  DefaultHost host;
  ::unsetenv("FUSEVM_DHOST_SEED");
  ASSERT_NE(host.vars().get("FUSEVM_DHOST_SEED"), nullptr);
  EXPECT_EQ(*host.vars().get("FUSEVM_DHOST_SEED"), Value::Str("seeded"));
  EXPECT_TRUE(host.vars().is_exported("FUSEVM_DHOST_SEED"));
  DefaultHost empty(DefaultHostOptions{.seed_environ = false});
  EXPECT_EQ(empty.vars().get("FUSEVM_DHOST_SEED"), nullptr);
}

TEST_F(DefaultHostExec, ReportingToABrokenStderrDoesNotKillTheHost) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ::close(p[0]);
  const int saved = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
  ::dup2(p[1], 2);
  ::close(p[1]);
  VM vm(Chunk{});
  HostContext cx(vm);
  DefaultHost host;
  const int32_t s = host.exec(cx, {"fusevm-no-such-command-xyz"});
  ::dup2(saved, 2);
  ::close(saved);
  EXPECT_EQ(s, 127);  // and this process is still here
}

TEST_F(DefaultHostExec, ArgumentWithNulIsRefusedClearly) {
  TempDir dir;
  VM vm(Chunk{});
  HostContext cx(vm);
  DefaultHost host;
  FdCapture err(2, dir / "stderr");
  const int32_t s = host.exec(cx, {"echo", std::string("a\0b", 3)});
  const std::string text = err.stop();
  EXPECT_EQ(s, 127);
  EXPECT_EQ(text, "echo: argument holds a NUL byte\n");
}

}  // namespace
}  // namespace fusevm_test
