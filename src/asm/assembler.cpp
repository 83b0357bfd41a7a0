// The .fasm assembler (ARCHITECTURE §6, §9 ".fasm in detail"; grammar in docs/fasm.md).
#include <algorithm>
#include <cctype>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "asm/lexer.hpp"
#include "asm/literal.hpp"
#include "fusevm/asm.hpp"

namespace fusevm {

namespace {

using fasm::Cursor;
using fasm::IntLiteral;
using fasm::SyntaxError;
using fasm::TokKind;
using fasm::Token;

// Past this many findings the rest of the input is probably not .fasm at all.
constexpr size_t kMaxDiagnostics = 100;
// Nesting of `.chunk` is capped like the .fvc format (so every assembled chunk can be
// written as .fvc) and so hostile input cannot build a chunk tree deep enough to
// overflow the stack in the recursive destructor, verifier or hasher.
constexpr size_t kMaxChunkDepth = 64;
// Mnemonic suggestions are skipped for absurdly long words (edit distance is quadratic).
constexpr size_t kMaxSuggestLength = 64;

// -- Mnemonic suggestions ---------------------------------------------------------------

// Levenshtein distance, or `bound` as soon as it cannot be below `bound` (every cell of a
// row has reached it).
size_t edit_distance(std::string_view a, std::string_view b, size_t bound) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    size_t row_min = row[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      const size_t cost = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min(cost, std::min(up, row[j - 1]) + 1);
      row_min = std::min(row_min, row[j]);
      diag = up;
    }
    if (row_min >= bound) return bound;
  }
  return row[b.size()];
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The mnemonic closest to `word`, ignoring case (so "loadint" suggests "LoadInt").
// A candidate whose length differs from the word's by at least the best distance so far
// cannot beat it and is not measured (most are: up to 100 suggestions per input).
std::string_view closest_mnemonic(std::string_view word) {
  static const std::vector<std::string> lowered = [] {
    std::vector<std::string> out;
    for (const OpInfo& info : kOpInfo) out.push_back(lower(info.name));
    return out;
  }();
  const std::string w = lower(word);
  std::string_view best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (size_t k = 0; k < lowered.size(); ++k) {
    const size_t n = lowered[k].size();
    if ((n > w.size() ? n - w.size() : w.size() - n) >= best_distance) continue;
    const size_t d = edit_distance(w, lowered[k], best_distance);
    if (d < best_distance) {
      best_distance = d;
      best = kOpInfo[k].name;
    }
  }
  return best;
}

// -- Operand ranges ---------------------------------------------------------------------

std::string range_error(const IntLiteral& v, OperandKind kind, std::string_view range) {
  return "value " + v.to_string() + " out of range for " + std::string(operand_kind_name(kind)) +
         " operand (" + std::string(range) + ")";
}

uint64_t unsigned_operand(const IntLiteral& v, OperandKind kind) {
  uint64_t max = operand_width(kind) >= 8 ? std::numeric_limits<uint64_t>::max()
                                          : (uint64_t{1} << (8 * operand_width(kind))) - 1;
  auto r = v.in_unsigned(max);
  if (!r) throw SyntaxError{range_error(v, kind, "0.." + std::to_string(max))};
  return *r;
}

uint64_t signed_operand(const IntLiteral& v, OperandKind kind, int64_t lo, int64_t hi) {
  auto r = v.in_signed(lo, hi);
  if (!r) {
    throw SyntaxError{range_error(v, kind, std::to_string(lo) + ".." + std::to_string(hi))};
  }
  return static_cast<uint64_t>(*r);
}

uint16_t u16_of(const IntLiteral& v, std::string_view what) {
  auto r = v.in_unsigned(std::numeric_limits<uint16_t>::max());
  if (!r) throw SyntaxError{std::string(what) + " " + v.to_string() + " out of range (0..65535)"};
  return static_cast<uint16_t>(*r);
}

bool is_int_word(const Token& t) { return t.kind == TokKind::Word && fasm::looks_int(t.text); }
bool is_ident_word(const Token& t) {
  return t.kind == TokKind::Word && fasm::is_identifier(t.text);
}

// -- Per-chunk state ----------------------------------------------------------------------

// A label position or a block/sub-chunk index, with the line that defined it.
struct Definition {
  uint64_t value;
  uint32_t line;
};

// An operand naming something that may be defined later in the chunk.
struct Fixup {
  size_t op;
  size_t operand;
  std::string name;
  uint32_t line;
};

struct OpenBlock {
  size_t index;
  std::string name;
  uint32_t line;
};

// One chunk being assembled: the top level or a `.chunk` body.
struct Context {
  Chunk chunk;
  std::unordered_map<std::string, uint16_t> name_index;  // first index of each name
  std::unordered_map<std::string, Definition> labels, blocks, chunks;
  std::vector<Fixup> label_refs, block_refs, chunk_refs;
  std::vector<OpenBlock> open_blocks;
  std::optional<uint32_t> next_line;                   // from `.line`
  std::optional<std::vector<uint32_t>> explicit_lines;  // from `.lines`
  std::string name;          // `.chunk` name (nested chunks only)
  uint32_t open_line = 0;    // line of the `.chunk` opener
  size_t parent_slot = 0;    // index in the parent's sub_chunks
  bool attached = false;     // false when the opener failed: the body is checked, then dropped
};

class Assembler {
 public:
  explicit Assembler(std::string_view file) : file_(file) { stack_.emplace_back(); }

  LoadResult run(std::string_view text) {
    try {
      size_t pos = 0;
      while (!stopped_) {
        size_t nl = text.find('\n', pos);
        std::string_view line =
            text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        if (line_ < std::numeric_limits<uint32_t>::max()) ++line_;
        process(line);
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
      }
      if (!stopped_) finish();
    } catch (const std::exception& e) {
      // Allocation failures and the like: still a diagnostic, never an escape.
      diags_.push_back(Diagnostic{file_, line_, std::string("cannot assemble: ") + e.what()});
    }
    LoadResult result;
    if (!diags_.empty() || !root_) {
      std::stable_sort(diags_.begin(), diags_.end(),
                       [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
      result.diagnostics = std::move(diags_);
      return result;
    }
    result.diagnostics = verify(*root_, file_);
    if (result.diagnostics.empty()) result.chunk = std::move(root_);
    return result;
  }

 private:
  Context& cur() { return stack_.back(); }

  void error(uint32_t line, std::string message) {
    if (stopped_) return;
    diags_.push_back(Diagnostic{file_, line, std::move(message)});
    if (diags_.size() >= kMaxDiagnostics) {
      diags_.push_back(Diagnostic{file_, line, "too many errors; stopping"});
      stopped_ = true;
    }
  }

  void process(std::string_view text) {
    fasm::LexedLine lexed = fasm::lex_line(text);
    if (!lexed.error.empty()) {
      error(line_, lexed.error);
      return;
    }
    if (lexed.tokens.empty()) return;
    try {
      statement(lexed.tokens);
    } catch (const SyntaxError& e) {
      error(line_, e.message);
    }
  }

  void statement(const std::vector<Token>& toks) {
    const Token& first = toks[0];
    if (first.kind == TokKind::Word && first.text.size() > 1 && first.text[0] == '.' &&
        !std::isdigit(static_cast<unsigned char>(first.text[1]))) {
      directive(toks);
      return;
    }
    size_t i = 0;
    while (i + 1 < toks.size() && toks[i].kind == TokKind::Word && toks[i + 1].is(':')) {
      define_label(toks[i].text);
      i += 2;
    }
    if (i < toks.size()) instruction(toks, i);
  }

  void define_label(const std::string& name) {
    if (!fasm::is_identifier(name)) {
      throw SyntaxError{"bad label " + fasm::show_token(Token{TokKind::Word, name}) +
                        " (labels are identifiers)"};
    }
    auto [it, inserted] = cur().labels.try_emplace(name, Definition{cur().chunk.ops.size(), line_});
    if (!inserted) {
      error(line_, "duplicate label '" + name + "' (first defined at line " +
                       std::to_string(it->second.line) + ")");
    }
  }

  // -- Pools ------------------------------------------------------------------------------

  uint16_t add_constant(Value v) {
    auto& pool = cur().chunk.constants;
    if (pool.size() >= kMaxPoolEntries) {
      throw SyntaxError{"too many constants (the pool holds 65536)"};
    }
    pool.push_back(std::move(v));
    return static_cast<uint16_t>(pool.size() - 1);
  }

  uint16_t intern(const std::string& name) {
    Context& c = cur();
    if (auto it = c.name_index.find(name); it != c.name_index.end()) return it->second;
    if (c.chunk.names.size() >= kMaxPoolEntries) {
      throw SyntaxError{"too many names (the pool holds 65536)"};
    }
    auto index = static_cast<uint16_t>(c.chunk.names.size());
    c.chunk.names.push_back(name);
    c.name_index.emplace(name, index);
    return index;
  }

  // `@ident`, `@"str"` (interned) or a raw name index.
  uint16_t name_operand(Cursor& c) {
    if (c.accept('@')) {
      const Token& t = c.next("name after '@'");
      if (t.kind == TokKind::String || is_ident_word(t)) return intern(t.text);
      throw SyntaxError{"expected an identifier or a string after '@', got " +
                        fasm::show_token(t)};
    }
    const Token& t = c.next("name operand");
    if (is_int_word(t)) {
      return u16_of(fasm::int_from_token(t, "name index"), "name index");
    }
    throw SyntaxError{"expected a name (@name, @\"name\" or an index), got " +
                      fasm::show_token(t)};
  }

  // -- Directives ---------------------------------------------------------------------------

  void directive(const std::vector<Token>& toks) {
    const std::string& d = toks[0].text;
    Cursor c(toks, 1, toks.size());
    if (d == ".const") {
      Value v = fasm::parse_literal(c);
      c.expect_end("the .const literal");
      add_constant(std::move(v));
    } else if (d == ".name" || d == ".dupname") {
      const Token& t = c.next(".name string");
      if (t.kind != TokKind::String && !is_ident_word(t)) {
        throw SyntaxError{d + " expects a string, got " + fasm::show_token(t)};
      }
      c.expect_end(d);
      if (d == ".name") {
        intern(t.text);
      } else {
        // Appends even if present, for chunks whose pool holds a name twice (the
        // interning map keeps pointing at the first copy).
        auto& names = cur().chunk.names;
        if (names.size() >= kMaxPoolEntries) throw SyntaxError{"too many names (the pool holds 65536)"};
        cur().name_index.try_emplace(t.text, static_cast<uint16_t>(names.size()));
        names.push_back(t.text);
      }
    } else if (d == ".sub") {
      sub_directive(c);
    } else if (d == ".block") {
      std::string name = block_name(c, ".block");
      c.expect_end(".block name");
      size_t start = cur().chunk.ops.size();
      size_t index = define_block(name, start, start);
      cur().open_blocks.push_back(OpenBlock{index, name, line_});
    } else if (d == ".blockrange") {
      std::string name = block_name(c, ".blockrange");
      uint64_t start = unsigned_operand(fasm::parse_int(c, ".blockrange start"), OperandKind::Target);
      c.expect(',', "between .blockrange start and end");
      uint64_t end = unsigned_operand(fasm::parse_int(c, ".blockrange end"), OperandKind::Target);
      c.expect_end(".blockrange");
      define_block(name, start, end);
    } else if (d == ".end") {
      c.expect_end(".end");
      end_directive();
    } else if (d == ".chunk") {
      std::string name = block_name(c, ".chunk");
      c.expect_end(".chunk name");
      open_chunk(name);
    } else if (d == ".source") {
      const Token& t = c.next(".source file name");
      if (t.kind != TokKind::String) {
        throw SyntaxError{".source expects a string, got " + fasm::show_token(t)};
      }
      c.expect_end(".source");
      cur().chunk.source = t.text;
    } else if (d == ".line") {
      IntLiteral v = fasm::parse_int(c, ".line");
      c.expect_end(".line");
      cur().next_line = static_cast<uint32_t>(line_number(v));
    } else if (d == ".lines") {
      std::vector<uint32_t> lines;
      if (!c.done()) {
        do {
          lines.push_back(line_number(fasm::parse_int(c, ".lines entry")));
        } while (c.accept(','));
      }
      c.expect_end(".lines");
      cur().explicit_lines = std::move(lines);
    } else {
      throw SyntaxError{"unknown directive " + fasm::show_token(toks[0])};
    }
  }

  static uint32_t line_number(const IntLiteral& v) {
    auto r = v.in_unsigned(std::numeric_limits<uint32_t>::max());
    if (!r) throw SyntaxError{"line number " + v.to_string() + " out of range (0..4294967295)"};
    return static_cast<uint32_t>(*r);
  }

  std::string block_name(Cursor& c, std::string_view directive) {
    const Token& t = c.next(std::string(directive) + " name");
    if (!is_ident_word(t)) {
      throw SyntaxError{std::string(directive) + " expects a name (an identifier), got " +
                        fasm::show_token(t)};
    }
    return t.text;
  }

  // `.sub NAME` or `.sub NAME @ IP`; NAME is an identifier, a string, @name or an index.
  void sub_directive(Cursor& c) {
    uint16_t name;
    const Token& t = c.peek_required("sub name");
    if (t.is('@')) {
      name = name_operand(c);
    } else if (t.kind == TokKind::String || is_ident_word(t)) {
      c.next("sub name");
      name = intern(t.text);
    } else {
      name = name_operand(c);
    }
    uint64_t ip = cur().chunk.ops.size();
    if (c.accept('@')) ip = unsigned_operand(fasm::parse_int(c, ".sub entry"), OperandKind::Target);
    c.expect_end(".sub");
    cur().chunk.sub_entries.emplace_back(name, ip);
  }

  size_t define_block(const std::string& name, uint64_t start, uint64_t end) {
    Context& c = cur();
    auto& ranges = c.chunk.block_ranges;
    if (ranges.size() >= kMaxPoolEntries) {
      throw SyntaxError{"too many block ranges (the pool holds 65536)"};
    }
    // A duplicate still gets its range, so the matching `.end` does not cascade errors.
    if (auto it = c.blocks.find(name); it != c.blocks.end()) {
      error(line_, "duplicate block name '" + name + "' (first defined at line " +
                       std::to_string(it->second.line) + ")");
    } else {
      c.blocks.emplace(name, Definition{ranges.size(), line_});
    }
    ranges.emplace_back(start, end);
    return ranges.size() - 1;
  }

  void end_directive() {
    Context& c = cur();
    if (!c.open_blocks.empty()) {
      c.chunk.block_ranges[c.open_blocks.back().index].second = c.chunk.ops.size();
      c.open_blocks.pop_back();
    } else if (stack_.size() > 1) {
      close_chunk();
    } else {
      throw SyntaxError{".end without a matching .block or .chunk"};
    }
  }

  void open_chunk(const std::string& name) {
    Context& parent = cur();
    bool attached = true;
    if (auto it = parent.chunks.find(name); it != parent.chunks.end()) {
      error(line_, "duplicate chunk name '" + name + "' (first defined at line " +
                       std::to_string(it->second.line) + ")");
      attached = false;
    } else if (stack_.size() > kMaxChunkDepth) {
      error(line_, "chunks nested too deeply (limit " + std::to_string(kMaxChunkDepth) + ")");
      attached = false;
    } else if (parent.chunk.sub_chunks.size() >= kMaxPoolEntries) {
      error(line_, "too many sub-chunks (the pool holds 65536)");
      attached = false;
    }
    size_t slot = parent.chunk.sub_chunks.size();
    if (attached) {
      parent.chunks.emplace(name, Definition{slot, line_});
      parent.chunk.sub_chunks.emplace_back();
    }
    // The body is still parsed (to report its own errors) even when not attached, and
    // a detached body never hangs below the parent, which bounds the tree's depth.
    Context child;
    child.name = name;
    child.open_line = line_;
    child.parent_slot = slot;
    child.attached = attached;
    stack_.push_back(std::move(child));
  }

  void close_chunk() {
    Context child = std::move(stack_.back());
    stack_.pop_back();
    Chunk built = finalize(child);
    if (child.attached) cur().chunk.sub_chunks[child.parent_slot] = std::move(built);
  }

  // -- Instructions -------------------------------------------------------------------------

  void instruction(const std::vector<Token>& toks, size_t first) {
    const Token& m = toks[first];
    if (!is_ident_word(m)) {
      throw SyntaxError{"expected an instruction, got " + fasm::show_token(m)};
    }
    Context& c = cur();
    auto code = op_from_name(m.text);
    if (!code) {
      std::string message = "unknown mnemonic '" + m.text + "'";
      if (m.text.size() <= kMaxSuggestLength) {
        message += " (did you mean '" + std::string(closest_mnemonic(m.text)) + "'?)";
      }
      error(line_, message);
      // A placeholder keeps later label positions where the author meant them.
      emit(Op());
      return;
    }
    const OpInfo& info = op_info(*code);
    std::vector<std::pair<size_t, size_t>> spans = split_operands(toks, first + 1);
    if (spans.size() != info.num_operands) {
      error(line_, std::string(info.name) + " takes " + std::to_string(info.num_operands) +
                       (info.num_operands == 1 ? " operand" : " operands") + ", got " +
                       std::to_string(spans.size()));
      emit(Op(*code));
      return;
    }
    Op op(*code);
    for (size_t k = 0; k < spans.size(); ++k) {
      // Each operand is checked on its own so one line can report several problems.
      try {
        if (spans[k].first == spans[k].second) {
          throw SyntaxError{"missing operand " + std::to_string(k + 1)};
        }
        Cursor cursor(toks, spans[k].first, spans[k].second);
        operand(cursor, info.kinds[k], op, k, c);
        cursor.expect_end("operand " + std::to_string(k + 1));
      } catch (const SyntaxError& e) {
        error(line_, std::string(info.name) + ": " + e.message);
      }
    }
    emit(op);
  }

  void emit(Op op) {
    Context& c = cur();
    c.chunk.ops.push_back(op);
    c.chunk.lines.push_back(c.next_line.value_or(line_));
    c.next_line.reset();
  }

  // Operand token spans [begin, end), split at commas outside brackets.
  static std::vector<std::pair<size_t, size_t>> split_operands(const std::vector<Token>& toks,
                                                               size_t begin) {
    std::vector<std::pair<size_t, size_t>> spans;
    if (begin >= toks.size()) return spans;
    size_t depth = 0, start = begin;
    for (size_t i = begin; i < toks.size(); ++i) {
      const Token& t = toks[i];
      if (t.is('[') || t.is('{') || t.is('(')) {
        ++depth;
      } else if ((t.is(']') || t.is('}') || t.is(')')) && depth > 0) {
        --depth;
      } else if (t.is(',') && depth == 0) {
        spans.emplace_back(start, i);
        start = i + 1;
      }
    }
    spans.emplace_back(start, toks.size());
    return spans;
  }

  void operand(Cursor& c, OperandKind kind, Op& op, size_t k, Context& ctx) {
    size_t op_index = ctx.chunk.ops.size();
    auto symbolic = [&](std::optional<uint8_t> (*from_name)(std::string_view),
                        std::string_view what) -> uint64_t {
      const Token& t = c.next(std::string(what));
      if (is_int_word(t)) {
        return unsigned_operand(fasm::int_from_token(t, what), kind);
      }
      if (t.kind == TokKind::Word) {
        if (auto code = from_name(t.text)) return *code;
      }
      throw SyntaxError{"unknown " + std::string(what) + " " + fasm::show_token(t)};
    };
    // A name defined anywhere in the chunk, or a raw index.
    auto reference = [&](std::vector<Fixup>& refs, std::string_view what) -> uint64_t {
      const Token& t = c.next(std::string(what));
      if (is_int_word(t)) {
        return unsigned_operand(fasm::int_from_token(t, what), kind);
      }
      if (is_ident_word(t)) {
        refs.push_back(Fixup{op_index, k, t.text, line_});
        return 0;
      }
      throw SyntaxError{"expected a " + std::string(what) + " name or index, got " +
                        fasm::show_token(t)};
    };
    uint64_t raw = 0;
    switch (kind) {
      case OperandKind::I64:
        raw = signed_operand(fasm::parse_int(c, "integer operand"), kind,
                             std::numeric_limits<int64_t>::min(),
                             std::numeric_limits<int64_t>::max());
        break;
      case OperandKind::F64: {
        double f = fasm::parse_float_operand(c);
        std::memcpy(&raw, &f, 8);
        break;
      }
      case OperandKind::Limit:
        raw = signed_operand(fasm::parse_int(c, "limit"), kind,
                             std::numeric_limits<int32_t>::min(),
                             std::numeric_limits<int32_t>::max());
        break;
      case OperandKind::Const:
        if (c.accept('#')) {
          raw = unsigned_operand(fasm::parse_int(c, "constant index after '#'"), kind);
        } else {
          raw = add_constant(fasm::parse_literal(c));
        }
        break;
      case OperandKind::Name: raw = name_operand(c); break;
      case OperandKind::Target: raw = reference(ctx.label_refs, "label"); break;
      case OperandKind::Block: raw = reference(ctx.block_refs, "block"); break;
      case OperandKind::SubChunk: raw = reference(ctx.chunk_refs, "chunk"); break;
      case OperandKind::FileTest: raw = symbolic(&file_test::from_name, "file test"); break;
      case OperandKind::RedirOp: raw = symbolic(&redirect_op::from_name, "redirect op"); break;
      case OperandKind::ParamMod: raw = symbolic(&param_mod::from_name, "param mod"); break;
      default:
        raw = unsigned_operand(fasm::parse_int(c, operand_kind_name(kind)), kind);
        break;
    }
    op.set_raw_operand(k, raw);
  }

  // -- End of a chunk -----------------------------------------------------------------------

  Chunk finalize(Context& c) {
    for (const OpenBlock& b : c.open_blocks) {
      error(b.line, "missing .end for .block '" + b.name + "'");
    }
    auto resolve = [&](const std::vector<Fixup>& refs,
                       const std::unordered_map<std::string, Definition>& defs,
                       std::string_view what) {
      for (const Fixup& f : refs) {
        auto it = defs.find(f.name);
        if (it == defs.end()) {
          error(f.line, std::string(what) + " '" + f.name + "'");
          continue;
        }
        c.chunk.ops[f.op].set_raw_operand(f.operand, it->second.value);
      }
    };
    resolve(c.label_refs, c.labels, "undefined label");
    resolve(c.block_refs, c.blocks, "unknown block");
    resolve(c.chunk_refs, c.chunks, "unknown chunk");
    if (c.explicit_lines) c.chunk.lines = std::move(*c.explicit_lines);
    c.chunk.op_hash = c.chunk.compute_op_hash();
    return std::move(c.chunk);
  }

  void finish() {
    while (stack_.size() > 1) {
      error(cur().open_line, "missing .end for .chunk '" + cur().name + "'");
      close_chunk();
    }
    root_ = finalize(stack_.front());
  }

  std::string file_;
  uint32_t line_ = 0;
  std::vector<Context> stack_;
  std::vector<Diagnostic> diags_;
  std::optional<Chunk> root_;
  bool stopped_ = false;
};

}  // namespace

LoadResult assemble(std::string_view text, std::string_view file) {
  return Assembler(file).run(text);
}

}  // namespace fusevm
