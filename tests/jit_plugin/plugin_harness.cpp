// Test harness: dlopen of the built plugin and compile/run helpers over its C ABI.
#include "plugin_harness.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <cstdlib>

namespace fusevm::jit_plugin_test {

static_assert(sizeof(Op) == sizeof(jit_abi::AbiOp), "Op and AbiOp share one layout");

const jit_abi::PluginApi& api() {
  static const jit_abi::PluginApi* table = [] {
    void* handle = ::dlopen(FUSEVM_JIT_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      std::fprintf(stderr, "cannot load %s: %s\n", FUSEVM_JIT_PLUGIN_PATH, ::dlerror());
      std::abort();
    }
    using Entry = const jit_abi::PluginApi* (*)();
    auto entry = reinterpret_cast<Entry>(::dlsym(handle, jit_abi::kEntrySymbol));
    if (entry == nullptr) {
      std::fprintf(stderr, "%s has no %s\n", FUSEVM_JIT_PLUGIN_PATH, jit_abi::kEntrySymbol);
      std::abort();
    }
    return entry();
  }();
  return *table;
}

int64_t Unit::run_int(int64_t* slots) const {
  return reinterpret_cast<int64_t (*)(int64_t*)>(entry)(slots);
}

double Unit::run_float(int64_t* slots) const {
  return reinterpret_cast<double (*)(int64_t*)>(entry)(slots);
}

int64_t Unit::run_block(int64_t* slots, int32_t* bailed) const {
  *bailed = 0;
  return reinterpret_cast<int64_t (*)(int64_t*, int32_t*)>(entry)(slots, bailed);
}

Engine::Engine(jit_abi::EngineOptions options) {
  char error[512] = "";
  handle_ = api().create(&options, error, sizeof error);
  error_ = error;
}

Engine::~Engine() {
  if (handle_ != nullptr) api().destroy(handle_);
}

namespace {

// Highest slot named by any op + 1, as the core computes UnitRequest::num_slots.
uint32_t slots_needed(const std::vector<Op>& ops) {
  uint32_t n = 0;
  for (const Op& op : ops) {
    switch (op.code()) {
      case OpCode::GetSlot: case OpCode::SetSlot: case OpCode::PreIncSlot: case OpCode::PreIncSlotVoid:
      case OpCode::SlotLtIntJumpIfFalse: case OpCode::SlotIncLtIntJumpBack:
        n = std::max<uint32_t>(n, op.small(0) + 1u);
        break;
      case OpCode::AccumSumLoop: case OpCode::AddAssignSlotVoid:
        n = std::max<uint32_t>(n, std::max(op.small(0), op.small(1)) + 1u);
        break;
      default:
        break;
    }
  }
  return n;
}

}  // namespace

Unit Engine::compile(const Job& job) {
  Unit unit;
  unit.name = job.name.empty() ? "fusevm_test_unit_" + std::to_string(next_name_++) : job.name;
  jit_abi::UnitRequest req{};
  req.kind = job.kind;
  req.flags = job.flags;
  req.ops = reinterpret_cast<const jit_abi::AbiOp*>(job.ops.data());
  req.num_ops = job.ops.size();
  req.consts = job.consts.data();
  req.num_consts = job.consts.size();
  req.result_is_float = job.result_is_float ? 1 : 0;
  req.num_slots = job.num_slots >= 0 ? static_cast<uint32_t>(job.num_slots) : slots_needed(job.ops);
  req.name = unit.name.c_str();
  jit_abi::UnitResult result;
  std::memset(&result, 0xA5, sizeof result);  // the plugin must fill every field
  unit.ok = api().compile(handle_, &req, &result) == 1;
  unit.entry = result.entry;
  unit.reason = result.reason;
  unit.compile_ns = result.compile_ns;
  unit.code_bytes = result.code_bytes;
  if (result.dump != nullptr) {
    unit.dump = result.dump;
    api().free_text(result.dump);
  }
  return unit;
}

jit_abi::AbiConst const_float(double x) {
  jit_abi::AbiConst c{};
  c.kind = jit_abi::kConstFloat;
  std::memcpy(&c.bits, &x, sizeof x);
  return c;
}

jit_abi::AbiConst const_int(int64_t n) {
  jit_abi::AbiConst c{};
  c.kind = jit_abi::kConstInt;
  c.bits = static_cast<uint64_t>(n);
  return c;
}

int64_t linear_int(const std::vector<Op>& ops, int64_t* slots) {
  Engine engine;
  Job job;
  job.ops = ops;
  Unit unit = engine.compile(job);
  EXPECT_TRUE(unit.ok) << unit.reason;
  return unit.ok ? unit.run_int(slots) : INT64_MIN;
}

double linear_float(const std::vector<Op>& ops, int64_t* slots) {
  Engine engine;
  Job job;
  job.ops = ops;
  job.result_is_float = true;
  Unit unit = engine.compile(job);
  EXPECT_TRUE(unit.ok) << unit.reason;
  return unit.ok ? unit.run_float(slots) : -1e300;
}

int64_t block_run(const std::vector<Op>& ops, std::vector<int64_t>& slots, int32_t* bailed) {
  Engine engine;
  Job job;
  job.kind = jit_abi::kUnitBlock;
  job.ops = ops;
  job.num_slots = static_cast<int64_t>(slots.size());
  Unit unit = engine.compile(job);
  EXPECT_TRUE(unit.ok) << unit.reason;
  if (!unit.ok) return INT64_MIN;
  int32_t local = 0;
  return unit.run_block(slots.data(), bailed != nullptr ? bailed : &local);
}

}  // namespace fusevm::jit_plugin_test
