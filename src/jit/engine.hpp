// The process's JIT engine: the compile thread that owns the plugin's LLVM engine, and
// the per-tier statistics.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "fusevm/jit.hpp"
#include "jit_abi/plugin_abi.hpp"

namespace fusevm::jit {

/// Tiers, for statistics.
enum class Tier : uint8_t { Linear, Block };

/// A finished compile job.
struct Compiled {
  void* entry = nullptr;     ///< null on failure
  std::string reason;        ///< why it failed
  uint64_t compile_ns = 0;   ///< time in the plugin
};

/// The process-wide engine. All compilation runs on one background thread that owns
/// the plugin's LLVM engine (ARCHITECTURE §7: LLVM contexts and a default LLJIT must not
/// be driven from two threads); callers wait for their job.
class Engine {
 public:
  /// The engine (created on first use, never destroyed: its thread may outlive statics).
  static Engine& get();

  /// True if the plugin is loaded and this process may compile (not a forked child).
  bool available();
  /// Why available() is false.
  std::string unavailable_reason();

  /// Compile `request` on the compile thread and wait for it.
  Compiled compile(const jit_abi::UnitRequest& request);

  /// Count a compile outcome, a native entry or a fallback for `tier`.
  void count_compile(Tier tier, const Compiled& c);
  void count_entry(Tier tier);
  void count_fallback(Tier tier, const std::string& reason);
  /// The counters.
  JitStats stats();
  /// Free all compiled code and zero the counters (callers clear their caches first).
  void reset();

 private:
  Engine();
  struct Impl;
  Impl* impl_;
};

}  // namespace fusevm::jit
