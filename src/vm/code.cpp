// Lowering Chunk::ops into decoded streams (operands unpacked, targets and constants resolved).
#include "vm/code.hpp"

namespace fusevm {

const Insn* CodeStream::at(uint64_t ip) const {
  if (block < 0) return ip < len ? &code[ip] : &code[len];
  if (ip >= ip_base && ip < ip_base + len) return &code[ip - ip_base];
  if (ip == ip_base + len) return &code[len];
  return &code[len + 1];
}

void CodeSet::build(const Chunk& chunk) {
  streams_.clear();
  auto main = std::make_unique<CodeStream>();
  main->index = kMain;
  streams_.push_back(std::move(main));
  auto stub = std::make_unique<CodeStream>();
  stub->index = kCallStub;
  stub->code.push_back(Insn{static_cast<uint16_t>(XOp::CallReturn), 0, 0, 0, 0, 0, {0}});
  stub->len = 0;
  streams_.push_back(std::move(stub));
  // The main stream is lowered first: Call targets in block streams point into it.
  lower(chunk, *streams_[kMain], 0, chunk.ops.size());
  block_stream_.assign(chunk.block_ranges.size(), -1);
  exec_entries_.clear();
  for (size_t n = 0; n < chunk.names.size(); ++n) {
    // Exec looks a command up by the FIRST name-pool entry equal to it (spec/ops.md §20.1).
    if (exec_entries_.count(chunk.names[n]) != 0) continue;
    auto entry = chunk.find_sub(static_cast<uint16_t>(n));
    if (entry) exec_entries_.emplace(chunk.names[n], *entry);
    else exec_entries_.emplace(chunk.names[n], UINT64_MAX);
  }
  for (auto it = exec_entries_.begin(); it != exec_entries_.end();) {
    if (it->second == UINT64_MAX) it = exec_entries_.erase(it);
    else ++it;
  }
}

CodeStream& CodeSet::block(const Chunk& chunk, uint16_t b) {
  if (block_stream_[b] >= 0) return *streams_[block_stream_[b]];
  auto s = std::make_unique<CodeStream>();
  s->index = static_cast<uint32_t>(streams_.size());
  s->block = b;
  const auto& [start, end] = chunk.block_ranges[b];
  lower(chunk, *s, start, end);
  block_stream_[b] = static_cast<int32_t>(s->index);
  streams_.push_back(std::move(s));
  return *streams_.back();
}

void CodeSet::lower(const Chunk& chunk, CodeStream& s, uint64_t start, uint64_t end) {
  const bool is_block = s.block >= 0;
  end = std::min<uint64_t>(end, chunk.ops.size());
  if (start > end) start = end;
  s.ip_base = start;
  s.len = end - start;
  s.code.assign(s.len + (is_block ? 2 : 1), Insn{});
  Insn* base = s.code.data();
  const CodeStream& main = *streams_[kMain];
  auto resolve = [&](uint64_t target) -> const Insn* { return s.at(target); };
  for (uint64_t k = 0; k < s.len; ++k) {
    const Op& op = chunk.ops[start + k];
    Insn& in = base[k];
    in.op = static_cast<uint16_t>(op.code());
    in.a = op.small(0);
    in.b = op.small(1);
    in.c = op.small(2);
    in.limit = op.limit();
    in.aux = 0;
    in.w.u = op.wide();
    switch (op.code()) {
      case OpCode::Jump: case OpCode::JumpIfTrue: case OpCode::JumpIfFalse:
      case OpCode::JumpIfTrueKeep: case OpCode::JumpIfFalseKeep:
      case OpCode::SlotLtIntJumpIfFalse: case OpCode::SlotIncLtIntJumpBack:
        in.w.target = resolve(op.target());
        break;
      case OpCode::LoadConst:
        if (op.small(0) < chunk.constants.size()) {
          in.w.konst = &chunk.constants[op.small(0)];
        } else {
          in.op = static_cast<uint16_t>(XOp::LoadUndef);  // out of range reads Undef
        }
        break;
      case OpCode::Call: {
        auto entry = chunk.find_sub(op.small(0));
        if (entry) {
          // Sub bodies live in the main stream, whichever stream the Call sits in.
          in.w.target = main.at(*entry);
        } else {
          in.op = static_cast<uint16_t>(XOp::CallUndefined);
        }
        break;
      }
      case OpCode::Return: case OpCode::ReturnValue: case OpCode::PushFrame:
      case OpCode::PopFrame:
        if (is_block) {
          in.op = static_cast<uint16_t>(XOp::BlockBadOp);
          in.aux = static_cast<uint32_t>(op.code());
        }
        break;
      default:
        break;
    }
  }
  s.code[s.len].op = static_cast<uint16_t>(is_block ? XOp::BlockEnd : XOp::End);
  if (is_block) s.code[s.len + 1].op = static_cast<uint16_t>(XOp::BlockEscape);
}

}  // namespace fusevm
