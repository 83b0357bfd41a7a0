// SlotKind (trace_metadata.hpp): from a value's kind, and its name.
#include "fusevm/trace_metadata.hpp"

#include <iterator>

namespace fusevm {

SlotKind slot_kind_of(ValueKind kind) {
  switch (kind) {
    case ValueKind::Int: return SlotKind::Int;
    case ValueKind::Float: return SlotKind::Float;
    case ValueKind::Bool: return SlotKind::Bool;
    case ValueKind::Undef: return SlotKind::Undef;
    case ValueKind::Str: return SlotKind::Str;
    case ValueKind::Array: return SlotKind::Array;
    case ValueKind::Hash: return SlotKind::Hash;
    default: return SlotKind::Other;
  }
}

const char* slot_kind_name(SlotKind kind) {
  static constexpr const char* kNames[] = {"Int", "Float", "Bool", "Undef", "Str", "Array", "Hash", "Other"};
  const auto k = static_cast<size_t>(kind);
  return k < std::size(kNames) ? kNames[k] : "?";
}

}  // namespace fusevm
