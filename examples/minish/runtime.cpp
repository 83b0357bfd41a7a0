// minish's runtime side: cd, export, unset and wait, which need the shell process itself.
#include "runtime.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "fusevm/default_host.hpp"
#include "fusevm/shell_builtins.hpp"
#include "fusevm/vm.hpp"
#include "lexer.hpp"

namespace minish {

namespace {

using fusevm::Value;
using fusevm::VM;
namespace sb = fusevm::shell_builtins;

// The handler pops its own arguments; an Array argument is several (a split or
// globbed word), as Exec would count it.
std::vector<std::string> pop_args(VM& vm, uint8_t argc) {
  std::vector<Value> values(argc);
  for (size_t k = argc; k > 0; --k) values[k - 1] = vm.pop();
  std::vector<std::string> args;
  for (const Value& v : values) {
    if (v.is_array()) {
      for (const Value& e : v.as_array()) args.push_back(e.to_str());
    } else {
      args.push_back(v.to_str());
    }
  }
  return args;
}

// Diagnostics go straight to fd 2: stderr is not buffered by the VM, and a forked
// pipeline stage must not leave them in a stdio buffer it never flushes.
void complain(const std::string& message) {
  std::string line = "minish: " + message + "\n";
  for (size_t done = 0; done < line.size();) {
    ssize_t n = ::write(2, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

fusevm::DefaultHost* default_host(VM& vm) {
  return dynamic_cast<fusevm::DefaultHost*>(vm.shell_host());
}

std::optional<std::string> variable(VM& vm, const std::string& name) {
  if (fusevm::DefaultHost* host = default_host(vm)) {
    fusevm::HostContext cx(vm);
    std::optional<Value> v = host->lookup(cx, name);
    if (v && !v->is_undef()) return v->to_str();
    return std::nullopt;
  }
  const char* env = std::getenv(name.c_str());
  return env ? std::optional<std::string>(env) : std::nullopt;
}

std::string current_dir() {
  std::vector<char> buf(4096);
  while (::getcwd(buf.data(), buf.size()) == nullptr) {
    if (errno != ERANGE || buf.size() > (1u << 20)) return "";
    buf.resize(buf.size() * 2);
  }
  return buf.data();
}

Value cd(VM& vm, uint8_t argc) {
  std::vector<std::string> args = pop_args(vm, argc);
  if (args.size() > 1) {
    complain("cd: too many arguments");
    return Value::Status(1);
  }
  std::string dir;
  bool print = false;
  if (args.empty() || args[0] == "-") {
    const char* var = args.empty() ? "HOME" : "OLDPWD";
    std::optional<std::string> value = variable(vm, var);
    if (!value || value->empty()) {
      complain(std::string("cd: ") + var + " not set");
      return Value::Status(1);
    }
    dir = *value;
    print = !args.empty();
  } else {
    dir = args[0];
  }
  std::string old_dir = current_dir();
  if (::chdir(dir.c_str()) != 0) {
    complain("cd: " + dir + ": " + std::strerror(errno));
    return Value::Status(1);
  }
  std::string new_dir = current_dir();
  if (fusevm::DefaultHost* host = default_host(vm)) {
    fusevm::HostContext cx(vm);
    host->assign(cx, "OLDPWD", Value::Str(old_dir));
    host->assign(cx, "PWD", Value::Str(new_dir));
    if (print) cx.write_output(new_dir + "\n");
  }
  return Value::Status(0);
}

// The current value is copied into the host's table too, so it reaches commands run
// from `$(...)` bodies, whose child VMs do not see this chunk's globals.
Value export_vars(VM& vm, uint8_t argc) {
  int32_t status = 0;
  fusevm::DefaultHost* host = default_host(vm);
  for (const std::string& name : pop_args(vm, argc)) {
    if (!is_name(name)) {
      complain("export: `" + name + "': not a valid identifier");
      status = 1;
      continue;
    }
    if (!host) continue;
    fusevm::HostContext cx(vm);
    std::optional<Value> v = host->lookup(cx, name);
    if (v && !v->is_undef()) host->vars().set(name, *v);
    host->vars().set_exported(name);
  }
  return Value::Status(status);
}

Value unset_vars(VM& vm, uint8_t argc) {
  fusevm::DefaultHost* host = default_host(vm);
  for (const std::string& name : pop_args(vm, argc)) {
    if (host) host->vars().unset(name);
  }
  return Value::Status(0);
}

Value wait_jobs(VM& vm, uint8_t argc) {
  std::vector<std::string> args = pop_args(vm, argc);
  fusevm::DefaultHost* host = default_host(vm);
  if (!host) return Value::Status(0);
  if (args.empty()) return Value::Status(host->wait_background(0));
  int32_t status = 0;
  for (const std::string& arg : args) {
    int32_t pid = 0;
    auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), pid);
    if (ec != std::errc() || end != arg.data() + arg.size() || pid <= 0) {
      complain("wait: `" + arg + "': not a pid");
      status = 2;
      continue;
    }
    status = host->wait_background(pid);
  }
  return Value::Status(status);
}

}  // namespace

void install_builtins(VM& vm) {
  vm.register_builtin(sb::BUILTIN_CD, cd);
  vm.register_builtin(sb::BUILTIN_EXPORT, export_vars);
  vm.register_builtin(sb::BUILTIN_UNSET, unset_vars);
  vm.register_builtin(sb::BUILTIN_WAIT, wait_jobs);
}

}  // namespace minish
