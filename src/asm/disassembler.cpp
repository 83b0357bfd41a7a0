// The .fasm disassembler: text that assemble() turns back into an identical chunk.
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "asm/lexer.hpp"
#include "asm/literal.hpp"
#include "fusevm/asm.hpp"

namespace fusevm {

namespace {

// `tag` followed by the decimal number.
std::string prefixed(char tag, uint64_t n) {
  std::string s(1, tag);
  s += std::to_string(n);
  return s;
}

// One `.block` opener or `.end` written before the op at some position.
struct BlockEvent {
  bool open;
  size_t index;
};

// Writes block ranges as nested `.block`/`.end` pairs when that reproduces the list
// exactly: the assembler numbers blocks by opener order and records [opener position,
// closer position), so the ranges must start in index order and close in LIFO order.
// Returns the events per position 0..ops.size(), or nullopt when the ranges overlap,
// are out of order or out of bounds (then the caller writes `.blockrange` lines).
std::optional<std::vector<std::vector<BlockEvent>>> plan_blocks(const Chunk& c) {
  const auto& ranges = c.block_ranges;
  size_t n = c.ops.size();
  for (size_t k = 0; k < ranges.size(); ++k) {
    if (ranges[k].first > ranges[k].second || ranges[k].second > n) return std::nullopt;
    if (k > 0 && ranges[k].first < ranges[k - 1].first) return std::nullopt;
  }
  std::vector<std::vector<BlockEvent>> events(n + 1);
  std::vector<size_t> open;
  size_t next = 0;
  for (size_t p = 0; p <= n; ++p) {
    auto close_ending_here = [&] {
      while (!open.empty() && ranges[open.back()].second == p) {
        events[p].push_back(BlockEvent{false, open.back()});
        open.pop_back();
      }
    };
    close_ending_here();
    while (next < ranges.size() && ranges[next].first == p) {
      events[p].push_back(BlockEvent{true, next});
      open.push_back(next++);
      close_ending_here();
    }
    // A range ending here but buried under one that ends later cannot be closed.
    for (size_t k : open) {
      if (ranges[k].second <= p) return std::nullopt;
    }
  }
  return events;
}

class Disassembler {
 public:
  std::string run(const Chunk& chunk) {
    emit("", "; fusevm disassembly (docs/fasm.md): assembles back to an identical chunk");
    write_chunk(chunk, 0);
    return std::move(out_);
  }

 private:
  void emit(const std::string& indent, const std::string& text) {
    out_ += indent;
    out_ += text;
    out_ += '\n';
    ++next_line_;
  }

  // -- Per-chunk naming ---------------------------------------------------------------------

  struct Names {
    const Chunk& chunk;
    std::unordered_map<std::string, size_t> first;  // first index of each name

    // Whether `@name` (interned by the assembler) reaches exactly index i.
    bool by_name(size_t i) const {
      return i < chunk.names.size() && first.at(chunk.names[i]) == i;
    }
    std::string operand(size_t i) const {
      if (!by_name(i)) return std::to_string(i);
      const std::string& s = chunk.names[i];
      return "@" + (fasm::is_identifier(s) ? s : fasm::quote_string(s));
    }
    std::string sub_name(size_t i) const {
      if (!by_name(i)) return std::to_string(i);
      const std::string& s = chunk.names[i];
      return fasm::is_identifier(s) ? s : fasm::quote_string(s);
    }
  };

  static std::string operand_text(const Chunk& c, const Names& names, const Op& op, size_t k,
                                  OperandKind kind) {
    uint64_t raw = op.raw_operand(k);
    if (std::optional<std::string> number = fasm::print_number_operand(kind, raw)) return *number;
    switch (kind) {
      case OperandKind::Const: return prefixed('#', raw);
      case OperandKind::Name: return names.operand(raw);
      case OperandKind::Block:
        return raw < c.block_ranges.size() ? prefixed('B', raw) : std::to_string(raw);
      case OperandKind::SubChunk:
        return raw < c.sub_chunks.size() ? prefixed('C', raw) : std::to_string(raw);
      case OperandKind::Target:
        return raw <= c.ops.size() ? prefixed('L', raw) : std::to_string(raw);
      case OperandKind::FileTest: return symbolic(file_test::name(static_cast<uint8_t>(raw)), raw);
      case OperandKind::RedirOp: return symbolic(redirect_op::name(static_cast<uint8_t>(raw)), raw);
      case OperandKind::ParamMod: return symbolic(param_mod::name(static_cast<uint8_t>(raw)), raw);
      default: return std::to_string(raw);
    }
  }

  static std::string symbolic(std::string_view name, uint64_t raw) {
    return name.empty() ? std::to_string(raw) : std::string(name);
  }

  static std::string op_text(const Chunk& c, const Names& names, const Op& op) {
    auto code = static_cast<size_t>(op.code());
    // Not expressible; written as an unknown mnemonic so re-assembly fails loudly.
    if (code >= kNumOps) return "InvalidOpcode" + std::to_string(code);
    const OpInfo& info = op.info();
    std::string text(info.name);
    for (size_t k = 0; k < info.num_operands; ++k) {
      text += k == 0 ? " " : ", ";
      text += operand_text(c, names, op, k, info.kinds[k]);
    }
    return text;
  }

  // -- One chunk ------------------------------------------------------------------------------

  void write_chunk(const Chunk& c, size_t depth) {
    const std::string ind(2 * depth, ' ');
    const std::string op_ind = ind + "    ";
    const size_t n = c.ops.size();
    if (!c.source.empty()) emit(ind, ".source " + fasm::quote_string(c.source));

    Names names{c, {}};
    for (size_t i = 0; i < c.names.size(); ++i) {
      bool first = names.first.try_emplace(c.names[i], i).second;
      emit(ind, (first ? ".name " : ".dupname ") + fasm::quote_string(c.names[i]) + "  ; @" +
                    std::to_string(i));
    }
    for (size_t i = 0; i < c.constants.size(); ++i) {
      emit(ind, ".const " + fasm::print_literal(c.constants[i]) + "  ; #" + std::to_string(i));
    }

    // lines[] parallel to ops is written per op; any other shape as one explicit table.
    bool per_op_lines = c.lines.size() == n;
    if (!per_op_lines) {
      std::string text = ".lines";
      for (size_t i = 0; i < c.lines.size(); ++i) {
        text += i == 0 ? " " : ", ";
        text += std::to_string(c.lines[i]);
      }
      emit(ind, text);
    }

    auto block_events = plan_blocks(c);
    if (!block_events) {
      for (size_t k = 0; k < c.block_ranges.size(); ++k) {
        emit(ind, ".blockrange B" + std::to_string(k) + " " +
                      std::to_string(c.block_ranges[k].first) + ", " +
                      std::to_string(c.block_ranges[k].second));
      }
    }

    // `.sub NAME` records the next op's index in directive order, so inline entries work
    // only for a list sorted by entry within bounds; otherwise every entry is explicit.
    bool inline_subs = true;
    for (size_t i = 0; i < c.sub_entries.size(); ++i) {
      if (c.sub_entries[i].second > n ||
          (i > 0 && c.sub_entries[i].second < c.sub_entries[i - 1].second)) {
        inline_subs = false;
      }
    }
    if (!inline_subs) {
      for (const auto& [name, ip] : c.sub_entries) {
        emit(ind, ".sub " + names.sub_name(name) + " @ " + std::to_string(ip));
      }
    }

    std::vector<bool> targeted(n + 1, false);
    for (const Op& op : c.ops) {
      if (static_cast<size_t>(op.code()) < kNumOps && op.has_target() && op.target() <= n) {
        targeted[op.target()] = true;
      }
    }

    size_t next_sub = 0;
    for (size_t p = 0; p <= n; ++p) {
      // Blocks ending here close first, then the label, sub entries and openers, so the
      // label sits inside the blocks that contain its op (all of them record positions
      // only, so the order is a matter of reading).
      const std::vector<BlockEvent> none;
      const std::vector<BlockEvent>& events = block_events ? (*block_events)[p] : none;
      size_t e = 0;
      for (; e < events.size() && !events[e].open; ++e) emit(ind, ".end");
      if (targeted[p]) emit(ind, "L" + std::to_string(p) + ":");
      while (inline_subs && next_sub < c.sub_entries.size() && c.sub_entries[next_sub].second == p) {
        emit(ind, ".sub " + names.sub_name(c.sub_entries[next_sub].first));
        ++next_sub;
      }
      for (; e < events.size(); ++e) {
        emit(ind, events[e].open ? ".block B" + std::to_string(events[e].index) : ".end");
      }
      if (p == n) break;
      if (per_op_lines && c.lines[p] != next_line_) emit(op_ind, ".line " + std::to_string(c.lines[p]));
      emit(op_ind, op_text(c, names, c.ops[p]));
    }

    for (size_t k = 0; k < c.sub_chunks.size(); ++k) {
      emit(ind, ".chunk C" + std::to_string(k));
      write_chunk(c.sub_chunks[k], depth + 1);
      emit(ind, ".end");
    }
  }

  std::string out_;
  uint64_t next_line_ = 1;  // physical line number of the next line written
};

}  // namespace

std::string disassemble(const Chunk& chunk) { return Disassembler().run(chunk); }

}  // namespace fusevm
