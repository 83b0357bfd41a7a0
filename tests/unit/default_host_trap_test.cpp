// DefaultHost: traps recorded by an async-signal-safe handler and run at TrapCheck.
#include <signal.h>

#include <string>

#include "default_host_test_util.hpp"

namespace fusevm_test {
namespace {

class DefaultHostTrap : public LeakCheck {};

void (*disposition(int sig))(int) {
  struct sigaction sa {};
  ::sigaction(sig, nullptr, &sa);
  return sa.sa_handler;
}

// Builtin 1 sends the signal named by its argument (a number) to this process.
void add_kill_builtin(VM& vm) {
  vm.register_builtin(1, [](VM& v, uint8_t) {
    return Value::Int(::kill(::getpid(), static_cast<int>(v.pop().to_int())));
  });
}

// A handler chunk appending `tag` to the global `log`.
std::string handler(const std::string& name, const std::string& tag) {
  return ".chunk " + name + "\n.name \"log\"\n  GetVar @log\n  LoadConst " + q(tag) +
         "\n  Concat\n  SetVar @log\n.end\n";
}

TEST_F(DefaultHostTrap, KillDeliversUsr1AndTheHandlerRunsAtTrapCheck) {
  HostedVM h = hosted(R"(
.name "log"
  LoadConst ""
  SetVar @log
  LoadConst "USR1"
  TrapSet on_usr1
  LoadInt )" + std::to_string(SIGUSR1) + R"(
  CallBuiltin 1, 1
  Pop
  GetVar @log
  TrapCheck
  GetVar @log
  TrapCheck
  GetVar @log
  MakeArray 3
)" + handler("on_usr1", "[usr1]"));
  add_kill_builtin(*h.vm);
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  // Nothing runs in the signal handler itself; the handler chunk runs once, at TrapCheck.
  EXPECT_EQ(R(r.value()),
            R(Value::Array({Value::Str(""), Value::Str("[usr1]"), Value::Str("[usr1]")})));
}

TEST_F(DefaultHostTrap, SignalSentByAChildProcessIsDelivered) {
  HostedVM h = hosted(R"(
.name "log"
  LoadConst "TERM"
  TrapSet on_term
  LoadConst "sh"
  LoadConst "-c"
  LoadConst "kill -TERM $PPID; sleep 0.05; exit 3"
  Exec 3
  TrapCheck
  GetVar @log
  MakeArray 2
)" + handler("on_term", "term"));
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  // The wait for the child went on through the signal; the trap ran afterwards.
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Status(3), Value::Str("term")})));
}

TEST_F(DefaultHostTrap, SignalNamesNumbersAndSigPrefixAreAccepted) {
  HostedVM h = hosted(R"(
.name "log"
  LoadConst ""
  SetVar @log
  LoadConst "SIGHUP"
  TrapSet a
  LoadConst "int"
  TrapSet b
  LoadConst ")" + std::to_string(SIGUSR2) + R"("
  TrapSet c
  LoadConst "WINCH"
  TrapSet d
  LoadInt )" + std::to_string(SIGHUP) + R"(
  CallBuiltin 1, 1
  LoadInt )" + std::to_string(SIGINT) + R"(
  CallBuiltin 1, 1
  LoadInt )" + std::to_string(SIGUSR2) + R"(
  CallBuiltin 1, 1
  LoadInt )" + std::to_string(SIGWINCH) + R"(
  CallBuiltin 1, 1
  Pop
  Pop
  Pop
  Pop
  TrapCheck
  GetVar @log
)" + handler("a", "H") + handler("b", "I") + handler("c", "U") + handler("d", "W"));
  add_kill_builtin(*h.vm);
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  // One TrapCheck runs every pending trap, in signal-number order.
  EXPECT_EQ(R(r.value()), R(Value::Str("HIUW")));
}

TEST_F(DefaultHostTrap, UnknownOrUntrappableSignalsAreErrors) {
  for (const std::string bad : {"NOPE", "KILL", "SIGSTOP", "9", "SEGV", ""}) {
    HostedVM h = hosted("  LoadConst " + q(bad) + "\n  TrapSet t\n.chunk t\n  Nop\n.end\n");
    VMResult r = h.run();
    ASSERT_TRUE(r.is_error()) << bad;
    const std::string& m = r.error().message;
    if (bad == "KILL" || bad == "SIGSTOP" || bad == "9") {
      EXPECT_EQ(m, "trap: " + bad + ": cannot be trapped");
    } else {
      EXPECT_EQ(m, "trap: " + bad + ": invalid signal specification");
    }
  }
}

TEST_F(DefaultHostTrap, EmptyHandlerIgnoresAndTheDestructorRestores) {
  ASSERT_EQ(disposition(SIGUSR2), SIG_DFL);
  ASSERT_EQ(disposition(SIGUSR1), SIG_DFL);
  {
    HostedVM h = hosted(R"(
  LoadConst "USR2"
  TrapSet empty
  LoadConst "USR1"
  TrapSet t
  LoadInt )" + std::to_string(SIGUSR2) + R"(
  CallBuiltin 1, 1
  TrapCheck
.chunk empty
.end
.chunk t
  Nop
.end
)");
    add_kill_builtin(*h.vm);
    VMResult r = h.run();
    EXPECT_TRUE(r.is_ok()) << r.repr();  // still alive: USR2 was ignored
    EXPECT_EQ(disposition(SIGUSR2), SIG_IGN);
    EXPECT_NE(disposition(SIGUSR1), SIG_DFL);
  }
  EXPECT_EQ(disposition(SIGUSR2), SIG_DFL);
  EXPECT_EQ(disposition(SIGUSR1), SIG_DFL);
}

TEST_F(DefaultHostTrap, HandlerKeepsTheStatusAndSeesVariables) {
  HostedVM h = hosted(R"(
.name "x"
  LoadConst "shell-var"
  SetVar @x
  LoadConst "ALRM"
  TrapSet t
  LoadInt )" + std::to_string(SIGALRM) + R"(
  CallBuiltin 1, 1
  Pop
  LoadInt 3
  SetStatus
  TrapCheck
  GetStatus
  GetVar @x
  MakeArray 2
.chunk t
.name "x"
  GetVar @x
  LoadConst "+seen"
  Concat
  SetVar @x
  LoadConst "false"
  Exec 1
  LoadInt 1
  SetStatus
.end
)");
  add_kill_builtin(*h.vm);
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Status(3), Value::Str("shell-var+seen")})));
}

TEST_F(DefaultHostTrap, HandlerErrorStopsTheRunWithItsText) {
  HostedVM h = hosted(R"(
  LoadConst "USR1"
  TrapSet t
  LoadInt )" + std::to_string(SIGUSR1) + R"(
  CallBuiltin 1, 1
  TrapCheck
.chunk t
  CallBuiltin 2, 0
.end
)");
  add_kill_builtin(*h.vm);
  h.vm->register_builtin(2, [](VM& vm, uint8_t) {
    vm.raise_error("handler failed");
    return Value();
  });
  VMResult r = h.run();
  ASSERT_TRUE(r.is_error()) << r.repr();
  EXPECT_EQ(r.error().message, "trap USR1: handler failed");
}

TEST_F(DefaultHostTrap, ExitTrapRunsOnceWhenTheFrontendAsks) {
  HostedVM h = hosted(R"(
.name "log"
  LoadConst "EXIT"
  TrapSet bye
.chunk bye
.name "log"
  GetVar @log
  LoadConst "bye"
  Concat
  SetVar @log
.end
)");
  ASSERT_TRUE(h.run().is_halted());
  HostContext cx = h.cx();
  h.host->run_exit_trap(cx);
  h.host->run_exit_trap(cx);
  EXPECT_EQ(R(h.vm->globals()[0]), R(Value::Str("bye")));
}

TEST_F(DefaultHostTrap, SubshellsDoNotInheritTrapHandlers) {
  HostedVM h = hosted(R"(
.name "log"
  LoadConst ""
  SetVar @log
  LoadConst "USR1"
  TrapSet t
  SubshellBegin
  LoadInt )" + std::to_string(SIGUSR1) + R"(
  CallBuiltin 1, 1
  TrapCheck
  SubshellEnd
  GetStatus
  TrapCheck
  GetVar @log
  MakeArray 2
)" + handler("t", "ran"));
  add_kill_builtin(*h.vm);
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  // The subshell had the default disposition and died of the signal.
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Status(128 + SIGUSR1), Value::Str("")})));
}

TEST_F(DefaultHostTrap, HandlerMayRunAPipelineAndOutputStaysInOrder) {
  TempDir dir;
  HostedVM h = hosted(R"(
  LoadConst "HUP"
  TrapSet t
  LoadConst "before\n"
  Print 1
  LoadInt )" + std::to_string(SIGHUP) + R"(
  CallBuiltin 1, 1
  Pop
  TrapCheck
  LoadConst "after\n"
  Print 1
.chunk t
  LoadConst "handler\n"
  Print 1
  PipelineBegin 2
  LoadConst "echo"
  LoadConst "piped"
  Exec 2
  PipelineStage
  LoadConst "tr"
  LoadConst "a-z"
  LoadConst "A-Z"
  Exec 3
  PipelineEnd
.end
)");
  add_kill_builtin(*h.vm);
  VMResult r = VMResult::Halted();
  std::string out;
  {
    FdCapture cap(1, dir / "out");
    r = h.run();
    out = cap.stop();
  }
  ASSERT_TRUE(r.is_halted()) << r.repr();
  EXPECT_EQ(out, "before\nhandler\nPIPED\nafter\n");
}

}  // namespace
}  // namespace fusevm_test
