// The process's trace trees as data (TraceMetadata): what VMs compiled and embedders
// imported, by (chunk op_hash, loop header). A VM starting on a chunk takes the trees the
// store has for it instead of recording them again; JitCompiler::trace_export reads it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fusevm/trace_metadata.hpp"
#include "jit/trace.hpp"

namespace fusevm::jit {

/// A tree as the store keeps it: its metadata (what export gives), and for the VMs the
/// checked tree, the lowerings it was checked with, and the unit compiled for `tags`.
struct StoredTrace {
  TraceMetadata meta;
  std::shared_ptr<const TraceTree> tree;
  std::vector<jit_abi::AbiLowering> lowered_with;
  std::vector<uint8_t> tags;
  std::shared_ptr<VmUnit> unit;  ///< may be null
};
/// Keep `entry` as the tree at (meta.chunk_op_hash, meta.anchor_ip), replacing any; an
/// explicit install (JitCompiler::trace_import) also clears the key's counters and flags
/// (the reference keeps them, quirk Q12).
void store_trace(StoredTrace entry, bool explicit_install);
/// True if the tree at (hash, anchor) has compiled code.
bool stored_trace_compiled(uint64_t hash, uint64_t anchor);

/// What the process knows of a loop header besides its tree (the reference's per-key
/// counters and flags, spec/jit.md §4.1; process-wide here, summed over VMs).
struct TraceKeyState {
  uint32_t side_exits = 0;   ///< exits no side path took, since the last install
  bool blacklisted = false;  ///< given up (a VM's retries used up, or too many side exits)
  bool aborted = false;      ///< JitCompiler::trace_abort
  uint32_t hot_count = 0;    ///< trace_lookup calls that found no tree (saturating)
  uint32_t deopt_count = 0;  ///< trace_lookup entry-guard mismatches
};
/// The state at (hash, anchor), if the key has a tree or a state.
std::optional<TraceKeyState> trace_key_state(uint64_t hash, uint64_t anchor);
/// One side exit at (hash, anchor); at `blacklist_at` (0: never) the key is blacklisted.
void note_side_exit(uint64_t hash, uint64_t anchor, uint32_t blacklist_at);
/// A trace_lookup at (hash, anchor) that found no tree: its hot count after this one.
uint32_t note_hot_lookup(uint64_t hash, uint64_t anchor);
/// A trace_lookup entry-guard mismatch at (hash, anchor); at `blacklist_at` the key is
/// blacklisted.
void note_guard_mismatch(uint64_t hash, uint64_t anchor, uint32_t blacklist_at);
/// A VM gave the loop at (hash, anchor) up for good.
void note_blacklisted(uint64_t hash, uint64_t anchor);
/// Marks an existing key aborted; false if the key has neither tree nor state.
bool abort_trace_key(uint64_t hash, uint64_t anchor);
/// Loop headers of the chunk with op_hash `hash` that VMs must leave interpreted
/// (blacklisted or aborted).
std::vector<uint64_t> disabled_anchors(uint64_t hash);
/// The tree at (hash, anchor), if any.
std::optional<TraceMetadata> stored_trace(uint64_t hash, uint64_t anchor);
/// Every tree of the chunk with op_hash `hash`, by anchor.
std::vector<TraceMetadata> stored_traces(uint64_t hash);
/// Forget every tree (JitCompiler::reset).
void clear_stored_traces();

/// A stored tree ready for a VM whose Extended ops are lowered as `lowered`.
struct ReadyTrace {
  uint64_t anchor = 0;
  std::shared_ptr<const TraceTree> tree;
  std::vector<uint8_t> tags;
  std::shared_ptr<VmUnit> unit;  ///< compiled for `tags`, or null
};
/// The stored trees of `chunk` for a VM: each checked once per lowerings (import_trace) and
/// then shared, so a new VM takes them without checking or synthesising again. Trees that
/// fail the check are left out, their reasons in `refused`. With `only`, just the tree at
/// that anchor.
std::vector<ReadyTrace> ready_traces(const Chunk& chunk, const Lowerings& lowered, std::vector<std::string>& refused,
                                     std::optional<uint64_t> only = std::nullopt);

/// What a new VM on a chunk takes from the store: the trees ready for it (ready_traces),
/// the reasons stored trees were refused, and the loop headers to leave interpreted
/// (disabled_anchors, ascending).
struct ChunkTraces {
  std::vector<ReadyTrace> ready;
  std::vector<std::string> refused;
  std::vector<uint64_t> disabled;
};
/// ChunkTraces for VMs of `chunk` with lowerings `lowered`: built once and shared by every
/// VM until a tree or a loop's flags of the chunk change, so a new VM adopting the
/// process's traces takes a reference instead of copying them.
std::shared_ptr<const ChunkTraces> traces_for_vm(const Chunk& chunk, const Lowerings& lowered);

/// `paths` (synthesised as `trace`) at `anchor` of `chunk`, compiled for entry kinds `tags`
/// (one per slot of the trace's site, jit_abi::kTagUnused for slots it does not touch);
/// the kinds of the slots it does not touch are `frame_kinds` (Undef past its end).
TraceMetadata trace_metadata(const Chunk& chunk, uint64_t anchor, const std::vector<TracePath>& paths,
                             const SyntheticTrace& trace, std::span<const uint8_t> tags,
                             std::span<const SlotKind> frame_kinds);

/// A tree read back from metadata and checked against the chunk.
struct ImportedTrace {
  std::shared_ptr<const TraceTree> tree;
  std::vector<uint8_t> tags;  ///< the kinds it was compiled for, as trace_metadata took them
};
/// `meta` as a trace tree of `chunk`, or nullopt with `why`: the hash must be the chunk's
/// (and not 0, which any hand-built chunk has), every op and ip must be the chunk's, the
/// paths must be ones the program can run (check_trace_paths), the trace chunk must be one
/// the VM tier compiles, its fallthrough must be the one stored, and the kinds must name a
/// scalar kind for every slot the trace touches.
std::optional<ImportedTrace> import_trace(const Chunk& chunk, const Lowerings& lowered, const TraceMetadata& meta,
                                          std::string& why);

}  // namespace fusevm::jit
