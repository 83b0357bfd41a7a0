// Per-op IR for the data and slot ops that the linear and block tiers share (spec/jit.md §2.4).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <llvm/IR/IRBuilder.h>

#include "jit_abi/plugin_abi.hpp"
#include "jit_llvm/op_text.hpp"

namespace fusevm::jit_llvm {

/// Machine type of an abstract-stack entry. The reference JIT has no Bool: booleans are Int 0/1.
enum class Ty : uint8_t { Int, Float };

/// One entry of the compile-time model of the VM stack.
struct StackValue {
  llvm::Value* value;
  Ty ty;
};

/// What differs between the tiers inside the shared per-op code.
struct TierPolicy {
  /// Float truthiness of LogNot (and of branches in the block tier). True: `une 0.0`, NaN is
  /// truthy as in the interpreter. False: `one 0.0`, NaN is falsy as in the reference's
  /// linear tier, whose LogNot results the direct API's tests pin.
  bool nan_truthy = false;
  /// Block tier: leave the function through the bail-out path (set *bailed, return 0) when
  /// the i1 `cond` holds, continuing in a fresh block. Empty in the linear tier, where the
  /// core admits only exact constant integer division, so division is made total instead.
  std::function<void(llvm::Value* cond)> bail_if;
};

/// Outcome of emitting one op.
enum class EmitStatus {
  kDone,     ///< emitted
  kNotData,  ///< not a shared op: the tier emits it (control flow) or rejects it
  kFailed,   ///< the unit cannot compile; the reason says why
};

/// Emits the shared ops into the builder's current insertion block.
class OpEmitter {
 public:
  /// `slot_addr[s]` is where slot s lives for this tier (a pointer into the caller's array,
  /// or an alloca that mem2reg promotes); null or missing for a slot the unit never names.
  OpEmitter(llvm::IRBuilder<>& builder, const jit_abi::UnitRequest& request, TierPolicy policy,
            std::vector<llvm::Value*> slot_addr);

  /// Emits op `ip` against `stack`.
  EmitStatus emit(size_t ip, std::vector<StackValue>& stack, std::string& reason);

  /// `v` as i64. A Float goes through llvm.fptosi.sat (saturating, NaN -> 0, the
  /// interpreter's to_int) because plain fptosi gives poison out of range.
  llvm::Value* to_int(StackValue v);
  /// `v` as f64 (sitofp for an Int, the promotion the interpreter uses).
  llvm::Value* to_float(StackValue v);
  /// `v` as i1 under the tier's truthiness rule.
  llvm::Value* truthy(StackValue v);
  /// Where slot `s` lives, or null if the unit has no such slot.
  llvm::Value* slot_address(size_t s) const;

 private:
  EmitStatus binary_arith(uint8_t code, std::vector<StackValue>& stack);
  EmitStatus compare(uint8_t code, std::vector<StackValue>& stack);
  EmitStatus bitwise(uint8_t code, std::vector<StackValue>& stack, std::string& reason, size_t ip);
  llvm::Value* int_div(llvm::Value* x, llvm::Value* y);
  llvm::Value* int_mod(llvm::Value* x, llvm::Value* y);
  llvm::Value* call_helper(const char* name, llvm::Type* ret, llvm::Value* a, llvm::Value* b);

  llvm::IRBuilder<>& b_;
  const jit_abi::UnitRequest& req_;
  TierPolicy policy_;
  std::vector<llvm::Value*> slot_addr_;
  llvm::Type* i64_;
  llvm::Type* f64_;
};

/// The slots any op of the unit names (both of AccumSumLoop and AddAssignSlotVoid), in
/// ascending order. False, with `reason`, when one is not below request.num_slots: the
/// caller's array has exactly num_slots entries and code never writes past it.
bool collect_slots(const jit_abi::UnitRequest& request, std::vector<uint16_t>& slots,
                   std::string& reason);

/// A call of runtime helper `name` (runtime_helpers.hpp) on two arguments, declared as a
/// pure function of them so that the optimiser may CSE it or hoist it out of loops.
llvm::Value* call_pure_helper(llvm::IRBuilder<>& b, const char* name, llvm::Type* ret, llvm::Value* x,
                              llvm::Value* y);

/// The unit's function: external, C calling convention, nounwind. No unwind tables: the
/// engine adds them only when a debugger or profiler is attached (they cost link time).
llvm::Function* create_unit_function(llvm::Module& module, const char* name, llvm::Type* ret,
                                     llvm::ArrayRef<llvm::Type*> params);

}  // namespace fusevm::jit_llvm
