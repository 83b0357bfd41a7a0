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

// Jump targets of trace ops are written first as exit numbers (kExitBit | k) and fixed to
// past-the-end ips once the trace's length is known.
constexpr uint64_t kExitBit = uint64_t{1} << 62;

}  // namespace

std::optional<SyntheticTrace> synthesise_trace(const Chunk& chunk, const Lowerings& lowered,
                                               const TraceRecording& rec, TraceAbort& why, std::string& detail) {
  SyntheticTrace t;
  Chunk& out = t.chunk;
  out.constants = chunk.constants;
  out.names = chunk.names;
  out.source = chunk.source;
  std::vector<uint64_t> exits;  // real ips the trace's exits go on at
  auto exit_to = [&](uint64_t real) {
    for (size_t k = 0; k < exits.size(); ++k) {
      if (exits[k] == real) return kExitBit | k;
    }
    exits.push_back(real);
    return kExitBit | (exits.size() - 1);
  };
  auto emit = [&](Op op, uint64_t real) {
    out.ops.push_back(op);
    out.lines.push_back(real < chunk.lines.size() ? chunk.lines[real] : 0);
    t.real_ip.push_back(real);
  };
  const size_t m = rec.ips.size();
  std::optional<uint64_t> backedge;  // the trace op that jumps back to op 0
  for (size_t i = 0; i < m; ++i) {
    const uint64_t ip = rec.ips[i];
    Op op = chunk.ops[ip];
    const bool closing = i + 1 == m;
    const uint64_t next = closing ? rec.anchor : rec.ips[i + 1];
    if (!op.has_target()) {
      emit(op, ip);
      continue;
    }
    const uint64_t target = op.target();
    const bool falls = op.code() != OpCode::Jump;
    // Where the recorded direction goes on in the trace: the next trace op, or op 0.
    const bool took = next == target;
    if (!falls) {  // an unconditional jump: nothing to test
      if (closing) {
        backedge = out.ops.size();
        emit(Op::Jump(0), ip);
      }
      continue;
    }
    if (took) {
      // Taken when recorded: the jump goes on in the trace, falling through leaves it.
      if (closing) backedge = out.ops.size();
      op.set_target(closing ? 0 : out.ops.size() + 2);
      emit(op, ip);
      emit(Op::Jump(exit_to(ip + 1)), ip + 1);
    } else {
      // Fell through when recorded: the jump leaves the trace.
      op.set_target(exit_to(target));
      emit(op, ip);
      if (closing) {
        backedge = out.ops.size();
        emit(Op::Jump(0), ip + 1);
      }
    }
  }
  if (!backedge) {
    why = TraceAbort::Unit;
    detail = "the lap does not end with a jump back to its header";
    return std::nullopt;
  }
  // Fix exits to ips past the end; the normal exit is the one the closing jump takes.
  const uint64_t n = out.ops.size();
  for (Op& op : out.ops) {
    if (op.has_target() && (op.target() & kExitBit) != 0) op.set_target(n + (op.target() & ~kExitBit));
  }
  for (uint64_t real : exits) t.real_ip.push_back(real);
  t.backedge = *backedge;
  t.loop_first = rec.anchor;
  t.loop_last = *std::max_element(rec.ips.begin(), rec.ips.end());
  // The normal exit: the closing jump's other direction, or (a `while` closed by a plain
  // Jump) the first exit that leaves the loop, usually the header's test.
  const Op& close = chunk.ops[rec.ips.back()];
  if (close.code() != OpCode::Jump) {
    t.fallthrough = close.target() == rec.anchor ? rec.ips.back() + 1 : close.target();
  } else {
    t.fallthrough = chunk.ops.size();
    for (uint64_t real : exits) {
      if (t.leaves_loop(real)) {
        t.fallthrough = real;
        break;
      }
    }
  }

  // One lap must leave the stack as it found it, and never reach below it.
  int64_t depth = 0;
  for (uint64_t k = 0; k < n; ++k) {
    const Op& op = out.ops[k];
    const OpInfo& info = op.info();
    int64_t pops = info.pops, pushes = info.pushes;
    if (const jit_abi::AbiLowering* l = op.code() == OpCode::Extended ? lowered.find(op.raw_operand(0)) : nullptr) {
      pops = l->num_args;
      pushes = l->result == jit_abi::kTagUnused ? 0 : 1;
    } else if (info.pops == kVar || info.pushes == kVar) {
      why = TraceAbort::Stack;
      detail = std::string(info.name) + " has a variable stack effect";
      return std::nullopt;
    }
    if (depth < pops) {
      why = TraceAbort::Stack;
      detail = std::string(info.name) + " at ip " + std::to_string(t.real_ip[k]) + " pops values from before the loop";
      return std::nullopt;
    }
    depth += pushes - pops;
  }
  if (depth != 0) {
    why = TraceAbort::Stack;
    detail = "a lap leaves " + std::to_string(depth) + " value(s) on the stack";
    return std::nullopt;
  }
  out.op_hash = out.compute_op_hash();
  std::string reason;
  std::optional<VmSite> site = loop_site(out, lowered, 0, t.backedge, reason);
  if (!site) {
    why = TraceAbort::Unit;
    detail = reason;
    return std::nullopt;
  }
  t.site = std::move(*site);
  return t;
}

}  // namespace fusevm::jit
