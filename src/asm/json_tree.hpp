// A JSON document tree that remembers the source line of every value (for diagnostics).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fusevm::json_tree {

/// One JSON value. nlohmann/json does the lexing, unescaping and UTF-8 checks; this
/// tree exists only because nlohmann's own DOM does not record where a value was, and
/// every loader error must name a line (ARCHITECTURE §9 "Errors").
struct Node {
  /// JSON value kinds; integers keep nlohmann's signed/unsigned split.
  enum class Kind : uint8_t { Null, Bool, Int, UInt, Float, String, Array, Object };
  Kind kind = Kind::Null;
  uint32_t line = 0;              ///< 1-based line where the value starts
  bool boolean = false;           ///< Bool
  int64_t int_value = 0;          ///< Int (negative numbers)
  uint64_t uint_value = 0;        ///< UInt (non-negative numbers)
  double float_value = 0;         ///< Float
  std::string text;               ///< String, or a number's literal text (e.g. "-0", "1e5")
  std::vector<Node> items;        ///< Array elements, or Object member values
  std::vector<std::string> keys;  ///< Object member keys, parallel to items

  /// "null", "a boolean", "an integer", "a number", "a string", "an array", "an object".
  std::string_view describe() const;
};

/// A parsed document or the first syntax error.
struct ParseResult {
  bool ok = false;
  Node root;             ///< the document (ok)
  uint32_t line = 0;     ///< line of the error (!ok)
  std::string message;   ///< the error (!ok)
};

/// Parse `text` as one JSON document; arrays and objects nested deeper than
/// `max_depth` are refused (the tree is walked recursively).
ParseResult parse(std::string_view text, size_t max_depth);

}  // namespace fusevm::json_tree
