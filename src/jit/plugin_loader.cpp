// dlopen of the JIT plugin. Loading is lazy so a program that never compiles pays nothing
// for LLVM (ARCHITECTURE §7: linking LLVM costs 16-85 ms at every start).
#include "jit/plugin_loader.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace fusevm::jit {

namespace {

#if FUSEVM_JIT_BUILT
std::string directory_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Where the code of this function lives: libfusevm.so, or the executable that linked
// the static core.
std::string core_directory() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&core_directory), &info) == 0 || info.dli_fname == nullptr) return ".";
  return directory_of(info.dli_fname);
}

LoadedPlugin try_load(const std::string& path) {
  LoadedPlugin p;
  p.path = path;
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* e = ::dlerror();
    p.error = e ? e : ("cannot load " + path);
    return p;
  }
  using Entry = const jit_abi::PluginApi* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, jit_abi::kEntrySymbol));
  const jit_abi::PluginApi* api = entry ? entry() : nullptr;
  if (api == nullptr) {
    p.error = path + ": not a fusevm JIT plugin (no " + jit_abi::kEntrySymbol + ")";
  } else if (api->abi_version != jit_abi::kAbiVersion) {
    p.error = path + ": plugin ABI " + std::to_string(api->abi_version) + ", this core needs " +
              std::to_string(jit_abi::kAbiVersion);
  } else {
    p.api = api;
    return p;  // the handle stays open for the life of the process
  }
  ::dlclose(handle);
  return p;
}
#endif

LoadedPlugin load_once() {
#if !FUSEVM_JIT_BUILT
  LoadedPlugin none;
  none.error = "this build of fusevm has no JIT (configured with FUSEVM_ENABLE_JIT=OFF)";
  return none;
#else
  if (const char* forced = std::getenv("FUSEVM_JIT_PLUGIN"); forced != nullptr && *forced != '\0') {
    return try_load(forced);
  }
  const std::string dir = core_directory();
  const std::vector<std::string> candidates = {
      dir + "/libfusevm_jit.so",
      dir + "/../lib/libfusevm_jit.so",
      dir + "/../" FUSEVM_INSTALL_LIBDIR "/libfusevm_jit.so",
  };
  std::string tried;
  for (const std::string& path : candidates) {
    LoadedPlugin p = try_load(path);
    if (p.api != nullptr) return p;
    // A plugin that exists but fails is the interesting error; a missing file is not.
    if (p.error.find("No such file") == std::string::npos) return p;
    tried += (tried.empty() ? "" : ", ") + path;
  }
  LoadedPlugin missing;
  missing.error = "JIT plugin libfusevm_jit.so not found (looked at " + tried + "; set FUSEVM_JIT_PLUGIN)";
  return missing;
#endif
}

}  // namespace

const LoadedPlugin& load_plugin() {
  static const LoadedPlugin plugin = load_once();
  return plugin;
}

}  // namespace fusevm::jit
