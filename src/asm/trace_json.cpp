// The trace metadata file format (asm.hpp trace_metadata_to_json / _from_json).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "asm/json_fields.hpp"
#include "fusevm/asm.hpp"

namespace fusevm {

namespace {

using Json = nlohmann::ordered_json;
using namespace json_fields;  // NOLINT: the format is made of them

constexpr const char* kFormat = "fusevm-traces";
constexpr uint64_t kVersion = 1;
// The hash TraceMetadata::chunk_op_hash holds (Chunk::compute_op_hash): a file written
// under another scheme is refused instead of matching nothing (the reference's quirk Q13).
constexpr const char* kHashScheme = "siphash-1-3";
// Nesting the format needs: the file, traces, a trace, side paths, a path, ops, an op's
// operand list.
constexpr size_t kMaxDepth = 16;

// Kinds a file may name (slot_kind_name gives each its name).
constexpr size_t kNumKinds = static_cast<size_t>(SlotKind::Other) + 1;

Json ops_json(const std::vector<Op>& ops) {
  Json out = Json::array();
  for (const Op& op : ops) {
    out.push_back(op_json(op, [](double d) { return std::isfinite(d) ? Json(d) : Json(nullptr); }));
  }
  return out;
}

Json joins_json(const std::vector<TraceJoin>& joins) {
  Json out = Json::array();
  for (const TraceJoin& j : joins) out.push_back(Json::array({j.at, j.path, j.pos}));
  return out;
}

// Call-outs as [at, len, ["Kind", ...]].
Json call_outs_json(const std::vector<TraceCallOut>& call_outs) {
  Json out = Json::array();
  for (const TraceCallOut& c : call_outs) {
    Json kinds = Json::array();
    for (SlotKind k : c.stack) kinds.push_back(slot_kind_name(k));
    out.push_back(Json::array({c.at, c.len, std::move(kinds)}));
  }
  return out;
}

// Reads the fields of object `n` through `field(key, value, path)`, which returns false
// for a key it does not know; every key in `required` must be there.
template <typename Field>
void read_object(const Node& n, const std::string& path, std::initializer_list<const char*> required, Field field) {
  // The file's own fields are named bare ("traces[0].ops"), errors about it "file".
  const std::string self = path.empty() ? "file" : path;
  if (n.kind != Node::Kind::Object) fail(n, self, "expected an object, got " + std::string(n.describe()));
  for (size_t f = 0; f < n.keys.size(); ++f) {
    const std::string where = path.empty() ? n.keys[f] : path + "." + n.keys[f];
    for (size_t g = 0; g < f; ++g) {
      if (n.keys[g] == n.keys[f]) fail(n.items[f], where, "duplicate field");
    }
    if (!field(n.keys[f], n.items[f], where)) fail(n.items[f], self, "unknown field " + json_fields::quoted(n.keys[f]));
  }
  for (const char* key : required) {
    bool found = false;
    for (const std::string& k : n.keys) found = found || k == key;
    if (!found) fail(n, self, "missing field " + json_fields::quoted(key));
  }
}

constexpr uint64_t kMaxSize = std::numeric_limits<uint64_t>::max();

std::vector<Op> read_ops(const Node& n, const std::string& path) {
  std::vector<Op> out;
  const std::vector<Node>& items = array_of(n, path);
  for (size_t i = 0; i < items.size(); ++i) out.push_back(read_op(items[i], at(path, i)));
  return out;
}

std::vector<size_t> read_ips(const Node& n, const std::string& path) {
  std::vector<size_t> out;
  const std::vector<Node>& items = array_of(n, path);
  for (size_t i = 0; i < items.size(); ++i) out.push_back(unsigned_in(items[i], at(path, i), kMaxSize, "usize"));
  return out;
}

SlotKind read_kind(const Node& n, const std::string& path) {
  const std::string& name = string_of(n, path);
  for (size_t k = 0; k < kNumKinds; ++k) {
    if (name == slot_kind_name(static_cast<SlotKind>(k))) return static_cast<SlotKind>(k);
  }
  fail(n, path, "unknown slot kind " + json_fields::quoted(name) + " (Int, Float, Bool, Undef, Str, Array, Hash or Other)");
}

std::vector<SlotKind> read_kinds(const Node& n, const std::string& path) {
  std::vector<SlotKind> out;
  const std::vector<Node>& items = array_of(n, path);
  for (size_t i = 0; i < items.size(); ++i) out.push_back(read_kind(items[i], at(path, i)));
  return out;
}

std::vector<TraceCallOut> read_call_outs(const Node& n, const std::string& path) {
  std::vector<TraceCallOut> out;
  const std::vector<Node>& items = array_of(n, path);
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string where = at(path, i);
    const std::vector<Node>& c = array_of(items[i], where);
    if (c.size() != 3) fail(items[i], where, "expected [at, len, kinds], got " + std::to_string(c.size()) + " elements");
    out.push_back(TraceCallOut{unsigned_in(c[0], where + "[0]", kMaxSize, "usize"),
                               unsigned_in(c[1], where + "[1]", kMaxSize, "usize"), read_kinds(c[2], where + "[2]")});
  }
  return out;
}

std::vector<TraceJoin> read_joins(const Node& n, const std::string& path) {
  std::vector<TraceJoin> out;
  const std::vector<Node>& items = array_of(n, path);
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string where = at(path, i);
    const std::vector<Node>& j = array_of(items[i], where);
    if (j.size() != 3) fail(items[i], where, "expected [at, path, pos], got " + std::to_string(j.size()) + " elements");
    out.push_back(TraceJoin{unsigned_in(j[0], where + "[0]", kMaxSize, "usize"),
                            static_cast<int32_t>(unsigned_in(j[1], where + "[1]", 0x7fffffff, "i32")),
                            unsigned_in(j[2], where + "[2]", kMaxSize, "usize")});
  }
  return out;
}

TraceSidePath read_side_path(const Node& n, const std::string& path) {
  TraceSidePath p;
  read_object(n, path, {"parent", "parent_pos", "ops", "recorded_ips"}, [&](const std::string& key, const Node& v,
                                                                           const std::string& where) {
    if (key == "parent") {
      p.parent = static_cast<int32_t>(unsigned_in(v, where, 0x7fffffff, "i32"));
    } else if (key == "parent_pos") {
      p.parent_pos = unsigned_in(v, where, kMaxSize, "usize");
    } else if (key == "ops") {
      p.ops = read_ops(v, where);
    } else if (key == "recorded_ips") {
      p.recorded_ips = read_ips(v, where);
    } else if (key == "joins") {
      p.joins = read_joins(v, where);
    } else if (key == "call_outs") {
      p.call_outs = read_call_outs(v, where);
    } else {
      return false;
    }
    return true;
  });
  return p;
}

TraceMetadata read_trace(const Node& n, const std::string& path) {
  TraceMetadata m;
  read_object(n, path, {"chunk_op_hash", "anchor_ip", "fallthrough_ip", "ops", "recorded_ips", "slot_kinds_at_anchor"},
              [&](const std::string& key, const Node& v, const std::string& where) {
                if (key == "chunk_op_hash") {
                  m.chunk_op_hash = unsigned_in(v, where, kMaxSize, "u64");
                } else if (key == "anchor_ip") {
                  m.anchor_ip = unsigned_in(v, where, kMaxSize, "usize");
                } else if (key == "fallthrough_ip") {
                  m.fallthrough_ip = unsigned_in(v, where, kMaxSize, "usize");
                } else if (key == "ops") {
                  m.ops = read_ops(v, where);
                } else if (key == "recorded_ips") {
                  m.recorded_ips = read_ips(v, where);
                } else if (key == "slot_kinds_at_anchor") {
                  m.slot_kinds_at_anchor = read_kinds(v, where);
                } else if (key == "joins") {
                  m.joins = read_joins(v, where);
                } else if (key == "call_outs") {
                  m.call_outs = read_call_outs(v, where);
                } else if (key == "side_paths") {
                  const std::vector<Node>& items = array_of(v, where);
                  for (size_t i = 0; i < items.size(); ++i) m.side_paths.push_back(read_side_path(items[i], at(where, i)));
                } else {
                  return false;
                }
                return true;
              });
  return m;
}

}  // namespace

std::string TraceMetadataLoad::message() const { return diagnostics_text(diagnostics); }

std::string trace_metadata_to_json(std::span<const TraceMetadata> traces) {
  // One trace field per line, so files diff well.
  std::string out = std::string("{\n  \"format\": \"") + kFormat + "\",\n  \"version\": " + std::to_string(kVersion) +
                    ",\n  \"op_hash\": \"" + kHashScheme + "\",\n  \"traces\": [";
  for (size_t t = 0; t < traces.size(); ++t) {
    const TraceMetadata& m = traces[t];
    Json kinds = Json::array();
    for (SlotKind k : m.slot_kinds_at_anchor) kinds.push_back(slot_kind_name(k));
    Json side = Json::array();
    for (const TraceSidePath& p : m.side_paths) {
      Json j = Json::object();
      j["parent"] = p.parent;
      j["parent_pos"] = p.parent_pos;
      j["ops"] = ops_json(p.ops);
      j["recorded_ips"] = p.recorded_ips;
      j["joins"] = joins_json(p.joins);
      if (!p.call_outs.empty()) j["call_outs"] = call_outs_json(p.call_outs);
      side.push_back(std::move(j));
    }
    const std::pair<const char*, Json> fields[] = {
        {"chunk_op_hash", m.chunk_op_hash},  {"anchor_ip", m.anchor_ip},
        {"fallthrough_ip", m.fallthrough_ip}, {"ops", ops_json(m.ops)},
        {"recorded_ips", m.recorded_ips},    {"slot_kinds_at_anchor", std::move(kinds)},
        {"joins", joins_json(m.joins)},      {"side_paths", std::move(side)},
    };
    out += t == 0 ? "\n    {" : ",\n    {";
    for (size_t f = 0; f < std::size(fields); ++f) {
      out += (f == 0 ? "\n      \"" : ",\n      \"") + std::string(fields[f].first) + "\": " + fields[f].second.dump();
    }
    // Only traces with call-outs have the field, so files of traces without them read
    // as before.
    if (!m.call_outs.empty()) out += ",\n      \"call_outs\": " + call_outs_json(m.call_outs).dump();
    out += "\n    }";
  }
  out += traces.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

TraceMetadataLoad trace_metadata_from_json(std::string_view text, std::string_view file) {
  TraceMetadataLoad result;
  const std::string name(file);
  json_tree::ParseResult parsed = json_tree::parse(text, kMaxDepth);
  if (!parsed.ok) {
    result.diagnostics.push_back(Diagnostic{name, parsed.line, parsed.message});
    return result;
  }
  try {
    std::vector<TraceMetadata> traces;
    read_object(parsed.root, "", {"format", "version", "op_hash", "traces"},
                [&](const std::string& key, const Node& v, const std::string& where) {
                  if (key == "format") {
                    if (string_of(v, where) != kFormat) {
                      fail(v, where, "not a trace metadata file (expected \"" + std::string(kFormat) + "\")");
                    }
                  } else if (key == "version") {
                    const uint64_t version = unsigned_in(v, where, kMaxSize, "u32");
                    if (version != kVersion) {
                      fail(v, where, "version " + std::to_string(version) + " (this fusevm reads version " +
                                         std::to_string(kVersion) + ")");
                    }
                  } else if (key == "op_hash") {
                    if (string_of(v, where) != kHashScheme) {
                      fail(v, where, "op_hash scheme " + json_fields::quoted(v.text) + " (this fusevm uses \"" +
                                         kHashScheme + "\")");
                    }
                  } else if (key == "traces") {
                    const std::vector<Node>& items = array_of(v, where);
                    for (size_t i = 0; i < items.size(); ++i) traces.push_back(read_trace(items[i], at(where, i)));
                  } else {
                    return false;
                  }
                  return true;
                });
    result.traces = std::move(traces);
  } catch (const JsonError& e) {
    result.diagnostics.push_back(Diagnostic{name, e.line, e.message});
  }
  return result;
}

}  // namespace fusevm
