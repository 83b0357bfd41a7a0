// End-to-end tests: the minish binary runs scripts on real processes in a temporary dir.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "compiler.hpp"
#include "fusevm/asm.hpp"

namespace minish {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int status = -1;      // exit status, or -1 if killed by a signal
  int signal = 0;       // the signal that killed it
  std::string out;      // stdout
  std::string err;      // stderr
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class MinishE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    char work[] = "/tmp/minish_e2e_XXXXXX";
    char io[] = "/tmp/minish_io_XXXXXX";
    ASSERT_NE(mkdtemp(work), nullptr);
    ASSERT_NE(mkdtemp(io), nullptr);
    // canonical: pwd prints the resolved path, so compare against it.
    dir_ = fs::canonical(work).string();
    io_ = io;
  }
  void TearDown() override {
    fs::remove_all(dir_);
    fs::remove_all(io_);
  }

  // Outcome minish with `args` in the work directory; stdout/stderr go to files outside it
  // so globs in the scripts do not see them.
  Outcome run(const std::vector<std::string>& args, const std::string& input = "") {
    const std::string in_path = io_ + "/in", out_path = io_ + "/out", err_path = io_ + "/err";
    std::ofstream(in_path, std::ios::binary) << input;
    std::vector<std::string> argv_s = {MINISH_PATH};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
      if (chdir(dir_.c_str()) != 0) _exit(120);
      int in = open(in_path.c_str(), O_RDONLY);
      int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (in < 0 || out < 0 || err < 0) _exit(121);
      dup2(in, 0);
      dup2(out, 1);
      dup2(err, 2);
      close_range(3, ~0U, 0);  // the test process's own fds must not show up in checks
      alarm(60);               // a hung script fails the test instead of hanging it
      execv(argv[0], argv.data());
      _exit(122);
    }
    Outcome r;
    int ws = 0;
    waitpid(pid, &ws, 0);
    if (WIFEXITED(ws)) r.status = WEXITSTATUS(ws);
    if (WIFSIGNALED(ws)) r.signal = WTERMSIG(ws);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    return r;
  }

  Outcome sh(const std::string& script, const std::string& input = "") {
    return run({"-c", script}, input);
  }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << text;
  }

  std::string dir_;
  std::string io_;
};

TEST_F(MinishE2E, IssueExampleCountsConfEntriesOfEtc) {
  size_t expected = 0;
  for (const fs::directory_entry& e : fs::directory_iterator("/etc")) {
    std::string name = e.path().filename().string();
    expected += name[0] != '.' && name.find("conf") != std::string::npos;
  }
  Outcome r = sh("ls /etc | grep -c conf > x; cat x");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, std::to_string(expected) + "\n");
  EXPECT_EQ(slurp(dir_ + "/x"), std::to_string(expected) + "\n");
}

TEST_F(MinishE2E, ThreeStagePipelineMovesTenMegabytes) {
  Outcome r = sh("head -c 10485760 /dev/zero | tr '\\0' a | wc -c");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "10485760\n");
  EXPECT_EQ(sh("seq 1 50000 | sort -rn | head -n 2 | tr '\\n' ' '").out, "50000 49999 ");
}

TEST_F(MinishE2E, PipelineStatusIsTheLastStage) {
  Outcome r = sh("false | true; echo $?; true | false; echo $?; ! true | false; echo $?");
  EXPECT_EQ(r.out, "0\n1\n0\n");
}

TEST_F(MinishE2E, OutputRedirectionsWriteAppendAndRestoreStdout) {
  Outcome r = sh("echo a > f; echo b >> f; echo c; cat f; cat < f | wc -l");
  EXPECT_EQ(r.out, "c\na\nb\n2\n");
  EXPECT_EQ(slurp(dir_ + "/f"), "a\nb\n");
}

TEST_F(MinishE2E, StderrRedirections) {
  Outcome r = sh("ls /nonexistent_minish 2> e; test -s e && echo has-err; "
             "{ echo out; echo err >&2; } > both 2>&1; cat both; "
             "sh -c 'echo o; echo e >&2' &> all; cat all; sh -c 'echo 3rd >&3' 3> f3; cat f3");
  EXPECT_EQ(r.out, "has-err\nout\nerr\no\ne\n3rd\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(MinishE2E, FailedRedirectionSkipsTheCommand) {
  Outcome r = sh("echo hi > /nonexistent_minish/f; echo \"st=$?\"; "
             "{ cd /; echo no; } > /nonexistent_minish/g; pwd; cat < /nonexistent_minish/h; "
             "echo \"st=$?\"");
  EXPECT_EQ(r.out, "st=1\n" + dir_ + "\nst=1\n");
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos);
}

TEST_F(MinishE2E, HereDocumentsAndHereStrings) {
  Outcome r = sh("x=V\ncat <<EOF\nval $x\n  indented\nEOF\ncat <<'EOF'\nlit $x\nEOF\n"
             "cat <<-E\n\ttabbed\n\tE\ntr a-z A-Z <<< \"here $x\"");
  EXPECT_EQ(r.out, "val V\n  indented\nlit $x\ntabbed\nHERE V\n");
}

TEST_F(MinishE2E, ControlFlowWithRealCommands) {
  write("a.txt", "12345");
  write("b.txt", "1");
  Outcome r = sh(
      "for f in *.txt; do if grep -q 5 $f; then echo \"$f has 5\"; else echo \"$f lacks\"; "
      "fi; done\n"
      "n=; while test \"$n\" != ...; do n=$n.; echo $n; done\n"
      "case $(cat b.txt) in 1) echo one;; *) echo other;; esac");
  EXPECT_EQ(r.out, "a.txt has 5\nb.txt lacks\n.\n..\n...\none\n");
}

TEST_F(MinishE2E, CommandSubstitution) {
  Outcome r = sh("v=7; x=$(echo hi | tr a-z A-Z); echo \"$x $(echo $v) $(echo $(echo nested))\"; "
             "y=$(false); echo $?; z=$(printf 'a\\n\\n\\n'); echo \"[$z]\"; echo `echo back`; "
             "for w in $(echo 1 2); do echo w$w; done");
  EXPECT_EQ(r.out, "HI 7 nested\n1\n[a]\nback\nw1\nw2\n");
}

TEST_F(MinishE2E, GlobsMatchSortedAndKeepUnmatchedWords) {
  for (const char* f : {"b.c", "a.c", ".hidden.c", "z.h"}) write(f, "");
  fs::create_directory(dir_ + "/d");
  write("d/x.c", "");
  Outcome r = sh("echo *.c; echo '*.c' \\*.c; echo *.none; echo ?.h; echo [ab].c; p=d; echo $p/*.c; "
             "echo */x.c");
  EXPECT_EQ(r.out, "a.c b.c\n*.c *.c\n*.none\nz.h\na.c b.c\nd/x.c\nd/x.c\n");
}

TEST_F(MinishE2E, AndOrChains) {
  EXPECT_EQ(sh("true && echo a || echo b; false && echo c || echo d; false || false || echo e")
                .out,
            "a\nd\ne\n");
}

TEST_F(MinishE2E, ExitStatuses) {
  EXPECT_EQ(sh("exit 3").status, 3);
  EXPECT_EQ(sh("true; false").status, 1);
  EXPECT_EQ(sh("(exit 4); echo $?").out, "4\n");
  EXPECT_EQ(sh("sh -c 'kill -TERM $$'; echo $?").out, "143\n");
  Outcome missing = sh("no_such_command_minish; echo $?");
  EXPECT_EQ(missing.out, "127\n");
  EXPECT_NE(missing.err.find("no_such_command_minish"), std::string::npos);
  EXPECT_EQ(sh("exit 300").status, 300 & 255);
  Outcome unset = sh("echo start; echo ${nope:?is unset}; echo after");
  EXPECT_EQ(unset.status, 1);
  EXPECT_EQ(unset.out, "start\n");
  EXPECT_EQ(unset.err, "minish: line 1: nope: is unset\n");
}

TEST_F(MinishE2E, SyntaxErrorsExitTwoBeforeRunningAnything) {
  Outcome r = sh("echo should-not-run\nif true; then\n  echo x\n");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "minish: line 4: syntax error: unexpected end of file\n");
  Outcome q = sh("echo 'open");
  EXPECT_EQ(q.status, 2);
  EXPECT_EQ(q.err, "minish: line 1: unterminated single quote\n");
  EXPECT_EQ(sh("echo ) ").err, "minish: line 1: syntax error near unexpected token `)'\n");
}

TEST_F(MinishE2E, MalformedInputNeverCrashes) {
  std::vector<std::string> inputs = {
      std::string("echo a\0b", 8), "\"", "'", "$(", "${", "`", "((((", "))", "${x:}", "${:-}",
      "if", "fi", "for", "case x in", "<<", "<<<", "2>&", "|", "&&", ";;", "!", "{", "}",
      std::string(100000, 'x'), std::string(3000, '('), "echo $(((", "a=b=c", "\\",
      "cat <<EOF", "echo ${#}", "$", "~", "[ ", "test (", "exit x"};
  // Random scripts over shell punctuation (letters only spell missing commands).
  std::mt19937 rng(12345);
  const std::string alphabet = ";|&<>(){}$\"'\\`*?[] \n#=!~-ab";
  for (int i = 0; i < 100; ++i) {
    std::string s;
    size_t len = 1 + rng() % 24;
    for (size_t k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
    inputs.push_back(s);
  }
  for (const std::string& in : inputs) {
    SCOPED_TRACE(in.substr(0, 40));
    Outcome r = sh(in);
    EXPECT_EQ(r.signal, 0);
    EXPECT_GE(r.status, 0);
  }
}

TEST_F(MinishE2E, ScriptFromFileWithArgumentsAndFromStdin) {
  write("s.sh", "echo \"$0 $# $1 $2\"\nfor a; do echo \"[$a]\"; done\n");
  Outcome r = run({"s.sh", "one", "two"});
  EXPECT_EQ(r.out, "s.sh 2 one two\n[one]\n[two]\n");
  EXPECT_EQ(run({}, "echo from stdin; exit 5").out, "from stdin\n");
  EXPECT_EQ(run({}, "exit 5").status, 5);
  EXPECT_EQ(run({"-c", "echo $0 $1", "name", "arg"}).out, "name arg\n");
  Outcome missing = run({"no_such_script.sh"});
  EXPECT_EQ(missing.status, 127);
  EXPECT_NE(missing.err.find("no_such_script.sh"), std::string::npos);
  Outcome bad_option = run({"--bogus"});
  EXPECT_EQ(bad_option.status, 2);
  EXPECT_EQ(bad_option.err.rfind("minish: unknown option --bogus\n", 0), 0u);
  EXPECT_EQ(run({"-c"}).status, 2);
}

TEST_F(MinishE2E, DumpPrintsAssemblyThatReassembles) {
  const std::string script = "x=$(ls | wc -l); echo \"$x\" > f";
  Outcome r = run({"--dump", "-c", script});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("; fusevm disassembly", 0), 0u);
  EXPECT_FALSE(fs::exists(dir_ + "/f"));  // dumped, not run
  fusevm::LoadResult back = fusevm::assemble(r.out);
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(*back.chunk, compile_source(script, "-c"));
}

TEST_F(MinishE2E, CdAndSubshellIsolation) {
  fs::create_directory(dir_ + "/sub");
  Outcome r = sh("cd sub; pwd; echo $PWD; (cd /; pwd; x=in); pwd; echo \"[$x]\"; cd; pwd; cd -");
  std::string home = fs::canonical(getenv("HOME")).string();
  EXPECT_EQ(r.out, dir_ + "/sub\n" + dir_ + "/sub\n/\n" + dir_ + "/sub\n[]\n" + home + "\n" +
                       dir_ + "/sub\n");
  EXPECT_EQ(sh("cd /nonexistent_minish; echo $?").out, "1\n");
}

TEST_F(MinishE2E, ExportAndPrefixAssignments) {
  Outcome r = sh("export A=1; B=2; sh -c 'echo \"$A-$B\"'; C=3 sh -c 'echo $C'; echo \"[$C]\"; "
             "B=5; export B; sh -c 'echo $B'; unset A; sh -c 'echo \"[$A]\"'");
  EXPECT_EQ(r.out, "1-\n3\n[]\n5\n[]\n");
}

TEST_F(MinishE2E, BackgroundJobsAndWait) {
  Outcome r = sh("sh -c 'sleep 0.5; echo late > bg' & test -e bg || echo notyet; wait; cat bg");
  EXPECT_EQ(r.out, "notyet\nlate\n");
}

TEST_F(MinishE2E, TrapsRunAtTrapCheck) {
  EXPECT_EQ(sh("trap 'echo bye' EXIT; echo body").out, "body\nbye\n");
  EXPECT_EQ(sh("trap 'echo caught' USR1; kill -USR1 $$; echo after").out, "caught\nafter\n");
  // Handlers share the script's variables both ways.
  EXPECT_EQ(sh("x=5; trap 'echo x=$x' EXIT; x=6").out, "x=6\n");
  EXPECT_EQ(sh("trap 'y=caught' USR1; kill -USR1 $$; echo \"y=$y\"").out, "y=caught\n");
}

TEST_F(MinishE2E, NoDescriptorLeaksIntoCommands) {
  Outcome r = sh("ls /proc/self/fd; echo x > f; ls /proc/self/fd | cat; v=$(ls /proc/self/fd); "
             "echo $v");
  EXPECT_EQ(r.out, "0\n1\n2\n3\n0\n1\n2\n3\n0 1 2 3\n");
}

TEST_F(MinishE2E, TildeIsHome) {
  EXPECT_EQ(sh("echo ~ ~/x \"~\"").out,
            std::string(getenv("HOME")) + " " + getenv("HOME") + "/x ~\n");
}

TEST_F(MinishE2E, ExampleScriptsProduceTheirExpectedOutput) {
  size_t checked = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(MINISH_SCRIPTS_DIR)) {
    if (e.path().extension() != ".sh") continue;
    fs::path expected = e.path();
    expected.replace_extension(".out");
    SCOPED_TRACE(e.path().filename().string());
    ASSERT_TRUE(fs::exists(expected));
    Outcome r = run({e.path().string()});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, slurp(expected.string()));
    ++checked;
  }
  EXPECT_GE(checked, 3u);
}

}  // namespace
}  // namespace minish
