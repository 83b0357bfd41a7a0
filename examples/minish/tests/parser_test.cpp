// Tests of minish's lexer and parser: tokens, word parts, the syntax tree, syntax errors.
#include <gtest/gtest.h>

#include <string>

#include "fusevm/op.hpp"
#include "lexer.hpp"
#include "parser.hpp"

namespace minish {
namespace {

using Kind = WordPart::Kind;
namespace pm = fusevm::param_mod;
namespace ro = fusevm::redirect_op;

const SimpleCommand& simple_at(const Program& p, size_t item, size_t stage = 0) {
  return std::get<SimpleCommand>(p.body.items.at(item).pipelines.at(0).commands.at(stage)->node);
}

const Command& command_at(const Program& p, size_t item) {
  return *p.body.items.at(item).pipelines.at(0).commands.at(0);
}

Word only_word(const std::string& src) {
  Program p = parse(src);
  return simple_at(p, 0).words.at(0);
}

int error_line(const std::string& src) {
  try {
    parse(src);
  } catch (const SyntaxError& e) {
    return e.line();
  }
  return 0;
}

std::string error_text(const std::string& src) {
  try {
    parse(src);
  } catch (const SyntaxError& e) {
    return e.what();
  }
  return "";
}

TEST(MinishLexer, SplitsOperatorsLongestFirst) {
  std::vector<Token> t = tokenize("a&&b||c;;d>>e 2>&1 &>f <<<g");
  std::vector<std::string> texts;
  for (const Token& tok : t) texts.push_back(tok.text);
  std::vector<std::string> want = {"a", "&&", "b", "||", "c", ";;", "d", ">>", "e",
                                   "2", ">&", "1", "&>", "f", "<<<", "g", ""};
  EXPECT_EQ(texts, want);
  EXPECT_EQ(t[9].kind, TokenKind::IoNumber);
  EXPECT_EQ(t.back().kind, TokenKind::End);
}

TEST(MinishLexer, DigitsNotBeforeRedirectionAreWords) {
  std::vector<Token> t = tokenize("echo 2 >x");
  EXPECT_EQ(t[1].kind, TokenKind::Word);
  EXPECT_EQ(t[2].text, ">");
}

TEST(MinishLexer, CommentsRunToEndOfLineOnlyAtWordStart) {
  std::vector<Token> t = tokenize("echo a#b # comment\nx");
  EXPECT_EQ(t[1].text, "a#b");
  EXPECT_EQ(t[2].kind, TokenKind::Newline);
  EXPECT_EQ(t[3].text, "x");
  EXPECT_EQ(t[3].line, 2);
}

TEST(MinishLexer, QuotingMarksPartsQuoted) {
  Program p = parse("echo a'b c'\"d$x\"\\*");
  Word w = simple_at(p, 0).words.at(1);
  ASSERT_EQ(w.parts.size(), 4u);
  EXPECT_EQ(w.parts[0].text, "a");
  EXPECT_FALSE(w.parts[0].quoted);
  EXPECT_EQ(w.parts[1].text, "b cd");
  EXPECT_TRUE(w.parts[1].quoted);
  EXPECT_EQ(w.parts[2].kind, Kind::Param);
  EXPECT_TRUE(w.parts[2].quoted);
  EXPECT_EQ(w.parts[3].text, "*");
  EXPECT_TRUE(w.parts[3].quoted);
}

TEST(MinishLexer, EmptyQuotesLeaveOneQuotedEmptyPart) {
  Word w = only_word("\"\"");
  ASSERT_EQ(w.parts.size(), 1u);
  EXPECT_TRUE(w.parts[0].quoted);
  EXPECT_EQ(w.parts[0].text, "");
  Word q = only_word("\"$x\"");
  ASSERT_EQ(q.parts.size(), 1u);
  EXPECT_EQ(q.parts[0].kind, Kind::Param);
}

TEST(MinishLexer, BackslashInDoubleQuotesEscapesOnlySpecials) {
  Word w = only_word("\"\\$a\\n\\\\\"");
  ASSERT_EQ(w.parts.size(), 1u);
  EXPECT_EQ(w.parts[0].text, "$a\\n\\");
}

TEST(MinishLexer, LineContinuationJoinsWords) {
  Program p = parse("echo ab\\\ncd");
  EXPECT_EQ(literal_text(simple_at(p, 0).words.at(1)), "abcd");
}

TEST(MinishLexer, ParameterForms) {
  struct Case {
    const char* src;
    const char* name;
    std::optional<uint8_t> mod;
    size_t args;
  };
  const Case cases[] = {
      {"$x", "x", std::nullopt, 0},       {"${x}", "x", std::nullopt, 0},
      {"${x:-w}", "x", pm::DEFAULT, 1},   {"${x-w}", "x", pm::DEFAULT, 1},
      {"${x:=w}", "x", pm::ASSIGN, 1},    {"${x:?w}", "x", pm::ERROR, 1},
      {"${x:+w}", "x", pm::ALTERNATE, 1}, {"${#x}", "x", pm::LENGTH, 0},
      {"${x#p}", "x", pm::STRIP_SHORT, 1}, {"${x##p}", "x", pm::STRIP_LONG, 1},
      {"${x%p}", "x", pm::RSTRIP_SHORT, 1}, {"${x%%p}", "x", pm::RSTRIP_LONG, 1},
      {"${x/p/r}", "x", pm::SUBST_FIRST, 2}, {"${x//p/r}", "x", pm::SUBST_ALL, 2},
      {"${x/p}", "x", pm::SUBST_FIRST, 2}, {"${x^^}", "x", pm::UPPER, 0},
      {"${x,,}", "x", pm::LOWER, 0},      {"${x^}", "x", pm::UPPER_FIRST, 0},
      {"${x,}", "x", pm::LOWER_FIRST, 0}, {"${!x}", "x", pm::INDIRECT, 0},
      {"${!x[@]}", "x", pm::KEYS, 0},     {"${x:1:2}", "x", pm::SLICE, 2},
      {"${x:1}", "x", pm::SLICE, 1},      {"$1", "1", std::nullopt, 0},
      {"${10}", "10", std::nullopt, 0},   {"$#", "#", std::nullopt, 0},
      {"${#}", "#", std::nullopt, 0},     {"$$", "$", std::nullopt, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.src);
    Program p = parse(std::string("echo ") + c.src);
    const Word& w = simple_at(p, 0).words.at(1);
    ASSERT_EQ(w.parts.size(), 1u);
    EXPECT_EQ(w.parts[0].kind, Kind::Param);
    EXPECT_EQ(w.parts[0].text, c.name);
    EXPECT_EQ(w.parts[0].mod, c.mod);
    EXPECT_EQ(w.parts[0].args.size(), c.args);
  }
}

TEST(MinishLexer, StatusAndLoneDollar) {
  Word w = simple_at(parse("echo $? ${?} $ a$"), 0).words.at(1);
  EXPECT_EQ(w.parts.at(0).kind, Kind::Status);
  Word w2 = simple_at(parse("echo $? ${?} $ a$"), 0).words.at(2);
  EXPECT_EQ(w2.parts.at(0).kind, Kind::Status);
  EXPECT_EQ(literal_text(simple_at(parse("echo $ a$"), 0).words.at(1)), "$");
  EXPECT_EQ(literal_text(simple_at(parse("echo $ a$"), 0).words.at(2)), "a$");
}

TEST(MinishLexer, ModifierArgumentsAreWords) {
  Word w = simple_at(parse("echo ${x:-\"a b\"$y}"), 0).words.at(1);
  const WordPart& p = w.parts.at(0);
  ASSERT_EQ(p.args.size(), 1u);
  ASSERT_EQ(p.args[0].parts.size(), 2u);
  EXPECT_EQ(p.args[0].parts[0].text, "a b");
  EXPECT_TRUE(p.args[0].parts[0].quoted);
  EXPECT_EQ(p.args[0].parts[1].kind, Kind::Param);
  EXPECT_EQ(p.args[0].parts[1].text, "y");
}

TEST(MinishLexer, CommandSubstitutionIsParsed) {
  Word w = simple_at(parse("echo $(echo a | tr a b) `echo \\`x\\``"), 0).words.at(1);
  ASSERT_EQ(w.parts.size(), 1u);
  EXPECT_EQ(w.parts[0].kind, Kind::CmdSubst);
  EXPECT_EQ(w.parts[0].text, "echo a | tr a b");
  ASSERT_TRUE(w.parts[0].program);
  EXPECT_EQ(w.parts[0].program->body.items.at(0).pipelines.at(0).commands.size(), 2u);
  Word b = simple_at(parse("echo $(echo a | tr a b) `echo \\`x\\``"), 0).words.at(2);
  EXPECT_EQ(b.parts.at(0).text, "echo `x`");
}

TEST(MinishLexer, CommandSubstitutionNestsParensAndQuotes) {
  Word w = simple_at(parse("echo \"$( (echo ')'); echo \"(\" )\""), 0).words.at(1);
  ASSERT_EQ(w.parts.size(), 1u);
  EXPECT_EQ(w.parts[0].text, " (echo ')'); echo \"(\" ");
  EXPECT_TRUE(w.parts[0].quoted);
}

TEST(MinishLexer, TildePrefix) {
  Word w = simple_at(parse("echo ~/a ~bob a~ \"~\" ~\"x\""), 0).words.at(1);
  ASSERT_EQ(w.parts.size(), 2u);
  EXPECT_EQ(w.parts[0].kind, Kind::Tilde);
  EXPECT_EQ(w.parts[0].text, "~");
  EXPECT_EQ(w.parts[1].text, "/a");
  Program p = parse("echo ~/a ~bob a~ \"~\" ~\"x\"");
  const SimpleCommand& sc = simple_at(p, 0);
  EXPECT_EQ(sc.words.at(2).parts.at(0).kind, Kind::Tilde);
  EXPECT_EQ(sc.words.at(2).parts.at(0).text, "~bob");
  EXPECT_EQ(sc.words.at(3).parts.at(0).kind, Kind::Literal);
  EXPECT_EQ(sc.words.at(4).parts.at(0).kind, Kind::Literal);
  EXPECT_EQ(sc.words.at(5).parts.at(0).kind, Kind::Literal);  // ~"x": quoted prefix
}

TEST(MinishLexer, HereDocumentBodies) {
  std::vector<Token> t = tokenize("cat <<EOF; cat <<-'E2'\nline $x\nEOF\n\tkeep\n\tE2\necho done");
  const Token& first = t.at(1);
  EXPECT_EQ(first.text, "<<");
  EXPECT_EQ(first.heredoc_body, "line $x\n");
  EXPECT_TRUE(first.heredoc_expands);
  ASSERT_EQ(first.heredoc_word.parts.size(), 3u);
  EXPECT_EQ(first.heredoc_word.parts[1].kind, Kind::Param);
  const Token& second = t.at(5);
  EXPECT_EQ(second.heredoc_body, "keep\n");
  EXPECT_FALSE(second.heredoc_expands);
  EXPECT_EQ(t.at(8).text, "echo");
  EXPECT_EQ(t.at(8).line, 6);
}

TEST(MinishParser, AssignmentsAndWords) {
  Program p = parse("a=1 b=\"x y\" cmd arg c=3");
  const SimpleCommand& sc = simple_at(p, 0);
  ASSERT_EQ(sc.assignments.size(), 2u);
  EXPECT_EQ(sc.assignments[0].name, "a");
  EXPECT_EQ(literal_text(sc.assignments[0].value), "1");
  EXPECT_EQ(literal_text(sc.assignments[1].value), "x y");
  ASSERT_EQ(sc.words.size(), 3u);
  EXPECT_EQ(literal_text(sc.words[2]), "c=3");  // after the command word: an argument
}

TEST(MinishParser, QuotedNameIsNotAnAssignment) {
  Program p = parse("\"a\"=1");
  EXPECT_TRUE(simple_at(p, 0).assignments.empty());
}

TEST(MinishParser, PipelinesAndOrAndBackground) {
  Program p = parse("! a | b | c && d || e &\nf; g");
  ASSERT_EQ(p.body.items.size(), 3u);
  const AndOr& ao = p.body.items[0];
  EXPECT_TRUE(ao.background);
  ASSERT_EQ(ao.pipelines.size(), 3u);
  EXPECT_TRUE(ao.pipelines[0].bang);
  EXPECT_EQ(ao.pipelines[0].commands.size(), 3u);
  EXPECT_EQ(ao.is_and, (std::vector<bool>{true, false}));
  EXPECT_EQ(p.body.items[1].line, 2);
}

TEST(MinishParser, NewlineAfterOperatorContinues) {
  Program p = parse("a &&\n\n b |\n c");
  ASSERT_EQ(p.body.items.size(), 1u);
  EXPECT_EQ(p.body.items[0].pipelines[1].commands.size(), 2u);
}

TEST(MinishParser, Redirections) {
  Program p = parse("cmd <in >out 2>>log 3<>rw >|clob 2>&1 <&0 &>both &>>ab");
  const Command& c = command_at(p, 0);
  struct Want { int fd; uint8_t op; const char* target; };
  const Want want[] = {{0, ro::READ, "in"},       {1, ro::WRITE, "out"},
                       {2, ro::APPEND, "log"},    {3, ro::READ_WRITE, "rw"},
                       {1, ro::CLOBBER, "clob"},  {2, ro::DUP_WRITE, "1"},
                       {0, ro::DUP_READ, "0"},    {1, ro::WRITE_BOTH, "both"},
                       {1, ro::APPEND_BOTH, "ab"}};
  ASSERT_EQ(c.redirections.size(), std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(c.redirections[i].kind, RedirKind::File);
    EXPECT_EQ(c.redirections[i].fd, want[i].fd);
    EXPECT_EQ(c.redirections[i].op, want[i].op);
    EXPECT_EQ(literal_text(c.redirections[i].target), want[i].target);
  }
}

TEST(MinishParser, HereDocAndHereString) {
  Program p = parse("cat <<'E'\n$x\nE\ncat <<E\na $x\nE\ncat <<<\"w $y\"");
  const Command& lit = command_at(p, 0);
  EXPECT_EQ(lit.redirections.at(0).kind, RedirKind::HereDoc);
  EXPECT_EQ(lit.redirections.at(0).body, "$x\n");
  const Command& exp = command_at(p, 1);
  EXPECT_EQ(exp.redirections.at(0).kind, RedirKind::HereString);
  const Word& body = exp.redirections.at(0).target;
  ASSERT_EQ(body.parts.size(), 2u);  // "a " and $x; the final newline is dropped
  EXPECT_EQ(body.parts[0].text, "a ");
  EXPECT_EQ(body.parts[1].kind, Kind::Param);
  EXPECT_EQ(command_at(p, 2).redirections.at(0).kind, RedirKind::HereString);
}

TEST(MinishParser, CompoundCommands) {
  Program p = parse(
      "if a; then b; elif c; then d; else e; fi\n"
      "while x; do y; done\n"
      "until x; do y; done >f\n"
      "for i in 1 2 3; do echo $i; done\n"
      "for j\ndo :; done\n"
      "case $v in a|b) one;; (c) two;; *) ;; esac\n"
      "{ a; b; } 2>/dev/null\n"
      "( a; b )");
  ASSERT_EQ(p.body.items.size(), 8u);
  const auto& ic = std::get<IfClause>(command_at(p, 0).node);
  EXPECT_EQ(ic.conditions.size(), 2u);
  EXPECT_TRUE(ic.else_body.has_value());
  EXPECT_FALSE(std::get<LoopClause>(command_at(p, 1).node).until);
  EXPECT_TRUE(std::get<LoopClause>(command_at(p, 2).node).until);
  EXPECT_EQ(command_at(p, 2).redirections.size(), 1u);
  const auto& fc = std::get<ForClause>(command_at(p, 3).node);
  EXPECT_EQ(fc.var, "i");
  EXPECT_EQ(fc.words.size(), 3u);
  EXPECT_FALSE(std::get<ForClause>(command_at(p, 4).node).has_in);
  const auto& cc = std::get<CaseClause>(command_at(p, 5).node);
  ASSERT_EQ(cc.items.size(), 3u);
  EXPECT_EQ(cc.items[0].patterns.size(), 2u);
  EXPECT_TRUE(cc.items[2].body.items.empty());
  EXPECT_EQ(std::get<GroupClause>(command_at(p, 6).node).body.items.size(), 2u);
  EXPECT_EQ(std::get<SubshellClause>(command_at(p, 7).node).body.items.size(), 2u);
}

TEST(MinishParser, ReservedWordsAreArgumentsAfterTheCommand) {
  Program p = parse("echo if then fi");
  EXPECT_EQ(simple_at(p, 0).words.size(), 4u);
}

TEST(MinishParser, SyntaxErrorsNameTheLine) {
  EXPECT_EQ(error_line("echo a\nif true; then\n"), 3);
  EXPECT_EQ(error_text("echo a\nif true; then\n"), "syntax error: unexpected end of file");
  EXPECT_EQ(error_line("a |\n| b"), 2);
  EXPECT_EQ(error_text("a | | b"), "syntax error near unexpected token `|'");
  EXPECT_EQ(error_text("fi"), "syntax error near unexpected token `fi'");
  EXPECT_EQ(error_text("( )"), "syntax error near unexpected token `)'");
  EXPECT_EQ(error_text("{ }"), "syntax error near unexpected token `}'");
  EXPECT_EQ(error_text("echo )"), "syntax error near unexpected token `)'");
  EXPECT_EQ(error_text("while true; done"), "syntax error near unexpected token `done'");
  EXPECT_EQ(error_line("echo 'abc\n\n"), 1);
  EXPECT_EQ(error_text("echo 'abc"), "unterminated single quote");
  EXPECT_EQ(error_text("echo \"abc"), "unterminated double quote");
  EXPECT_EQ(error_text("echo $(ls"), "unterminated `$('");
  EXPECT_EQ(error_text("echo ${x"), "unterminated `${'");
  EXPECT_EQ(error_text("echo ${x!}"), "bad substitution");
  EXPECT_EQ(error_text("echo `ls"), "unterminated backquote");
  EXPECT_EQ(error_text("f() { :; }"), "function definitions are not supported");
  EXPECT_EQ(error_text("echo $((1+2))"), "arithmetic expansion $((...)) is not supported");
  EXPECT_EQ(error_text("for 1x in a; do :; done"), "for: `1x' is not a valid identifier");
  EXPECT_EQ(error_text("cat 300>x"), "file descriptor 300 is out of range");
  EXPECT_EQ(error_text("echo >"), "syntax error: unexpected end of file");
  EXPECT_EQ(error_line("x=1\necho $(\nif)\n"), 3);
}

TEST(MinishParser, DeepNestingIsAnErrorNotACrash) {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "( ";
  EXPECT_EQ(error_text(deep), "nesting too deep");
  std::string subst;
  for (int i = 0; i < 5000; ++i) subst += "$(";
  EXPECT_EQ(error_text("echo " + subst), "nesting too deep");
  std::string braces;
  for (int i = 0; i < 5000; ++i) braces += "${x:-";
  EXPECT_EQ(error_text("echo " + braces), "nesting too deep");
}

}  // namespace
}  // namespace minish
