// One JIT engine of the plugin: an ORC LLJIT plus per-tier TargetMachines (ARCHITECTURE §7).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "jit_abi/plugin_abi.hpp"

namespace fusevm::jit_llvm {

/// Compiles units into native functions that live until the engine is destroyed. Driven by
/// one thread at a time; the functions it returns may run on any thread.
class Engine {
 public:
  virtual ~Engine() = default;

  /// Compiles `request`; fills every field of `result` (entry, timings, reason, dump).
  /// Never throws: failures are reported in result.reason.
  virtual bool compile(const jit_abi::UnitRequest& request, jit_abi::UnitResult& result) = 0;

  /// Links an object that compile() produced with kWantObject (in this process or another)
  /// and looks up the function `name` in it; fills `result` like compile(). Bad bytes are
  /// refused with a reason. Each loaded object gets its own symbol namespace, so its names
  /// never clash with compiled units or other loaded objects. Never throws.
  virtual bool load_object(const char* name, const void* bytes, uint64_t size,
                           jit_abi::UnitResult& result) = 0;

  /// What an object depends on beyond its request: target triple, CPU, features, whether
  /// unwind tables are emitted, and the plugin build (PluginApi::target_key).
  virtual const char* target_key() const = 0;

  /// A new engine, or null with `error`.
  static std::unique_ptr<Engine> create(const jit_abi::EngineOptions& options, std::string& error);
};

}  // namespace fusevm::jit_llvm
