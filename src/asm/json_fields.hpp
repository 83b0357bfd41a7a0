// The pieces the reference's serde JSON is made of, read from a json_tree (with lines for
// diagnostics) and written with nlohmann: numbers checked against their Rust types,
// externally tagged enums, ops. Shared by the chunk format and the trace metadata format.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "asm/json_tree.hpp"
#include "fusevm/op.hpp"

namespace fusevm::json_fields {

using json_tree::Node;

/// What the readers throw: the first error, at a line.
struct JsonError {
  uint32_t line;
  std::string message;
};

/// Throws JsonError at `at`'s line: "path: message".
[[noreturn]] void fail(const Node& at, const std::string& path, const std::string& message);
/// `s` in double quotes.
std::string quoted(std::string_view s);
/// `n` as an unsigned integer of at most `max` (`type` names the Rust type in errors).
uint64_t unsigned_in(const Node& n, const std::string& path, uint64_t max, std::string_view type);
/// `n` as a signed integer in [min, max].
int64_t signed_in(const Node& n, const std::string& path, int64_t min, int64_t max, std::string_view type);
/// `n` as an f64 (null reads as NaN, "-0" as -0.0, as serde_json does).
double float_of(const Node& n, const std::string& path);
/// `n` as a string.
const std::string& string_of(const Node& n, const std::string& path);
/// `n` as an array.
const std::vector<Node>& array_of(const Node& n, const std::string& path);
/// "path[i]".
std::string at(const std::string& path, size_t i);
/// Operand bits of `kind` from `n`, range-checked.
uint64_t operand_bits(const Node& n, const std::string& path, OperandKind kind);
/// An externally tagged enum value: its name, and its payload (null for the bare string).
std::pair<std::string_view, const Node*> variant(const Node& n, const std::string& path, std::string_view what);
/// An op in serde's form: "Add", {"GetSlot": 3}, {"SlotLtIntJumpIfFalse": [0, 10, 7]}.
Op read_op(const Node& n, const std::string& path);
/// An op in that form; `number` writes an f64 operand (NaN and infinities have no JSON form).
nlohmann::ordered_json op_json(const Op& o, const std::function<nlohmann::ordered_json(double)>& number);

}  // namespace fusevm::json_fields
