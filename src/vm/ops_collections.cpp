// Out-of-line ops on arrays, hashes, ranges and strings (spec/ops.md §4–8, §15).
#include <algorithm>

#include "vm/interp.hpp"
#include "vm/semantics.hpp"

namespace fusevm {

namespace {

Value& global(VMState& st, uint16_t n) {
  if (n >= st.globals.size()) st.globals.resize(static_cast<size_t>(n) + 1);
  return st.globals[n];
}

const Value* global_if(VMState& st, uint16_t n, bool (Value::*is)() const) {
  if (n >= st.globals.size()) return nullptr;
  const Value& g = st.globals[n];
  return (g.*is)() ? &g : nullptr;
}

bool array_limit(VMState& st, uint64_t n) { return within(st, "array size", n, st.limits.max_array); }
bool string_limit(VMState& st, uint64_t n) { return within(st, "string size", n, st.limits.max_string); }

// Element i of an Array value, or Undef (negative or past the end).
Value element(const Value& arr, int64_t i) {
  const ValueArray& a = arr.as_array();
  return (i >= 0 && static_cast<uint64_t>(i) < a.size()) ? a[static_cast<size_t>(i)] : Value();
}

// Store v at index i of an Array value, padding with Undef; negative i discards (a
// reference panic, fixed). Returns false on a limit breach.
bool set_element(VMState& st, Value& arr, int64_t i, Value v) {
  if (i < 0) return true;
  if (!array_limit(st, static_cast<uint64_t>(i) + 1)) return false;
  ValueArray& a = arr.array_mut();
  if (static_cast<uint64_t>(i) >= a.size()) a.resize(static_cast<size_t>(i) + 1);
  a[static_cast<size_t>(i)] = std::move(v);
  arr.refresh_accounting();
  return true;
}

// The top `count` values (all if fewer), in push order.
std::vector<Value> take_top(VMState& st, size_t count) {
  const size_t n = std::min(count, st.stack.size());
  std::vector<Value> out;
  out.reserve(n);
  const size_t from = st.stack.size() - n;
  for (size_t k = from; k < st.stack.size(); ++k) out.push_back(std::move(st.stack[k]));
  st.stack.truncate(from);
  return out;
}

// Inclusive integer range with `step` (non-zero), never overflowing i64.
bool make_range(VMState& st, int64_t from, int64_t to, int64_t step, Value* out) {
  ValueArray a;
  if ((step > 0 && from <= to) || (step < 0 && from >= to)) {
    // Element count computed in unsigned arithmetic: (span / |step|) + 1 cannot overflow.
    const uint64_t span = step > 0 ? static_cast<uint64_t>(to) - static_cast<uint64_t>(from)
                                   : static_cast<uint64_t>(from) - static_cast<uint64_t>(to);
    const uint64_t mag = step > 0 ? static_cast<uint64_t>(step)
                                  : static_cast<uint64_t>(0) - static_cast<uint64_t>(step);
    const uint64_t count = span / mag + 1;
    if (count == 0 || !array_limit(st, count)) {
      if (count == 0) st.set_limit_error("array size", st.limits.max_array, st.ip - 1);
      return false;
    }
    a.reserve(static_cast<size_t>(count));
    uint64_t v = static_cast<uint64_t>(from);
    for (uint64_t k = 0; k < count; ++k, v += static_cast<uint64_t>(step)) {
      a.push_back(Value::Int(static_cast<int64_t>(v)));
    }
  }
  *out = Value::Array(std::move(a));
  return true;
}

}  // namespace

OpStatus exec_collection_op(VMState& st, const Insn& in) {
  const uint16_t n = in.a;
  switch (static_cast<OpCode>(in.op)) {
    case OpCode::SlotArrayGet: {
      const int64_t i = stack_pop(st).to_int();
      Value r;
      if (!st.frames.empty()) {
        const auto& slots = st.frames.back().slots;
        if (n < slots.size() && slots[n].is_array()) r = element(slots[n], i);
      }
      return stack_push(st, std::move(r)) ? OpStatus::Next : OpStatus::Error;
    }
    case OpCode::SlotArraySet: {
      const int64_t i = stack_pop(st).to_int();
      Value v = stack_pop(st);
      if (st.frames.empty()) return OpStatus::Next;
      auto& slots = st.frames.back().slots;
      if (n < slots.size() && slots[n].is_array()) {
        if (!set_element(st, slots[n], i, std::move(v))) return OpStatus::Error;
      }
      return OpStatus::Next;
    }
    case OpCode::DeclareArray: global(st, n) = Value::Array(ValueArray{}); return OpStatus::Next;
    case OpCode::DeclareHash: global(st, n) = Value::Hash(HashMap{}); return OpStatus::Next;
    case OpCode::ArrayGet: {
      const int64_t i = stack_pop(st).to_int();
      const Value* g = global_if(st, n, &Value::is_array);
      return stack_push(st, g ? element(*g, i) : Value()) ? OpStatus::Next : OpStatus::Error;
    }
    case OpCode::ArraySet: {
      const int64_t i = stack_pop(st).to_int();
      Value v = stack_pop(st);
      Value& g = global(st, n);
      if (g.is_array() && !set_element(st, g, i, std::move(v))) return OpStatus::Error;
      return OpStatus::Next;
    }
    case OpCode::ArrayPush: {
      Value v = stack_pop(st);
      Value& g = global(st, n);
      if (g.is_array()) {
        if (!array_limit(st, g.as_array().size() + 1)) return OpStatus::Error;
        g.array_mut().push_back(std::move(v));
        g.refresh_accounting();
      }
      return OpStatus::Next;
    }
    case OpCode::ArrayPop: case OpCode::ArrayShift: {
      Value r;
      Value& g = global(st, n);
      if (g.is_array() && !g.as_array().empty()) {
        ValueArray& a = g.array_mut();
        if (static_cast<OpCode>(in.op) == OpCode::ArrayPop) {
          r = std::move(a.back());
          a.pop_back();
        } else {
          r = std::move(a.front());
          a.erase(a.begin());
        }
        g.refresh_accounting();
      }
      return stack_push(st, std::move(r)) ? OpStatus::Next : OpStatus::Error;
    }
    case OpCode::ArrayLen: {
      const Value* g = global_if(st, n, &Value::is_array);
      const int64_t len = g ? static_cast<int64_t>(g->as_array().size()) : 0;
      return stack_push(st, Value::Int(len)) ? OpStatus::Next : OpStatus::Error;
    }
    case OpCode::MakeArray: {
      std::vector<Value> items = take_top(st, n);
      return stack_push(st, Value::Array(std::move(items))) ? OpStatus::Next : OpStatus::Error;
    }
    case OpCode::HashGet: {
      const std::string k = sem::key_of(stack_pop(st));
      Value r;
      if (const Value* g = global_if(st, n, &Value::is_hash)) {
        if (const Value* v = g->as_hash().find(k)) r = *v;
      }
      return stack_push(st, std::move(r)) ? OpStatus::Next : OpStatus::Error;
    }
    case OpCode::HashSet: {
      std::string k = sem::key_of(stack_pop(st));
      Value v = stack_pop(st);
      Value& g = global(st, n);
      if (g.is_hash()) {
        g.hash_mut().insert_or_assign(std::move(k), std::move(v));
        g.refresh_accounting();
      }
      return OpStatus::Next;
    }
    case OpCode::HashDelete: {
      const std::string k = sem::key_of(stack_pop(st));
      Value r;
      Value& g = global(st, n);
      if (g.is_hash() && g.as_hash().contains(k)) {
        r = std::move(*g.hash_mut().erase(k));
        g.refresh_accounting();
      }
      return stack_push(st, std::move(r)) ? OpStatus::Next : OpStatus::Error;
    }
    case OpCode::HashExists: {
      const std::string k = sem::key_of(stack_pop(st));
      const Value* g = global_if(st, n, &Value::is_hash);
      return stack_push(st, Value::Bool(g && g->as_hash().contains(k))) ? OpStatus::Next
                                                                   : OpStatus::Error;
    }
    case OpCode::HashKeys: case OpCode::HashValues: {
      ValueArray out;
      if (const Value* g = global_if(st, n, &Value::is_hash)) {
        out.reserve(g->as_hash().size());
        const bool keys = static_cast<OpCode>(in.op) == OpCode::HashKeys;
        for (const auto& [k, v] : g->as_hash()) out.push_back(keys ? Value::Str(k) : v);
      }
      return stack_push(st, Value::Array(std::move(out))) ? OpStatus::Next : OpStatus::Error;
    }
    case OpCode::MakeHash: {
      std::vector<Value> items = take_top(st, n);
      HashMap m;
      // Pairs k,v in push order; an odd count leaves a lone final key, which is ignored.
      for (size_t k = 0; k + 1 < items.size(); k += 2) {
        m.insert_or_assign(sem::key_of(items[k]), std::move(items[k + 1]));
      }
      return stack_push(st, Value::Hash(std::move(m))) ? OpStatus::Next : OpStatus::Error;
    }
    case OpCode::Range: {
      const int64_t to = stack_pop(st).to_int();
      const int64_t from = stack_pop(st).to_int();
      Value r;
      if (!make_range(st, from, to, 1, &r)) return OpStatus::Error;
      return stack_push(st, std::move(r)) ? OpStatus::Next : OpStatus::Error;
    }
    case OpCode::RangeStep: {
      const int64_t step = stack_pop(st).to_int();
      const int64_t to = stack_pop(st).to_int();
      const int64_t from = stack_pop(st).to_int();
      Value r = Value::Array(ValueArray{});
      if (step != 0 && !make_range(st, from, to, step, &r)) return OpStatus::Error;
      return stack_push(st, std::move(r)) ? OpStatus::Next : OpStatus::Error;
    }
    case OpCode::Concat: {
      Value b = stack_pop(st);
      Value a = stack_pop(st);
      const size_t bn = b.is_str() ? b.as_str().size() : b.len();
      if (a.is_str() && !a.is_shared()) {
        // Sole owner of the left string: append in place (amortised O(1) growth).
        if (!string_limit(st, a.as_str().size() + (b.is_str() ? bn : b.to_str().size())))
          return OpStatus::Error;
        b.append_str(a.str_mut());
        a.refresh_accounting();
        return stack_push(st, std::move(a)) ? OpStatus::Next : OpStatus::Error;
      }
      std::string s;
      a.append_str(s);
      b.append_str(s);
      if (!string_limit(st, s.size())) return OpStatus::Error;
      return stack_push(st, Value::Str(std::move(s))) ? OpStatus::Next : OpStatus::Error;
    }
    case OpCode::StringRepeat: {
      const int64_t times = stack_pop(st).to_int();
      const std::string s = stack_pop(st).to_str();
      std::string out;
      if (times > 0 && !s.empty()) {
        const uint64_t t = static_cast<uint64_t>(times);
        if (t > st.limits.max_string / s.size()) {
          st.set_limit_error("string size", st.limits.max_string, st.ip - 1);
          return OpStatus::Error;
        }
        out.reserve(s.size() * t);
        for (uint64_t k = 0; k < t; ++k) out.append(s);
      }
      return stack_push(st, Value::Str(std::move(out))) ? OpStatus::Next : OpStatus::Error;
    }
    case OpCode::SortDefault: {
      ValueArray a = sem::as_list(stack_pop(st));
      std::stable_sort(a.begin(), a.end(),
                       [](const Value& x, const Value& y) { return sem::str_compare(x, y) < 0; });
      return stack_push(st, Value::Array(std::move(a))) ? OpStatus::Next : OpStatus::Error;
    }
    default:
      st.set_error("internal: op routed to collections by mistake", st.ip - 1);
      return OpStatus::Error;
  }
}

}  // namespace fusevm
