// Reading and writing the pieces the reference's serde JSON is made of (numbers checked
// against their Rust types, externally tagged enums, ops), shared by the chunk format
// (json_reader.cpp, json_writer.cpp) and the trace metadata format (trace_json.cpp).
#include "asm/json_fields.hpp"

#include <cstring>
#include <limits>

namespace fusevm::json_fields {

[[noreturn]] void fail(const Node& at, const std::string& path, const std::string& message) {
  throw JsonError{at.line, path + ": " + message};
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// A Float node whose text has no fraction or exponent was an integer literal too large
// for 64 bits (nlohmann falls back to double); say so rather than "expected an integer".
bool is_integer_literal(const Node& n) {
  return n.kind == Node::Kind::Float && n.text.find_first_of(".eE") == std::string::npos;
}

uint64_t unsigned_in(const Node& n, const std::string& path, uint64_t max, std::string_view type) {
  std::string range = " is out of range for " + std::string(type) + " (0.." + std::to_string(max) + ")";
  if (n.kind == Node::Kind::UInt && n.text.rfind('-', 0) != 0) {
    if (n.uint_value > max) fail(n, path, n.text + range);
    return n.uint_value;
  }
  // "-0" arrives as an integer 0; serde_json reads it as a float, so no unsigned takes it.
  if (n.kind == Node::Kind::Int || n.kind == Node::Kind::UInt || is_integer_literal(n)) {
    fail(n, path, n.text + range);
  }
  fail(n, path, "expected an integer (" + std::string(type) + "), got " + std::string(n.describe()));
}

int64_t signed_in(const Node& n, const std::string& path, int64_t min, int64_t max,
                  std::string_view type) {
  std::string range = " is out of range for " + std::string(type) + " (" + std::to_string(min) +
                      ".." + std::to_string(max) + ")";
  if (n.kind == Node::Kind::UInt) {
    if (n.uint_value > static_cast<uint64_t>(max)) fail(n, path, n.text + range);
    return static_cast<int64_t>(n.uint_value);
  }
  if (n.kind == Node::Kind::Int) {
    if (n.int_value < min || n.int_value > max) fail(n, path, n.text + range);
    return n.int_value;
  }
  if (is_integer_literal(n)) fail(n, path, n.text + range);
  fail(n, path, "expected an integer (" + std::string(type) + "), got " + std::string(n.describe()));
}

// serde_json writes NaN and the infinities as null (ARCHITECTURE §9: null reads as NaN).
double float_of(const Node& n, const std::string& path) {
  switch (n.kind) {
    case Node::Kind::Null: return std::numeric_limits<double>::quiet_NaN();
    // nlohmann hands "-0" over as the integer 0; serde_json reads it as -0.0.
    case Node::Kind::Int: case Node::Kind::UInt:
      if (n.text.rfind('-', 0) == 0 && n.int_value == 0 && n.uint_value == 0) return -0.0;
      return n.kind == Node::Kind::Int ? static_cast<double>(n.int_value) : static_cast<double>(n.uint_value);
    case Node::Kind::Float: return n.float_value;
    default: fail(n, path, "expected a number (f64), got " + std::string(n.describe()));
  }
}

const std::string& string_of(const Node& n, const std::string& path) {
  if (n.kind != Node::Kind::String) fail(n, path, "expected a string, got " + std::string(n.describe()));
  return n.text;
}

const std::vector<Node>& array_of(const Node& n, const std::string& path) {
  if (n.kind != Node::Kind::Array) fail(n, path, "expected an array, got " + std::string(n.describe()));
  return n.items;
}

std::string at(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// Operand k of an op: its JSON number checked against the operand's width and sign.
uint64_t operand_bits(const Node& n, const std::string& path, OperandKind kind) {
  switch (kind) {
    case OperandKind::I64:
      return static_cast<uint64_t>(signed_in(n, path, std::numeric_limits<int64_t>::min(),
                                             std::numeric_limits<int64_t>::max(), "i64"));
    case OperandKind::F64: {
      double d = float_of(n, path);
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      return bits;
    }
    case OperandKind::Limit:
      return static_cast<uint64_t>(signed_in(n, path, std::numeric_limits<int32_t>::min(),
                                             std::numeric_limits<int32_t>::max(), "i32"));
    case OperandKind::Target:
    case OperandKind::Payload:
      return unsigned_in(n, path, std::numeric_limits<uint64_t>::max(), "usize");
    default:
      if (operand_width(kind) == 1) return unsigned_in(n, path, 0xff, "u8");
      return unsigned_in(n, path, 0xffff, "u16");
  }
}

// An externally tagged enum value: "Name" for a unit variant, {"Name": payload} otherwise.
// Returns the name and the payload (nullptr for the bare-string form).
std::pair<std::string_view, const Node*> variant(const Node& n, const std::string& path,
                                                 std::string_view what) {
  if (n.kind == Node::Kind::String) return {n.text, nullptr};
  if (n.kind == Node::Kind::Object && n.items.size() == 1) return {n.keys[0], &n.items[0]};
  fail(n, path, "expected " + std::string(what) + " (\"Name\" or an object with one key), got " +
                    (n.kind == Node::Kind::Object ? "an object with " + std::to_string(n.items.size()) + " keys"
                                                  : std::string(n.describe())));
}

Op read_op(const Node& n, const std::string& path) {
  auto [name, payload] = variant(n, path, "an op");
  std::optional<OpCode> code = op_from_name(name);
  if (!code) fail(n, path, "unknown op " + quoted(name));
  const OpInfo& info = op_info(*code);
  Op op(*code);
  std::string where = path + " (" + std::string(info.name) + ")";
  if (info.num_operands == 0) {
    if (payload) fail(n, where, "takes no operands; write it as " + quoted(info.name));
    return op;
  }
  std::string shape = "{\"" + std::string(info.name) + "\": ";
  if (info.num_operands == 1) {
    if (!payload) fail(n, where, "takes 1 operand (" + std::string(info.operand_names[0]) + "); write it as " + shape + "N}");
    op.set_raw_operand(0, operand_bits(*payload, where, info.kinds[0]));
    return op;
  }
  std::string names;
  for (size_t k = 0; k < info.num_operands; ++k) names += (k ? ", " : "") + std::string(info.operand_names[k]);
  std::string expected = "takes " + std::to_string(info.num_operands) + " operands; write it as " +
                         shape + "[" + names + "]}";
  if (!payload) fail(n, where, expected);
  if (payload->kind != Node::Kind::Array) fail(*payload, where, expected + ", got " + std::string(payload->describe()));
  if (payload->items.size() != info.num_operands) {
    size_t got = payload->items.size();
    fail(*payload, where, expected + ", got " + std::to_string(got) + (got == 1 ? " operand" : " operands"));
  }
  for (size_t k = 0; k < info.num_operands; ++k) {
    std::string operand = where + " operand " + std::to_string(k + 1) + " (" + std::string(info.operand_names[k]) + ")";
    op.set_raw_operand(k, operand_bits(payload->items[k], operand, info.kinds[k]));
  }
  return op;
}

nlohmann::ordered_json op_json(const Op& o, const std::function<nlohmann::ordered_json(double)>& number) {
  const OpInfo& info = o.info();
  if (info.num_operands == 0) return nlohmann::ordered_json(info.name);
  nlohmann::ordered_json operands = nlohmann::ordered_json::array();
  for (size_t k = 0; k < info.num_operands; ++k) {
    const uint64_t raw = o.raw_operand(k);
    switch (info.kinds[k]) {
      case OperandKind::I64: case OperandKind::Limit:
        operands.push_back(static_cast<int64_t>(raw));
        break;
      case OperandKind::F64:
        operands.push_back(number(o.imm_float()));
        break;
      default:
        operands.push_back(raw);
    }
  }
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j[std::string(info.name)] = info.num_operands == 1 ? operands[0] : operands;
  return j;
}

}  // namespace fusevm::json_fields
