// ShellVars: a shell's variable table (scalars and arrays, exported or not).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fusevm/value.hpp"

namespace fusevm {

/// A shell variable table. Values are Str (scalars) or Array (indexed arrays) or Hash
/// (associative arrays); a name may be marked exported before it has a value, as
/// `export X` does in a shell. Lookups are by exact, case-sensitive name.
class ShellVars {
 public:
  /// An empty table.
  ShellVars() = default;
  /// A table holding every `NAME=value` entry of `environ`, each marked exported.
  static ShellVars from_environ();

  /// The value of `name`, or nullptr if it is unset.
  const Value* get(std::string_view name) const;
  /// Set `name` to `v` (an existing exported mark is kept).
  void set(std::string_view name, Value v);
  /// Remove `name` and its exported mark; true if it existed.
  bool unset(std::string_view name);
  /// Mark `name` exported (or not). A name without a value is exported once it gets one.
  void set_exported(std::string_view name, bool exported = true);
  /// True if `name` is marked exported.
  bool is_exported(std::string_view name) const;
  /// Every name that has a value, sorted.
  std::vector<std::string> names() const;
  /// `NAME=value` for every exported variable with a value, sorted by name, values as
  /// text_of() gives them. For a child's environment.
  std::vector<std::string> environment() const;
  /// A variable's value as text: an Array's elements joined with single spaces (a
  /// nested Array element by to_str), anything else by to_str.
  static std::string text_of(const Value& v);

 private:
  struct Entry {
    Value value;
    bool has_value = false;
    bool exported = false;
  };
  std::map<std::string, Entry, std::less<>> table_;
};

}  // namespace fusevm
