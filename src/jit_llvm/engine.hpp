// One JIT engine of the plugin: an ORC LLJIT plus per-tier TargetMachines (ARCHITECTURE §7).
#pragma once

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

  /// A new engine, or null with `error`.
  static std::unique_ptr<Engine> create(const jit_abi::EngineOptions& options, std::string& error);
};

}  // namespace fusevm::jit_llvm
