// ShellVars: the shell variable table behind DefaultHost (set, unset, export, environ).
#include "fusevm/shell_vars.hpp"

#include <unistd.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fusevm {
namespace {

// An environment entry is "NAME=value" in a C string: a name that is empty or holds '='
// or NUL, or a value holding NUL, cannot be written without changing its meaning, so
// such variables are left out of environment() rather than passed on mangled.
bool representable(std::string_view name, std::string_view value) {
  return !name.empty() && name.find('=') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos && value.find('\0') == std::string_view::npos;
}


}  // namespace

ShellVars ShellVars::from_environ() {
  ShellVars vars;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    // Entries without '=' are not variables; for a duplicated name the first wins, as
    // getenv() finds it.
    if (eq == std::string_view::npos || eq == 0) continue;
    const std::string_view name = entry.substr(0, eq);
    if (vars.table_.find(name) != vars.table_.end()) continue;
    Entry& slot = vars.table_[std::string(name)];
    slot.value = Value::Str(entry.substr(eq + 1));
    slot.has_value = true;
    slot.exported = true;
  }
  return vars;
}

const Value* ShellVars::get(std::string_view name) const {
  const auto it = table_.find(name);
  if (it == table_.end() || !it->second.has_value) return nullptr;
  return &it->second.value;
}

void ShellVars::set(std::string_view name, Value v) {
  auto it = table_.find(name);
  if (it == table_.end()) it = table_.emplace(std::string(name), Entry{}).first;
  it->second.value = std::move(v);
  it->second.has_value = true;
}

bool ShellVars::unset(std::string_view name) {
  const auto it = table_.find(name);
  if (it == table_.end()) return false;
  table_.erase(it);
  return true;
}

void ShellVars::set_exported(std::string_view name, bool exported) {
  auto it = table_.find(name);
  if (it == table_.end()) {
    // Un-exporting a name that is not there has nothing to remember.
    if (exported) table_.emplace(std::string(name), Entry{Value(), false, true});
    return;
  }
  it->second.exported = exported;
  // A bare `export X` followed by `export -n X` leaves nothing behind.
  if (!exported && !it->second.has_value) table_.erase(it);
}

bool ShellVars::is_exported(std::string_view name) const {
  const auto it = table_.find(name);
  return it != table_.end() && it->second.exported;
}

std::vector<std::string> ShellVars::names() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : table_) {
    if (entry.has_value) out.push_back(name);
  }
  return out;
}

std::vector<std::string> ShellVars::environment() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : table_) {
    if (!entry.exported || !entry.has_value) continue;
    std::string text = text_of(entry.value);
    if (!representable(name, text)) continue;
    out.push_back(name + "=" + text);
  }
  return out;
}

std::string ShellVars::text_of(const Value& v) {
  if (!v.is_array()) return v.to_str();
  std::string out;
  bool first = true;
  for (const Value& e : v.as_array()) {
    if (!first) out.push_back(' ');
    first = false;
    e.append_str(out);
  }
  return out;
}

}  // namespace fusevm
