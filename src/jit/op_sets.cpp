// Op admission sets of the JIT tiers, as listed in spec/jit.md.
#include "jit/op_sets.hpp"

#include <algorithm>

namespace fusevm::jit {

bool in_universal_set(OpCode code) {
  switch (code) {
    case OpCode::Nop: case OpCode::LoadInt: case OpCode::LoadFloat: case OpCode::LoadConst:
    case OpCode::LoadTrue: case OpCode::LoadFalse: case OpCode::LoadUndef: case OpCode::Pop:
    case OpCode::Dup: case OpCode::Dup2: case OpCode::Swap: case OpCode::Rot:
    case OpCode::GetVar: case OpCode::SetVar: case OpCode::DeclareVar: case OpCode::GetSlot:
    case OpCode::SetSlot: case OpCode::Add: case OpCode::Sub: case OpCode::Mul: case OpCode::Div:
    case OpCode::Mod: case OpCode::Pow: case OpCode::Negate: case OpCode::Inc: case OpCode::Dec:
    case OpCode::Concat: case OpCode::StringRepeat: case OpCode::StringLen:
    case OpCode::NumEq: case OpCode::NumNe: case OpCode::NumLt: case OpCode::NumGt:
    case OpCode::NumLe: case OpCode::NumGe: case OpCode::StrEq: case OpCode::StrNe:
    case OpCode::StrLt: case OpCode::StrGt: case OpCode::StrLe: case OpCode::StrGe:
    case OpCode::StrCmp: case OpCode::Spaceship: case OpCode::LogNot: case OpCode::LogAnd:
    case OpCode::LogOr: case OpCode::BitAnd: case OpCode::BitOr: case OpCode::BitXor:
    case OpCode::BitNot: case OpCode::Shl: case OpCode::Shr: case OpCode::Jump:
    case OpCode::JumpIfTrue: case OpCode::JumpIfFalse: case OpCode::JumpIfTrueKeep:
    case OpCode::JumpIfFalseKeep: case OpCode::Call: case OpCode::Return:
    case OpCode::ReturnValue: case OpCode::PushFrame: case OpCode::PopFrame:
    case OpCode::PreIncSlot: case OpCode::PreIncSlotVoid: case OpCode::SlotLtIntJumpIfFalse:
    case OpCode::SlotIncLtIntJumpBack: case OpCode::AccumSumLoop:
    case OpCode::AddAssignSlotVoid: case OpCode::SetStatus: case OpCode::GetStatus:
      return true;
    default:
      return false;
  }
}

bool in_block_set(OpCode code) {
  switch (code) {
    case OpCode::Nop: case OpCode::LoadInt: case OpCode::LoadFloat: case OpCode::LoadConst:
    case OpCode::LoadTrue: case OpCode::LoadFalse: case OpCode::Pop: case OpCode::Dup:
    case OpCode::Swap: case OpCode::Rot: case OpCode::Add: case OpCode::Sub: case OpCode::Mul:
    case OpCode::Div: case OpCode::Mod: case OpCode::Pow: case OpCode::Negate: case OpCode::Inc:
    case OpCode::Dec: case OpCode::NumEq: case OpCode::NumNe: case OpCode::NumLt:
    case OpCode::NumGt: case OpCode::NumLe: case OpCode::NumGe: case OpCode::Spaceship:
    case OpCode::BitAnd: case OpCode::BitOr: case OpCode::BitXor: case OpCode::BitNot:
    case OpCode::Shl: case OpCode::Shr: case OpCode::LogNot: case OpCode::GetSlot:
    case OpCode::SetSlot: case OpCode::PreIncSlot: case OpCode::PreIncSlotVoid:
    case OpCode::AddAssignSlotVoid: case OpCode::Jump: case OpCode::JumpIfTrue:
    case OpCode::JumpIfFalse: case OpCode::SlotLtIntJumpIfFalse:
    case OpCode::SlotIncLtIntJumpBack: case OpCode::AccumSumLoop: case OpCode::PushFrame:
    case OpCode::PopFrame:
      return true;
    default:
      return false;
  }
}

bool is_block_branch(OpCode code) {
  return code == OpCode::Jump || code == OpCode::JumpIfTrue || code == OpCode::JumpIfFalse ||
         code == OpCode::SlotLtIntJumpIfFalse || code == OpCode::SlotIncLtIntJumpBack;
}

std::optional<uint16_t> max_slot(const std::vector<Op>& ops, size_t begin, size_t end) {
  std::optional<uint16_t> top;
  for (size_t i = begin; i < end && i < ops.size(); ++i) {
    const OpInfo& info = ops[i].info();
    for (size_t k = 0; k < info.num_operands; ++k) {
      if (info.kinds[k] != OperandKind::Slot) continue;
      auto s = static_cast<uint16_t>(ops[i].raw_operand(k));
      top = top ? std::max(*top, s) : s;
    }
  }
  return top;
}

}  // namespace fusevm::jit
