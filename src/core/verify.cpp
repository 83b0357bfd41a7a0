// The chunk verifier (ARCHITECTURE §9 "Errors"): operand, target, pool and range checks.
#include <string>

#include "core/verify_located.hpp"
#include "fusevm/asm.hpp"

namespace fusevm {

namespace {

std::string plural(uint64_t n, std::string_view noun) {
  std::string s = std::to_string(n) + " " + std::string(noun);
  if (n != 1) s += "s";
  return s;
}

class Verifier {
 public:
  Verifier(std::string_view file, std::vector<Diagnostic>& out) : file_(file), out_(out) {}

  // `prefix` names the sub-chunk path ("sub-chunk 2: sub-chunk 0: ") for nested chunks;
  // `where`, when a loader supplies it, gives the file position of each part.
  void check(const Chunk& chunk, const std::string& prefix, const ChunkLocations* where) {
    where_ = where;
    bool lines_ok = chunk.lines.empty() || chunk.lines.size() == chunk.ops.size();
    if (!lines_ok) {
      report(located(where ? where->lines_field : 0), prefix,
             "lines has " + std::to_string(chunk.lines.size()) + " entries but there are " +
                 plural(chunk.ops.size(), "op"));
    }
    for (size_t i = 0; i < chunk.ops.size(); ++i) check_op(chunk, i, lines_ok, prefix);
    check_sub_entries(chunk, prefix);
    check_block_ranges(chunk, prefix);
    for (size_t k = 0; k < chunk.sub_chunks.size(); ++k) {
      const ChunkLocations* sub = where && k < where->subs.size() ? &where->subs[k] : nullptr;
      check(chunk.sub_chunks[k], prefix + "sub-chunk " + std::to_string(k) + ": ", sub);
      where_ = where;
    }
  }

 private:
  // Diagnostic line of op i: the loader's position when it gave one; else its source
  // line when the chunk records one (lines present and non-zero); else the 1-based op
  // index, so binary chunks still point somewhere.
  uint32_t op_line(const Chunk& chunk, size_t i, bool lines_ok) const {
    if (where_ && i < where_->ops.size() && where_->ops[i] != 0) return where_->ops[i];
    if (lines_ok && !chunk.lines.empty() && chunk.lines[i] != 0) return chunk.lines[i];
    return static_cast<uint32_t>(i + 1);
  }

  // Line of a chunk-level finding: the part's position, else the chunk's start, else 0
  // (no place: printed as `file: message`).
  uint32_t located(uint32_t line) const {
    if (line != 0) return line;
    return where_ ? where_->chunk : 0;
  }
  static uint32_t at(const std::vector<uint32_t>* lines, size_t k) {
    return lines && k < lines->size() ? (*lines)[k] : 0;
  }

  // Chunk-level findings (lines, sub entries, block ranges) have no op: line 0.
  void report(uint32_t line, const std::string& prefix, std::string message) {
    out_.push_back(Diagnostic{file_, line, prefix + message});
  }

  void check_op(const Chunk& chunk, size_t i, bool lines_ok, const std::string& prefix) {
    const Op& op = chunk.ops[i];
    uint32_t line = op_line(chunk, i, lines_ok);
    auto code = static_cast<size_t>(op.code());
    if (code >= kNumOps) {
      report(line, prefix, "op " + std::to_string(i) + ": unknown opcode " + std::to_string(code));
      return;
    }
    const OpInfo& info = op_info(op.code());
    std::string where = "op " + std::to_string(i) + " (" + std::string(info.name) + "): ";
    for (size_t k = 0; k < info.num_operands; ++k) {
      uint64_t v = op.raw_operand(k);
      std::string operand(info.operand_names[k]);
      auto out_of_range = [&](size_t pool_size, std::string_view noun) {
        if (v >= pool_size) {
          report(line, prefix, where + operand + " " + std::to_string(v) + " out of range (" +
                                   plural(pool_size, noun) + ")");
        }
      };
      switch (info.kinds[k]) {
        case OperandKind::Target:
          // Equal to ops.size() means "end of chunk" and is legal.
          if (v > chunk.ops.size()) {
            report(line, prefix, where + operand + " " + std::to_string(v) + " past end (" +
                                     plural(chunk.ops.size(), "op") + ")");
          }
          break;
        case OperandKind::Const: out_of_range(chunk.constants.size(), "constant"); break;
        case OperandKind::Name: out_of_range(chunk.names.size(), "name"); break;
        case OperandKind::Block: out_of_range(chunk.block_ranges.size(), "block range"); break;
        case OperandKind::SubChunk: out_of_range(chunk.sub_chunks.size(), "sub-chunk"); break;
        // Slots, counts, ids and the shell codes have no static bound: unknown
        // FileTest/RedirOp/ParamMod codes have defined run-time behaviour (spec/ops.md §20–21).
        default: break;
      }
    }
  }

  void check_sub_entries(const Chunk& chunk, const std::string& prefix) {
    for (size_t k = 0; k < chunk.sub_entries.size(); ++k) {
      auto [name, ip] = chunk.sub_entries[k];
      std::string where = "sub entry " + std::to_string(k) + ": ";
      uint32_t line = located(at(where_ ? &where_->sub_entries : nullptr, k));
      if (name >= chunk.names.size()) {
        report(line, prefix, where + "name " + std::to_string(name) + " out of range (" +
                              plural(chunk.names.size(), "name") + ")");
      }
      if (ip > chunk.ops.size()) {
        report(line, prefix, where + "entry " + std::to_string(ip) + " past end (" +
                              plural(chunk.ops.size(), "op") + ")");
      }
    }
  }

  void check_block_ranges(const Chunk& chunk, const std::string& prefix) {
    for (size_t k = 0; k < chunk.block_ranges.size(); ++k) {
      auto [start, end] = chunk.block_ranges[k];
      std::string where = "block range " + std::to_string(k) + ": ";
      uint32_t line = located(at(where_ ? &where_->block_ranges : nullptr, k));
      if (start > end) {
        report(line, prefix, where + "start " + std::to_string(start) + " after end " +
                              std::to_string(end));
      }
      if (end > chunk.ops.size()) {
        report(line, prefix, where + "end " + std::to_string(end) + " past end (" +
                              plural(chunk.ops.size(), "op") + ")");
      }
    }
  }

  std::string file_;
  std::vector<Diagnostic>& out_;
  const ChunkLocations* where_ = nullptr;
};

}  // namespace

std::vector<Diagnostic> verify(const Chunk& chunk, std::string_view file) {
  std::vector<Diagnostic> out;
  Verifier(file, out).check(chunk, "", nullptr);
  return out;
}

std::vector<Diagnostic> verify_located(const Chunk& chunk, std::string_view file,
                                       const ChunkLocations& where) {
  std::vector<Diagnostic> out;
  Verifier(file, out).check(chunk, "", &where);
  return out;
}

}  // namespace fusevm
