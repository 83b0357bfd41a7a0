// minish's compiler, words: expansions, field splitting, globbing and quoting.
//
// Every word compiles to a fixed number of pushed values whose shapes (Str or Array)
// are known statically; Exec flattens Arrays into separate arguments (spec §20), so a
// word may produce any number of fields at run time with a fixed argc.
#include <string>

#include "codegen.hpp"
#include "fusevm/op.hpp"
#include "lexer.hpp"

namespace minish::detail {

using fusevm::Op;
namespace pm = fusevm::param_mod;
using Kind = WordPart::Kind;

namespace {

// Unquoted parameter and command substitutions are field-split; `$?` never needs it.
bool splits(const WordPart& p) {
  return !p.quoted && (p.kind == Kind::Param || p.kind == Kind::CmdSubst);
}

bool globs(const WordPart& p) {
  return p.kind == Kind::Literal && !p.quoted &&
         p.text.find_first_of("*?[") != std::string::npos;
}

// Quoted text inside a pattern must match itself: backslash-escape what fnmatch and
// the glob walker treat specially.
std::string escape_pattern(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

void CodeGen::part(const WordPart& p) {
  switch (p.kind) {
    case Kind::Literal:
      push_str(p.text);
      return;
    case Kind::Tilde:
      push_str(p.text);
      emit(Op::TildeExpand());
      return;
    case Kind::Status:
      emit(Op::GetStatus());
      return;
    case Kind::CmdSubst:
      emit(Op::CmdSubst(sub_chunk(*p.program)));
      return;
    case Kind::Param:
      break;
  }
  // Interned so the host resolves it to this chunk's global, and so a `$(...)` child VM
  // shares it (see sub_chunk).
  if (is_name(p.text)) name(p.text);
  push_str(p.text);
  if (!p.mod) {
    // Plain `$x`: DEFAULT with "" gives the value, or "" when unset, and lets the host
    // resolve VM globals first, then its environment table.
    push_str("");
    emit(Op::ExpandParam(pm::DEFAULT));
    return;
  }
  switch (*p.mod) {
    case pm::STRIP_SHORT: case pm::STRIP_LONG: case pm::RSTRIP_SHORT: case pm::RSTRIP_LONG:
      pattern(p.args[0]);
      break;
    case pm::SUBST_FIRST: case pm::SUBST_ALL:
      pattern(p.args[0]);
      string(p.args[1]);
      break;
    case pm::SLICE:
      string(p.args[0]);
      if (p.args.size() > 1) {
        string(p.args[1]);
      } else {
        emit(Op::LoadUndef());  // no length: to the end
      }
      break;
    default:
      for (const Word& arg : p.args) string(arg);
  }
  emit(Op::ExpandParam(*p.mod));
}

void CodeGen::string(const Word& w) {
  if (w.parts.empty()) {
    push_str("");
    return;
  }
  for (size_t i = 0; i < w.parts.size(); ++i) {
    part(w.parts[i]);
    if (i > 0) emit(Op::Concat());
  }
  if (w.parts.size() == 1 && w.parts[0].kind == Kind::Status) {
    push_str("");  // a Status value would stay a Status in variables; make it text
    emit(Op::Concat());
  }
}

void CodeGen::pattern(const Word& w) {
  if (w.parts.empty()) {
    push_str("");
    return;
  }
  for (size_t i = 0; i < w.parts.size(); ++i) {
    const WordPart& p = w.parts[i];
    if (p.kind == Kind::Literal && p.quoted) {
      push_str(escape_pattern(p.text));
    } else {
      part(p);
    }
    if (i > 0) emit(Op::Concat());
  }
}

std::vector<Shape> CodeGen::fields(const Word& w) {
  bool any_split = false;
  bool any_glob = false;
  for (const WordPart& p : w.parts) {
    any_split |= splits(p);
    any_glob |= globs(p);
  }
  if (any_glob) {
    glob_word(w);
    return {Shape::Array};
  }
  if (!any_split) {
    string(w);
    return {Shape::Str};
  }
  if (w.parts.size() == 1) {
    part(w.parts[0]);
    emit(Op::WordSplit());
    return {Shape::Array};
  }
  std::vector<Shape> shapes;
  split_word(w, shapes);
  return shapes;
}

// A word mixing split expansions with other text (`a$x"b"`): an "open" field on top
// of the stack collects text; each split expansion glues its first field to the open
// one, closes it if more fields follow, pushes the middle fields as an Array and opens
// its last field. Each split expansion thus adds two values ([closed], [middle...])
// whatever the run-time field count: when it yields one field or none, they are empty
// Arrays, which Exec flattens to nothing.
void CodeGen::split_word(const Word& w, std::vector<Shape>& shapes) {
  const uint16_t fields_var = name("%split");
  const uint16_t last_var = name("%last");
  bool only_expansions = true;
  push_str("");
  for (const WordPart& p : w.parts) {
    if (!splits(p)) {
      only_expansions = false;
      part(p);
      emit(Op::Concat());
      continue;
    }
    part(p);
    emit(Op::WordSplit());
    emit(Op::SetVar(fields_var));
    emit(Op::ArrayLen(fields_var));
    size_t none = emit(Op::JumpIfFalse(0));
    emit(Op::ArrayShift(fields_var));
    emit(Op::Concat());
    emit(Op::ArrayLen(fields_var));
    size_t one = emit(Op::JumpIfFalse(0));
    emit(Op::MakeArray(1));
    emit(Op::ArrayPop(fields_var));
    emit(Op::SetVar(last_var));
    emit(Op::GetVar(fields_var));
    emit(Op::GetVar(last_var));
    size_t done = emit(Op::Jump(0));
    patch_here(none);
    patch_here(one);
    emit(Op::MakeArray(0));
    emit(Op::MakeArray(0));
    emit(Op::Rot());  // [open [] []] -> [[] [] open]
    patch_here(done);
    shapes.push_back(Shape::Array);
    shapes.push_back(Shape::Array);
  }
  if (!only_expansions) {
    shapes.push_back(Shape::Str);
    return;
  }
  // Only expansions (`$a$b`): an empty result is no field at all, as in POSIX.
  emit(Op::Dup());
  emit(Op::StringLen());
  size_t keep = emit(Op::JumpIfTrue(0));
  emit(Op::Pop());
  emit(Op::MakeArray(0));
  size_t done = emit(Op::Jump(0));
  patch_here(keep);
  emit(Op::MakeArray(1));
  patch_here(done);
  shapes.push_back(Shape::Array);
}

// Glob the word; with no match the word stays, quote-removed, as POSIX says. The
// pattern escapes quoted characters while the fallback does not, so each expansion is
// evaluated once into a temporary and read back for both. Expansions in a globbed word
// are not field-split (README).
void CodeGen::glob_word(const Word& w) {
  std::vector<uint16_t> temps;
  for (const WordPart& p : w.parts) {
    if (p.kind == Kind::Literal) continue;
    part(p);
    temps.push_back(name("%g" + std::to_string(temps.size())));
    emit(Op::SetVar(temps.back()));
  }
  auto build = [&](bool as_pattern) {
    size_t t = 0;
    for (size_t i = 0; i < w.parts.size(); ++i) {
      const WordPart& p = w.parts[i];
      if (p.kind != Kind::Literal) {
        emit(Op::GetVar(temps[t++]));
      } else {
        push_str(as_pattern && p.quoted ? escape_pattern(p.text) : p.text);
      }
      if (i > 0) emit(Op::Concat());
    }
  };
  build(true);
  emit(Op::Glob());
  size_t matched = emit(Op::JumpIfTrueKeep(0));  // a non-empty Array is truthy
  emit(Op::Pop());
  build(false);
  emit(Op::MakeArray(1));
  patch_here(matched);
}

void CodeGen::append_fields(uint16_t list_name, const std::vector<Shape>& shapes) {
  const uint16_t items = name("%items");
  const uint16_t elems = name("%elems");
  const uint16_t j = name("%j");
  auto append_array_on_stack = [&]() {
    emit(Op::SetVar(elems));
    emit(Op::LoadInt(0));
    emit(Op::SetVar(j));
    size_t top = b_.current_pos();
    emit(Op::GetVar(j));
    emit(Op::ArrayLen(elems));
    emit(Op::NumLt());
    size_t done = emit(Op::JumpIfFalse(0));
    emit(Op::GetVar(j));
    emit(Op::ArrayGet(elems));
    emit(Op::ArrayPush(list_name));
    emit(Op::GetVar(j));
    emit(Op::Inc());
    emit(Op::SetVar(j));
    emit(Op::Jump(top));
    patch_here(done);
  };
  if (shapes.size() == 1) {
    if (shapes[0] == Shape::Str) {
      emit(Op::ArrayPush(list_name));
    } else {
      append_array_on_stack();
    }
    return;
  }
  emit(Op::MakeArray(static_cast<uint16_t>(shapes.size())));
  emit(Op::SetVar(items));
  for (size_t k = 0; k < shapes.size(); ++k) {
    emit(Op::LoadInt(static_cast<int64_t>(k)));
    emit(Op::ArrayGet(items));
    if (shapes[k] == Shape::Str) {
      emit(Op::ArrayPush(list_name));
    } else {
      append_array_on_stack();
    }
  }
}

}  // namespace minish::detail
