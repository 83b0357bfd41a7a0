// The process's trace trees as data (trace_store.hpp).
#include "jit/trace_store.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "jit_abi/plugin_abi.hpp"

namespace fusevm::jit {

namespace {

using Key = std::pair<uint64_t, uint64_t>;  // (op_hash, loop header)

// What traces_for_vm last gave VMs of one chunk; dropped when a tree or a key's flags of
// the chunk change (forget()).
struct VmSnapshot {
  uint64_t version = 0;  // bumped by every drop(): a snapshot built meanwhile is stale
  std::vector<jit_abi::AbiLowering> lowered_with;
  std::shared_ptr<const ChunkTraces> traces;
  void drop() {
    ++version;
    traces.reset();
  }
};

struct Store {
  std::mutex mu;
  std::map<Key, StoredTrace> trees;  // ordered: exports list anchors in order
  std::map<Key, TraceKeyState> keys;
  std::map<uint64_t, VmSnapshot> snapshots;  // by op_hash
  // Under mu: the chunk's trees or disabled anchors changed.
  void forget(uint64_t hash) { snapshots[hash].drop(); }
};

Store& store() {
  static Store* s = new Store();  // never destroyed: VMs may outlive statics
  return *s;
}

// Imported ops and paths are bounded so a hostile file cannot make synthesis huge: a
// recorded tree holds at most 4 * max_trace_chain + 1 paths of max_trace_len ops.
constexpr size_t kMaxImportedOps = size_t{1} << 16;
constexpr size_t kMaxImportedSlots = size_t{1} << 16;

// The kind native code holds for a slot it touches (tags are scalar ValueKinds).
SlotKind kind_of_tag(uint8_t tag) { return slot_kind_of(static_cast<ValueKind>(tag)); }

std::vector<TraceJoin> joins_of(const TracePath& p) {
  std::vector<TraceJoin> out;
  for (const auto& [at, to] : p.loops) out.push_back(TraceJoin{at, to.path, to.pos});
  return out;
}

bool same_lowerings(const std::vector<jit_abi::AbiLowering>& a, const std::vector<jit_abi::AbiLowering>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const jit_abi::AbiLowering& x, const jit_abi::AbiLowering& y) {
    return x.ext_id == y.ext_id && x.num_args == y.num_args && x.result == y.result && x.address == y.address &&
           std::equal(x.args, x.args + x.num_args, y.args);
  });
}

}  // namespace

void store_trace(StoredTrace entry, bool explicit_install) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  const Key key{entry.meta.chunk_op_hash, entry.meta.anchor_ip};
  s.trees.insert_or_assign(key, std::move(entry));
  s.forget(key.first);
  if (explicit_install) s.keys.erase(key);
}

bool stored_trace_compiled(uint64_t hash, uint64_t anchor) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  const auto it = s.trees.find({hash, anchor});
  if (it == s.trees.end() || it->second.unit == nullptr || !it->second.unit->finished()) return false;
  return it->second.unit->pending->result.entry != nullptr;
}

std::optional<TraceKeyState> trace_key_state(uint64_t hash, uint64_t anchor) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  const auto it = s.keys.find({hash, anchor});
  if (it != s.keys.end()) return it->second;
  if (s.trees.count({hash, anchor}) != 0) return TraceKeyState{};
  return std::nullopt;
}

void note_side_exit(uint64_t hash, uint64_t anchor, uint32_t blacklist_at) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  TraceKeyState& k = s.keys[{hash, anchor}];
  if (k.side_exits < UINT32_MAX) ++k.side_exits;
  if (blacklist_at != 0 && k.side_exits >= blacklist_at && !k.blacklisted) {
    k.blacklisted = true;
    s.forget(hash);
  }
}

uint32_t note_hot_lookup(uint64_t hash, uint64_t anchor) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  TraceKeyState& k = s.keys[{hash, anchor}];
  if (k.hot_count < UINT32_MAX) ++k.hot_count;
  return k.hot_count;
}

void note_guard_mismatch(uint64_t hash, uint64_t anchor, uint32_t blacklist_at) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  TraceKeyState& k = s.keys[{hash, anchor}];
  if (k.deopt_count < UINT32_MAX) ++k.deopt_count;
  if (k.deopt_count >= blacklist_at && !k.blacklisted) {
    k.blacklisted = true;
    s.forget(hash);
  }
}

void note_blacklisted(uint64_t hash, uint64_t anchor) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  s.keys[{hash, anchor}].blacklisted = true;
  s.forget(hash);
}

bool abort_trace_key(uint64_t hash, uint64_t anchor) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  const Key key{hash, anchor};
  if (s.keys.count(key) == 0 && s.trees.count(key) == 0) return false;
  s.keys[key].aborted = true;
  s.forget(hash);
  return true;
}

std::vector<uint64_t> disabled_anchors(uint64_t hash) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  std::vector<uint64_t> out;
  for (auto it = s.keys.lower_bound({hash, 0}); it != s.keys.end() && it->first.first == hash; ++it) {
    if (it->second.blacklisted || it->second.aborted) out.push_back(it->first.second);
  }
  return out;
}

std::optional<TraceMetadata> stored_trace(uint64_t hash, uint64_t anchor) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  const auto it = s.trees.find({hash, anchor});
  if (it == s.trees.end()) return std::nullopt;
  return it->second.meta;
}

std::vector<TraceMetadata> stored_traces(uint64_t hash) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  std::vector<TraceMetadata> out;
  for (auto it = s.trees.lower_bound({hash, 0}); it != s.trees.end() && it->first.first == hash; ++it) {
    out.push_back(it->second.meta);
  }
  return out;
}

void clear_stored_traces() {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  s.trees.clear();
  s.keys.clear();
  for (auto& [hash, v] : s.snapshots) v.drop();
}

std::vector<ReadyTrace> ready_traces(const Chunk& chunk, const Lowerings& lowered, std::vector<std::string>& refused,
                                     std::optional<uint64_t> only) {
  Store& s = store();
  std::vector<ReadyTrace> out;
  std::vector<TraceMetadata> unchecked;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    for (auto it = s.trees.lower_bound({chunk.op_hash, only.value_or(0)});
         it != s.trees.end() && it->first.first == chunk.op_hash && (!only || it->first.second == *only); ++it) {
      const StoredTrace& e = it->second;
      if (e.tree && same_lowerings(e.lowered_with, lowered.list)) {
        out.push_back(ReadyTrace{e.meta.anchor_ip, e.tree, e.tags, e.unit});
      } else {
        unchecked.push_back(e.meta);
      }
    }
  }
  // Checked outside the lock; the checked form replaces the entry only if the entry is
  // still the one checked (another thread may have stored a newer tree meanwhile).
  for (const TraceMetadata& meta : unchecked) {
    std::string why;
    std::optional<ImportedTrace> t = import_trace(chunk, lowered, meta, why);
    if (!t) {
      refused.push_back("the stored trace at ip " + std::to_string(meta.anchor_ip) + ": " + why);
      continue;
    }
    out.push_back(ReadyTrace{meta.anchor_ip, t->tree, t->tags, nullptr});
    std::lock_guard<std::mutex> lock(s.mu);
    const auto it = s.trees.find({meta.chunk_op_hash, meta.anchor_ip});
    if (it != s.trees.end() && it->second.meta == meta) {
      it->second.tree = t->tree;
      it->second.lowered_with = lowered.list;
      it->second.tags = t->tags;
      it->second.unit = nullptr;
      s.forget(meta.chunk_op_hash);
    }
  }
  return out;
}

std::shared_ptr<const ChunkTraces> traces_for_vm(const Chunk& chunk, const Lowerings& lowered) {
  Store& s = store();
  uint64_t version = 0;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    const VmSnapshot& v = s.snapshots[chunk.op_hash];
    if (v.traces && same_lowerings(v.lowered_with, lowered.list)) return v.traces;
    version = v.version;
  }
  auto traces = std::make_shared<ChunkTraces>();
  traces->ready = ready_traces(chunk, lowered, traces->refused);
  traces->disabled = disabled_anchors(chunk.op_hash);
  std::lock_guard<std::mutex> lock(s.mu);
  VmSnapshot& v = s.snapshots[chunk.op_hash];
  // Kept only if nothing changed while it was built (ready_traces itself may store checked
  // trees, which bumps the version: the next VM builds it again and keeps it).
  if (v.version == version) {
    v.lowered_with = lowered.list;
    v.traces = traces;
  }
  return traces;
}

TraceMetadata trace_metadata(const Chunk& chunk, uint64_t anchor, const std::vector<TracePath>& paths,
                             const SyntheticTrace& trace, std::span<const uint8_t> tags,
                             std::span<const SlotKind> frame_kinds) {
  TraceMetadata m;
  m.chunk_op_hash = chunk.op_hash;
  m.anchor_ip = anchor;
  m.fallthrough_ip = trace.fallthrough;
  m.slot_kinds_at_anchor.resize(std::max(tags.size(), frame_kinds.size()), SlotKind::Undef);
  for (size_t s = 0; s < m.slot_kinds_at_anchor.size(); ++s) {
    const bool touched = s < tags.size() && tags[s] != jit_abi::kTagUnused;
    if (touched) {
      m.slot_kinds_at_anchor[s] = kind_of_tag(tags[s]);
    } else if (s < frame_kinds.size()) {
      m.slot_kinds_at_anchor[s] = frame_kinds[s];
    }
  }
  for (size_t p = 0; p < paths.size(); ++p) {
    std::vector<Op> ops;
    std::vector<size_t> ips;
    for (uint64_t ip : paths[p].ips) {
      ops.push_back(chunk.ops[ip]);
      ips.push_back(ip);
    }
    if (p == 0) {
      m.ops = std::move(ops);
      m.recorded_ips = std::move(ips);
      m.joins = joins_of(paths[p]);
      m.call_outs = paths[p].call_outs;
    } else {
      m.side_paths.push_back(TraceSidePath{paths[p].parent, paths[p].parent_pos, std::move(ops), std::move(ips),
                                           joins_of(paths[p]), paths[p].call_outs});
    }
  }
  return m;
}

std::optional<ImportedTrace> import_trace(const Chunk& chunk, const Lowerings& lowered, const TraceMetadata& meta,
                                          std::string& why) {
  auto fail = [&](std::string w) {
    why = std::move(w);
    return std::nullopt;
  };
  if (chunk.op_hash == 0) return fail("the chunk has no op_hash (build it with ChunkBuilder)");
  if (meta.chunk_op_hash != chunk.op_hash) return fail("recorded in another chunk (op_hash differs)");
  auto tree = std::make_shared<TraceTree>();
  ImportedTrace t;
  size_t total = 0;
  // One path's ops and ips into `path`, checked against the chunk's.
  auto path_of = [&](const std::vector<Op>& ops, const std::vector<size_t>& ips, const std::vector<TraceJoin>& joins,
                     const std::vector<TraceCallOut>& call_outs, TracePath& path, const std::string& where) -> bool {
    if (ops.size() != ips.size()) {
      why = where + ": " + std::to_string(ops.size()) + " ops but " + std::to_string(ips.size()) + " ips";
      return false;
    }
    total += ops.size();
    if (total > kMaxImportedOps) {
      why = "more than " + std::to_string(kMaxImportedOps) + " ops";
      return false;
    }
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ips[i] >= chunk.ops.size() || !(chunk.ops[ips[i]] == ops[i])) {
        why = where + ": op " + std::to_string(i) + " is not the chunk's op at ip " + std::to_string(ips[i]);
        return false;
      }
      path.ips.push_back(ips[i]);
    }
    for (const TraceJoin& j : joins) path.loops.emplace_back(j.at, TracePos{j.path, j.pos});
    path.call_outs = call_outs;
    return true;
  };
  tree->paths.emplace_back();
  if (!path_of(meta.ops, meta.recorded_ips, meta.joins, meta.call_outs, tree->paths[0], "the lap")) return std::nullopt;
  for (size_t k = 0; k < meta.side_paths.size(); ++k) {
    const TraceSidePath& s = meta.side_paths[k];
    TracePath p;
    p.parent = s.parent;
    p.parent_pos = s.parent_pos;
    if (!path_of(s.ops, s.recorded_ips, s.joins, s.call_outs, p, "side path " + std::to_string(k + 1))) return std::nullopt;
    tree->paths.push_back(std::move(p));
  }
  if (!check_trace_paths(chunk, lowered, meta.anchor_ip, tree->paths, why)) return std::nullopt;
  TraceAbort abort{};
  std::string detail;
  std::optional<SyntheticTrace> synth = synthesise_trace(chunk, lowered, meta.anchor_ip, tree->paths, abort, detail);
  if (!synth) return fail(std::string(trace_abort_name(abort)) + " (" + detail + ")");
  tree->trace = std::move(*synth);
  if (tree->trace.fallthrough != meta.fallthrough_ip) {
    return fail("fallthrough_ip " + std::to_string(meta.fallthrough_ip) + " is not the loop's exit (" +
                std::to_string(tree->trace.fallthrough) + ")");
  }
  const VmSite& site = tree->trace.site;
  if (meta.slot_kinds_at_anchor.size() > kMaxImportedSlots) return fail("too many slot kinds");
  t.tags.assign(site.num_slots, jit_abi::kTagUnused);
  for (uint16_t s : site.slots) {
    const uint8_t tag = s < meta.slot_kinds_at_anchor.size() ? abi_tag_of(meta.slot_kinds_at_anchor[s])
                                                               : jit_abi::kTagUnused;
    if (tag == jit_abi::kTagUnused) return fail("no kind for slot " + std::to_string(s) + ", which the trace uses");
    t.tags[s] = tag;
  }
  t.tree = std::move(tree);
  return t;
}

}  // namespace fusevm::jit
