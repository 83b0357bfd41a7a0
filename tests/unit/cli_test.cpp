// End-to-end tests of the `fusevm` tool: output, stderr and exit status of each subcommand.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fusevm/asm.hpp"
#include "fusevm/jit.hpp"
#include "fusevm/version.hpp"

extern char** environ;

namespace {

const char* const kTool = FUSEVM_TOOL_PATH;

/// What one tool invocation produced.
struct ToolRun {
  int status = -1;  ///< exit status; 128 + signal number if it was killed
  std::string out;  ///< everything written to stdout
  std::string err;  ///< everything written to stderr
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(kTool, X_OK), 0) << kTool << " is missing: build the fusevm_tool target";
    std::string tmpl = (std::filesystem::temp_directory_path() / "fusevm_cli_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  /// Path of `name` inside this test's temporary directory.
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  /// Write `text` to `name` in the temporary directory; returns its path.
  std::string program(const std::string& name, const std::string& text) const {
    std::string p = path(name);
    write_file(p, text);
    return p;
  }

  /// Start the tool with `args`, stdin from /dev/null; stdout and stderr go to files so
  /// a chatty child can never block on a full pipe. Returns the pid, or -1.
  pid_t start_tool(const std::vector<std::string>& args) const {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path().c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path().c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kTool));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, kTool, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    return rc == 0 ? pid : -1;
  }

  /// Wait for a started tool and collect what it wrote.
  ToolRun finish_tool(pid_t pid) const {
    ToolRun r;
    if (pid < 0) {
      r.err = "posix_spawn failed";
      return r;
    }
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    r.out = read_file(out_path());
    r.err = read_file(err_path());
    return r;
  }

  /// Run the tool with `args` to completion.
  ToolRun run_tool(const std::vector<std::string>& args) const {
    return finish_tool(start_tool(args));
  }

  std::string out_path() const { return path(".stdout"); }
  std::string err_path() const { return path(".stderr"); }

  std::string dir_;
};

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// -- Version, help and usage errors --------------------------------------------------

TEST_F(CliTest, VersionPrintsVersionStringAndExitsZero) {
  ToolRun r = run_tool({"--version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find(FUSEVM_VERSION_STRING), std::string::npos) << r.out;
}

TEST_F(CliTest, HelpOnEverySubcommandExitsZeroAndDescribesIt) {
  for (const char* sub : {"run", "asm", "disasm", "verify"}) {
    ToolRun r = run_tool({sub, "--help"});
    EXPECT_EQ(r.status, 0) << sub;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub << ": " << r.out;
  }
  ToolRun run_help = run_tool({"run", "--help"});
  for (const char* opt : {"--time", "--print-result", "--max-stack", "--max-call-depth",
                          "--max-string", "--max-array", "--max-memory", "--fuel"})
    EXPECT_NE(run_help.out.find(opt), std::string::npos) << opt;
  EXPECT_EQ(run_tool({"--help"}).status, 0);
}

TEST_F(CliTest, UsageErrorsExitTwoWithMessage) {
  ToolRun none = run_tool({});
  EXPECT_EQ(none.status, 2);
  EXPECT_TRUE(starts_with(none.err, "fusevm: ")) << none.err;

  std::string p = program("p.fasm", "LoadInt 1\n");
  EXPECT_EQ(run_tool({"run", p, "--no-such-option"}).status, 2);
  EXPECT_EQ(run_tool({"bogus"}).status, 2);
  EXPECT_EQ(run_tool({"run"}).status, 2);
  EXPECT_EQ(run_tool({"asm"}).status, 2);
}

TEST_F(CliTest, LimitOptionsRejectNegativeAndNonNumericCounts) {
  std::string p = program("p.fasm", "LoadInt 1\n");
  for (const char* bad : {"-1", "abc", "12x", "", "99999999999999999999999"}) {
    ToolRun r = run_tool({"run", p, "--fuel", bad});
    EXPECT_EQ(r.status, 2) << "--fuel '" << bad << "'";
    EXPECT_NE(r.err.find("--fuel"), std::string::npos) << r.err;
  }
  EXPECT_EQ(run_tool({"run", p, "--max-stack", "-5"}).status, 2);
}

// -- run: output and exit status -----------------------------------------------------

TEST_F(CliTest, RunPrintsProgramOutputAndExitsZero) {
  std::string p = program("hello.fasm", "LoadConst \"hello\"\nPrintLn 1\nLoadInt 40\nLoadInt 2\n"
                                        "Add\nPrintLn 1\n");
  ToolRun r = run_tool({"run", p});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "hello\n42\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(CliTest, RunExitsWithLastStatusSetBySetStatus) {
  std::string p = program("status.fasm", "LoadInt 3\nSetStatus\n");
  EXPECT_EQ(run_tool({"run", p}).status, 3);
}

TEST_F(CliTest, RunExitsWithReturnedStatusValue) {
  std::string seven = program("seven.fasm", "LoadConst status(7)\nReturnValue\n");
  EXPECT_EQ(run_tool({"run", seven}).status, 7);
  // Ok(Status s) gives s & 255, even when $? says otherwise.
  std::string wide = program("wide.fasm", "LoadInt 5\nSetStatus\nLoadConst status(300)\n");
  EXPECT_EQ(run_tool({"run", wide}).status, 300 & 255);
  std::string neg = program("neg.fasm", "LoadConst status(-1)\n");
  EXPECT_EQ(run_tool({"run", neg}).status, 255);
}

TEST_F(CliTest, RunIgnoresNonStatusResultForExitStatus) {
  std::string p = program("int.fasm", "LoadInt 4\nSetStatus\nLoadInt 9\n");
  ToolRun r = run_tool({"run", p});
  EXPECT_EQ(r.status, 4);
  EXPECT_EQ(r.out, "") << "the result is printed only with --print-result";
}

TEST_F(CliTest, PrintResultPrintsReprAfterProgramOutput) {
  std::string p = program("r.fasm", "LoadConst \"hi\"\nPrintLn 1\nLoadInt 40\nLoadInt 2\nAdd\n");
  ToolRun r = run_tool({"run", "--print-result", p});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "hi\nInt(42)\n");

  std::string empty = program("empty.fasm", "; nothing\n");
  ToolRun h = run_tool({"run", empty, "--print-result"});
  EXPECT_EQ(h.status, 0);
  EXPECT_EQ(h.out, "Halted\n");
}

TEST_F(CliTest, TimeWritesThreeTimingsToStderr) {
  std::string p = program("t.fasm", "LoadConst \"x\"\nPrintLn 1\n");
  ToolRun r = run_tool({"run", "--time", p});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "x\n");
  std::regex line(R"(time: load \d+\.\d{3} ms, compile \d+\.\d{3} ms, run \d+\.\d{3} ms, run-cpu \d+\.\d{3} ms\n)");
  EXPECT_TRUE(std::regex_match(r.err, line)) << r.err;
}

TEST_F(CliTest, ArgsAfterDoubleDashReachArgvAsStrings) {
  std::string p = program("argv.fasm",
                          "ArrayLen @ARGV\nPrintLn 1\n"
                          "LoadInt 0\nArrayGet @ARGV\nPrintLn 1\n"
                          "LoadInt 1\nArrayGet @ARGV\nPrintLn 1\n"
                          "LoadInt 0\nArrayGet @ARGV\nLoadConst \"!\"\nConcat\nPrintLn 1\n");
  ToolRun r = run_tool({"run", p, "--", "a b", "--time"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "2\na b\n--time\na b!\n");
  EXPECT_EQ(r.err, "") << "--time after -- belongs to the program";

  ToolRun none = run_tool({"run", p});
  EXPECT_EQ(none.out, "0\n\n\n!\n");
}

TEST_F(CliTest, ArgsAreIgnoredWhenProgramHasNoArgvName) {
  std::string p = program("noargv.fasm", "LoadConst \"ok\"\nPrintLn 1\n");
  ToolRun r = run_tool({"run", p, "--", "x", "y"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "ok\n");
}

// -- run: errors ---------------------------------------------------------------------

TEST_F(CliTest, RuntimeErrorExitsOneWithFileAndLine) {
  std::string p = program("err.fasm", "LoadConst \"before\"\nPrintLn 1\nCall @nosuch, 0\n");
  ToolRun r = run_tool({"run", p});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "before\n") << "output before the error is flushed";
  EXPECT_TRUE(starts_with(r.err, "fusevm: " + p + ":3: runtime error: ")) << r.err;
  EXPECT_NE(r.err.find("undefined function: nosuch"), std::string::npos) << r.err;
}

TEST_F(CliTest, BadProgramExitsTwoWithFileLineDiagnostic) {
  std::string p = program("bad.fasm", "LoadInt 1\nNoSuchMnemonic 3\n");
  ToolRun r = run_tool({"run", p});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(p + ":2:"), std::string::npos) << r.err;
}

TEST_F(CliTest, UnreadablePathExitsTwo) {
  std::string missing = path("does-not-exist.fasm");
  ToolRun r = run_tool({"run", missing});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  EXPECT_EQ(run_tool({"run", dir_}).status, 2) << "a directory is not a program";
  EXPECT_EQ(run_tool({"verify", missing}).status, 2);
  EXPECT_EQ(run_tool({"disasm", missing}).status, 2);
}

TEST_F(CliTest, MaxCallDepthStopsRunawayRecursion) {
  std::string p = program("rec.fasm", "Call @f, 0\n.sub f\nCall @f, 0\nReturn\n");
  ToolRun r = run_tool({"run", p, "--max-call-depth", "50"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(starts_with(r.err, "fusevm: " + p + ":3: runtime error: ")) << r.err;
  EXPECT_NE(r.err.find("limit exceeded: call depth"), std::string::npos) << r.err;
}

TEST_F(CliTest, FuelStopsInfiniteLoop) {
  std::string p = program("loop.fasm", "top:\nJump top\n");
  ToolRun r = run_tool({"run", "--fuel", "10000", p});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("runtime error: limit exceeded: fuel"), std::string::npos) << r.err;
}

TEST_F(CliTest, MaxStackStopsRunawayPushes) {
  std::string p = program("push.fasm", "top:\nLoadInt 1\nJump top\n");
  ToolRun r = run_tool({"run", p, "--max-stack", "1000"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("limit exceeded: value stack"), std::string::npos) << r.err;
}

TEST_F(CliTest, StringArrayAndMemoryLimitOptionsReachTheVm) {
  struct Case {
    const char* program;
    const char* option;
    const char* value;
    const char* error;
  };
  const Case cases[] = {
      {"LoadConst \"ab\"\nLoadInt 1000\nStringRepeat\n", "--max-string", "100",
       "limit exceeded: string size (100)"},
      {"LoadInt 1\nLoadInt 1000\nRange\n", "--max-array", "10", "limit exceeded: array size (10)"},
      // --fuel bounds the test if the memory limit were not applied.
      {"DeclareArray @a\ntop:\nLoadConst \"x\"\nLoadInt 100000\nStringRepeat\nArrayPush @a\n"
       "Jump top\n",
       "--max-memory", "1000000", "limit exceeded: memory (1000000)"},
  };
  for (const Case& c : cases) {
    std::string p = program("limit.fasm", c.program);
    ToolRun r = run_tool({"run", p, c.option, c.value, "--fuel", "1000000"});
    EXPECT_EQ(r.status, 1) << c.option;
    EXPECT_NE(r.err.find(c.error), std::string::npos) << c.option << ": " << r.err;
  }
  std::string small = program("small.fasm", "LoadConst \"ab\"\nLoadInt 1000\nStringRepeat\n"
                                             "StringLen\nPrintLn 1\n");
  ToolRun ok = run_tool({"run", small});
  EXPECT_EQ(ok.status, 0) << "the default string limit allows 2000 bytes: " << ok.err;
  EXPECT_EQ(ok.out, "2000\n");
}

TEST_F(CliTest, SigintStopsTheRunWithInterruptedErrorAndFlushedOutput) {
  // Exec of an external command flushes program output first, so "ready" on stdout proves
  // the run (and the tool's SIGINT handler) has started.
  std::string p = program("spin.fasm",
                          "LoadConst \"ready\"\nPrintLn 1\nLoadConst \"/bin/true\"\nExec 1\nPop\n"
                          "LoadConst \"unflushed\"\nPrintLn 1\ntop:\nJump top\n");
  pid_t pid = start_tool({"run", p});
  ASSERT_GT(pid, 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (read_file(out_path()).find("ready\n") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ::kill(pid, SIGINT);
  ToolRun r = finish_tool(pid);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "ready\nunflushed\n") << "buffered output is flushed on interrupt";
  EXPECT_TRUE(starts_with(r.err, "fusevm: " + p + ":9: runtime error: interrupted")) << r.err;
}

// -- asm, disasm, verify -------------------------------------------------------------

TEST_F(CliTest, AsmWritesFvcBesideInputThatRunsTheSame) {
  std::string p = program("prog.fasm", "LoadConst \"from fvc\"\nPrintLn 1\nLoadInt 6\nSetStatus\n");
  ToolRun a = run_tool({"asm", p});
  EXPECT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(a.out, "");
  std::string fvc = path("prog.fvc");
  ASSERT_TRUE(std::filesystem::exists(fvc));
  EXPECT_NE(read_file(fvc), read_file(p)) << "the output is the binary form";
  ToolRun r = run_tool({"run", fvc});
  EXPECT_EQ(r.status, 6);
  EXPECT_EQ(r.out, "from fvc\n");
}

TEST_F(CliTest, AsmHonoursOutputOption) {
  std::string p = program("in.fasm", "LoadInt 2\nSetStatus\n");
  std::string out = path("elsewhere.bin");
  EXPECT_EQ(run_tool({"asm", p, "-o", out}).status, 0);
  EXPECT_EQ(run_tool({"run", out}).status, 2 /* the program's own status */);
  EXPECT_FALSE(std::filesystem::exists(path("in.fvc")));
}

TEST_F(CliTest, AsmOfBadInputExitsTwoAndWritesNothing) {
  std::string p = program("broken.fasm", "Jump nowhere\n");
  ToolRun r = run_tool({"asm", p});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(p + ":1:"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(path("broken.fvc")));
}

TEST_F(CliTest, AsmRefusesToOverwriteItsInput) {
  std::string p = program("x.fasm", "LoadInt 1\n");
  ASSERT_EQ(run_tool({"asm", p}).status, 0);
  std::string fvc = path("x.fvc");
  std::string before = read_file(fvc);
  ToolRun r = run_tool({"asm", fvc});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("overwrite"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(fvc), before);
}

TEST_F(CliTest, AsmToUnwritablePathExitsTwo) {
  std::string p = program("w.fasm", "LoadInt 1\n");
  ToolRun r = run_tool({"asm", p, "-o", path("no-such-dir/out.fvc")});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(starts_with(r.err, "fusevm: cannot write ")) << r.err;
}

TEST_F(CliTest, CorruptFvcIsRejectedWithExitTwo) {
  std::string p = program("c.fasm", "LoadConst \"payload\"\nPrintLn 1\n");
  ASSERT_EQ(run_tool({"asm", p}).status, 0);
  std::string fvc = path("c.fvc");
  std::string bytes = read_file(fvc);
  ASSERT_GT(bytes.size(), 4u);
  bytes[bytes.size() - 2] = static_cast<char>(bytes[bytes.size() - 2] ^ 0x5a);
  write_file(fvc, bytes);
  ToolRun r = run_tool({"run", fvc});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(starts_with(r.err, fvc + ":")) << r.err;
}

TEST_F(CliTest, DisasmOutputReassemblesToSameBehaviour) {
  // The sub sits at op 1; the main program jumps over it.
  std::string p = program("d.fasm",
                          "Jump main\n.sub twice\nSetSlot 0\nGetSlot 0\nGetSlot 0\nAdd\n"
                          "ReturnValue\nmain:\nLoadInt 21\nCall @twice, 1\nPrintLn 1\n");
  ToolRun d = run_tool({"disasm", p});
  EXPECT_EQ(d.status, 0) << d.err;
  EXPECT_NE(d.out.find("Call"), std::string::npos) << d.out;
  std::string again = program("again.fasm", d.out);
  ToolRun r = run_tool({"run", again});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "42\n");

  std::string out = path("to-file.fasm");
  EXPECT_EQ(run_tool({"disasm", p, "-o", out}).status, 0);
  EXPECT_EQ(read_file(out), d.out);
}

TEST_F(CliTest, DisasmReadsFvcToo) {
  std::string p = program("f.fasm", "LoadInt 5\nPrintLn 1\n");
  ASSERT_EQ(run_tool({"asm", p}).status, 0);
  ToolRun from_text = run_tool({"disasm", p});
  ToolRun from_fvc = run_tool({"disasm", path("f.fvc")});
  EXPECT_EQ(from_fvc.status, 0) << from_fvc.err;
  EXPECT_EQ(from_fvc.out, from_text.out);
}

TEST_F(CliTest, VerifyPrintsSummaryForValidProgram) {
  std::string p = program("v.fasm", "LoadConst \"a\"\nLoadConst \"b\"\nConcat\nSetVar @x\n");
  ToolRun r = run_tool({"verify", p});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, p + ": ok (4 ops, 2 constants, 1 names, 0 sub-chunks)\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(CliTest, VerifyRejectsJumpPastEndWithLine) {
  std::string p = program("j.fasm", "LoadInt 1\nJump 99\n");
  ToolRun r = run_tool({"verify", p});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(p + ":2:"), std::string::npos) << r.err;
}

// -- Reference JSON (issue 3) ----------------------------------------------------------

TEST_F(CliTest, AsmFormatJsonWritesReferenceJsonThatRunsVerifiesAndDisassembles) {
  std::string p = program("j.fasm", "LoadConst \"from json\"\nPrintLn 1\nLoadInt 4\nSetStatus\n");
  ToolRun a = run_tool({"asm", "--format=json", p});
  EXPECT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(a.err, "");
  std::string json = path("j.json");
  ASSERT_TRUE(std::filesystem::exists(json));
  std::string text = read_file(json);
  EXPECT_NE(text.find("{\"LoadConst\":0}"), std::string::npos) << text;
  EXPECT_NE(text.find("{\"Str\":\"from json\"}"), std::string::npos) << text;
  ToolRun r = run_tool({"run", json});
  EXPECT_EQ(r.status, 4);
  EXPECT_EQ(r.out, "from json\n");
  ToolRun v = run_tool({"verify", json});
  EXPECT_EQ(v.status, 0) << v.err;
  EXPECT_EQ(v.out, json + ": ok (4 ops, 1 constants, 0 names, 0 sub-chunks)\n");
  EXPECT_EQ(run_tool({"disasm", json}).out, run_tool({"disasm", p}).out);
}

TEST_F(CliTest, AsmFormatJsonOfFvcAndBackKeepsTheProgram) {
  std::string p = program("k.fasm", "LoadFloat 2.5\nLoadInt 4\nMul\nPrintLn 1\n");
  ASSERT_EQ(run_tool({"asm", p}).status, 0);
  ASSERT_EQ(run_tool({"asm", "--format", "json", path("k.fvc"), "-o", path("k2.json")}).status, 0);
  ASSERT_EQ(run_tool({"asm", path("k2.json"), "-o", path("k3.fvc")}).status, 0);
  EXPECT_EQ(read_file(path("k3.fvc")), read_file(path("k.fvc")));
  EXPECT_EQ(run_tool({"run", path("k2.json")}).out, "10\n");
}

TEST_F(CliTest, AsmFormatJsonWarnsOnNanAndStrictRefusesIt) {
  std::string p = program("n.fasm", "LoadFloat nan\nPrintLn 1\n");
  ToolRun a = run_tool({"asm", "--format=json", p});
  EXPECT_EQ(a.status, 0) << a.err;
  EXPECT_TRUE(starts_with(a.err, "fusevm: warning: " + p + ":1: ops[0] (LoadFloat): NaN written as null"))
      << a.err;
  EXPECT_NE(read_file(path("n.json")).find("{\"LoadFloat\":null}"), std::string::npos);
  EXPECT_EQ(run_tool({"run", path("n.json")}).out, "NaN\n");

  std::filesystem::remove(path("n.json"));
  ToolRun s = run_tool({"asm", "--format=json", "--strict", p});
  EXPECT_EQ(s.status, 2);
  EXPECT_NE(s.err.find("NaN cannot be written as JSON (strict)"), std::string::npos) << s.err;
  EXPECT_FALSE(std::filesystem::exists(path("n.json")));
}

TEST_F(CliTest, AsmRejectsUnknownFormat) {
  std::string p = program("u.fasm", "Nop\n");
  ToolRun r = run_tool({"asm", "--format=yaml", p});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--format"), std::string::npos) << r.err;
}

TEST_F(CliTest, BadJsonExitsTwoWithFileLineMessageForEverySubcommand) {
  std::string p = program("bad.json", "{\n  \"ops\": [\n    {\"LoadInt\": 1},\n    \"Fooo\"\n  ]\n}\n");
  for (const char* sub : {"run", "verify", "disasm", "asm"}) {
    ToolRun r = run_tool({sub, p});
    EXPECT_EQ(r.status, 2) << sub;
    EXPECT_EQ(r.out, "") << sub;
    EXPECT_EQ(r.err, p + ":4: ops[1]: unknown op \"Fooo\"\n") << sub;
  }
  std::string syntax = program("syntax.json", "{\"ops\": [\"Nop\",]}");
  ToolRun r = run_tool({"run", syntax});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(starts_with(r.err, syntax + ":1: JSON syntax error")) << r.err;
  std::string range = program("range.json", "{\"ops\": [{\"GetVar\": 70000}]}");
  ToolRun rr = run_tool({"verify", range});
  EXPECT_EQ(rr.status, 2);
  EXPECT_NE(rr.err.find("70000 is out of range for u16 (0..65535)"), std::string::npos) << rr.err;
}

TEST_F(CliTest, ExamplesRunCleanly) {
  for (const char* name : {"hello.fasm", "demo.fasm"}) {
    std::string file = std::string(FUSEVM_SOURCE_DIR) + "/examples/" + name;
    ToolRun v = run_tool({"verify", file});
    EXPECT_EQ(v.status, 0) << name << ": " << v.err;
    ToolRun r = run_tool({"run", file});
    EXPECT_EQ(r.status, 0) << name << ": " << r.err;
    EXPECT_FALSE(r.out.empty()) << name;
    EXPECT_EQ(r.err, "") << name;
  }
}

// demo.fasm's last compile (fib, a compiled function) was often still running when the
// program ended; exit then destroyed LLVM statics the compile thread was using, and a
// quarter of the runs died (SIGSEGV, SIGABRT from "LLVM ERROR: Do not know how to split
// the result of this operator!", or heap corruption). The CLI now waits for its compiles.
TEST_F(CliTest, regression_exiting_while_a_background_compile_runs_does_not_crash) {
  const std::string file = std::string(FUSEVM_SOURCE_DIR) + "/examples/demo.fasm";
  for (int k = 0; k < 12; ++k) {
    ToolRun r = run_tool({"run", file});
    ASSERT_EQ(r.status, 0) << "run " << k << ": " << r.err;
    ASSERT_EQ(r.err, "") << "run " << k;
  }
}

// -- JIT switches -------------------------------------------------------------------------

const char* const kHotLoop = R"(
  LoadInt 0
  SetSlot 0
  LoadInt 1
  SetSlot 1
top:
  GetSlot 1
  LoadInt 1001
  NumLt
  JumpIfFalse done
  GetSlot 0
  GetSlot 1
  Add
  SetSlot 0
  PreIncSlotVoid 1
  Jump top
done:
  GetSlot 0
  PrintLn 1
)";

// Sets an environment variable for the tool runs of one test, then puts it back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_) ::setenv(name_, old_.c_str(), 1);
    else ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

TEST_F(CliTest, JitSwitchesRejectUnknownTiersAndDumpKinds) {
  const std::string p = program("p.fasm", kHotLoop);
  ToolRun bad = run_tool({"run", p, "--jit=fast"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("unknown JIT tier 'fast'"), std::string::npos) << bad.err;
  EXPECT_EQ(run_tool({"run", p, "--jit=off,block"}).status, 2);
  EXPECT_EQ(run_tool({"run", p, "--dump=bogus"}).status, 2);
  ScopedEnv env("FUSEVM_JIT", "sometimes");
  ToolRun from_env = run_tool({"run", p});
  EXPECT_EQ(from_env.status, 2);
  EXPECT_NE(from_env.err.find("FUSEVM_JIT: unknown JIT tier"), std::string::npos) << from_env.err;
  EXPECT_EQ(run_tool({"run", p, "--jit=off"}).status, 0);  // the switch overrides the environment
}

TEST_F(CliTest, StatsReportEveryTierAndTheJitOffRunsTheInterpreter) {
  const std::string p = program("p.fasm", kHotLoop);
  ToolRun r = run_tool({"run", p, "--jit=off", "--stats"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "500500\n");
  EXPECT_TRUE(std::regex_search(r.err, std::regex("jit linear: compiled 0, .*entered 0"))) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex("jit block: compiled 0, .*entered 0"))) << r.err;
}

// --profile counts every op the interpreter dispatches (kHotLoop: 1,000 laps of 10 ops,
// the last test, setup and print) and the pairs of consecutive ones.
TEST_F(CliTest, ProfilePrintsTheHottestOpsAndPairsAndTimePerTier) {
  const std::string p = program("p.fasm", kHotLoop);
  ToolRun r = run_tool({"run", p, "--jit=off", "--profile"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "500500\n");
  EXPECT_NE(r.err.find("profile: 10010 ops interpreted in a run of "), std::string::npos) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex("time: interpreter [0-9.]+ ms \\(100.0%\\), linear 0.000 ms"))) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex("hottest ops:\n +3002 +29.99%  GetSlot\n"))) << r.err;
  const std::string pairs = r.err.substr(r.err.find("candidates for superinstructions"));
  EXPECT_TRUE(std::regex_search(pairs, std::regex("\n +1001 +[0-9.]+%  GetSlot LoadInt\n"))) << r.err;
}

// --stats=json: one document with the exit status, times, every tier's counters and reasons,
// and the profile's full op and pair counts.
TEST_F(CliTest, StatsJsonIsOneDocumentForTools) {
  const std::string p = program("p.fasm", kHotLoop);
  ToolRun r = run_tool({"run", p, "--jit=off", "--profile", "--stats=json"});
  EXPECT_EQ(r.status, 0) << r.err;
  const nlohmann::json doc = nlohmann::json::parse(r.err, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.err;
  EXPECT_EQ(doc["exit_status"], 0);
  EXPECT_GE(doc["time_ms"]["run"].get<double>(), 0.0);
  for (const char* tier : {"linear", "block", "trace"}) {
    EXPECT_EQ(doc["jit"][tier]["entered"], 0) << tier;
    EXPECT_TRUE(doc["jit"][tier]["reasons"].is_object()) << tier;
  }
  EXPECT_EQ(doc["profile"]["ops_interpreted"], 10010);
  EXPECT_EQ(doc["profile"]["ops"][0]["op"], "GetSlot");
  EXPECT_EQ(doc["profile"]["ops"][0]["count"], 3002);
  EXPECT_EQ(doc["profile"]["ops"].size(), 9u);  // every op the program ran
  EXPECT_EQ(doc["profile"]["pairs"][0]["count"], 1001);

  // Without --profile, no profile; a JIT run reports its tiers; an unknown format is bad usage.
  if (fusevm::JitCompiler::available()) {
    ToolRun jit = run_tool({"run", p, "--jit=block", "--jit-sync", "--stats=json"});
    const nlohmann::json j = nlohmann::json::parse(jit.err, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << jit.err;
    EXPECT_FALSE(j.contains("profile"));
    EXPECT_EQ(j["jit"]["available"], true);
    EXPECT_GE(j["jit"]["block"]["entered"].get<int>(), 1) << jit.err;
  }
  ToolRun bad = run_tool({"run", p, "--stats=xml"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--stats"), std::string::npos) << bad.err;
}

// docs/fusevm.1 names every long option each subcommand's --help lists.
TEST_F(CliTest, ManPageDocumentsEveryOption) {
  std::string man = read_file(std::string(FUSEVM_SOURCE_DIR) + "/docs/fusevm.1");
  ASSERT_FALSE(man.empty());
  for (size_t k = man.find("\\-"); k != std::string::npos; k = man.find("\\-", k)) man.erase(k, 1);  // roff's \-
  const std::regex option("(^|[ ,])(--[a-z][a-z-]*)");
  size_t checked = 0;
  for (const char* sub : {"run", "asm", "disasm", "verify"}) {
    ToolRun help = run_tool({sub, "--help"});
    ASSERT_EQ(help.status, 0) << sub;
    std::istringstream lines(help.out);
    for (std::string line; std::getline(lines, line);) {
      std::smatch m;
      if (!std::regex_search(line, m, option) || m.position(2) > 8) continue;  // option lines only
      if (m[2] == "--help") continue;
      EXPECT_NE(man.find(m[2].str()), std::string::npos) << "docs/fusevm.1 does not document " << sub << " " << m[2];
      ++checked;
    }
  }
  EXPECT_GE(checked, 20u);
}

// A result whose elements share one array renders to exponentially long text: printed
// under the string limit, it is an error, not gigabytes of output (regression, with
// Regression.ArraysSharingElementsFlattenedPastTheStringLimit).
TEST_F(CliTest, PrintResultOfAnArraySharingElementsStopsAtTheStringLimit) {
  std::string text = "    LoadInt 1\n    LoadInt 100\n    Range\n    SetVar @a\n";
  for (int k = 0; k < 20; ++k) text += "    GetVar @a\n    GetVar @a\n    MakeArray 2\n    SetVar @a\n";
  text += "    GetVar @a\n";
  const std::string p = program("dag.fasm", text);
  ToolRun r = run_tool({"run", p, "--print-result", "--max-string", "65536"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("the result is too long to print: limit exceeded: string size (65536)"), std::string::npos)
      << r.err;
}

TEST_F(CliTest, JitStrictWithoutThePluginIsARuntimeError) {
  const std::string p = program("p.fasm", kHotLoop);
  ScopedEnv env("FUSEVM_JIT_PLUGIN", "/nonexistent/libfusevm_jit.so");
  ToolRun r = run_tool({"run", p, "--jit=block", "--jit-sync", "--jit-strict"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("runtime error: jit-strict: the block tier fell back"), std::string::npos) << r.err;
  ScopedEnv lenient_env("FUSEVM_JIT_STRICT", "0");  // CI exports FUSEVM_JIT_STRICT=1
  ToolRun lenient = run_tool({"run", p, "--jit=block", "--jit-sync"});
  EXPECT_EQ(lenient.status, 0) << lenient.err;
  EXPECT_EQ(lenient.out, "500500\n");
}

TEST_F(CliTest, ForcedBlockTierRunsAHotLoopNatively) {
  if (!fusevm::JitCompiler::available()) GTEST_SKIP() << fusevm::JitCompiler::unavailable_reason();
  const std::string p = program("p.fasm", kHotLoop);
  ToolRun r = run_tool({"run", p, "--jit=block", "--jit-sync", "--jit-strict", "--stats"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "500500\n");
  EXPECT_TRUE(std::regex_search(r.err, std::regex("jit block: compiled 1, .*entered [1-9]"))) << r.err;
  ToolRun dump = run_tool({"run", p, "--jit=block", "--jit-sync", "--dump=llvm"});
  EXPECT_EQ(dump.status, 0) << dump.err;
  EXPECT_NE(dump.err.find("define"), std::string::npos) << "no LLVM IR on stderr";
}

TEST_F(CliTest, ForcedTracingTierTracesAHotLoopAfterTraceThresholdBackedges) {
  if (!fusevm::JitCompiler::available()) GTEST_SKIP() << fusevm::JitCompiler::unavailable_reason();
  const std::string p = program("p.fasm", kHotLoop);
  ToolRun r = run_tool({"run", p, "--jit=trace", "--jit-sync", "--jit-strict", "--stats", "--trace-threshold=3"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "500500\n");
  EXPECT_TRUE(std::regex_search(r.err, std::regex("jit trace: compiled 1, .*entered 1"))) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex("jit block: compiled 0, .*entered 0"))) << r.err;
  EXPECT_EQ(run_tool({"run", p, "--trace-threshold=0"}).status, 2);
  ToolRun dump = run_tool({"run", p, "--jit=trace", "--jit-sync", "--dump=trace", "--trace-threshold=3"});
  EXPECT_EQ(dump.status, 0) << dump.err;
  EXPECT_EQ(dump.out, "500500\n");
  EXPECT_TRUE(std::regex_search(dump.err, std::regex("trace at ip 4: 1 path\\(s\\), [0-9]+ ops"))) << dump.err;
  EXPECT_TRUE(std::regex_search(dump.err, std::regex("path 0: ips 4 5 6 7 8 9 10 11 12 13"))) << dump.err;
  EXPECT_TRUE(std::regex_search(dump.err, std::regex("exit 0: ip 14 .*leaves the loop"))) << dump.err;
  EXPECT_TRUE(std::regex_search(dump.err, std::regex("trace at ip 4: entered 1, exit 0 \\(ip 14\\) x 1")))
      << dump.err;
}

TEST_F(CliTest, RegressionTraceDumpPrintsFloatsAndNegativeNumbersAsWritten) {
  // --dump=trace printed a LoadFloat's bits (4602678819172646912 for 0.5) and negative
  // integers as unsigned.
  if (!fusevm::JitCompiler::available()) GTEST_SKIP() << fusevm::JitCompiler::unavailable_reason();
  const std::string p = program("f.fasm", R"(
    LoadInt 0
    SetSlot 0
    LoadFloat 0.0
    SetSlot 1
top:
    GetSlot 1
    LoadFloat 0.5
    Add
    SetSlot 1
    GetSlot 0
    LoadInt -1
    Sub
    SetSlot 0
    GetSlot 0
    LoadInt 100
    NumLt
    JumpIfTrue top
    GetSlot 1
    PrintLn 1
)");
  ToolRun dump = run_tool({"run", p, "--jit=trace", "--jit-sync", "--dump=trace", "--trace-threshold=3"});
  EXPECT_EQ(dump.status, 0) << dump.err;
  EXPECT_EQ(dump.out, "50\n");  // Float 50.0 prints as the interpreter prints it
  EXPECT_NE(dump.err.find("LoadFloat 0.5"), std::string::npos) << dump.err;
  EXPECT_NE(dump.err.find("LoadInt -1"), std::string::npos) << dump.err;
}

TEST_F(CliTest, TraceCacheKeepsTracesBetweenRunsAndABadFileOnlyWarns) {
  if (!fusevm::JitCompiler::available()) GTEST_SKIP() << fusevm::JitCompiler::unavailable_reason();
  const std::string p = program("p.fasm", kHotLoop);
  const std::string dir = path("traces");
  const std::vector<std::string> args = {"run", p, "--jit=trace", "--jit-sync", "--jit-strict", "--stats",
                                         "--trace-cache", dir};
  ToolRun first = run_tool(args);
  EXPECT_EQ(first.status, 0) << first.err;
  EXPECT_TRUE(std::regex_search(first.err, std::regex("jit trace: compiled 1, .*entered 1,"))) << first.err;
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  const fusevm::LoadResult chunk = fusevm::load_chunk_file(p);
  ASSERT_TRUE(chunk.ok());
  char name[40];
  std::snprintf(name, sizeof name, "/%016llx.traces.json", static_cast<unsigned long long>(chunk.chunk->op_hash));
  const std::string file = dir + name;
  const fusevm::TraceMetadataLoad kept = fusevm::trace_metadata_from_json(read_file(file), file);
  ASSERT_TRUE(kept.ok()) << kept.message();
  ASSERT_EQ(kept.traces.size(), 1u);
  EXPECT_EQ(kept.traces[0].anchor_ip, 4u);
  // The second run enters the kept trace at the loop's first backedge: the whole loop runs
  // in one entry although the threshold is never reached.
  std::vector<std::string> again = args;
  again.push_back("--trace-threshold=100000");
  ToolRun second = run_tool(again);
  EXPECT_EQ(second.status, 0) << second.err;
  EXPECT_EQ(second.out, "500500\n");
  EXPECT_TRUE(std::regex_search(second.err, std::regex("jit trace: compiled 1, .*entered 1,"))) << second.err;
  EXPECT_EQ(second.err.find("warning"), std::string::npos) << second.err;
  // A damaged file is reported and ignored; the run's outcome is the program's.
  write_file(file, "{\"format\": \"fusevm-traces\", \"version\": 7}");
  ToolRun damaged = run_tool(again);
  EXPECT_EQ(damaged.status, 0) << damaged.err;
  EXPECT_EQ(damaged.out, "500500\n");
  EXPECT_TRUE(std::regex_search(damaged.err, std::regex("warning: trace cache: .*version 7.*file ignored"))) << damaged.err;
  EXPECT_TRUE(std::regex_search(damaged.err, std::regex("jit trace: compiled 0, .*entered 0,"))) << damaged.err;
}

// Without the plugin the switch is accepted and the VM interprets: no warning, no file.
TEST_F(CliTest, TraceCacheWithoutThePluginIsLeftAloneSilently) {
  const std::string p = program("p.fasm", kHotLoop);
  ScopedEnv env("FUSEVM_JIT_PLUGIN", "/nonexistent/libfusevm_jit.so");
  ScopedEnv lenient_env("FUSEVM_JIT_STRICT", "0");  // CI exports FUSEVM_JIT_STRICT=1
  ToolRun r = run_tool({"run", p, "--jit=trace", "--trace-cache", path("traces")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "500500\n");
  EXPECT_EQ(r.err, "");
  struct stat st {};
  EXPECT_NE(::stat(path("traces").c_str(), &st), 0) << "nothing to keep, nothing made";
}

TEST_F(CliTest, ObjectCacheServesTheSecondRunAndTheCacheIsPrivate) {
  if (!fusevm::JitCompiler::available()) GTEST_SKIP() << fusevm::JitCompiler::unavailable_reason();
  const std::string p = program("p.fasm", kHotLoop);
  ScopedEnv env("FUSEVM_JIT_CACHE", path("cache").c_str());
  ToolRun first = run_tool({"run", p, "--jit=block", "--jit-sync", "--stats"});
  EXPECT_EQ(first.status, 0) << first.err;
  EXPECT_TRUE(std::regex_search(first.err, std::regex("jit block: compiled 1, from cache 0"))) << first.err;
  ToolRun second = run_tool({"run", p, "--jit=block", "--jit-sync", "--stats"});
  EXPECT_EQ(second.status, 0) << second.err;
  EXPECT_EQ(second.out, "500500\n");
  EXPECT_TRUE(std::regex_search(second.err, std::regex("jit block: compiled 0, from cache 1, .*entered [1-9]")))
      << second.err;
  struct stat st {};
  ASSERT_EQ(::stat(path("cache").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

}  // namespace
