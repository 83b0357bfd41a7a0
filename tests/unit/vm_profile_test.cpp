// VM::enable_profiling: exact counts of dispatched chunk ops and op pairs (decode-time
// superinstructions are left out while profiling, so each chunk op counts once), and the
// split of run time between the interpreter and native code.
#include <gtest/gtest.h>

#include <string>

#include "fusevm/asm.hpp"
#include "fusevm/jit.hpp"
#include "fusevm/vm.hpp"
#include "jit_test_util.hpp"

namespace fusevm_test {
namespace {

using fusevm::OpCode;
using fusevm::VmProfile;

// `i = 0; do { i = i + 1 } while (i < laps); i`: GetSlot/LoadInt/Add/SetSlot is one of the
// decoder's superinstructions.
std::string counter(int laps) {
  return "    LoadInt 0\n    SetSlot 0\ntop:\n    GetSlot 0\n    LoadInt 1\n    Add\n    SetSlot 0\n"
         "    GetSlot 0\n    LoadInt " + std::to_string(laps) + "\n    NumLt\n    JumpIfTrue top\n    GetSlot 0\n";
}

uint64_t ops(const VmProfile& p, OpCode c) { return p.ops[static_cast<size_t>(c)]; }
uint64_t pair(const VmProfile& p, OpCode a, OpCode b) {
  return p.pairs[static_cast<size_t>(a) * fusevm::kNumOps + static_cast<size_t>(b)];
}

TEST(VmProfile, CountsEveryDispatchedOpAndPairExactly) {
  fusevm::LoadResult l = fusevm::assemble(counter(100));
  ASSERT_TRUE(l.ok()) << l.message();
  fusevm::VM vm(*l.chunk);
  EXPECT_EQ(vm.profile(), nullptr);
  vm.enable_profiling(true);
  ASSERT_NE(vm.profile(), nullptr);
  ASSERT_TRUE(vm.run().is_ok());
  const VmProfile& p = *vm.profile();
  EXPECT_EQ(ops(p, OpCode::GetSlot), 201u);  // two per lap, one at the end
  EXPECT_EQ(ops(p, OpCode::LoadInt), 201u);
  EXPECT_EQ(ops(p, OpCode::Add), 100u);
  EXPECT_EQ(ops(p, OpCode::SetSlot), 101u);
  EXPECT_EQ(ops(p, OpCode::JumpIfTrue), 100u);
  EXPECT_EQ(pair(p, OpCode::GetSlot, OpCode::LoadInt), 200u);
  EXPECT_EQ(pair(p, OpCode::JumpIfTrue, OpCode::GetSlot), 100u);  // 99 back to top, 1 on to the end
  EXPECT_EQ(pair(p, OpCode::LoadInt, OpCode::SetSlot), 1u);
  EXPECT_GT(p.run_ns, 0u);
  EXPECT_EQ(p.block_ns + p.trace_ns + p.linear_ns + p.function_ns, 0u);

  // Counts go on across runs; turning profiling off drops them and restores the decoder's
  // superinstructions (same result).
  vm.reset();
  ASSERT_TRUE(vm.run().is_ok());
  EXPECT_EQ(ops(*vm.profile(), OpCode::Add), 200u);
  vm.enable_profiling(false);
  EXPECT_EQ(vm.profile(), nullptr);
  vm.reset();
  EXPECT_EQ(vm.run().value(), fusevm::Value::Int(100));
}

TEST(VmProfile, NativeTimeIsCountedPerTierAndItsOpsAreNot) {
  FUSEVM_REQUIRE_JIT();
  fusevm::LoadResult l = fusevm::assemble(counter(1000000));
  ASSERT_TRUE(l.ok()) << l.message();
  fusevm::VM vm(*l.chunk);
  fusevm::JitOptions o;
  o.tiers = fusevm::JitTiers::Trace;
  o.sync = true;
  o.strict = true;
  o.trace.trace_threshold = 5;
  vm.enable_jit(o);
  vm.enable_profiling(true);
  ASSERT_EQ(vm.run().value(), fusevm::Value::Int(1000000));
  const VmProfile& p = *vm.profile();
  EXPECT_GT(p.trace_ns, 0u);
  EXPECT_LE(p.trace_ns, p.run_ns);
  EXPECT_LT(ops(p, OpCode::Add), 100u) << "the traced laps' ops were counted";
}

}  // namespace
}  // namespace fusevm_test
