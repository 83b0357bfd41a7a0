// chunk_from_reference_json: the Rust fusevm's serde JSON form of a Chunk
// (spec/chunk-and-vm.md §1.2), read into a verified Chunk with op_hash recomputed.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "asm/json_tree.hpp"
#include "core/verify_located.hpp"
#include "fusevm/asm.hpp"

namespace fusevm {

namespace {

using json_tree::Node;

// JSON nesting the reader accepts: each sub-chunk level costs two JSON levels (the
// sub_chunks array and the chunk object) and so does each constant level (the tag
// object and its array or object), plus a few for the fields in between.
constexpr size_t kMaxJsonDepth = 4 * kMaxNesting + 16;

struct JsonError {
  uint32_t line;
  std::string message;
};

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

// `root` names the constant (constants[3]) for the nesting error, whose full path would
// repeat a component 64 times.
Value read_value(const Node& n, const std::string& path, size_t depth, const std::string& root) {
  auto [tag, payload] = variant(n, path, "a value");
  if (!payload) {
    if (tag == "Undef") return Value();
    fail(n, path, "unknown value " + quoted(tag) + " (only Undef is written as a bare string)");
  }
  const Node& p = *payload;
  std::string where = path + " (" + std::string(tag) + ")";
  auto enter = [&] {
    if (depth >= kMaxNesting) fail(n, root, "constant nested deeper than " + std::to_string(kMaxNesting));
  };
  if (tag == "Bool") {
    if (p.kind != Node::Kind::Bool) fail(p, where, "expected true or false, got " + std::string(p.describe()));
    return Value::Bool(p.boolean);
  }
  if (tag == "Int") {
    return Value::Int(signed_in(p, where, std::numeric_limits<int64_t>::min(),
                                std::numeric_limits<int64_t>::max(), "i64"));
  }
  if (tag == "Float") return Value::Float(float_of(p, where));
  if (tag == "Str") return Value::Str(string_of(p, where));
  if (tag == "Status") {
    return Value::Status(static_cast<int32_t>(signed_in(p, where, std::numeric_limits<int32_t>::min(),
                                                        std::numeric_limits<int32_t>::max(), "i32")));
  }
  if (tag == "NativeFn") return Value::NativeFn(static_cast<uint16_t>(unsigned_in(p, where, 0xffff, "u16")));
  if (tag == "Array") {
    enter();
    ValueArray items;
    const std::vector<Node>& elems = array_of(p, where);
    items.reserve(elems.size());
    for (size_t i = 0; i < elems.size(); ++i) items.push_back(read_value(elems[i], at(where, i), depth + 1, root));
    return Value::Array(std::move(items));
  }
  if (tag == "Hash") {
    enter();
    if (p.kind != Node::Kind::Object) fail(p, where, "expected an object, got " + std::string(p.describe()));
    HashMap map;
    for (size_t i = 0; i < p.items.size(); ++i) {
      std::string key_path = where + "[" + quoted(p.keys[i]) + "]";
      if (map.contains(p.keys[i])) fail(p.items[i], key_path, "duplicate key");
      map.insert_or_assign(p.keys[i], read_value(p.items[i], key_path, depth + 1, root));
    }
    return Value::Hash(std::move(map));
  }
  if (tag == "Ref") {
    enter();
    return Value::Ref(read_value(p, where, depth + 1, root));
  }
  fail(n, path, "unknown value kind " + quoted(tag));
}

// A pair written by serde as a 2-element array.
std::pair<uint64_t, uint64_t> read_pair(const Node& n, const std::string& path, uint64_t first_max,
                                        std::string_view first_type) {
  const std::vector<Node>& items = array_of(n, path);
  if (items.size() != 2) fail(n, path, "expected a pair [a, b], got " + std::to_string(items.size()) + " elements");
  return {unsigned_in(items[0], path + "[0]", first_max, first_type),
          unsigned_in(items[1], path + "[1]", std::numeric_limits<uint64_t>::max(), "usize")};
}

// `where` collects the JSON line of every op, sub entry and block range, so the verifier
// points into the JSON file rather than at the frontend's own source lines.
Chunk read_chunk(const Node& n, const std::string& path, size_t depth, ChunkLocations& where) {
  if (depth > kMaxNesting) fail(n, "sub_chunks", "sub-chunks nested deeper than " + std::to_string(kMaxNesting));
  if (n.kind != Node::Kind::Object) {
    fail(n, path.empty() ? "chunk" : path, "expected a chunk object, got " + std::string(n.describe()));
  }
  where.chunk = n.line;
  Chunk c;
  bool has_ops = false;
  std::string base = path.empty() ? "" : path + ".";
  for (size_t f = 0; f < n.keys.size(); ++f) {
    const std::string& key = n.keys[f];
    const Node& v = n.items[f];
    std::string field = base + key;
    for (size_t g = 0; g < f; ++g) {
      if (n.keys[g] == key) fail(v, field, "duplicate field");
    }
    if (key == "ops") {
      has_ops = true;
      const std::vector<Node>& ops = array_of(v, field);
      c.ops.reserve(ops.size());
      for (size_t i = 0; i < ops.size(); ++i) {
        c.ops.push_back(read_op(ops[i], at(field, i)));
        where.ops.push_back(ops[i].line);
      }
    } else if (key == "constants") {
      const std::vector<Node>& items = array_of(v, field);
      for (size_t i = 0; i < items.size(); ++i) c.constants.push_back(read_value(items[i], at(field, i), 0, at(field, i)));
    } else if (key == "names") {
      const std::vector<Node>& items = array_of(v, field);
      for (size_t i = 0; i < items.size(); ++i) c.names.push_back(string_of(items[i], at(field, i)));
    } else if (key == "lines") {
      where.lines_field = v.line;
      const std::vector<Node>& items = array_of(v, field);
      for (size_t i = 0; i < items.size(); ++i) {
        c.lines.push_back(static_cast<uint32_t>(unsigned_in(items[i], at(field, i), 0xffffffff, "u32")));
      }
    } else if (key == "sub_entries") {
      const std::vector<Node>& items = array_of(v, field);
      for (size_t i = 0; i < items.size(); ++i) {
        auto [name, ip] = read_pair(items[i], at(field, i), 0xffff, "u16");
        where.sub_entries.push_back(items[i].line);
        c.sub_entries.emplace_back(static_cast<uint16_t>(name), ip);
      }
    } else if (key == "block_ranges") {
      const std::vector<Node>& items = array_of(v, field);
      for (size_t i = 0; i < items.size(); ++i) {
        c.block_ranges.push_back(read_pair(items[i], at(field, i), std::numeric_limits<uint64_t>::max(), "usize"));
        where.block_ranges.push_back(items[i].line);
      }
    } else if (key == "sub_chunks") {
      const std::vector<Node>& items = array_of(v, field);
      for (size_t i = 0; i < items.size(); ++i) {
        where.subs.emplace_back();
        c.sub_chunks.push_back(read_chunk(items[i], at(field, i), depth + 1, where.subs.back()));
      }
    } else if (key == "source") {
      c.source = string_of(v, field);
    } else if (key == "op_hash") {
      // Not part of the reference's form; accepted from other writers and recomputed.
    } else {
      fail(v, field, "unknown chunk field " + quoted(key) +
                         " (expected ops, constants, names, lines, sub_entries, block_ranges, sub_chunks, source)");
    }
  }
  if (!has_ops) fail(n, path.empty() ? "chunk" : path, "missing field \"ops\"");
  if (c.constants.size() > 65536 || c.names.size() > 65536) {
    fail(n, path.empty() ? "chunk" : path, "a pool holds more than 65,536 entries");
  }
  return c;
}

void hash_all(Chunk& c) {
  c.op_hash = c.compute_op_hash();
  for (Chunk& s : c.sub_chunks) hash_all(s);
}

}  // namespace

LoadResult chunk_from_reference_json(std::string_view text, std::string_view file) {
  LoadResult result;
  std::string name(file);
  json_tree::ParseResult parsed = json_tree::parse(text, kMaxJsonDepth);
  if (!parsed.ok) {
    result.diagnostics.push_back(Diagnostic{name, parsed.line, parsed.message});
    return result;
  }
  try {
    ChunkLocations where;
    Chunk chunk = read_chunk(parsed.root, "", 0, where);
    result.diagnostics = verify_located(chunk, name, where);
    if (!result.diagnostics.empty()) return result;
    hash_all(chunk);
    result.chunk = std::move(chunk);
  } catch (const JsonError& e) {
    result.diagnostics.push_back(Diagnostic{name, e.line, e.message});
  }
  return result;
}

}  // namespace fusevm
