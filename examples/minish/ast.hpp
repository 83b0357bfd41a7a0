// minish's syntax tree: words with their quoting, commands, and the lists joining them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace minish {

/// A parse or compile error at a script line; printed as `minish: line N: message`.
class SyntaxError : public std::runtime_error {
 public:
  /// Error `message` at 1-based `line`.
  SyntaxError(int line, const std::string& message)
      : std::runtime_error(message), line_(line) {}
  /// The script line.
  int line() const { return line_; }

 private:
  int line_;
};

/// Counts nesting ($(...), ${...}, compound commands) while it is alive, so deeply
/// nested input is a SyntaxError instead of a stack overflow.
class NestingGuard {
 public:
  /// Enter one level; throws SyntaxError at `line` past kMaxNesting.
  explicit NestingGuard(int line);
  ~NestingGuard();
  NestingGuard(const NestingGuard&) = delete;
  NestingGuard& operator=(const NestingGuard&) = delete;
  /// Deepest nesting accepted.
  static constexpr int kMaxNesting = 200;
};

struct Word;
struct Program;

/// One piece of a word. Quoted pieces are never field-split or globbed, and their
/// pattern characters match literally.
struct WordPart {
  /// What the piece is.
  enum class Kind : uint8_t {
    Literal,   ///< characters (`text`)
    Param,     ///< `$name` / `${name...}`: `text` is the name
    CmdSubst,  ///< `$(...)` or backquotes: `text` is the source, `program` its parse
    Status,    ///< `$?`
    Tilde,     ///< a leading `~` or `~user` prefix (`text`)
  };
  Kind kind = Kind::Literal;          ///< what the piece is
  bool quoted = false;                ///< inside '', "" or after a backslash
  std::string text;                   ///< see Kind
  std::optional<uint8_t> mod;         ///< Param: a param_mod code, none for plain `$x`
  std::vector<Word> args;             ///< Param: the modifier's operand words
  std::shared_ptr<const Program> program;  ///< CmdSubst: the parsed body
  int line = 1;                       ///< where the piece starts
};

/// A shell word: the pieces that expand and join into zero or more fields.
struct Word {
  std::vector<WordPart> parts;  ///< in source order
  int line = 1;                 ///< where the word starts
};

/// What a redirection does.
enum class RedirKind : uint8_t {
  File,        ///< `op` with a target word (file name or fd number)
  HereDoc,     ///< `<<` with a literal body (`body`)
  HereString,  ///< `<<<` word, or a `<<` body with expansions (compiled to HereString)
};

/// One redirection of a command.
struct Redirection {
  RedirKind kind = RedirKind::File;  ///< what it does
  int fd = 1;                        ///< the fd redirected
  uint8_t op = 0;                    ///< a redirect_op code (File only)
  Word target;                       ///< File/HereString: the word
  std::string body;                  ///< HereDoc: the literal text
  int line = 1;                      ///< where it is
};

/// `name=value` before a command word.
struct Assignment {
  std::string name;  ///< the variable
  Word value;        ///< its value word (may have no parts: empty)
  int line = 1;      ///< where it is
};

struct Command;

/// `[!] cmd | cmd | ...`.
struct Pipeline {
  bool bang = false;                               ///< status inverted by `!`
  std::vector<std::unique_ptr<Command>> commands;  ///< the stages, at least one
  int line = 1;                                    ///< where it starts
};

/// `p1 && p2 || p3`, optionally run in the background (`&`).
struct AndOr {
  std::vector<Pipeline> pipelines;  ///< at least one
  std::vector<bool> is_and;         ///< connector i joins pipelines i and i+1: && or ||
  bool background = false;          ///< ended by `&`
  int line = 1;                     ///< where it starts
};

/// A sequence of and-or lists (separated by `;`, `&` or newlines).
struct List {
  std::vector<AndOr> items;  ///< run in order
};

/// A command with words, assignments and redirections.
struct SimpleCommand {
  std::vector<Assignment> assignments;  ///< `x=v` prefixes
  std::vector<Word> words;              ///< command name and arguments
};

/// `if c1; then b1; elif c2; then b2; else b3; fi`.
struct IfClause {
  std::vector<List> conditions;  ///< one per if/elif
  std::vector<List> bodies;      ///< one per condition
  std::optional<List> else_body;  ///< the else branch, if any
};

/// `while c; do b; done` and `until c; do b; done`.
struct LoopClause {
  bool until = false;  ///< loop while the condition fails
  List condition;      ///< the condition list
  List body;           ///< the do-list
};

/// `for name in words; do b; done`.
struct ForClause {
  std::string var;          ///< loop variable
  bool has_in = false;      ///< false: iterate over the positional parameters
  std::vector<Word> words;  ///< the list (has_in)
  List body;                ///< the do-list
};

/// One `pattern|pattern) list ;;` arm.
struct CaseItem {
  std::vector<Word> patterns;  ///< alternatives
  List body;                   ///< run when one matches
};

/// `case word in ... esac`.
struct CaseClause {
  Word subject;                ///< the word matched
  std::vector<CaseItem> items;  ///< tried in order
};

/// `{ list; }`.
struct GroupClause {
  List body;  ///< the grouped list
};

/// `( list )`.
struct SubshellClause {
  List body;  ///< run in a subshell
};

/// Any command, with the redirections that apply to it.
struct Command {
  /// The command itself.
  std::variant<SimpleCommand, IfClause, LoopClause, ForClause, CaseClause, GroupClause,
               SubshellClause>
      node;
  std::vector<Redirection> redirections;  ///< in source order
  int line = 1;                           ///< where it starts
};

/// A whole script.
struct Program {
  List body;  ///< its commands
};

}  // namespace minish
