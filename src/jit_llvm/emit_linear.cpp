// The linear tier's IR: one straight-line function over the abstract stack (spec/jit.md §2).
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include "fusevm/op.hpp"
#include "jit_llvm/emit.hpp"
#include "jit_llvm/emit_common.hpp"

namespace fusevm::jit_llvm {

bool build_linear(llvm::Module& m, const jit_abi::UnitRequest& req, std::string& reason) {
  if (req.num_ops == 0) {
    reason = "empty linear unit";
    return false;
  }
  std::vector<uint16_t> slots;
  if (!collect_slots(req, slots, reason)) return false;

  llvm::LLVMContext& ctx = m.getContext();
  llvm::Type* ret = req.result_is_float ? llvm::Type::getDoubleTy(ctx) : llvm::Type::getInt64Ty(ctx);
  llvm::Function* f = create_unit_function(m, req.name, ret, {llvm::PointerType::get(ctx, 0)});
  llvm::Argument* slot_base = f->getArg(0);
  slot_base->setName("slots");
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", f));

  // The linear tier reads and writes the caller's array directly: there is no bail-out,
  // so no state needs to be held back until a normal return.
  std::vector<llvm::Value*> slot_addr(req.num_slots, nullptr);
  for (uint16_t s : slots) {
    slot_addr[s] = b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), slot_base, s, "slot.addr");
  }
  OpEmitter em(b, req, TierPolicy{/*nan_truthy=*/false, {}}, std::move(slot_addr));

  std::vector<StackValue> stack;
  for (size_t ip = 0; ip < req.num_ops; ++ip) {
    switch (em.emit(ip, stack, reason)) {
      case EmitStatus::kDone:
        break;
      case EmitStatus::kFailed:
        return false;
      case EmitStatus::kNotData:
        // Jumps, frames and the fused loop ops (quirk Q-L3: the reference's validator
        // accepts the loops, its codegen does not) have no linear form.
        reason = format("%s at op %zu cannot appear in a linear unit",
                        op_label(req.ops[ip].code).c_str(), ip);
        return false;
    }
  }
  if (stack.size() != 1) {
    reason =
        format("a linear unit must end with exactly one value on the stack, not %zu", stack.size());
    return false;
  }
  // The core's validation found the result type; convert defensively if the two disagree.
  StackValue top = stack.back();
  b.CreateRet(req.result_is_float ? em.to_float(top) : em.to_int(top));
  return true;
}

}  // namespace fusevm::jit_llvm
