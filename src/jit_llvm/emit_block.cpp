// The block tier's IR: the unit's CFG with slots promoted to SSA values (spec/jit.md §3).
#include <memory>
#include <vector>

#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>

#include "fusevm/op.hpp"
#include "jit_llvm/emit.hpp"
#include "jit_llvm/emit_common.hpp"

namespace fusevm::jit_llvm {

namespace {

bool is_branch_with_target(OpCode c) {
  return c == OpCode::Jump || c == OpCode::JumpIfTrue || c == OpCode::JumpIfFalse ||
         c == OpCode::SlotLtIntJumpIfFalse || c == OpCode::SlotIncLtIntJumpBack;
}

class BlockBuilder {
 public:
  BlockBuilder(llvm::Module& m, const jit_abi::UnitRequest& req, std::string& reason)
      : req_(req), reason_(reason), ctx_(m.getContext()), b_(ctx_), module_(m), n_(req.num_ops) {}

  bool build() {
    if (n_ == 0) return fail("empty block unit");
    if (!find_leaders() || !collect_slots(req_, slots_, reason_)) return false;
    llvm::Type* ptr = llvm::PointerType::get(ctx_, 0);
    f_ = create_unit_function(module_, req_.name, b_.getInt64Ty(), {ptr, ptr});
    f_->getArg(0)->setName("slots");
    f_->getArg(1)->setName("bailed");
    make_entry();
    for (size_t ip = 0; ip < n_; ++ip) {
      if (leader_[ip] && !emit_block(ip)) return false;
    }
    // A branch to exactly n_ lands in an empty final block: it returns 0.
    if (leader_[n_]) {
      b_.SetInsertPoint(block_at_[n_]);
      emit_return(nullptr);
    }
    return true;
  }

 private:
  bool fail(std::string why) {
    reason_ = std::move(why);
    return false;
  }

  // A conditional branch needs a fall-through block, which the last op does not have.
  bool fail_at_last_op(size_t ip) {
    return fail(format("%s at op %zu is the unit's last op", op_label(req_.ops[ip].code).c_str(), ip));
  }

  static constexpr const char* kStackNote = ": block-tier stacks start empty at every block";

  // Leaders (spec/jit.md §3.2): op 0, every branch target and the op after every branch
  // and after AccumSumLoop. A target of exactly n_ is a final empty block; above n_ the
  // reference would index out of range, so it is rejected.
  bool find_leaders() {
    leader_.assign(n_ + 1, false);
    leader_[0] = true;
    for (size_t ip = 0; ip < n_; ++ip) {
      const jit_abi::AbiOp& op = req_.ops[ip];
      if (op.code >= kNumOps) {
        return fail(format("unknown opcode %u at op %zu", static_cast<unsigned>(op.code), ip));
      }
      const auto c = static_cast<OpCode>(op.code);
      if (is_branch_with_target(c)) {
        if (op.wide > n_) {
          return fail(format("%s at op %zu jumps to %llu, beyond the unit's %zu ops",
                             op_label(op.code).c_str(), ip, static_cast<unsigned long long>(op.wide),
                             n_));
        }
        leader_[op.wide] = true;
        if (ip + 1 < n_) leader_[ip + 1] = true;
      } else if (c == OpCode::AccumSumLoop && ip + 1 < n_) {
        leader_[ip + 1] = true;
      }
    }
    return true;
  }

  // Every slot the unit names lives in an alloca loaded once here; mem2reg/SROA turn them
  // into SSA values, and emit_return stores them back.
  void make_entry() {
    llvm::BasicBlock* entry = llvm::BasicBlock::Create(ctx_, "entry", f_);
    block_at_.assign(n_ + 1, nullptr);
    for (size_t ip = 0; ip <= n_; ++ip) {
      if (leader_[ip]) block_at_[ip] = llvm::BasicBlock::Create(ctx_, format("op%zu", ip), f_);
    }
    b_.SetInsertPoint(entry);
    std::vector<llvm::Value*> slot_addr(req_.num_slots, nullptr);
    for (uint16_t s : slots_) {
      llvm::Value* var =
          b_.CreateAlloca(b_.getInt64Ty(), nullptr, format("slot%u", static_cast<unsigned>(s)));
      b_.CreateStore(b_.CreateLoad(b_.getInt64Ty(), memory_slot(s)), var);
      slot_addr[s] = var;
    }
    b_.CreateBr(block_at_[0]);
    TierPolicy policy;
    // Branch and LogNot truthiness follow the interpreter (NaN truthy), not the
    // reference's `one`: the block tier's results are not test-locked on NaN.
    policy.nan_truthy = true;
    policy.bail_if = [this](llvm::Value* cond) { bail_if(cond); };
    em_ = std::make_unique<OpEmitter>(b_, req_, std::move(policy), std::move(slot_addr));
  }

  llvm::Value* memory_slot(uint16_t s) {
    return b_.CreateConstInBoundsGEP1_64(b_.getInt64Ty(), f_->getArg(0), s, "slot.mem");
  }

  // Integer Div/Mod hazards leave through a shared cold block that reports the bail-out
  // and returns without writing slots back, so the caller can interpret from scratch.
  void bail_if(llvm::Value* cond) {
    if (bail_ == nullptr) {
      bail_ = llvm::BasicBlock::Create(ctx_, "bail", f_);
      llvm::IRBuilder<> bb(bail_);
      bb.CreateStore(bb.getInt32(1), f_->getArg(1));
      bb.CreateRet(bb.getInt64(0));
    }
    llvm::BasicBlock* cont = llvm::BasicBlock::Create(ctx_, "cont", f_, next_block_);
    b_.CreateCondBr(cond, bail_, cont, llvm::MDBuilder(ctx_).createUnlikelyBranchWeights());
    b_.SetInsertPoint(cont);
  }

  void emit_return(const StackValue* top) {
    for (uint16_t s : slots_) {
      b_.CreateStore(b_.CreateLoad(b_.getInt64Ty(), em_->slot_address(s)), memory_slot(s));
    }
    b_.CreateRet(top != nullptr ? em_->to_int(*top) : b_.getInt64(0));
  }

  llvm::BasicBlock* successor(size_t ip) { return block_at_[ip]; }

  // `while i < limit { sum += i; i += 1 }` with wrapping adds. Both are read once and
  // written back sum first, then i, as the interpreter does, which matters when they
  // name the same slot.
  void emit_accum_sum_loop(const jit_abi::AbiOp& op) {
    llvm::Value* sum_addr = em_->slot_address(op.small[0]);
    llvm::Value* i_addr = em_->slot_address(op.small[1]);
    llvm::Value* limit = b_.getInt64(static_cast<int64_t>(op.i32));
    llvm::Value* sum0 = b_.CreateLoad(b_.getInt64Ty(), sum_addr, "acc.sum0");
    llvm::Value* i0 = b_.CreateLoad(b_.getInt64Ty(), i_addr, "acc.i0");
    llvm::BasicBlock* pre = b_.GetInsertBlock();
    llvm::BasicBlock* header = llvm::BasicBlock::Create(ctx_, "acc.header", f_, next_block_);
    llvm::BasicBlock* body = llvm::BasicBlock::Create(ctx_, "acc.body", f_, next_block_);
    llvm::BasicBlock* exit = llvm::BasicBlock::Create(ctx_, "acc.exit", f_, next_block_);
    b_.CreateBr(header);
    b_.SetInsertPoint(header);
    llvm::PHINode* sum = b_.CreatePHI(b_.getInt64Ty(), 2, "acc.sum");
    llvm::PHINode* i = b_.CreatePHI(b_.getInt64Ty(), 2, "acc.i");
    b_.CreateCondBr(b_.CreateICmpSLT(i, limit), body, exit);
    b_.SetInsertPoint(body);
    llvm::Value* sum1 = b_.CreateAdd(sum, i, "acc.sum1");
    llvm::Value* i1 = b_.CreateAdd(i, b_.getInt64(1), "acc.i1");
    b_.CreateBr(header);
    sum->addIncoming(sum0, pre);
    sum->addIncoming(sum1, body);
    i->addIncoming(i0, pre);
    i->addIncoming(i1, body);
    b_.SetInsertPoint(exit);
    b_.CreateStore(sum, sum_addr);
    b_.CreateStore(i, i_addr);
  }

  // One leader's block. The abstract stack starts empty in every block (values never
  // cross block boundaries, spec/jit.md §3.3); values left at a jump are dropped.
  bool emit_block(size_t start) {
    size_t end = start + 1;
    while (end < n_ && !leader_[end]) ++end;
    next_block_ = block_at_[end];
    b_.SetInsertPoint(block_at_[start]);
    std::vector<StackValue> stack;
    for (size_t ip = start; ip < end; ++ip) {
      const jit_abi::AbiOp& op = req_.ops[ip];
      const auto c = static_cast<OpCode>(op.code);
      const bool last = ip + 1 == n_;
      switch (c) {
        case OpCode::Nop: case OpCode::PushFrame: case OpCode::PopFrame:
          // The slot array simply continues across frame ops (spec/jit.md §3.4).
          continue;
        case OpCode::Jump:
          b_.CreateBr(successor(op.wide));
          return true;
        case OpCode::JumpIfTrue: case OpCode::JumpIfFalse: {
          if (stack.empty()) {
            const std::string name = op_label(op.code);
            return fail(format("stack underflow at op %zu (%s)%s", ip, name.c_str(), kStackNote));
          }
          if (last) return fail_at_last_op(ip);
          llvm::Value* cond = em_->truthy(stack.back());
          stack.pop_back();
          llvm::BasicBlock* target = successor(op.wide);
          llvm::BasicBlock* next = successor(ip + 1);
          if (c == OpCode::JumpIfTrue) {
            b_.CreateCondBr(cond, target, next);
          } else {
            b_.CreateCondBr(cond, next, target);
          }
          return true;
        }
        case OpCode::SlotLtIntJumpIfFalse: case OpCode::SlotIncLtIntJumpBack: {
          if (last) return fail_at_last_op(ip);
          llvm::Value* addr = em_->slot_address(op.small[0]);
          llvm::Value* v = b_.CreateLoad(b_.getInt64Ty(), addr);
          if (c == OpCode::SlotIncLtIntJumpBack) {
            v = b_.CreateAdd(v, b_.getInt64(1), "inc");
            b_.CreateStore(v, addr);
          }
          llvm::Value* lt = b_.CreateICmpSLT(v, b_.getInt64(static_cast<int64_t>(op.i32)));
          if (c == OpCode::SlotLtIntJumpIfFalse) {
            b_.CreateCondBr(lt, successor(ip + 1), successor(op.wide));
          } else {
            b_.CreateCondBr(lt, successor(op.wide), successor(ip + 1));
          }
          return true;
        }
        case OpCode::AccumSumLoop:
          emit_accum_sum_loop(op);
          continue;
        default:
          break;
      }
      switch (em_->emit(ip, stack, reason_)) {
        case EmitStatus::kDone:
          break;
        case EmitStatus::kFailed:
          if (reason_.find("stack underflow") == 0) reason_ += kStackNote;
          return false;
        case EmitStatus::kNotData:
          return fail(
              format("%s at op %zu cannot appear in a block unit", op_label(op.code).c_str(), ip));
      }
    }
    if (end == n_) {
      emit_return(stack.empty() ? nullptr : &stack.back());
    } else {
      b_.CreateBr(block_at_[end]);
    }
    return true;
  }

  const jit_abi::UnitRequest& req_;
  std::string& reason_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  llvm::Module& module_;
  const size_t n_;
  llvm::Function* f_ = nullptr;
  std::vector<bool> leader_;
  std::vector<llvm::BasicBlock*> block_at_;
  std::vector<uint16_t> slots_;
  std::unique_ptr<OpEmitter> em_;
  llvm::BasicBlock* bail_ = nullptr;
  llvm::BasicBlock* next_block_ = nullptr;  // where helper blocks go, to keep source order
};

}  // namespace

bool build_block(llvm::Module& m, const jit_abi::UnitRequest& req, std::string& reason) {
  return BlockBuilder(m, req, reason).build();
}

}  // namespace fusevm::jit_llvm
