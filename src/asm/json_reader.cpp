// chunk_from_reference_json: the Rust fusevm's serde JSON form of a Chunk
// (spec/chunk-and-vm.md §1.2), read into a verified Chunk with op_hash recomputed.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "asm/json_fields.hpp"
#include "asm/json_tree.hpp"
#include "core/verify_located.hpp"
#include "fusevm/asm.hpp"

namespace fusevm {

namespace {

using json_tree::Node;
using namespace json_fields;  // NOLINT: the reader is made of them

// JSON nesting the reader accepts: each sub-chunk level costs two JSON levels (the
// sub_chunks array and the chunk object) and so does each constant level (the tag
// object and its array or object), plus a few for the fields in between.
constexpr size_t kMaxJsonDepth = 4 * kMaxNesting + 16;


// `root` names the constant (constants[3]) for the nesting error, whose full path would
// repeat a component 64 times.
Value read_value(const Node& n, const std::string& path, size_t depth, const std::string& root) {
  auto [tag, payload] = variant(n, path, "a value");
  if (!payload) {
    if (tag == "Undef") return Value();
    fail(n, path, "unknown value " + json_fields::quoted(tag) + " (only Undef is written as a bare string)");
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
      std::string key_path = where + "[" + json_fields::quoted(p.keys[i]) + "]";
      if (map.contains(p.keys[i])) fail(p.items[i], key_path, "duplicate key");
      map.insert_or_assign(p.keys[i], read_value(p.items[i], key_path, depth + 1, root));
    }
    return Value::Hash(std::move(map));
  }
  if (tag == "Ref") {
    enter();
    return Value::Ref(read_value(p, where, depth + 1, root));
  }
  fail(n, path, "unknown value kind " + json_fields::quoted(tag));
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
      fail(v, field, "unknown chunk field " + json_fields::quoted(key) +
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
