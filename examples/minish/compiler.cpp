// minish's compiler, statements: lists, and-or, pipelines, compound commands, redirections.
#include "compiler.hpp"

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "codegen.hpp"
#include "fusevm/op.hpp"
#include "lexer.hpp"
#include "parser.hpp"

namespace minish {
namespace detail {

using fusevm::Op;
using fusevm::Value;

namespace {

// Loop and case temporaries are named by nesting depth: siblings reuse them, nested
// constructs get their own. `%` cannot start a shell variable name, so they never clash
// with the script's variables.
std::string temp(std::string_view stem, size_t depth) {
  return "%" + std::string(stem) + std::to_string(depth);
}

}  // namespace

CodeGen::CodeGen(std::string source) : source_(std::move(source)) {
  b_.set_source(source_);
  exit_scopes_.emplace_back();
}

void CodeGen::program(const Program& program) { list(program.body); }

fusevm::Chunk CodeGen::finish() {
  for (size_t at : exit_scopes_.front().exits) patch_here(at);
  return b_.build();
}

size_t CodeGen::emit(Op op) { return b_.emit(op, line_); }

uint16_t CodeGen::str_const(std::string_view s) {
  auto it = str_constants_.find(s);
  if (it == str_constants_.end())
    it = str_constants_.emplace(std::string(s), b_.add_constant(Value::Str(s))).first;
  return it->second;
}

void CodeGen::push_str(std::string_view s) { emit(Op::LoadConst(str_const(s))); }

uint16_t CodeGen::name(std::string_view name) { return b_.add_name(name); }

void CodeGen::patch_here(size_t at) { b_.patch_jump(at, b_.current_pos()); }

void CodeGen::set_status(int64_t status) {
  emit(Op::LoadInt(status));
  emit(Op::SetStatus());
}

// The host runs a sub-chunk on a child VM that shares the globals whose names both
// pools hold (HostContext::run_chunk), so every variable name the sub-chunk uses is
// interned here too; that passes the script's variables down through nested `$(...)`.
uint16_t CodeGen::sub_chunk(const Program& program) {
  CodeGen sub(source_);
  sub.program(program);
  fusevm::Chunk chunk = sub.finish();
  for (const std::string& n : chunk.names) {
    if (is_name(n)) name(n);
  }
  return b_.add_sub_chunk(std::move(chunk));
}

void CodeGen::list(const List& list) {
  for (const AndOr& item : list.items) {
    set_line(item.line);
    and_or(item);
    emit(Op::TrapCheck());
  }
}

// `a && b || c` runs left to right; each connector tests the status of whatever ran
// last, so a failed `a` falls through to the `||` test and runs `c`.
void CodeGen::and_or(const AndOr& item) {
  if (item.background) {
    if (item.pipelines.size() != 1)
      throw SyntaxError(item.line, "only simple commands can run in the background (`&')");
    background(item.pipelines[0]);
    return;
  }
  pipeline(item.pipelines[0]);
  for (size_t i = 0; i < item.is_and.size(); ++i) {
    emit(Op::GetStatus());
    size_t skip = emit(item.is_and[i] ? Op::JumpIfFalse(0) : Op::JumpIfTrue(0));
    pipeline(item.pipelines[i + 1]);
    patch_here(skip);
  }
}

// PipelineBegin(n); stage; PipelineStage; ...; stage; PipelineEnd. The host runs each
// stage in its own process, so an `exit` in a stage jumps to the op ending that stage
// and loops outside the stage are out of reach of `break`.
void CodeGen::pipeline(const Pipeline& p) {
  size_t n = p.commands.size();
  if (n == 1) {
    command(*p.commands[0]);
  } else {
    if (n > 255) throw SyntaxError(p.line, "a pipeline has at most 255 commands");
    set_line(p.line);
    emit(Op::PipelineBegin(static_cast<uint8_t>(n)));
    for (size_t i = 0; i < n; ++i) {
      exit_scopes_.push_back({{}, redirect_depth_});
      size_t saved_barrier = std::exchange(loop_barrier_, loops_.size());
      command(*p.commands[i]);
      for (size_t at : exit_scopes_.back().exits) patch_here(at);
      exit_scopes_.pop_back();
      loop_barrier_ = saved_barrier;
      set_line(p.line);
      emit(i + 1 < n ? Op::PipelineStage() : Op::PipelineEnd());
    }
    emit(Op::Pop());  // PipelineEnd already set $?
  }
  if (p.bang) {
    // Status(s) == 0 gives Bool(true), which SetStatus turns into 1: the inverse.
    emit(Op::GetStatus());
    emit(Op::LoadInt(0));
    emit(Op::NumEq());
    emit(Op::SetStatus());
  }
}

void CodeGen::command(const Command& c) {
  set_line(c.line);
  if (const auto* sc = std::get_if<SimpleCommand>(&c.node)) {
    simple(*sc, c.redirections);
    return;
  }
  RedirectScope scope = redirect_begin(c.redirections);
  std::visit(
      [this](const auto& node) {
        using T = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<T, IfClause>) if_clause(node);
        else if constexpr (std::is_same_v<T, LoopClause>) loop_clause(node);
        else if constexpr (std::is_same_v<T, ForClause>) for_clause(node);
        else if constexpr (std::is_same_v<T, CaseClause>) case_clause(node);
        else if constexpr (std::is_same_v<T, GroupClause>) list(node.body);
        else if constexpr (std::is_same_v<T, SubshellClause>) subshell(node);
      },
      c.node);
  redirect_end(scope);
}

void CodeGen::simple(const SimpleCommand& sc, const std::vector<Redirection>& redirections) {
  if (sc.words.empty()) {
    bool has_subst = false;
    for (const Assignment& a : sc.assignments) {
      set_line(a.line);
      string(a.value);
      emit(Op::SetVar(name(a.name)));
      for (const WordPart& p : a.value.parts) has_subst |= p.kind == WordPart::Kind::CmdSubst;
    }
    // POSIX: an assignment-only command has the status of its last command
    // substitution (set by the host), else 0; a failed redirection makes it 1.
    if (!has_subst) set_status(0);
    redirect_end(redirect_begin(redirections));
    return;
  }
  if (builtin(sc, redirections)) return;
  size_t argc = 0;
  push_argv(sc, argc);
  RedirectScope scope = redirect_begin(redirections);
  emit(Op::Exec(static_cast<uint8_t>(argc)));
  emit(Op::SetStatus());  // Exec pushes the status but leaves $? alone (spec §20.1)
  redirect_end(scope, argc);
}

// Prefix assignments (`x=1 cmd`) must reach only that command's environment; the VM has
// no per-command environment, so the command runs as `env x=1 cmd ...` (README).
void CodeGen::push_argv(const SimpleCommand& sc, size_t& argc) {
  if (!sc.assignments.empty()) {
    push_str("env");
    ++argc;
    for (const Assignment& a : sc.assignments) {
      push_str(a.name + "=");
      string(a.value);
      emit(Op::Concat());
      ++argc;
    }
  }
  for (const Word& w : sc.words) argc += fields(w).size();
  if (argc > 255) throw SyntaxError(static_cast<int>(line_), "a command has at most 255 words");
}

void CodeGen::background(const Pipeline& p) {
  const SimpleCommand* sc =
      p.commands.size() == 1 ? std::get_if<SimpleCommand>(&p.commands[0]->node) : nullptr;
  if (!sc || p.bang || sc->words.empty())
    throw SyntaxError(p.line, "only simple commands can run in the background (`&')");
  std::optional<std::string> cmd = literal_text(sc->words[0]);
  if (cmd && is_builtin_name(*cmd))
    throw SyntaxError(p.line, "`" + *cmd + "' cannot run in the background");
  const Command& c = *p.commands[0];
  set_line(c.line);
  size_t argc = 0;
  push_argv(*sc, argc);
  RedirectScope scope = redirect_begin(c.redirections);
  emit(Op::ExecBg(static_cast<uint8_t>(argc)));
  emit(Op::Pop());  // always Status(0)
  redirect_end(scope, argc);
  set_status(0);
}

// The host reports a failed redirection by setting $? to 1 and leaving it alone on
// success, so $? is saved, cleared, tested after the redirections and restored: the
// command runs only when all succeeded (as in POSIX shells), and still sees the old $?.
CodeGen::RedirectScope CodeGen::redirect_begin(const std::vector<Redirection>& redirections) {
  if (redirections.empty()) return {};
  if (redirections.size() > 255)
    throw SyntaxError(redirections[0].line, "a command has at most 255 redirections");
  emit(Op::WithRedirectsBegin(static_cast<uint8_t>(redirections.size())));
  ++redirect_depth_;
  uint16_t saved = name(temp("rs", static_cast<size_t>(redirect_depth_)));
  emit(Op::GetStatus());
  emit(Op::SetVar(saved));
  set_status(0);
  for (const Redirection& r : redirections) {
    set_line(r.line);
    switch (r.kind) {
      case RedirKind::File:
        string(r.target);
        emit(Op::Redirect(static_cast<uint8_t>(r.fd), r.op));
        break;
      case RedirKind::HereDoc:
        emit(Op::HereDoc(str_const(r.body)));
        break;
      case RedirKind::HereString:
        string(r.target);
        emit(Op::HereString());
        break;
    }
  }
  emit(Op::GetStatus());
  size_t fail = emit(Op::JumpIfFalse(0));
  emit(Op::GetVar(saved));
  emit(Op::SetStatus());
  return {true, fail};
}

void CodeGen::redirect_end(const RedirectScope& scope, size_t pushed) {
  if (!scope.open) return;
  if (pushed == 0) {
    patch_here(scope.fail_jump);
  } else {
    size_t over = emit(Op::Jump(0));
    patch_here(scope.fail_jump);
    for (size_t k = 0; k < pushed; ++k) emit(Op::Pop());
    patch_here(over);
  }
  emit(Op::WithRedirectsEnd());
  --redirect_depth_;
}

// No branch taken and no else: status 0 (POSIX).
void CodeGen::if_clause(const IfClause& ic) {
  std::vector<size_t> to_end;
  for (size_t i = 0; i < ic.conditions.size(); ++i) {
    list(ic.conditions[i]);
    emit(Op::GetStatus());
    size_t next = emit(Op::JumpIfFalse(0));
    list(ic.bodies[i]);
    to_end.push_back(emit(Op::Jump(0)));
    patch_here(next);
  }
  if (ic.else_body) {
    list(*ic.else_body);
  } else {
    set_status(0);
  }
  for (size_t at : to_end) patch_here(at);
}

// A loop's status is that of the last body run, 0 if none ran; the condition's final
// failure must not leak into $?, so the body status is kept in a temporary.
void CodeGen::loop_clause(const LoopClause& lc) {
  size_t depth = loops_.size();
  uint16_t status_var = name(temp("w", depth));
  emit(Op::LoadInt(0));
  emit(Op::SetVar(status_var));
  size_t top = b_.current_pos();
  emit(Op::TrapCheck());
  loops_.push_back({{}, {}, redirect_depth_, status_var});
  list(lc.condition);
  emit(Op::GetStatus());
  size_t exit = emit(lc.until ? Op::JumpIfTrue(0) : Op::JumpIfFalse(0));
  close_loop(lc.body, top, exit, status_var);
}

// The shared end of while/until/for (the loop is already on loops_): the body, its
// status kept, the jump back to `top`; then breaks leave, continues go to `top`, and
// the loop's status is the last body's.
void CodeGen::close_loop(const List& body, size_t top, size_t exit, uint16_t status_var) {
  size_t depth = loops_.size() - 1;
  list(body);
  emit(Op::GetStatus());
  emit(Op::SetVar(status_var));
  emit(Op::Jump(top));
  patch_here(exit);
  for (size_t at : loops_[depth].breaks) patch_here(at);
  for (size_t at : loops_[depth].continues) b_.patch_jump(at, top);
  loops_.pop_back();
  emit(Op::GetVar(status_var));
  emit(Op::SetStatus());
}

void CodeGen::for_clause(const ForClause& fc) {
  size_t depth = loops_.size();
  uint16_t items = name(temp("for", depth));
  uint16_t index = name(temp("i", depth));
  uint16_t status_var = name(temp("w", depth));
  if (!fc.has_in) {
    // `for x; do` walks the positional parameters ("$@", split: README).
    push_str("@");
    push_str("");
    emit(Op::ExpandParam(fusevm::param_mod::DEFAULT));
    emit(Op::WordSplit());
    emit(Op::SetVar(items));
  } else if (fc.words.size() == 1 && !fc.words[0].parts.empty()) {
    std::vector<Shape> shapes = fields(fc.words[0]);
    if (shapes.size() == 1 && shapes[0] == Shape::Array) {
      emit(Op::SetVar(items));  // one split or globbed word: its Array is the list
    } else {
      emit(Op::DeclareArray(items));
      append_fields(items, shapes);
    }
  } else {
    emit(Op::DeclareArray(items));
    for (const Word& w : fc.words) append_fields(items, fields(w));
  }
  emit(Op::LoadInt(0));
  emit(Op::SetVar(index));
  emit(Op::LoadInt(0));
  emit(Op::SetVar(status_var));
  size_t top = b_.current_pos();
  emit(Op::TrapCheck());
  emit(Op::GetVar(index));
  emit(Op::ArrayLen(items));
  emit(Op::NumLt());
  size_t exit = emit(Op::JumpIfFalse(0));
  emit(Op::GetVar(index));
  emit(Op::ArrayGet(items));
  emit(Op::SetVar(name(fc.var)));
  emit(Op::GetVar(index));
  emit(Op::Inc());
  emit(Op::SetVar(index));
  loops_.push_back({{}, {}, redirect_depth_, status_var});
  close_loop(fc.body, top, exit, status_var);
}

// The subject is evaluated once into a temporary; each pattern is tried with StrMatch
// (the host's fnmatch) in order; no match leaves status 0.
void CodeGen::case_clause(const CaseClause& cc) {
  uint16_t subject = name(temp("case", static_cast<size_t>(case_depth_)));
  ++case_depth_;
  string(cc.subject);
  emit(Op::SetVar(subject));
  std::vector<size_t> to_end;
  for (const CaseItem& item : cc.items) {
    std::vector<size_t> to_body;
    for (const Word& pat : item.patterns) {
      set_line(pat.line);
      emit(Op::GetVar(subject));
      pattern(pat);
      emit(Op::StrMatch());
      to_body.push_back(emit(Op::JumpIfTrue(0)));
    }
    size_t next = emit(Op::Jump(0));
    for (size_t at : to_body) patch_here(at);
    if (item.body.items.empty()) set_status(0);
    list(item.body);
    to_end.push_back(emit(Op::Jump(0)));
    patch_here(next);
  }
  set_status(0);
  for (size_t at : to_end) patch_here(at);
  --case_depth_;
}

// The host forks at SubshellBegin and the parent skips past the matching SubshellEnd,
// so `exit` inside jumps to SubshellEnd (ending the child) and outer loops are out of
// reach.
void CodeGen::subshell(const SubshellClause& sc) {
  emit(Op::SubshellBegin());
  exit_scopes_.push_back({{}, redirect_depth_});
  size_t saved_barrier = std::exchange(loop_barrier_, loops_.size());
  list(sc.body);
  for (size_t at : exit_scopes_.back().exits) patch_here(at);
  exit_scopes_.pop_back();
  loop_barrier_ = saved_barrier;
  emit(Op::SubshellEnd());
}

}  // namespace detail

fusevm::Chunk compile(const Program& program, const std::string& source) {
  detail::CodeGen gen(source);
  try {
    gen.program(program);
    return gen.finish();
  } catch (const fusevm::Error& e) {  // a pool past 65,536 entries
    throw SyntaxError(gen.line(), std::string("script too large: ") + e.what());
  }
}

fusevm::Chunk compile_source(std::string_view text, const std::string& source) {
  return compile(parse(text), source);
}

}  // namespace minish
