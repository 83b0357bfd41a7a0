// kUnitFn through the plugin ABI: a compiled function's result, and the frames it hands
// the core when it bails out (innermost first, each caller without its arguments).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "vm_unit_harness.hpp"

namespace fusevm::jit_plugin_test {
namespace {

using jit_abi::FnFrame;
using jit_abi::FnRecord;

Engine& engine() {
  static Engine* shared = new Engine;
  return *shared;
}

// `op` (a Call) with its callee's entry in the wide operand, as the core passes it.
Op with_callee(Op op, uint64_t entry) {
  jit_abi::AbiOp raw;
  std::memcpy(&raw, &op, sizeof raw);
  raw.wide = entry;
  std::memcpy(static_cast<void*>(&op), &raw, sizeof raw);  // Op is AbiOp byte for byte
  return op;
}

// 0 Jump 18 | fib at 1: 1 SetSlot 0; 2 GetSlot 0; 3 LoadInt 2; 4 NumLt; 5 JumpIfFalse 8;
// 6 GetSlot 0; 7 ReturnValue; 8 GetSlot 0; 9 LoadInt 1; 10 Sub; 11 Call fib; 12 GetSlot 0;
// 13 LoadInt 2; 14 Sub; 15 Call fib; 16 Add; 17 ReturnValue | 18 Nop
std::vector<Op> fib_ops() {
  return {Op::Jump(18),     Op::SetSlot(0),  Op::GetSlot(0),  Op::LoadInt(2),
          Op::NumLt(),      Op::JumpIfFalse(8), Op::GetSlot(0), Op::ReturnValue(),
          Op::GetSlot(0),   Op::LoadInt(1),  Op::Sub(),       with_callee(Op::Call(0, 1), 1),
          Op::GetSlot(0),   Op::LoadInt(2),  Op::Sub(),       with_callee(Op::Call(0, 1), 1),
          Op::Add(),        Op::ReturnValue(), Op::Nop()};
}

VmJob fib_job(Value n) {
  VmJob job;
  job.kind = jit_abi::kUnitFn;
  job.ops = fib_ops();
  job.entry_ip = 1;
  job.stack = {n};
  job.slots = {Value()};  // num_slots 1
  return job;
}

struct Copied {
  uint64_t ip;
  uint32_t reason;
  std::vector<jit_abi::AbiValue> slots, stack;
};

struct FnCall {
  uint32_t status = 0;
  FnFrame frame{};
  std::vector<Copied> records;
};

void keep(void* core, const FnRecord* r) {
  Copied c{r->ip, r->reason, {r->slots, r->slots + r->num_slots}, {r->stack, r->stack + r->depth}};
  static_cast<FnCall*>(core)->records.push_back(std::move(c));
}

FnCall call(const VmUnit& unit, const std::vector<Value>& args, bool poll = false, uint64_t depth_room = 1000,
            uint64_t max_stack = 1u << 20) {
  FnCall c;
  std::vector<jit_abi::AbiValue> abi_args;
  for (const Value& v : args) abi_args.push_back(abi(v));
  const uint8_t flag = poll ? 1 : 0;
  c.frame.args = abi_args.data();
  c.frame.poll = &flag;
  c.frame.base = 0;
  c.frame.max_stack = max_stack;
  c.frame.depth_room = depth_room;
  c.frame.core = &c;
  c.frame.record = &keep;
  c.status = reinterpret_cast<uint32_t (*)(FnFrame*)>(unit.entry)(&c.frame);
  return c;
}

TEST(FnUnit, RecursiveFibReturnsItsValueWithoutRecords) {
  VmUnit unit = compile_vm(engine(), fib_job(Value::Int(10)));
  ASSERT_TRUE(unit.ok) << unit.reason;
  EXPECT_EQ(unit.max_exit_stack, 3u);  // the argument, then GetSlot 0 + the call's result + 1
  FnCall c = call(unit, {Value::Int(10)});
  EXPECT_EQ(c.status, jit_abi::kFnReturned);
  EXPECT_EQ(c.frame.has_result, 1u);
  EXPECT_TRUE(same_value(c.frame.result, abi(Value::Int(55))));
  EXPECT_TRUE(c.records.empty());
  FnCall f = call(unit, {Value::Int(25)});
  EXPECT_TRUE(same_value(f.frame.result, abi(Value::Int(75025))));
}

TEST(FnUnit, APendingPollBailsAtTheFirstTakenJumpWithThatFrame) {
  VmUnit unit = compile_vm(engine(), fib_job(Value::Int(10)));
  ASSERT_TRUE(unit.ok) << unit.reason;
  FnCall c = call(unit, {Value::Int(10)}, /*poll=*/true);
  EXPECT_EQ(c.status, jit_abi::kFnBailed);
  ASSERT_EQ(c.records.size(), 1u);
  EXPECT_EQ(c.records[0].ip, 8u);  // JumpIfFalse's target
  EXPECT_EQ(c.records[0].reason, jit_abi::kExitPoll);
  ASSERT_EQ(c.records[0].slots.size(), 1u);
  EXPECT_TRUE(same_value(c.records[0].slots[0], abi(Value::Int(10))));
  EXPECT_TRUE(c.records[0].stack.empty());
}

TEST(FnUnit, TheDepthRoomBailsAtTheCallWithEveryNativeFrameInnermostFirst) {
  VmUnit unit = compile_vm(engine(), fib_job(Value::Int(10)));
  ASSERT_TRUE(unit.ok) << unit.reason;
  FnCall c = call(unit, {Value::Int(10)}, false, /*depth_room=*/3);
  EXPECT_EQ(c.status, jit_abi::kFnBailed);
  ASSERT_EQ(c.records.size(), 3u);
  // Depth 3 (n = 8) refuses its first Call: the argument 7 is still on its stack.
  EXPECT_EQ(c.records[0].ip, 11u);
  EXPECT_EQ(c.records[0].reason, jit_abi::kExitLeft);
  EXPECT_TRUE(same_value(c.records[0].slots[0], abi(Value::Int(8))));
  ASSERT_EQ(c.records[0].stack.size(), 1u);
  EXPECT_TRUE(same_value(c.records[0].stack[0], abi(Value::Int(7))));
  // Its callers were at their first Call, the arguments handed over.
  for (size_t k = 1; k < 3; ++k) {
    EXPECT_EQ(c.records[k].ip, 11u);
    EXPECT_EQ(c.records[k].reason, jit_abi::kExitCallee);
    EXPECT_TRUE(same_value(c.records[k].slots[0], abi(Value::Int(8 + static_cast<int64_t>(k)))));
    EXPECT_TRUE(c.records[k].stack.empty());
  }
}

TEST(FnUnit, ACalleeWhoseStackWouldPassMaxStackIsLeftToTheInterpreter) {
  VmUnit unit = compile_vm(engine(), fib_job(Value::Int(10)));
  ASSERT_TRUE(unit.ok) << unit.reason;
  // Base 0, depth 3 per level plus one value kept under each second call: room for
  // the first level's call (0 + 3) but not once 3 frames' values stack up.
  FnCall c = call(unit, {Value::Int(10)}, false, 1000, /*max_stack=*/4);
  EXPECT_EQ(c.status, jit_abi::kFnBailed);
  ASSERT_FALSE(c.records.empty());
  EXPECT_EQ(c.records[0].reason, jit_abi::kExitLeft);
  EXPECT_TRUE(c.records[0].ip == 11u || c.records[0].ip == 15u);
}

TEST(FnUnit, MalformedFunctionRequestsFailWithAReason) {
  VmJob job = fib_job(Value::Int(1));
  job.entry_ip = 40;
  VmUnit bad_entry = compile_vm(engine(), job);
  EXPECT_FALSE(bad_entry.ok);
  EXPECT_NE(bad_entry.reason.find("entry_ip"), std::string::npos) << bad_entry.reason;

  job = fib_job(Value::Int(1));
  job.stack_tags = std::vector<uint8_t>{7};
  VmUnit bad_tag = compile_vm(engine(), job);
  EXPECT_FALSE(bad_tag.ok);
  EXPECT_NE(bad_tag.reason.find("not a scalar"), std::string::npos) << bad_tag.reason;
}

// A Call whose callee is undefined (kNoSub) compiles and bails out before the Call, so
// the interpreter reports the undefined function.
TEST(FnUnit, AnUndefinedCalleeBailsOutBeforeTheCall) {
  VmJob job;
  job.kind = jit_abi::kUnitFn;
  job.ops = {Op::LoadInt(4), with_callee(Op::Call(0, 1), jit_abi::kNoSub), Op::ReturnValue()};
  job.entry_ip = 0;
  VmUnit unit = compile_vm(engine(), job);
  ASSERT_TRUE(unit.ok) << unit.reason;
  FnCall c = call(unit, {});
  EXPECT_EQ(c.status, jit_abi::kFnBailed);
  ASSERT_EQ(c.records.size(), 1u);
  EXPECT_EQ(c.records[0].ip, 1u);
  ASSERT_EQ(c.records[0].stack.size(), 1u);
  EXPECT_TRUE(same_value(c.records[0].stack[0], abi(Value::Int(4))));
}

}  // namespace
}  // namespace fusevm::jit_plugin_test
