// Recording a lap and writing it as a trace chunk (trace.hpp).
#include "jit/trace.hpp"

#include <algorithm>
#include <optional>

#include "fusevm/op.hpp"
#include "jit/op_sets.hpp"

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

TraceRecording TraceRecording::lap(uint64_t anchor, uint64_t latch, size_t frames) {
  TraceRecording r;
  r.anchor = anchor;
  r.latch = latch;
  r.frames = frames;
  r.paths.emplace_back();
  return r;
}

TraceRecording TraceRecording::side(uint64_t anchor, uint64_t latch, size_t frames, std::vector<TracePath> tree,
                                    TracePos from) {
  TraceRecording r;
  r.anchor = anchor;
  r.latch = latch;
  r.frames = frames;
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
std::optional<TracePos> find_in_lineage(const std::vector<TracePath>& paths, int32_t p, uint64_t ip) {
  size_t limit = paths[static_cast<size_t>(p)].ips.size();
  while (p >= 0) {
    const TracePath& path = paths[static_cast<size_t>(p)];
    for (size_t i = 0; i < limit && i < path.ips.size(); ++i) {
      if (path.ips[i] == ip) return TracePos{p, i};
    }
    limit = path.parent_pos + 1;
    p = path.parent;
  }
  return std::nullopt;
}

// Where `ip` sits after the guard that path `p` (or a path it continues) branched from:
// the place the recording may join instead of recording the same ops again.
std::optional<TracePos> find_join(const std::vector<TracePath>& paths, int32_t p, uint64_t ip) {
  while (p >= 0 && paths[static_cast<size_t>(p)].parent >= 0) {
    const TracePath& path = paths[static_cast<size_t>(p)];
    const TracePath& parent = paths[static_cast<size_t>(path.parent)];
    for (size_t i = path.parent_pos + 1; i < parent.ips.size(); ++i) {
      if (parent.ips[i] == ip) return TracePos{path.parent, i};
    }
    p = path.parent;
  }
  return std::nullopt;
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

}  // namespace

RecordStep record_op(const Chunk& chunk, const Lowerings& lowered, const TraceJitConfig& config,
                     TraceRecording& rec, uint64_t ip, size_t frames, TraceAbort& why, std::string& detail) {
  auto abort = [&](TraceAbort w, std::string d) {
    why = w;
    detail = std::move(d);
    return RecordStep::Abort;
  };
  if (frames != rec.frames) return abort(TraceAbort::LeftFrame, "at ip " + std::to_string(ip));
  if (ip >= chunk.ops.size()) return abort(TraceAbort::LeftFrame, "the program ended");
  if (rec.following) {
    // The tree's next op after `last`: past a jump back into the tree, at its target;
    // past a path's last op, the loop header; else the next one.
    const TracePath& lp = rec.paths[static_cast<size_t>(rec.last.path)];
    TracePos next{rec.last.path, rec.last.pos + 1};
    if (const TracePos* to = lp.loop_at(rec.last.pos)) next = *to;
    const bool path_ends = next.path == rec.last.path && next.pos >= lp.ips.size();
    if (path_ends && ip == rec.anchor) return RecordStep::Close;
    if (!path_ends && rec.paths[static_cast<size_t>(next.path)].ips[next.pos] == ip) {
      rec.last = next;
      return RecordStep::Continue;
    }
    // The interpreter went the other way at the guard `last`: along the path recorded from
    // there, or on a new one.
    const int32_t child = child_at(rec.paths, rec.last);
    if (child >= 0 && rec.paths[static_cast<size_t>(child)].ips.front() == ip) {
      rec.last = TracePos{child, 0};
      return RecordStep::Continue;
    }
    if (!chunk.ops[lp.ips[rec.last.pos]].has_target()) {
      return abort(TraceAbort::Unit, "left the recorded ops after a non-jump at ip " + std::to_string(ip));
    }
    if (child >= 0) return abort(TraceAbort::Unit, "a guard's both ways are taken at ip " + std::to_string(ip));
    if (ip < rec.anchor || ip > rec.latch) return abort(TraceAbort::LeftFrame, "the loop exited at ip " + std::to_string(ip));
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
  // Landing on the header by a jump closes the lap (falling into it does not: the path
  // then goes round without its backward jump, and the recording goes on).
  if (!cur.ips.empty() && ip == rec.anchor && chunk.ops[cur.ips.back()].has_target()) return RecordStep::Close;
  // A backward jump onto an op the tree already has: an inner loop. Follow the tree from
  // there instead of unrolling it.
  if (!cur.ips.empty() && ip <= cur.ips.back() && chunk.ops[cur.ips.back()].has_target() &&
      chunk.ops[cur.ips.back()].target() == ip) {
    if (std::optional<TracePos> at = find_in_lineage(rec.paths, rec.current, ip)) {
      cur.loops.emplace_back(cur.ips.size() - 1, *at);
      rec.following = true;
      rec.last = *at;
      return RecordStep::Continue;
    }
  }
  // A side path reaching an op its parent ran after the branch: join the parent there.
  if (!cur.ips.empty()) {
    if (std::optional<TracePos> at = find_join(rec.paths, rec.current, ip)) {
      cur.loops.emplace_back(cur.ips.size() - 1, *at);
      rec.following = true;
      rec.last = *at;
      return RecordStep::Continue;
    }
  }
  if (rec.recorded >= config.max_trace_len) {
    return abort(TraceAbort::TooLong, std::to_string(config.max_trace_len) + " ops");
  }
  const Op& op = chunk.ops[ip];
  if (!trace_op(op, lowered)) {
    return abort(TraceAbort::Op, std::string(op_name(op.code())) + " at ip " + std::to_string(ip));
  }
  cur.ips.push_back(ip);
  ++rec.recorded;
  return RecordStep::Continue;
}

namespace {

// Jump targets of trace ops are written first as exit numbers (kExitBit | k) and fixed once
// the trace's length is known: to the start of the path attached to that guard, or past
// the end (an exit).
constexpr uint64_t kExitBit = uint64_t{1} << 62;

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
  auto exit_to = [&](uint64_t real, int32_t path, size_t pos) {
    t.exits.push_back(TraceExit{real, path, pos});
    return kExitBit | (t.exits.size() - 1);
  };
  // `quiet`: a jump of the trace's own for what falls through when interpreted, which
  // must not poll (the interpreter polls at the jumps it takes, and only there).
  std::vector<uint8_t> quiet;
  auto emit = [&](Op op, uint64_t real, bool is_quiet = false) {
    out.ops.push_back(op);
    out.lines.push_back(real < chunk.lines.size() ? chunk.lines[real] : 0);
    t.real_ip.push_back(real);
    quiet.push_back(is_quiet ? 1 : 0);
  };
  // Global variables live in slots of the trace past every slot its ops name; the driver
  // loads them before entering and stores them back after (SyntheticTrace::globals).
  uint32_t first_free = 0;
  for (const TracePath& path : paths) {
    for (uint64_t ip : path.ips) {
      if (std::optional<uint16_t> top = max_slot(chunk.ops, ip, ip + 1)) {
        first_free = std::max<uint32_t>(first_free, *top + 1u);
      }
    }
  }
  t.global_base = first_free;
  auto global_slot = [&](uint16_t global) -> std::optional<uint16_t> {
    size_t k = 0;
    while (k < t.globals.size() && t.globals[k] != global) ++k;
    if (k == t.globals.size()) t.globals.push_back(global);
    if (t.global_base + k > UINT16_MAX) return std::nullopt;
    return static_cast<uint16_t>(t.global_base + k);
  };
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
    starts[p] = out.ops.size();
    bool closed = false;
    const size_t m = ips.size();
    for (size_t i = 0; i < m; ++i) {
      const uint64_t ip = ips[i];
      syn[p].push_back(out.ops.size());
      t.loop_last = std::max(t.loop_last, ip);
      Op op = chunk.ops[ip];
      if (is_global_var_op(op.code())) {
        const std::optional<uint16_t> slot = global_slot(static_cast<uint16_t>(op.raw_operand(0)));
        if (!slot) return fail(TraceAbort::Unit, "too many slots for its global variables");
        op = op.code() == OpCode::GetVar ? Op::GetSlot(*slot) : Op::SetSlot(*slot);
      }
      const bool last = i + 1 == m;
      // Where the recorded way goes on: the next op, the header (op 0) after a path's last
      // op, or an op the tree already has (an inner loop's backedge, or the op where a side
      // path joins its parent again).
      const TracePos* back = path.loop_at(i);
      if (back != nullptr && (!last || static_cast<size_t>(back->path) > p ||
                              back->pos >= (static_cast<size_t>(back->path) == p ? i + 1 : paths[back->path].ips.size()))) {
        return fail(TraceAbort::Unit, "a jump back or join that does not end its path");
      }
      const bool closing = last && back == nullptr;
      const uint64_t next = back != nullptr ? paths[static_cast<size_t>(back->path)].ips[back->pos]
                            : closing       ? anchor
                                            : ips[i + 1];
      const uint64_t on = back != nullptr ? syn[static_cast<size_t>(back->path)][back->pos] : 0;
      if (!op.has_target()) {
        if (last && back == nullptr) return fail(TraceAbort::Unit, "a path ends with an op that is not a jump");
        emit(op, ip);
        if (last) {  // falls into the op it joins
          emit(Op::Jump(on), ip + 1, true);
          closed = true;
        }
        continue;
      }
      const uint64_t target = op.target();
      if (op.code() == OpCode::Jump) {  // nothing to test, but the interpreter polls here
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
    if (!stack_effect(op, lowered, pops, pushes)) {
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
  std::optional<VmSite> site = loop_site(out, lowered, 0, t.backedge, reason);
  if (!site) return fail(TraceAbort::Unit, reason);
  t.site = std::move(*site);
  t.site.quiet_jumps = std::move(quiet);
  return t;
}

bool check_trace_paths(const Chunk& chunk, const Lowerings& lowered, uint64_t anchor,
                       const std::vector<TracePath>& paths, std::string& why) {
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
  for (size_t p = 0; p < paths.size(); ++p) {
    const TracePath& path = paths[p];
    const std::string where = "path " + std::to_string(p);
    if (path.ips.empty()) return fail(where + " is empty");
    for (uint64_t ip : path.ips) {
      if (ip >= size) return fail(where + ": ip " + std::to_string(ip) + " is past the chunk's end");
      if (!trace_op(chunk.ops[ip], lowered)) {
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
    for (size_t i = 0; i < path.ips.size(); ++i) {
      uint64_t next = 0;
      if (const TracePos* to = path.loop_at(i)) {
        next = paths[static_cast<size_t>(to->path)].ips[to->pos];
      } else if (i + 1 < path.ips.size()) {
        next = path.ips[i + 1];
      } else {
        next = anchor;  // the closing jump
      }
      if (!follows(path.ips[i], next)) {
        return fail(where + ": ip " + std::to_string(next) + " cannot follow ip " + std::to_string(path.ips[i]));
      }
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

std::string op_text(const Op& op) {
  const OpInfo& info = op.info();
  std::string text(info.name);
  for (size_t k = 0; k < info.num_operands; ++k) {
    text += k == 0 ? " " : ", ";
    text += std::to_string(op.raw_operand(k));
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
    for (uint64_t ip : paths[p].ips) out += " " + std::to_string(ip);
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
    out += line + "\n";
  }
  for (size_t e = 0; e < trace.exits.size(); ++e) {
    const TraceExit& x = trace.exits[e];
    out += "  exit " + std::to_string(e) + ": ip " + std::to_string(x.real) + " (guard at ip " +
           std::to_string(paths[static_cast<size_t>(x.path)].ips[x.pos]) + " of path " + std::to_string(x.path) + ")" +
           (trace.leaves_loop(x.real) ? ", leaves the loop" : "") + "\n";
  }
  return out;
}

}  // namespace fusevm::jit
