// The compiler's internal state, shared by compiler.cpp, words.cpp and builtins.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ast.hpp"
#include "fusevm/chunk.hpp"

namespace minish::detail {

/// What a value pushed for a word is, known at compile time: the VM has no type test,
/// so code that flattens fields (for-lists) must know which values are Arrays.
enum class Shape : uint8_t { Str, Array };

/// Compiles one chunk (the script, or one `$(...)` / trap body).
class CodeGen {
 public:
  /// A generator for a chunk named `source`.
  explicit CodeGen(std::string source);
  /// Compile `program` into the chunk.
  void program(const Program& program);
  /// Patch the exits and return the chunk.
  fusevm::Chunk finish();

  // -- Emission helpers (compiler.cpp) --------------------------------------------
  /// Append `op` at the current line; returns its index.
  size_t emit(fusevm::Op op);
  /// Index of a Str constant (constants are de-duplicated).
  uint16_t str_const(std::string_view s);
  /// Push a Str constant.
  void push_str(std::string_view s);
  /// The name-pool index of `name` (a shell variable or a compiler temporary).
  uint16_t name(std::string_view name);
  /// Point the jump at `at` to the next op.
  void patch_here(size_t at);
  /// Set `$?` to a constant.
  void set_status(int64_t status);
  /// Compile a sub-program into a sub-chunk; its index.
  uint16_t sub_chunk(const Program& program);

  // -- Statements (compiler.cpp) --------------------------------------------------
  /// A list of and-or items, each followed by TrapCheck.
  void list(const List& list);
  /// An open WithRedirects scope, or none.
  struct RedirectScope {
    bool open = false;     ///< a scope was opened
    size_t fail_jump = 0;  ///< the jump taken when a redirection failed
  };
  /// Open the redirections of a command (nothing if there are none); the code after it
  /// runs only if every redirection succeeded.
  RedirectScope redirect_begin(const std::vector<Redirection>& redirections);
  /// Close `scope`; on the failure path first drop the `pushed` values the command's
  /// words left on the stack.
  void redirect_end(const RedirectScope& scope, size_t pushed = 0);

  // -- Words (words.cpp) -----------------------------------------------------------
  /// Push the fields of `w` (split and globbed) as values; their shapes in push order.
  std::vector<Shape> fields(const Word& w);
  /// Push `w` as one Str (no splitting, no globbing).
  void string(const Word& w);
  /// Push `w` as one shell pattern: quoted characters escaped so they match literally.
  void pattern(const Word& w);
  /// Append the `shapes.size()` values on the stack to the Array global `list_name`.
  void append_fields(uint16_t list_name, const std::vector<Shape>& shapes);

  // -- Commands compiled to VM code instead of a process (builtins.cpp) -------------
  /// Compile `sc` if its command is one minish handles itself; false otherwise.
  bool builtin(const SimpleCommand& sc, const std::vector<Redirection>& redirections);
  /// Names builtin() handles (they cannot run in the background).
  static bool is_builtin_name(std::string_view name);

  /// Attribute the following ops to script line `line`.
  void set_line(int line) { line_ = static_cast<uint32_t>(line); }
  /// The line of the ops being emitted.
  int line() const { return static_cast<int>(line_); }

 private:
  void and_or(const AndOr& item);
  void pipeline(const Pipeline& p);
  void command(const Command& c);
  void simple(const SimpleCommand& sc, const std::vector<Redirection>& redirections);
  void background(const Pipeline& p);
  void push_argv(const SimpleCommand& sc, size_t& argc);
  void if_clause(const IfClause& ic);
  void loop_clause(const LoopClause& lc);
  void for_clause(const ForClause& fc);
  void close_loop(const List& body, size_t top, size_t exit, uint16_t status_var);
  void case_clause(const CaseClause& cc);
  void subshell(const SubshellClause& sc);
  void part(const WordPart& p);
  void split_word(const Word& w, std::vector<Shape>& shapes);
  void glob_word(const Word& w);
  void test_builtin(const std::vector<Word>& args, int line);
  void jump_out(bool is_break, const std::vector<Word>& words);
  void exit_builtin(const SimpleCommand& sc);

 public:
  /// Where `exit` jumps: the end of the chunk, a subshell or a pipeline stage.
  struct ExitScope {
    std::vector<size_t> exits;  ///< jumps to patch to the scope's end op
    int redirect_depth = 0;     ///< redirection scopes open when it began
  };
  /// A loop `break` and `continue` can reach.
  struct LoopScope {
    std::vector<size_t> breaks;     ///< jumps to the loop's exit
    std::vector<size_t> continues;  ///< jumps to the next iteration
    int redirect_depth = 0;         ///< redirection scopes open when it began
    uint16_t status_var = 0;        ///< temporary holding the loop's status
  };

 private:
  fusevm::ChunkBuilder b_;
  std::string source_;
  std::map<std::string, uint16_t, std::less<>> str_constants_;
  std::vector<ExitScope> exit_scopes_;
  std::vector<LoopScope> loops_;
  size_t loop_barrier_ = 0;  // loops below it belong to another process (subshell, stage)
  int redirect_depth_ = 0;
  int case_depth_ = 0;
  uint32_t line_ = 1;
};

}  // namespace minish::detail
