// Per-op IR for the data and slot ops both tiers share (spec/jit.md §2.4, with §6's no-UB rules).
#include "jit_llvm/emit_common.hpp"

#include <cstring>

#include <llvm/ADT/APFloat.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>

#include "fusevm/op.hpp"
#include "jit_llvm/runtime_helpers.hpp"

namespace fusevm::jit_llvm {

namespace {

// How many stack values op `code` pops, for the underflow check done before any pop.
size_t pops_of(OpCode c) {
  switch (c) {
    case OpCode::Add: case OpCode::Sub: case OpCode::Mul: case OpCode::Div: case OpCode::Mod:
    case OpCode::Pow: case OpCode::NumEq: case OpCode::NumNe: case OpCode::NumLt:
    case OpCode::NumGt: case OpCode::NumLe: case OpCode::NumGe: case OpCode::Spaceship:
    case OpCode::BitAnd: case OpCode::BitOr: case OpCode::BitXor: case OpCode::Shl:
    case OpCode::Shr: case OpCode::Swap:
      return 2;
    case OpCode::Rot:
      return 3;
    case OpCode::Negate: case OpCode::Inc: case OpCode::Dec: case OpCode::LogNot:
    case OpCode::BitNot: case OpCode::Pop: case OpCode::Dup: case OpCode::SetSlot:
      return 1;
    default:
      return 0;
  }
}

StackValue pop(std::vector<StackValue>& stack) {
  StackValue v = stack.back();
  stack.pop_back();
  return v;
}

}  // namespace

bool collect_slots(const jit_abi::UnitRequest& req, std::vector<uint16_t>& slots, std::string& reason) {
  std::vector<bool> seen;
  auto note = [&](uint16_t s, size_t ip) {
    if (s >= req.num_slots) {
      reason = format("%s at op %zu names slot %u but the unit has %u slot(s)",
                      op_label(req.ops[ip].code).c_str(), ip, static_cast<unsigned>(s), req.num_slots);
      return false;
    }
    if (seen.size() <= s) seen.resize(static_cast<size_t>(s) + 1, false);
    seen[s] = true;
    return true;
  };
  for (size_t ip = 0; ip < req.num_ops; ++ip) {
    const jit_abi::AbiOp& op = req.ops[ip];
    switch (static_cast<OpCode>(op.code)) {
      case OpCode::GetSlot: case OpCode::SetSlot: case OpCode::PreIncSlot:
      case OpCode::PreIncSlotVoid: case OpCode::SlotLtIntJumpIfFalse:
      case OpCode::SlotIncLtIntJumpBack:
        if (!note(op.small[0], ip)) return false;
        break;
      case OpCode::AccumSumLoop: case OpCode::AddAssignSlotVoid:
        if (!note(op.small[0], ip) || !note(op.small[1], ip)) return false;
        break;
      default:
        break;
    }
  }
  slots.clear();
  for (size_t s = 0; s < seen.size(); ++s) {
    if (seen[s]) slots.push_back(static_cast<uint16_t>(s));
  }
  return true;
}

llvm::Function* create_unit_function(llvm::Module& m, const char* name, llvm::Type* ret,
                                     llvm::ArrayRef<llvm::Type*> params) {
  llvm::FunctionType* type = llvm::FunctionType::get(ret, params, false);
  llvm::Function* f = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage, name, m);
  f->setDoesNotThrow();
  // Pointer arguments (slots, bailed) never alias each other and never escape.
  for (llvm::Argument& a : f->args()) {
    a.addAttr(llvm::Attribute::NoCapture);
    a.addAttr(llvm::Attribute::NoAlias);
  }
  return f;
}

OpEmitter::OpEmitter(llvm::IRBuilder<>& builder, const jit_abi::UnitRequest& request, TierPolicy policy,
                     std::vector<llvm::Value*> slot_addr)
    : b_(builder),
      req_(request),
      policy_(std::move(policy)),
      slot_addr_(std::move(slot_addr)),
      i64_(builder.getInt64Ty()),
      f64_(builder.getDoubleTy()) {}

llvm::Value* OpEmitter::slot_address(size_t s) const {
  return s < slot_addr_.size() ? slot_addr_[s] : nullptr;
}

llvm::Value* OpEmitter::to_int(StackValue v) {
  if (v.ty == Ty::Int) return v.value;
  return b_.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {i64_, f64_}, {v.value}, nullptr, "toint");
}

llvm::Value* OpEmitter::to_float(StackValue v) {
  if (v.ty == Ty::Float) return v.value;
  return b_.CreateSIToFP(v.value, f64_, "tofloat");
}

llvm::Value* OpEmitter::truthy(StackValue v) {
  if (v.ty == Ty::Int) return b_.CreateICmpNE(v.value, b_.getInt64(0), "truthy");
  llvm::Value* zero = llvm::ConstantFP::get(f64_, 0.0);
  // -0.0 is falsy under both rules; they differ only on NaN.
  return policy_.nan_truthy ? b_.CreateFCmpUNE(v.value, zero, "truthy")
                            : b_.CreateFCmpONE(v.value, zero, "truthy");
}

llvm::Value* call_pure_helper(llvm::IRBuilder<>& b, const char* name, llvm::Type* ret, llvm::Value* x,
                              llvm::Value* y) {
  llvm::Module& m = *b.GetInsertBlock()->getModule();
  llvm::FunctionType* type = llvm::FunctionType::get(ret, {x->getType(), y->getType()}, false);
  llvm::FunctionCallee callee = m.getOrInsertFunction(name, type);
  if (auto* f = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
    // Pure functions of their arguments (errno from pow/fmod is never observed), so the
    // optimiser may CSE or hoist calls out of loops.
    f->setDoesNotAccessMemory();
    f->setDoesNotThrow();
    f->setWillReturn();
  }
  return b.CreateCall(callee, {x, y});
}

llvm::Value* OpEmitter::call_helper(const char* name, llvm::Type* ret, llvm::Value* a, llvm::Value* b) {
  return call_pure_helper(b_, name, ret, a, b);
}

llvm::Value* OpEmitter::int_div(llvm::Value* x, llvm::Value* y) {
  llvm::Value* zero = b_.getInt64(0);
  llvm::Value* minus1 = b_.getInt64(-1);
  llvm::Value* is_zero = b_.CreateICmpEQ(y, zero);
  llvm::Value* is_minus1 = b_.CreateICmpEQ(y, minus1);
  if (policy_.bail_if) {
    // sdiv by 0 and MIN / -1 are undefined in LLVM: leave before reaching them.
    llvm::Value* overflow = b_.CreateAnd(is_minus1, b_.CreateICmpEQ(x, b_.getInt64(INT64_MIN)));
    policy_.bail_if(b_.CreateOr(is_zero, overflow, "div.bad"));
    return b_.CreateSDiv(x, y, "div");
  }
  // Total form: the divisor handed to sdiv is never 0 or -1; x / -1 is a wrapping negate
  // (MIN / -1 = MIN) and x / 0 gives 0 (unreachable after the core's validation).
  llvm::Value* safe = b_.CreateSelect(b_.CreateOr(is_zero, is_minus1), b_.getInt64(1), y);
  llvm::Value* q = b_.CreateSDiv(x, safe, "div");
  return b_.CreateSelect(is_minus1, b_.CreateNeg(x), b_.CreateSelect(is_zero, zero, q));
}

llvm::Value* OpEmitter::int_mod(llvm::Value* x, llvm::Value* y) {
  llvm::Value* zero = b_.getInt64(0);
  llvm::Value* is_zero = b_.CreateICmpEQ(y, zero);
  // x srem -1 is 0 for every x but undefined for MIN, and x srem 1 is also 0: divide by 1.
  llvm::Value* is_minus1 = b_.CreateICmpEQ(y, b_.getInt64(-1));
  if (policy_.bail_if) {
    policy_.bail_if(is_zero);
    return b_.CreateSRem(x, b_.CreateSelect(is_minus1, b_.getInt64(1), y), "mod");
  }
  // A zero divisor gives 0 as in the interpreter (42 % 0 == 0).
  llvm::Value* safe = b_.CreateSelect(b_.CreateOr(is_zero, is_minus1), b_.getInt64(1), y);
  return b_.CreateSelect(is_zero, zero, b_.CreateSRem(x, safe, "mod"));
}

EmitStatus OpEmitter::binary_arith(uint8_t code, std::vector<StackValue>& stack) {
  StackValue y = pop(stack);
  StackValue x = pop(stack);
  const auto c = static_cast<OpCode>(code);
  if (x.ty == Ty::Float || y.ty == Ty::Float) {
    llvm::Value* fx = to_float(x);
    llvm::Value* fy = to_float(y);
    llvm::Value* r = nullptr;
    switch (c) {
      case OpCode::Add: r = b_.CreateFAdd(fx, fy, "fadd"); break;
      case OpCode::Sub: r = b_.CreateFSub(fx, fy, "fsub"); break;
      case OpCode::Mul: r = b_.CreateFMul(fx, fy, "fmul"); break;
      case OpCode::Div: r = b_.CreateFDiv(fx, fy, "fdiv"); break;  // IEEE: x/0 is ±inf or NaN
      case OpCode::Mod: r = call_helper(kFmodF64, f64_, fx, fy); break;
      default: r = call_helper(kPowF64, f64_, fx, fy); break;
    }
    stack.push_back({r, Ty::Float});
    return EmitStatus::kDone;
  }
  llvm::Value* r = nullptr;
  switch (c) {
    // No nsw/nuw flags: integer arithmetic wraps modulo 2^64.
    case OpCode::Add: r = b_.CreateAdd(x.value, y.value, "add"); break;
    case OpCode::Sub: r = b_.CreateSub(x.value, y.value, "sub"); break;
    case OpCode::Mul: r = b_.CreateMul(x.value, y.value, "mul"); break;
    case OpCode::Div: r = int_div(x.value, y.value); break;
    case OpCode::Mod: r = int_mod(x.value, y.value); break;
    // Int ** Int stays Int on the direct API (test-locked, spec/jit.md §2.7 Q-L2).
    default: r = call_helper(kPowI64, i64_, x.value, y.value); break;
  }
  stack.push_back({r, Ty::Int});
  return EmitStatus::kDone;
}

EmitStatus OpEmitter::compare(uint8_t code, std::vector<StackValue>& stack) {
  StackValue y = pop(stack);
  StackValue x = pop(stack);
  const auto c = static_cast<OpCode>(code);
  const bool fp = x.ty == Ty::Float || y.ty == Ty::Float;
  llvm::Value* a = fp ? to_float(x) : x.value;
  llvm::Value* b = fp ? to_float(y) : y.value;
  llvm::Value* r = nullptr;
  if (c == OpCode::Spaceship) {
    // NaN compares neither less nor greater, so it gives 0.
    llvm::Value* lt = fp ? b_.CreateFCmpOLT(a, b) : b_.CreateICmpSLT(a, b);
    llvm::Value* gt = fp ? b_.CreateFCmpOGT(a, b) : b_.CreateICmpSGT(a, b);
    r = b_.CreateSelect(lt, b_.getInt64(-1), b_.CreateSelect(gt, b_.getInt64(1), b_.getInt64(0)),
                        "cmp3");
  } else {
    using P = llvm::CmpInst::Predicate;
    P p;
    switch (c) {
      // Ordered float predicates except Ne, which is unordered: NaN != x holds.
      case OpCode::NumEq: p = fp ? P::FCMP_OEQ : P::ICMP_EQ; break;
      case OpCode::NumNe: p = fp ? P::FCMP_UNE : P::ICMP_NE; break;
      case OpCode::NumLt: p = fp ? P::FCMP_OLT : P::ICMP_SLT; break;
      case OpCode::NumGt: p = fp ? P::FCMP_OGT : P::ICMP_SGT; break;
      case OpCode::NumLe: p = fp ? P::FCMP_OLE : P::ICMP_SLE; break;
      default: p = fp ? P::FCMP_OGE : P::ICMP_SGE; break;
    }
    llvm::Value* bit = fp ? b_.CreateFCmp(p, a, b) : b_.CreateICmp(p, a, b);
    r = b_.CreateZExt(bit, i64_, "cmp");  // comparisons give Int 0/1 (Q-L2)
  }
  stack.push_back({r, Ty::Int});
  return EmitStatus::kDone;
}

EmitStatus OpEmitter::bitwise(uint8_t code, std::vector<StackValue>& stack, std::string& reason,
                              size_t ip) {
  const auto c = static_cast<OpCode>(code);
  const size_t n = c == OpCode::BitNot ? 1 : 2;
  for (size_t k = stack.size() - n; k < stack.size(); ++k) {
    if (stack[k].ty == Ty::Float) {
      // The reference rejects a Float operand here rather than converting it.
      reason = format("%s at op %zu has a Float operand", op_label(code).c_str(), ip);
      return EmitStatus::kFailed;
    }
  }
  if (c == OpCode::BitNot) {
    StackValue x = pop(stack);
    stack.push_back({b_.CreateNot(x.value, "not"), Ty::Int});
    return EmitStatus::kDone;
  }
  StackValue y = pop(stack);
  StackValue x = pop(stack);
  llvm::Value* r = nullptr;
  switch (c) {
    case OpCode::BitAnd: r = b_.CreateAnd(x.value, y.value, "and"); break;
    case OpCode::BitOr: r = b_.CreateOr(x.value, y.value, "or"); break;
    case OpCode::BitXor: r = b_.CreateXor(x.value, y.value, "xor"); break;
    // A shift by 64 or more is poison in LLVM; the VM masks the count with 63.
    case OpCode::Shl: r = b_.CreateShl(x.value, b_.CreateAnd(y.value, b_.getInt64(63)), "shl"); break;
    default: r = b_.CreateAShr(x.value, b_.CreateAnd(y.value, b_.getInt64(63)), "shr"); break;
  }
  stack.push_back({r, Ty::Int});
  return EmitStatus::kDone;
}

EmitStatus OpEmitter::emit(size_t ip, std::vector<StackValue>& stack, std::string& reason) {
  const jit_abi::AbiOp& op = req_.ops[ip];
  if (op.code >= kNumOps) {
    reason = format("unknown opcode %u at op %zu", static_cast<unsigned>(op.code), ip);
    return EmitStatus::kFailed;
  }
  const auto c = static_cast<OpCode>(op.code);
  if (stack.size() < pops_of(c)) {
    reason = format("stack underflow at op %zu (%s)", ip, op_label(op.code).c_str());
    return EmitStatus::kFailed;
  }
  auto slot = [&](uint16_t s) -> llvm::Value* {
    llvm::Value* addr = slot_address(s);
    if (addr == nullptr) {
      reason = format("%s at op %zu names slot %u, which the unit does not have",
                      op_label(op.code).c_str(), ip, static_cast<unsigned>(s));
    }
    return addr;
  };
  switch (c) {
    case OpCode::Nop:
      return EmitStatus::kDone;
    case OpCode::LoadInt:
      stack.push_back({b_.getInt64(op.wide), Ty::Int});
      return EmitStatus::kDone;
    case OpCode::LoadFloat:
      // An integral LoadFloat stays Float (quirk Q-L1 fixed); the exact bits are kept.
      stack.push_back({llvm::ConstantFP::get(b_.getContext(), llvm::APFloat(llvm::APFloat::IEEEdouble(),
                                                                             llvm::APInt(64, op.wide))),
                       Ty::Float});
      return EmitStatus::kDone;
    case OpCode::LoadConst: {
      const uint16_t k = op.small[0];
      if (k >= req_.num_consts) {
        reason = format("LoadConst at op %zu: constant %u out of range", ip, static_cast<unsigned>(k));
        return EmitStatus::kFailed;
      }
      const jit_abi::AbiConst& kc = req_.consts[k];
      if (kc.kind == jit_abi::kConstInt) {
        stack.push_back({b_.getInt64(kc.bits), Ty::Int});
      } else if (kc.kind == jit_abi::kConstFloat) {
        stack.push_back(
            {llvm::ConstantFP::get(
                 b_.getContext(), llvm::APFloat(llvm::APFloat::IEEEdouble(), llvm::APInt(64, kc.bits))),
             Ty::Float});
      } else {
        reason = format("LoadConst at op %zu: constant %u is not an Int or a Float", ip,
                        static_cast<unsigned>(k));
        return EmitStatus::kFailed;
      }
      return EmitStatus::kDone;
    }
    case OpCode::LoadTrue:
      stack.push_back({b_.getInt64(1), Ty::Int});
      return EmitStatus::kDone;
    case OpCode::LoadFalse:
      stack.push_back({b_.getInt64(0), Ty::Int});
      return EmitStatus::kDone;
    case OpCode::Pop:
      stack.pop_back();
      return EmitStatus::kDone;
    case OpCode::Dup:
      stack.push_back(stack.back());
      return EmitStatus::kDone;
    case OpCode::Swap:  // mixed Int/Float is fine (quirk Q-L4 fixed)
      std::swap(stack[stack.size() - 1], stack[stack.size() - 2]);
      return EmitStatus::kDone;
    case OpCode::Rot: {  // [a b c] -> [b c a]
      StackValue a = stack[stack.size() - 3];
      stack.erase(stack.end() - 3);
      stack.push_back(a);
      return EmitStatus::kDone;
    }
    case OpCode::Add: case OpCode::Sub: case OpCode::Mul: case OpCode::Div: case OpCode::Mod:
    case OpCode::Pow:
      return binary_arith(op.code, stack);
    case OpCode::Negate: {
      StackValue x = pop(stack);
      stack.push_back(x.ty == Ty::Float ? StackValue{b_.CreateFNeg(x.value, "fneg"), Ty::Float}
                                        : StackValue{b_.CreateNeg(x.value, "neg"), Ty::Int});
      return EmitStatus::kDone;
    }
    case OpCode::Inc: case OpCode::Dec: {
      // A Float is truncated with saturation first, so the result is always Int (Q-L6 fixed).
      llvm::Value* x = to_int(pop(stack));
      llvm::Value* r = c == OpCode::Inc ? b_.CreateAdd(x, b_.getInt64(1), "inc")
                                        : b_.CreateSub(x, b_.getInt64(1), "dec");
      stack.push_back({r, Ty::Int});
      return EmitStatus::kDone;
    }
    case OpCode::NumEq: case OpCode::NumNe: case OpCode::NumLt: case OpCode::NumGt:
    case OpCode::NumLe: case OpCode::NumGe: case OpCode::Spaceship:
      return compare(op.code, stack);
    case OpCode::LogNot: {
      StackValue x = pop(stack);
      stack.push_back({b_.CreateZExt(b_.CreateNot(truthy(x)), i64_, "lognot"), Ty::Int});
      return EmitStatus::kDone;
    }
    case OpCode::BitAnd: case OpCode::BitOr: case OpCode::BitXor: case OpCode::BitNot:
    case OpCode::Shl: case OpCode::Shr:
      return bitwise(op.code, stack, reason, ip);
    case OpCode::GetSlot: {
      llvm::Value* addr = slot(op.small[0]);
      if (addr == nullptr) return EmitStatus::kFailed;
      stack.push_back({b_.CreateLoad(i64_, addr, "slot"), Ty::Int});
      return EmitStatus::kDone;
    }
    case OpCode::SetSlot: {
      llvm::Value* addr = slot(op.small[0]);
      if (addr == nullptr) return EmitStatus::kFailed;
      b_.CreateStore(to_int(pop(stack)), addr);  // slots hold i64 only: a Float is truncated
      return EmitStatus::kDone;
    }
    case OpCode::PreIncSlot: case OpCode::PreIncSlotVoid: {
      llvm::Value* addr = slot(op.small[0]);
      if (addr == nullptr) return EmitStatus::kFailed;
      llvm::Value* n = b_.CreateAdd(b_.CreateLoad(i64_, addr), b_.getInt64(1), "preinc");
      b_.CreateStore(n, addr);
      if (c == OpCode::PreIncSlot) stack.push_back({n, Ty::Int});
      return EmitStatus::kDone;
    }
    case OpCode::AddAssignSlotVoid: {
      llvm::Value* a = slot(op.small[0]);
      if (a == nullptr) return EmitStatus::kFailed;
      llvm::Value* b = slot(op.small[1]);
      if (b == nullptr) return EmitStatus::kFailed;
      llvm::Value* va = b_.CreateLoad(i64_, a);
      llvm::Value* vb = b_.CreateLoad(i64_, b);
      b_.CreateStore(b_.CreateAdd(va, vb, "addassign"), a);
      return EmitStatus::kDone;
    }
    default:
      return EmitStatus::kNotData;
  }
}

}  // namespace fusevm::jit_llvm
