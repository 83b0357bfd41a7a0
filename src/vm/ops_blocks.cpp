// Higher-order block ops: MapBlock, GrepBlock, SortBlock, ForEachBlock (ARCHITECTURE §5, §9).
//
// A block is chunk.block_ranges[b] = [start, end), run as a nested activation of the
// dispatch loop over its own decoded stream. It shares the current frame's slots, may call
// subs, and must stay inside its range (a jump out, or Return/PushFrame/PopFrame at block
// level, is Error("block N: ...")). Each invocation counts toward call depth and polls.
#include <algorithm>

#include "vm/interp.hpp"
#include "vm/native_stack.hpp"
#include "vm/semantics.hpp"

namespace fusevm {

namespace {

class BlockRunner {
 public:
  BlockRunner(VMState& st, VM& vm, CodeStream& code, uint64_t op_ip)
      : st_(st), vm_(vm), code_(code), op_ip_(op_ip) {}

  // Runs the block with `args` pushed; the result is the top value if the block left
  // one, else Undef. Returns false on an error or an exit (status() says which).
  bool invoke(std::initializer_list<const Value*> args, Value* result) {
    if (st_.call_depth_full()) {
      st_.set_limit_error("call depth", st_.limits.max_call_depth, op_ip());
      status_ = OpStatus::Error;
      return false;
    }
    if (!native_stack_ok()) {
      // Each activation nests the dispatch loop on the C++ stack.
      st_.set_limit_error("native stack", native_stack_budget(), op_ip());
      status_ = OpStatus::Error;
      return false;
    }
    if (st_.poll.load(std::memory_order_relaxed) && !st_.poll_slow(op_ip())) {
      status_ = OpStatus::Error;
      return false;
    }
    const size_t base = st_.stack.size();
    for (const Value* a : args) {
      if (st_.stack.size() >= st_.limits.max_stack) {
        st_.set_limit_error("value stack", st_.limits.max_stack, op_ip());
        status_ = OpStatus::Error;
        return false;
      }
      st_.stack.push_back(*a);
    }
    ++st_.block_depth;
    const ExitReason why = Interp::execute(st_, vm_, &code_, code_.code.data());
    --st_.block_depth;
    if (why != ExitReason::BlockDone) {
      if (why == ExitReason::Error) {
        status_ = OpStatus::Error;
      } else {
        st_.exit_reason = why;
        status_ = OpStatus::Exit;
      }
      return false;
    }
    *result = st_.stack.size() > base ? std::move(st_.stack.back()) : Value();
    st_.stack.truncate(base);
    return true;
  }

  OpStatus status() const { return status_; }

 private:
  uint64_t op_ip() const { return op_ip_; }

  VMState& st_;
  VM& vm_;
  CodeStream& code_;
  uint64_t op_ip_;
  OpStatus status_ = OpStatus::Next;
};

// Stable bottom-up merge sort whose comparator may fail. It never assumes the comparator
// is consistent: each merge step asks once and takes the right element only when the
// block says it goes first, so any answers give a permutation of the input.
template <class Before>
bool merge_sort(ValueArray& a, Before&& before) {
  ValueArray tmp(a.size());
  for (size_t width = 1; width < a.size(); width *= 2) {
    for (size_t lo = 0; lo < a.size(); lo += 2 * width) {
      const size_t mid = std::min(lo + width, a.size());
      const size_t hi = std::min(lo + 2 * width, a.size());
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        bool right_first = false;
        if (!before(a[j], a[i], &right_first)) return false;
        tmp[k++] = std::move(right_first ? a[j++] : a[i++]);
      }
      while (i < mid) tmp[k++] = std::move(a[i++]);
      while (j < hi) tmp[k++] = std::move(a[j++]);
    }
    std::swap(a, tmp);
  }
  return true;
}

}  // namespace

OpStatus exec_block_op(VMState& st, VM& vm, const Insn& in) {
  const uint16_t b = in.a;
  const OpCode op = static_cast<OpCode>(in.op);
  const uint64_t op_ip = st.ip - 1;
  const uint32_t op_stream = st.cur_stream;
  if (b >= st.chunk.block_ranges.size()) {
    st.set_error("block " + std::to_string(b) + ": no such block (" +
                     std::to_string(st.chunk.block_ranges.size()) + " defined)",
                 op_ip);
    return OpStatus::Error;
  }
  const auto [start, end] = st.chunk.block_ranges[b];
  if (start > end || end > st.chunk.ops.size()) {
    st.set_error("block " + std::to_string(b) + ": invalid range [" + std::to_string(start) +
                     ", " + std::to_string(end) + ")",
                 op_ip);
    return OpStatus::Error;
  }
  Value input = st.stack.empty() ? Value() : std::move(st.stack.back());
  if (!st.stack.empty()) st.stack.pop_back();
  const size_t base = st.stack.size();
  ValueArray items = sem::as_list(input);
  BlockRunner run(st, vm, st.code.block(st.chunk, b), op_ip);

  // On failure the op can be retried: its input goes back on the stack and the VM stands
  // at the op again (so run() after an interrupt restarts the block op).
  auto fail = [&]() {
    const OpStatus s = run.status();
    if (s == OpStatus::Error) {
      st.stack.truncate(base);
      st.stack.push_back(std::move(input));
      st.ip = op_ip;
      st.cur_stream = op_stream;
    }
    return s;
  };

  ValueArray out;
  Value r;
  switch (op) {
    case OpCode::MapBlock:
      out.reserve(items.size());
      for (const Value& e : items) {
        if (!run.invoke({&e}, &r)) return fail();
        out.push_back(std::move(r));
      }
      break;
    case OpCode::GrepBlock:
      for (Value& e : items) {
        if (!run.invoke({&e}, &r)) return fail();
        if (r.is_truthy()) out.push_back(std::move(e));
      }
      break;
    case OpCode::ForEachBlock:
      for (const Value& e : items) {
        if (!run.invoke({&e}, &r)) return fail();
      }
      st.ip = op_ip + 1;
      st.cur_stream = op_stream;
      return OpStatus::Next;
    case OpCode::SortBlock: {
      // a before b iff to_float(block(a, b)) < 0 (NaN counts as 0).
      const bool ok = merge_sort(items, [&](const Value& x, const Value& y, bool* x_first) {
        if (!run.invoke({&x, &y}, &r)) return false;
        *x_first = r.to_float() < 0.0;
        return true;
      });
      if (!ok) return fail();
      out = std::move(items);
      break;
    }
    default:
      st.set_error("internal: op routed to blocks by mistake", op_ip);
      return OpStatus::Error;
  }
  st.ip = op_ip + 1;
  st.cur_stream = op_stream;
  return stack_push(st, Value::Array(std::move(out))) ? OpStatus::Next : OpStatus::Error;
}

}  // namespace fusevm
