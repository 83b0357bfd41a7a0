// Trace metadata (issue 6 item 7, spec/jit.md §1.9, §4.13): trees exported from the VMs
// that compiled them, written and read in the trace metadata format, and imported with
// every check the reference skips (quirks Q10, Q11, Q13), so a tree that passes them runs
// exactly as the interpreter does, and one that does not is refused with a reason.
//
// Adapted expectations: the reference stores side traces as separate entries that import
// as main traces (Q10); here a side path is part of its main trace's tree, so export_all
// lists one entry per loop and a re-import brings the side paths back with it.
#include <functional>
#include <random>
#include <string>

#include "jit_test_util.hpp"
#include "jit_vm_diff_harness.hpp"

namespace fusevm_test {
namespace {

using namespace vmdiff;

Value run_traced(const Chunk& chunk, uint32_t threshold = 50) {
  VM vm(chunk);
  vm.enable_jit(*traced(threshold).jit);
  VMResult r = vm.run();
  EXPECT_TRUE(r.is_ok()) << r.repr();
  return r.is_ok() ? r.value() : Value();
}

// A loop whose branch goes both ways (every third lap adds to a Float sum): its tree has a
// side path. Header at ip 6.
const char* kBranchy = R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
    LoadFloat 0.0
    SetSlot 2
top:
    GetSlot 0
    LoadInt 300
    NumLt
    JumpIfFalse done
    GetSlot 0
    LoadInt 3
    Mod
    LoadInt 0
    NumEq
    JumpIfFalse ints
    GetSlot 2
    LoadFloat 0.5
    Add
    SetSlot 2
    Jump next
ints:
    GetSlot 1
    GetSlot 0
    Add
    SetSlot 1
next:
    PreIncSlotVoid 0
    Jump top
done:
    GetSlot 1
    GetSlot 2
    Add
    ReturnValue
)";

// The tree of kBranchy as the VM exports it after a run at threshold 5.
TraceMetadata branchy_tree(const Chunk& chunk) {
  run_traced(chunk, 5);
  std::optional<TraceMetadata> m = JitCompiler().trace_export(chunk, 6);
  EXPECT_TRUE(m.has_value());
  return m.value_or(TraceMetadata{});
}

class JitTraceMetadata : public JitRequired {};

TEST_F(JitTraceMetadata, a_compiled_loop_exports_its_lap_with_ips_ops_and_kinds) {
  Chunk chunk = assembled_or_fail(counter_loop(200));
  JitCompiler jit;
  EXPECT_FALSE(jit.trace_export(chunk, 2).has_value()) << "nothing before a trace was compiled";
  EXPECT_TRUE(run_traced(chunk) == Value::Int(200));
  std::optional<TraceMetadata> m = jit.trace_export(chunk, 2);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->chunk_op_hash, chunk.op_hash);
  EXPECT_EQ(m->anchor_ip, 2u);
  EXPECT_EQ(m->fallthrough_ip, 7u);
  EXPECT_EQ(m->recorded_ips, (std::vector<size_t>{2, 3, 4, 5, 6}));
  ASSERT_EQ(m->ops.size(), 5u);
  for (size_t i = 0; i < m->ops.size(); ++i) EXPECT_EQ(m->ops[i], chunk.ops[m->recorded_ips[i]]);
  EXPECT_EQ(m->slot_kinds_at_anchor, std::vector<SlotKind>{SlotKind::Int});
  EXPECT_TRUE(m->side_paths.empty());
  EXPECT_FALSE(jit.trace_export(chunk, 3).has_value()) << "only loop headers have trees";
  const std::vector<TraceMetadata> all = jit.trace_export_all(chunk);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0], *m);
}

// Slots the trace leaves alone keep their own kinds in the metadata (ARCHITECTURE's SlotKind:
// the reference would call them Int), every kind survives the file format, and a touched
// slot may only be named with a kind native code holds.
TEST_F(JitTraceMetadata, untouched_slots_export_their_own_kinds_and_only_scalars_are_imported) {
  Chunk chunk = assembled_or_fail(R"(
    LoadConst "s"
    SetSlot 1
    LoadInt 1
    LoadInt 2
    MakeArray 2
    SetSlot 2
    LoadTrue
    SetSlot 3
    LoadInt 0
    SetSlot 0
top:
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 200
    NumLt
    JumpIfTrue top
    GetSlot 0
    ReturnValue
)");
  EXPECT_TRUE(run_traced(chunk) == Value::Int(200));
  JitCompiler jit;
  std::optional<TraceMetadata> m = jit.trace_export(chunk, 10);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->slot_kinds_at_anchor,
            (std::vector<SlotKind>{SlotKind::Int, SlotKind::Str, SlotKind::Array, SlotKind::Bool}));
  TraceMetadata every = *m;
  every.slot_kinds_at_anchor = {SlotKind::Int,   SlotKind::Float, SlotKind::Bool, SlotKind::Undef,
                                SlotKind::Str,   SlotKind::Array, SlotKind::Hash, SlotKind::Other};
  const std::string text = trace_metadata_to_json(std::span<const TraceMetadata>(&every, 1));
  EXPECT_NE(text.find("\"Other\""), std::string::npos) << text;
  TraceMetadataLoad back = trace_metadata_from_json(text, "t.json");
  ASSERT_TRUE(back.ok()) << back.message();
  ASSERT_EQ(back.traces.size(), 1u);
  EXPECT_EQ(back.traces[0], every);
  std::string why;
  EXPECT_TRUE(jit.trace_import(chunk, every, &why)) << why << ": slot 0 is the only one the trace touches";
  for (SlotKind k : {SlotKind::Str, SlotKind::Array, SlotKind::Hash, SlotKind::Other}) {
    TraceMetadata bad = *m;
    bad.slot_kinds_at_anchor[0] = k;
    EXPECT_FALSE(jit.trace_import(chunk, bad, &why)) << static_cast<int>(k);
    EXPECT_NE(why.find("slot 0"), std::string::npos) << why;
  }
}

TEST_F(JitTraceMetadata, a_tree_with_a_side_path_is_one_entry_and_survives_a_json_round_trip) {
  Chunk chunk = assembled_or_fail(kBranchy);
  const TraceMetadata tree = branchy_tree(chunk);
  ASSERT_EQ(tree.side_paths.size(), 1u) << "the other way of the branch joined the tree";
  EXPECT_EQ(tree.side_paths[0].parent, 0);
  EXPECT_EQ(JitCompiler().trace_export_all(chunk).size(), 1u) << "a side path is no entry of its own (Q10)";
  const std::string text = trace_metadata_to_json(std::vector<TraceMetadata>{tree});
  const TraceMetadataLoad back = trace_metadata_from_json(text, "tree.json");
  ASSERT_TRUE(back.ok()) << back.message();
  ASSERT_EQ(back.traces.size(), 1u);
  EXPECT_EQ(back.traces[0], tree);
  EXPECT_EQ(trace_metadata_to_json(back.traces), text);
}

TEST_F(JitTraceMetadata, an_imported_tree_runs_from_the_first_backedge_and_matches_the_interpreter) {
  Chunk chunk = assembled_or_fail(kBranchy);
  const std::string text = trace_metadata_to_json(std::vector<TraceMetadata>{branchy_tree(chunk)});
  JitCompiler::reset();  // a new process, as far as the JIT can tell
  const TraceMetadataLoad file = trace_metadata_from_json(text, "tree.json");
  ASSERT_TRUE(file.ok()) << file.message();
  JitCompiler jit;
  std::string why;
  ASSERT_TRUE(jit.trace_import(chunk, file.traces[0], &why)) << why;
  EXPECT_EQ(JitCompiler::stats().trace.compiled + JitCompiler::stats().trace.cached, 1u) << "compiled at import";
  // The threshold is never reached: only the imported tree can be entered.
  expect_same_as_interpreted(chunk, traced(1u << 20));
  const JitTierStats t = JitCompiler::stats().trace;
  EXPECT_EQ(t.entered, 1u) << "entered at the first backedge, and the whole loop ran in it";
  EXPECT_EQ(t.compiled + t.cached, 1u) << "the VM used the unit the import compiled";
}

TEST_F(JitTraceMetadata, importing_over_a_live_tree_replaces_it_and_keeps_working) {
  Chunk chunk = assembled_or_fail(counter_loop(200));
  run_traced(chunk);
  JitCompiler jit;
  const TraceMetadata m = *jit.trace_export(chunk, 2);
  EXPECT_TRUE(jit.trace_import(chunk, m));
  EXPECT_EQ(jit.trace_import_all(chunk, std::vector<TraceMetadata>{m, m}), 2u);
  EXPECT_EQ(*jit.trace_export(chunk, 2), m);
  EXPECT_TRUE(run_traced(chunk) == Value::Int(200));
}

// Each change makes metadata that must not run: the import says why and keeps the tree it had.
TEST_F(JitTraceMetadata, tampered_metadata_is_refused_with_a_reason) {
  Chunk chunk = assembled_or_fail(kBranchy);
  const TraceMetadata good = branchy_tree(chunk);
  JitCompiler jit;
  auto refused = [&](const char* what, const std::function<void(TraceMetadata&)>& change, const std::string& reason) {
    TraceMetadata m = good;
    change(m);
    std::string why;
    EXPECT_FALSE(jit.trace_import(chunk, m, &why)) << what;
    EXPECT_NE(why.find(reason), std::string::npos) << what << ": " << why;
    EXPECT_EQ(*jit.trace_export(chunk, 6), good) << what << ": the stored tree is kept";
  };
  refused("hash + 1 (the reference's test)", [](TraceMetadata& m) { m.chunk_op_hash += 1; }, "op_hash differs");
  refused("an op that is not the chunk's", [](TraceMetadata& m) { m.ops[1] = Op::LoadInt(301); }, "not the chunk's op");
  refused("an ip past the end", [](TraceMetadata& m) { m.recorded_ips[3] = 1000; }, "not the chunk's op");
  refused("ops and ips of different lengths", [](TraceMetadata& m) { m.ops.pop_back(); }, "ops but");
  refused("two ops swapped", [](TraceMetadata& m) {
    std::swap(m.ops[0], m.ops[1]);
    std::swap(m.recorded_ips[0], m.recorded_ips[1]);
  }, "does not start at the anchor");
  refused("an op skipped", [](TraceMetadata& m) {
    m.ops.erase(m.ops.begin() + 4);
    m.recorded_ips.erase(m.recorded_ips.begin() + 4);
  }, "cannot follow");
  refused("a side path that goes the parent's way", [&](TraceMetadata& m) {
    TraceSidePath& p = m.side_paths[0];
    const size_t taken = m.recorded_ips[p.parent_pos + 1];
    p.ops = {chunk.ops[taken]};
    p.recorded_ips = {taken};
    p.joins = {TraceJoin{0, 0, p.parent_pos + 2}};
  }, "way its parent went");
  refused("a side path hanging off a non-guard", [](TraceMetadata& m) { m.side_paths[0].parent_pos = 0; },
          "not a conditional jump");
  refused("a join outside the tree", [](TraceMetadata& m) { m.side_paths[0].joins[0].path = 5; }, "outside the tree");
  refused("a parent after its child", [](TraceMetadata& m) { m.side_paths[0].parent = 1; }, "parent comes after");
  refused("another fallthrough", [](TraceMetadata& m) { m.fallthrough_ip = 3; }, "fallthrough_ip");
  refused("no kind for a slot the trace reads", [](TraceMetadata& m) { m.slot_kinds_at_anchor = {SlotKind::Int}; },
          "no kind for slot 1");
  refused("the anchor past the end", [](TraceMetadata& m) { m.anchor_ip = 99; }, "anchor");
  Chunk hand_built = chunk;
  hand_built.op_hash = 0;
  std::string why;
  EXPECT_FALSE(jit.trace_import(hand_built, good, &why));
  EXPECT_NE(why.find("no op_hash"), std::string::npos) << why;
}

// Whatever random damage the checks let through must run exactly as interpreted: an
// import is either refused or correct, never wrong code.
TEST_F(JitTraceMetadata, randomly_damaged_metadata_is_refused_or_runs_exactly) {
  Chunk chunk = assembled_or_fail(kBranchy);
  const TraceMetadata good = branchy_tree(chunk);
  std::mt19937_64 rng(0x7ace);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % std::max<size_t>(n, 1)); };
  int accepted = 0;
  for (int k = 0; k < 300; ++k) {
    TraceMetadata m = good;
    for (int edits = 1 + static_cast<int>(pick(3)); edits > 0; --edits) {
      TraceSidePath& side = m.side_paths[0];
      switch (pick(8)) {
        case 0: m.recorded_ips[pick(m.recorded_ips.size())] = pick(chunk.ops.size() + 2); break;
        case 1: side.recorded_ips[pick(side.recorded_ips.size())] = pick(chunk.ops.size() + 2); break;
        case 2: {  // an ip and its op, consistently (only the flow check can catch it)
          const size_t i = pick(m.recorded_ips.size());
          m.recorded_ips[i] = pick(chunk.ops.size());
          m.ops[i] = chunk.ops[m.recorded_ips[i]];
          break;
        }
        case 3: side.parent_pos = pick(m.ops.size() + 1); break;
        case 4: if (!side.joins.empty()) side.joins[0].pos = pick(m.ops.size() + 1); break;
        case 5: m.slot_kinds_at_anchor[pick(3)] = static_cast<SlotKind>(pick(8)); break;
        case 6: m.fallthrough_ip = pick(chunk.ops.size() + 1); break;
        default: {  // drop an op and its ip
          const size_t i = pick(m.ops.size());
          m.ops.erase(m.ops.begin() + static_cast<std::ptrdiff_t>(i));
          m.recorded_ips.erase(m.recorded_ips.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
    }
    JitCompiler::reset();
    if (!JitCompiler().trace_import(chunk, m)) continue;
    ++accepted;
    expect_same_as_interpreted(chunk, traced(1u << 20), /*must_enter=*/false);
    if (HasFailure()) break;
  }
  RecordProperty("accepted", accepted);
  EXPECT_GT(accepted, 0) << "some damage (other slot kinds) is harmless and must run";
}

// A conditional jump to the next op goes to one ip both ways, so the path recorded from
// its exit starts where its parent goes on; the import check took that for a side path
// going its parent's way and refused a tree the VM had compiled.
TEST_F(JitTraceMetadata, regression_a_side_path_after_a_jump_to_the_next_op_imports) {
  Chunk chunk = assembled_or_fail(R"(
    LoadInt 0
    SetSlot 0
top:
    GetSlot 0
    LoadInt 2
    Mod
    JumpIfFalse next
next:
    PreIncSlotVoid 0
    GetSlot 0
    LoadInt 200
    NumLt
    JumpIfTrue top
    GetSlot 0
    ReturnValue
)");
  EXPECT_TRUE(run_traced(chunk, 5) == Value::Int(200));
  std::optional<TraceMetadata> m = JitCompiler().trace_export(chunk, 2);
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->side_paths.size(), 1u) << "the jump both taken and not";
  EXPECT_EQ(m->side_paths[0].recorded_ips[0], 6u);
  std::string why;
  EXPECT_TRUE(JitCompiler().trace_import(chunk, *m, &why)) << why;
}

TEST_F(JitTraceMetadata, the_file_format_refuses_what_it_does_not_know_naming_the_line) {
  auto error_of = [](const std::string& text) {
    const TraceMetadataLoad r = trace_metadata_from_json(text, "t.json");
    EXPECT_FALSE(r.ok()) << text;
    return r.message();
  };
  const std::string head = "{\"format\": \"fusevm-traces\", \"version\": 1, \"op_hash\": \"siphash-1-3\",\n";
  EXPECT_NE(error_of("{\"format\": \"other\"}").find("not a trace metadata file"), std::string::npos);
  EXPECT_NE(error_of("{\"format\": \"fusevm-traces\", \"version\": 2, \"op_hash\": \"siphash-1-3\", \"traces\": []}")
                .find("version 2"),
            std::string::npos);
  EXPECT_NE(error_of("{\"format\": \"fusevm-traces\", \"version\": 1, \"op_hash\": \"fxhash\", \"traces\": []}")
                .find("op_hash scheme"),
            std::string::npos);
  const std::string trace = "\"chunk_op_hash\": 1, \"anchor_ip\": 0, \"fallthrough_ip\": 2, \"ops\": [\"Nop\"], "
                            "\"recorded_ips\": [0], \"slot_kinds_at_anchor\": ";
  EXPECT_NE(error_of(head + "\"traces\": [\n{" + trace + "[\"String\"]}]}").find("t.json:3: traces[0].slot_kinds_at_anchor[0]"),
            std::string::npos);
  EXPECT_NE(error_of(head + "\"traces\": [\n{" + trace + "[], \"colour\": 1}]}").find("unknown field \"colour\""),
            std::string::npos);
  EXPECT_NE(error_of(head + "\"traces\": [\n{\"anchor_ip\": 0}]}").find("missing field"), std::string::npos);
  EXPECT_NE(error_of(head + "\"traces\": [{" + trace + "[], \"joins\": [[1, 2]]}]}").find("[at, path, pos]"),
            std::string::npos);
  EXPECT_NE(error_of("{\"format\": ").find("t.json:1"), std::string::npos);
  const TraceMetadataLoad empty = trace_metadata_from_json(head + "\"traces\": []}", "t.json");
  EXPECT_TRUE(empty.ok() && empty.traces.empty()) << empty.message();
}

}  // namespace
}  // namespace fusevm_test
