// Value: heap payload lifetime and accounting, copy-on-write access, coercions, repr,
// equality and hashing (spec/values.md, ARCHITECTURE §4 and §9).
//
// Every walk over nested values (destruction, to_str, repr, ==, hashing, deep_copy) uses
// an explicit work stack instead of C++ recursion: a program can nest arrays a million
// deep, and that must not overflow the native stack.
#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "fusevm/value.hpp"

namespace fusevm {
namespace {

using detail::ArrayObj;
using detail::HashObj;
using detail::HeapObj;
using detail::RefObj;
using detail::StrObj;

// -- Heap accounting ------------------------------------------------------------

// Live payload bytes on this thread. Each payload remembers what it added (HeapObj::bytes)
// so destruction subtracts exactly that, whatever happened to the payload meanwhile.
thread_local int64_t t_live_bytes = 0;

// Approximate cost of one Hash entry (key string, Value, vector slot, index node).
constexpr size_t kHashEntryBytes = 64;

uint32_t clamp_bytes(size_t n) {
  return n > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(n);
}

uint32_t measure(uint8_t tag, const HeapObj* o) {
  switch (tag) {
    case Value::kTagStr:
      return clamp_bytes(sizeof(StrObj) + static_cast<const StrObj*>(o)->s.capacity());
    case Value::kTagArray:
      return clamp_bytes(sizeof(ArrayObj) +
                         static_cast<const ArrayObj*>(o)->v.capacity() * sizeof(Value));
    case Value::kTagHash:
      return clamp_bytes(sizeof(HashObj) +
                         static_cast<const HashObj*>(o)->m.size() * kHashEntryBytes);
    default:
      return clamp_bytes(sizeof(RefObj));
  }
}

template <class T>
T* track(T* o, uint8_t tag) {
  o->bytes = measure(tag, o);
  t_live_bytes += o->bytes;
  return o;
}

void free_payload(uint8_t tag, HeapObj* o) {
  t_live_bytes -= o->bytes;
  switch (tag) {
    case Value::kTagStr: delete static_cast<StrObj*>(o); break;
    case Value::kTagArray: delete static_cast<ArrayObj*>(o); break;
    case Value::kTagHash: delete static_cast<HashObj*>(o); break;
    default: delete static_cast<RefObj*>(o); break;
  }
}

// While a container payload is being freed, this points at the list of nested container
// payloads whose last reference died meanwhile; draining that list in a loop keeps the
// destruction of deeply nested values off the C++ stack. A plain pointer (not a
// thread_local vector) so no thread-exit destructor ordering can bite.
thread_local std::vector<std::pair<uint8_t, HeapObj*>>* t_pending_frees = nullptr;

// -- Small text helpers -----------------------------------------------------------

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void append_le(std::string& out, uint64_t v, int nbytes) {
  for (int i = 0; i < nbytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// C-style escaped, double-quoted form of a byte string (the .fasm literal syntax).
void append_quoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case 0: out += "\\0"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// Hash entries sorted by key bytes (std::string compares bytes as unsigned).
std::vector<const HashMap::Entry*> sorted_entries(const HashMap& m) {
  std::vector<const HashMap::Entry*> v;
  v.reserve(m.size());
  for (const auto& e : m) v.push_back(&e);
  std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->first < b->first; });
  return v;
}

// -- Structural walks ---------------------------------------------------------------

// Appends the §8.4 byte stream. With kCanonicalNaN every NaN writes the same bits, so the
// stream (and Value::hash) agrees with identical().
template <bool kCanonicalNaN>
void write_stream(const Value& root, std::string& out) {
  // A work item is either a value to serialise or a Hash key to write (key + 0xFF).
  struct Item {
    const Value* v;
    const std::string* key;
  };
  std::vector<Item> work{{&root, nullptr}};
  while (!work.empty()) {
    Item it = work.back();
    work.pop_back();
    if (it.key != nullptr) {
      out += *it.key;
      out += '\xff';
      continue;
    }
    const Value& v = *it.v;
    append_le(out, static_cast<uint64_t>(v.kind()), 8);
    switch (v.kind()) {
      case ValueKind::Undef: break;
      case ValueKind::Bool: out += v.as_bool() ? '\x01' : '\x00'; break;
      case ValueKind::Int: append_le(out, static_cast<uint64_t>(v.as_int()), 8); break;
      case ValueKind::Float: {
        double f = v.as_float();
        if (kCanonicalNaN && std::isnan(f)) f = std::numeric_limits<double>::quiet_NaN();
        append_le(out, std::bit_cast<uint64_t>(f), 8);
        break;
      }
      case ValueKind::Str:
        out += v.as_str();
        out += '\xff';
        break;
      case ValueKind::Array: {
        const ValueArray& a = v.as_array();
        append_le(out, a.size(), 8);
        for (size_t i = a.size(); i-- > 0;) work.push_back({&a[i], nullptr});
        break;
      }
      case ValueKind::Hash: {
        const HashMap& m = v.as_hash();
        append_le(out, m.size(), 8);
        auto sorted = sorted_entries(m);
        for (size_t i = sorted.size(); i-- > 0;) {
          work.push_back({&sorted[i]->second, nullptr});
          work.push_back({nullptr, &sorted[i]->first});
        }
        break;
      }
      case ValueKind::Status:
        append_le(out, static_cast<uint32_t>(v.as_status()), 4);
        break;
      case ValueKind::Ref: work.push_back({&v.as_ref(), nullptr}); break;
      case ValueKind::NativeFn: append_le(out, v.as_native_fn(), 2); break;
    }
  }
}

// Structural equality (kIdentical = false: spec/values.md §8.1, IEEE floats) or bitwise
// identity (kIdentical = true: floats by bits, any NaN equal to any NaN).
template <bool kIdentical>
bool equal_walk(const Value& a0, const Value& b0) {
  std::vector<std::pair<const Value*, const Value*>> work{{&a0, &b0}};
  while (!work.empty()) {
    auto [a, b] = work.back();
    work.pop_back();
    if (a->kind() != b->kind()) return false;
    switch (a->kind()) {
      case ValueKind::Undef: break;
      case ValueKind::Bool:
        if (a->as_bool() != b->as_bool()) return false;
        break;
      case ValueKind::Int:
        if (a->as_int() != b->as_int()) return false;
        break;
      case ValueKind::Float: {
        double x = a->as_float(), y = b->as_float();
        if constexpr (kIdentical) {
          bool same = std::isnan(x) ? std::isnan(y)
                                    : std::bit_cast<uint64_t>(x) == std::bit_cast<uint64_t>(y);
          if (!same) return false;
        } else {
          if (!(x == y)) return false;
        }
        break;
      }
      case ValueKind::Str:
        if (a->raw_bits() != b->raw_bits() && a->as_str() != b->as_str()) return false;
        break;
      case ValueKind::Array: {
        // A shared payload is identical to itself, but may hold a NaN that == rejects.
        if (kIdentical && a->raw_bits() == b->raw_bits()) break;
        const ValueArray& x = a->as_array();
        const ValueArray& y = b->as_array();
        if (x.size() != y.size()) return false;
        for (size_t i = 0; i < x.size(); ++i) work.emplace_back(&x[i], &y[i]);
        break;
      }
      case ValueKind::Hash: {
        if (kIdentical && a->raw_bits() == b->raw_bits()) break;
        const HashMap& x = a->as_hash();
        const HashMap& y = b->as_hash();
        if (x.size() != y.size()) return false;
        for (const auto& e : x) {
          const Value* other = y.find(e.first);
          if (other == nullptr) return false;
          work.emplace_back(&e.second, other);
        }
        break;
      }
      case ValueKind::Status:
        if (a->as_status() != b->as_status()) return false;
        break;
      case ValueKind::Ref:
        if (kIdentical && a->raw_bits() == b->raw_bits()) break;
        work.emplace_back(&a->as_ref(), &b->as_ref());
        break;
      case ValueKind::NativeFn:
        if (a->as_native_fn() != b->as_native_fn()) return false;
        break;
    }
  }
  return true;
}

uint64_t mix64(uint64_t x) {
  // splitmix64 finaliser: spreads payload bits over the whole hash.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

// -- Kind names ---------------------------------------------------------------------

std::string_view kind_name(ValueKind k) {
  switch (k) {
    case ValueKind::Undef: return "Undef";
    case ValueKind::Bool: return "Bool";
    case ValueKind::Int: return "Int";
    case ValueKind::Float: return "Float";
    case ValueKind::Str: return "Str";
    case ValueKind::Array: return "Array";
    case ValueKind::Hash: return "Hash";
    case ValueKind::Status: return "Status";
    case ValueKind::Ref: return "Ref";
    case ValueKind::NativeFn: return "NativeFn";
  }
  return "Unknown";
}

int64_t heap_bytes_live() { return t_live_bytes; }

// -- Heap constructors and lifetime ----------------------------------------------------

Value Value::Str(std::string s) {
  auto* o = new StrObj;
  o->s = std::move(s);
  return Value(kTagStr, track(o, kTagStr));
}

Value Value::Array(ValueArray elements) {
  auto* o = new ArrayObj;
  o->v = std::move(elements);
  return Value(kTagArray, track(o, kTagArray));
}

Value Value::Hash(HashMap map) {
  auto* o = new HashObj;
  o->m = std::move(map);
  return Value(kTagHash, track(o, kTagHash));
}

Value Value::Ref(Value boxed) {
  auto* o = new RefObj;
  o->v = std::move(boxed);
  return Value(kTagRef, track(o, kTagRef));
}

void Value::destroy_heap() {
  if (t_pending_frees != nullptr && tag_ != kTagStr) {
    t_pending_frees->emplace_back(tag_, obj_);  // the outer destroy_heap frees it
    return;
  }
  if (tag_ == kTagStr) {  // no children: free at once
    free_payload(tag_, obj_);
    return;
  }
  std::vector<std::pair<uint8_t, HeapObj*>> pending;  // allocates only for nesting
  t_pending_frees = &pending;
  free_payload(tag_, obj_);
  while (!pending.empty()) {
    auto [tag, obj] = pending.back();
    pending.pop_back();
    free_payload(tag, obj);  // may append the payload's nested containers to `pending`
  }
  t_pending_frees = nullptr;
}

// -- Copy-on-write access -------------------------------------------------------------

std::string& Value::str_mut() {
  auto* o = static_cast<StrObj*>(obj_);
  if (o->refs > 1) {
    auto* c = new StrObj;
    c->s = o->s;
    --o->refs;
    obj_ = track(c, kTagStr);
    o = c;
  }
  return o->s;
}

ValueArray& Value::array_mut() {
  auto* o = static_cast<ArrayObj*>(obj_);
  if (o->refs > 1) {
    auto* c = new ArrayObj;
    c->v = o->v;  // element payloads are shared, and copied on their own first write
    --o->refs;
    obj_ = track(c, kTagArray);
    o = c;
  }
  return o->v;
}

HashMap& Value::hash_mut() {
  auto* o = static_cast<HashObj*>(obj_);
  if (o->refs > 1) {
    auto* c = new HashObj;
    c->m = o->m;
    --o->refs;
    obj_ = track(c, kTagHash);
    o = c;
  }
  return o->m;
}

Value& Value::ref_mut() {
  auto* o = static_cast<RefObj*>(obj_);
  if (o->refs > 1) {
    auto* c = new RefObj;
    c->v = o->v;
    --o->refs;
    obj_ = track(c, kTagRef);
    o = c;
  }
  return o->v;
}

void Value::refresh_accounting() {
  if (!is_heap()) return;
  uint32_t now = measure(tag_, obj_);
  t_live_bytes += static_cast<int64_t>(now) - static_cast<int64_t>(obj_->bytes);
  obj_->bytes = now;
}

// -- Coercion slow paths ------------------------------------------------------------------

bool Value::truthy_slow() const {
  switch (tag_) {
    case kTagStr: {
      const std::string& s = as_str();
      return !s.empty() && s != "0";
    }
    case kTagArray: return !as_array().empty();
    case kTagHash: return !as_hash().empty();
    case kTagRef: case kTagNativeFn: return true;
    case kTagUndef: return false;
    case kTagBool: case kTagInt: return i_ != 0;
    case kTagFloat: return f_ != 0.0 || std::isnan(f_);
    case kTagStatus: return as_status() == 0;
  }
  return false;
}

int64_t Value::to_int_slow() const {
  switch (tag_) {
    case kTagInt: return i_;
    case kTagFloat: {
      // Truncate toward zero, saturating like Rust's `as i64` (NaN -> 0).
      if (std::isnan(f_)) return 0;
      if (f_ >= 9223372036854775808.0) return INT64_MAX;
      if (f_ < -9223372036854775808.0) return INT64_MIN;
      return static_cast<int64_t>(f_);
    }
    case kTagBool: return i_ != 0 ? 1 : 0;
    case kTagStr: return parse_int(as_str()).value_or(0);
    case kTagStatus: return as_status();
    case kTagArray: return static_cast<int64_t>(as_array().size());
    default: return 0;  // Undef, Hash (even non-empty), Ref, NativeFn
  }
}

double Value::to_float_slow() const {
  switch (tag_) {
    case kTagFloat: return f_;
    case kTagInt: return static_cast<double>(i_);
    case kTagBool: return i_ != 0 ? 1.0 : 0.0;
    case kTagStr: return parse_float(as_str()).value_or(0.0);
    case kTagStatus: return as_status();
    default: return 0.0;  // Undef, Array (a reference quirk: to_int gives its length), Hash,
                          // Ref, NativeFn
  }
}

namespace {
thread_local size_t t_string_limit = SIZE_MAX;
}  // namespace

StringLimit::StringLimit(size_t max) : saved_(t_string_limit) { t_string_limit = max; }
StringLimit::~StringLimit() { t_string_limit = saved_; }

std::string Value::to_str() const {
  if (tag_ == kTagStr) return as_str();
  std::string out;
  append_str(out);
  return out;
}

void Value::append_str(std::string& out) const {
  switch (tag_) {
    case kTagStr: out += as_str(); return;
    case kTagInt: append_int(out, i_); return;
    case kTagFloat: append_float(out, f_); return;
    case kTagBool:
      if (i_ != 0) out += '1';
      return;
    case kTagUndef: return;
    case kTagStatus: append_int(out, as_status()); return;
    case kTagHash: out += "(hash)"; return;
    case kTagRef: out += "(ref)"; return;
    case kTagNativeFn:
      out += "(builtin:";
      append_int(out, as_native_fn());
      out += ')';
      return;
    case kTagArray: break;
    default: return;
  }
  // Arrays join their elements' strings with single spaces, flattening nested arrays
  // textually; every level inserts its own separators ([1,[],2] gives "1  2").
  struct Level {
    const Value* begin;
    const Value* it;
    const Value* end;
  };
  const ValueArray& top = as_array();
  Level cur{top.data(), top.data(), top.data() + top.size()};
  std::vector<Level> outer;
  for (;;) {
    if (cur.it == cur.end) {
      if (outer.empty()) return;
      cur = outer.back();
      outer.pop_back();
      continue;
    }
    const Value& v = *cur.it;
    if (cur.it != cur.begin) out += ' ';
    ++cur.it;
    if (v.is_array()) {
      outer.push_back(cur);
      const ValueArray& a = v.as_array();
      cur = {a.data(), a.data(), a.data() + a.size()};
    } else {
      v.append_str(out);
    }
    // Checked as the text grows: each step adds one element's text (a bounded Str or a
    // number) or a space, so the text never gets far past the limit.
    if (out.size() > t_string_limit) [[unlikely]] throw StringLimitExceeded(t_string_limit);
  }
}

size_t Value::len() const {
  switch (tag_) {
    case kTagStr: return as_str().size();
    case kTagArray: return as_array().size();
    case kTagHash: return as_hash().size();
    case kTagUndef: return 0;
    case kTagBool: return i_ != 0 ? 1 : 0;
    default: {
      std::string s;
      append_str(s);
      return s.size();
    }
  }
}

// -- repr ----------------------------------------------------------------------------------

std::string Value::repr() const {
  // Work items: a value to render, or literal text (closing brackets, separators, keys).
  struct Item {
    const Value* v;
    std::string_view text;
    bool quoted;  // text is a Hash key to print escaped
  };
  std::string out;
  std::vector<Item> work{{this, {}, false}};
  while (!work.empty()) {
    // As in append_str: arrays and hashes sharing elements can render to exponential text.
    if (out.size() > t_string_limit) [[unlikely]] throw StringLimitExceeded(t_string_limit);
    Item it = work.back();
    work.pop_back();
    if (it.v == nullptr) {
      if (it.quoted) {
        append_quoted(out, it.text);
      } else {
        out += it.text;
      }
      continue;
    }
    const Value& v = *it.v;
    switch (v.kind()) {
      case ValueKind::Undef: out += "Undef"; break;
      case ValueKind::Bool: out += v.as_bool() ? "Bool(true)" : "Bool(false)"; break;
      case ValueKind::Int:
        out += "Int(";
        append_int(out, v.as_int());
        out += ')';
        break;
      case ValueKind::Float: {
        out += "Float(";
        size_t start = out.size();
        append_float(out, v.as_float());
        // Show a float as a float: 2.0 prints as "2" in to_str but as Float(2.0) here.
        double f = v.as_float();
        if (std::isfinite(f) && out.find('.', start) == std::string::npos) out += ".0";
        out += ')';
        break;
      }
      case ValueKind::Str:
        out += "Str(";
        append_quoted(out, v.as_str());
        out += ')';
        break;
      case ValueKind::Status:
        out += "Status(";
        append_int(out, v.as_status());
        out += ')';
        break;
      case ValueKind::NativeFn:
        out += "NativeFn(";
        append_int(out, v.as_native_fn());
        out += ')';
        break;
      case ValueKind::Ref:
        out += "Ref(";
        work.push_back({nullptr, ")", false});
        work.push_back({&v.as_ref(), {}, false});
        break;
      case ValueKind::Array: {
        out += "Array[";
        work.push_back({nullptr, "]", false});
        const ValueArray& a = v.as_array();
        for (size_t i = a.size(); i-- > 0;) {
          work.push_back({&a[i], {}, false});
          if (i != 0) work.push_back({nullptr, ", ", false});
        }
        break;
      }
      case ValueKind::Hash: {
        out += "Hash{";
        work.push_back({nullptr, "}", false});
        const auto& entries = v.as_hash().entries();
        for (size_t i = entries.size(); i-- > 0;) {
          work.push_back({&entries[i].second, {}, false});
          work.push_back({nullptr, ": ", false});
          work.push_back({nullptr, entries[i].first, true});
          if (i != 0) work.push_back({nullptr, ", ", false});
        }
        break;
      }
    }
  }
  return out;
}

// -- deep_copy -----------------------------------------------------------------------------

Value Value::deep_copy() const {
  // Containers are created at their final size and then filled through stable pointers
  // into them, so no payload of the result is shared with this value.
  Value result;
  std::vector<std::pair<const Value*, Value*>> work{{this, &result}};
  while (!work.empty()) {
    auto [src, dst] = work.back();
    work.pop_back();
    switch (src->kind()) {
      case ValueKind::Str: *dst = Value::Str(std::string(src->as_str())); break;
      case ValueKind::Array: {
        const ValueArray& a = src->as_array();
        *dst = Value::Array(ValueArray(a.size()));
        Value* out = dst->array_mut().data();
        for (size_t i = 0; i < a.size(); ++i) work.emplace_back(&a[i], out + i);
        break;
      }
      case ValueKind::Hash: {
        const HashMap& m = src->as_hash();
        HashMap fresh;
        for (const auto& e : m) fresh.insert_or_assign(e.first, Value());
        *dst = Value::Hash(std::move(fresh));
        HashMap& out = dst->hash_mut();
        for (const auto& e : m) work.emplace_back(&e.second, out.find(e.first));
        break;
      }
      case ValueKind::Ref:
        *dst = Value::Ref(Value());
        work.emplace_back(&src->as_ref(), &dst->ref_mut());
        break;
      default: *dst = *src; break;  // scalars own no payload
    }
  }
  return result;
}

// -- Equality and hashing -------------------------------------------------------------------

bool operator==(const Value& a, const Value& b) { return equal_walk<false>(a, b); }

bool identical(const Value& a, const Value& b) { return equal_walk<true>(a, b); }

void Value::hash_bytes(std::string& out) const { write_stream<false>(*this, out); }

size_t Value::hash() const {
  switch (tag_) {
    case kTagUndef: return mix64(kTagUndef);
    case kTagBool: return mix64((uint64_t{kTagBool} << 56) ^ (i_ != 0 ? 1 : 0));
    case kTagInt: return mix64(static_cast<uint64_t>(i_) ^ mix64(kTagInt));
    case kTagFloat: {
      double f = std::isnan(f_) ? std::numeric_limits<double>::quiet_NaN() : f_;
      return mix64(std::bit_cast<uint64_t>(f) ^ mix64(kTagFloat));
    }
    case kTagStatus:
      return mix64(static_cast<uint64_t>(static_cast<uint32_t>(as_status())) ^ mix64(kTagStatus));
    case kTagNativeFn: return mix64(uint64_t{as_native_fn()} ^ mix64(kTagNativeFn));
    case kTagStr: return mix64(std::hash<std::string_view>{}(as_str()) ^ mix64(kTagStr));
    default: {
      std::string stream;
      write_stream<true>(*this, stream);
      return std::hash<std::string_view>{}(stream);
    }
  }
}

}  // namespace fusevm
