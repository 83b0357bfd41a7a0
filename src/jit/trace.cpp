// Recording a lap and writing it as a trace chunk (trace.hpp).
#include "jit/trace.hpp"

#include <algorithm>

#include "fusevm/op.hpp"

namespace fusevm::jit {

const char* trace_abort_name(TraceAbort why) {
  switch (why) {
    case TraceAbort::TooLong: return "recording aborted: longer than max_trace_len";
    case TraceAbort::LeftFrame: return "recording aborted: a call, return or block in the loop";
    case TraceAbort::Op: return "recording aborted: an op traces do not run";
    case TraceAbort::Stack: return "recording aborted: a lap does not keep the stack depth";
    default: return "recording aborted: the trace is not a unit";
  }
}

RecordStep record_op(const Chunk& chunk, const Lowerings& lowered, const TraceJitConfig& config,
                     TraceRecording& rec, uint64_t ip, size_t frames, TraceAbort& why, std::string& detail) {
  // Landing on the header by a jump closes the lap (falling into it does not: the path
  // then goes round without its backward jump, and the recording goes on).
  if (!rec.ips.empty() && ip == rec.anchor && chunk.ops[rec.ips.back()].has_target()) return RecordStep::Close;
  if (frames != rec.frames) {
    why = TraceAbort::LeftFrame;
    detail = "at ip " + std::to_string(ip);
    return RecordStep::Abort;
  }
  if (ip >= chunk.ops.size()) {  // the program ends in the middle of the lap
    why = TraceAbort::LeftFrame;
    detail = "the program ended";
    return RecordStep::Abort;
  }
  if (rec.ips.size() >= config.max_trace_len) {
    why = TraceAbort::TooLong;
    detail = std::to_string(config.max_trace_len) + " ops";
    return RecordStep::Abort;
  }
  const Op& op = chunk.ops[ip];
  if (!vm_unit_op(op, lowered)) {
    why = TraceAbort::Op;
    detail = std::string(op_name(op.code())) + " at ip " + std::to_string(ip);
    return RecordStep::Abort;
  }
  rec.ips.push_back(ip);
  return RecordStep::Continue;
}

namespace {

// Jump targets of trace ops are written first as exit numbers (kExitBit | k) and fixed once
// the trace's length is known: to the start of the path attached to that guard, or past
// the end (an exit).
constexpr uint64_t kExitBit = uint64_t{1} << 62;

// The stack effect of `op`, or false for a variable one.
bool stack_effect(const Op& op, const Lowerings& lowered, int64_t& pops, int64_t& pushes) {
  const OpInfo& info = op.info();
  if (const jit_abi::AbiLowering* l = op.code() == OpCode::Extended ? lowered.find(op.raw_operand(0)) : nullptr) {
    pops = l->num_args;
    pushes = l->result == jit_abi::kTagUnused ? 0 : 1;
    return true;
  }
  pops = info.pops;
  pushes = info.pushes;
  return info.pops != kVar && info.pushes != kVar;
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
  auto exit_to = [&](uint64_t real, int32_t path, size_t pos) {
    t.exits.push_back(TraceExit{real, path, pos});
    return kExitBit | (t.exits.size() - 1);
  };
  auto emit = [&](Op op, uint64_t real) {
    out.ops.push_back(op);
    out.lines.push_back(real < chunk.lines.size() ? chunk.lines[real] : 0);
    t.real_ip.push_back(real);
  };
  std::vector<uint64_t> starts(paths.size(), 0);  // each path's first trace ip
  std::vector<int64_t> start_depth(paths.size(), 0);
  std::optional<uint64_t> backedge;               // the first path's jump back to op 0
  t.loop_first = t.loop_last = anchor;
  for (size_t p = 0; p < paths.size(); ++p) {
    const std::vector<uint64_t>& ips = paths[p].ips;
    if (ips.empty()) return fail(TraceAbort::Unit, "an empty path");
    starts[p] = out.ops.size();
    bool closed = false;
    const size_t m = ips.size();
    for (size_t i = 0; i < m; ++i) {
      const uint64_t ip = ips[i];
      t.loop_last = std::max(t.loop_last, ip);
      Op op = chunk.ops[ip];
      const bool closing = i + 1 == m;
      const uint64_t next = closing ? anchor : ips[i + 1];
      if (!op.has_target()) {
        emit(op, ip);
        continue;
      }
      const uint64_t target = op.target();
      if (op.code() == OpCode::Jump) {  // nothing to test
        if (closing) {
          if (p == 0) backedge = out.ops.size();
          emit(Op::Jump(0), ip);
          closed = true;
        }
        continue;
      }
      if (next == target) {
        // Taken when recorded: the jump goes on in the trace, falling through leaves it.
        if (closing && p == 0) backedge = out.ops.size();
        op.set_target(closing ? 0 : out.ops.size() + 2);
        emit(op, ip);
        emit(Op::Jump(exit_to(ip + 1, static_cast<int32_t>(p), i)), ip + 1);
      } else {
        // Fell through when recorded: the jump leaves the trace.
        op.set_target(exit_to(target, static_cast<int32_t>(p), i));
        emit(op, ip);
        if (closing) {
          if (p == 0) backedge = out.ops.size();
          emit(Op::Jump(0), ip + 1);
        }
      }
      closed = closing;
    }
    if (!closed) return fail(TraceAbort::Unit, "a path does not end with a jump back to the loop's header");
  }
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
  t.backedge = backedge.value_or(0);
  // The normal exit: the first path's closing jump's other direction, or (a `while` closed
  // by a plain Jump) the first exit that leaves the loop, usually the header's test.
  const uint64_t last = paths[0].ips.back();
  const Op& close = chunk.ops[last];
  t.fallthrough = chunk.ops.size();
  if (close.code() != OpCode::Jump) {
    t.fallthrough = close.target() == anchor ? last + 1 : close.target();
  } else {
    for (const TraceExit& e : t.exits) {
      if (t.leaves_loop(e.real)) {
        t.fallthrough = e.real;
        break;
      }
    }
  }

  // Along every path the stack never reaches below the loop's entry depth, and each path
  // ends at it. A side path starts with its guard's depth.
  std::vector<int64_t> exit_depth(t.exits.size(), 0);
  for (size_t p = 0; p < paths.size(); ++p) {
    int64_t depth = 0;
    if (p > 0) {
      for (size_t k = 0; k < t.exits.size(); ++k) {
        if (attached[k] == static_cast<int64_t>(p)) depth = exit_depth[k];
      }
    }
    const uint64_t end = p + 1 < paths.size() ? starts[p + 1] : n;
    for (uint64_t k = starts[p]; k < end; ++k) {
      const Op& op = out.ops[k];
      int64_t pops = 0, pushes = 0;
      if (!stack_effect(op, lowered, pops, pushes)) {
        return fail(TraceAbort::Stack, std::string(op.info().name) + " has a variable stack effect");
      }
      if (depth < pops) {
        return fail(TraceAbort::Stack, std::string(op.info().name) + " at ip " + std::to_string(t.real_ip[k]) +
                                           " pops values from before the loop");
      }
      depth += pushes - pops;
      if (op.has_target() && op.target() >= n) exit_depth[op.target() - n] = depth;
      if (op.has_target() && op.target() < n && op.target() != 0) {
        for (size_t e = 0; e < t.exits.size(); ++e) {
          if (attached[e] >= 0 && starts[static_cast<size_t>(attached[e])] == op.target()) exit_depth[e] = depth;
        }
      }
    }
    if (depth != 0) return fail(TraceAbort::Stack, "a lap leaves " + std::to_string(depth) + " value(s) on the stack");
  }
  out.op_hash = out.compute_op_hash();
  std::string reason;
  std::optional<VmSite> site = loop_site(out, lowered, 0, t.backedge, reason);
  if (!site) return fail(TraceAbort::Unit, reason);
  t.site = std::move(*site);
  return t;
}

}  // namespace fusevm::jit
