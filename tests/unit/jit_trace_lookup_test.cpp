// The reference's raw-slot trace entry (spec/jit.md §1.7, §1.8, §4.2): JitCompiler::
// trace_lookup on an int64_t slot array with a DeoptInfo, and trace_install_with_kind,
// trace_deopt_count. Our VMs enter traces themselves; these are for embedders that drive
// traces by hand, on the same process-wide trees.
//
// Adapted expectations: DeoptInfo keeps the reference's layout as a prefix and adds each
// inlined frame's stack base (quirk Q8) and slot kinds; every frame slot index is written
// (Q9); stack kinds include Bool and Undef; a side trace installed with
// trace_install_with_kind becomes a side path of its tree (Q10); trees that need a VM
// (globals, builtins) are Skip.
#include <bit>
#include <cstring>
#include <string>
#include <vector>

#include "jit_test_util.hpp"
#include "jit_vm_diff_harness.hpp"

namespace fusevm_test {
namespace {

using namespace vmdiff;

constexpr size_t kAnchor = 2;       // counter_loop's header
constexpr size_t kFallthrough = 7;  // and the op after its closing jump

class JitTraceLookup : public JitRequired {
 protected:
  void TearDown() override { JitCompiler::set_config(TraceJitConfig{}); }

  // Runs `chunk` in a traced VM (threshold 5) so the process has its trees.
  static void record(const Chunk& chunk, const Value& want) {
    VM vm(chunk);
    vm.enable_jit(*traced(5).jit);
    EXPECT_TRUE(IsOk(vm.run(), want));
  }
};

TEST_F(JitTraceLookup, lookups_count_toward_the_threshold_then_a_trace_runs_on_raw_slots) {
  TraceJitConfig c;
  c.trace_threshold = 3;
  JitCompiler::set_config(c);
  const Chunk chunk = assembled_or_fail(counter_loop(100));
  JitCompiler jit;
  DeoptInfo deopt = DeoptInfo::zeroed();
  std::vector<int64_t> slots{0};
  const std::vector<SlotKind> kinds{SlotKind::Int};
  using K = TraceLookup::Kind;
  EXPECT_EQ(jit.trace_lookup(chunk, kAnchor, slots, kinds, deopt).kind, K::NotHot);
  EXPECT_EQ(jit.trace_lookup(chunk, kAnchor, slots, kinds, deopt).kind, K::NotHot);
  EXPECT_EQ(jit.trace_lookup(chunk, kAnchor, slots, kinds, deopt).kind, K::StartRecording);
  EXPECT_EQ(jit.trace_lookup(chunk, kAnchor, slots, kinds, deopt).kind, K::StartRecording) << "until installed";
  const std::vector<Op> lap(chunk.ops.begin() + kAnchor, chunk.ops.begin() + kFallthrough);
  ASSERT_TRUE(jit.trace_install(chunk, kAnchor, kFallthrough, lap, std::vector<size_t>{2, 3, 4, 5, 6}, kinds));
  slots[0] = 40;
  const TraceLookup r = jit.trace_lookup(chunk, kAnchor, slots, kinds, deopt);
  EXPECT_EQ(r, (TraceLookup{K::Ran, kFallthrough}));
  EXPECT_EQ(slots[0], 100) << "the loop ran to its end and the slot was written back";
  EXPECT_EQ(deopt.resume_ip, kFallthrough);
  EXPECT_EQ(deopt.frame_count, 0u);
  EXPECT_EQ(deopt.stack_count, 0u);
}

TEST_F(JitTraceLookup, five_guard_mismatches_blacklist_the_key) {
  const Chunk chunk = assembled_or_fail(counter_loop(100));
  record(chunk, Value::Int(100));
  JitCompiler jit;
  DeoptInfo deopt;
  std::vector<int64_t> slots{0};
  const std::vector<SlotKind> floats{SlotKind::Float};
  for (int k = 1; k <= 4; ++k) {
    EXPECT_EQ(jit.trace_lookup(chunk, kAnchor, slots, floats, deopt).kind, TraceLookup::Kind::GuardMismatch);
    EXPECT_EQ(jit.trace_deopt_count(chunk, kAnchor), static_cast<uint32_t>(k));
  }
  EXPECT_FALSE(jit.trace_is_blacklisted(chunk, kAnchor));
  EXPECT_EQ(jit.trace_lookup(chunk, kAnchor, slots, floats, deopt).kind, TraceLookup::Kind::GuardMismatch);
  EXPECT_TRUE(jit.trace_is_blacklisted(chunk, kAnchor));
  const std::vector<SlotKind> ints{SlotKind::Int};
  EXPECT_EQ(jit.trace_lookup(chunk, kAnchor, slots, ints, deopt).kind, TraceLookup::Kind::Skip);
  EXPECT_EQ(slots[0], 0) << "a trace that did not run leaves the slots alone";
  // An explicit install clears the key (quirk Q12 fixed).
  const std::vector<Op> lap(chunk.ops.begin() + kAnchor, chunk.ops.begin() + kFallthrough);
  ASSERT_TRUE(jit.trace_install(chunk, kAnchor, kFallthrough, lap, std::vector<size_t>{2, 3, 4, 5, 6}, ints));
  EXPECT_EQ(jit.trace_deopt_count(chunk, kAnchor), 0u);
  EXPECT_EQ(jit.trace_lookup(chunk, kAnchor, slots, ints, deopt).kind, TraceLookup::Kind::Ran);
  jit.trace_abort(chunk, kAnchor);
  EXPECT_EQ(jit.trace_lookup(chunk, kAnchor, slots, ints, deopt).kind, TraceLookup::Kind::Skip);
}

// An exit with values on the stack: the Float and the Bool under the failed test come back
// in stack_buf with their kinds.
TEST_F(JitTraceLookup, an_exit_hands_back_the_stack_with_its_kinds) {
  const Chunk chunk = assembled_or_fail(R"(
    LoadInt 0
    SetSlot 0
top:
    PreIncSlotVoid 0
    LoadFloat 0.5
    LoadTrue
    GetSlot 0
    LoadInt 30
    NumLt
    JumpIfFalse out
    Pop
    Pop
    Jump top
out:
    Pop
    ReturnValue
)");
  record(chunk, Value::Float(0.5));
  JitCompiler jit;
  DeoptInfo deopt;
  std::vector<int64_t> slots{10};
  const TraceLookup r = jit.trace_lookup(chunk, kAnchor, slots, std::vector<SlotKind>{SlotKind::Int}, deopt);
  ASSERT_EQ(r.kind, TraceLookup::Kind::Ran);
  EXPECT_EQ(r.resume_ip, 12u) << "out:";
  ASSERT_EQ(chunk.ops[12].code(), OpCode::Pop);
  EXPECT_EQ(slots[0], 30);
  ASSERT_EQ(deopt.stack_count, 2u);
  EXPECT_EQ(deopt.stack_kinds[0], STACK_KIND_FLOAT);
  EXPECT_EQ(deopt.stack_buf[0], std::bit_cast<int64_t>(0.5));
  EXPECT_EQ(deopt.stack_kinds[1], STACK_KIND_BOOL);
  EXPECT_EQ(deopt.stack_buf[1], 1);
  EXPECT_EQ(deopt.frame_count, 0u);
}

// A guard inside an inlined call that fails: the DeoptInfo has the call's frame (its
// return ip, stack base and slots with kinds, every index written) for the interpreter to
// make (frame materialisation as data).
TEST_F(JitTraceLookup, an_exit_inside_an_inlined_call_describes_its_frame) {
  const Chunk chunk = assembled_or_fail(R"(
    Jump main
.sub small
    SetSlot 0
    GetSlot 0
    LoadInt 30
    NumLt
    JumpIfFalse big
    GetSlot 0
    ReturnValue
big:
    LoadInt 99
    ReturnValue
main:
    LoadInt 0
    SetSlot 0
    LoadInt 20
    SetSlot 1
    LoadInt 0
    SetSlot 2
top:
    GetSlot 2
    GetSlot 0
    Call @small, 1
    Add
    SetSlot 2
    PreIncSlotVoid 0
    GetSlot 0
    GetSlot 1
    NumLt
    JumpIfTrue top
    GetSlot 2
    ReturnValue
)");
  record(chunk, Value::Int(190));
  const size_t top = 16, call = 18, big = 8;
  ASSERT_EQ(chunk.ops[call].code(), OpCode::Call);
  JitCompiler jit;
  ASSERT_TRUE(jit.trace_is_compiled(chunk, top));
  DeoptInfo deopt;
  std::memset(static_cast<void*>(&deopt), 0x5a, sizeof deopt);  // stale contents must not show
  std::vector<int64_t> slots{0, 100, 7};
  const std::vector<SlotKind> kinds(3, SlotKind::Int);
  const TraceLookup r = jit.trace_lookup(chunk, top, slots, kinds, deopt);
  ASSERT_EQ(r.kind, TraceLookup::Kind::Ran);
  EXPECT_EQ(r.resume_ip, big);
  EXPECT_EQ(slots[0], 30);
  EXPECT_EQ(slots[2], 7 + 29 * 30 / 2);
  ASSERT_EQ(deopt.frame_count, 1u);
  EXPECT_EQ(deopt.frames[0].return_ip, call + 1);
  EXPECT_EQ(deopt.frame_stack_base[0], 1u) << "the caller's sum stays below the call's frame";
  ASSERT_GE(deopt.frames[0].slot_count, 1u);
  EXPECT_EQ(deopt.frames[0].slots[0], 30);
  EXPECT_EQ(deopt.frame_slot_kinds[0][0], STACK_KIND_INT);
  for (size_t j = 1; j < MAX_DEOPT_SLOTS_PER_FRAME; ++j) {
    EXPECT_EQ(deopt.frame_slot_kinds[0][j], STACK_KIND_UNDEF) << "slot " << j;
    EXPECT_EQ(deopt.frames[0].slots[j], 0) << "slot " << j;
  }
  ASSERT_EQ(deopt.stack_count, 1u) << "the sum under the call";
  EXPECT_EQ(deopt.stack_buf[0], 7 + 29 * 30 / 2);
  EXPECT_EQ(deopt.stack_kinds[0], STACK_KIND_INT);
}

TEST_F(JitTraceLookup, a_trace_that_needs_a_vm_is_skipped) {
  const Chunk chunk = assembled_or_fail(R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetVar @g
top:
    PreIncSlotVoid 0
    GetVar @g
    LoadInt 1
    Add
    SetVar @g
    GetSlot 0
    LoadInt 100
    NumLt
    JumpIfTrue top
    GetVar @g
    ReturnValue
)");
  record(chunk, Value::Int(100));
  JitCompiler jit;
  ASSERT_TRUE(jit.trace_is_compiled(chunk, 4));
  DeoptInfo deopt;
  std::vector<int64_t> slots{0};
  EXPECT_EQ(jit.trace_lookup(chunk, 4, slots, std::vector<SlotKind>{SlotKind::Int}, deopt).kind,
            TraceLookup::Kind::Skip)
      << "its global lives in the VM";
}

// A side trace recorded from a guard's other way back to the loop's header becomes a side
// path of that loop's tree; anywhere else it is refused.
TEST_F(JitTraceLookup, a_side_trace_installs_as_a_side_path_of_its_tree) {
  const Chunk chunk = assembled_or_fail(R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 0
    LoadInt 60
    NumLt
    JumpIfFalse odd
    PreIncSlotVoid 1
odd:
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 100
    NumLt
    JumpIfTrue top
    GetSlot 1
    ReturnValue
)");
  // The lap as recorded while i < 60 (the JumpIfFalse falls through), installed by hand.
  JitCompiler jit;
  const std::vector<size_t> lap_ips{4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
  std::vector<Op> lap;
  for (size_t ip : lap_ips) lap.push_back(chunk.ops[ip]);
  const std::vector<SlotKind> kinds{SlotKind::Int, SlotKind::Int};
  std::string why;
  ASSERT_TRUE(jit.trace_install(chunk, 4, 14, lap, lap_ips, kinds, &why)) << why;
  // The side trace from `odd` (ip 9, where the guard at ip 7 leaves) back to the header.
  const std::vector<size_t> side_ips{9, 10, 11, 12, 13};
  std::vector<Op> side;
  for (size_t ip : side_ips) side.push_back(chunk.ops[ip]);
  EXPECT_FALSE(jit.trace_install_with_kind(chunk, 10, 4, 14, side, side_ips, kinds, &why));
  EXPECT_NE(why.find("no guard of the trace at ip 4 leaves to ip 10"), std::string::npos) << why;
  ASSERT_TRUE(jit.trace_install_with_kind(chunk, 9, 4, 14, side, side_ips, kinds, &why)) << why;
  const std::optional<TraceMetadata> meta = jit.trace_export(chunk, 4);
  ASSERT_TRUE(meta.has_value());
  ASSERT_EQ(meta->side_paths.size(), 1u);
  EXPECT_EQ(meta->side_paths[0].recorded_ips, side_ips);
  EXPECT_FALSE(jit.trace_is_compiled(chunk, 9)) << "never a main trace (quirk Q10)";
  EXPECT_FALSE(jit.trace_install_with_kind(chunk, 9, 4, 14, side, side_ips, kinds, &why));
  EXPECT_NE(why.find("already has a side path"), std::string::npos) << why;
  // The tree runs both ways natively: from i = 0 to the end in one lookup.
  DeoptInfo deopt;
  std::vector<int64_t> slots{0, 0};
  EXPECT_EQ(jit.trace_lookup(chunk, 4, slots, kinds, deopt), (TraceLookup{TraceLookup::Kind::Ran, 14}));
  EXPECT_EQ(slots[0], 100);
  EXPECT_EQ(slots[1], 60);
}

TEST(DeoptInfoLayout, keeps_the_references_layout_as_a_prefix) {
  EXPECT_EQ(sizeof(DeoptFrame), 144u);
  EXPECT_EQ(offsetof(DeoptInfo, resume_ip), 0u);
  EXPECT_EQ(offsetof(DeoptInfo, frame_count), 8u);
  EXPECT_EQ(offsetof(DeoptInfo, stack_count), 16u);
  EXPECT_EQ(offsetof(DeoptInfo, frames), 24u);
  EXPECT_EQ(offsetof(DeoptInfo, stack_buf), 600u);
  EXPECT_EQ(offsetof(DeoptInfo, stack_kinds), 856u);
  EXPECT_EQ(MAX_DEOPT_FRAMES, 4u);
  EXPECT_EQ(MAX_DEOPT_STACK, 32u);
  const DeoptInfo z = DeoptInfo::zeroed();
  EXPECT_EQ(z.resume_ip + z.frame_count + z.stack_count, 0u);
}

}  // namespace
}  // namespace fusevm_test
