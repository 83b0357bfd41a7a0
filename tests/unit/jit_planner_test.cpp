// The VM tier's planner (src/jit_llvm/vm_kinds.cpp) on its own: which loops it lets run
// without polling (BoundedLoop) and the block versions that follows from. The planner has
// no LLVM in it, so these run in every build; what the emitted code does with the plan is
// tested through the VM (jit_vm_test.cpp) and the plugin's C ABI (tests/jit_plugin).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "fusevm/asm.hpp"
#include "fusevm/chunk.hpp"
#include "jit_abi/plugin_abi.hpp"
#include "jit_llvm/vm_kinds.hpp"

namespace fusevm {
namespace {

using jit_llvm::BoundedLoop;
using jit_llvm::Kind;
using jit_llvm::VmPlan;

Chunk assembled(const std::string& text) {
  LoadResult r = assemble(text, "planner.fasm");
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? std::move(*r.chunk) : Chunk{};
}

// Plans `text` (ops [begin, end), the whole chunk unless told) as a kUnitVm entered at
// `entry_ip`, every slot entering with `tag` (Int unless told).
struct Planned {
  Chunk chunk;
  std::vector<uint8_t> tags;
  VmPlan plan;
  std::string reason;
  bool ok = false;
};

Planned plan_of(const std::string& text, uint64_t entry_ip = 0, uint8_t tag = jit_abi::kTagInt,
                uint64_t begin = 0, uint64_t end = UINT64_MAX) {
  Planned p;
  p.chunk = assembled(text);
  const uint32_t num_slots = 4;  // every program here names slots 0..3 at most
  p.tags.assign(num_slots, tag);
  jit_abi::UnitRequest req{};
  req.kind = jit_abi::kUnitVm;
  req.ops = reinterpret_cast<const jit_abi::AbiOp*>(p.chunk.ops.data());
  req.num_ops = p.chunk.ops.size();
  req.num_slots = num_slots;
  req.name = "planner_test";
  req.vm_tier = jit_abi::kVmTierBlock;
  req.range_begin = begin;
  req.range_end = std::min<uint64_t>(end, p.chunk.ops.size());
  req.entry_ip = entry_ip;
  req.slot_tags = p.tags.data();
  p.ok = jit_llvm::plan_vm_unit(req, p.plan, p.reason);
  EXPECT_TRUE(p.ok) << p.reason;
  return p;
}

// Versions of `ip` that run unpolled.
size_t unpolled_versions(const VmPlan& plan, uint64_t ip) {
  size_t n = 0;
  for (const jit_llvm::KindState& s : plan.at(ip)) n += s.loop != 0 ? 1 : 0;
  return n;
}

// Body cost of the counted loop below: 12 ops of cost 1.
constexpr int64_t kLaps12 = jit_llvm::kUnpolledBudget / 12;

const char* const kNested = R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
outer:
    GetSlot 1
    LoadInt 100
    NumLt
    JumpIfFalse done
    LoadInt 0
    SetSlot 2
inner:
    GetSlot 2
    LoadInt 100
    NumLt
    JumpIfFalse inner_done
    GetSlot 0
    GetSlot 1
    Add
    GetSlot 2
    Add
    SetSlot 0
    PreIncSlotVoid 2
    Jump inner
inner_done:
    PreIncSlotVoid 1
    Jump outer
done:
    GetSlot 0
)";

TEST(JitPlanner, the_inner_counted_loop_of_a_nest_is_bounded_and_the_outer_is_not) {
  Planned p = plan_of(kNested);
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(p.plan.bounded.size(), 1u);
  const BoundedLoop& l = p.plan.bounded[0];
  EXPECT_EQ(l.header, 10u);
  EXPECT_EQ(l.latch, 21u);
  EXPECT_EQ(l.slot, 2u);
  EXPECT_EQ(l.lowest_entry, 100 - kLaps12);
}

// Slots enter Undef, so the outer loop's first lap is a version of its own; each of the
// two outer versions enters the inner loop through its own unpolled copy (KindState::
// entered_from), besides the polled version taken when the counter is far from the limit.
TEST(JitPlanner, each_entering_block_version_gets_its_own_unpolled_copy) {
  Planned p = plan_of(kNested, 0, jit_abi::kTagUndef);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.plan.at(4).size(), 2u) << "outer header: first lap and later laps";
  EXPECT_EQ(unpolled_versions(p.plan, 10), 2u);
  EXPECT_EQ(p.plan.at(10).size(), 3u);
  // The exit of the inner loop goes back to polling.
  for (const jit_llvm::KindState& s : p.plan.at(22)) EXPECT_EQ(s.loop, 0u);
}

// A unit of the inner loop alone ([10, 22)), as the VM compiles a hot loop at its header.
TEST(JitPlanner, entering_at_the_header_itself_plans_both_ways) {
  Planned p = plan_of(kNested, 10, jit_abi::kTagInt, 10, 22);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(unpolled_versions(p.plan, 10), 1u);
  EXPECT_EQ(p.plan.at(10).size(), 2u);
}

TEST(JitPlanner, a_counter_of_another_kind_never_enters_unpolled) {
  Planned p = plan_of(kNested, 10, jit_abi::kTagFloat, 10, 22);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(unpolled_versions(p.plan, 10), 0u);
  // Over the whole chunk the outer loop enters it again with an Int: that entry may.
  Planned whole = plan_of(kNested, 10, jit_abi::kTagFloat);
  EXPECT_GE(unpolled_versions(whole.plan, 10), 1u);
}

// `NumLe` runs one lap more; the fused header and the fused do-while latch are counted
// loops too.
TEST(JitPlanner, inclusive_and_fused_shapes_are_bounded) {
  Planned le = plan_of(R"(
top:
    GetSlot 0
    LoadInt 50
    NumLe
    JumpIfFalse out
    PreIncSlotVoid 0
    Jump top
out:
    Nop
)");
  ASSERT_EQ(le.plan.bounded.size(), 1u);
  EXPECT_EQ(le.plan.bounded[0].lowest_entry, 51 - jit_llvm::kUnpolledBudget / 6);
  // Strips compare with the LoadInt's value; the JumpIfFalse leaves at the strip's end.
  EXPECT_EQ(le.plan.bounded[0].limit_excl, 51);
  EXPECT_EQ(le.plan.bounded[0].laps, jit_llvm::kUnpolledBudget / 6);
  EXPECT_EQ(le.plan.bounded[0].limit_ip, 1u);
  EXPECT_EQ(le.plan.bounded[0].exit_ip, 3u);
  Planned fused_header = plan_of(R"(
top:
    SlotLtIntJumpIfFalse 0, 7, out
    PreIncSlot 0
    Pop
    Jump top
out:
    Nop
)");
  ASSERT_EQ(fused_header.plan.bounded.size(), 1u);
  EXPECT_EQ(fused_header.plan.bounded[0].lowest_entry, 7 - jit_llvm::kUnpolledBudget / 4);
  EXPECT_EQ(fused_header.plan.bounded[0].limit_ip, 0u);
  EXPECT_EQ(fused_header.plan.bounded[0].exit_ip, 0u);
  Planned do_while = plan_of(R"(
top:
    GetSlot 1
    LoadInt 3
    Pow
    SetSlot 1
    SlotIncLtIntJumpBack 0, 1000, top
)");
  ASSERT_EQ(do_while.plan.bounded.size(), 1u);
  EXPECT_EQ(do_while.plan.bounded[0].slot, 0u);
  EXPECT_EQ(do_while.plan.bounded[0].lowest_entry, 1000 - jit_llvm::kUnpolledBudget / (1 + 1 + 64 + 1 + 1))
      << "Pow weighs 64 against the budget";
  EXPECT_EQ(do_while.plan.bounded[0].limit_ip, 4u);
  EXPECT_EQ(do_while.plan.bounded[0].exit_ip, 4u);
}

// `i = i + 1` as a frontend writes it is the loop's increment, unless a jump lands inside
// it (then the value stored is not the counter plus one).
TEST(JitPlanner, an_add_of_one_stored_back_counts_as_the_increment) {
  Planned add = plan_of(R"(
top:
    GetSlot 0
    LoadInt 100000
    NumLt
    JumpIfFalse out
    GetSlot 0
    LoadInt 1
    Add
    SetSlot 0
    Jump top
out:
    Nop
)");
  ASSERT_EQ(add.plan.bounded.size(), 1u);
  EXPECT_EQ(add.plan.bounded[0].limit_excl, 100000);
  for (const char* other : {"LoadInt 2", "LoadFloat 1.0"}) {
    Planned p = plan_of(std::string("top:\n    GetSlot 0\n    LoadInt 10\n    NumLt\n    JumpIfFalse out\n"
                                    "    GetSlot 0\n    ") + other + "\n    Add\n    SetSlot 0\n    Jump top\nout:\n    Nop\n");
    EXPECT_TRUE(p.plan.bounded.empty()) << other;
  }
  Planned into = plan_of(R"(
top:
    GetSlot 0
    LoadInt 10
    NumLt
    JumpIfFalse out
    GetSlot 1
    GetSlot 2
    JumpIfTrue mid
    Pop
    GetSlot 0
mid:
    LoadInt 1
    Add
    SetSlot 0
    Jump top
out:
    Nop
)");
  EXPECT_TRUE(into.plan.bounded.empty());
}

// The reference's counter loop as a trace records it: the test at the bottom, unfused.
TEST(JitPlanner, an_unfused_do_while_latch_is_bounded) {
  Planned lt = plan_of(R"(
top:
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 1000
    NumLt
    JumpIfTrue top
    Nop
)");
  ASSERT_EQ(lt.plan.bounded.size(), 1u);
  EXPECT_EQ(lt.plan.bounded[0].header, 0u);
  EXPECT_EQ(lt.plan.bounded[0].latch, 4u);
  EXPECT_EQ(lt.plan.bounded[0].lowest_entry, 1000 - jit_llvm::kUnpolledBudget / 5);
  EXPECT_EQ(lt.plan.bounded[0].limit_ip, 2u);
  EXPECT_EQ(lt.plan.bounded[0].exit_ip, 4u);
  Planned le = plan_of(R"(
top:
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 10
    NumLe
    JumpIfTrue top
    Nop
)");
  ASSERT_EQ(le.plan.bounded.size(), 1u);
  EXPECT_EQ(le.plan.bounded[0].lowest_entry, 11 - jit_llvm::kUnpolledBudget / 5);
  // Counting down, or testing another slot than the one incremented: laps are not bounded.
  for (const char* latch : {"GetSlot 0\n    LoadInt 10\n    NumGt", "GetSlot 1\n    LoadInt 10\n    NumLt"}) {
    Planned other = plan_of(std::string("top:\n    PreIncSlotVoid 0\n    ") + latch + "\n    JumpIfTrue top\n    Nop\n");
    EXPECT_TRUE(other.plan.bounded.empty()) << latch;
  }
}

TEST(JitPlanner, a_limit_near_the_lowest_int_saturates_instead_of_wrapping) {
  Planned p = plan_of(R"(
top:
    GetSlot 0
    LoadInt -9223372036854775807
    NumLt
    JumpIfFalse out
    PreIncSlotVoid 0
    Jump top
out:
    Nop
)");
  ASSERT_EQ(p.plan.bounded.size(), 1u);
  EXPECT_EQ(p.plan.bounded[0].lowest_entry, INT64_MIN);
}

// Each of these loops could run longer than its counter says, or raise the interrupt flag
// itself, so each keeps polling at every lap.
TEST(JitPlanner, loops_whose_laps_are_not_bounded_by_their_counter_keep_polling) {
  const char* const kCases[] = {
      // a jump over the increment: a lap that does not count
      R"(
top:
    GetSlot 0
    LoadInt 10
    NumLt
    JumpIfFalse out
    GetSlot 1
    JumpIfTrue top_again
    PreIncSlotVoid 0
top_again:
    Jump top
out:
    Nop
)",
      // the counter written again
      R"(
top:
    GetSlot 0
    LoadInt 10
    NumLt
    JumpIfFalse out
    PreIncSlotVoid 0
    LoadInt 0
    SetSlot 0
    Jump top
out:
    Nop
)",
      // no increment at all
      R"(
top:
    GetSlot 0
    LoadInt 10
    NumLt
    JumpIfFalse out
    Jump top
out:
    Nop
)",
      // `i <= INT64_MAX` never fails: the counter wraps (regression: entered near the
      // limit, this loop ran unpolled for ever and ignored interrupts)
      R"(
top:
    GetSlot 0
    LoadInt 9223372036854775807
    NumLe
    JumpIfFalse out
    PreIncSlotVoid 0
    Jump top
out:
    Nop
)",
      // counting down with a greater-than test
      R"(
top:
    GetSlot 0
    LoadInt 10
    NumGt
    JumpIfFalse out
    PreIncSlotVoid 0
    Jump top
out:
    Nop
)",
      // a loop inside (the outer one; the inner is bounded, checked below)
      R"(
top:
    GetSlot 0
    LoadInt 10
    NumLt
    JumpIfFalse out
    LoadInt 0
    SetSlot 1
in:
    GetSlot 1
    LoadInt 10
    NumLt
    JumpIfFalse in_done
    PreIncSlotVoid 1
    Jump in
in_done:
    PreIncSlotVoid 0
    Jump top
out:
    Nop
)",
      // a call (its callee might run long or raise the flag)
      R"(
top:
    GetSlot 0
    LoadInt 10
    NumLt
    JumpIfFalse out
    Call @f, 0
    PreIncSlotVoid 0
    Jump top
out:
    Jump end
.sub f
    Return
end:
    Nop
)",
      // an extension op
      R"(
top:
    GetSlot 0
    LoadInt 10
    NumLt
    JumpIfFalse out
    Extended 3, 0
    PreIncSlotVoid 0
    Jump top
out:
    Nop
)",
  };
  for (const char* text : kCases) {
    Planned p = plan_of(text);
    ASSERT_TRUE(p.ok);
    for (const BoundedLoop& l : p.plan.bounded) EXPECT_NE(l.header, 0u) << text;
  }
  // The loop inside the sixth case is itself a counted loop.
  Planned nest = plan_of(kCases[5]);
  ASSERT_EQ(nest.plan.bounded.size(), 1u);
  EXPECT_EQ(nest.plan.bounded[0].header, 6u);
}

}  // namespace
}  // namespace fusevm
