// The kUnitVm IR: kind-exact code the VM enters and leaves through a VmUnitFrame.
//
// Every slot and stack value is an SSA value of a static kind (vm_kinds.cpp): Int i64,
// Float double, Bool i1, Undef nothing at all. A basic block starts with one phi per
// non-Undef value; memory is touched only at entry (loads) and at exits (stores), so the
// values of a loop live in registers. Exits are separate blocks at the end of the function.
#include <cstddef>
#include <memory>
#include <map>
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
              offsetof(VmUnitFrame, exit_depth) == 32 && offsetof(VmUnitFrame, exit_reason) == 36 &&
              offsetof(VmUnitFrame, core) == 40 && offsetof(VmUnitFrame, call_out) == 48,
              "emit_vm.cpp addresses VmUnitFrame's fields by these offsets");
static_assert(offsetof(jit_abi::AbiValue, bits) == 0 && offsetof(jit_abi::AbiValue, tag) == 8 &&
              sizeof(jit_abi::AbiValue) == 16);
using jit_abi::FnFrame;
using jit_abi::FnRecord;
static_assert(offsetof(FnFrame, args) == 0 && offsetof(FnFrame, poll) == 8 && offsetof(FnFrame, base) == 16 &&
                  offsetof(FnFrame, max_stack) == 24 && offsetof(FnFrame, depth_room) == 32 &&
                  offsetof(FnFrame, core) == 40 && offsetof(FnFrame, record) == 48 &&
                  offsetof(FnFrame, result) == 56 && offsetof(FnFrame, has_result) == 72,
              "emit_vm.cpp addresses FnFrame's fields by these offsets");
static_assert(offsetof(FnRecord, ip) == 0 && offsetof(FnRecord, reason) == 8 && offsetof(FnRecord, num_slots) == 12 &&
                  offsetof(FnRecord, slots) == 16 && offsetof(FnRecord, stack) == 24 &&
                  offsetof(FnRecord, depth) == 32 && sizeof(FnRecord) == 40,
              "emit_vm.cpp fills FnRecord by these offsets");

// What a compiled function's version returns: the payload of its result and an FnExit.
llvm::StructType* fn_result_type(llvm::LLVMContext& ctx) {
  return llvm::StructType::get(ctx, {llvm::Type::getInt64Ty(ctx), llvm::Type::getInt32Ty(ctx)});
}

// Leading parameters of a compiled function's version: FnFrame*, the interpreter stack
// height below its frame's region, its call depth (1 = called by the interpreter); the
// arguments' payloads follow.
constexpr unsigned kFnFixedParams = 3;

/// One value of the unit: `v` is null for Undef, i1 for Bool, i64 for Int, double for Float.
struct Val {
  llvm::Value* v;
  Kind k;
};

/// The values at one program point, laid out as KindState.
struct ValState {
  std::vector<Val> slots;
  std::vector<Val> stack;
  uint32_t loop = 0;           ///< KindState::loop
  uint64_t entered_from = 0;   ///< KindState::entered_from
};

KindState kinds_of(const ValState& s) {
  KindState k;
  k.slots.reserve(s.slots.size());
  for (const Val& v : s.slots) k.slots.push_back(v.k);
  k.stack.reserve(s.stack.size());
  for (const Val& v : s.stack) k.stack.push_back(v.k);
  k.loop = s.loop;
  k.entered_from = s.entered_from;
  return k;
}

class VmBuilder {
 public:
  /// `fns` and `versions` (the declared function of each FnPlan version) for a kUnitFn.
  VmBuilder(llvm::Module& m, const jit_abi::UnitRequest& req, const VmPlan& plan, std::string& reason,
            const FnPlan* fns = nullptr, const std::vector<llvm::Function*>* versions = nullptr)
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
        ptr_(llvm::PointerType::get(ctx_, 0)),
        fns_(fns),
        versions_(versions) {}

  bool build(uint32_t& max_exit_stack) {
    f_ = create_unit_function(module_, req_.name, i32_, {ptr_});
    f_->getArg(0)->setName("frame");
    llvm::BasicBlock* entry = llvm::BasicBlock::Create(ctx_, "entry", f_);
    make_leader_blocks();
    b_.SetInsertPoint(entry);
    llvm::Value* frame = f_->getArg(0);
    llvm::Value* slots = b_.CreateLoad(ptr_, field(frame, offsetof(VmUnitFrame, slots)), "slots");
    llvm::Value* stack = b_.CreateLoad(ptr_, field(frame, offsetof(VmUnitFrame, stack)), "stack");
    poll_ = b_.CreateLoad(ptr_, field(frame, offsetof(VmUnitFrame, poll)), "poll");
    ValState start;
    for (size_t k = 0; k < plan_.named_slots.size(); ++k) {
      start.slots.push_back(load_value(slots, plan_.named_slots[k], plan_.entry.slots[k]));
    }
    for (size_t k = 0; k < plan_.entry.stack.size(); ++k) {
      start.stack.push_back(load_value(stack, k, plan_.entry.stack[k]));
    }
    origin_ = 0;
    b_.CreateBr(edge_to(VmPlan::kNoIp, req_.entry_ip, false, start));  // entering polls nothing
    if (!emit_blocks()) return false;
    max_exit_stack = max_exit_stack_;
    return true;
  }

  /// The body of FnPlan version plan.version, into its declared function.
  bool build_version() {
    f_ = (*versions_)[static_cast<size_t>(plan_.version)];
    const FnVersion& self = fns_->versions[static_cast<size_t>(plan_.version)];
    llvm::BasicBlock* entry = llvm::BasicBlock::Create(ctx_, "entry", f_);
    make_leader_blocks();
    b_.SetInsertPoint(entry);
    fn_frame_ = f_->getArg(0);
    fn_base_ = f_->getArg(1);
    fn_depth_ = f_->getArg(2);
    poll_ = b_.CreateLoad(ptr_, field(fn_frame_, offsetof(FnFrame, poll)), "poll");
    max_stack_ = b_.CreateLoad(i64_, field(fn_frame_, offsetof(FnFrame, max_stack)), "max_stack");
    depth_room_ = b_.CreateLoad(i64_, field(fn_frame_, offsetof(FnFrame, depth_room)), "depth_room");
    // Bail-outs store the frame here (allocas in the entry block are static).
    bail_slot_count_ = plan_.named_slots.empty() ? 0 : plan_.named_slots.back() + 1u;
    llvm::Type* value_ty = llvm::ArrayType::get(i8_, sizeof(jit_abi::AbiValue));
    bail_slots_ = b_.CreateAlloca(value_ty, b_.getInt32(std::max(bail_slot_count_, 1u)), "bail.slots");
    bail_stack_ = b_.CreateAlloca(value_ty, b_.getInt32(std::max(plan_.max_depth, 1u)), "bail.stack");
    bail_record_ = b_.CreateAlloca(llvm::ArrayType::get(i8_, sizeof(FnRecord)), nullptr, "bail.record");
    ValState start;
    for (size_t k = 0; k < plan_.named_slots.size(); ++k) start.slots.push_back({nullptr, Kind::Undef});
    for (size_t k = 0; k < self.args.size(); ++k) {
      start.stack.push_back(from_payload(f_->getArg(kFnFixedParams + static_cast<unsigned>(k)), self.args[k]));
    }
    origin_ = 0;
    b_.CreateBr(edge_to(VmPlan::kNoIp, self.entry, false, start));
    return emit_blocks();
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

  // A value of kind `k` from its 8 payload bytes as an i64.
  Val from_payload(llvm::Value* bits, Kind k) {
    switch (k) {
      case Kind::Undef: return {nullptr, k};
      case Kind::Bool: return {b_.CreateICmpNE(bits, b_.getInt64(0)), k};
      case Kind::Int: return {bits, k};
      default: return {b_.CreateBitCast(bits, f64_), k};
    }
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

  // One block per version of each block start, consecutive in leaders_.
  void make_leader_blocks() {
    leader_of_.assign(static_cast<size_t>(plan_.end - plan_.begin), -1);
    for (uint64_t ip = plan_.begin; ip < plan_.end; ++ip) {
      if (!plan_.is_leader(ip)) continue;
      leader_of_[ip - plan_.begin] = static_cast<int32_t>(leaders_.size());
      const std::vector<KindState>& versions = plan_.at(ip);
      for (size_t v = 0; v < versions.size(); ++v) {
        Leader l;
        l.block = llvm::BasicBlock::Create(
            ctx_, format("op%llu.v%zu", static_cast<unsigned long long>(ip), v), f_);
        llvm::IRBuilder<> b(l.block);
        for (Kind k : versions[v].slots) l.phis.slots.push_back(make_phi(b, k));
        for (Kind k : versions[v].stack) l.phis.stack.push_back(make_phi(b, k));
        l.phis.loop = versions[v].loop;
        l.phis.entered_from = versions[v].entered_from;
        leaders_.push_back(std::move(l));
      }
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

  Leader& leader(uint64_t ip, int32_t version) {
    return leaders_[static_cast<size_t>(leader_of_[ip - plan_.begin] + version)];
  }

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

  // The block that control moving from op `from` (VmPlan::kNoIp: the unit's entry) in the
  // current block to `target` with `s` branches to. A `taken` jump (forward or backward)
  // polls, as the interpreter does at every taken jump, so a pending interrupt stops
  // native code at the same op; falling through does not, nor does a jump that stays in a
  // bounded loop run unpolled (BoundedLoop says why that is exact). Kinds none of the
  // target's versions has, and targets outside the range, leave the unit (kExitLeft, the
  // interpreter continues at the target).
  llvm::BasicBlock* edge_to(uint64_t from, uint64_t target, bool taken, const ValState& s) {
    if (s.loop != 0 && from == plan_.bounded[s.loop - 1].exit_ip && plan_.leaves(target, s.loop)) {
      return strip_exit(target, taken, s);
    }
    return plain_edge_to(from, target, taken, s);
  }

  // edge_to() for every edge but a strip's end.
  llvm::BasicBlock* plain_edge_to(uint64_t from, uint64_t target, bool taken, const ValState& s) {
    ValState t = s;
    KindState k = kinds_of(s);
    plan_.loop_after(target, k);
    t.loop = k.loop;
    t.entered_from = k.entered_from;
    if (!taken || t.loop != 0) return arrival(from, target, t, b_.GetInsertBlock());
    llvm::BasicBlock* poll = llvm::BasicBlock::Create(ctx_, "poll", f_, b_.GetInsertBlock()->getNextNode());
    llvm::BasicBlock* dest = arrival(from, target, t, poll);
    llvm::IRBuilder<> pb(poll);
    pb.CreateCondBr(poll_pending(pb), make_exit(jit_abi::kExitPoll, target, t), dest, unlikely());
    return poll;
  }

  // Where an edge from block `pred` carrying `t` continues at `target`: its version, an
  // exit, or, entering a bounded loop, a block that picks the unpolled version (through
  // its strip head) when no interrupt is pending, the polled one otherwise.
  llvm::BasicBlock* arrival(uint64_t from, uint64_t target, const ValState& t, llvm::BasicBlock* pred) {
    const int32_t entering = plan_.bounded_entry(from, target, kinds_of(t));
    ValState unpolled = t;
    unpolled.loop = static_cast<uint32_t>(entering + 1);
    unpolled.entered_from = origin_;
    const int32_t fast = entering >= 0 ? plan_.version_of(target, kinds_of(unpolled)) : -1;
    llvm::BasicBlock* pick = nullptr;
    if (fast >= 0) {
      pick = llvm::BasicBlock::Create(ctx_, "bounded.entry", f_, pred->getNextNode());
      add_incoming(strip_head(target, fast).phis, unpolled, pick);
      pred = pick;
    }
    const int32_t version = plan_.version_of(target, kinds_of(t));
    Leader* to = version >= 0 ? &leader(target, version) : nullptr;
    llvm::BasicBlock* dest = to != nullptr ? to->block : make_exit(jit_abi::kExitLeft, target, t);
    if (to != nullptr) add_incoming(to->phis, t, pred);
    if (pick == nullptr) return dest;
    // A flag already raised goes the polled way, so it stops at the same jump as the
    // interpreter does; only a flag raised during a strip waits for the strip's end.
    llvm::IRBuilder<> b(pick);
    b.CreateCondBr(poll_pending(b), dest, strip_head(target, fast).block, unlikely());
    return pick;
  }

  // -- Strips of a bounded loop ------------------------------------------------------------
  //
  // An unpolled version of a bounded loop runs in strips: its strip head sets the counter
  // value the strip ends at (`hi`: BoundedLoop::laps laps on, or the loop's own limit when
  // it ends within them), and in that version the loop's test compares with `hi` instead
  // of its limit. So each strip is a counted loop with one exit, whose trip count LLVM
  // computes (and whose sums it closes); the exit goes on past the loop at the limit, and
  // below it polls and starts the next strip at the header. A loop of any length thus
  // polls about every kUnpolledBudget of work. Where the test fails, the state is the
  // header's (the test's ops push nothing that stays), so the next strip, or the
  // interpreter after a poll, starts at the header exactly.

  struct StripHead {
    llvm::BasicBlock* block = nullptr;
    ValState phis;
  };

  // The strip head of version `version` of bounded-loop header `header`: the outer loop's
  // header, so the strip keeps one latch.
  StripHead& strip_head(uint64_t header, int32_t version) {
    auto [it, fresh] = strip_heads_.try_emplace({header, version});
    StripHead& h = it->second;
    if (!fresh) return h;
    const KindState& kinds = plan_.at(header)[static_cast<size_t>(version)];
    const BoundedLoop& l = plan_.bounded[kinds.loop - 1];
    Leader& body = leader(header, version);
    h.block = llvm::BasicBlock::Create(ctx_, format("strip%llu.v%d", static_cast<unsigned long long>(header), version),
                                       f_, body.block);
    llvm::IRBuilder<> b(h.block);
    for (Kind k : kinds.slots) h.phis.slots.push_back(make_phi(b, k));
    for (Kind k : kinds.stack) h.phis.stack.push_back(make_phi(b, k));
    h.phis.loop = kinds.loop;
    h.phis.entered_from = kinds.entered_from;
    // Below lowest_entry, c + laps stays below limit_excl (no overflow); from there on
    // the loop ends within `laps` laps.
    llvm::Value* c = h.phis.slots[plan_.pos(l.slot)].v;
    llvm::Value* last = b.CreateICmpSGE(c, b.getInt64(static_cast<uint64_t>(l.lowest_entry)));
    llvm::Value* hi = b.CreateSelect(last, b.getInt64(static_cast<uint64_t>(l.limit_excl)),
                                     b.CreateAdd(c, b.getInt64(static_cast<uint64_t>(l.laps))), "strip.hi");
    b.CreateStore(hi, strip_end_of(kinds.loop - 1));
    add_incoming(body.phis, h.phis, h.block);
    b.CreateBr(body.block);
    return h;
  }

  // Where bounded loop `loop`'s current strip ends: a stack variable (SROA makes it SSA),
  // because the test may sit in a version of the loop whose own strip head did not run
  // (kinds that changed during a lap).
  llvm::AllocaInst* strip_end_of(uint32_t loop) {
    if (strip_ends_.size() <= loop) strip_ends_.resize(loop + 1, nullptr);
    if (strip_ends_[loop] == nullptr) {
      llvm::BasicBlock& entry = f_->getEntryBlock();
      llvm::IRBuilder<> b(&entry, entry.begin());
      strip_ends_[loop] = b.CreateAlloca(i64_, nullptr, format("strip.end%u", loop));
    }
    return strip_ends_[loop];
  }

  // The limit an unpolled version's test compares with (BoundedLoop::limit_ip; limit_at),
  // as the value the test's op uses: the strip's end, less one for NumLe (c <= hi - 1 iff
  // c < hi; hi > c, so no overflow).
  llvm::Value* strip_limit(uint64_t ip, const ValState& s) {
    llvm::Value* hi = b_.CreateLoad(i64_, strip_end_of(s.loop - 1), "strip.hi");
    // A LoadInt limit is followed by its compare (BoundedLoop's shapes); a fused op may be
    // the last op.
    const bool le = static_cast<OpCode>(req_.ops[ip].code) == OpCode::LoadInt &&
                    static_cast<OpCode>(req_.ops[ip + 1].code) == OpCode::NumLe;
    return le ? b_.CreateSub(hi, b_.getInt64(1)) : hi;
  }

  // An unpolled version's test failed (at the strip's end): at the loop's limit the edge
  // to `target` leaves the loop as the test says; below it the loop goes on at its
  // header, after a poll, with the next strip.
  llvm::BasicBlock* strip_exit(uint64_t target, bool taken, const ValState& s) {
    const BoundedLoop& l = plan_.bounded[s.loop - 1];
    llvm::BasicBlock* here = b_.GetInsertBlock();
    llvm::BasicBlock* exit = llvm::BasicBlock::Create(ctx_, "strip.exit", f_, here->getNextNode());
    llvm::BasicBlock* next = llvm::BasicBlock::Create(ctx_, "strip.next", f_, exit->getNextNode());
    b_.SetInsertPoint(exit);
    llvm::BasicBlock* leave = plain_edge_to(l.exit_ip, target, taken, s);
    llvm::Value* on = b_.CreateICmpSLT(s.slots[plan_.pos(l.slot)].v, b_.getInt64(static_cast<uint64_t>(l.limit_excl)));
    b_.CreateCondBr(on, next, leave);
    b_.SetInsertPoint(next);
    const int32_t version = plan_.version_of(l.header, kinds_of(s));
    if (version < 0) {
      b_.CreateBr(make_exit(jit_abi::kExitLeft, l.header, s));
    } else {
      StripHead& h = strip_head(l.header, version);
      b_.CreateCondBr(poll_pending(b_), make_exit(jit_abi::kExitPoll, l.header, s), h.block, unlikely());
      add_incoming(h.phis, s, next);
    }
    b_.SetInsertPoint(here);
    return exit;
  }

  // True (i1) when the VM's poll flag is set. A plain load could be hoisted out of a loop
  // (nothing in it writes memory) and the loop would never see the flag: the atomic load
  // stays in every iteration.
  llvm::Value* poll_pending(llvm::IRBuilder<>& b) {
    llvm::LoadInst* flag = b.CreateLoad(i8_, poll_, "poll.flag");
    flag->setAtomic(llvm::AtomicOrdering::Monotonic);
    flag->setAlignment(llvm::Align(1));
    return b.CreateICmpNE(flag, b.getInt8(0));
  }

  void store_value(llvm::IRBuilder<>& b, llvm::Value* array, uint64_t index, const Val& v) {
    b.CreateStore(payload(b, v), payload_addr(b, array, index));
    b.CreateStore(b.getInt8(static_cast<uint8_t>(v.k)), tag_addr(b, array, index));
  }

  // A block at the end of the function that stores `s` into the frame and returns `why`
  // (in a compiled function: records the frame and returns kFnBailed).
  llvm::BasicBlock* make_exit(jit_abi::VmExit why, uint64_t resume_ip, const ValState& s) {
    static constexpr const char* kNames[] = {"exit.left", "exit.deopt", "exit.poll", "exit.callee"};
    llvm::BasicBlock* block = llvm::BasicBlock::Create(ctx_, kNames[why], f_);
    llvm::IRBuilder<> b(block);
    if (fns_ != nullptr) {
      record_bail(b, why, resume_ip, s);
      return block;
    }
    store_state(b, s);
    finish_exit(b, why, resume_ip, s.stack.size());
    return block;
  }

  // Stores every named slot and the abstract stack into the frame, as an exit leaves them.
  // The arrays are loaded here, not at entry: a call-out may have moved the frame's slots.
  void store_state(llvm::IRBuilder<>& b, const ValState& s) {
    llvm::Value* frame = f_->getArg(0);
    llvm::Value* slots = b.CreateLoad(ptr_, b.CreateConstInBoundsGEP1_64(i8_, frame, offsetof(VmUnitFrame, slots)));
    llvm::Value* stack = b.CreateLoad(ptr_, b.CreateConstInBoundsGEP1_64(i8_, frame, offsetof(VmUnitFrame, stack)));
    for (size_t k = 0; k < s.slots.size(); ++k) store_value(b, slots, plan_.named_slots[k], s.slots[k]);
    for (size_t k = 0; k < s.stack.size(); ++k) store_value(b, stack, k, s.stack[k]);
  }

  // Where the state in the frame stands: resume_ip and the `depth` values on its stack (an
  // exit's, or a call-out's before the core runs the op).
  void store_position(llvm::IRBuilder<>& b, uint64_t resume_ip, size_t depth) {
    llvm::Value* frame = f_->getArg(0);
    b.CreateStore(b.getInt64(resume_ip),
                  b.CreateConstInBoundsGEP1_64(i8_, frame, offsetof(VmUnitFrame, resume_ip)));
    b.CreateStore(b.getInt32(static_cast<uint32_t>(depth)),
                  b.CreateConstInBoundsGEP1_64(i8_, frame, offsetof(VmUnitFrame, exit_depth)));
    if (depth > max_exit_stack_) max_exit_stack_ = static_cast<uint32_t>(depth);
  }

  // Returns `why` with the state already in the frame (`depth` values on its stack).
  void finish_exit(llvm::IRBuilder<>& b, jit_abi::VmExit why, uint64_t resume_ip, size_t depth) {
    store_position(b, resume_ip, depth);
    return_reason(b, why);
  }

  // Stores `why` as the exit reason and returns it.
  void return_reason(llvm::IRBuilder<>& b, jit_abi::VmExit why) {
    llvm::Value* frame = f_->getArg(0);
    b.CreateStore(b.getInt32(why), b.CreateConstInBoundsGEP1_64(i8_, frame, offsetof(VmUnitFrame, exit_reason)));
    b.CreateRet(b.getInt32(why));
  }

  // A call-out at `ip` (UnitRequest::call_outs: a trace's CallBuiltin, or the first of
  // ops holding Str/Array/Hash values): the core runs it on the state an exit at `ip`
  // leaves, so it sees exactly what it would see interpreted (the stack, the frame's
  // slots, the globals). Native code then goes on from the frame's memory, if the stack
  // and every named slot have the kinds it was compiled for; else it leaves after the op
  // with that state, which is already in place.
  void call_out(uint64_t ip, ValState& s) {
    const jit_abi::AbiCallOut& c = *call_out_at(req_, ip);
    store_state(b_, s);
    store_position(b_, ip, s.stack.size());
    llvm::Value* frame = f_->getArg(0);
    llvm::Value* core = b_.CreateLoad(ptr_, field(frame, offsetof(VmUnitFrame, core)), "core");
    llvm::Value* fn = b_.CreateLoad(ptr_, field(frame, offsetof(VmUnitFrame, call_out)), "call_out");
    llvm::FunctionType* type = llvm::FunctionType::get(i32_, {ptr_, ptr_}, false);
    llvm::Value* status = b_.CreateCall(type, fn, {core, frame});
    llvm::BasicBlock* taken = llvm::BasicBlock::Create(ctx_, "exit.taken", f_);
    {
      llvm::IRBuilder<> tb(taken);
      return_reason(tb, jit_abi::kExitTaken);
    }
    go_on(b_.CreateICmpNE(status, b_.getInt32(0)), taken);
    llvm::BasicBlock* kinds_changed = llvm::BasicBlock::Create(ctx_, "exit.kinds", f_);
    {
      llvm::IRBuilder<> kb(kinds_changed);
      finish_exit(kb, jit_abi::kExitLeft, ip + 1, c.depth);  // (room for the stack the core writes back)
    }
    llvm::Value* slots = b_.CreateLoad(ptr_, field(frame, offsetof(VmUnitFrame, slots)), "slots.after");
    llvm::Value* stack = b_.CreateLoad(ptr_, field(frame, offsetof(VmUnitFrame, stack)), "stack.after");
    auto guarded = [&](llvm::Value* array, uint64_t index, Kind k) {
      llvm::Value* tag = b_.CreateLoad(i8_, tag_addr(b_, array, index));
      go_on(b_.CreateICmpNE(tag, b_.getInt8(static_cast<uint8_t>(k))), kinds_changed);
      return load_value(array, index, k);
    };
    s.stack.clear();
    for (uint32_t k = 0; k < c.depth; ++k) {
      s.stack.push_back(guarded(stack, k, static_cast<Kind>(req_.call_out_tags[c.tags + k])));
    }
    for (size_t k = 0; k < s.slots.size(); ++k) s.slots[k] = guarded(slots, plan_.named_slots[k], s.slots[k].k);
  }

  // Branches to `out` when `cond` holds (rarely); code continues in a fresh block.
  void go_on(llvm::Value* cond, llvm::BasicBlock* out) {
    llvm::BasicBlock* cont = llvm::BasicBlock::Create(ctx_, "cont", f_, b_.GetInsertBlock()->getNextNode());
    b_.CreateCondBr(cond, out, cont, unlikely());
    b_.SetInsertPoint(cont);
  }

  // A compiled function's bail-out: hands this frame (slots, stack, where it stands) to
  // the core's record callback and returns kFnBailed. Callers up the native stack do the
  // same for their frames as the status reaches them, so records arrive innermost first.
  void record_bail(llvm::IRBuilder<>& b, jit_abi::VmExit why, uint64_t ip, const ValState& s) {
    if (bail_slot_count_ != 0) {  // slots the function never names are Undef (all zero)
      b.CreateMemSet(bail_slots_, b.getInt8(0), bail_slot_count_ * sizeof(jit_abi::AbiValue), llvm::MaybeAlign(8));
    }
    for (size_t k = 0; k < s.slots.size(); ++k) store_value(b, bail_slots_, plan_.named_slots[k], s.slots[k]);
    for (size_t k = 0; k < s.stack.size(); ++k) store_value(b, bail_stack_, k, s.stack[k]);
    auto at = [&](size_t offset) { return b.CreateConstInBoundsGEP1_64(i8_, bail_record_, offset); };
    b.CreateStore(b.getInt64(ip), at(offsetof(FnRecord, ip)));
    b.CreateStore(b.getInt32(why), at(offsetof(FnRecord, reason)));
    b.CreateStore(b.getInt32(bail_slot_count_), at(offsetof(FnRecord, num_slots)));
    b.CreateStore(bail_slots_, at(offsetof(FnRecord, slots)));
    b.CreateStore(bail_stack_, at(offsetof(FnRecord, stack)));
    b.CreateStore(b.getInt32(static_cast<uint32_t>(s.stack.size())), at(offsetof(FnRecord, depth)));
    llvm::Value* core = b.CreateLoad(ptr_, b.CreateConstInBoundsGEP1_64(i8_, fn_frame_, offsetof(FnFrame, core)));
    llvm::Value* record =
        b.CreateLoad(ptr_, b.CreateConstInBoundsGEP1_64(i8_, fn_frame_, offsetof(FnFrame, record)));
    llvm::FunctionType* record_ty = llvm::FunctionType::get(b.getVoidTy(), {ptr_, ptr_}, false);
    b.CreateCall(record_ty, record, {core, bail_record_});
    b.CreateRet(fn_result(b, b.getInt64(0), jit_abi::kFnBailed));
  }

  llvm::Value* fn_result(llvm::IRBuilder<>& b, llvm::Value* bits, uint32_t status) {
    llvm::Value* r = llvm::UndefValue::get(fn_result_type(ctx_));
    r = b.CreateInsertValue(r, bits, 0);
    return b.CreateInsertValue(r, b.getInt32(status), 1);
  }

  // A native Call of version `step.callee` at op `ip`. The interpreter polls at a Call and
  // then checks the call depth; an interrupt pending, a call at the depth limit (or the
  // cap on native recursion) or a callee whose deepest stack would pass max_stack bails
  // out before the Call, and the interpreter runs it. A callee that bailed out leaves this
  // frame's record (without the arguments) and passes the status on.
  void emit_call(uint64_t ip, const KindStep& step, ValState& s) {
    const FnVersion& callee = fns_->versions[static_cast<size_t>(step.callee)];
    const size_t argc = callee.args.size();
    const size_t depth = s.stack.size();
    llvm::Value* callee_base = b_.CreateAdd(fn_base_, b_.getInt64(depth - argc), "callee.base");
    llvm::Value* deep = b_.CreateICmpUGE(fn_depth_, depth_room_);
    llvm::Value* full =
        b_.CreateICmpUGT(b_.CreateAdd(callee_base, b_.getInt64(callee.plan.max_depth)), max_stack_);
    llvm::Value* refuse = b_.CreateOr(b_.CreateOr(poll_pending(b_), deep), full);
    llvm::BasicBlock* go = llvm::BasicBlock::Create(ctx_, "call", f_, b_.GetInsertBlock()->getNextNode());
    b_.CreateCondBr(refuse, make_exit(jit_abi::kExitLeft, ip, s), go, unlikely());
    b_.SetInsertPoint(go);
    std::vector<llvm::Value*> args{fn_frame_, callee_base, b_.CreateAdd(fn_depth_, b_.getInt64(1))};
    for (size_t k = depth - argc; k < depth; ++k) args.push_back(payload(b_, s.stack[k]));
    llvm::Function* target = (*versions_)[static_cast<size_t>(step.callee)];
    llvm::CallInst* call = b_.CreateCall(target, args);
    call->setCallingConv(target->getCallingConv());
    s.stack.resize(depth - argc);
    llvm::BasicBlock* back = llvm::BasicBlock::Create(ctx_, "returned", f_, go->getNextNode());
    llvm::Value* bailed = b_.CreateICmpNE(b_.CreateExtractValue(call, 1), b_.getInt32(jit_abi::kFnReturned));
    b_.CreateCondBr(bailed, make_exit(jit_abi::kExitCallee, ip, s), back, unlikely());
    b_.SetInsertPoint(back);
    if (callee.returns == Returns::Value) s.stack.push_back(from_payload(b_.CreateExtractValue(call, 0), callee.result));
  }

  // Leaves through kExitDeopt at op `ip` with `s` (the state before the op) when `cond`
  // holds; code continues in a fresh block.
  void deopt_if(llvm::Value* cond, uint64_t ip, const ValState& s) {
    go_on(cond, make_exit(jit_abi::kExitDeopt, ip, s));
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
  // The limit the op at `ip` compares with: its `constant`, or, in an unpolled version of
  // the bounded loop whose limit op it is, the strip's end.
  llvm::Value* limit_at(uint64_t ip, int64_t constant, const ValState& s) {
    if (s.loop != 0 && ip == plan_.bounded[s.loop - 1].limit_ip) return strip_limit(ip, s);
    return b_.getInt64(static_cast<uint64_t>(constant));
  }

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
    if (call_out_at(req_, ip) != nullptr) {
      call_out(ip, s);
      return nullptr;
    }
    switch (c) {
      case OpCode::Nop:
        return nullptr;
      case OpCode::LoadInt:
        stack.push_back({limit_at(ip, static_cast<int64_t>(op.wide), s), Kind::Int});
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
        return b_.CreateICmpSGE(to_i64(slot(op.small[0])), limit_at(ip, op.i32, s));
      case OpCode::SlotIncLtIntJumpBack: {
        Val& v = slot(op.small[0]);
        v = {b_.CreateAdd(to_i64(v), b_.getInt64(1)), Kind::Int};
        return b_.CreateICmpSLT(v.v, limit_at(ip, op.i32, s));
      }
      case OpCode::AccumSumLoop:
        accum_sum_loop(op, s);
        return nullptr;
      case OpCode::AddAssignSlotVoid: {
        llvm::Value* sum = b_.CreateAdd(to_i64(slot(op.small[0])), to_i64(slot(op.small[1])));
        slot(op.small[0]) = {sum, Kind::Int};
        return nullptr;
      }
      case OpCode::Extended:
        call_lowering(*lowering_of(req_, op.small[0]), op.small[1], stack);
        return nullptr;
      default:
        return nullptr;  // step_kinds made every other op an exit
    }
  }

  // A lowered Extended op: `R f(int64_t arg, operands...)` at its address (baked in, which
  // is why such units never go to the object cache). C's bool travels as a zero-extended
  // byte. step_kinds checked the operand kinds.
  void call_lowering(const jit_abi::AbiLowering& l, uint8_t arg, std::vector<Val>& stack) {
    auto c_type = [&](uint8_t tag) -> llvm::Type* {
      return tag == jit_abi::kTagBool ? i8_ : tag == jit_abi::kTagInt ? i64_ : f64_;
    };
    std::vector<llvm::Type*> params{i64_};
    std::vector<llvm::Value*> args{b_.getInt64(arg)};
    const size_t depth = stack.size();
    for (size_t k = 0; k < l.num_args; ++k) {
      const Val& v = stack[depth - l.num_args + k];
      params.push_back(c_type(l.args[k]));
      args.push_back(v.k == Kind::Bool ? b_.CreateZExt(v.v, i8_) : v.v);
    }
    const bool has_result = l.result != jit_abi::kTagUnused;
    llvm::Type* ret = has_result ? c_type(l.result) : b_.getVoidTy();
    llvm::FunctionType* type = llvm::FunctionType::get(ret, params, false);
    llvm::Value* callee = b_.CreateIntToPtr(b_.getInt64(l.address), ptr_, l.symbol);
    llvm::CallInst* call = b_.CreateCall(type, callee, args);
    for (size_t k = 0; k < l.num_args; ++k) {
      if (l.args[k] == jit_abi::kTagBool) call->addParamAttr(static_cast<unsigned>(k + 1), llvm::Attribute::ZExt);
    }
    if (l.result == jit_abi::kTagBool) call->addRetAttr(llvm::Attribute::ZExt);
    stack.resize(depth - l.num_args);
    if (!has_result) return;
    const Kind k = static_cast<Kind>(l.result);
    stack.push_back(k == Kind::Bool ? Val{b_.CreateICmpNE(call, b_.getInt8(0)), k} : Val{call, k});
  }

  bool emit_blocks() {
    for (uint64_t ip = plan_.begin; ip < plan_.end; ++ip) {
      for (size_t v = 0; v < plan_.at(ip).size(); ++v) {
        if (!emit_block(ip, static_cast<int32_t>(v))) return false;
      }
    }
    return true;
  }

  // One basic block from version `version` of leader `start`: ops until a branch, an exit
  // or the next block start.
  bool emit_block(uint64_t start, int32_t version) {
    origin_ = plan_.origin(start, static_cast<size_t>(version));
    Leader& l = leader(start, version);
    b_.SetInsertPoint(l.block);
    ValState s = l.phis;
    KindState kinds = plan_.at(start)[static_cast<size_t>(version)];
    for (uint64_t ip = start;;) {
      const KindStep step = step_kinds(req_, plan_, ip, kinds);
      if (step.exits) {
        b_.CreateBr(make_exit(step.exit_reason, ip, s));
        return true;
      }
      if (step.returns) {
        const bool with_value = static_cast<OpCode>(req_.ops[ip].code) == OpCode::ReturnValue;
        b_.CreateRet(fn_result(b_, with_value ? payload(b_, s.stack.back()) : b_.getInt64(0), jit_abi::kFnReturned));
        return true;
      }
      llvm::Value* taken = nullptr;
      if (step.callee >= 0) {
        emit_call(ip, step, s);
      } else {
        taken = emit_op(ip, s);
      }
      if (kinds_of(s) != kinds) {
        reason_ = format("internal error: the emitted kinds after %s at op %llu disagree with the inference",
                         op_label(req_.ops[ip].code).c_str(), static_cast<unsigned long long>(ip));
        return false;
      }
      // A quiet jump stands for a fall-through of the interpreted code: no poll.
      const bool polls = req_.quiet_jumps == nullptr || req_.quiet_jumps[ip] == 0;
      if (step.jumps && step.falls_through) {
        // Edge blocks are made before the branch: their phi inputs come from this block.
        llvm::BasicBlock* to = edge_to(ip, step.target, polls, s);
        llvm::BasicBlock* next = edge_to(ip, ip + 1, false, s);
        b_.CreateCondBr(taken, to, next);
        return true;
      }
      if (step.jumps) {
        b_.CreateBr(edge_to(ip, step.target, polls, s));
        return true;
      }
      const uint64_t next = ip + 1;
      if (!plan_.in_range(next) || plan_.starts_block(next)) {
        b_.CreateBr(edge_to(ip, next, false, s));
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
  llvm::Value* poll_ = nullptr;   // VmUnitFrame::poll or FnFrame::poll
  std::map<std::pair<uint64_t, int32_t>, StripHead> strip_heads_;  // by (header, version)
  std::vector<llvm::AllocaInst*> strip_ends_;                      // by bounded loop
  uint64_t origin_ = 0;           // VmPlan::origin of the block being emitted (0: the entry)
  // Compiled functions only.
  const FnPlan* fns_ = nullptr;
  const std::vector<llvm::Function*>* versions_ = nullptr;
  llvm::Value* fn_frame_ = nullptr;    // FnFrame*
  llvm::Value* fn_base_ = nullptr;     // stack height below this frame's region
  llvm::Value* fn_depth_ = nullptr;    // this frame's call depth
  llvm::Value* max_stack_ = nullptr;   // FnFrame::max_stack
  llvm::Value* depth_room_ = nullptr;  // FnFrame::depth_room
  llvm::Value* bail_slots_ = nullptr;  // entry-block allocas a bail-out fills
  llvm::Value* bail_stack_ = nullptr;
  llvm::Value* bail_record_ = nullptr;
  uint32_t bail_slot_count_ = 0;
  std::vector<Leader> leaders_;
  std::vector<int32_t> leader_of_;  // per op of the range: index into leaders_, or -1
  uint32_t max_exit_stack_ = 0;
};

}  // namespace

// kUnitFn: one internal fastcc function per version, `{i64 payload, i32 FnExit}
// (FnFrame*, i64 base, i64 depth, i64 payload...)`, and the exported entry that unpacks
// the FnFrame for version 0.
bool build_fn(llvm::Module& m, const jit_abi::UnitRequest& req, uint32_t& max_depth, std::string& reason) {
  FnPlan fns;
  if (!plan_fn_unit(req, fns, reason)) return false;
  llvm::LLVMContext& ctx = m.getContext();
  llvm::IRBuilder<> b(ctx);
  llvm::Type* i64 = b.getInt64Ty();
  llvm::PointerType* ptr = llvm::PointerType::get(ctx, 0);
  llvm::StructType* result_ty = fn_result_type(ctx);
  std::vector<llvm::Function*> versions;
  for (size_t i = 0; i < fns.versions.size(); ++i) {
    std::vector<llvm::Type*> params{ptr, i64, i64};
    params.insert(params.end(), fns.versions[i].args.size(), i64);
    llvm::Function* f = llvm::Function::Create(llvm::FunctionType::get(result_ty, params, false),
                                               llvm::GlobalValue::InternalLinkage,
                                               std::string(req.name) + ".v" + std::to_string(i), m);
    f->setCallingConv(llvm::CallingConv::Fast);
    f->setDoesNotThrow();
    versions.push_back(f);
  }
  for (size_t i = 0; i < fns.versions.size(); ++i) {
    if (!VmBuilder(m, req, fns.versions[i].plan, reason, &fns, &versions).build_version()) return false;
  }
  // uint32_t name(FnFrame* frame)
  llvm::Function* entry = create_unit_function(m, req.name, b.getInt32Ty(), {ptr});
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", entry));
  llvm::Value* frame = entry->getArg(0);
  auto at = [&](size_t offset) { return b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), frame, offset); };
  llvm::Value* args = b.CreateLoad(ptr, at(offsetof(FnFrame, args)), "args");
  std::vector<llvm::Value*> call_args{frame, b.CreateLoad(i64, at(offsetof(FnFrame, base))), b.getInt64(1)};
  const FnVersion& first = fns.versions[0];
  for (size_t k = 0; k < first.args.size(); ++k) {
    call_args.push_back(b.CreateLoad(i64, b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), args, k * sizeof(jit_abi::AbiValue))));
  }
  llvm::CallInst* call = b.CreateCall(versions[0], call_args);
  call->setCallingConv(llvm::CallingConv::Fast);
  const bool has_result = first.returns == Returns::Value;
  b.CreateStore(b.CreateExtractValue(call, 0), at(offsetof(FnFrame, result) + offsetof(jit_abi::AbiValue, bits)));
  b.CreateStore(b.getInt8(static_cast<uint8_t>(first.result)),
                at(offsetof(FnFrame, result) + offsetof(jit_abi::AbiValue, tag)));
  b.CreateStore(b.getInt32(has_result ? 1 : 0), at(offsetof(FnFrame, has_result)));
  b.CreateRet(b.CreateExtractValue(call, 1));
  max_depth = first.plan.max_depth;
  return true;
}

bool build_vm(llvm::Module& m, const jit_abi::UnitRequest& req, uint32_t& max_exit_stack, std::string& reason) {
  if (req.kind == jit_abi::kUnitFn) return build_fn(m, req, max_exit_stack, reason);
  VmPlan plan;
  if (!plan_vm_unit(req, plan, reason)) return false;
  return VmBuilder(m, req, plan, reason).build(max_exit_stack);
}

}  // namespace fusevm::jit_llvm
