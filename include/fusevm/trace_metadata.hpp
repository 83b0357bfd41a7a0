// What a trace is made of, as data (spec/jit.md §1.5, §1.9, §4.13): enough to compile the
// same trace again in another VM or another process, and checked against the chunk before
// it is used (JitCompiler::trace_import). The file format is asm.hpp's
// trace_metadata_to_json / trace_metadata_from_json.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fusevm/op.hpp"
#include "fusevm/value.hpp"

namespace fusevm {

/// A slot's kind when a trace was compiled (ARCHITECTURE §9 "Typing"). The reference has
/// only Int and Float and turns every other value into Int 0 (spec/jit.md §4.15 Q1); our
/// traces keep kinds: a slot the trace touches is Int, Float, Bool or Undef (the kinds
/// native code holds), and the others describe slots it leaves alone. Other: Status, Ref,
/// NativeFn. The reference's Int and Float keep their numbers.
enum class SlotKind : uint8_t { Int = 0, Float = 1, Bool = 2, Undef = 3, Str = 4, Array = 5, Hash = 6, Other = 7 };

/// The SlotKind of value kind `kind`.
SlotKind slot_kind_of(ValueKind kind);
/// The name of `kind` as the trace file writes it ("Int", ..., "Other").
const char* slot_kind_name(SlotKind kind);

/// Where a path goes on at an op the trace tree already has: after the op at position `at`
/// of this path (an inner loop's backward jump, or the op where a side path meets its
/// parent again) it continues with the op at position `pos` of path `path`.
struct TraceJoin {
  size_t at = 0;
  int32_t path = 0;
  size_t pos = 0;
  bool operator==(const TraceJoin&) const = default;
};

/// Ops of a path that native code has the interpreter run (a call-out): the `len` ops
/// from position `at`, all in the loop's frame — a CallBuiltin, or ops that hold Str,
/// Array or Hash values (on the stack, in the slot or global they name, as a constant) or
/// that native code does not run (Concat, MakeArray, HashGet, Print, ...). The trace goes
/// on after them with `stack`: the kinds the loop frame's values above the lap's base had
/// there when recorded (each Int, Float, Bool or Undef, and guarded).
struct TraceCallOut {
  size_t at = 0;
  size_t len = 1;
  std::vector<SlotKind> stack;
  bool operator==(const TraceCallOut&) const = default;
};

/// A path of a trace tree other than the lap: it starts where the guard at position
/// `parent_pos` of path `parent` went the other way.
struct TraceSidePath {
  int32_t parent = 0;
  size_t parent_pos = 0;
  std::vector<Op> ops;               ///< the recorded ops
  std::vector<size_t> recorded_ips;  ///< the ip each was run from, parallel to ops
  std::vector<TraceJoin> joins;
  std::vector<TraceCallOut> call_outs;  ///< the ops it has the interpreter run
  bool operator==(const TraceSidePath&) const = default;
};

/// One trace tree, keyed by (chunk_op_hash, anchor_ip). Side traces are side paths of their
/// main trace's tree, so they are exported and imported with it and can never be mistaken
/// for a main trace (the reference's quirk Q10).
struct TraceMetadata {
  uint64_t chunk_op_hash = 0;  ///< Chunk::op_hash of the chunk it was recorded in
  size_t anchor_ip = 0;        ///< the loop header
  size_t fallthrough_ip = 0;   ///< where the loop's normal exit goes on
  std::vector<Op> ops;               ///< the recorded lap, closing jump included
  std::vector<size_t> recorded_ips;  ///< the ip each op of the lap was run from
  /// The kind of each slot of the loop's frame when the trace was compiled (the slots it
  /// touches are those it was compiled for), then of the slots the trace adds (globals).
  std::vector<SlotKind> slot_kinds_at_anchor;
  std::vector<TraceJoin> joins;            ///< the lap's joins (inner loops)
  std::vector<TraceSidePath> side_paths;   ///< the tree's other paths, parents first
  std::vector<TraceCallOut> call_outs;     ///< the ops the lap has the interpreter run
  bool operator==(const TraceMetadata&) const = default;
};

}  // namespace fusevm
