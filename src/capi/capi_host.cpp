// The C API's shell host: a ShellHost whose methods call the C callbacks of a
// fusevm_host table, and ShellHost's own defaults where a callback is NULL.
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "capi/capi_internal.hpp"
#include "fusevm/host.hpp"

struct fusevm_list {
  std::vector<std::string> items;
};

namespace {

using namespace fusevm_capi;

// Pointer and length arrays over `strings` for a callback (valid while `strings` lives).
struct CStrings {
  explicit CStrings(const std::vector<std::string>& strings) {
    for (const std::string& s : strings) {
      ptrs.push_back(s.c_str());
      lens.push_back(s.size());
    }
  }
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
};

class CHost final : public fusevm::ShellHost {
 public:
  CHost(fusevm_vm* vm, const fusevm_host& table) : vm_(vm), t_(table) {}

  int32_t exec(fusevm::HostContext& cx, const std::vector<std::string>& argv) override {
    if (t_.exec == nullptr) return ShellHost::exec(cx, argv);
    const CStrings a(argv);
    return t_.exec(vm_, a.ptrs.data(), a.lens.data(), argv.size(), t_.user);
  }

  int32_t exec_bg(fusevm::HostContext& cx, const std::vector<std::string>& argv) override {
    if (t_.exec_bg == nullptr) return ShellHost::exec_bg(cx, argv);
    const CStrings a(argv);
    return t_.exec_bg(vm_, a.ptrs.data(), a.lens.data(), argv.size(), t_.user);
  }

  std::vector<std::string> glob(fusevm::HostContext& cx, const std::string& pattern, bool recursive) override {
    if (t_.glob == nullptr) return ShellHost::glob(cx, pattern, recursive);
    fusevm_list out;
    t_.glob(vm_, pattern.c_str(), pattern.size(), recursive ? 1 : 0, &out, t_.user);
    return std::move(out.items);
  }

  fusevm::Value expand_param(fusevm::HostContext& cx, const std::string& name, uint8_t mod,
                             std::vector<fusevm::Value> args) override {
    if (t_.expand_param == nullptr) return ShellHost::expand_param(cx, name, mod, std::move(args));
    // The callback sees the arguments as handles it does not own.
    std::vector<fusevm_value> held;
    held.reserve(args.size());
    for (fusevm::Value& v : args) held.push_back(fusevm_value{std::move(v)});
    std::vector<const fusevm_value*> ptrs;
    for (const fusevm_value& h : held) ptrs.push_back(&h);
    std::unique_ptr<fusevm_value> r(
        t_.expand_param(vm_, name.c_str(), name.size(), mod, ptrs.data(), ptrs.size(), t_.user));
    return r ? std::move(r->v) : fusevm::Value::Str("");
  }

  std::optional<int32_t> call_function(fusevm::HostContext& cx, const std::string& name,
                                       const std::vector<std::string>& args) override {
    if (t_.call_function == nullptr) return ShellHost::call_function(cx, name, args);
    const CStrings a(args);
    int32_t status = 0;
    if (t_.call_function(vm_, name.c_str(), name.size(), a.ptrs.data(), a.lens.data(), args.size(), &status,
                         t_.user) == 0) {
      return std::nullopt;
    }
    return status;
  }

  bool str_match(fusevm::HostContext& cx, const std::string& s, const std::string& pattern) override {
    if (t_.str_match == nullptr) return ShellHost::str_match(cx, s, pattern);
    return t_.str_match(vm_, s.c_str(), s.size(), pattern.c_str(), pattern.size(), t_.user) != 0;
  }

 private:
  fusevm_vm* vm_;
  fusevm_host t_;
};

}  // namespace

extern "C" {

void fusevm_list_add(fusevm_list* list, const char* bytes, size_t len) {
  if (list == nullptr || (bytes == nullptr && len != 0)) return;
  guarded([&] {
    list->items.emplace_back(bytes == nullptr ? "" : bytes, len);
    return FUSEVM_OK;
  });
}

fusevm_code fusevm_vm_set_host(fusevm_vm* vm, const fusevm_host* host) {
  if (vm == nullptr) return null_argument("vm");
  if (host == nullptr) {
    vm->vm.set_shell_host(nullptr);
    return FUSEVM_OK;
  }
  if (host->size < offsetof(fusevm_host, exec) || host->size > sizeof(fusevm_host)) {
    return fail(FUSEVM_INVALID_ARGUMENT, "fusevm_host.size is " + std::to_string(host->size) +
                                             ": set it to sizeof(fusevm_host)");
  }
  // A caller compiled against an older, shorter table leaves the newer members NULL.
  fusevm_host table{};
  std::memcpy(static_cast<void*>(&table), host, host->size);
  return guarded([&] {
    vm->vm.set_shell_host(std::make_unique<CHost>(vm, table));
    return FUSEVM_OK;
  });
}

}  // extern "C"
