// The plugin's only export: the PluginApi table that the core finds with dlsym.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <llvm/Config/llvm-config.h>

#include "jit_abi/plugin_abi.hpp"
#include "jit_llvm/engine.hpp"

namespace fusevm::jit_llvm {

namespace {

// Nothing may unwind into the core: each entry point turns exceptions into errors.

void* api_create(const jit_abi::EngineOptions* options, char* error, size_t error_size) {
  std::string message;
  try {
    const jit_abi::EngineOptions defaults{};
    std::unique_ptr<Engine> engine = Engine::create(options != nullptr ? *options : defaults, message);
    if (engine) return engine.release();
  } catch (const std::exception& e) {
    message = std::string("internal error: ") + e.what();
  } catch (...) {
    message = "internal error: unknown exception";
  }
  if (error != nullptr && error_size != 0) std::snprintf(error, error_size, "%s", message.c_str());
  return nullptr;
}

void api_destroy(void* engine) { delete static_cast<Engine*>(engine); }

int api_compile(void* engine, const jit_abi::UnitRequest* request, jit_abi::UnitResult* result) {
  if (result == nullptr) return 0;
  if (engine == nullptr || request == nullptr) {
    *result = jit_abi::UnitResult{};
    std::snprintf(result->reason, sizeof result->reason, "%s",
                  engine == nullptr ? "no engine" : "no request");
    return 0;
  }
  return static_cast<Engine*>(engine)->compile(*request, *result) ? 1 : 0;
}

void api_free_text(char* text) { std::free(text); }

int api_load_object(void* engine, const char* name, const void* bytes, uint64_t size,
                    jit_abi::UnitResult* result) {
  if (result == nullptr) return 0;
  if (engine == nullptr) {
    *result = jit_abi::UnitResult{};
    std::snprintf(result->reason, sizeof result->reason, "%s", "no engine");
    return 0;
  }
  return static_cast<Engine*>(engine)->load_object(name, bytes, size, *result) ? 1 : 0;
}

// The key is built once at engine creation, so this cannot fail or throw.
const char* api_target_key(void* engine) {
  return engine != nullptr ? static_cast<Engine*>(engine)->target_key() : "";
}

const jit_abi::PluginApi kApi = {
    jit_abi::kAbiVersion, LLVM_VERSION_STRING, api_create,      api_destroy,
    api_compile,          api_free_text,       api_load_object, api_target_key,
};

}  // namespace

}  // namespace fusevm::jit_llvm

extern "C" __attribute__((visibility("default"))) const fusevm::jit_abi::PluginApi*
fusevm_jit_plugin() {
  return &fusevm::jit_llvm::kApi;
}
