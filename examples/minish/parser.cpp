// minish's parser: recursive descent over the token list, one function per grammar rule.
#include "parser.hpp"

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "fusevm/op.hpp"
#include "lexer.hpp"

namespace minish {

namespace {

namespace ro = fusevm::redirect_op;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  Program program() {
    Program p;
    p.body = list({});
    if (!at_end()) unexpected();
    return p;
  }

 private:
  const Token& cur() const { return toks_[i_]; }
  bool at_end() const { return cur().kind == TokenKind::End; }
  bool is_op(std::string_view s) const { return cur().kind == TokenKind::Op && cur().text == s; }
  bool is_reserved(std::string_view s) const {
    return cur().kind == TokenKind::Word && plain_text(cur().word) == s;
  }
  void skip_newlines() {
    while (cur().kind == TokenKind::Newline) ++i_;
  }

  [[noreturn]] void unexpected() const {
    const Token& t = cur();
    if (t.kind == TokenKind::End) throw SyntaxError(t.line, "syntax error: unexpected end of file");
    std::string what = t.kind == TokenKind::Newline ? "newline" : t.text;
    throw SyntaxError(t.line, "syntax error near unexpected token `" + what + "'");
  }

  void expect(std::string_view reserved) {
    if (!is_reserved(reserved)) unexpected();
    ++i_;
  }

  // A list ends at end of input, at one of `words` (reserved words), at `)` when
  // `paren`, or at `;;` when `dsemi`.
  struct Ends {
    std::initializer_list<std::string_view> words;
    bool paren = false;
    bool dsemi = false;
  };

  bool at_list_end(const Ends& ends) const {
    if (at_end() || (ends.paren && is_op(")")) || (ends.dsemi && is_op(";;"))) return true;
    for (std::string_view w : ends.words) {
      if (is_reserved(w)) return true;
    }
    return false;
  }

  List list(const Ends& ends) {
    List l;
    skip_newlines();
    while (!at_list_end(ends)) {
      AndOr item = and_or();
      if (is_op("&")) {
        item.background = true;
        ++i_;
      } else if (is_op(";")) {
        ++i_;
      } else if (cur().kind != TokenKind::Newline && !at_list_end(ends)) {
        unexpected();
      }
      l.items.push_back(std::move(item));
      skip_newlines();
    }
    return l;
  }

  // POSIX wants at least one command in every compound list; the token that ended the
  // empty list is the one to complain about.
  List nonempty_list(const Ends& ends) {
    List l = list(ends);
    if (l.items.empty()) unexpected();
    return l;
  }

  AndOr and_or() {
    AndOr item;
    item.line = cur().line;
    item.pipelines.push_back(pipeline());
    while (is_op("&&") || is_op("||")) {
      item.is_and.push_back(cur().text == "&&");
      ++i_;
      skip_newlines();
      item.pipelines.push_back(pipeline());
    }
    return item;
  }

  Pipeline pipeline() {
    Pipeline p;
    p.line = cur().line;
    if (is_reserved("!")) {
      p.bang = true;
      ++i_;
    }
    p.commands.push_back(command());
    while (is_op("|")) {
      ++i_;
      skip_newlines();
      p.commands.push_back(command());
    }
    return p;
  }

  std::unique_ptr<Command> command() {
    NestingGuard guard(cur().line);
    auto c = std::make_unique<Command>();
    c->line = cur().line;
    std::optional<std::string> word =
        cur().kind == TokenKind::Word ? plain_text(cur().word) : std::nullopt;
    if (is_op("(")) {
      ++i_;
      c->node = SubshellClause{nonempty_list({{}, true, false})};
      if (!is_op(")")) unexpected();
      ++i_;
    } else if (word == "if") {
      c->node = if_clause();
    } else if (word == "while" || word == "until") {
      c->node = loop_clause();
    } else if (word == "for") {
      c->node = for_clause();
    } else if (word == "case") {
      c->node = case_clause();
    } else if (word == "{") {
      ++i_;
      c->node = GroupClause{nonempty_list({{"}"}})};
      expect("}");
    } else if (word == "then" || word == "elif" || word == "else" || word == "fi" ||
               word == "do" || word == "done" || word == "esac" || word == "}" || word == "!") {
      unexpected();
    } else {
      c->node = simple_command(*c);
      return c;
    }
    while (at_redirection()) c->redirections.push_back(redirection());
    return c;
  }

  IfClause if_clause() {
    IfClause ic;
    ++i_;
    ic.conditions.push_back(nonempty_list({{"then"}}));
    expect("then");
    ic.bodies.push_back(nonempty_list({{"elif", "else", "fi"}}));
    while (is_reserved("elif")) {
      ++i_;
      ic.conditions.push_back(nonempty_list({{"then"}}));
      expect("then");
      ic.bodies.push_back(nonempty_list({{"elif", "else", "fi"}}));
    }
    if (is_reserved("else")) {
      ++i_;
      ic.else_body = nonempty_list({{"fi"}});
    }
    expect("fi");
    return ic;
  }

  LoopClause loop_clause() {
    LoopClause lc;
    lc.until = is_reserved("until");
    ++i_;
    lc.condition = nonempty_list({{"do"}});
    expect("do");
    lc.body = nonempty_list({{"done"}});
    expect("done");
    return lc;
  }

  ForClause for_clause() {
    ForClause fc;
    int line = cur().line;
    ++i_;
    std::optional<std::string> name =
        cur().kind == TokenKind::Word ? plain_text(cur().word) : std::nullopt;
    if (!name) unexpected();
    if (!is_name(*name)) throw SyntaxError(line, "for: `" + *name + "' is not a valid identifier");
    fc.var = *name;
    ++i_;
    skip_newlines();
    if (is_reserved("in")) {
      ++i_;
      fc.has_in = true;
      while (cur().kind == TokenKind::Word) fc.words.push_back(take_word());
      if (is_op(";")) {
        ++i_;
      } else if (cur().kind != TokenKind::Newline) {
        unexpected();
      }
    } else if (is_op(";")) {
      ++i_;
    }
    skip_newlines();
    expect("do");
    fc.body = nonempty_list({{"done"}});
    expect("done");
    return fc;
  }

  CaseClause case_clause() {
    CaseClause cc;
    ++i_;
    if (cur().kind != TokenKind::Word) unexpected();
    cc.subject = take_word();
    skip_newlines();
    expect("in");
    skip_newlines();
    while (!is_reserved("esac")) {
      CaseItem item;
      if (is_op("(")) ++i_;
      if (cur().kind != TokenKind::Word) unexpected();
      item.patterns.push_back(take_word());
      while (is_op("|")) {
        ++i_;
        if (cur().kind != TokenKind::Word) unexpected();
        item.patterns.push_back(take_word());
      }
      if (!is_op(")")) unexpected();
      ++i_;
      item.body = list({{"esac"}, false, true});
      if (is_op(";;")) {
        ++i_;
        skip_newlines();
      } else if (!is_reserved("esac")) {
        unexpected();
      }
      cc.items.push_back(std::move(item));
    }
    ++i_;
    return cc;
  }

  SimpleCommand simple_command(Command& c) {
    SimpleCommand sc;
    for (;;) {
      if (at_redirection()) {
        c.redirections.push_back(redirection());
        continue;
      }
      if (cur().kind != TokenKind::Word) break;
      if (sc.words.empty()) {
        if (std::optional<Assignment> a = assignment(cur())) {
          sc.assignments.push_back(std::move(*a));
          ++i_;
          continue;
        }
      }
      int line = cur().line;
      sc.words.push_back(take_word());
      if (sc.words.size() == 1 && is_op("("))
        throw SyntaxError(line, "function definitions are not supported");
    }
    if (sc.words.empty() && sc.assignments.empty() && c.redirections.empty()) unexpected();
    return sc;
  }

  static std::optional<Assignment> assignment(const Token& t) {
    std::optional<Assignment> a = split_assignment(t.word);
    if (a) resolve(a->value);
    return a;
  }

  bool at_redirection() const {
    if (cur().kind == TokenKind::IoNumber) return true;
    if (cur().kind != TokenKind::Op) return false;
    const std::string& t = cur().text;
    return t == "<" || t == ">" || t == ">>" || t == "<>" || t == ">|" || t == "<&" ||
           t == ">&" || t == "&>" || t == "&>>" || t == "<<" || t == "<<-" || t == "<<<";
  }

  Redirection redirection() {
    Redirection r;
    r.line = cur().line;
    std::optional<int> fd;
    if (cur().kind == TokenKind::IoNumber) {
      const std::string& digits = cur().text;
      if (digits.size() > 3 || std::stoi(digits) > 255)
        throw SyntaxError(r.line, "file descriptor " + digits + " is out of range");
      fd = std::stoi(digits);
      ++i_;
      if (!at_redirection() || cur().kind != TokenKind::Op) unexpected();
    }
    const Token& op = cur();
    ++i_;
    if (cur().kind != TokenKind::Word) unexpected();
    const std::string& s = op.text;
    if (s == "<<" || s == "<<-" || s == "<<<") {
      if (fd && *fd != 0)
        throw SyntaxError(r.line, "here-documents and here-strings apply to fd 0 only");
      r.fd = 0;
      if (s == "<<<") {
        r.kind = RedirKind::HereString;
        r.target = take_word();
      } else {
        ++i_;  // the delimiter word; the lexer already read the body
        heredoc(op, r);
      }
      return r;
    }
    struct Form { std::string_view spelling; uint8_t op; int fd; };
    static constexpr Form kForms[] = {
        {"<", ro::READ, 0},         {">", ro::WRITE, 1},       {">>", ro::APPEND, 1},
        {"<>", ro::READ_WRITE, 0},  {">|", ro::CLOBBER, 1},    {"<&", ro::DUP_READ, 0},
        {">&", ro::DUP_WRITE, 1},   {"&>", ro::WRITE_BOTH, 1}, {"&>>", ro::APPEND_BOTH, 1}};
    for (const Form& f : kForms) {
      if (f.spelling == s) {
        r.op = f.op;
        r.fd = fd.value_or(f.fd);
      }
    }
    r.target = take_word();
    return r;
  }

  // An expanding body becomes a here-string of the body minus its final newline, since
  // the host's here-string adds that newline back.
  static void heredoc(const Token& op, Redirection& r) {
    const std::vector<WordPart>& parts = op.heredoc_word.parts;
    bool ends_in_newline = !parts.empty() && parts.back().kind == WordPart::Kind::Literal &&
                           parts.back().text.ends_with('\n');
    if (!op.heredoc_expands || !ends_in_newline) {
      r.kind = RedirKind::HereDoc;
      r.body = op.heredoc_expands ? literal_text(op.heredoc_word).value_or(op.heredoc_body)
                                  : op.heredoc_body;
      return;
    }
    r.kind = RedirKind::HereString;
    r.target = op.heredoc_word;
    WordPart& last = r.target.parts.back();
    last.text.pop_back();
    if (last.text.empty() && r.target.parts.size() > 1) r.target.parts.pop_back();
    resolve(r.target);
  }

  Word take_word() {
    Word w = cur().word;
    ++i_;
    resolve(w);
    return w;
  }

  // Parse the bodies of command substitutions (the lexer kept them as text).
  static void resolve(Word& w) {
    for (WordPart& p : w.parts) {
      if (p.kind == WordPart::Kind::CmdSubst && !p.program)
        p.program = std::make_shared<const Program>(parse(p.text, p.line));
      for (Word& arg : p.args) resolve(arg);
    }
  }

  std::vector<Token> toks_;
  size_t i_ = 0;
};

}  // namespace

Program parse(std::string_view source, int first_line) {
  NestingGuard guard(first_line);
  Parser parser(tokenize(source, first_line));
  return parser.program();
}

}  // namespace minish
