// JitCompiler's trace API (spec/jit.md §1.2, §4): export and import of the process's trace
// trees, the reference's direct calls on them, and the per-thread configuration.
#include <algorithm>
#include <string>

#include "fusevm/deopt.hpp"
#include "fusevm/jit.hpp"
#include "jit/compiler_shared.hpp"
#include "jit/engine.hpp"
#include "jit/trace_store.hpp"
#include "jit/vm_units.hpp"

namespace fusevm {

using jit::Engine;
using jit::Tier;

namespace {

// trace_lookup entry-guard mismatches that blacklist a key (spec/jit.md §4.2).
constexpr uint32_t kMaxGuardMismatches = 5;

// The unit of `tree` compiled for entry kinds `tags` (blocking): the process's, or compiled
// now. Its outcome counts once toward the tracing tier's statistics.
std::shared_ptr<jit::VmUnit> compiled_unit(const jit::TraceTree& tree, const jit::Lowerings& lowered,
                                           const std::vector<uint8_t>& tags) {
  const jit::VmSite& site = tree.trace.site;
  bool created = false;
  std::shared_ptr<jit::VmUnit> unit =
      jit::find_vm_unit(tree.trace.chunk, lowered, site, jit_abi::kVmTierBlock, tags, &created);
  if (created) jit::compile_vm_unit(*unit, tree.trace.chunk, lowered, site, tags, /*sync=*/true);
  if (!unit->finished()) Engine::get().wait_idle();  // another VM's compile of the same unit
  if (!unit->outcome_counted.exchange(true)) Engine::get().count_compile(Tier::Trace, unit->pending->result);
  return unit;
}

// A DeoptInfo stack or slot kind for a scalar tag.
uint8_t deopt_kind(uint8_t tag) {
  switch (tag) {
    case jit_abi::kTagFloat: return STACK_KIND_FLOAT;
    case jit_abi::kTagBool: return STACK_KIND_BOOL;
    case jit_abi::kTagUndef: return STACK_KIND_UNDEF;
    default: return STACK_KIND_INT;
  }
}

// A trace run from raw slots has no VM to call back into: its call-outs never run.
uint32_t no_call_out(void*, jit_abi::VmUnitFrame*) { return 1; }

}  // namespace

std::optional<TraceMetadata> JitCompiler::trace_export(const Chunk& chunk, size_t anchor_ip) const {
  if (chunk.op_hash == 0) return std::nullopt;
  return jit::stored_trace(chunk.op_hash, anchor_ip);
}

std::vector<TraceMetadata> JitCompiler::trace_export_all(const Chunk& chunk) const {
  if (chunk.op_hash == 0) return {};
  return jit::stored_traces(chunk.op_hash);
}

bool JitCompiler::trace_import(const Chunk& chunk, const TraceMetadata& meta, std::string* why) {
  std::string reason;
  auto fail = [&](std::string w) {
    if (why != nullptr) *why = std::move(w);
    return false;
  };
  if (!available()) return fail("the JIT is unavailable: " + unavailable_reason());
  const jit::Lowerings lowered = jit::owned_lowerings(chunk, extensions_);
  std::optional<jit::ImportedTrace> t = jit::import_trace(chunk, lowered, meta, reason);
  if (!t) return fail(std::move(reason));
  std::shared_ptr<jit::VmUnit> unit = compiled_unit(*t->tree, lowered, t->tags);
  const jit::Compiled& result = unit->pending->result;
  if (result.entry == nullptr) return fail("the trace did not compile: " + result.reason);
  // What is stored is what was checked, in the form a VM stores (so exports compare equal).
  jit::store_trace(jit::StoredTrace{
      jit::trace_metadata(chunk, meta.anchor_ip, t->tree->paths, t->tree->trace, t->tags, meta.slot_kinds_at_anchor),
      t->tree, lowered.list,
      t->tags, std::move(unit)}, /*explicit_install=*/true);
  return true;
}

bool JitCompiler::is_trace_eligible(std::span<const Op> ops, size_t anchor_ip, std::string* why) const {
  Chunk as_chunk;
  as_chunk.ops.assign(ops.begin(), ops.end());
  std::string problem = jit::lap_ops_problem(ops, anchor_ip, jit::owned_lowerings(as_chunk, extensions_),
                                             jit::thread_trace_config().max_trace_len);
  if (why != nullptr) *why = problem;
  return problem.empty();
}

bool JitCompiler::trace_install(const Chunk& chunk, size_t anchor_ip, size_t fallthrough_ip, std::span<const Op> ops,
                                std::span<const size_t> recorded_ips, std::span<const SlotKind> kinds,
                                std::string* why) {
  TraceMetadata meta;
  meta.chunk_op_hash = chunk.op_hash;
  meta.anchor_ip = anchor_ip;
  meta.fallthrough_ip = fallthrough_ip;
  meta.ops.assign(ops.begin(), ops.end());
  meta.recorded_ips.assign(recorded_ips.begin(), recorded_ips.end());
  meta.slot_kinds_at_anchor.assign(kinds.begin(), kinds.end());
  return trace_import(chunk, meta, why);
}

void JitCompiler::trace_abort(const Chunk& chunk, size_t anchor_ip) {
  if (chunk.op_hash != 0) jit::abort_trace_key(chunk.op_hash, anchor_ip);
}

bool JitCompiler::trace_is_compiled(const Chunk& chunk, size_t anchor_ip) const {
  return chunk.op_hash != 0 && jit::stored_trace_compiled(chunk.op_hash, anchor_ip);
}

bool JitCompiler::trace_is_blacklisted(const Chunk& chunk, size_t anchor_ip) const {
  if (chunk.op_hash == 0) return false;
  const std::optional<jit::TraceKeyState> k = jit::trace_key_state(chunk.op_hash, anchor_ip);
  return k && (k->blacklisted || k->aborted);
}

uint32_t JitCompiler::trace_side_exit_count(const Chunk& chunk, size_t anchor_ip) const {
  if (chunk.op_hash == 0) return 0;
  const std::optional<jit::TraceKeyState> k = jit::trace_key_state(chunk.op_hash, anchor_ip);
  return k ? k->side_exits : 0;
}

void JitCompiler::trace_bump_side_exit(const Chunk& chunk, size_t anchor_ip) {
  if (chunk.op_hash == 0 || !jit::trace_key_state(chunk.op_hash, anchor_ip)) return;
  jit::note_side_exit(chunk.op_hash, anchor_ip, std::max<uint32_t>(jit::thread_trace_config().max_side_exits, 1));
}

std::optional<std::pair<size_t, size_t>> JitCompiler::trace_loop_anchors(const Chunk& chunk, size_t anchor_ip) const {
  if (chunk.op_hash == 0) return std::nullopt;
  const std::optional<TraceMetadata> m = jit::stored_trace(chunk.op_hash, anchor_ip);
  if (!m) return std::nullopt;
  return std::make_pair(m->anchor_ip, m->fallthrough_ip);
}

size_t JitCompiler::trace_max_len() { return jit::thread_trace_config().max_trace_len; }

uint16_t JitCompiler::trace_max_slot() { return UINT16_MAX; }

void JitCompiler::set_config(const TraceJitConfig& config) { jit::thread_trace_config() = config; }

TraceJitConfig JitCompiler::get_config() { return jit::thread_trace_config(); }

size_t JitCompiler::trace_import_all(const Chunk& chunk, std::span<const TraceMetadata> metas) {
  size_t ok = 0;
  for (const TraceMetadata& m : metas) ok += trace_import(chunk, m) ? 1 : 0;
  return ok;
}

TraceLookup JitCompiler::trace_lookup(const Chunk& chunk, size_t anchor_ip, std::span<int64_t> slots,
                                      std::span<const SlotKind> kinds, DeoptInfo& deopt) {
  using K = TraceLookup::Kind;
  if (!available() || chunk.op_hash == 0) return {K::Skip};
  const uint64_t hash = chunk.op_hash;
  const std::optional<jit::TraceKeyState> key = jit::trace_key_state(hash, anchor_ip);
  if (key && (key->blacklisted || key->aborted)) return {K::Skip};
  const jit::Lowerings lowered = jit::owned_lowerings(chunk, extensions_);
  std::vector<std::string> refused;
  std::vector<jit::ReadyTrace> ready = jit::ready_traces(chunk, lowered, refused, anchor_ip);
  if (ready.empty()) {
    if (!refused.empty()) return {K::Skip};  // a stored tree this chunk does not take
    const uint32_t hot = jit::note_hot_lookup(hash, anchor_ip);
    return {hot >= jit::thread_trace_config().trace_threshold ? K::StartRecording : K::NotHot};
  }
  const jit::TraceTree& tree = *ready[0].tree;
  const jit::SyntheticTrace& trace = tree.trace;
  // What raw slots cannot give a trace: globals, a VM to run call-outs, or room in the
  // DeoptInfo for its inlined frames and stack.
  bool fits = trace.globals.empty() && trace.site.call_outs.at.empty();
  for (const auto& chain : trace.chains) {
    for (const jit::InlineFrame& f : chain) fits = fits && f.slot_count <= MAX_DEOPT_SLOTS_PER_FRAME;
  }
  if (!fits) return {K::Skip};
  // The entry guard: each slot the trace reads in the loop's frame has the kind it was
  // compiled for (slots past `kinds` are Int, as the reference has it).
  const std::vector<uint8_t>& tags = ready[0].tags;
  for (uint16_t s : trace.site.slots) {
    if (s >= trace.lent_base || s >= tags.size() || tags[s] == jit_abi::kTagUnused) continue;
    const uint8_t actual = jit::abi_tag_of(s < kinds.size() ? kinds[s] : SlotKind::Int);
    if (actual != tags[s]) {
      jit::note_guard_mismatch(hash, anchor_ip, kMaxGuardMismatches);
      return {K::GuardMismatch};
    }
  }
  std::shared_ptr<jit::VmUnit> unit = ready[0].unit ? ready[0].unit : compiled_unit(tree, lowered, tags);
  if (!unit->finished()) Engine::get().wait_idle();
  const jit::Compiled& code = unit->pending->result;
  if (code.entry == nullptr || code.max_exit_stack > MAX_DEOPT_STACK) return {K::Skip};
  // The trace's frame: the raw slots with their kinds, the lent ones (inlined calls' slots)
  // Undef as a new frame's.
  std::vector<jit_abi::AbiValue> frame(std::max<size_t>(trace.site.num_slots, 1));
  for (uint16_t s : trace.site.slots) {
    if (s >= trace.lent_base || s >= tags.size() || tags[s] == jit_abi::kTagUnused) continue;
    const uint8_t tag = tags[s];
    const int64_t raw = s < slots.size() ? slots[s] : 0;  // past the span: Int 0, as the reference reads it
    frame[s].tag = tag;
    frame[s].bits = tag == jit_abi::kTagBool ? (raw != 0 ? 1 : 0) : tag == jit_abi::kTagUndef ? 0 : static_cast<uint64_t>(raw);
  }
  std::vector<jit_abi::AbiValue> stack(std::max<size_t>(code.max_exit_stack, 1));
  static const uint8_t kNoPoll = 0;  // nothing can interrupt a raw run
  jit_abi::VmUnitFrame uf{};
  uf.slots = frame.data();
  uf.stack = stack.data();
  uf.poll = &kNoPoll;
  uf.call_out = &no_call_out;
  deopt.resume_ip = deopt.frame_count = deopt.stack_count = 0;
  Engine::get().count_entry(Tier::Trace);
  reinterpret_cast<uint32_t (*)(jit_abi::VmUnitFrame*)>(code.entry)(&uf);
  // Slots back (payloads: a Float's bits, a Bool 0/1, Undef 0), then where to go on.
  for (uint16_t s : trace.site.slots) {
    if (s < trace.lent_base && s < slots.size()) slots[s] = static_cast<int64_t>(frame[s].bits);
  }
  const uint64_t at = uf.resume_ip;
  deopt.resume_ip = at < trace.real_ip.size() ? trace.real_ip[at] : at;
  const uint32_t chain = at < trace.chain_of.size() ? trace.chain_of[at] : 0;
  const std::vector<jit::InlineFrame>& frames = trace.chains[chain];
  deopt.frame_count = frames.size();
  for (size_t k = 0; k < frames.size(); ++k) {
    const jit::InlineFrame& f = frames[k];
    DeoptFrame& d = deopt.frames[k];
    d.return_ip = f.return_ip;
    d.slot_count = f.slot_count;
    deopt.frame_stack_base[k] = f.stack_base;
    for (uint32_t j = 0; j < MAX_DEOPT_SLOTS_PER_FRAME; ++j) {  // every index (quirk Q9)
      const jit_abi::AbiValue v = j < f.slot_count ? frame[f.slot_base + j] : jit_abi::AbiValue{};
      d.slots[j] = static_cast<int64_t>(v.bits);
      deopt.frame_slot_kinds[k][j] = deopt_kind(v.tag);
    }
  }
  deopt.stack_count = uf.exit_depth;
  for (uint32_t k = 0; k < uf.exit_depth; ++k) {
    deopt.stack_buf[k] = static_cast<int64_t>(stack[k].bits);
    deopt.stack_kinds[k] = deopt_kind(stack[k].tag);
  }
  return {K::Ran, deopt.resume_ip};
}

uint32_t JitCompiler::trace_deopt_count(const Chunk& chunk, size_t anchor_ip) const {
  if (chunk.op_hash == 0) return 0;
  const std::optional<jit::TraceKeyState> k = jit::trace_key_state(chunk.op_hash, anchor_ip);
  return k ? k->deopt_count : 0;
}

bool JitCompiler::trace_install_with_kind(const Chunk& chunk, size_t record_anchor, size_t close_anchor,
                                          size_t fallthrough_ip, std::span<const Op> ops,
                                          std::span<const size_t> recorded_ips, std::span<const SlotKind> kinds,
                                          std::string* why) {
  if (record_anchor == close_anchor) {
    return trace_install(chunk, close_anchor, fallthrough_ip, ops, recorded_ips, kinds, why);
  }
  auto fail = [&](std::string w) {
    if (why != nullptr) *why = std::move(w);
    return false;
  };
  // A side trace is a side path of the tree at its close anchor, from the guard whose other
  // way is record_anchor (quirk Q10: it can never be taken for a main trace).
  std::optional<TraceMetadata> meta =
      chunk.op_hash != 0 ? jit::stored_trace(chunk.op_hash, close_anchor) : std::nullopt;
  if (!meta) return fail("no trace at ip " + std::to_string(close_anchor) + " to attach a side trace to");
  std::vector<std::string> refused;
  std::vector<jit::ReadyTrace> ready =
      jit::ready_traces(chunk, jit::owned_lowerings(chunk, extensions_), refused, close_anchor);
  if (ready.empty()) return fail("the trace at ip " + std::to_string(close_anchor) + " does not check");
  const jit::SyntheticTrace& trace = ready[0].tree->trace;
  const uint64_t n = trace.chunk.ops.size();
  for (size_t k = 0; k < trace.exits.size(); ++k) {
    const jit::TraceExit& e = trace.exits[k];
    if (e.real != record_anchor || trace.chain_of[n + k] != 0) continue;
    for (const TraceSidePath& p : meta->side_paths) {
      if (p.parent == e.path && p.parent_pos == e.pos) {
        return fail("the guard leaving to ip " + std::to_string(record_anchor) + " already has a side path");
      }
    }
    TraceSidePath side;
    side.parent = e.path;
    side.parent_pos = e.pos;
    side.ops.assign(ops.begin(), ops.end());
    side.recorded_ips.assign(recorded_ips.begin(), recorded_ips.end());
    meta->side_paths.push_back(std::move(side));
    return trace_import(chunk, *meta, why);
  }
  return fail("no guard of the trace at ip " + std::to_string(close_anchor) + " leaves to ip " +
              std::to_string(record_anchor));
}

}  // namespace fusevm
