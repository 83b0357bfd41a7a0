// Lowering Chunk::ops into decoded streams (operands unpacked, targets and constants resolved).
#include "vm/code.hpp"

namespace fusevm {

const Insn* CodeStream::at(uint64_t ip) const {
  if (block < 0) return ip < len ? &code[ip] : &code[len];
  if (ip >= ip_base && ip < ip_base + len) return &code[ip - ip_base];
  if (ip == ip_base + len) return &code[len];
  return &code[len + 1];
}

void CodeSet::build(const Chunk& chunk, bool fuse) {
  fuse_ = fuse;
  blocks_.clear();
  fixed_[kMain] = CodeStream{};
  fixed_[kMain].index = kMain;
  CodeStream& stub = fixed_[kCallStub];
  stub = CodeStream{};
  stub.index = kCallStub;
  stub.code.push_back(Insn{static_cast<uint16_t>(XOp::CallReturn), 0, 0, 0, {0}});
  stub.len = 0;
  // The main stream is lowered first: Call targets in block streams point into it.
  lower(chunk, fixed_[kMain], 0, chunk.ops.size());
  block_stream_.assign(chunk.block_ranges.size(), -1);
  exec_entries_.clear();
  exec_built_ = false;
}

const uint64_t* CodeSet::exec_entry(const Chunk& chunk, const std::string& name) {
  if (!exec_built_) {  // on first use: most programs never Exec, and a new VM should be cheap
    exec_built_ = true;
    for (size_t n = 0; n < chunk.names.size(); ++n) {
      // Exec looks a command up by the FIRST name-pool entry equal to it (spec/ops.md §20.1).
      if (exec_entries_.count(chunk.names[n]) != 0) continue;
      auto entry = chunk.find_sub(static_cast<uint16_t>(n));
      exec_entries_.emplace(chunk.names[n], entry.value_or(UINT64_MAX));
    }
    std::erase_if(exec_entries_, [](const auto& e) { return e.second == UINT64_MAX; });
  }
  auto it = exec_entries_.find(name);
  return it == exec_entries_.end() ? nullptr : &it->second;
}

CodeStream& CodeSet::block(const Chunk& chunk, uint16_t b) {
  if (block_stream_[b] >= 0) return stream(static_cast<uint32_t>(block_stream_[b]));
  auto s = std::make_unique<CodeStream>();
  s->index = static_cast<uint32_t>(blocks_.size() + 2);
  s->block = b;
  const auto& [start, end] = chunk.block_ranges[b];
  lower(chunk, *s, start, end);
  block_stream_[b] = static_cast<int32_t>(s->index);
  blocks_.push_back(std::move(s));
  return *blocks_.back();
}

void CodeSet::lower(const Chunk& chunk, CodeStream& s, uint64_t start, uint64_t end) {
  const bool is_block = s.block >= 0;
  end = std::min<uint64_t>(end, chunk.ops.size());
  if (start > end) start = end;
  s.ip_base = start;
  s.len = end - start;
  s.code.assign(s.len + (is_block ? 2 : 1), Insn{});
  Insn* base = s.code.data();
  const CodeStream& main = fixed_[kMain];
  auto resolve = [&](uint64_t target) -> const Insn* { return s.at(target); };
  for (uint64_t k = 0; k < s.len; ++k) {
    const Op& op = chunk.ops[start + k];
    Insn& in = base[k];
    in.op = static_cast<uint16_t>(op.code());
    in.a = op.small(0);
    in.b = op.small(1);
    in.c = op.small(2);
    in.w.u = op.wide();
    switch (op.code()) {
      case OpCode::Jump: case OpCode::JumpIfTrue: case OpCode::JumpIfFalse:
      case OpCode::JumpIfTrueKeep: case OpCode::JumpIfFalseKeep:
        in.w.target = resolve(op.target());
        break;
      case OpCode::SlotLtIntJumpIfFalse: case OpCode::SlotIncLtIntJumpBack: {
        const uint32_t lim = static_cast<uint32_t>(op.limit());
        in.b = static_cast<uint16_t>(lim & 0xffff);
        in.c = static_cast<uint16_t>(lim >> 16);
        in.w.target = resolve(op.target());
        break;
      }
      case OpCode::AccumSumLoop: case OpCode::ConcatConstLoop: case OpCode::PushIntRangeLoop:
        in.w.i = op.limit();
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
          in.w.u = static_cast<uint64_t>(op.code());
        }
        break;
      default:
        break;
    }
  }
  s.code[s.len].op = static_cast<uint16_t>(is_block ? XOp::BlockEnd : XOp::End);
  if (is_block) s.code[s.len + 1].op = static_cast<uint16_t>(XOp::BlockEscape);
  if (fuse_) fuse_stream(s);
}

namespace {

bool is_cmp(uint16_t op) {
  return op >= static_cast<uint16_t>(OpCode::NumEq) && op <= static_cast<uint16_t>(OpCode::NumGe);
}
bool is_arith(uint16_t op) {
  return op == static_cast<uint16_t>(OpCode::Add) || op == static_cast<uint16_t>(OpCode::Sub) ||
         op == static_cast<uint16_t>(OpCode::Mul);
}
bool is_cond_jump(uint16_t op) {
  return op == static_cast<uint16_t>(OpCode::JumpIfTrue) ||
         op == static_cast<uint16_t>(OpCode::JumpIfFalse);
}
bool is(uint16_t op, OpCode c) { return op == static_cast<uint16_t>(c); }

// Outcome mask of a comparison followed by a conditional jump: bit (d + 1) is set when
// the jump is taken for d = sign(x - y) in {-1, 0, 1}, so the handler needs no switch.
uint16_t jump_mask(uint16_t cmp, uint16_t jump) {
  uint16_t m = 0;
  switch (static_cast<OpCode>(cmp)) {
    case OpCode::NumEq: m = 0b010; break;
    case OpCode::NumNe: m = 0b101; break;
    case OpCode::NumLt: m = 0b001; break;
    case OpCode::NumGt: m = 0b100; break;
    case OpCode::NumLe: m = 0b011; break;
    default: m = 0b110; break;  // NumGe
  }
  return is(jump, OpCode::JumpIfTrue) ? m : static_cast<uint16_t>(m ^ 0b111);
}

}  // namespace

// Decode-time superinstructions for the sequences frontends emit most for statements
// such as `if i < n`, `x = a + b` and `f(n - 1)` (pair counts over bench/*.fasm: GetSlot
// → LoadInt, LoadInt → NumLt/Sub, NumLt → JumpIfFalse, GetSlot → GetSlot → Add lead).
// They change nothing observable: the fast path runs only on Int operands with stack
// room, anything else runs the first op alone and continues into the unfused ops kept
// behind it. Equivalence is tested op for op in tests/unit/fused_decode_test.cpp.
void CodeSet::fuse_stream(CodeStream& s) {
  Insn* c = s.code.data();
  const uint64_t n = s.len;
  auto op = [&](uint64_t k) -> uint16_t { return k < n ? c[k].op : 0xffff; };
  for (uint64_t k = 0; k < n; ++k) {
    const uint16_t o0 = op(k), o1 = op(k + 1), o2 = op(k + 2), o3 = op(k + 3);
    if (is(o0, OpCode::GetSlot) && is(o1, OpCode::GetSlot) && is_arith(o2) &&
        is(o3, OpCode::SetSlot)) {
      // a = first slot, b = second slot, c = destination, w = arith op
      const uint16_t dst = c[k + 3].a;
      c[k].op = static_cast<uint16_t>(XOp::SlotSlotArithStore);
      c[k].b = c[k + 1].a;
      c[k].c = dst;
      c[k].w.u = o2;
    } else if (is(o0, OpCode::GetSlot) && is(o1, OpCode::LoadInt) && is_cmp(o2) &&
               is_cond_jump(o3)) {
      // a = slot, b = jump mask, w = k; the target is read from the kept jump op
      c[k].op = static_cast<uint16_t>(XOp::SlotCmpImmJump);
      c[k].b = jump_mask(o2, o3);
      c[k].w.i = c[k + 1].w.i;
    } else if (is(o0, OpCode::GetSlot) && is(o1, OpCode::LoadInt) && is_arith(o2)) {
      c[k].op = static_cast<uint16_t>(XOp::SlotArithImm);
      c[k].b = o2;
      c[k].w.i = c[k + 1].w.i;
    } else if (is(o0, OpCode::GetSlot) && is(o1, OpCode::GetSlot) && is_arith(o2)) {
      c[k].op = static_cast<uint16_t>(XOp::SlotSlotArith);
      c[k].b = c[k + 1].a;
      c[k].c = o2;
    } else if (is(o0, OpCode::GetSlot) && is_arith(o1) && is(o2, OpCode::SetSlot)) {
      c[k].op = static_cast<uint16_t>(XOp::StackSlotArithStore);
      c[k].b = o1;
      c[k].c = c[k + 2].a;
    } else if (is(o0, OpCode::GetSlot) && is_arith(o1)) {
      c[k].op = static_cast<uint16_t>(XOp::StackSlotArith);
      c[k].b = o1;
    } else if (is_cmp(o0) && is_cond_jump(o1)) {
      // b = jump mask, c = the comparison (for the slow path's generic compare)
      c[k].op = static_cast<uint16_t>(XOp::CmpJump);
      c[k].b = jump_mask(o0, o1);
      c[k].c = o0;
    }
  }
}

}  // namespace fusevm
