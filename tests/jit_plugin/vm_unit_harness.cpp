// Test harness for kUnitVm: request building, frame set-up and the interpreter as the truth.
#include "vm_unit_harness.hpp"

#include <cmath>
#include <cstring>
#include <sstream>

#include "fusevm/chunk.hpp"
#include "fusevm/vm.hpp"

namespace fusevm::jit_plugin_test {

namespace {

constexpr uint8_t kCanaryTag = 0xEE;  // written past the exit stack's capacity

bool is_nan_float(const jit_abi::AbiValue& v) {
  if (v.tag != jit_abi::kTagFloat) return false;
  double d;
  std::memcpy(&d, &v.bits, sizeof d);
  return std::isnan(d);
}

std::string describe_all(const std::vector<jit_abi::AbiValue>& values) {
  std::string out = "[";
  for (size_t k = 0; k < values.size(); ++k) {
    if (k != 0) out += ", ";
    out += describe(values[k]);
  }
  return out + "]";
}

}  // namespace

jit_abi::AbiValue abi(const Value& v) {
  jit_abi::AbiValue a{};
  a.bits = v.raw_bits();
  a.tag = v.tag();
  return a;
}

bool same_value(const jit_abi::AbiValue& a, const jit_abi::AbiValue& b) {
  if (a.tag != b.tag) return false;
  return a.bits == b.bits || (is_nan_float(a) && is_nan_float(b));
}

std::string describe(const jit_abi::AbiValue& v) {
  std::ostringstream os;
  switch (v.tag) {
    case jit_abi::kTagUndef:
      os << "Undef";
      if (v.bits != 0) os << "(bits=" << v.bits << ")";
      break;
    case jit_abi::kTagBool:
      os << "Bool(" << v.bits << ")";
      break;
    case jit_abi::kTagInt:
      os << "Int(" << static_cast<int64_t>(v.bits) << ")";
      break;
    case jit_abi::kTagFloat: {
      double d;
      std::memcpy(&d, &v.bits, sizeof d);
      os << "Float(" << d << " bits=0x" << std::hex << v.bits << ")";
      break;
    }
    default:
      os << "tag#" << static_cast<unsigned>(v.tag) << "(" << v.bits << ")";
  }
  return os.str();
}

VmUnit compile_vm(Engine& engine, const VmJob& job) {
  static int next_name = 0;
  const std::string name = "fusevm_vmtest_" + std::to_string(next_name++);
  std::vector<jit_abi::AbiConst> consts;
  for (const Value& v : job.consts) {
    jit_abi::AbiConst c{};
    c.kind = v.is_int() ? jit_abi::kConstInt : v.is_float() ? jit_abi::kConstFloat : jit_abi::kConstOther;
    c.bits = v.is_int() || v.is_float() ? v.raw_bits() : 0;
    consts.push_back(c);
  }
  std::vector<uint8_t> slot_tags;
  for (const Value& v : job.slots) slot_tags.push_back(v.tag());
  if (job.slot_tags) slot_tags = *job.slot_tags;
  std::vector<uint8_t> stack_tags;
  for (const Value& v : job.stack) stack_tags.push_back(v.tag());
  if (job.stack_tags) stack_tags = *job.stack_tags;

  jit_abi::UnitRequest req{};
  req.kind = job.kind;
  req.flags = job.flags;
  req.ops = reinterpret_cast<const jit_abi::AbiOp*>(job.ops.data());
  req.num_ops = job.ops.size();
  req.consts = consts.data();
  req.num_consts = consts.size();
  req.num_slots = job.num_slots ? *job.num_slots : static_cast<uint32_t>(job.slots.size());
  req.name = name.c_str();
  req.vm_tier = job.tier;
  req.entry_depth = job.entry_depth ? *job.entry_depth : static_cast<uint32_t>(stack_tags.size());
  req.range_begin = job.range_begin;
  req.range_end = job.range_end == UINT64_MAX ? job.ops.size() : job.range_end;
  req.entry_ip = job.entry_ip;
  req.slot_tags = job.null_slot_tags ? nullptr : slot_tags.data();
  req.entry_stack_tags = stack_tags.data();

  jit_abi::UnitResult result;
  std::memset(&result, 0xA5, sizeof result);  // the plugin must fill every field
  VmUnit unit;
  unit.name = name;
  unit.ok = api().compile(engine.handle(), &req, &result) == 1;
  unit.entry = result.entry;
  unit.reason = result.reason;
  unit.code_bytes = result.code_bytes;
  unit.max_exit_stack = result.max_exit_stack;
  if (result.dump != nullptr) {
    unit.dump = result.dump;
    api().free_text(result.dump);
  }
  if (unit.ok && result.object != nullptr) {
    unit.object.assign(result.object, result.object_size);
    api().free_text(result.object);
  }
  return unit;
}

VmExitState run_vm(const VmUnit& unit, const VmJob& job, bool poll) {
  std::vector<jit_abi::AbiValue> slots;
  for (const Value& v : job.slots) slots.push_back(abi(v));
  // Room for what the unit may store, then canaries that must survive.
  const size_t capacity = std::max<size_t>(unit.max_exit_stack, job.stack.size());
  std::vector<jit_abi::AbiValue> stack(capacity + 4);
  for (size_t k = 0; k < stack.size(); ++k) stack[k].tag = kCanaryTag;
  for (size_t k = 0; k < job.stack.size(); ++k) stack[k] = abi(job.stack[k]);
  uint8_t flag = poll ? 1 : 0;

  jit_abi::VmUnitFrame frame{};
  frame.slots = slots.data();
  frame.stack = stack.data();
  frame.poll = &flag;
  frame.resume_ip = UINT64_MAX;
  frame.exit_depth = UINT32_MAX;
  frame.exit_reason = UINT32_MAX;
  VmExitState out;
  out.returned = reinterpret_cast<uint32_t (*)(jit_abi::VmUnitFrame*)>(unit.entry)(&frame);
  out.reason = frame.exit_reason;
  out.resume_ip = frame.resume_ip;
  out.depth = frame.exit_depth;
  out.slots = slots;
  for (size_t k = capacity; k < stack.size(); ++k) {
    EXPECT_EQ(stack[k].tag, kCanaryTag) << "the unit wrote stack entry " << k << " past max_exit_stack "
                                        << unit.max_exit_stack;
  }
  EXPECT_LE(out.depth, unit.max_exit_stack) << "exit_depth exceeds max_exit_stack";
  if (out.depth <= capacity) out.stack.assign(stack.begin(), stack.begin() + out.depth);
  return out;
}

::testing::AssertionResult interpreter_passes_through(const VmJob& job, const VmExitState& exit,
                                                      size_t max_steps) {
  Chunk chunk;
  chunk.ops = job.ops;
  chunk.constants = job.consts;
  chunk.lines.assign(job.ops.size(), 1);
  VM vm(std::move(chunk));
  vm.frames().back().slots = job.slots;
  for (const Value& v : job.stack) vm.push(v);
  vm.set_ip(job.entry_ip);
  Limits limits;
  limits.fuel = 1;  // one op per run(): every state the interpreter passes through is seen
  vm.set_limits(limits);
  std::string last;
  for (size_t step = 0; step <= max_steps; ++step) {
    if (vm.ip() == exit.resume_ip) {
      const auto& slots = vm.frames().back().slots;
      bool same = slots.size() == exit.slots.size() && vm.stack().size() == exit.stack.size();
      for (size_t k = 0; same && k < slots.size(); ++k) same = same_value(abi(slots[k]), exit.slots[k]);
      for (size_t k = 0; same && k < exit.stack.size(); ++k) same = same_value(abi(vm.stack()[k]), exit.stack[k]);
      if (same) return ::testing::AssertionSuccess();
      std::vector<jit_abi::AbiValue> is_slots, is_stack;
      for (const Value& v : slots) is_slots.push_back(abi(v));
      for (const Value& v : vm.stack()) is_stack.push_back(abi(v));
      last = "\n  interpreter at ip " + std::to_string(vm.ip()) + " after " + std::to_string(step) +
             " ops: slots " + describe_all(is_slots) + " stack " + describe_all(is_stack);
    }
    if (vm.ip() >= job.ops.size()) break;  // the next run would end the program
    VMResult r = vm.run();
    if (!r.is_error() || r.error().message.find("fuel") == std::string::npos) {
      return ::testing::AssertionFailure() << "the interpreter stopped at ip " << vm.ip() << " with "
                                           << r.repr() << " before reaching the unit's exit";
    }
  }
  return ::testing::AssertionFailure()
         << "the interpreter never passed through the unit's exit: resume_ip " << exit.resume_ip
         << " slots " << describe_all(exit.slots) << " stack " << describe_all(exit.stack)
         << (last.empty() ? std::string("\n  (it never reached that ip)") : last);
}

}  // namespace fusevm::jit_plugin_test
