// DefaultHost: command substitution, process substitution and subshells, all forked.
#include <string>

#include "default_host_test_util.hpp"

namespace fusevm_test {
namespace {

class DefaultHostSubst : public LeakCheck {};

int32_t status_of(const VMResult& r) {
  return r.is_ok() && r.value().is_status() ? r.value().as_status() : -1000;
}

TEST_F(DefaultHostSubst, CommandSubstitutionCapturesStdoutAndStripsTrailingNewlines) {
  HostedVM h = hosted(R"(
  CmdSubst sub
  GetStatus
  MakeArray 2
.chunk sub
  LoadConst "printf"
  LoadConst "a\n\nb\n\n\n"
  Exec 2
.end
)");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Str("a\n\nb"), Value::Status(0)})));
}

TEST_F(DefaultHostSubst, CommandSubstitutionSetsTheStatusOfItsLastCommand) {
  HostedVM h = hosted(R"(
  CmdSubst sub
  Pop
  GetStatus
.chunk sub
  LoadConst "sh"
  LoadConst "-c"
  LoadConst "echo out; exit 9"
  Exec 3
.end
)");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Status(9)));
  EXPECT_EQ(h.vm->last_status(), 9);
}

TEST_F(DefaultHostSubst, CommandSubstitutionSeesAndKeepsAwayVariables) {
  HostedVM h = hosted(R"(
.name "x"
  LoadConst "value-of-x"
  SetVar @x
  CmdSubst sub
  GetVar @x
  MakeArray 2
.chunk sub
.name "x"
  LoadConst "echo"
  GetVar @x
  Exec 2
  LoadConst "changed-in-child"
  SetVar @x
.end
)");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  // $(echo $x) sees x; the assignment happened in another process.
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Str("value-of-x"), Value::Str("value-of-x")})));
}

TEST_F(DefaultHostSubst, NestedCommandSubstitutionAndInlineOutput) {
  HostedVM h = hosted(R"(
  CmdSubst outer
.chunk outer
  LoadConst "<"
  CmdSubst inner
  LoadConst ">"
  Print 3
.chunk inner
  LoadConst "deep"
  HereString
  LoadConst "tr"
  LoadConst "a-z"
  LoadConst "A-Z"
  Exec 3
.end
.end
)");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Str("<DEEP>")));
}

TEST_F(DefaultHostSubst, LargeCommandSubstitutionOutput) {
  HostedVM h = hosted(R"(
  CmdSubst sub
  StringLen
.chunk sub
  LoadConst "head"
  LoadConst "-c"
  LoadConst "3000000"
  LoadConst "/dev/zero"
  Exec 4
.end
)");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Int(3000000)));
}

TEST_F(DefaultHostSubst, ErrorInsideCommandSubstitutionIsReportedAndGivesStatusOne) {
  TempDir dir;
  HostedVM h = hosted(R"(
  CmdSubst sub
  GetStatus
  MakeArray 2
.chunk sub
  LoadConst "partial"
  PrintLn 1
  CallBuiltin 3, 0
.end
)");
  h.vm->register_builtin(3, [](VM& vm, uint8_t) {
    vm.raise_error("subst exploded");
    return Value();
  });
  FdCapture err(2, dir / "stderr");
  VMResult r = h.run();
  const std::string text = err.stop();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Str("partial"), Value::Status(1)})));
  EXPECT_NE(text.find("subst exploded"), std::string::npos) << text;
}

TEST_F(DefaultHostSubst, ProcessSubstitutionInIsReadableThroughDevFd) {
  TempDir dir;
  HostedVM h = hosted(R"(
  LoadConst "sh"
  LoadConst "-c"
  LoadConst "cat \"$1\" \"$2\" > \"$3\""
  LoadConst "sh"
  ProcessSubIn one
  ProcessSubIn two
  LoadConst )" + q(dir / "out") + R"(
  Exec 7
.chunk one
  LoadConst "echo"
  LoadConst "first"
  Exec 2
.end
.chunk two
  LoadConst "printf"
  LoadConst "second\n"
  Exec 2
.end
)");
  VMResult r = h.run();
  EXPECT_EQ(status_of(r), 0) << r.repr();
  EXPECT_EQ(slurp(dir / "out"), "first\nsecond\n");
  h.host->wait_background(0);  // the substitution children
}

TEST_F(DefaultHostSubst, ProcessSubstitutionOutFeedsACommand) {
  TempDir dir;
  HostedVM h = hosted(R"(
  LoadConst "sh"
  LoadConst "-c"
  LoadConst "echo to-the-consumer > \"$1\""
  LoadConst "sh"
  ProcessSubOut consumer
  Exec 5
.chunk consumer
  LoadConst "sh"
  LoadConst "-c"
  LoadConst "tr a-z A-Z > \"$1\""
  LoadConst "sh"
  LoadConst )" + q(dir / "out") + R"(
  Exec 5
.end
)");
  VMResult r = h.run();
  EXPECT_EQ(status_of(r), 0) << r.repr();
  h.host->wait_background(0);  // the consumer finishes once the write end is closed
  EXPECT_EQ(slurp(dir / "out"), "TO-THE-CONSUMER\n");
}

TEST_F(DefaultHostSubst, ProcessSubstitutionFdIsClosedAfterTheCommand) {
  HostedVM h = hosted(R"(
  ProcessSubIn one
  Dup
  LoadConst "true"
  Exec 1
  Pop
.chunk one
  LoadConst "true"
  Exec 1
.end
)");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  const std::string path = r.value().to_str();
  ASSERT_EQ(path.rfind("/dev/fd/", 0), 0u) << path;
  // `true` runs inline, and the host still hears that its command ended.
  const int fd = std::stoi(path.substr(8));
  EXPECT_LT(::fcntl(fd, F_GETFD), 0);
  h.host->wait_background(0);
}

// An external command releases its process substitution's fd when it ends.
TEST_F(DefaultHostSubst, ProcessSubstitutionFdOfAnExternalCommandIsClosedAfterIt) {
  HostedVM h = hosted(R"(
  ProcessSubIn one
  Dup
  LoadConst "sh"
  Swap
  LoadConst "-c"
  Swap
  LoadConst "test -r \"$0\""
  Swap
  Exec 4
  MakeArray 2
.chunk one
  LoadConst "true"
  Exec 1
.end
)");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  const std::string path = r.value().as_array()[0].to_str();
  ASSERT_EQ(path.rfind("/dev/fd/", 0), 0u) << path;
  EXPECT_EQ(R(r.value().as_array()[1]), R(Value::Status(0)));  // the command could read it
  EXPECT_LT(::fcntl(std::stoi(path.substr(8)), F_GETFD), 0);
  h.host->wait_background(0);
}

TEST_F(DefaultHostSubst, SubshellIsolatesVariablesCwdAndFds) {
  TempDir dir;
  char cwd_before[4096];
  ASSERT_NE(::getcwd(cwd_before, sizeof cwd_before), nullptr);
  HostedVM h = hosted(R"(
.name "x"
  LoadConst "outer"
  SetVar @x
  SubshellBegin
  LoadConst "inner"
  SetVar @x
  CallBuiltin 1, 0
  LoadConst )" + q(dir / "f") + R"(
  Redirect 1, WRITE
  LoadConst "echo"
  GetVar @x
  Exec 2
  SubshellEnd
  GetStatus
  GetVar @x
  MakeArray 2
)");
  const std::string target = dir.path();
  h.vm->register_builtin(1, [target](VM&, uint8_t) {
    return Value::Int(::chdir(target.c_str()));
  });
  struct stat before1;
  ASSERT_EQ(::fstat(1, &before1), 0);
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Status(0), Value::Str("outer")})));
  char cwd_after[4096];
  ASSERT_NE(::getcwd(cwd_after, sizeof cwd_after), nullptr);
  EXPECT_STREQ(cwd_after, cwd_before);
  struct stat after1;
  ASSERT_EQ(::fstat(1, &after1), 0);
  EXPECT_EQ(after1.st_ino, before1.st_ino);  // the permanent redirection stayed inside
  EXPECT_EQ(slurp(dir / "f"), "inner\n");
}

TEST_F(DefaultHostSubst, SubshellStatusAndNesting) {
  HostedVM h = hosted(R"(
  SubshellBegin
  SubshellBegin
  LoadConst "sh"
  LoadConst "-c"
  LoadConst "exit 4"
  Exec 3
  SubshellEnd
  GetStatus
  SubshellEnd
  GetStatus
  SubshellBegin
  LoadConst "false"
  Exec 1
  SubshellEnd
  GetStatus
  MakeArray 2
)");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  // The outer subshell's last value is the inner one's status, which it leaves with.
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Status(4), Value::Status(1)})));
}

TEST_F(DefaultHostSubst, SubshellEndingEarlyNeverReturnsToTheCaller) {
  TempDir dir;
  HostedVM h = hosted(R"(
  SubshellBegin
  LoadInt 5
  ReturnValue
  SubshellEnd
  GetStatus
)");
  VMResult r = h.run();
  { std::ofstream(dir / "marker", std::ios::app) << "returned\n"; }
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Status(0)));  // the child's $? was 0 when it left
  EXPECT_EQ(slurp(dir / "marker"), "returned\n");
}

TEST_F(DefaultHostSubst, EmbedderSinkIsFlushedBeforeForking) {
  HostedVM h = hosted(R"(
  LoadConst "before "
  Print 1
  CmdSubst sub
  Print 1
.chunk sub
  LoadConst "captured"
  Print 1
.end
)");
  std::string sink;
  h.vm->set_output([&](std::string_view s) { sink.append(s); });
  ASSERT_TRUE(h.run().is_halted());
  // Buffered output is written once, by the parent, not again by the child.
  EXPECT_EQ(sink, "before captured");
}

}  // namespace
}  // namespace fusevm_test
