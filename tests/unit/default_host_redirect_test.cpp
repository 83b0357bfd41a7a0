// DefaultHost: every redirect_op on real fds, scopes that restore fds exactly, here-docs.
#include <sys/resource.h>

#include <string>

#include "default_host_test_util.hpp"

namespace fusevm_test {
namespace {

class DefaultHostRedirect : public LeakCheck {};

std::string redir(int fd, const char* op, const std::string& target) {
  return "  LoadConst " + q(target) + "\n  Redirect " + std::to_string(fd) + ", " + op + "\n";
}

// WithRedirectsBegin(n); the redirections; body; WithRedirectsEnd.
std::string scoped(const std::vector<std::string>& redirs, const std::string& body) {
  std::string s = "  WithRedirectsBegin " + std::to_string(redirs.size()) + "\n";
  for (const std::string& r : redirs) s += r;
  return s + body + "  WithRedirectsEnd\n";
}

int32_t status_of(const VMResult& r) {
  return r.is_ok() && r.value().is_status() ? r.value().as_status() : -1000;
}

struct FdId {
  bool open = false;
  dev_t dev = 0;
  ino_t ino = 0;
  int fd_flags = 0;
  off_t offset = -1;
  bool operator==(const FdId&) const = default;
};

FdId identify(int fd) {
  FdId id;
  struct stat sb;
  if (::fstat(fd, &sb) != 0) return id;
  id.open = true;
  id.dev = sb.st_dev;
  id.ino = sb.st_ino;
  id.fd_flags = ::fcntl(fd, F_GETFD);
  id.offset = ::lseek(fd, 0, SEEK_CUR);
  return id;
}

TEST_F(DefaultHostRedirect, WriteTruncatesAppendAppendsClobberWrites) {
  TempDir dir;
  HostedVM h = hosted(scoped({redir(1, "WRITE", dir / "w")}, cmd({"echo", "first"}) + "  Pop\n") +
                      scoped({redir(1, "WRITE", dir / "w")}, cmd({"echo", "second"}) + "  Pop\n") +
                      scoped({redir(1, "APPEND", dir / "a")}, cmd({"echo", "one"}) + "  Pop\n") +
                      scoped({redir(1, "APPEND", dir / "a")}, cmd({"printf", "two\\n"}) + "  Pop\n") +
                      scoped({redir(1, "CLOBBER", dir / "w")}, cmd({"printf", "third"}) + "  Pop\n"));
  ASSERT_TRUE(h.run().is_halted());
  EXPECT_EQ(slurp(dir / "w"), "third");
  EXPECT_EQ(slurp(dir / "a"), "one\ntwo\n");
}

TEST_F(DefaultHostRedirect, ReadAndReadWriteOnAnyFd) {
  TempDir dir;
  spit(dir / "in", "input text\n");
  HostedVM h = hosted(
      scoped({redir(0, "READ", dir / "in"), redir(1, "WRITE", dir / "copy")}, cmd({"cat"}) + "  Pop\n") +
      // 3<>file: opened read-write (created) on fd 3, which the command writes through.
      scoped({redir(3, "READ_WRITE", dir / "rw")}, cmd({"sh", "-c", "echo via-fd3 >&3"}) + "  Pop\n") +
      scoped({redir(7, "READ", dir / "in"), redir(1, "WRITE", dir / "fd7")},
             cmd({"sh", "-c", "cat <&7"}) + "  Pop\n"));
  ASSERT_TRUE(h.run().is_halted());
  EXPECT_EQ(slurp(dir / "copy"), "input text\n");
  EXPECT_EQ(slurp(dir / "rw"), "via-fd3\n");
  EXPECT_EQ(slurp(dir / "fd7"), "input text\n");
}

TEST_F(DefaultHostRedirect, DupOpsCopyAndCloseFds) {
  TempDir dir;
  spit(dir / "in", "dup-read\n");
  HostedVM h = hosted(
      // > out 2>&1
      scoped({redir(1, "WRITE", dir / "both"), redir(2, "DUP_WRITE", "1")},
             cmd({"sh", "-c", "echo out; echo err >&2"}) + "  Pop\n") +
      // 4< in 0<&4
      scoped({redir(4, "READ", dir / "in"), redir(0, "DUP_READ", "4"), redir(1, "WRITE", dir / "dup")},
             cmd({"cat"}) + "  Pop\n") +
      // 5>&- and 0<&- close
      scoped({redir(1, "WRITE", dir / "closed"), redir(5, "DUP_WRITE", "-"), redir(0, "DUP_READ", "-")},
             cmd({"sh", "-c",
                  "for f in 0 5; do if [ -e /proc/self/fd/$f ]; then echo open; else echo closed; fi; done"}) +
                 "  Pop\n"));
  ASSERT_TRUE(h.run().is_halted());
  EXPECT_EQ(slurp(dir / "both"), "out\nerr\n");
  EXPECT_EQ(slurp(dir / "dup"), "dup-read\n");
  EXPECT_EQ(slurp(dir / "closed"), "closed\nclosed\n");
}

TEST_F(DefaultHostRedirect, WriteBothAndAppendBothTakeStdoutAndStderr) {
  TempDir dir;
  const std::string both = cmd({"sh", "-c", "echo o; echo e >&2"}) + "  Pop\n";
  HostedVM h = hosted(scoped({redir(1, "WRITE_BOTH", dir / "wb")}, both) +
                      scoped({redir(1, "APPEND_BOTH", dir / "ab")}, both) +
                      scoped({redir(1, "APPEND_BOTH", dir / "ab")}, both) +
                      // `>&word` with a word that is not a number means `&>word`.
                      scoped({redir(1, "DUP_WRITE", dir / "dw")}, both));
  ASSERT_TRUE(h.run().is_halted());
  EXPECT_EQ(slurp(dir / "wb"), "o\ne\n");
  EXPECT_EQ(slurp(dir / "ab"), "o\ne\no\ne\n");
  EXPECT_EQ(slurp(dir / "dw"), "o\ne\n");
}

TEST_F(DefaultHostRedirect, ScopeEndRestoresFdsExactly) {
  TempDir dir;
  spit(dir / "six", "0123456789");
  const int six = ::open((dir / "six").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(six, 0);
  ASSERT_EQ(::lseek(six, 4, SEEK_SET), 4);
  ::close(5);
  const int moved_six = ::fcntl(six, F_DUPFD_CLOEXEC, 6);  // exactly fd 6 if free
  ::close(six);
  ASSERT_EQ(moved_six, 6);
  // fd 10 closed, so the first saved copy lands there and must move when the program
  // redirects fd 10 itself.
  const int keep10 = ::fcntl(10, F_DUPFD_CLOEXEC, 200);
  ::close(10);
  const FdId before1 = identify(1), before5 = identify(5), before6 = identify(6);
  ASSERT_FALSE(before5.open);
  HostedVM h = hosted(
      scoped({redir(1, "WRITE", dir / "a"), redir(5, "WRITE", dir / "b"), redir(6, "APPEND", dir / "c")},
             // A nested scope changes fd 1 again, and also fd 10, where saved copies live.
             scoped({redir(1, "WRITE", dir / "inner"), redir(10, "WRITE", dir / "ten")},
                    cmd({"sh", "-c", "echo inner; echo ten > /proc/self/fd/10"}) + "  Pop\n") +
                 cmd({"sh", "-c", "echo outer; echo five >&5; echo six >&6"}) + "  Pop\n"));
  ASSERT_TRUE(h.run().is_halted());
  EXPECT_EQ(identify(1), before1);
  EXPECT_EQ(identify(5), before5);  // closed before: closed again
  EXPECT_EQ(identify(6), before6);  // same file, offset and CLOEXEC flag
  EXPECT_FALSE(identify(10).open);
  if (keep10 >= 0) {
    ::dup2(keep10, 10);
    ::close(keep10);
  }
  EXPECT_EQ(slurp(dir / "inner"), "inner\n");
  EXPECT_EQ(slurp(dir / "ten"), "ten\n");
  EXPECT_EQ(slurp(dir / "a"), "outer\n");
  EXPECT_EQ(slurp(dir / "b"), "five\n");
  EXPECT_EQ(slurp(dir / "c"), "six\n");
  ::close(6);
}

TEST_F(DefaultHostRedirect, RedirectOutsideAScopeIsPermanent) {
  TempDir dir;
  HostedVM h = hosted(redir(1, "WRITE", dir / "perm") + cmd({"echo", "one"}) + "  Pop\n" +
                      cmd({"printf", "two\\n"}) + "  Pop\n  LoadConst \"three\"\n  PrintLn 1\n");
  std::string outer;
  {
    FdCapture guard(1, dir / "guard");  // the program's `exec >file` must not outlive it
    ASSERT_TRUE(h.run().is_halted());
    outer = guard.stop();
  }
  EXPECT_EQ(slurp(dir / "perm"), "one\ntwo\nthree\n");
  EXPECT_EQ(outer, "");
}

TEST_F(DefaultHostRedirect, VmOutputFollowsRedirectedStdoutAndComesBack) {
  TempDir dir;
  HostedVM h = hosted("  LoadConst \"before\\n\"\n  Print 1\n" +
                      scoped({redir(1, "WRITE", dir / "f")},
                             "  LoadConst \"inside\\n\"\n  Print 1\n" + cmd({"echo", "echoed"}) + "  Pop\n") +
                      "  LoadConst \"after\\n\"\n  Print 1\n");
  std::string sink;
  h.vm->set_output([&](std::string_view s) { sink.append(s); });
  ASSERT_TRUE(h.run().is_halted());
  EXPECT_EQ(sink, "before\nafter\n");
  EXPECT_EQ(slurp(dir / "f"), "inside\nechoed\n");
}

TEST_F(DefaultHostRedirect, UnopenableTargetFailsTheCommandOnlyWithAClearMessage) {
  TempDir dir;
  ::mkdir((dir / "adir").c_str(), 0755);
  HostedVM h = hosted(
      scoped({redir(1, "WRITE", dir / "missing/sub/f")}, cmd({"touch", dir / "ran1"}) + cmd({"echo", "muted"})) +
      scoped({redir(1, "WRITE", dir / "adir"), redir(2, "WRITE", dir / "never")}, cmd({"touch", dir / "ran2"})) +
      scoped({redir(0, "READ", dir / "nope")}, cmd({"touch", dir / "ran3"})) +
      cmd({"touch", dir / "ran4"}) + "  MakeArray 5\n");
  std::string sink;
  h.vm->set_output([&](std::string_view s) { sink.append(s); });
  FdCapture err(2, dir / "stderr");
  VMResult r = h.run();
  const std::string text = err.stop();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Status(1), Value::Status(0), Value::Status(1),
                                          Value::Status(1), Value::Status(0)})));
  struct stat sb;
  EXPECT_NE(::stat((dir / "ran1").c_str(), &sb), 0);
  EXPECT_NE(::stat((dir / "ran2").c_str(), &sb), 0);
  EXPECT_NE(::stat((dir / "ran3").c_str(), &sb), 0);
  EXPECT_NE(::stat((dir / "never").c_str(), &sb), 0);  // later redirections are skipped
  EXPECT_EQ(::stat((dir / "ran4").c_str(), &sb), 0);  // the next command runs normally
  EXPECT_EQ(sink, "");  // the inline echo of the failed command printed nothing
  EXPECT_EQ(text, dir / "missing/sub/f" + ": No such file or directory\n" + dir / "adir" +
                      ": Is a directory\n" + dir / "nope" + ": No such file or directory\n");
}

TEST_F(DefaultHostRedirect, BadDupSourcesAreReported) {
  TempDir dir;
  HostedVM h = hosted(scoped({redir(1, "DUP_WRITE", "9")}, cmd({"true"}, "Exec")) +
                      scoped({redir(3, "DUP_READ", "word")}, cmd({"sh", "-c", "true"})) +
                      "  MakeArray 2\n");
  FdCapture err(2, dir / "stderr");
  VMResult r = h.run();
  const std::string text = err.stop();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  // `true` runs inline, yet its failed redirection still keeps it from running.
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Status(1), Value::Status(1)})));
  EXPECT_EQ(text, "9: Bad file descriptor\nword: ambiguous redirect\n");
}

TEST_F(DefaultHostRedirect, HereDocFeedsTheNextCommandOnly) {
  TempDir dir;
  HostedVM h = hosted("  HereDoc \"line one\\nline two\\n\"\n" +
                      cmd({"sh", "-c", "cat > \"$1\"", "sh", dir / "got"}) +
                      cmd({"sh", "-c", "readlink /proc/self/fd/0 > \"$1\"", "sh", dir / "next"}) +
                      "  MakeArray 2\n");
  FdCapture in(0, "/dev/null");  // so the second command reads nothing if it tries
  VMResult r = h.run();
  in.stop();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(slurp(dir / "got"), "line one\nline two\n");
  EXPECT_EQ(slurp(dir / "next"), "/dev/null\n");
}

TEST_F(DefaultHostRedirect, LargeHereDocGoesThroughATempFileWithoutDeadlock) {
  TempDir dir;
  const std::string big(1 << 20, 'x');
  ChunkBuilder b;
  b.emit(Op::HereDoc(b.add_constant(Value::Str(big))), 1);
  for (const char* w : {"sh", "-c", "wc -c > \"$1\"", "sh"}) b.emit(Op::LoadConst(b.add_constant(Value::Str(w))), 1);
  b.emit(Op::LoadConst(b.add_constant(Value::Str(dir / "count"))), 1);
  b.emit(Op::Exec(5), 1);
  VM vm(b.build());
  vm.set_shell_host(std::make_unique<DefaultHost>());
  VMResult r = vm.run();
  EXPECT_EQ(status_of(r), 0) << r.repr();
  EXPECT_EQ(slurp(dir / "count"), "1048576\n");
}

TEST_F(DefaultHostRedirect, HereDocThatCannotBeStoredFailsTheCommand) {
  TempDir dir;
  const std::string big(1 << 20, 'x');
  ChunkBuilder b;
  b.emit(Op::HereDoc(b.add_constant(Value::Str(big))), 1);
  for (const std::string& w : {std::string("touch"), dir / "ran"})
    b.emit(Op::LoadConst(b.add_constant(Value::Str(w))), 1);
  b.emit(Op::Exec(2), 1);
  VM vm(b.build());
  auto host = std::make_unique<DefaultHost>();
  host->vars().set("TMPDIR", Value::Str(dir / "no-such-dir"));
  vm.set_shell_host(std::move(host));
  FdCapture err(2, dir / "stderr");
  VMResult r = vm.run();
  const std::string text = err.stop();
  EXPECT_EQ(status_of(r), 1) << r.repr();
  struct stat sb;
  EXPECT_NE(::stat((dir / "ran").c_str(), &sb), 0);
  EXPECT_EQ(text, "here-document: " + dir / "no-such-dir" + ": No such file or directory\n");
}

TEST_F(DefaultHostRedirect, HereDocInAScopeIsFdZeroForEverythingInIt) {
  TempDir dir;
  const FdId before0 = identify(0);
  HostedVM h = hosted(scoped({"  HereDoc \"alpha\\nbeta\\ngamma\\n\"\n"},
                             "  ReadLine\n" + cmd({"sh", "-c", "read a; echo \"$a\" > \"$1\"", "sh", dir / "sh"}) +
                                 "  Pop\n  ReadLine\n") +
                      "  MakeArray 2\n");
  VMResult r = h.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  // ReadLine and the command share the here-document, line by line.
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Str("alpha"), Value::Str("gamma")})));
  EXPECT_EQ(slurp(dir / "sh"), "beta\n");
  EXPECT_EQ(identify(0), before0);
}

TEST_F(DefaultHostRedirect, HereStringEndsWithANewline) {
  TempDir dir;
  HostedVM h = hosted("  LoadConst \"a word\"\n  HereString\n" +
                      cmd({"sh", "-c", "od -c | head -1 > \"$1\"", "sh", dir / "od"}));
  EXPECT_EQ(status_of(h.run()), 0);
  EXPECT_NE(slurp(dir / "od").find("a       w   o   r   d  \\n"), std::string::npos) << slurp(dir / "od");
}

TEST_F(DefaultHostRedirect, HereDocReachesAFunction) {
  HostedVM g = hosted(R"(
.name "f"
.name "got"
  HereDoc "to the function\n"
  CallFunction @f, 0
  Pop
  GetVar @got
  ReturnValue
.sub f
  ReadLine
  SetVar @got
  LoadConst status(0)
  ReturnValue
)");
  const FdId before0 = identify(0);
  VMResult r = g.run();
  ASSERT_TRUE(r.is_ok()) << r.repr();
  EXPECT_EQ(R(r.value()), R(Value::Str("to the function")));
  EXPECT_EQ(identify(0), before0);
}

TEST_F(DefaultHostRedirect, TooManyOpenFilesIsAClearFailure) {
  TempDir dir;
  HostedVM h = hosted(scoped({redir(1, "WRITE", dir / "f")}, cmd({"sh", "-c", "true"})) +
                      "  PipelineBegin 2\n" + cmd({"true"}) + "  PipelineStage\n" + cmd({"true"}) +
                      "  PipelineEnd\n" +
                      "  CmdSubst s\n  GetStatus\n" +
                      "  HereDoc " + q(std::string(100000, 'h')) + "\n" + cmd({"sh", "-c", "true"}) +
                      "  MakeArray 5\n.chunk s\n  LoadConst \"never\"\n  PrintLn 1\n.end\n");
  h.host->vars().unset("TMPDIR");  // here-documents go to /tmp
  // One run with fds to spare first. UBSan's vptr check opens a pipe the first time it
  // meets a dynamic type, and with no fd left it reports a false "invalid vptr" (the
  // CI sanitizer stage did, when this test ran alone in its process).
  {
    FdCapture quiet(1, "/dev/null");
    VMResult warm = h.run();
    quiet.stop();
    ASSERT_TRUE(warm.is_ok()) << warm.repr();
    h.vm->reset();
  }
  // stderr to a log first: once the fds are used up nothing can be opened.
  const int saved_err = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
  const int log = ::open((dir / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(log, 0);
  ::dup2(log, 2);
  ::close(log);
  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  struct rlimit low = old;
  low.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> fillers;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fillers.push_back(fd);
  VMResult r = h.run();
  for (int fd : fillers) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &old);
  ::dup2(saved_err, 2);
  ::close(saved_err);
  ASSERT_TRUE(r.is_ok()) << r.repr();
  // Nothing could get an fd: each command failed with status 1 and said why.
  EXPECT_EQ(R(r.value()), R(Value::Array({Value::Status(1), Value::Status(1), Value::Str(""),
                                          Value::Status(1), Value::Status(1)})));
  EXPECT_EQ(slurp(dir / "stderr"),
            dir / "f" + ": Too many open files\npipe: Too many open files\n" +
                "command substitution: pipe: Too many open files\n" +
                "here-document: /tmp: Too many open files\n");
}

}  // namespace
}  // namespace fusevm_test
