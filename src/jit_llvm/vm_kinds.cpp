// Kind inference of a kUnitVm: a small abstract interpreter over the unit's CFG.
#include "jit_llvm/vm_kinds.hpp"

#include <algorithm>
#include <functional>
#include <queue>

#include "fusevm/op.hpp"
#include "jit_llvm/op_text.hpp"

namespace fusevm::jit_llvm {

namespace {

// Each exit stores every stack value, so a unit's code grows with its entry depth; far
// beyond any sub's argument count, the VM is better off interpreting.
constexpr uint32_t kMaxEntryDepth = 1024;
// Every op copies or walks abstract stacks, so their depth bounds the inference's work; at
// this depth the unit hands over to the interpreter.
constexpr size_t kMaxStackDepth = 2048;
// Slot operands are 16-bit.
constexpr uint32_t kMaxSlots = 65536;
// Versions (sub x argument kinds) one compiled function brings along; a Call needing
// another one is left to the interpreter.
constexpr size_t kMaxFnVersions = 8;
// Each planning pass that changes something adds a version or fixes a return.
constexpr int kMaxFnPasses = 2 * static_cast<int>(kMaxFnVersions) + 2;

// The slots an op names when the unit runs it natively (ops that exit name none).
int slot_operands(OpCode c) {
  switch (c) {
    case OpCode::GetSlot: case OpCode::SetSlot: case OpCode::PreIncSlot:
    case OpCode::PreIncSlotVoid: case OpCode::SlotLtIntJumpIfFalse:
    case OpCode::SlotIncLtIntJumpBack:
      return 1;
    case OpCode::AccumSumLoop: case OpCode::AddAssignSlotVoid:
      return 2;
    default:
      return 0;
  }
}

bool is_scalar_tag(uint8_t tag) { return tag <= jit_abi::kTagFloat; }

// Ops with a jump target (the five jumps and the two fused branches).
bool is_jump(OpCode c) {
  switch (c) {
    case OpCode::Jump: case OpCode::JumpIfTrue: case OpCode::JumpIfFalse:
    case OpCode::JumpIfTrueKeep: case OpCode::JumpIfFalseKeep: case OpCode::SlotLtIntJumpIfFalse:
    case OpCode::SlotIncLtIntJumpBack:
      return true;
    default:
      return false;
  }
}

bool plan_range(const jit_abi::UnitRequest& req, uint64_t begin, uint64_t end, uint64_t entry_ip,
                bool new_frame, const std::vector<Kind>& entry_stack, VmPlan& plan, std::string& reason);

// What one lap of an op costs against kUnpolledBudget: 1 for a few instructions, more for
// the ops that call libm or divide.
int64_t op_cost(OpCode c) {
  switch (c) {
    case OpCode::Pow: return 64;
    case OpCode::Div: case OpCode::Mod: return 8;
    default: return 1;
  }
}

// The loop [header, latch] as a BoundedLoop (see its comment for the shapes), or nothing.
std::optional<BoundedLoop> bounded_loop(const jit_abi::UnitRequest& req, uint64_t header, uint64_t latch) {
  const jit_abi::AbiOp* ops = req.ops;
  auto code = [&](uint64_t ip) { return static_cast<OpCode>(ops[ip].code); };
  auto leaves = [&](uint64_t target) { return target < header || target > latch; };
  BoundedLoop l;
  l.header = header;
  l.latch = latch;
  int64_t limit = 0;
  bool inclusive = false;
  uint64_t inc = latch;   // the op that adds 1 to the counter each lap
  if (code(latch) == OpCode::SlotIncLtIntJumpBack) {
    l.slot = ops[latch].small[0];
    limit = ops[latch].i32;
    l.limit_ip = l.exit_ip = latch;
  } else if (code(header) == OpCode::SlotLtIntJumpIfFalse && leaves(ops[header].wide)) {
    l.slot = ops[header].small[0];
    limit = ops[header].i32;
    l.limit_ip = l.exit_ip = header;
    inc = VmPlan::kNoIp;
  } else if (latch >= header + 4 && code(header) == OpCode::GetSlot && code(header + 1) == OpCode::LoadInt &&
             (code(header + 2) == OpCode::NumLt || code(header + 2) == OpCode::NumLe) &&
             code(header + 3) == OpCode::JumpIfFalse && leaves(ops[header + 3].wide)) {
    l.slot = ops[header].small[0];
    limit = static_cast<int64_t>(ops[header + 1].wide);
    inclusive = code(header + 2) == OpCode::NumLe;
    l.limit_ip = header + 1;
    l.exit_ip = header + 3;
    inc = VmPlan::kNoIp;
  } else if (latch >= header + 4 && code(latch - 3) == OpCode::GetSlot && code(latch - 2) == OpCode::LoadInt &&
             (code(latch - 1) == OpCode::NumLt || code(latch - 1) == OpCode::NumLe) &&
             code(latch) == OpCode::JumpIfTrue) {
    // The unfused do-while latch (`do { ... ++i ... } while (i < C)`, a trace of the
    // reference's counter loop): laps are counted as for the fused latch.
    l.slot = ops[latch - 3].small[0];
    limit = static_cast<int64_t>(ops[latch - 2].wide);
    inclusive = code(latch - 1) == OpCode::NumLe;
    l.limit_ip = latch - 2;
    l.exit_ip = latch;
    inc = VmPlan::kNoIp;
  } else {
    return std::nullopt;
  }
  // `i <= INT64_MAX` never fails: the counter wraps and the loop never ends, so it must
  // keep polling (regression: such a loop entered near its limit ignored interrupts).
  if (inclusive && limit == INT64_MAX) return std::nullopt;
  l.limit_excl = limit + (inclusive ? 1 : 0);
  int64_t lap_cost = 0;
  for (uint64_t ip = header; ip <= latch; ++ip) {
    if (ops[ip].code >= kNumOps) return std::nullopt;
    const OpCode c = code(ip);
    // A call or an extension op might raise the flag itself (or run for long).
    if (c == OpCode::Call || c == OpCode::Extended || call_out_at(req, ip) != nullptr) return std::nullopt;
    lap_cost += op_cost(c);
    const int named = slot_operands(c);
    for (int k = 0; k < named; ++k) {
      if (ops[ip].small[k] != l.slot || c == OpCode::GetSlot || c == OpCode::SlotLtIntJumpIfFalse) {  // reads
        continue;
      }
      // `i = i + 1` as a frontend writes it counts as well as PreIncSlot does.
      const bool adds_one = c == OpCode::SetSlot && ip >= header + 3 && code(ip - 3) == OpCode::GetSlot &&
                            ops[ip - 3].small[0] == l.slot && code(ip - 2) == OpCode::LoadInt &&
                            ops[ip - 2].wide == 1 && code(ip - 1) == OpCode::Add;
      const bool increments = c == OpCode::PreIncSlot || c == OpCode::PreIncSlotVoid || adds_one ||
                              (c == OpCode::SlotIncLtIntJumpBack && ip == latch);
      if (!increments || (inc != VmPlan::kNoIp && inc != ip)) return std::nullopt;
      inc = ip;
    }
  }
  if (inc == VmPlan::kNoIp) return std::nullopt;
  for (uint64_t ip = header; ip < latch; ++ip) {
    if (!is_jump(code(ip)) || leaves(ops[ip].wide)) continue;
    const uint64_t target = ops[ip].wide;
    // Backward inside: another loop. Over the increment: a lap that does not count. Into
    // `i = i + 1`: a sum of something else.
    if (target <= ip || (ip < inc && target > inc)) return std::nullopt;
    if (code(inc) == OpCode::SetSlot && target + 2 >= inc && target <= inc) return std::nullopt;
  }
  // Laps from counter c: limit_excl - c, at least 1 for the do-while shape; so
  // c >= limit_excl - laps allows `laps` of them.
  const int64_t laps = std::max<int64_t>(1, kUnpolledBudget / std::max<int64_t>(1, lap_cost));
  l.laps = laps;
  const __int128 lowest = static_cast<__int128>(l.limit_excl) - laps;
  l.lowest_entry = lowest < INT64_MIN ? INT64_MIN : static_cast<int64_t>(lowest);
  return l;
}

// Every bounded loop of [plan.begin, plan.end), by ascending header.
void find_bounded_loops(const jit_abi::UnitRequest& req, VmPlan& plan) {
  plan.bounded.clear();
  for (uint64_t ip = plan.begin; ip < plan.end; ++ip) {
    const jit_abi::AbiOp& op = req.ops[ip];
    if (op.code >= kNumOps) continue;
    const auto c = static_cast<OpCode>(op.code);
    const bool latch = c == OpCode::Jump || c == OpCode::SlotIncLtIntJumpBack || c == OpCode::JumpIfTrue;
    if (!latch || op.wide > ip || !plan.in_range(op.wide)) continue;
    if (std::optional<BoundedLoop> l = bounded_loop(req, op.wide, ip)) plan.bounded.push_back(*l);
  }
  std::sort(plan.bounded.begin(), plan.bounded.end(),
            [](const BoundedLoop& a, const BoundedLoop& b) { return a.header < b.header; });
}

// Add/Sub/Mul/Mod: Int x Int stays Int, any other pair goes through Float.
Kind arith_kind(Kind a, Kind b) { return a == Kind::Int && b == Kind::Int ? Kind::Int : Kind::Float; }

}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Undef: return "Undef";
    case Kind::Bool: return "Bool";
    case Kind::Int: return "Int";
    default: return "Float";
  }
}

KindStep step_kinds(const jit_abi::UnitRequest& req, const VmPlan& plan, uint64_t ip, KindState& st) {
  KindStep r;
  const jit_abi::AbiOp& op = req.ops[ip];
  auto exit_here = [&r](jit_abi::VmExit why) {
    r.exits = true;
    r.exit_reason = why;
    return r;
  };
  if (op.code >= kNumOps) return exit_here(jit_abi::kExitLeft);
  std::vector<Kind>& stack = st.stack;
  const size_t depth = stack.size();
  // The values below the unit's base are invisible here, so where the interpreter would
  // reach them (or act on an empty stack) the unit hands over instead.
  auto underflows = [depth](size_t n) { return depth < n; };
  auto pop = [&stack] {
    const Kind k = stack.back();
    stack.pop_back();
    return k;
  };
  auto slot = [&](uint16_t s) -> Kind& { return st.slots[plan.pos(s)]; };
  if (depth + 2 > kMaxStackDepth) return exit_here(jit_abi::kExitLeft);
  r.falls_through = true;
  if (const jit_abi::AbiCallOut* c = call_out_at(req, ip)) {
    // The core runs the op (and, in a trace, the ops it stands for); native code goes on
    // with the stack the call-out leaves, kinds as recorded and guarded (emit_vm.cpp).
    stack.clear();
    for (uint32_t k = 0; k < c->depth; ++k) stack.push_back(static_cast<Kind>(req.call_out_tags[c->tags + k]));
    return r;
  }
  switch (static_cast<OpCode>(op.code)) {
    case OpCode::Nop:
      break;
    case OpCode::LoadInt:
      stack.push_back(Kind::Int);
      break;
    case OpCode::LoadFloat:
      stack.push_back(Kind::Float);
      break;
    case OpCode::LoadConst: {
      const uint16_t k = op.small[0];
      if (k >= req.num_consts) return exit_here(jit_abi::kExitLeft);
      if (req.consts[k].kind == jit_abi::kConstInt) {
        stack.push_back(Kind::Int);
      } else if (req.consts[k].kind == jit_abi::kConstFloat) {
        stack.push_back(Kind::Float);
      } else {
        return exit_here(jit_abi::kExitLeft);  // a heap constant: the interpreter pushes it
      }
      break;
    }
    case OpCode::LoadTrue: case OpCode::LoadFalse:
      stack.push_back(Kind::Bool);
      break;
    case OpCode::LoadUndef:
      stack.push_back(Kind::Undef);
      break;
    case OpCode::Pop:
      if (underflows(1)) return exit_here(jit_abi::kExitLeft);
      stack.pop_back();
      break;
    case OpCode::Dup:
      if (underflows(1)) return exit_here(jit_abi::kExitLeft);
      stack.push_back(stack.back());
      break;
    case OpCode::Dup2:
      if (underflows(2)) return exit_here(jit_abi::kExitLeft);
      stack.push_back(stack[depth - 2]);
      stack.push_back(stack[depth - 1]);
      break;
    case OpCode::Swap:
      if (underflows(2)) return exit_here(jit_abi::kExitLeft);
      std::swap(stack[depth - 1], stack[depth - 2]);
      break;
    case OpCode::Rot: {  // [a b c] -> [b c a]
      if (underflows(3)) return exit_here(jit_abi::kExitLeft);
      const Kind a = stack[depth - 3];
      stack.erase(stack.end() - 3);
      stack.push_back(a);
      break;
    }
    case OpCode::GetSlot:
      stack.push_back(slot(op.small[0]));
      break;
    case OpCode::SetSlot:
      if (underflows(1)) return exit_here(jit_abi::kExitLeft);
      slot(op.small[0]) = pop();
      break;
    case OpCode::Add: case OpCode::Sub: case OpCode::Mul: case OpCode::Mod: {
      if (underflows(2)) return exit_here(jit_abi::kExitLeft);
      const Kind b = pop();
      const Kind a = pop();
      stack.push_back(arith_kind(a, b));
      break;
    }
    case OpCode::Div:
      if (underflows(2)) return exit_here(jit_abi::kExitLeft);
      // Undef is always a zero divisor: the interpreter's Undef result is its business.
      if (stack.back() == Kind::Undef) return exit_here(jit_abi::kExitDeopt);
      r.may_deopt = true;
      stack.pop_back();
      stack.back() = Kind::Float;
      break;
    case OpCode::Pow:
      if (underflows(2)) return exit_here(jit_abi::kExitLeft);
      stack.pop_back();
      stack.back() = Kind::Float;
      break;
    case OpCode::Negate:
      if (underflows(1)) return exit_here(jit_abi::kExitLeft);
      stack.back() = stack.back() == Kind::Int ? Kind::Int : Kind::Float;
      break;
    case OpCode::Inc: case OpCode::Dec: case OpCode::BitNot:
      if (underflows(1)) return exit_here(jit_abi::kExitLeft);
      stack.back() = Kind::Int;
      break;
    case OpCode::NumEq: case OpCode::NumNe: case OpCode::NumLt: case OpCode::NumGt:
    case OpCode::NumLe: case OpCode::NumGe: case OpCode::LogAnd: case OpCode::LogOr:
      if (underflows(2)) return exit_here(jit_abi::kExitLeft);
      stack.pop_back();
      stack.back() = Kind::Bool;
      break;
    case OpCode::Spaceship: case OpCode::BitAnd: case OpCode::BitOr: case OpCode::BitXor:
    case OpCode::Shl: case OpCode::Shr:
      if (underflows(2)) return exit_here(jit_abi::kExitLeft);
      stack.pop_back();
      stack.back() = Kind::Int;
      break;
    case OpCode::LogNot:
      if (underflows(1)) return exit_here(jit_abi::kExitLeft);
      stack.back() = Kind::Bool;
      break;
    case OpCode::Jump:
      r.falls_through = false;
      r.jumps = true;
      r.target = op.wide;
      break;
    case OpCode::JumpIfTrue: case OpCode::JumpIfFalse:
      if (underflows(1)) return exit_here(jit_abi::kExitLeft);
      stack.pop_back();
      r.jumps = true;
      r.target = op.wide;
      break;
    case OpCode::JumpIfTrueKeep: case OpCode::JumpIfFalseKeep:
      if (underflows(1)) return exit_here(jit_abi::kExitLeft);
      r.jumps = true;
      r.target = op.wide;
      break;
    case OpCode::PreIncSlot:
      slot(op.small[0]) = Kind::Int;
      stack.push_back(Kind::Int);
      break;
    case OpCode::PreIncSlotVoid:
      slot(op.small[0]) = Kind::Int;
      break;
    case OpCode::SlotLtIntJumpIfFalse:
      r.jumps = true;
      r.target = op.wide;
      break;
    case OpCode::SlotIncLtIntJumpBack:
      slot(op.small[0]) = Kind::Int;
      r.jumps = true;
      r.target = op.wide;
      break;
    case OpCode::AccumSumLoop:
      slot(op.small[0]) = Kind::Int;
      slot(op.small[1]) = Kind::Int;
      break;
    case OpCode::AddAssignSlotVoid:
      slot(op.small[0]) = Kind::Int;
      break;
    case OpCode::Call: {
      // Natively only inside a compiled function, to a version with a known return.
      const uint32_t argc = op.small[1];
      if (plan.fns == nullptr || underflows(argc) || op.wide >= req.num_ops) return exit_here(jit_abi::kExitLeft);
      const std::vector<Kind> args(stack.end() - argc, stack.end());
      const int32_t v = plan.fns->find_or_add(op.wide, args);
      if (v < 0) return exit_here(jit_abi::kExitLeft);
      const FnVersion& callee = plan.fns->versions[static_cast<size_t>(v)];
      if (callee.returns == Returns::Unknown) return exit_here(jit_abi::kExitLeft);
      stack.resize(depth - argc);
      if (callee.returns == Returns::Value) stack.push_back(callee.result);
      r.callee = v;
      break;
    }
    case OpCode::Extended: {
      // Lowered to a C function: natively only with exactly the operand kinds it takes.
      const jit_abi::AbiLowering* l = lowering_of(req, op.small[0]);
      if (l == nullptr || underflows(l->num_args)) return exit_here(jit_abi::kExitLeft);
      for (size_t k = 0; k < l->num_args; ++k) {
        if (stack[depth - l->num_args + k] != static_cast<Kind>(l->args[k])) return exit_here(jit_abi::kExitLeft);
      }
      stack.resize(depth - l->num_args);
      if (l->result != jit_abi::kTagUnused) stack.push_back(static_cast<Kind>(l->result));
      break;
    }
    case OpCode::Return: case OpCode::ReturnValue: {
      const bool with_value = static_cast<OpCode>(op.code) == OpCode::ReturnValue;
      if (plan.fns == nullptr || (with_value && underflows(1))) return exit_here(jit_abi::kExitLeft);
      FnVersion& self = plan.fns->versions[static_cast<size_t>(plan.version)];
      const Returns form = with_value ? Returns::Value : Returns::Nothing;
      if (self.returns == Returns::Unknown && !plan.fns->frozen) {
        self.returns = form;
        if (with_value) self.result = stack.back();
        plan.fns->changed = true;
      }
      // The other form, or another kind: the interpreter returns (and goes on in the caller).
      if (self.returns != form || (with_value && self.result != stack.back())) {
        return exit_here(jit_abi::kExitLeft);
      }
      r.falls_through = false;
      r.returns = true;
      break;
    }
    default:
      // Strings, globals, collections, frames, I/O, shell ops and the fused loops that
      // build strings or arrays: the interpreter runs them.
      return exit_here(jit_abi::kExitLeft);
  }
  return r;
}

const jit_abi::AbiCallOut* call_out_at(const jit_abi::UnitRequest& req, uint64_t ip) {
  if (req.call_outs == nullptr || req.call_outs[ip].depth == jit_abi::kNoCallOut) return nullptr;
  return &req.call_outs[ip];
}

const jit_abi::AbiLowering* lowering_of(const jit_abi::UnitRequest& req, uint16_t ext_id) {
  for (uint32_t k = 0; k < req.num_lowerings; ++k) {
    if (req.lowerings[k].ext_id == ext_id) return &req.lowerings[k];
  }
  return nullptr;
}

int32_t FnPlan::find_or_add(uint64_t entry, const std::vector<Kind>& args) {
  for (size_t k = 0; k < versions.size(); ++k) {
    if (versions[k].entry == entry && versions[k].args == args) return static_cast<int32_t>(k);
  }
  if (frozen || versions.size() >= kMaxFnVersions) return -1;
  FnVersion v;
  v.entry = entry;
  v.args = args;
  versions.push_back(std::move(v));
  changed = true;
  return static_cast<int32_t>(versions.size() - 1);
}

namespace {

// The checks a kUnitVm and a kUnitFn request share; `entry_stack` gets the entry kinds.
bool check_entry(const jit_abi::UnitRequest& req, std::vector<Kind>& entry_stack, std::string& reason) {
  if (req.vm_tier != jit_abi::kVmTierLinear && req.vm_tier != jit_abi::kVmTierBlock) {
    reason = format("unknown vm_tier %u (1 linear, 2 block)", req.vm_tier);
    return false;
  }
  if (req.entry_depth > kMaxEntryDepth) {
    reason = format("entry_depth %u exceeds the VM unit's limit of %u values", req.entry_depth,
                    kMaxEntryDepth);
    return false;
  }
  if (req.entry_depth != 0 && req.entry_stack_tags == nullptr) {
    reason = format("entry_depth is %u but entry_stack_tags is missing", req.entry_depth);
    return false;
  }
  if (req.num_slots > kMaxSlots) {
    reason = format("num_slots %u exceeds %u (slot operands are 16-bit)", req.num_slots, kMaxSlots);
    return false;
  }
  if (req.num_lowerings != 0 && req.lowerings == nullptr) {
    reason = format("num_lowerings is %u but lowerings is missing", req.num_lowerings);
    return false;
  }
  auto lowered_kind = [](uint8_t tag) {
    return tag == jit_abi::kTagBool || tag == jit_abi::kTagInt || tag == jit_abi::kTagFloat;
  };
  for (uint32_t k = 0; k < req.num_lowerings; ++k) {
    const jit_abi::AbiLowering& l = req.lowerings[k];
    bool ok = l.address != 0 && l.num_args <= jit_abi::kMaxLoweringArgs &&
              (l.result == jit_abi::kTagUnused || lowered_kind(l.result)) && lowering_of(req, l.ext_id) == &l;
    for (uint32_t a = 0; ok && a < l.num_args; ++a) ok = lowered_kind(l.args[a]);
    if (!ok) {
      reason = format("lowering %u (extension id %u) is malformed: it needs an address, at most %u operands "
                      "and Bool/Int/Float kinds, and its id once",
                      k, static_cast<unsigned>(l.ext_id), jit_abi::kMaxLoweringArgs);
      return false;
    }
  }
  entry_stack.clear();
  for (uint32_t k = 0; k < req.entry_depth; ++k) {
    const uint8_t tag = req.entry_stack_tags[k];
    if (!is_scalar_tag(tag)) {
      reason = format("entry stack value %u has tag %u, not a scalar kind", k, static_cast<unsigned>(tag));
      return false;
    }
    entry_stack.push_back(static_cast<Kind>(tag));
  }
  return true;
}

}  // namespace

bool plan_vm_unit(const jit_abi::UnitRequest& req, VmPlan& plan, std::string& reason) {
  std::vector<Kind> entry_stack;
  if (!check_entry(req, entry_stack, reason)) return false;
  if (req.range_begin >= req.range_end || req.range_end > req.num_ops) {
    reason = format("the range [%llu, %llu) is not a non-empty part of the %llu ops",
                    static_cast<unsigned long long>(req.range_begin),
                    static_cast<unsigned long long>(req.range_end),
                    static_cast<unsigned long long>(req.num_ops));
    return false;
  }
  if (req.entry_ip < req.range_begin || req.entry_ip >= req.range_end) {
    reason = format("entry_ip %llu is outside the range [%llu, %llu)",
                    static_cast<unsigned long long>(req.entry_ip),
                    static_cast<unsigned long long>(req.range_begin),
                    static_cast<unsigned long long>(req.range_end));
    return false;
  }
  for (uint64_t ip = req.range_begin; req.call_outs != nullptr && ip < req.range_end; ++ip) {
    const jit_abi::AbiCallOut* c = call_out_at(req, ip);
    if (c == nullptr) continue;
    bool ok = (c->depth == 0 || req.call_out_tags != nullptr) && c->depth <= kMaxStackDepth &&
              c->tags <= req.num_call_out_tags && c->depth <= req.num_call_out_tags - c->tags;
    for (uint32_t k = 0; ok && k < c->depth; ++k) ok = is_scalar_tag(req.call_out_tags[c->tags + k]);
    if (!ok) {
      reason = format("the call-out at op %llu has %u tags at %u: not all scalars inside call_out_tags",
                      static_cast<unsigned long long>(ip), c->depth, c->tags);
      return false;
    }
  }
  return plan_range(req, req.range_begin, req.range_end, req.entry_ip, false, entry_stack, plan, reason);
}

namespace {

// Plans [begin, end) from entry_ip with the given entry stack; every named slot enters
// with its tag in the request's slot_tags, or Undef on a `new_frame` (a compiled function).
bool plan_range(const jit_abi::UnitRequest& req, uint64_t begin, uint64_t end, uint64_t entry_ip,
                bool new_frame, const std::vector<Kind>& entry_stack, VmPlan& plan, std::string& reason) {
  plan.begin = begin;
  plan.end = end;
  plan.max_depth = static_cast<uint32_t>(entry_stack.size());

  // Slots named by any op of the range, reachable or not: num_slots and slot_tags describe
  // the range as a whole.
  std::vector<uint8_t> named(req.num_slots, 0);
  for (uint64_t ip = plan.begin; ip < plan.end; ++ip) {
    const jit_abi::AbiOp& op = req.ops[ip];
    if (op.code >= kNumOps || call_out_at(req, ip) != nullptr) continue;
    const int n = slot_operands(static_cast<OpCode>(op.code));
    for (int k = 0; k < n; ++k) {
      const uint16_t s = op.small[k];
      if (s >= req.num_slots) {
        reason = format("%s at op %llu names slot %u but the unit has %u slot(s)",
                        op_label(op.code).c_str(), static_cast<unsigned long long>(ip),
                        static_cast<unsigned>(s), req.num_slots);
        return false;
      }
      named[s] = 1;
    }
  }
  plan.named_slots.clear();
  plan.slot_pos.assign(req.num_slots, -1);
  for (uint32_t s = 0; s < req.num_slots; ++s) {
    if (named[s] == 0) continue;
    if (!new_frame && req.slot_tags == nullptr) {
      reason = "the unit names slots but slot_tags is missing";
      return false;
    }
    const uint8_t tag = new_frame ? uint8_t{jit_abi::kTagUndef} : req.slot_tags[s];
    if (!is_scalar_tag(tag)) {
      reason = tag == jit_abi::kTagUnused
                   ? format("slot %u is named by the unit but tagged unused", s)
                   : format("slot %u has tag %u, not a scalar kind (Undef, Bool, Int, Float)", s,
                            static_cast<unsigned>(tag));
      return false;
    }
    plan.slot_pos[s] = static_cast<int32_t>(plan.named_slots.size());
    plan.named_slots.push_back(static_cast<uint16_t>(s));
    plan.entry.slots.push_back(static_cast<Kind>(tag));
  }
  plan.entry.stack = entry_stack;

  const size_t n = static_cast<size_t>(plan.end - plan.begin);
  plan.block_start.assign(n, 0);
  plan.block_start[entry_ip - plan.begin] = 1;
  for (uint64_t ip = plan.begin; ip < plan.end; ++ip) {
    const jit_abi::AbiOp& op = req.ops[ip];
    if (op.code >= kNumOps || !is_jump(static_cast<OpCode>(op.code))) continue;
    if (plan.in_range(op.wide)) plan.block_start[op.wide - plan.begin] = 1;
    if (static_cast<OpCode>(op.code) != OpCode::Jump && plan.in_range(ip + 1)) {
      plan.block_start[ip + 1 - plan.begin] = 1;
    }
  }
  plan.versions.assign(n, {});
  find_bounded_loops(req, plan);
  // Lowest ip first (then oldest version): deterministic, and forward paths are seen
  // before the edges that loop back over them, so a loop header's first version has the
  // kinds of the loop's entry.
  using Item = std::pair<uint64_t, size_t>;  // block start, version
  std::priority_queue<Item, std::vector<Item>, std::greater<>> work;
  auto arrive_as = [&](uint64_t target, const KindState& state) {
    if (!plan.in_range(target) || plan.version_of(target, state) >= 0) return;  // an exit, or known
    std::vector<KindState>& v = plan.versions[target - plan.begin];
    // Versions differ in kinds (and polling) only: every path reaches an op with one stack
    // depth (the core's max_stack guard relies on it), so another depth is an exit edge,
    // as is a state beyond kMaxBlockVersions (counted apart for unpolled ones).
    const auto alike = std::count_if(v.begin(), v.end(), [&](const KindState& k) {
      return k.loop == state.loop && k.entered_from == state.entered_from;
    });
    if (v.empty() || (static_cast<size_t>(alike) < kMaxBlockVersions && v[0].stack.size() == state.stack.size())) {
      v.push_back(state);
      work.push({target, v.size() - 1});
    }
  };
  // An edge entering a bounded loop continues both ways: the emitted code picks one by
  // the counter's value.
  auto arrive = [&](uint64_t from, uint64_t origin, uint64_t target, KindState state) {
    plan.loop_after(target, state);
    arrive_as(target, state);
    const int32_t entering = plan.bounded_entry(from, target, state);
    if (entering < 0) return;
    state.loop = static_cast<uint32_t>(entering) + 1;
    state.entered_from = origin;
    arrive_as(target, state);
  };
  arrive(VmPlan::kNoIp, 0, entry_ip, plan.entry);
  while (!work.empty()) {
    const auto [start, version] = work.top();
    work.pop();
    KindState state = plan.versions[start - plan.begin][version];
    const uint64_t origin = plan.origin(start, version);
    for (uint64_t ip = start;; ++ip) {
      const KindStep step = step_kinds(req, plan, ip, state);
      if (step.exits) break;
      plan.max_depth = std::max(plan.max_depth, static_cast<uint32_t>(state.stack.size()));
      if (step.jumps) arrive(ip, origin, step.target, state);
      if (!step.falls_through) break;
      if (!plan.in_range(ip + 1) || plan.starts_block(ip + 1)) {
        arrive(ip, origin, ip + 1, state);
        break;
      }
    }
  }
  return true;
}

// The ops a sub's body may reach from `entry`: [lowest, highest + 1). A return op ends a
// path; anything else may fall through or jump (ops the plan does not take exit there).
void body_span(const jit_abi::UnitRequest& req, uint64_t entry, uint64_t& begin, uint64_t& end) {
  std::vector<uint8_t> seen(req.num_ops, 0);
  std::vector<uint64_t> work{entry};
  seen[entry] = 1;
  begin = end = entry;
  while (!work.empty()) {
    const uint64_t ip = work.back();
    work.pop_back();
    begin = std::min(begin, ip);
    end = std::max(end, ip + 1);
    const jit_abi::AbiOp& op = req.ops[ip];
    const auto code = static_cast<OpCode>(op.code);
    auto visit = [&](uint64_t next) {
      if (next < req.num_ops && seen[next] == 0) {
        seen[next] = 1;
        work.push_back(next);
      }
    };
    if (op.code < kNumOps && is_jump(code)) visit(op.wide);
    if (code != OpCode::Jump && code != OpCode::Return && code != OpCode::ReturnValue) visit(ip + 1);
  }
}

}  // namespace

bool plan_fn_unit(const jit_abi::UnitRequest& req, FnPlan& fns, std::string& reason) {
  std::vector<Kind> args;
  if (!check_entry(req, args, reason)) return false;
  if (req.entry_ip >= req.num_ops) {
    reason = format("entry_ip %llu is outside the %llu ops", static_cast<unsigned long long>(req.entry_ip),
                    static_cast<unsigned long long>(req.num_ops));
    return false;
  }
  fns = FnPlan{};
  fns.find_or_add(req.entry_ip, args);
  // Every pass plans every version with the return facts known so far; a pass that adds
  // nothing leaves plans that agree with the facts they used.
  for (int pass = 0; pass < kMaxFnPasses; ++pass) {
    fns.changed = false;
    for (size_t i = 0; i < fns.versions.size(); ++i) {
      uint64_t begin = 0;
      uint64_t end = 0;
      body_span(req, fns.versions[i].entry, begin, end);
      VmPlan plan;
      plan.fns = &fns;
      plan.version = static_cast<int32_t>(i);
      const uint64_t entry = fns.versions[i].entry;
      const std::vector<Kind> entry_stack = fns.versions[i].args;  // a copy: versions may grow
      if (!plan_range(req, begin, end, entry, true, entry_stack, plan, reason)) return false;
      fns.versions[i].plan = std::move(plan);
    }
    if (!fns.changed) {
      fns.frozen = true;
      return true;
    }
  }
  reason = "the compiled function's kinds did not settle";
  return false;
}

}  // namespace fusevm::jit_llvm
