// Recording a lap and writing it as a trace chunk (trace.hpp).
#include "jit/trace.hpp"

#include <algorithm>
#include <optional>

#include "asm/literal.hpp"
#include "fusevm/op.hpp"
#include "jit/op_sets.hpp"

namespace fusevm::jit {

uint8_t abi_tag_of(SlotKind k) {
  switch (k) {
    case SlotKind::Int: return jit_abi::kTagInt;
    case SlotKind::Float: return jit_abi::kTagFloat;
    case SlotKind::Bool: return jit_abi::kTagBool;
    case SlotKind::Undef: return jit_abi::kTagUndef;
    default: return jit_abi::kTagUnused;
  }
}

const char* trace_abort_name(TraceAbort why) {
  switch (why) {
    case TraceAbort::TooLong: return "recording aborted: longer than max_trace_len";
    case TraceAbort::LeftFrame: return "recording aborted: a call, return or block in the loop";
    case TraceAbort::Op: return "recording aborted: an op traces do not run";
    case TraceAbort::Stack: return "recording aborted: a lap does not keep the stack depth";
    case TraceAbort::Calls: return "recording aborted: calls nested too deep";
    case TraceAbort::CallOuts: return "recording aborted: too few native ops per call-out";
    default: return "recording aborted: the trace is not a unit";
  }
}

TraceRecording TraceRecording::lap(uint64_t anchor, uint64_t latch, size_t frames, size_t stack_base) {
  TraceRecording r;
  r.anchor = anchor;
  r.latch = latch;
  r.frames = frames;
  r.stack_base = stack_base;
  r.is_lap = true;
  r.paths.emplace_back();
  return r;
}

TraceRecording TraceRecording::side(uint64_t anchor, uint64_t latch, size_t frames, size_t stack_base,
                                    std::vector<TracePath> tree, TracePos from) {
  TraceRecording r;
  r.anchor = anchor;
  r.latch = latch;
  r.frames = frames;
  r.stack_base = stack_base;
  r.paths = std::move(tree);
  TracePath p;
  p.parent = from.path;
  p.parent_pos = from.pos;
  r.paths.push_back(std::move(p));
  r.current = static_cast<int32_t>(r.paths.size() - 1);
  return r;
}

namespace {

// Where `ip` sits in path `p` or the paths it continues (up to the guard it continues
// from), or nothing.
std::optional<TracePos> find_in_lineage(const std::vector<TracePath>& paths, int32_t p, uint64_t ip, uint8_t depth) {
  size_t limit = paths[static_cast<size_t>(p)].ips.size();
  while (p >= 0) {
    const TracePath& path = paths[static_cast<size_t>(p)];
    for (size_t i = 0; i < limit && i < path.ips.size(); ++i) {
      if (path.ips[i] == ip && path.depth(i) == depth) return TracePos{p, i};
    }
    limit = path.parent_pos + 1;
    p = path.parent;
  }
  return std::nullopt;
}

// Where `ip` sits after the guard that path `p` (or a path it continues) branched from:
// the place the recording may join instead of recording the same ops again.
std::optional<TracePos> find_join(const std::vector<TracePath>& paths, int32_t p, uint64_t ip, uint8_t depth) {
  while (p >= 0 && paths[static_cast<size_t>(p)].parent >= 0) {
    const TracePath& path = paths[static_cast<size_t>(p)];
    const TracePath& parent = paths[static_cast<size_t>(path.parent)];
    for (size_t i = path.parent_pos + 1; i < parent.ips.size(); ++i) {
      if (parent.ips[i] == ip && parent.depth(i) == depth) return TracePos{path.parent, i};
    }
    p = path.parent;
  }
  return std::nullopt;
}

// True for a value native code holds (the AbiTags: Undef, Bool, Int, Float): it keeps no
// reference counts, so Str, Array, Hash (and Status, Ref, NativeFn) values stay the core's.
bool held_natively(const Value& v) { return v.tag() <= Value::kTagFloat; }

// True when `op`, about to run on `vm` with `stack` the values above the lap's base, must
// run in the core: a builtin, an op no unit runs, or an op meeting a value native code
// does not hold (on the stack, in a slot or global it names, or the constant it loads).
bool needs_core(const Chunk& chunk, const Lowerings& lowered, const Op& op, std::span<const Value> stack,
                const RecordView& vm) {
  if (op.code() == OpCode::CallBuiltin || !trace_op(op, lowered)) return true;
  if (!std::all_of(stack.begin(), stack.end(), held_natively)) return true;
  const OpInfo& info = op.info();
  for (size_t k = 0; k < info.num_operands; ++k) {
    const uint64_t n = op.raw_operand(k);
    if (info.kinds[k] == OperandKind::Slot && n < vm.slots.size() && !held_natively(vm.slots[n])) return true;
  }
  if (is_global_var_op(op.code())) {
    const uint64_t n = op.raw_operand(0);
    if (n < vm.globals.size() && !held_natively(vm.globals[n])) return true;
  }
  if (op.code() == OpCode::LoadConst) {  // units load only Int and Float constants
    const uint64_t k = op.raw_operand(0);
    return k >= chunk.constants.size() || !(chunk.constants[k].is_int() || chunk.constants[k].is_float());
  }
  return false;
}

// The path attached to the guard at `at`, or -1.
int32_t child_at(const std::vector<TracePath>& paths, TracePos at) {
  for (size_t k = 0; k < paths.size(); ++k) {
    if (paths[k].parent == at.path && paths[k].parent_pos == at.pos && paths[k].parent >= 0) {
      return static_cast<int32_t>(k);
    }
  }
  return -1;
}

// Appends the op at `ip` of the loop's frame to the current path as one the core runs: to
// the call-out the path's last op belongs to, or as a new one.
void append_call_out(TraceRecording& rec, uint64_t ip) {
  TracePath& cur = rec.paths[static_cast<size_t>(rec.current)];
  const bool goes_on = !cur.ips.empty() && !cur.call_outs.empty() &&
                       cur.call_outs.back().at + cur.call_outs.back().len == cur.ips.size() && cur.ips.back() + 1 == ip;
  if (goes_on) {
    ++cur.call_outs.back().len;
  } else {
    cur.call_outs.push_back(TraceCallOut{cur.ips.size(), 1, {}});
  }
  cur.ips.push_back(ip);
  cur.depths.push_back(0);
  ++rec.recorded;
  rec.prev_ip = ip;
  rec.in_call_out = true;
}

// Something inside the calls the recording inlined (rec.inline_calls) must run in the core:
// the outermost of them becomes a call-out instead — the interpreter makes the whole call —
// and the callee's ops recorded so far leave the path. False (the recording aborts) when
// the call began before the current path (a side path that starts inside it).
bool hand_call_to_core(TraceRecording& rec) {
  if (rec.inline_calls.empty() || rec.following) return false;
  TracePath& cur = rec.paths[static_cast<size_t>(rec.current)];
  // The call is the path's last op in the loop's frame: every op after it is the callee's.
  size_t at = cur.ips.size();
  while (at > 0 && cur.depth(at - 1) != 0) --at;
  if (at == 0 || cur.ips[at - 1] != rec.inline_calls.front()) return false;
  const size_t call = at - 1;
  for (const auto& [pos, to] : cur.loops) {
    if (pos >= call) return false;
  }
  for (const TraceCallOut& c : cur.call_outs) {
    if (c.at + c.len > call) return false;
  }
  rec.recorded -= cur.ips.size() - call;
  rec.called_ops += cur.ips.size() - call - 1;
  const uint64_t ip = cur.ips[call];
  cur.ips.resize(call);
  if (!cur.depths.empty()) cur.depths.resize(call);
  rec.inline_calls.clear();
  append_call_out(rec, ip);
  return true;
}

// The op at `ip` (inline depth `depth`) must run in the core: in the loop's frame it joins
// or starts a call-out; inside an inlined call, the outermost call becomes one. `forced`:
// the loop's frame holds a value native code does not, which only this op can take.
RecordStep record_call_out(const Chunk& chunk, const Lowerings& lowered, const TraceJitConfig& config,
                           TraceRecording& rec, uint64_t ip, size_t depth, bool forced, TraceAbort& why,
                           std::string& detail) {
  const Op& op = chunk.ops[ip];
  const std::string name(op_name(op.code()));
  auto abort = [&](TraceAbort w, std::string d) {
    why = w;
    detail = std::move(d);
    return RecordStep::Abort;
  };
  if (depth > 0) {
    if (hand_call_to_core(rec)) return RecordStep::Continue;
    return abort(TraceAbort::Op, name + " at ip " + std::to_string(ip) +
                                     " needs the interpreter inside a call the path began inside");
  }
  if (!trace_op(op, lowered) && !call_out_op(op)) return abort(TraceAbort::Op, name + " at ip " + std::to_string(ip));
  if (!call_out_may_hold(op)) {
    return abort(TraceAbort::Op, name + (forced ? " with such a value on the stack"
                                                : " meets a value native code does not hold (Str, Array, Hash, ...)") +
                                     ", at ip " + std::to_string(ip));
  }
  if (rec.recorded >= config.max_trace_len) {
    return abort(TraceAbort::TooLong, std::to_string(config.max_trace_len) + " ops");
  }
  append_call_out(rec, ip);
  return RecordStep::Continue;
}

}  // namespace

RecordStep record_op(const Chunk& chunk, const Lowerings& lowered, const TraceJitConfig& config,
                     TraceRecording& rec, uint64_t ip, size_t frames, const RecordView& vm, TraceAbort& why,
                     std::string& detail) {
  auto abort = [&](TraceAbort w, std::string d) {
    why = w;
    detail = std::move(d);
    return RecordStep::Abort;
  };
  // The recording is complete. A lap that is mostly call-outs runs faster interpreted.
  auto close = [&] {
    const TracePath& lap = rec.paths[0];
    if (!rec.is_lap || lap.call_outs.empty()) return RecordStep::Close;
    size_t called_out = 0;
    for (const TraceCallOut& c : lap.call_outs) called_out += c.len;
    const size_t native = lap.ips.size() - called_out;
    // The interpreter runs the ops inside a call it makes for the trace in its metered
    // loop, slower than interpreted: each counts a quarter of a call-out (a lap calling a
    // sub that builds a string among 20 native ops ran 20% slower traced than interpreted).
    const size_t need =
        lap.call_outs.size() * config.min_ops_per_call_out + rec.called_ops * config.min_ops_per_call_out / 4;
    if (native >= need) return RecordStep::Close;
    return abort(TraceAbort::CallOuts, std::to_string(native) + " native ops, " +
                                           std::to_string(lap.call_outs.size()) + " call-out(s)" +
                                           (rec.called_ops != 0
                                                ? ", " + std::to_string(rec.called_ops) + " op(s) in the calls they make"
                                                : ""));
  };
  if (vm.stack.size() < rec.stack_base) {
    return abort(TraceAbort::Stack, "values from before the loop popped, at ip " + std::to_string(ip));
  }
  // Inside a call a call-out makes (its own Call, or an inlined call handed to the core):
  // the interpreter's ops, not the trace's, until the call returns to the loop's frame.
  if (rec.in_call_out && frames > rec.frames) {
    ++rec.called_ops;
    return RecordStep::Continue;
  }
  const std::span<const Value> above = vm.stack.subspan(rec.stack_base);
  // After a call-out's op: the kinds native code goes on with, or — while the loop's
  // frame holds a value native code does not — this op runs in the call-out too.
  bool must_extend = false;
  if (rec.in_call_out) {
    rec.in_call_out = false;
    // An op that jumps (a builtin setting vm.ip) or makes frames would go on elsewhere in
    // other laps.
    if (ip != rec.prev_ip + 1 || frames != rec.frames) {
      return abort(TraceAbort::Op, "a call-out went on elsewhere than its next op, at ip " + std::to_string(rec.prev_ip));
    }
    TraceCallOut& c = rec.paths[static_cast<size_t>(rec.current)].call_outs.back();
    c.stack.clear();
    for (const Value& v : above) {
      if (!held_natively(v)) must_extend = true;
      c.stack.push_back(slot_kind_of(v.kind()));
    }
  }
  // Calls are inlined: the op runs in the loop's frame or in a frame a recorded Call made.
  if (frames < rec.frames) return abort(TraceAbort::LeftFrame, "at ip " + std::to_string(ip));
  if (frames > rec.frames + kMaxInlineDepth) {  // calls nested deeper than a trace inlines: the core's
    if (hand_call_to_core(rec)) return RecordStep::Continue;
    return abort(TraceAbort::Calls, "more than " + std::to_string(kMaxInlineDepth) + " calls at ip " + std::to_string(ip));
  }
  if (ip >= chunk.ops.size()) return abort(TraceAbort::LeftFrame, "the program ended");
  const size_t depth = frames - rec.frames;
  if (depth == rec.inline_calls.size() + 1 && rec.prev_ip < chunk.ops.size() &&
      chunk.ops[rec.prev_ip].code() == OpCode::Call) {
    // Entered the callee of the Call seen last: bounded recursion.
    const uint64_t callee = ip;
    size_t active = 1;
    for (uint64_t call : rec.inline_calls) {
      const std::optional<uint64_t> entry = chunk.find_sub(static_cast<uint16_t>(chunk.ops[call].raw_operand(0)));
      if (entry && *entry == callee) ++active;
    }
    rec.inline_calls.push_back(rec.prev_ip);
    if (active > config.max_inline_recursion) {  // deeper recursion: the core makes the outermost call
      if (hand_call_to_core(rec)) return RecordStep::Continue;
      return abort(TraceAbort::Calls, "more than max_inline_recursion activations of the sub at ip " +
                                          std::to_string(callee));
    }
  } else if (depth + 1 == rec.inline_calls.size()) {
    rec.inline_calls.pop_back();  // returned
  } else if (depth != rec.inline_calls.size()) {
    return abort(TraceAbort::LeftFrame, "a frame the recording did not see made, at ip " + std::to_string(ip));
  }
  rec.prev_ip = ip;
  const auto d8 = static_cast<uint8_t>(depth);
  if (rec.following) {
    // The tree's next op after `last`: past a jump back into the tree, at its target;
    // past a path's last op, the loop header; else the next one.
    const TracePath& lp = rec.paths[static_cast<size_t>(rec.last.path)];
    TracePos next{rec.last.path, rec.last.pos + 1};
    if (const TracePos* to = lp.loop_at(rec.last.pos)) next = *to;
    const bool path_ends = next.path == rec.last.path && next.pos >= lp.ips.size();
    if (path_ends && ip == rec.anchor && depth == 0) return close();
    const TracePath& np = rec.paths[static_cast<size_t>(next.path)];
    if (!path_ends && np.ips[next.pos] == ip && np.depth(next.pos) == depth) {
      rec.last = next;
      return RecordStep::Continue;
    }
    // The interpreter went the other way at the guard `last`: along the path recorded from
    // there, or on a new one.
    const int32_t child = child_at(rec.paths, rec.last);
    if (child >= 0 && rec.paths[static_cast<size_t>(child)].ips.front() == ip &&
        rec.paths[static_cast<size_t>(child)].depth(0) == depth) {
      rec.last = TracePos{child, 0};
      return RecordStep::Continue;
    }
    if (!chunk.ops[lp.ips[rec.last.pos]].has_target()) {
      return abort(TraceAbort::Unit, "left the recorded ops after a non-jump at ip " + std::to_string(ip));
    }
    if (child >= 0) return abort(TraceAbort::Unit, "a guard's both ways are taken at ip " + std::to_string(ip));
    if (depth == 0 && (ip < rec.anchor || ip > rec.latch)) {
      return abort(TraceAbort::LeftFrame, "the loop exited at ip " + std::to_string(ip));
    }
    if (rec.paths.size() > 4 * std::max<size_t>(config.max_trace_chain, 1)) {
      return abort(TraceAbort::TooLong, "more paths than 4 * max_trace_chain");
    }
    TracePath p;
    p.parent = rec.last.path;
    p.parent_pos = rec.last.pos;
    rec.paths.push_back(std::move(p));
    rec.current = static_cast<int32_t>(rec.paths.size() - 1);
    rec.following = false;
  }
  TracePath& cur = rec.paths[static_cast<size_t>(rec.current)];
  // Only ops run in the call-out can take the values native code does not hold off the
  // stack, so this one is recorded into it (no close, inner loop or join can come right
  // after an op that goes on at its next one; a join is found again further on).
  if (must_extend) return record_call_out(chunk, lowered, config, rec, ip, 0, /*forced=*/true, why, detail);
  // Landing on the header by a jump closes the lap (falling into it does not: the path
  // then goes round without its backward jump, and the recording goes on).
  if (!cur.ips.empty() && ip == rec.anchor && depth == 0 && chunk.ops[cur.ips.back()].has_target()) {
    return close();
  }
  // A backward jump onto an op the tree already has: an inner loop. Follow the tree from
  // there instead of unrolling it.
  if (!cur.ips.empty() && ip <= cur.ips.back() && chunk.ops[cur.ips.back()].has_target() &&
      chunk.ops[cur.ips.back()].target() == ip) {
    if (std::optional<TracePos> at = find_in_lineage(rec.paths, rec.current, ip, d8)) {
      cur.loops.emplace_back(cur.ips.size() - 1, *at);
      rec.following = true;
      rec.last = *at;
      return RecordStep::Continue;
    }
  }
  // A side path reaching an op its parent ran after the branch: join the parent there.
  if (!cur.ips.empty()) {
    if (std::optional<TracePos> at = find_join(rec.paths, rec.current, ip, d8)) {
      cur.loops.emplace_back(cur.ips.size() - 1, *at);
      rec.following = true;
      rec.last = *at;
      return RecordStep::Continue;
    }
  }
  const Op& op = chunk.ops[ip];
  if (needs_core(chunk, lowered, op, above, vm)) {
    return record_call_out(chunk, lowered, config, rec, ip, depth, /*forced=*/false, why, detail);
  }
  if (rec.recorded >= config.max_trace_len) {
    return abort(TraceAbort::TooLong, std::to_string(config.max_trace_len) + " ops");
  }
  cur.ips.push_back(ip);
  cur.depths.push_back(d8);
  ++rec.recorded;
  return RecordStep::Continue;
}

namespace {

// Jump targets of trace ops are written first as exit numbers (kExitBit | k) and fixed once
// the trace's length is known: to the start of the path attached to that guard, or past
// the end (an exit).
constexpr uint64_t kExitBit = uint64_t{1} << 62;

// The most slots an inlined call's frame may have (SyntheticTrace::chains).
constexpr uint32_t kMaxInlinedFrameSlots = 64;


// True if trace ip `k` is where a path other than the first starts (no op falls into it).
bool starts_path(const std::vector<uint64_t>& starts, uint64_t k) {
  for (size_t p = 1; p < starts.size(); ++p) {
    if (starts[p] == k) return true;
  }
  return false;
}

}  // namespace

std::optional<SyntheticTrace> synthesise_trace(const Chunk& chunk, const Lowerings& lowered, uint64_t anchor,
                                               const std::vector<TracePath>& paths, TraceAbort& why,
                                               std::string& detail) {
  SyntheticTrace t;
  Chunk& out = t.chunk;
  out.constants = chunk.constants;
  out.names = chunk.names;
  out.source = chunk.source;
  auto fail = [&](TraceAbort w, std::string d) {
    why = w;
    detail = std::move(d);
    return std::nullopt;
  };
  // `quiet`: a jump of the trace's own for what falls through when interpreted, which
  // must not poll (the interpreter polls at the jumps it takes, and only there).
  std::vector<uint8_t> quiet;
  // Per trace op: the call-out it is, if any (VmSite::call_outs).
  CallOuts call_outs;
  // Slots: the loop frame's own, then one block per inline depth (the callee's slots and
  // a scratch slot for ReturnValue), then the global variables; the driver lends the frame
  // everything past its own for one entry (SyntheticTrace::globals, inline chains).
  uint32_t caller_free = 0;
  uint32_t callee_top = 0;
  uint8_t max_depth = 0;
  for (const TracePath& path : paths) {
    if (!path.depths.empty() && path.depths.size() != path.ips.size()) {
      return fail(TraceAbort::Unit, "a path's depths do not match its ops");
    }
    for (size_t i = 0; i < path.ips.size(); ++i) {
      if (path.ips[i] >= chunk.ops.size()) return fail(TraceAbort::Unit, "an ip past the chunk's end");
      const uint8_t d = path.depth(i);
      if (d > kMaxInlineDepth) return fail(TraceAbort::Unit, "calls inlined too deep");
      max_depth = std::max(max_depth, d);
      if (std::optional<uint16_t> top = max_slot(chunk.ops, path.ips[i], path.ips[i] + 1)) {
        uint32_t& free = d == 0 ? caller_free : callee_top;
        free = std::max<uint32_t>(free, *top + 1u);
      }
    }
  }
  const uint32_t stride = max_depth > 0 ? callee_top + 1 : 0;
  // Each inlined Call starts its callee's slots Undef op by op, and every exit stores them:
  // a callee naming slot 1000 made a 6,000-op trace whose compile LLVM never finished.
  if (stride > kMaxInlinedFrameSlots + 1) {
    return fail(TraceAbort::Calls, "an inlined call names slot " + std::to_string(callee_top - 1) + " (frames of more than " +
                                       std::to_string(kMaxInlinedFrameSlots) + " slots are not inlined)");
  }
  // With calls, the first lent slot stays Undef (a new frame's slots are copied from it:
  // LoadUndef is no unit op); each depth's block follows.
  const uint32_t undef_slot = caller_free;
  const uint32_t inline_base = caller_free + (max_depth > 0 ? 1 : 0);
  auto frame_base = [&](uint32_t d) { return inline_base + (d - 1) * stride; };
  t.global_base = inline_base + max_depth * stride;
  // Slot operands are 16-bit: inlined frames past slot 65535 would wrap onto the loop
  // frame's (a loop naming slot 65535 that inlined a call spun for ever natively).
  if (max_depth > 0 && t.global_base > uint32_t{UINT16_MAX} + 1) {
    return fail(TraceAbort::Calls, "an inlined call's slots would pass slot 65535 (the loop's frame names slot " +
                                       std::to_string(caller_free - 1) + ")");
  }
  t.lent_base = caller_free;
  t.max_inline_depth = max_depth;
  auto global_slot = [&](uint16_t global) -> std::optional<uint16_t> {
    size_t k = 0;
    while (k < t.globals.size() && t.globals[k] != global) ++k;
    if (k == t.globals.size()) t.globals.push_back(global);
    if (t.global_base + k > UINT16_MAX) return std::nullopt;
    return static_cast<uint16_t>(t.global_base + k);
  };
  // The inline frames at each op, interned: chain 0 is the loop's frame alone.
  t.chains.assign(1, {});
  auto chain_id = [&](const std::vector<InlineFrame>& frames) {
    for (size_t c = 0; c < t.chains.size(); ++c) {
      if (t.chains[c] == frames) return static_cast<uint32_t>(c);
    }
    t.chains.push_back(frames);
    return static_cast<uint32_t>(t.chains.size() - 1);
  };
  uint32_t chain = 0;  // of the op being emitted
  auto emit = [&](Op op, uint64_t real, bool is_quiet = false) {
    out.ops.push_back(op);
    out.lines.push_back(real < chunk.lines.size() ? chunk.lines[real] : 0);
    t.real_ip.push_back(real);
    t.chain_of.push_back(chain);
    quiet.push_back(is_quiet ? 1 : 0);
    call_outs.at.push_back(jit_abi::AbiCallOut{jit_abi::kNoCallOut, 0});
  };
  std::vector<uint32_t> exit_chain;  // per exit
  auto exit_to = [&](uint64_t real, int32_t path, size_t pos) {
    t.exits.push_back(TraceExit{real, path, pos});
    exit_chain.push_back(chain);
    return kExitBit | (t.exits.size() - 1);
  };
  // Before each op of each path: its inline frames and the stack depth above the entry's.
  struct At {
    uint32_t chain = 0;
    int64_t stack = 0;
  };
  std::vector<std::vector<At>> before(paths.size());
  std::vector<uint64_t> starts(paths.size(), 0);  // each path's first trace ip
  std::vector<std::vector<uint64_t>> syn(paths.size());  // trace ip of each path position
  std::optional<uint64_t> backedge;               // the last jump back to op 0
  t.loop_first = t.loop_last = anchor;
  for (size_t p = 0; p < paths.size(); ++p) {
    const TracePath& path = paths[p];
    const std::vector<uint64_t>& ips = path.ips;
    if (ips.empty()) return fail(TraceAbort::Unit, "an empty path");
    if (p > 0 && (path.parent < 0 || static_cast<size_t>(path.parent) >= p)) {
      return fail(TraceAbort::Unit, "a side path's parent comes after it");
    }
    At at;  // a side path starts where its guard went the other way
    if (p > 0) {
      const auto& parent = before[static_cast<size_t>(path.parent)];
      if (path.parent_pos >= parent.size()) return fail(TraceAbort::Unit, "a side path's guard is not in its parent");
      at = parent[path.parent_pos];
      int64_t pops = 0, pushes = 0;
      const Op& guard = chunk.ops[paths[static_cast<size_t>(path.parent)].ips[path.parent_pos]];
      if (!stack_effect(guard, lowered, pops, pushes)) return fail(TraceAbort::Stack, "a guard with a variable stack effect");
      at.stack += pushes - pops;
    }
    starts[p] = out.ops.size();
    bool closed = false;
    const size_t m = ips.size();
    for (size_t i = 0; i < m; ++i) {
      const uint64_t ip = ips[i];
      const uint8_t d = path.depth(i);
      before[p].push_back(at);
      chain = at.chain;
      std::vector<InlineFrame> frames = t.chains[at.chain];
      if (frames.size() != d) return fail(TraceAbort::Unit, "an op's depth is not its calls'");
      syn[p].push_back(out.ops.size());
      if (d == 0) {
        t.loop_first = std::min(t.loop_first, ip);
        t.loop_last = std::max(t.loop_last, ip);
      }
      // Ops the core runs (a call-out): the first stands for them all in the trace chunk
      // (the driver runs the real ones up to the next trace op's real ip), as it is (a
      // global op in it stays the interpreter's), and native code goes on after the last
      // with the stack kinds they left when recorded.
      const TraceCallOut* called = path.call_out_at(i);
      if (called != nullptr) {
        if (called->len == 0 || called->len > m - i) return fail(TraceAbort::Unit, "a call-out past its path's end");
        for (size_t j = 0; j < called->len; ++j) {
          if (path.depth(i + j) != 0 || ips[i + j] != ip + j || !call_out_may_hold(chunk.ops[ips[i + j]]) ||
              (j + 1 < called->len && path.loop_at(i + j) != nullptr)) {
            return fail(TraceAbort::Unit, "a call-out that is not a run of ops the core runs in the loop's frame");
          }
          if (j > 0) {  // no trace op of its own: nothing may jump or join here
            before[p].push_back(at);
            syn[p].push_back(out.ops.size());
            t.loop_last = std::max(t.loop_last, ips[i + j]);
          }
        }
        if (called->stack.size() >= jit_abi::kNoCallOut || call_outs.tags.size() > jit_abi::kNoCallOut) {
          return fail(TraceAbort::Unit, "a call-out's stack is too deep");
        }
        i += called->len - 1;
      }
      Op op = chunk.ops[ip];
      const OpCode code = op.code();
      if (called == nullptr && is_global_var_op(code)) {
        const std::optional<uint16_t> slot = global_slot(static_cast<uint16_t>(op.raw_operand(0)));
        if (!slot) return fail(TraceAbort::Unit, "too many slots for its global variables");
        op = code == OpCode::GetVar ? Op::GetSlot(*slot) : Op::SetSlot(*slot);
      } else if (d > 0) {  // a callee's slots are its block's
        const OpInfo& info = op.info();
        for (size_t k = 0; k < info.num_operands; ++k) {
          if (info.kinds[k] != OperandKind::Slot) continue;
          op.set_raw_operand(k, frame_base(d) + op.raw_operand(k));
        }
      }
      // The stack and frames after the op.
      At after = at;
      if (called != nullptr) {
        after.stack = static_cast<int64_t>(called->stack.size());
      } else if (code == OpCode::Call) {
        const auto argc = static_cast<int64_t>(op.raw_operand(1));
        const std::optional<uint64_t> entry = chunk.find_sub(static_cast<uint16_t>(op.raw_operand(0)));
        if (!entry || i + 1 >= m || ips[i + 1] != *entry || path.depth(i + 1) != d + 1) {
          return fail(TraceAbort::Unit, "a call whose callee the path does not follow");
        }
        if (argc > at.stack) return fail(TraceAbort::Stack, "a call takes arguments from before the loop");
        frames.push_back(InlineFrame{ip + 1, static_cast<uint64_t>(at.stack - argc), frame_base(d + 1u), stride - 1});
        after.chain = chain_id(frames);
      } else if (code == OpCode::Return || code == OpCode::ReturnValue) {
        if (d == 0) return fail(TraceAbort::LeftFrame, "a return from the loop's frame");
        const int64_t base = static_cast<int64_t>(frames.back().stack_base);
        const bool value = code == OpCode::ReturnValue;
        if (value && at.stack < 1) return fail(TraceAbort::Stack, "a return of a value from an empty stack");
        after.stack = std::min(at.stack - (value ? 1 : 0), base) + (value ? 1 : 0);
        frames.pop_back();
        after.chain = chain_id(frames);
      } else {
        int64_t pops = 0, pushes = 0;
        if (!stack_effect(op, lowered, pops, pushes)) {
          return fail(TraceAbort::Stack, std::string(op.info().name) + " has a variable stack effect");
        }
        after.stack += pushes - pops;
      }
      at = after;
      const bool last = i + 1 == m;
      if (!last && path.depth(i + 1) != frames.size()) return fail(TraceAbort::Unit, "an op's depth is not its calls'");
      // Where the recorded way goes on: the next op, the header (op 0) after a path's last
      // op, or an op the tree already has (an inner loop's backedge, or the op where a side
      // path joins its parent again).
      const TracePos* back = path.loop_at(i);
      if (back != nullptr && (!last || static_cast<size_t>(back->path) > p ||
                              back->pos >= (static_cast<size_t>(back->path) == p ? i + 1 : paths[back->path].ips.size()))) {
        return fail(TraceAbort::Unit, "a jump back or join that does not end its path");
      }
      if (back != nullptr && before[static_cast<size_t>(back->path)][back->pos].chain != after.chain) {
        return fail(TraceAbort::Unit, "a join into other calls than its own");
      }
      if (back != nullptr && paths[static_cast<size_t>(back->path)].inside_call_out(back->pos)) {
        return fail(TraceAbort::Unit, "a jump back or join into the middle of a call-out");
      }
      const bool closing = last && back == nullptr;
      if (closing && after.chain != 0) return fail(TraceAbort::Unit, "a path that ends inside a call");
      const uint64_t next = back != nullptr ? paths[static_cast<size_t>(back->path)].ips[back->pos]
                            : closing       ? anchor
                                            : ips[i + 1];
      const uint64_t on = back != nullptr ? syn[static_cast<size_t>(back->path)][back->pos] : 0;
      if (!op.has_target()) {
        if (last && back == nullptr) return fail(TraceAbort::Unit, "a path ends with an op that is not a jump");
        if (called == nullptr && code == OpCode::Call) {
          // The interpreter polls at a Call: a jump of the trace's own that polls, then the
          // callee's slots start as a new frame's (Undef), all still at the Call.
          emit(Op::Jump(out.ops.size() + 1), ip);
          const uint32_t callee = frame_base(d + 1u);
          for (uint32_t k = 0; k < stride; ++k) {
            emit(Op::GetSlot(static_cast<uint16_t>(undef_slot)), ip);
            emit(Op::SetSlot(static_cast<uint16_t>(callee + k)), ip);
          }
        } else if (code == OpCode::Return || code == OpCode::ReturnValue) {
          // The stack back to the callee's base (never above where it is), with the value.
          const bool value = code == OpCode::ReturnValue;
          const int64_t drop = before[p].back().stack - after.stack;  // (the value counts on both sides)
          const auto scratch = static_cast<uint16_t>(frame_base(d) + stride - 1);
          if (value) emit(Op::SetSlot(scratch), ip);
          for (int64_t k = 0; k < drop; ++k) emit(Op::Pop(), ip);
          if (value) emit(Op::GetSlot(scratch), ip);
        } else if (builtin_inside_call(op, d)) {
          return fail(TraceAbort::Op, "CallBuiltin inside an inlined call");
        } else {
          emit(op, ip);
          if (called != nullptr) {
            call_outs.at.back() = jit_abi::AbiCallOut{static_cast<uint32_t>(called->stack.size()),
                                                      static_cast<uint32_t>(call_outs.tags.size())};
            for (SlotKind k : called->stack) {
              const uint8_t tag = abi_tag_of(k);
              if (tag == jit_abi::kTagUnused) {
                return fail(TraceAbort::Unit, "a call-out leaves a value native code does not hold");
              }
              call_outs.tags.push_back(tag);
            }
          }
        }
        if (last) {  // falls into the op it joins
          chain = after.chain;
          emit(Op::Jump(on), ips[i] + 1, true);
          closed = true;
        }
        continue;
      }
      const uint64_t target = op.target();
      if (code == OpCode::Jump) {  // nothing to test, but the interpreter polls here
        if (closing) backedge = out.ops.size();
        emit(Op::Jump(last ? on : out.ops.size() + 1), ip);
        closed = last;
        continue;
      }
      if (next == target) {
        // Taken when recorded: the jump goes on in the trace, falling through leaves it.
        if (closing) backedge = out.ops.size();
        op.set_target(last ? on : out.ops.size() + 2);
        emit(op, ip);
        emit(Op::Jump(exit_to(ip + 1, static_cast<int32_t>(p), i)), ip + 1, true);
      } else {
        // Fell through when recorded: the jump leaves the trace.
        op.set_target(exit_to(target, static_cast<int32_t>(p), i));
        emit(op, ip);
        if (closing) {
          backedge = out.ops.size();
          emit(Op::Jump(0), ip + 1, true);
        } else if (back != nullptr) {  // falls into the op it joins
          emit(Op::Jump(on), ip + 1, true);
        }
      }
      closed = last;
    }
    if (!closed) return fail(TraceAbort::Unit, "a path does not end with a jump back to the loop's header");
  }
  if (!backedge) return fail(TraceAbort::Unit, "no path goes back to the loop's header");
  const uint64_t n = out.ops.size();
  // Each exit goes past the end, or to the path recorded from it.
  std::vector<int64_t> attached(t.exits.size(), -1);
  for (size_t p = 1; p < paths.size(); ++p) {
    bool found = false;
    for (size_t k = 0; k < t.exits.size(); ++k) {
      if (t.exits[k].path == paths[p].parent && t.exits[k].pos == paths[p].parent_pos && attached[k] < 0) {
        attached[k] = static_cast<int64_t>(p);
        found = true;
        break;
      }
    }
    if (!found) return fail(TraceAbort::Unit, "a side path's guard is not in its parent");
  }
  for (Op& op : out.ops) {
    if (!op.has_target() || (op.target() & kExitBit) == 0) continue;
    const uint64_t k = op.target() & ~kExitBit;
    op.set_target(attached[k] >= 0 ? starts[static_cast<size_t>(attached[k])] : n + k);
  }
  for (const TraceExit& e : t.exits) t.real_ip.push_back(e.real);
  t.chain_of.insert(t.chain_of.end(), exit_chain.begin(), exit_chain.end());
  t.backedge = backedge.value_or(0);
  // The normal exit: the first path's closing jump's other direction, or (a `while` closed
  // by a plain Jump) the first exit that leaves the loop, usually the header's test.
  const uint64_t last = paths[0].ips.back();
  const Op& close = chunk.ops[last];
  t.fallthrough = chunk.ops.size();
  if (close.code() != OpCode::Jump) {
    t.fallthrough = close.target() == anchor ? last + 1 : close.target();
  } else {
    for (size_t k = 0; k < t.exits.size(); ++k) {
      const TraceExit& e = t.exits[k];
      if (exit_chain[k] == 0 && t.leaves_loop(e.real)) {
        t.fallthrough = e.real;
        break;
      }
    }
  }

  // The stack never reaches below the loop's entry depth, and every jump inside the trace
  // arrives with the depth its target has (op 0: the entry depth). Paths come after their
  // parents, so each side path's start has its depth from its guard by then.
  std::vector<int64_t> depth_at(n, -1);
  depth_at[0] = 0;
  for (uint64_t k = 0; k < n; ++k) {
    int64_t depth = depth_at[k];
    if (depth < 0) return fail(TraceAbort::Unit, "a trace op no path reaches");
    const Op& op = out.ops[k];
    int64_t pops = 0, pushes = 0;
    if (const jit_abi::AbiCallOut* c = call_outs.find(k)) {  // the stack after is the recorded one
      pops = depth;
      pushes = c->depth;
    } else if (!stack_effect(op, lowered, pops, pushes)) {
      return fail(TraceAbort::Stack, std::string(op.info().name) + " has a variable stack effect");
    }
    if (depth < pops) {
      return fail(TraceAbort::Stack, std::string(op.info().name) + " at ip " + std::to_string(t.real_ip[k]) +
                                         " pops values from before the loop");
    }
    depth += pushes - pops;
    auto arrive = [&](uint64_t to) {
      if (to >= n) return true;  // an exit
      if (depth_at[to] < 0) depth_at[to] = depth;
      return depth_at[to] == depth;
    };
    const bool falls = op.code() != OpCode::Jump && k + 1 < n && !starts_path(starts, k + 1);
    if ((op.has_target() && !arrive(op.target())) || (falls && !arrive(k + 1))) {
      return fail(TraceAbort::Stack, "a lap leaves a different number of values on the stack (ip " +
                                         std::to_string(t.real_ip[k]) + ")");
    }
  }
  out.op_hash = out.compute_op_hash();
  std::string reason;
  if (std::none_of(call_outs.at.begin(), call_outs.at.end(),
                   [](const jit_abi::AbiCallOut& c) { return c.depth != jit_abi::kNoCallOut; })) {
    call_outs = {};  // (a unit without call-outs gets no table)
  }
  std::optional<VmSite> site = loop_site(out, lowered, 0, t.backedge, reason, std::move(call_outs));
  if (!site) return fail(TraceAbort::Unit, reason);
  t.site = std::move(*site);
  t.site.quiet_jumps = std::move(quiet);
  return t;
}

std::string lap_ops_problem(std::span<const Op> ops, uint64_t anchor, const Lowerings& lowered, size_t max_len) {
  if (ops.empty()) return "no ops";
  if (ops.size() > max_len) return std::to_string(ops.size()) + " ops, more than max_trace_len " + std::to_string(max_len);
  size_t depth = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    const std::string at = "op " + std::to_string(i) + " (" + std::string(op_name(op.code())) + ")";
    // In the loop's frame, the ops a call-out runs are the interpreter's (Concat, MakeArray,
    // ...); inside a call any op is, as the recording then hands the whole call to it.
    if (depth == 0 && !trace_op(op, lowered) && !call_out_op(op)) return at + " cannot be in a trace";
    const bool closes = op.has_target() && op.target() == anchor && depth == 0;
    if (i + 1 == ops.size()) {
      if (!closes) return "the last op does not jump to the anchor in the loop's frame";
    } else if (closes && op.code() == OpCode::Jump) {
      return at + " closes the lap before its end";
    }
    if (op.code() == OpCode::Call) ++depth;
    if (op.code() == OpCode::Return || op.code() == OpCode::ReturnValue) {
      if (depth == 0) return at + " returns from the loop's frame";
      --depth;
    }
  }
  return "";
}

bool check_trace_paths(const Chunk& chunk, const Lowerings& lowered, uint64_t anchor,
                       std::vector<TracePath>& paths, std::string& why) {
  const uint64_t size = chunk.ops.size();
  auto fail = [&](std::string w) {
    why = std::move(w);
    return false;
  };
  // The ops the interpreter may run after the op at `ip`.
  auto follows = [&](uint64_t ip, uint64_t next) {
    const Op& op = chunk.ops[ip];
    if (!op.has_target()) return next == ip + 1;
    if (op.code() == OpCode::Jump) return next == op.target();
    return next == op.target() || next == ip + 1;
  };
  if (paths.empty() || paths[0].parent != -1) return fail("the first path is not the lap");
  if (anchor >= size) return fail("the anchor is past the chunk's end");
  // The calls inlined before each op of each path (their ips, outermost first): what a
  // Return goes back to, and each op's depth.
  std::vector<std::vector<std::vector<uint64_t>>> calls(paths.size());
  for (size_t p = 0; p < paths.size(); ++p) {
    TracePath& path = paths[p];
    const std::string where = "path " + std::to_string(p);
    if (path.ips.empty()) return fail(where + " is empty");
    // Call-outs: in order, apart, inside the path, each a run of consecutive ops the core
    // runs, leaving only kinds native code holds (their depth is checked below).
    std::vector<uint8_t> called_out(path.ips.size(), 0);
    size_t free_from = 0;
    for (const TraceCallOut& c : path.call_outs) {
      if (c.at < free_from || c.len == 0 || c.at >= path.ips.size() || c.len > path.ips.size() - c.at) {
        return fail(where + ": a call-out that overlaps another or passes the path's end");
      }
      for (size_t j = 0; j < c.len; ++j) {
        const uint64_t ip = path.ips[c.at + j];
        if (ip >= size || ip != path.ips[c.at] + j || !call_out_may_hold(chunk.ops[ip])) {
          return fail(where + ": the call-out at position " + std::to_string(c.at) + " is not a run of ops the core runs");
        }
        called_out[c.at + j] = 1;
      }
      for (SlotKind k : c.stack) {
        if (abi_tag_of(k) == jit_abi::kTagUnused) {
          return fail(where + ": the call-out at position " + std::to_string(c.at) + " leaves a " + slot_kind_name(k) +
                      ", which native code does not hold");
        }
      }
      free_from = c.at + c.len;
    }
    for (size_t i = 0; i < path.ips.size(); ++i) {
      const uint64_t ip = path.ips[i];
      if (ip >= size) return fail(where + ": ip " + std::to_string(ip) + " is past the chunk's end");
      if (called_out[i] == 0 && !trace_op(chunk.ops[ip], lowered)) {
        return fail(where + ": " + std::string(op_name(chunk.ops[ip].code())) + " at ip " + std::to_string(ip) +
                    " cannot be in a trace");
      }
    }
    for (const auto& [at, to] : path.loops) {
      if (at >= path.ips.size() || to.path < 0 || static_cast<size_t>(to.path) > p ||
          to.pos >= paths[static_cast<size_t>(to.path)].ips.size()) {
        return fail(where + ": a join outside the tree");
      }
    }
    if (p == 0) {
      if (path.ips[0] != anchor) return fail("the lap does not start at the anchor");
    } else {
      if (path.parent < 0 || static_cast<size_t>(path.parent) >= p) return fail(where + ": its parent comes after it");
      const TracePath& parent = paths[static_cast<size_t>(path.parent)];
      if (path.parent_pos >= parent.ips.size()) return fail(where + ": its guard is not in its parent");
      const uint64_t guard = parent.ips[path.parent_pos];
      const Op& g = chunk.ops[guard];
      if (!g.has_target() || g.code() == OpCode::Jump) return fail(where + ": its guard is not a conditional jump");
      const uint64_t first = path.ips[0];
      if (!follows(guard, first)) return fail(where + ": it does not start after its guard");
    }
    std::vector<uint64_t> stack = p == 0 ? std::vector<uint64_t>{}
                                         : calls[static_cast<size_t>(path.parent)][path.parent_pos];
    path.depths.clear();
    for (size_t i = 0; i < path.ips.size(); ++i) {
      calls[p].push_back(stack);
      path.depths.push_back(static_cast<uint8_t>(stack.size()));
      uint64_t next = 0;
      const TracePos* to = path.loop_at(i);
      if (to != nullptr) {
        if (static_cast<size_t>(to->path) == p && to->pos > i) return fail(where + ": a join ahead of itself");
        next = paths[static_cast<size_t>(to->path)].ips[to->pos];
      } else if (i + 1 < path.ips.size()) {
        next = path.ips[i + 1];
      } else {
        next = anchor;  // the closing jump
      }
      const uint64_t ip = path.ips[i];
      const Op& op = chunk.ops[ip];
      if (builtin_inside_call(op, stack.size())) {
        return fail(where + ": CallBuiltin at ip " + std::to_string(ip) + " inside an inlined call");
      }
      if (!stack.empty() && (path.call_out_at(i) != nullptr || path.inside_call_out(i))) {
        return fail(where + ": a call-out at ip " + std::to_string(ip) + " inside an inlined call");
      }
      bool ok = false;
      if (op.code() == OpCode::Call && called_out[i] == 0) {  // inlined (a called-out one returns here)
        const std::optional<uint64_t> entry = chunk.find_sub(static_cast<uint16_t>(op.raw_operand(0)));
        ok = entry && next == *entry && stack.size() < kMaxInlineDepth;
        stack.push_back(ip);
      } else if (op.code() == OpCode::Return || op.code() == OpCode::ReturnValue) {
        ok = !stack.empty() && next == stack.back() + 1;
        if (!stack.empty()) stack.pop_back();
      } else {
        ok = follows(ip, next);
      }
      if (!ok) return fail(where + ": ip " + std::to_string(next) + " cannot follow ip " + std::to_string(ip));
      // Where the path goes on, it runs inside the same calls.
      const bool joins = to != nullptr;
      if (joins && calls[static_cast<size_t>(to->path)].size() > to->pos &&
          calls[static_cast<size_t>(to->path)][to->pos] != stack) {
        return fail(where + ": a join into other calls than its own");
      }
      if (!joins && i + 1 == path.ips.size() && !stack.empty()) return fail(where + ": ends inside a call");
    }
  }
  // A side path takes the other way of its guard than the path it leaves (both ways are
  // one ip when the jump's target is the next op).
  for (size_t p = 1; p < paths.size(); ++p) {
    const TracePath& parent = paths[static_cast<size_t>(paths[p].parent)];
    const size_t g = paths[p].parent_pos;
    const TracePos* to = parent.loop_at(g);
    const uint64_t taken = to != nullptr                  ? paths[static_cast<size_t>(to->path)].ips[to->pos]
                           : g + 1 < parent.ips.size() ? parent.ips[g + 1]
                                                          : anchor;
    const uint64_t guard = parent.ips[g];
    if (taken == paths[p].ips[0] && chunk.ops[guard].target() != guard + 1) {
      return fail("path " + std::to_string(p) + " goes the way its parent went");
    }
  }
  return true;
}

namespace {

// An op as --dump=trace prints it: numbers as .fasm writes them (a LoadFloat's value, not
// its bits; signed integers), other operands as their numbers.
std::string op_text(const Op& op) {
  const OpInfo& info = op.info();
  std::string text(info.name);
  for (size_t k = 0; k < info.num_operands; ++k) {
    text += k == 0 ? " " : ", ";
    const uint64_t raw = op.raw_operand(k);
    text += fasm::print_number_operand(info.kinds[k], raw).value_or(std::to_string(raw));
  }
  return text;
}

}  // namespace

std::string describe_trace(uint64_t anchor, const std::vector<TracePath>& paths, const SyntheticTrace& trace) {
  const uint64_t n = trace.chunk.ops.size();
  std::string out = "trace at ip " + std::to_string(anchor) + ": " + std::to_string(paths.size()) + " path(s), " +
                    std::to_string(n) + " ops, " + std::to_string(trace.exits.size()) + " exit(s)\n";
  for (size_t p = 0; p < paths.size(); ++p) {
    out += "  path " + std::to_string(p);
    if (paths[p].parent >= 0) {
      out += " (from path " + std::to_string(paths[p].parent) + "'s guard at ip " +
             std::to_string(paths[static_cast<size_t>(paths[p].parent)].ips[paths[p].parent_pos]) + ")";
    }
    out += ": ips";
    for (size_t i = 0; i < paths[p].ips.size(); ++i) {
      out += " " + std::to_string(paths[p].ips[i]);
      if (paths[p].depth(i) > 0) out += "/" + std::to_string(paths[p].depth(i));  // inside calls
    }
    for (const TraceCallOut& c : paths[p].call_outs) {
      out += "; ips " + std::to_string(paths[p].ips[c.at]) + ".." + std::to_string(paths[p].ips[c.at + c.len - 1]) +
             " run by the interpreter, leaving [";
      for (size_t k = 0; k < c.stack.size(); ++k) out += (k == 0 ? "" : " ") + std::string(slot_kind_name(c.stack[k]));
      out += "]";
    }
    for (const auto& [at, to] : paths[p].loops) {
      out += "; ip " + std::to_string(paths[p].ips[at]) + " goes on at path " + std::to_string(to.path) + " ip " +
             std::to_string(paths[static_cast<size_t>(to.path)].ips[to.pos]);
    }
    out += "\n";
  }
  for (size_t k = 0; k < trace.globals.size(); ++k) {
    out += "  global " + std::to_string(trace.globals[k]) + " in slot " + std::to_string(trace.global_base + k) + "\n";
  }
  for (uint64_t k = 0; k < n; ++k) {
    const Op& op = trace.chunk.ops[k];
    std::string line = "  " + std::to_string(k) + " (ip " + std::to_string(trace.real_ip[k]) + ") " + op_text(op);
    if (op.has_target() && op.target() >= n) line += "  -> exit " + std::to_string(op.target() - n);
    if (trace.site.call_outs.find(k) != nullptr && k + 1 < trace.real_ip.size()) {
      line += "  [call-out: the interpreter runs ips " + std::to_string(trace.real_ip[k]) + ".." +
              std::to_string(trace.real_ip[k + 1] - 1) + "]";
    }
    if (k < trace.chain_of.size() && trace.chain_of[k] != 0) {
      line += "  [in the call at ip " + std::to_string(trace.chains[trace.chain_of[k]].back().return_ip - 1) + "]";
    }
    out += line + "\n";
  }
  for (size_t e = 0; e < trace.exits.size(); ++e) {
    const TraceExit& x = trace.exits[e];
    out += "  exit " + std::to_string(e) + ": ip " + std::to_string(x.real) + " (guard at ip " +
           std::to_string(paths[static_cast<size_t>(x.path)].ips[x.pos]) + " of path " + std::to_string(x.path) + ")" +
           (trace.leaves_loop_at(n + e) ? ", leaves the loop" : "") + "\n";
  }
  return out;
}

}  // namespace fusevm::jit
