// minish's compiler, builtins: commands compiled to VM code or to registered builtins.
//
// Exec runs true/false/echo inline and answers `test`/`[` with Status(0) without looking
// at the arguments (spec §20.1), and a spawned process cannot change the shell's
// directory or variables; so these commands are compiled here instead.
#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <utility>

#include "codegen.hpp"
#include "fusevm/op.hpp"
#include "fusevm/shell_builtins.hpp"
#include "lexer.hpp"
#include "parser.hpp"

namespace minish::detail {

using fusevm::Op;
namespace sb = fusevm::shell_builtins;
namespace ft = fusevm::file_test;

namespace {

std::optional<uint8_t> file_test_code(std::string_view op) {
  static constexpr std::pair<std::string_view, uint8_t> kTests[] = {
      {"-e", ft::EXISTS},        {"-f", ft::IS_FILE},      {"-d", ft::IS_DIR},
      {"-r", ft::IS_READABLE},   {"-w", ft::IS_WRITABLE},  {"-x", ft::IS_EXECUTABLE},
      {"-s", ft::IS_NONEMPTY},   {"-L", ft::IS_SYMLINK},   {"-h", ft::IS_SYMLINK},
      {"-S", ft::IS_SOCKET},     {"-p", ft::IS_FIFO},      {"-b", ft::IS_BLOCK_DEV},
      {"-c", ft::IS_CHAR_DEV}};
  for (const auto& [name, code] : kTests) {
    if (name == op) return code;
  }
  return std::nullopt;
}

std::optional<fusevm::Op> binary_test_op(std::string_view op) {
  if (op == "=" || op == "==") return Op::StrEq();
  if (op == "!=") return Op::StrNe();
  if (op == "<") return Op::StrLt();
  if (op == ">") return Op::StrGt();
  if (op == "-eq") return Op::NumEq();
  if (op == "-ne") return Op::NumNe();
  if (op == "-lt") return Op::NumLt();
  if (op == "-le") return Op::NumLe();
  if (op == "-gt") return Op::NumGt();
  if (op == "-ge") return Op::NumGe();
  return std::nullopt;
}

// test's grammar over its argument words; operators must be written literally, and
// every operand is one string (README: test). Leaves one truthy/falsy value.
class TestCompiler {
 public:
  TestCompiler(CodeGen& g, const std::vector<Word>& args, int line)
      : g_(g), args_(args), line_(line) {}

  void run() {
    if (args_.empty()) {
      g_.emit(Op::LoadFalse());
      return;
    }
    or_expr();
    if (i_ < args_.size())
      throw SyntaxError(line_, "test: unexpected argument `" +
                                   literal_text(args_[i_]).value_or("...") + "'");
  }

 private:
  std::optional<std::string> lit(size_t k) const {
    return k < args_.size() ? literal_text(args_[k]) : std::nullopt;
  }

  void or_expr() {
    and_expr();
    while (lit(i_) == "-o") {
      ++i_;
      and_expr();
      g_.emit(Op::LogOr());
    }
  }

  void and_expr() {
    not_expr();
    while (lit(i_) == "-a") {
      ++i_;
      not_expr();
      g_.emit(Op::LogAnd());
    }
  }

  void not_expr() {
    if (lit(i_) == "!" && i_ + 1 < args_.size()) {
      ++i_;
      not_expr();
      g_.emit(Op::LogNot());
      return;
    }
    primary();
  }

  void primary() {
    if (i_ >= args_.size()) throw SyntaxError(line_, "test: argument expected");
    std::optional<std::string> op = lit(i_ + 1);
    if (i_ + 2 < args_.size() && op) {
      if (std::optional<Op> bin = binary_test_op(*op)) {
        g_.string(args_[i_]);
        g_.string(args_[i_ + 2]);
        g_.emit(*bin);
        i_ += 3;
        return;
      }
    }
    std::optional<std::string> first = lit(i_);
    if (first == "(" && i_ + 1 < args_.size()) {
      NestingGuard guard(line_);
      ++i_;
      or_expr();
      if (lit(i_) != ")") throw SyntaxError(line_, "test: missing `)'");
      ++i_;
      return;
    }
    if (first && i_ + 1 < args_.size()) {
      if (std::optional<uint8_t> code = file_test_code(*first)) {
        g_.string(args_[i_ + 1]);
        g_.emit(Op::TestFile(*code));
        i_ += 2;
        return;
      }
      if (*first == "-n" || *first == "-z") {
        g_.string(args_[i_ + 1]);
        g_.emit(Op::StringLen());
        if (*first == "-z") g_.emit(Op::LogNot());
        i_ += 2;
        return;
      }
    }
    g_.string(args_[i_]);  // a lone operand: true if non-empty
    g_.emit(Op::StringLen());
    ++i_;
  }

  CodeGen& g_;
  const std::vector<Word>& args_;
  int line_;
  size_t i_ = 0;
};

std::optional<int64_t> positive_int(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 1) return std::nullopt;
  return v;
}

}  // namespace

bool CodeGen::is_builtin_name(std::string_view name) {
  static constexpr std::string_view kNames[] = {"exit", "cd",    ":",        "test",
                                                "[",    "break", "continue", "export",
                                                "unset", "wait", "trap"};
  for (std::string_view n : kNames) {
    if (n == name) return true;
  }
  return false;
}

bool CodeGen::builtin(const SimpleCommand& sc, const std::vector<Redirection>& redirections) {
  std::optional<std::string> cmd = literal_text(sc.words[0]);
  if (!cmd) return false;
  bool echo_n = *cmd == "echo" && sc.words.size() > 1 && literal_text(sc.words[1]) == "-n";
  if (!echo_n && !is_builtin_name(*cmd)) return false;
  const int line = sc.words[0].line;
  // As for POSIX special builtins, prefix assignments stay in the shell.
  for (const Assignment& a : sc.assignments) {
    string(a.value);
    emit(Op::SetVar(name(a.name)));
  }
  RedirectScope scope = redirect_begin(redirections);
  set_line(line);
  std::vector<Word> args(sc.words.begin() + 1, sc.words.end());
  auto call = [&](uint16_t id) {
    size_t argc = 0;
    for (const Word& w : args) argc += fields(w).size();
    if (argc > 255) throw SyntaxError(line, "a command has at most 255 words");
    emit(Op::CallBuiltin(id, static_cast<uint8_t>(argc)));
    emit(Op::SetStatus());
  };
  if (echo_n) {
    // Print writes the flat list joined by spaces with no newline.
    uint16_t list = name("%echo");
    emit(Op::DeclareArray(list));
    for (size_t k = 1; k < args.size(); ++k) append_fields(list, fields(args[k]));
    emit(Op::GetVar(list));
    emit(Op::Print(1));
    set_status(0);
  } else if (*cmd == "exit") {
    exit_builtin(sc);
  } else if (*cmd == "break" || *cmd == "continue") {
    jump_out(*cmd == "break", sc.words);
  } else if (*cmd == "test" || *cmd == "[") {
    if (*cmd == "[") {
      if (args.empty() || literal_text(args.back()) != "]")
        throw SyntaxError(line, "[: missing `]'");
      args.pop_back();
    }
    TestCompiler(*this, args, line).run();
    emit(Op::LogNot());  // truthy -> Bool(false) -> status 0
    emit(Op::SetStatus());
  } else if (*cmd == ":") {
    for (const Word& w : args) {  // expanded for their effects, as in `: ${x:=1}`
      string(w);
      emit(Op::Pop());
    }
    set_status(0);
  } else if (*cmd == "cd") {
    call(sb::BUILTIN_CD);
  } else if (*cmd == "wait") {
    call(sb::BUILTIN_WAIT);
  } else if (*cmd == "export" || *cmd == "unset") {
    bool is_export = *cmd == "export";
    for (const Word& w : args) {
      std::optional<Assignment> a = is_export ? split_assignment(w) : std::nullopt;
      std::optional<std::string> plain = literal_text(w);
      if (a) {
        string(a->value);
        emit(Op::SetVar(name(a->name)));
        push_str(a->name);
      } else {
        if (!is_export && plain && is_name(*plain)) {
          emit(Op::LoadUndef());  // an Undef global lets the host fall back to its table
          emit(Op::SetVar(name(*plain)));
        }
        string(w);
      }
    }
    if (args.size() > 255) throw SyntaxError(line, "a command has at most 255 words");
    emit(Op::CallBuiltin(is_export ? sb::BUILTIN_EXPORT : sb::BUILTIN_UNSET,
                         static_cast<uint8_t>(args.size())));
    emit(Op::SetStatus());
  } else if (*cmd == "trap") {
    std::optional<std::string> action = args.empty() ? std::nullopt : literal_text(args[0]);
    if (args.size() < 2 || !action)
      throw SyntaxError(line, "trap: usage: trap 'literal action' SIGNAL...");
    if (*action == "-") throw SyntaxError(line, "trap: resetting a trap (`-') is not supported");
    uint16_t handler = sub_chunk(parse(*action, line));
    for (size_t k = 1; k < args.size(); ++k) {
      string(args[k]);
      emit(Op::TrapSet(handler));
    }
    set_status(0);
  }
  redirect_end(scope);
  return true;
}

void CodeGen::exit_builtin(const SimpleCommand& sc) {
  if (sc.words.size() > 1) {
    string(sc.words[1]);
  } else {
    emit(Op::GetStatus());
  }
  emit(Op::SetStatus());
  ExitScope& scope = exit_scopes_.back();
  for (int k = redirect_depth_; k > scope.redirect_depth; --k) emit(Op::WithRedirectsEnd());
  scope.exits.push_back(emit(Op::Jump(0)));
}

// break/continue [n]: leave the redirection scopes opened inside the target loop, then
// jump. With no loop in this process (none, or only outside a subshell or pipeline
// stage) they do nothing, as bash does after its warning.
void CodeGen::jump_out(bool is_break, const std::vector<Word>& words) {
  int64_t n = 1;
  if (words.size() > 1) {
    std::optional<std::string> text = literal_text(words[1]);
    std::optional<int64_t> parsed = text ? positive_int(*text) : std::nullopt;
    if (!parsed)
      throw SyntaxError(words[1].line,
                        std::string(is_break ? "break" : "continue") + ": bad loop count");
    n = *parsed;
  }
  size_t visible = loops_.size() - loop_barrier_;
  if (visible == 0) {
    set_status(0);
    return;
  }
  size_t target_index = loops_.size() - std::min<size_t>(visible, static_cast<size_t>(n));
  LoopScope& target = loops_[target_index];
  for (int k = redirect_depth_; k > target.redirect_depth; --k) emit(Op::WithRedirectsEnd());
  if (is_break) {
    emit(Op::LoadInt(0));
    emit(Op::SetVar(target.status_var));
    target.breaks.push_back(emit(Op::Jump(0)));
  } else {
    target.continues.push_back(emit(Op::Jump(0)));
  }
}

}  // namespace minish::detail
