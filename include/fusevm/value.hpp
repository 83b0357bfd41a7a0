// Value: the VM's 16-byte tagged value, with reference-counted copy-on-write heap kinds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fusevm {

/// The ten value kinds, numbered as the reference's variants (hashed by op_hash).
enum class ValueKind : uint8_t {
  Undef = 0, Bool = 1, Int = 2, Float = 3, Str = 4, Array = 5, Hash = 6, Status = 7,
  Ref = 8, NativeFn = 9,
};

/// Name of a kind ("Int", "Str", ...).
std::string_view kind_name(ValueKind k);

class Value;
class HashMap;
/// An array of values (the payload of an Array value).
using ValueArray = std::vector<Value>;

namespace detail {
/// Header of every heap payload. Reference counts are NOT atomic: a Value never crosses
/// threads except through deep_copy() (ARCHITECTURE §9 "Threads").
struct HeapObj {
  uint32_t refs = 1;
  uint32_t bytes = 0;  // bytes counted in heap_bytes_live() for this payload
};
struct StrObj;
struct ArrayObj;
struct HashObj;
struct RefObj;
}  // namespace detail

/// Layout version of Value; the JIT static_asserts it so a layout change updates codegen.
inline constexpr uint32_t kValueLayoutVersion = 1;

/// Thrown by Value::to_str/append_str when an Array's text would grow past the calling
/// thread's StringLimit. Arrays that hold one array many times (a DAG: [x, x], then
/// [y, y], ...) cost little memory but flatten to exponentially long text, so the string
/// limit must hold while the text is built, not after.
struct StringLimitExceeded : std::length_error {
  explicit StringLimitExceeded(size_t max)
      : std::length_error("limit exceeded: string size (" + std::to_string(max) + ")"), limit(max) {}
  size_t limit;  ///< the limit in force
};

/// While it lives, to_str/append_str/repr on this thread build no text longer than `max`
/// bytes (the VM sets one to Limits::max_string for each run); restores the previous
/// limit when it goes. Without one there is no limit.
class StringLimit {
 public:
  explicit StringLimit(size_t max);
  ~StringLimit();
  StringLimit(const StringLimit&) = delete;
  StringLimit& operator=(const StringLimit&) = delete;

 private:
  size_t saved_;
};

/// A VM value.
///
/// Layout: an 8-byte payload (i64 / f64 / bool / i32 status / u16 id / HeapObj*) at
/// offset 0 and a one-byte tag at offset 8 (7 bytes padding). The tag is the ValueKind,
/// with bit 7 set for the heap kinds (Str, Array, Hash, Ref), so "needs refcounting" is a
/// single sign test. Heap payloads are shared on copy and copied before a write
/// (copy-on-write), which keeps the reference's value semantics with O(1) copies.
class Value {
 public:
  static constexpr uint8_t kHeapBit = 0x80;
  static constexpr uint8_t kTagUndef = 0, kTagBool = 1, kTagInt = 2, kTagFloat = 3,
                           kTagStr = 4 | kHeapBit, kTagArray = 5 | kHeapBit,
                           kTagHash = 6 | kHeapBit, kTagStatus = 7, kTagRef = 8 | kHeapBit,
                           kTagNativeFn = 9;

  /// Undef.
  Value() noexcept : bits_(0), tag_(kTagUndef) {}
  Value(const Value& o) noexcept : bits_(o.bits_), tag_(o.tag_) {
    if (is_heap()) ++obj_->refs;
  }
  Value(Value&& o) noexcept : bits_(o.bits_), tag_(o.tag_) { o.tag_ = kTagUndef; }
  // Both assignments read `o` before release(): `o` may live inside the payload being
  // released (v = v.as_array()[0]), and is destroyed with it.
  Value& operator=(const Value& o) noexcept {
    const uint64_t bits = o.bits_;
    const uint8_t tag = o.tag_;
    if (o.is_heap()) ++o.obj_->refs;
    release();
    bits_ = bits;
    tag_ = tag;
    return *this;
  }
  Value& operator=(Value&& o) noexcept {
    if (this != &o) {
      const uint64_t bits = o.bits_;
      const uint8_t tag = o.tag_;
      o.tag_ = kTagUndef;
      release();
      bits_ = bits;
      tag_ = tag;
    }
    return *this;
  }
  ~Value() { release(); }

  // -- Constructors named as the reference's variants -----------------------
  /// Undef.
  static Value Undef() { return Value(); }
  /// Bool(b).
  static Value Bool(bool b) { return Value(kTagBool, b ? 1 : 0); }
  /// Int(i).
  static Value Int(int64_t i) { return Value(kTagInt, i); }
  /// Float(f).
  static Value Float(double f) {
    Value v;
    v.f_ = f;
    v.tag_ = kTagFloat;
    return v;
  }
  /// Str(s): a byte string.
  static Value Str(std::string s);
  /// Str from a string view.
  static Value Str(std::string_view s) { return Str(std::string(s)); }
  /// Str from a C string.
  static Value Str(const char* s) { return Str(std::string(s)); }
  /// Array(elements).
  static Value Array(ValueArray elements);
  /// Array from a list.
  static Value Array(std::initializer_list<Value> elements) { return Array(ValueArray(elements)); }
  /// Hash(map): an insertion-ordered string-keyed map.
  static Value Hash(HashMap map);
  /// Status(code): a shell exit status (truthy iff 0).
  static Value Status(int32_t code) { return Value(kTagStatus, code); }
  /// Ref(v): owns a boxed copy of v.
  static Value Ref(Value boxed);
  /// NativeFn(id): an opaque builtin handle.
  static Value NativeFn(uint16_t id) { return Value(kTagNativeFn, id); }

  // -- Kind tests ------------------------------------------------------------
  /// The value's kind.
  ValueKind kind() const { return static_cast<ValueKind>(tag_ & ~kHeapBit); }
  /// The raw tag byte (kind | heap bit); used by the interpreter and the JIT.
  uint8_t tag() const { return tag_; }
  /// True for Str, Array, Hash and Ref (reference-counted payload).
  bool is_heap() const { return (tag_ & kHeapBit) != 0; }
  /// True if Undef.
  bool is_undef() const { return tag_ == kTagUndef; }
  /// True if Bool.
  bool is_bool() const { return tag_ == kTagBool; }
  /// True if Int.
  bool is_int() const { return tag_ == kTagInt; }
  /// True if Float.
  bool is_float() const { return tag_ == kTagFloat; }
  /// True if Str.
  bool is_str() const { return tag_ == kTagStr; }
  /// True if Array.
  bool is_array() const { return tag_ == kTagArray; }
  /// True if Hash.
  bool is_hash() const { return tag_ == kTagHash; }
  /// True if Status.
  bool is_status() const { return tag_ == kTagStatus; }
  /// True if Ref.
  bool is_ref() const { return tag_ == kTagRef; }
  /// True if NativeFn.
  bool is_native_fn() const { return tag_ == kTagNativeFn; }

  // -- Payload access (precondition: the matching kind) ----------------------
  /// The Bool payload.
  bool as_bool() const { return i_ != 0; }
  /// The Int payload.
  int64_t as_int() const { return i_; }
  /// The Float payload.
  double as_float() const { return f_; }
  /// The Status payload.
  int32_t as_status() const { return static_cast<int32_t>(i_); }
  /// The NativeFn payload.
  uint16_t as_native_fn() const { return static_cast<uint16_t>(i_); }
  /// The Str payload.
  const std::string& as_str() const;
  /// The Array payload.
  const ValueArray& as_array() const;
  /// The Hash payload.
  const HashMap& as_hash() const;
  /// The value boxed by a Ref.
  const Value& as_ref() const;
  /// Mutable Str payload (copies a shared payload first).
  std::string& str_mut();
  /// Mutable Array payload (copies a shared payload first).
  ValueArray& array_mut();
  /// Mutable Hash payload (copies a shared payload first).
  HashMap& hash_mut();
  /// Mutable boxed value of a Ref (copies a shared box first).
  Value& ref_mut();
  /// After mutating a payload in place, re-count its size in heap_bytes_live().
  void refresh_accounting();
  /// True if the heap payload is shared with another Value (false for non-heap kinds).
  bool is_shared() const { return is_heap() && obj_->refs > 1; }

  // -- The five coercions (spec/values.md §2–7) -------------------------------
  /// Truthiness: Undef false; numbers non-zero (NaN true); Str non-empty and not "0";
  /// collections non-empty; Status iff 0; Ref and NativeFn true.
  bool is_truthy() const {
    switch (tag_) {
      case kTagUndef: return false;
      case kTagBool: case kTagInt: return i_ != 0;
      case kTagFloat: return f_ != 0.0 || f_ != f_;
      case kTagStatus: return static_cast<int32_t>(i_) == 0;
      default: return truthy_slow();
    }
  }
  /// Integer coercion (floats truncate with saturation, Str parses strictly, Array gives
  /// its length).
  int64_t to_int() const { return tag_ == kTagInt ? i_ : to_int_slow(); }
  /// Float coercion (Array gives 0.0).
  double to_float() const {
    if (tag_ == kTagFloat) return f_;
    if (tag_ == kTagInt) return static_cast<double>(i_);
    return to_float_slow();
  }
  /// String coercion. An Array flattens to its elements' strings joined by spaces; one
  /// whose text would pass the calling thread's StringLimit throws StringLimitExceeded.
  std::string to_str() const;
  /// Appends to_str() to `out` without a temporary (the same limit on `out`'s size).
  void append_str(std::string& out) const;
  /// Length: bytes of a Str, elements of an Array or Hash, else bytes of to_str().
  size_t len() const;
  /// len() == 0.
  bool is_empty() const { return len() == 0; }

  /// Debug form used by tests and `--print-result`: Int(42), Float(2.5), Str("a\n"),
  /// Bool(true), Undef, Status(3), Array[Int(1), Str("x")], Hash{"k": Int(1)}, Ref(...),
  /// NativeFn(7).
  std::string repr() const;

  /// A copy sharing nothing with this value (safe to hand to another thread).
  Value deep_copy() const;

  /// Structural equality (spec/values.md §8.1): same kind, IEEE floats, Hash order-free.
  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

  /// Appends the value's op_hash byte stream (spec/values.md §8.4; Hash entries sorted
  /// by key bytes so the hash is deterministic).
  void hash_bytes(std::string& out) const;
  /// A hash consistent with bitwise identity (floats hashed by bits).
  size_t hash() const;

  /// Raw payload bits (for the JIT and fast paths).
  uint64_t raw_bits() const { return bits_; }

 private:
  Value(uint8_t tag, int64_t i) : i_(i), tag_(tag) {}
  explicit Value(uint8_t tag, detail::HeapObj* o) : obj_(o), tag_(tag) {}

  void release() {
    if (is_heap() && --obj_->refs == 0) destroy_heap();
  }
  void destroy_heap();
  bool truthy_slow() const;
  int64_t to_int_slow() const;
  double to_float_slow() const;

  union {
    int64_t i_;
    double f_;
    detail::HeapObj* obj_;
    uint64_t bits_;
  };
  uint8_t tag_;
};
static_assert(sizeof(Value) == 16, "Value is 16 bytes");
static_assert(alignof(Value) == 8);

/// Approximate bytes held by heap payloads (strings, arrays, hashes, refs) created on
/// this thread and still alive; the VM's `max_memory` limit reads it.
int64_t heap_bytes_live();

/// Bitwise identity for differential tests: same kind, floats by bits (any NaN equals
/// any NaN), recursively (ARCHITECTURE §9 "Equality in differential tests").
bool identical(const Value& a, const Value& b);

/// An insertion-ordered map from byte strings to Values (the payload of a Hash value).
class HashMap {
 public:
  /// One entry.
  using Entry = std::pair<std::string, Value>;

  /// Empty map.
  HashMap() = default;
  /// Map from a list of pairs (later duplicates overwrite, keeping the first position).
  HashMap(std::initializer_list<Entry> entries);

  /// Number of entries.
  size_t size() const { return entries_.size(); }
  /// True if no entries.
  bool empty() const { return entries_.empty(); }
  /// Pointer to the value of `key`, or nullptr.
  const Value* find(std::string_view key) const;
  /// Mutable pointer to the value of `key`, or nullptr.
  Value* find(std::string_view key);
  /// True if `key` is present.
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  /// Insert or overwrite; a new key goes last, an existing key keeps its position.
  void insert_or_assign(std::string key, Value v);
  /// Remove `key`; returns its value if it was present.
  std::optional<Value> erase(std::string_view key);
  /// Remove every entry.
  void clear();
  /// Entries in insertion order.
  const std::vector<Entry>& entries() const { return entries_; }
  /// Iteration in insertion order.
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  /// End of iteration.
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }
  /// Order-independent equality.
  friend bool operator==(const HashMap& a, const HashMap& b);

 private:
  void rebuild_index();
  // Small maps are searched linearly; larger ones keep an index (key -> position).
  static constexpr size_t kIndexThreshold = 8;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

namespace detail {
struct StrObj : HeapObj {
  std::string s;
};
struct ArrayObj : HeapObj {
  ValueArray v;
};
struct HashObj : HeapObj {
  HashMap m;
};
struct RefObj : HeapObj {
  Value v;
};
}  // namespace detail

inline const std::string& Value::as_str() const {
  return static_cast<const detail::StrObj*>(obj_)->s;
}
inline const ValueArray& Value::as_array() const {
  return static_cast<const detail::ArrayObj*>(obj_)->v;
}
inline const HashMap& Value::as_hash() const {
  return static_cast<const detail::HashObj*>(obj_)->m;
}
inline const Value& Value::as_ref() const { return static_cast<const detail::RefObj*>(obj_)->v; }

// -- Number formatting and parsing (spec/values.md §5.1, §6) -----------------
/// Rust-Display float formatting: shortest round-trip digits, positional, never an
/// exponent, ties to the larger magnitude; NaN, inf, -inf, -0.
std::string format_float(double f);
/// Appends format_float(f) to `out`.
void append_float(std::string& out, double f);
/// Strict whole-string integer parse (optional sign, ASCII digits, fits i64).
std::optional<int64_t> parse_int(std::string_view s);
/// Strict whole-string float parse (sign, digits, '.', exponent, inf/infinity/nan).
std::optional<double> parse_float(std::string_view s);

}  // namespace fusevm

/// std::hash for Value (bitwise identity).
template <> struct std::hash<fusevm::Value> {
  size_t operator()(const fusevm::Value& v) const { return v.hash(); }
};
