// SlotKind (trace_metadata.hpp) from a value's kind.
#include "fusevm/trace_metadata.hpp"

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

}  // namespace fusevm
