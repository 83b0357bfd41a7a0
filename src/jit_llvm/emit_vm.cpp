// The kUnitVm IR: kind-exact code the VM enters and leaves through a VmUnitFrame.
//
// Every slot and stack value is an SSA value of a static kind (vm_kinds.cpp): Int i64,
// Float double, Bool i1, Undef nothing at all. A basic block starts with one phi per
// non-Undef value; memory is touched only at entry (loads) and at exits (stores), so the
// values of a loop live in registers. Exits are separate blocks at the end of the function.
#include <cstddef>
#include <memory>
#include <vector>

#include <llvm/ADT/APFloat.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>

#include "fusevm/op.hpp"
#include "jit_llvm/emit.hpp"
#include "jit_llvm/emit_common.hpp"
#include "jit_llvm/runtime_helpers.hpp"
#include "jit_llvm/vm_kinds.hpp"

namespace fusevm::jit_llvm {

namespace {

using jit_abi::VmUnitFrame;
static_assert(offsetof(VmUnitFrame, slots) == 0 && offsetof(VmUnitFrame, stack) == 8 &&
              offsetof(VmUnitFrame, poll) == 16 && offsetof(VmUnitFrame, resume_ip) == 24 &&
              offsetof(VmUnitFrame, exit_depth) == 32 && offsetof(VmUnitFrame, exit_reason) == 36,
              "emit_vm.cpp addresses VmUnitFrame's fields by these offsets");
static_assert(offsetof(jit_abi::AbiValue, bits) == 0 && offsetof(jit_abi::AbiValue, tag) == 8 &&
              sizeof(jit_abi::AbiValue) == 16);

/// One value of the unit: `v` is null for Undef, i1 for Bool, i64 for Int, double for Float.
struct Val {
  llvm::Value* v;
  Kind k;
};

/// The values at one program point, laid out as KindState.
struct ValState {
  std::vector<Val> slots;
  std::vector<Val> stack;
};

KindState kinds_of(const ValState& s) {
  KindState k;
  k.slots.reserve(s.slots.size());
  for (const Val& v : s.slots) k.slots.push_back(v.k);
  k.stack.reserve(s.stack.size());
  for (const Val& v : s.stack) k.stack.push_back(v.k);
  return k;
}

class VmBuilder {
 public:
  VmBuilder(llvm::Module& m, const jit_abi::UnitRequest& req, const VmPlan& plan, std::string& reason)
      : req_(req),
        plan_(plan),
        reason_(reason),
        ctx_(m.getContext()),
        b_(ctx_),
        module_(m),
        i1_(b_.getInt1Ty()),
        i8_(b_.getInt8Ty()),
        i32_(b_.getInt32Ty()),
        i64_(b_.getInt64Ty()),
        f64_(b_.getDoubleTy()),
        ptr_(llvm::PointerType::get(ctx_, 0)) {}

  bool build(uint32_t& max_exit_stack) {
    f_ = create_unit_function(module_, req_.name, i32_, {ptr_});
    f_->getArg(0)->setName("frame");
    llvm::BasicBlock* entry = llvm::BasicBlock::Create(ctx_, "entry", f_);
    make_leader_blocks();
    b_.SetInsertPoint(entry);
    llvm::Value* frame = f_->getArg(0);
    slots_ = b_.CreateLoad(ptr_, field(frame, offsetof(VmUnitFrame, slots)), "slots");
    stack_ = b_.CreateLoad(ptr_, field(frame, offsetof(VmUnitFrame, stack)), "stack");
    poll_ = b_.CreateLoad(ptr_, field(frame, offsetof(VmUnitFrame, poll)), "poll");
    ValState start;
    for (size_t k = 0; k < plan_.named_slots.size(); ++k) {
      start.slots.push_back(load_value(slots_, plan_.named_slots[k], plan_.entry.slots[k]));
    }
    for (size_t k = 0; k < plan_.entry.stack.size(); ++k) {
      start.stack.push_back(load_value(stack_, k, plan_.entry.stack[k]));
    }
    b_.CreateBr(edge_to(req_.entry_ip, req_.entry_ip, start));  // entering polls nothing
    for (uint64_t ip = plan_.begin; ip < plan_.end; ++ip) {
      if (plan_.is_leader(ip) && !emit_block(ip)) return false;
    }
    max_exit_stack = max_exit_stack_;
    return true;
  }

 private:
  struct Leader {
    llvm::BasicBlock* block;
    ValState phis;  // the block's incoming values, one phi per non-Undef value
  };

  // -- Memory of the frame -------------------------------------------------------------

  llvm::Value* field(llvm::Value* base, size_t offset) {
    return b_.CreateConstInBoundsGEP1_64(i8_, base, offset);
  }

  // Payload of AbiValue `index` of `array`, or its tag byte.
  llvm::Value* payload_addr(llvm::IRBuilder<>& b, llvm::Value* array, uint64_t index) {
    return b.CreateConstInBoundsGEP1_64(i8_, array, index * sizeof(jit_abi::AbiValue));
  }
  llvm::Value* tag_addr(llvm::IRBuilder<>& b, llvm::Value* array, uint64_t index) {
    return b.CreateConstInBoundsGEP1_64(i8_, array,
                                        index * sizeof(jit_abi::AbiValue) + offsetof(jit_abi::AbiValue, tag));
  }

  Val load_value(llvm::Value* array, uint64_t index, Kind k) {
    llvm::Value* addr = payload_addr(b_, array, index);
    switch (k) {
      case Kind::Undef: return {nullptr, k};
      // A Bool's payload is 0 or 1; reading it as "non-zero" is what as_bool() does.
      case Kind::Bool: return {b_.CreateICmpNE(b_.CreateLoad(i64_, addr), b_.getInt64(0)), k};
      case Kind::Int: return {b_.CreateLoad(i64_, addr), k};
      default: return {b_.CreateLoad(f64_, addr), k};
    }
  }

  // The 8 payload bytes of `v` as the interpreter stores them (Bool 0/1, Undef 0).
  llvm::Value* payload(llvm::IRBuilder<>& b, const Val& v) {
    switch (v.k) {
      case Kind::Undef: return b.getInt64(0);
      case Kind::Bool: return b.CreateZExt(v.v, i64_);
      case Kind::Int: return v.v;
      default: return b.CreateBitCast(v.v, i64_);
    }
  }

  // -- Blocks, edges and exits -----------------------------------------------------------

  void make_leader_blocks() {
    leader_of_.assign(static_cast<size_t>(plan_.end - plan_.begin), -1);
    for (uint64_t ip = plan_.begin; ip < plan_.end; ++ip) {
      if (!plan_.is_leader(ip)) continue;
      Leader l;
      l.block = llvm::BasicBlock::Create(ctx_, format("op%llu", static_cast<unsigned long long>(ip)), f_);
      llvm::IRBuilder<> b(l.block);
      const KindState& ks = plan_.at(ip);
      for (Kind k : ks.slots) l.phis.slots.push_back(make_phi(b, k));
      for (Kind k : ks.stack) l.phis.stack.push_back(make_phi(b, k));
      leader_of_[ip - plan_.begin] = static_cast<int32_t>(leaders_.size());
      leaders_.push_back(std::move(l));
    }
  }

  Val make_phi(llvm::IRBuilder<>& b, Kind k) {
    switch (k) {
      case Kind::Undef: return {nullptr, k};
      case Kind::Bool: return {b.CreatePHI(i1_, 2), k};
      case Kind::Int: return {b.CreatePHI(i64_, 2), k};
      default: return {b.CreatePHI(f64_, 2), k};
    }
  }

  Leader& leader(uint64_t ip) { return leaders_[static_cast<size_t>(leader_of_[ip - plan_.begin])]; }

  static void add_incoming(const ValState& to, const ValState& from, llvm::BasicBlock* pred) {
    auto add = [pred](const std::vector<Val>& phis, const std::vector<Val>& values) {
      for (size_t k = 0; k < phis.size(); ++k) {
        if (phis[k].v != nullptr) llvm::cast<llvm::PHINode>(phis[k].v)->addIncoming(values[k].v, pred);
      }
    };
    add(to.slots, from.slots);
    add(to.stack, from.stack);
  }

  llvm::MDNode* unlikely() { return llvm::MDBuilder(ctx_).createUnlikelyBranchWeights(); }

  // The block that control moving from the current block to `target` with `s` branches
  // to. `next_ip` is the ip after the jumping op: a target below it closes a loop, and such
  // a backedge polls. Kinds that differ from the target's, and targets outside the range,
  // leave the unit (kExitLeft, the interpreter continues at the target).
  llvm::BasicBlock* edge_to(uint64_t target, uint64_t next_ip, const ValState& s) {
    if (!plan_.accepts(target, kinds_of(s))) {
      return make_exit(jit_abi::kExitLeft, target, s);
    }
    Leader& to = leader(target);
    const bool backedge = target < next_ip;
    if (!backedge) {
      add_incoming(to.phis, s, b_.GetInsertBlock());
      return to.block;
    }
    // A plain load could be hoisted out of the loop (nothing in it writes memory) and
    // the loop would never see the flag: the atomic load stays in every iteration.
    llvm::BasicBlock* poll = llvm::BasicBlock::Create(ctx_, "poll", f_, b_.GetInsertBlock()->getNextNode());
    llvm::IRBuilder<> pb(poll);
    llvm::LoadInst* flag = pb.CreateLoad(i8_, poll_, "poll.flag");
    flag->setAtomic(llvm::AtomicOrdering::Monotonic);
    flag->setAlignment(llvm::Align(1));
    pb.CreateCondBr(pb.CreateICmpNE(flag, pb.getInt8(0)), make_exit(jit_abi::kExitPoll, target, s),
                    to.block, unlikely());
    add_incoming(to.phis, s, poll);
    return poll;
  }

  // A block at the end of the function that stores `s` into the frame and returns `why`.
  llvm::BasicBlock* make_exit(jit_abi::VmExit why, uint64_t resume_ip, const ValState& s) {
    static constexpr const char* kNames[] = {"exit.left", "exit.deopt", "exit.poll"};
    llvm::BasicBlock* block = llvm::BasicBlock::Create(ctx_, kNames[why], f_);
    llvm::IRBuilder<> b(block);
    auto store = [&](llvm::Value* array, uint64_t index, const Val& v) {
      b.CreateStore(payload(b, v), payload_addr(b, array, index));
      b.CreateStore(b.getInt8(static_cast<uint8_t>(v.k)), tag_addr(b, array, index));
    };
    for (size_t k = 0; k < s.slots.size(); ++k) store(slots_, plan_.named_slots[k], s.slots[k]);
    for (size_t k = 0; k < s.stack.size(); ++k) store(stack_, k, s.stack[k]);
    llvm::Value* frame = f_->getArg(0);
    b.CreateStore(b.getInt64(resume_ip),
                  b.CreateConstInBoundsGEP1_64(i8_, frame, offsetof(VmUnitFrame, resume_ip)));
    b.CreateStore(b.getInt32(static_cast<uint32_t>(s.stack.size())),
                  b.CreateConstInBoundsGEP1_64(i8_, frame, offsetof(VmUnitFrame, exit_depth)));
    b.CreateStore(b.getInt32(why), b.CreateConstInBoundsGEP1_64(i8_, frame, offsetof(VmUnitFrame, exit_reason)));
    b.CreateRet(b.getInt32(why));
    if (s.stack.size() > max_exit_stack_) max_exit_stack_ = static_cast<uint32_t>(s.stack.size());
    return block;
  }

  // Leaves through kExitDeopt at op `ip` with `s` (the state before the op) when `cond`
  // holds; code continues in a fresh block.
  void deopt_if(llvm::Value* cond, uint64_t ip, const ValState& s) {
    llvm::BasicBlock* cont = llvm::BasicBlock::Create(ctx_, "cont", f_, b_.GetInsertBlock()->getNextNode());
    b_.CreateCondBr(cond, make_exit(jit_abi::kExitDeopt, ip, s), cont, unlikely());
    b_.SetInsertPoint(cont);
  }

  // -- Conversions (Value::to_float, to_int, is_truthy) ---------------------------------

  llvm::Value* to_f64(const Val& v) {
    switch (v.k) {
      case Kind::Undef: return llvm::ConstantFP::get(f64_, 0.0);
      case Kind::Bool: return b_.CreateUIToFP(v.v, f64_);
      case Kind::Int: return b_.CreateSIToFP(v.v, f64_);
      default: return v.v;
    }
  }

  llvm::Value* to_i64(const Val& v) {
    switch (v.k) {
      case Kind::Undef: return b_.getInt64(0);
      case Kind::Bool: return b_.CreateZExt(v.v, i64_);
      case Kind::Int: return v.v;
      // Truncation that saturates with NaN -> 0: Value::to_int exactly, and never poison.
      default: return b_.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {i64_, f64_}, {v.v});
    }
  }

  llvm::Value* truthy(const Val& v) {
    switch (v.k) {
      case Kind::Undef: return b_.getFalse();
      case Kind::Bool: return v.v;
      case Kind::Int: return b_.CreateICmpNE(v.v, b_.getInt64(0));
      // `une`: NaN is truthy, -0.0 is not.
      default: return b_.CreateFCmpUNE(v.v, llvm::ConstantFP::get(f64_, 0.0));
    }
  }

  llvm::Value* float_const(uint64_t bits) {
    return llvm::ConstantFP::get(ctx_, llvm::APFloat(llvm::APFloat::IEEEdouble(), llvm::APInt(64, bits)));
  }

  // -- Ops --------------------------------------------------------------------------------

  // sem::int_mod: 0 for a zero or -1 divisor; srem never sees them (0 traps, MIN % -1 is UB).
  llvm::Value* int_mod(llvm::Value* x, llvm::Value* y) {
    llvm::Value* bad = b_.CreateOr(b_.CreateICmpEQ(y, b_.getInt64(0)), b_.CreateICmpEQ(y, b_.getInt64(-1)));
    llvm::Value* r = b_.CreateSRem(x, b_.CreateSelect(bad, b_.getInt64(1), y));
    return b_.CreateSelect(bad, b_.getInt64(0), r);
  }

  Val arith(OpCode c, const Val& x, const Val& y) {
    if (x.k == Kind::Int && y.k == Kind::Int) {
      switch (c) {  // no nsw/nuw: Int arithmetic wraps
        case OpCode::Add: return {b_.CreateAdd(x.v, y.v), Kind::Int};
        case OpCode::Sub: return {b_.CreateSub(x.v, y.v), Kind::Int};
        case OpCode::Mul: return {b_.CreateMul(x.v, y.v), Kind::Int};
        default: return {int_mod(x.v, y.v), Kind::Int};
      }
    }
    llvm::Value* fx = to_f64(x);
    llvm::Value* fy = to_f64(y);
    switch (c) {
      case OpCode::Add: return {b_.CreateFAdd(fx, fy), Kind::Float};
      case OpCode::Sub: return {b_.CreateFSub(fx, fy), Kind::Float};
      case OpCode::Mul: return {b_.CreateFMul(fx, fy), Kind::Float};
      default: return {call_pure_helper(b_, kFmodF64, f64_, fx, fy), Kind::Float};
    }
  }

  Val compare(OpCode c, const Val& x, const Val& y) {
    using P = llvm::CmpInst::Predicate;
    if (x.k == Kind::Int && y.k == Kind::Int) {
      P p;
      switch (c) {
        case OpCode::NumEq: p = P::ICMP_EQ; break;
        case OpCode::NumNe: p = P::ICMP_NE; break;
        case OpCode::NumLt: p = P::ICMP_SLT; break;
        case OpCode::NumGt: p = P::ICMP_SGT; break;
        case OpCode::NumLe: p = P::ICMP_SLE; break;
        default: p = P::ICMP_SGE; break;
      }
      return {b_.CreateICmp(p, x.v, y.v), Kind::Bool};
    }
    P p;
    switch (c) {  // C++ comparisons: ordered, except != which holds for NaN
      case OpCode::NumEq: p = P::FCMP_OEQ; break;
      case OpCode::NumNe: p = P::FCMP_UNE; break;
      case OpCode::NumLt: p = P::FCMP_OLT; break;
      case OpCode::NumGt: p = P::FCMP_OGT; break;
      case OpCode::NumLe: p = P::FCMP_OLE; break;
      default: p = P::FCMP_OGE; break;
    }
    return {b_.CreateFCmp(p, to_f64(x), to_f64(y)), Kind::Bool};
  }

  Val spaceship(const Val& x, const Val& y) {
    llvm::Value* lt;
    llvm::Value* gt;
    if (x.k == Kind::Int && y.k == Kind::Int) {
      lt = b_.CreateICmpSLT(x.v, y.v);
      gt = b_.CreateICmpSGT(x.v, y.v);
    } else {  // NaN is neither less nor greater: 0
      llvm::Value* fx = to_f64(x);
      llvm::Value* fy = to_f64(y);
      lt = b_.CreateFCmpOLT(fx, fy);
      gt = b_.CreateFCmpOGT(fx, fy);
    }
    return {b_.CreateSelect(lt, b_.getInt64(-1), b_.CreateSelect(gt, b_.getInt64(1), b_.getInt64(0))),
            Kind::Int};
  }

  Val bitwise(OpCode c, const Val& x, const Val& y) {
    llvm::Value* a = to_i64(x);
    llvm::Value* n = to_i64(y);
    switch (c) {
      case OpCode::BitAnd: return {b_.CreateAnd(a, n), Kind::Int};
      case OpCode::BitOr: return {b_.CreateOr(a, n), Kind::Int};
      case OpCode::BitXor: return {b_.CreateXor(a, n), Kind::Int};
      // The count is masked as the VM does; an unmasked count of 64 or more is poison.
      case OpCode::Shl: return {b_.CreateShl(a, b_.CreateAnd(n, b_.getInt64(63))), Kind::Int};
      default: return {b_.CreateAShr(a, b_.CreateAnd(n, b_.getInt64(63))), Kind::Int};
    }
  }

  // AccumSumLoop in closed form: `while i < limit { sum += i; i += 1 }` adds
  // n*i + n*(n-1)/2 (mod 2^64) for n = limit - i iterations. No loop, so nothing to poll.
  void accum_sum_loop(const jit_abi::AbiOp& op, ValState& s) {
    Val& sum_slot = s.slots[plan_.pos(op.small[0])];
    Val& i_slot = s.slots[plan_.pos(op.small[1])];
    llvm::Value* sum = to_i64(sum_slot);
    llvm::Value* i = to_i64(i_slot);
    llvm::Value* limit = b_.getInt64(static_cast<int64_t>(op.i32));
    llvm::Value* runs = b_.CreateICmpSLT(i, limit);
    llvm::Value* n = b_.CreateSelect(runs, b_.CreateSub(limit, i), b_.getInt64(0), "acc.n");
    // n*(n-1)/2 exactly, halving whichever factor is even before the wrapping multiply.
    llvm::Value* n1 = b_.CreateSub(n, b_.getInt64(1));
    llvm::Value* even = b_.CreateICmpEQ(b_.CreateAnd(n, b_.getInt64(1)), b_.getInt64(0));
    llvm::Value* tri = b_.CreateSelect(even, b_.CreateMul(b_.CreateLShr(n, 1), n1),
                                       b_.CreateMul(n, b_.CreateLShr(n1, 1)));
    llvm::Value* sum1 = b_.CreateAdd(sum, b_.CreateAdd(b_.CreateMul(n, i), tri), "acc.sum");
    llvm::Value* i1 = b_.CreateSelect(runs, limit, i, "acc.i");
    // Sum first, then i, as the interpreter stores them: i wins when both name one slot.
    sum_slot = {sum1, Kind::Int};
    i_slot = {i1, Kind::Int};
  }

  // Emits op `ip` on `s`. For a conditional branch returns the i1 "jump taken"; for other
  // ops null. The caller has checked (step_kinds) that the op runs natively here.
  llvm::Value* emit_op(uint64_t ip, ValState& s) {
    const jit_abi::AbiOp& op = req_.ops[ip];
    std::vector<Val>& stack = s.stack;
    auto pop = [&stack] {
      Val v = stack.back();
      stack.pop_back();
      return v;
    };
    auto slot = [&](uint16_t n) -> Val& { return s.slots[plan_.pos(n)]; };
    const auto c = static_cast<OpCode>(op.code);
    switch (c) {
      case OpCode::Nop:
        return nullptr;
      case OpCode::LoadInt:
        stack.push_back({b_.getInt64(op.wide), Kind::Int});
        return nullptr;
      case OpCode::LoadFloat:  // the exact bits, NaN payloads included
        stack.push_back({float_const(op.wide), Kind::Float});
        return nullptr;
      case OpCode::LoadConst: {
        const jit_abi::AbiConst& k = req_.consts[op.small[0]];
        stack.push_back(k.kind == jit_abi::kConstInt ? Val{b_.getInt64(k.bits), Kind::Int}
                                                     : Val{float_const(k.bits), Kind::Float});
        return nullptr;
      }
      case OpCode::LoadTrue:
        stack.push_back({b_.getTrue(), Kind::Bool});
        return nullptr;
      case OpCode::LoadFalse:
        stack.push_back({b_.getFalse(), Kind::Bool});
        return nullptr;
      case OpCode::LoadUndef:
        stack.push_back({nullptr, Kind::Undef});
        return nullptr;
      case OpCode::Pop:
        stack.pop_back();
        return nullptr;
      case OpCode::Dup:
        stack.push_back(stack.back());
        return nullptr;
      case OpCode::Dup2: {
        const size_t d = stack.size();
        stack.push_back(stack[d - 2]);
        stack.push_back(stack[d - 1]);
        return nullptr;
      }
      case OpCode::Swap:
        std::swap(stack[stack.size() - 1], stack[stack.size() - 2]);
        return nullptr;
      case OpCode::Rot: {
        const Val a = stack[stack.size() - 3];
        stack.erase(stack.end() - 3);
        stack.push_back(a);
        return nullptr;
      }
      case OpCode::GetSlot:
        stack.push_back(slot(op.small[0]));
        return nullptr;
      case OpCode::SetSlot:
        slot(op.small[0]) = pop();
        return nullptr;
      case OpCode::Add: case OpCode::Sub: case OpCode::Mul: case OpCode::Mod: {
        const Val y = pop();
        const Val x = pop();
        stack.push_back(arith(c, x, y));
        return nullptr;
      }
      case OpCode::Div: {
        // sem::div: a zero divisor (-0.0 too) gives Undef, which stays the interpreter's
        // job: leave with the operands still on the stack.
        const Val& y = stack.back();
        llvm::Value* zero = y.k == Kind::Int    ? b_.CreateICmpEQ(y.v, b_.getInt64(0))
                            : y.k == Kind::Bool ? b_.CreateNot(y.v)
                                                : b_.CreateFCmpOEQ(y.v, llvm::ConstantFP::get(f64_, 0.0));
        deopt_if(zero, ip, s);
        const Val yv = pop();
        const Val xv = pop();
        stack.push_back({b_.CreateFDiv(to_f64(xv), to_f64(yv)), Kind::Float});
        return nullptr;
      }
      case OpCode::Pow: {
        const Val y = pop();
        const Val x = pop();
        stack.push_back({call_pure_helper(b_, kPowF64, f64_, to_f64(x), to_f64(y)), Kind::Float});
        return nullptr;
      }
      case OpCode::Negate: {
        const Val x = pop();
        // fneg flips the sign bit only: -(0.0) is -0.0 and a NaN keeps its payload.
        stack.push_back(x.k == Kind::Int ? Val{b_.CreateNeg(x.v), Kind::Int}
                                         : Val{b_.CreateFNeg(to_f64(x)), Kind::Float});
        return nullptr;
      }
      case OpCode::Inc: case OpCode::Dec: {
        llvm::Value* x = to_i64(pop());
        stack.push_back({c == OpCode::Inc ? b_.CreateAdd(x, b_.getInt64(1)) : b_.CreateSub(x, b_.getInt64(1)),
                         Kind::Int});
        return nullptr;
      }
      case OpCode::NumEq: case OpCode::NumNe: case OpCode::NumLt: case OpCode::NumGt:
      case OpCode::NumLe: case OpCode::NumGe: {
        const Val y = pop();
        const Val x = pop();
        stack.push_back(compare(c, x, y));
        return nullptr;
      }
      case OpCode::Spaceship: {
        const Val y = pop();
        const Val x = pop();
        stack.push_back(spaceship(x, y));
        return nullptr;
      }
      case OpCode::LogNot:
        stack.push_back({b_.CreateNot(truthy(pop())), Kind::Bool});
        return nullptr;
      case OpCode::LogAnd: case OpCode::LogOr: {
        llvm::Value* y = truthy(pop());
        llvm::Value* x = truthy(pop());
        stack.push_back({c == OpCode::LogAnd ? b_.CreateAnd(x, y) : b_.CreateOr(x, y), Kind::Bool});
        return nullptr;
      }
      case OpCode::BitAnd: case OpCode::BitOr: case OpCode::BitXor: case OpCode::Shl:
      case OpCode::Shr: {
        const Val y = pop();
        const Val x = pop();
        stack.push_back(bitwise(c, x, y));
        return nullptr;
      }
      case OpCode::BitNot:
        stack.push_back({b_.CreateNot(to_i64(pop())), Kind::Int});
        return nullptr;
      case OpCode::Jump:
        return nullptr;
      case OpCode::JumpIfTrue:
        return truthy(pop());
      case OpCode::JumpIfFalse:
        return b_.CreateNot(truthy(pop()));
      case OpCode::JumpIfTrueKeep:
        return truthy(stack.back());
      case OpCode::JumpIfFalseKeep:
        return b_.CreateNot(truthy(stack.back()));
      case OpCode::PreIncSlot: case OpCode::PreIncSlotVoid: {
        Val& v = slot(op.small[0]);
        v = {b_.CreateAdd(to_i64(v), b_.getInt64(1)), Kind::Int};
        if (c == OpCode::PreIncSlot) stack.push_back(v);
        return nullptr;
      }
      case OpCode::SlotLtIntJumpIfFalse:  // jumps when NOT slot < limit
        return b_.CreateICmpSGE(to_i64(slot(op.small[0])), b_.getInt64(static_cast<int64_t>(op.i32)));
      case OpCode::SlotIncLtIntJumpBack: {
        Val& v = slot(op.small[0]);
        v = {b_.CreateAdd(to_i64(v), b_.getInt64(1)), Kind::Int};
        return b_.CreateICmpSLT(v.v, b_.getInt64(static_cast<int64_t>(op.i32)));
      }
      case OpCode::AccumSumLoop:
        accum_sum_loop(op, s);
        return nullptr;
      case OpCode::AddAssignSlotVoid: {
        llvm::Value* sum = b_.CreateAdd(to_i64(slot(op.small[0])), to_i64(slot(op.small[1])));
        slot(op.small[0]) = {sum, Kind::Int};
        return nullptr;
      }
      default:
        return nullptr;  // step_kinds made every other op an exit
    }
  }

  // One basic block from leader `start`: ops until a branch, an exit or the next block start.
  bool emit_block(uint64_t start) {
    Leader& l = leader(start);
    b_.SetInsertPoint(l.block);
    ValState s = l.phis;
    KindState kinds = plan_.at(start);
    for (uint64_t ip = start;;) {
      const KindStep step = step_kinds(req_, plan_, ip, kinds);
      if (step.exits) {
        b_.CreateBr(make_exit(step.exit_reason, ip, s));
        return true;
      }
      llvm::Value* taken = emit_op(ip, s);
      if (kinds_of(s) != kinds) {
        reason_ = format("internal error: the emitted kinds after %s at op %llu disagree with the inference",
                         op_label(req_.ops[ip].code).c_str(), static_cast<unsigned long long>(ip));
        return false;
      }
      if (step.jumps && step.falls_through) {
        // Edge blocks are made before the branch: their phi inputs come from this block.
        llvm::BasicBlock* to = edge_to(step.target, ip + 1, s);
        llvm::BasicBlock* next = edge_to(ip + 1, ip + 1, s);
        b_.CreateCondBr(taken, to, next);
        return true;
      }
      if (step.jumps) {
        b_.CreateBr(edge_to(step.target, ip + 1, s));
        return true;
      }
      const uint64_t next = ip + 1;
      if (!plan_.in_range(next) || plan_.starts_block(next)) {
        b_.CreateBr(edge_to(next, next, s));
        return true;
      }
      ip = next;
    }
  }

  const jit_abi::UnitRequest& req_;
  const VmPlan& plan_;
  std::string& reason_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  llvm::Module& module_;
  llvm::Type* i1_;
  llvm::Type* i8_;
  llvm::Type* i32_;
  llvm::Type* i64_;
  llvm::Type* f64_;
  llvm::PointerType* ptr_;
  llvm::Function* f_ = nullptr;
  llvm::Value* slots_ = nullptr;  // VmUnitFrame::slots, loaded at entry
  llvm::Value* stack_ = nullptr;  // VmUnitFrame::stack
  llvm::Value* poll_ = nullptr;   // VmUnitFrame::poll
  std::vector<Leader> leaders_;
  std::vector<int32_t> leader_of_;  // per op of the range: index into leaders_, or -1
  uint32_t max_exit_stack_ = 0;
};

}  // namespace

bool build_vm(llvm::Module& m, const jit_abi::UnitRequest& req, uint32_t& max_exit_stack, std::string& reason) {
  VmPlan plan;
  if (!plan_vm_unit(req, plan, reason)) return false;
  return VmBuilder(m, req, plan, reason).build(max_exit_stack);
}

}  // namespace fusevm::jit_llvm
