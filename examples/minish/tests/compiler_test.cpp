// Tests of minish's compiler: code shape, compile errors, in-process runs on DefaultHost.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "compiler.hpp"
#include "fusevm/asm.hpp"
#include "fusevm/default_host.hpp"
#include "fusevm/shell_builtins.hpp"
#include "fusevm/vm.hpp"

namespace minish {
namespace {

using fusevm::Chunk;
using fusevm::Op;
using fusevm::OpCode;
namespace pm = fusevm::param_mod;
namespace ro = fusevm::redirect_op;

Chunk build(const std::string& script) { return compile_source(script, "test"); }

// Mnemonics of the chunk's ops, space-separated.
std::string ops_of(const Chunk& c) {
  std::string out;
  for (const Op& op : c.ops) {
    if (!out.empty()) out += ' ';
    out += std::string(op.name());
  }
  return out;
}

size_t count(const Chunk& c, OpCode code) {
  size_t n = 0;
  for (const Op& op : c.ops) n += op.code() == code;
  return n;
}

const Op& first(const Chunk& c, OpCode code) {
  for (const Op& op : c.ops) {
    if (op.code() == code) return op;
  }
  throw std::runtime_error("no such op");
}

std::string compile_error(const std::string& script) {
  try {
    build(script);
  } catch (const SyntaxError& e) {
    return "line " + std::to_string(e.line()) + ": " + e.what();
  }
  return "";
}

// Runs a script that starts no process (only inline echo and compiled builtins) on a
// DefaultHost without the environment; returns what it printed.
std::string run(const std::string& script, int32_t* status = nullptr) {
  fusevm::VM vm(build(script));
  fusevm::DefaultHostOptions options;
  options.seed_environ = false;
  vm.set_shell_host(std::make_unique<fusevm::DefaultHost>(options));
  std::string out;
  vm.set_output([&out](std::string_view bytes) { out.append(bytes); });
  fusevm::VMResult r = vm.run();
  EXPECT_FALSE(r.is_error()) << r.repr();
  if (status) *status = vm.last_status();
  return out;
}

TEST(MinishCodeShape, SimpleCommandIsExecThenSetStatusThenTrapCheck) {
  EXPECT_EQ(ops_of(build("echo a b")), "LoadConst LoadConst LoadConst Exec SetStatus TrapCheck");
  Chunk c = build("echo a b");
  EXPECT_EQ(first(c, OpCode::Exec).small(0), 3);
}

TEST(MinishCodeShape, PipelineHasNMinusOneStageSeparators) {
  Chunk c = build("a | b x | c");
  EXPECT_EQ(ops_of(c),
            "PipelineBegin LoadConst Exec SetStatus PipelineStage LoadConst LoadConst Exec "
            "SetStatus PipelineStage LoadConst Exec SetStatus PipelineEnd Pop TrapCheck");
  EXPECT_EQ(first(c, OpCode::PipelineBegin).small(0), 3);
}

TEST(MinishCodeShape, RedirectionsPushTargetThenRedirectInsideAScope) {
  Chunk c = build("cmd >f 2>&1");
  EXPECT_EQ(ops_of(c),
            "LoadConst WithRedirectsBegin GetStatus SetVar LoadInt SetStatus "
            "LoadConst Redirect LoadConst Redirect GetStatus JumpIfFalse GetVar SetStatus "
            "Exec SetStatus Jump Pop WithRedirectsEnd TrapCheck");
  EXPECT_EQ(first(c, OpCode::WithRedirectsBegin).small(0), 2);
  std::vector<std::pair<int, int>> redirects;
  for (const Op& op : c.ops) {
    if (op.code() == OpCode::Redirect) redirects.emplace_back(op.small(0), op.small(1));
  }
  EXPECT_EQ(redirects, (std::vector<std::pair<int, int>>{{1, ro::WRITE}, {2, ro::DUP_WRITE}}));
}

TEST(MinishCodeShape, RedirectOpsByForm) {
  struct Case { const char* src; int fd; int op; };
  const Case cases[] = {{"c <f", 0, ro::READ},           {"c >>f", 1, ro::APPEND},
                        {"c 3>f", 3, ro::WRITE},          {"c &>f", 1, ro::WRITE_BOTH},
                        {"c &>>f", 1, ro::APPEND_BOTH},   {"c <>f", 0, ro::READ_WRITE},
                        {"c >|f", 1, ro::CLOBBER},        {"c 0<&3", 0, ro::DUP_READ}};
  for (const Case& k : cases) {
    SCOPED_TRACE(k.src);
    Chunk c = build(k.src);
    const Op& r = first(c, OpCode::Redirect);
    EXPECT_EQ(r.small(0), k.fd);
    EXPECT_EQ(r.small(1), k.op);
  }
}

TEST(MinishCodeShape, HereDocumentsUseHereDocOrHereString) {
  Chunk lit = build("cat <<'E'\n$x\nE");
  EXPECT_EQ(count(lit, OpCode::HereDoc), 1u);
  EXPECT_EQ(lit.constants.at(first(lit, OpCode::HereDoc).small(0)).as_str(), "$x\n");
  Chunk exp = build("cat <<E\n$x\nE");
  EXPECT_EQ(count(exp, OpCode::HereString), 1u);
  EXPECT_EQ(count(exp, OpCode::ExpandParam), 1u);
}

TEST(MinishCodeShape, UnquotedExpansionIsSplitQuotedIsNot) {
  Chunk c = build("echo $x \"$x\"");
  EXPECT_EQ(ops_of(c),
            "LoadConst LoadConst LoadConst ExpandParam WordSplit LoadConst LoadConst ExpandParam "
            "Exec SetStatus TrapCheck");
  EXPECT_EQ(first(c, OpCode::ExpandParam).small(0), pm::DEFAULT);
  EXPECT_EQ(first(c, OpCode::Exec).small(0), 3);
}

TEST(MinishCodeShape, ParamModifiersPushTheirArguments) {
  struct Case { const char* src; int mod; const char* ops; };
  const Case cases[] = {
      {"echo \"${x:-w}\"", pm::DEFAULT, "LoadConst LoadConst LoadConst ExpandParam"},
      {"echo \"${#x}\"", pm::LENGTH, "LoadConst LoadConst ExpandParam"},
      {"echo \"${x/a/b}\"", pm::SUBST_FIRST, "LoadConst LoadConst LoadConst LoadConst ExpandParam"},
      {"echo \"${x:1}\"", pm::SLICE, "LoadConst LoadConst LoadConst LoadUndef ExpandParam"},
      {"echo \"${x^^}\"", pm::UPPER, "LoadConst LoadConst ExpandParam"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.src);
    Chunk c = build(k.src);
    EXPECT_EQ(first(c, OpCode::ExpandParam).small(0), k.mod);
    EXPECT_EQ(ops_of(c), std::string(k.ops) + " Exec SetStatus TrapCheck");
  }
}

TEST(MinishCodeShape, QuotedPatternCharactersAreEscaped) {
  Chunk c = build("echo \"${x#\"*\"}\"");
  bool found = false;
  for (const fusevm::Value& v : c.constants) found |= v.is_str() && v.as_str() == "\\*";
  EXPECT_TRUE(found);
}

TEST(MinishCodeShape, StatusIsGetStatusMadeText) {
  EXPECT_EQ(ops_of(build("echo $?")),
            "LoadConst GetStatus LoadConst Concat Exec SetStatus TrapCheck");
}

TEST(MinishCodeShape, CommandSubstitutionIsASubChunk) {
  Chunk c = build("x=$(echo hi | tr h j)");
  EXPECT_EQ(ops_of(c), "CmdSubst SetVar TrapCheck");
  ASSERT_EQ(c.sub_chunks.size(), 1u);
  EXPECT_EQ(count(c.sub_chunks[0], OpCode::PipelineBegin), 1u);
}

TEST(MinishCodeShape, SubChunksShareTheVariablesTheyRead) {
  Chunk c = build("x=1; echo $(echo $(echo $y))");
  ASSERT_EQ(c.sub_chunks.size(), 1u);
  const std::vector<std::string>& names = c.sub_chunks[0].names;
  EXPECT_NE(std::find(names.begin(), names.end(), "y"), names.end());
  EXPECT_NE(std::find(c.names.begin(), c.names.end(), "y"), c.names.end());
}

TEST(MinishCodeShape, GlobFallsBackToTheWord) {
  Chunk c = build("ls *.c");
  EXPECT_EQ(ops_of(c),
            "LoadConst LoadConst Glob JumpIfTrueKeep Pop LoadConst MakeArray Exec SetStatus "
            "TrapCheck");
  EXPECT_EQ(first(c, OpCode::JumpIfTrueKeep).target(), 7u);
  EXPECT_EQ(count(build("ls '*.c' \\*.c"), OpCode::Glob), 0u);
}

TEST(MinishCodeShape, AndOrTestsTheStatus) {
  Chunk c = build("a && b || c");
  EXPECT_EQ(ops_of(c),
            "LoadConst Exec SetStatus GetStatus JumpIfFalse LoadConst Exec SetStatus "
            "GetStatus JumpIfTrue LoadConst Exec SetStatus TrapCheck");
}

TEST(MinishCodeShape, BangInvertsTheStatus) {
  EXPECT_EQ(ops_of(build("! a")),
            "LoadConst Exec SetStatus GetStatus LoadInt NumEq SetStatus TrapCheck");
}

TEST(MinishCodeShape, SubshellAndExitInsideIt) {
  Chunk c = build("(exit 3); echo after");
  EXPECT_EQ(c.ops.at(0).code(), OpCode::SubshellBegin);
  const Op& jump = first(c, OpCode::Jump);
  EXPECT_EQ(c.ops.at(jump.target()).code(), OpCode::SubshellEnd);
}

TEST(MinishCodeShape, ExitAtTopLevelJumpsToTheEnd) {
  Chunk c = build("exit 4; echo never");
  EXPECT_EQ(first(c, OpCode::Jump).target(), c.ops.size());
}

TEST(MinishCodeShape, ExitInAPipelineStageEndsTheStage) {
  Chunk c = build("echo a | exit 4");
  const Op& jump = first(c, OpCode::Jump);
  EXPECT_EQ(c.ops.at(jump.target()).code(), OpCode::PipelineEnd);
}

TEST(MinishCodeShape, BackgroundIsExecBg) {
  EXPECT_EQ(ops_of(build("sleep 1 &")),
            "LoadConst LoadConst ExecBg Pop LoadInt SetStatus TrapCheck");
}

TEST(MinishCodeShape, LoopsCheckTrapsOnTheBackedge) {
  Chunk c = build("while a; do b; done");
  size_t backedge = 0;
  for (size_t i = 0; i < c.ops.size(); ++i) {
    if (c.ops[i].code() == OpCode::Jump && c.ops[i].target() < i) backedge = i;
  }
  ASSERT_NE(backedge, 0u);
  EXPECT_EQ(c.ops.at(c.ops[backedge].target()).code(), OpCode::TrapCheck);
}

TEST(MinishCodeShape, TestCompilesToOpsNotExec) {
  Chunk c = build("[ -f x ]");
  EXPECT_EQ(ops_of(c), "LoadConst TestFile LogNot SetStatus TrapCheck");
  EXPECT_EQ(first(c, OpCode::TestFile).small(0), fusevm::file_test::IS_FILE);
  EXPECT_EQ(ops_of(build("test a = b")), "LoadConst LoadConst StrEq LogNot SetStatus TrapCheck");
}

TEST(MinishCodeShape, CdAndExportAreRegisteredBuiltins) {
  Chunk c = build("cd /tmp");
  const Op& cd = first(c, OpCode::CallBuiltin);
  EXPECT_EQ(cd.small(0), fusevm::shell_builtins::BUILTIN_CD);
  EXPECT_EQ(cd.small(1), 1);
  Chunk e = build("export A=1 B");
  EXPECT_EQ(first(e, OpCode::CallBuiltin).small(0), fusevm::shell_builtins::BUILTIN_EXPORT);
  EXPECT_EQ(first(e, OpCode::CallBuiltin).small(1), 2);
  EXPECT_EQ(count(e, OpCode::SetVar), 1u);
}

TEST(MinishCodeShape, PrefixAssignmentRunsThroughEnv) {
  Chunk c = build("A=1 cmd");
  EXPECT_EQ(c.constants.at(c.ops.at(0).small(0)).as_str(), "env");
  EXPECT_EQ(first(c, OpCode::Exec).small(0), 3);
}

TEST(MinishCodeShape, LinesFollowTheSource) {
  Chunk c = build("echo a\n\necho b");
  EXPECT_EQ(c.lines.front(), 1u);
  EXPECT_EQ(c.lines.back(), 3u);
  EXPECT_EQ(c.source, "test");
}

TEST(MinishCodeShape, ChunksVerifyAndRoundTripThroughAssembly) {
  Chunk c = build(
      "x=$(ls | wc -l); for f in *.c \"$x\" a$x; do case $f in *.c) echo c;; esac; done\n"
      "while [ -n \"$x\" ]; do x=; done > /dev/null; (cd / && exit 2) || echo no; trap 'echo t' EXIT");
  EXPECT_TRUE(fusevm::verify(c).empty());
  fusevm::LoadResult back = fusevm::assemble(fusevm::disassemble(c));
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(*back.chunk, c);
}

TEST(MinishCompileErrors, AreReportedWithTheirLine) {
  EXPECT_EQ(compile_error("echo\n{ a; } &"), "line 2: only simple commands can run in the background (`&')");
  EXPECT_EQ(compile_error("cd /tmp &"), "line 1: `cd' cannot run in the background");
  EXPECT_EQ(compile_error("[ a = b"), "line 1: [: missing `]'");
  EXPECT_EQ(compile_error("test a b"), "line 1: test: unexpected argument `b'");
  EXPECT_EQ(compile_error("test \\( a"), "line 1: test: missing `)'");
  EXPECT_EQ(compile_error("while :; do break x; done"), "line 1: break: bad loop count");
  EXPECT_EQ(compile_error("trap \"$x\" INT"), "line 1: trap: usage: trap 'literal action' SIGNAL...");
  EXPECT_EQ(compile_error("trap 'if' INT"), "line 1: syntax error: unexpected end of file");
  std::string many = "echo";
  for (int i = 0; i < 300; ++i) many += " w";
  EXPECT_EQ(compile_error(many), "line 1: a command has at most 255 words");
}

TEST(MinishRun, VariablesAndQuoting) {
  EXPECT_EQ(run("x=1; x=\"$x 2\"; echo $x; echo \"[$x]\" '$x' \\$x"), "1 2\n[1 2] $x $x\n");
}

TEST(MinishRun, FieldSplittingJoinsAdjacentText) {
  EXPECT_EQ(run("x='a b'; for w in pre$x\"q\"; do echo \"[$w]\"; done"), "[prea]\n[bq]\n");
  EXPECT_EQ(run("x='1 2 3'; for w in a${x}b; do echo \"[$w]\"; done"), "[a1]\n[2]\n[3b]\n");
  EXPECT_EQ(run("x='1 2'; y='3 4'; for w in $x$y; do echo \"[$w]\"; done"), "[1]\n[23]\n[4]\n");
  EXPECT_EQ(run("x=' lead  trail '; for w in $x; do echo \"[$w]\"; done"), "[lead]\n[trail]\n");
}

TEST(MinishRun, FieldSplittingFollowsIfs) {
  EXPECT_EQ(run("IFS=:; x=a:b::c; for w in $x; do echo \"[$w]\"; done"), "[a]\n[b]\n[]\n[c]\n");
  EXPECT_EQ(run("IFS=; x='a b'; for w in $x; do echo \"<$w>\"; done"), "<a b>\n");
}

TEST(MinishRun, EmptyExpansionsVanishUnlessQuoted) {
  EXPECT_EQ(run("e=; for w in $e $e$e; do echo \"[$w]\"; done; echo end"), "end\n");
  EXPECT_EQ(run("e=; for w in \"$e\" a$e ''$e; do echo \"[$w]\"; done"), "[]\n[a]\n[]\n");
  EXPECT_EQ(run("e=; echo a $e b"), "a b\n");
}

TEST(MinishRun, ForOverMixedWordsFlattensFields) {
  EXPECT_EQ(run("x='1 2'; for w in a \"b c\" $x d$x; do echo \"[$w]\"; done"),
            "[a]\n[b c]\n[1]\n[2]\n[d1]\n[2]\n");
}

TEST(MinishRun, ParameterModifiers) {
  EXPECT_EQ(run("v=hello.tar.gz; echo ${v%.*} ${v%%.*} ${v#*.} ${v##*.} ${#v}"),
            "hello.tar hello tar.gz gz 12\n");
  EXPECT_EQ(run("v=hello; echo ${v/l/L} ${v//l/L} ${v^^} ${v^} ${v:1:3} ${v:3}"),
            "heLlo heLLo HELLO Hello ell lo\n");
  EXPECT_EQ(run("echo ${u:-def} ${u:+alt}; : ${u:=set}; echo $u ${u:+alt}"), "def\nset alt\n");
  // Quoted pattern characters match themselves; an unquoted expansion stays a pattern.
  EXPECT_EQ(run("p='*'; v=a*b; echo ${v#a\"*\"} ${v#a$p}"), "b *b\n");
}

TEST(MinishRun, StatusOfLoopsAndIfs) {
  int32_t status = -1;
  EXPECT_EQ(run("false; if false; then echo no; fi; echo $?"), "0\n");
  EXPECT_EQ(run("while false; do :; done; echo $?"), "0\n");
  EXPECT_EQ(run("for i in a; do false; done; echo $?"), "1\n");
  run("true; false", &status);
  EXPECT_EQ(status, 1);
  run("exit 7; true", &status);
  EXPECT_EQ(status, 7);
  run("false; exit", &status);
  EXPECT_EQ(status, 1);
}

TEST(MinishRun, IfElifElse) {
  const char* script =
      "for v in 1 2 3; do if [ $v = 1 ]; then echo one; elif [ $v -eq 2 ]; then echo two; "
      "else echo other; fi; done";
  EXPECT_EQ(run(script), "one\ntwo\nother\n");
}

TEST(MinishRun, WhileUntilBreakContinue) {
  EXPECT_EQ(run("i=; while [ \"$i\" != xxx ]; do i=${i}x; echo $i; done"), "x\nxx\nxxx\n");
  EXPECT_EQ(run("i=; until [ \"$i\" = xx ]; do i=${i}x; done; echo $i"), "xx\n");
  EXPECT_EQ(run("for i in 1 2 3 4 5; do [ $i = 2 ] && continue; [ $i = 4 ] && break; echo $i; "
                "done; echo $?"),
            "1\n3\n0\n");
  EXPECT_EQ(run("for a in 1 2; do for b in x y; do [ $b = y ] && continue 2; echo $a$b; done; "
                "done"),
            "1x\n2x\n");
  EXPECT_EQ(run("for a in 1 2; do for b in x y; do break 2; done; echo no; done; echo out"),
            "out\n");
  EXPECT_EQ(run("break; echo still"), "still\n");
}

TEST(MinishRun, CaseMatchesShellPatterns) {
  const char* script =
      "for w in apple b.c \"x*\" xyz Z; do case $w in a*) echo A;; *.c|*.h) echo C;; "
      "\"x*\") echo literal;; x?z) echo X;; *) echo other;; esac; done";
  EXPECT_EQ(run(script), "A\nC\nliteral\nX\nother\n");
}

TEST(MinishRun, TestOperators) {
  EXPECT_EQ(run("[ a = a ] && echo 1; [ a != a ] || echo 2; [ -z '' ] && echo 3; "
                "[ -n x ] && echo 4; [ 10 -gt 9 ] && echo 5; [ 2 -le 1 ] || echo 6; "
                "[ ! a = b ] && echo 7; [ a = a -a b = c ] || echo 8; [ a = b -o b = b ] && "
                "echo 9; [ \\( a = a \\) ] && echo 10; [ x ] && echo 11; [ '' ] || echo 12; "
                "test b \\> a && echo 13"),
            "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n");
}

TEST(MinishRun, FileTests) {
  char tmpl[] = "/tmp/minish_ft_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::ofstream(dir + "/full") << "x";
  std::ofstream(dir + "/empty");
  std::string script = "d=" + dir +
                       "; [ -d $d ] && echo d; [ -f $d/full ] && echo f; [ -s $d/full ] && echo "
                       "s; [ -s $d/empty ] || echo e; [ -e $d/none ] || echo n";
  EXPECT_EQ(run(script), "d\nf\ns\ne\nn\n");
  std::filesystem::remove_all(dir);
}

TEST(MinishRun, UnsetAndColon) {
  EXPECT_EQ(run("x=1; unset x; echo \"[${x:-none}]\"; : ${y:=7} ignored; echo $y"), "[none]\n7\n");
}

TEST(MinishRun, EchoDashN) {
  EXPECT_EQ(run("x='a  b'; e=; echo -n $e $x \"$x\" $e; echo '|'"), "a b a  b|\n");
}

}  // namespace
}  // namespace minish
