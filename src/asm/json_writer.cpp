// chunk_to_reference_json: a Chunk in the Rust fusevm's serde JSON form
// (spec/chunk-and-vm.md §1.2), laid out one op and one constant per line.
#include <cmath>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "asm/json_fields.hpp"
#include "fusevm/asm.hpp"

namespace fusevm {

namespace {

using Json = nlohmann::ordered_json;

// Offset of the first byte that is not part of well-formed UTF-8, or npos. JSON strings
// are Unicode text; nlohmann would throw on such a byte, and the error must name the
// constant, so the writer checks first.
size_t invalid_utf8_at(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > s.size()) return i;
    uint32_t cp = len == 1 ? b : b & (0xff >> (len + 1));
    for (size_t k = 1; k < len; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += len;
  }
  return std::string_view::npos;
}

class Writer {
 public:
  explicit Writer(const JsonWriteOptions& o) : o_(o) {}

  // `level` is the chunk's nesting in the text (two per sub-chunk), `depth` in chunks.
  std::string chunk(const Chunk& c, const std::string& path, int level, size_t depth) {
    if (depth > kMaxNesting) {
      errors.push_back(Diagnostic{o_.file, 0, path + ": sub-chunks nested deeper than " + std::to_string(kMaxNesting)});
      return "{}";
    }
    const std::string nl = o_.pretty ? "\n" : "";
    const std::string pad = o_.pretty ? std::string(2 * (level + 1), ' ') : "";
    const std::string item_pad = o_.pretty ? std::string(2 * (level + 2), ' ') : "";
    const std::string end_pad = o_.pretty ? std::string(2 * level, ' ') : "";
    const std::string sep = o_.pretty ? " " : "";
    std::string base = path.empty() ? "" : path + ".";

    // Fields in the reference struct's order, one element per line.
    std::vector<std::string> fields;
    auto list = [&](const char* key, size_t n, auto&& element) {
      std::string f = pad + "\"" + key + "\":" + sep + "[";
      for (size_t i = 0; i < n; ++i) f += (i ? "," : "") + nl + item_pad + element(i);
      f += (n ? nl + pad : "") + "]";
      fields.push_back(std::move(f));
    };
    list("ops", c.ops.size(), [&](size_t i) { return op(c, i, base + "ops").dump(); });
    list("constants", c.constants.size(), [&](size_t i) {
      return value(c.constants[i], base + "constants[" + std::to_string(i) + "]", 0).dump();
    });
    list("names", c.names.size(), [&](size_t i) {
      return text(c.names[i], base + "names[" + std::to_string(i) + "]").dump();
    });
    fields.push_back(pad + "\"lines\":" + sep + Json(c.lines).dump());
    list("sub_entries", c.sub_entries.size(), [&](size_t i) {
      return Json::array({c.sub_entries[i].first, c.sub_entries[i].second}).dump();
    });
    list("block_ranges", c.block_ranges.size(), [&](size_t i) {
      return Json::array({c.block_ranges[i].first, c.block_ranges[i].second}).dump();
    });
    list("sub_chunks", c.sub_chunks.size(), [&](size_t i) {
      return chunk(c.sub_chunks[i], base + "sub_chunks[" + std::to_string(i) + "]", level + 2, depth + 1);
    });
    fields.push_back(pad + "\"source\":" + sep + text(c.source, base + "source").dump());

    std::string out = "{";
    for (size_t k = 0; k < fields.size(); ++k) out += (k ? "," : "") + nl + fields[k];
    return out + nl + end_pad + "}";
  }

  std::vector<Diagnostic> warnings, errors;

 private:
  Json op(const Chunk& c, size_t i, const std::string& list_path) {
    const Op& o = c.ops[i];
    const std::string path = list_path + "[" + std::to_string(i) + "] (" + std::string(o.name()) + ")";
    const uint32_t line = i < c.lines.size() ? c.lines[i] : 0;
    return json_fields::op_json(o, [&](double d) { return number(d, path, line); });
  }

  Json value(const Value& v, const std::string& path, size_t depth) {
    bool container = v.kind() == ValueKind::Array || v.kind() == ValueKind::Hash || v.kind() == ValueKind::Ref;
    if (container && depth >= kMaxNesting) {
      errors.push_back(Diagnostic{o_.file, 0, path + ": constant nested deeper than " + std::to_string(kMaxNesting)});
      return Json("Undef");
    }
    auto tagged = [](const char* tag, Json payload) {
      Json j = Json::object();
      j[tag] = std::move(payload);
      return j;
    };
    switch (v.kind()) {
      case ValueKind::Undef: return Json("Undef");
      case ValueKind::Bool: return tagged("Bool", v.as_bool());
      case ValueKind::Int: return tagged("Int", v.as_int());
      case ValueKind::Float: return tagged("Float", number(v.as_float(), path, 0));
      case ValueKind::Str: return tagged("Str", text(v.as_str(), path));
      case ValueKind::Status: return tagged("Status", v.as_status());
      case ValueKind::NativeFn: return tagged("NativeFn", v.as_native_fn());
      case ValueKind::Ref: return tagged("Ref", value(v.as_ref(), path + ".Ref", depth + 1));
      case ValueKind::Array: {
        Json items = Json::array();
        const ValueArray& a = v.as_array();
        for (size_t i = 0; i < a.size(); ++i) items.push_back(value(a[i], path + "[" + std::to_string(i) + "]", depth + 1));
        return tagged("Array", std::move(items));
      }
      case ValueKind::Hash: {
        Json members = Json::object();
        for (const auto& [key, item] : v.as_hash()) {
          std::string key_path = path + "[\"" + key + "\"]";
          members[text(key, path + " key").get<std::string>()] = value(item, key_path, depth + 1);
        }
        return tagged("Hash", std::move(members));
      }
    }
    return Json("Undef");
  }

  // serde_json writes non-finite floats as null; keep that, but say so (ARCHITECTURE §9).
  Json number(double d, const std::string& path, uint32_t line) {
    if (std::isfinite(d)) return Json(d);
    std::string what = std::isnan(d) ? "NaN" : d > 0 ? "inf" : "-inf";
    if (o_.strict) {
      errors.push_back(Diagnostic{o_.file, line, path + ": " + what + " cannot be written as JSON (strict)"});
    } else {
      warnings.push_back(Diagnostic{o_.file, line, path + ": " + what + " written as null (reads back as NaN)"});
    }
    return Json(nullptr);
  }

  Json text(const std::string& s, const std::string& path) {
    size_t bad = invalid_utf8_at(s);
    if (bad == std::string_view::npos) return Json(s);
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(s[bad]));
    errors.push_back(Diagnostic{o_.file, 0, path + ": not valid UTF-8 (byte " + byte + " at offset " +
                                                std::to_string(bad) + "); JSON strings carry Unicode text only"});
    return Json("");
  }

  const JsonWriteOptions& o_;
};

}  // namespace

JsonWriteResult chunk_to_reference_json(const Chunk& chunk, const JsonWriteOptions& options) {
  Writer w(options);
  JsonWriteResult r;
  std::string text = w.chunk(chunk, "", 0, 0);
  r.warnings = std::move(w.warnings);
  r.errors = std::move(w.errors);
  if (r.errors.empty()) r.text = text + (options.pretty ? "\n" : "");
  return r;
}

}  // namespace fusevm
