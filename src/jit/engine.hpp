// The process's JIT engine: the compile thread that owns the plugin's LLVM engine, and
// the per-tier statistics.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>
#include <map>
#include <mutex>
#include <string>

#include "fusevm/jit.hpp"
#include "jit_abi/plugin_abi.hpp"

namespace fusevm::jit {

/// Tiers, for statistics.
enum class Tier : uint8_t { Linear, Block, Trace };

/// A finished compile job.
struct Compiled {
  void* entry = nullptr;     ///< null on failure
  std::string reason;        ///< why it failed
  uint64_t compile_ns = 0;   ///< time in the plugin
  uint32_t max_exit_stack = 0;  ///< kUnitVm: UnitResult::max_exit_stack
  bool from_cache = false;   ///< loaded from the on-disk object cache, not compiled
};

/// A compile request that owns everything it points to, so it can wait in the compile
/// thread's queue after its submitter has moved on (ARCHITECTURE §9: compile jobs own
/// deep copies of their inputs).
struct OwnedRequest {
  jit_abi::UnitRequest request{};
  std::vector<jit_abi::AbiOp> ops;
  std::vector<jit_abi::AbiConst> consts;
  std::vector<uint8_t> slot_tags;
  std::vector<uint8_t> entry_stack_tags;
  std::vector<jit_abi::AbiLowering> lowerings;  ///< symbols point into lowering_symbols
  std::vector<std::string> lowering_symbols;
  std::vector<uint8_t> quiet_jumps;  ///< UnitRequest::quiet_jumps (empty: none)
  std::vector<jit_abi::AbiCallOut> call_outs;  ///< UnitRequest::call_outs (empty: none)
  std::vector<uint8_t> call_out_tags;          ///< UnitRequest::call_out_tags
  std::string name;
  /// `request` with its pointers aimed at the owned vectors.
  const jit_abi::UnitRequest& finalized();
};

/// An asynchronous compile: `done` turns true (release) once `result` is final.
struct PendingCompile {
  std::atomic<bool> done{false};
  Compiled result;
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
  /// Queue `request` for the compile thread and return at once; `into` turns done when
  /// it is compiled. The plugin is loaded there too, so the caller never waits for dlopen.
  void compile_async(std::shared_ptr<OwnedRequest> request, std::shared_ptr<PendingCompile> into);
  /// Block until every queued job has finished.
  void wait_idle();
  /// UnitFlags dump bits (kDumpIr, kDumpAsm) added to every VM-driven request.
  uint32_t dump_flags() const { return dump_flags_.load(std::memory_order_relaxed); }
  /// Set them (JitCompiler::set_dump).
  void set_dump_flags(uint32_t flags) { dump_flags_.store(flags, std::memory_order_relaxed); }
  /// True when traces are printed as they are made (JitDump::Trace).
  bool dump_traces() const { return dump_traces_.load(std::memory_order_relaxed); }
  void set_dump_traces(bool on) { dump_traces_.store(on, std::memory_order_relaxed); }

  /// Count a compile outcome, a native entry or a fallback for `tier`.
  void count_compile(Tier tier, const Compiled& c);
  void count_entry(Tier tier);
  /// Count `n` call-outs (builtins run for native code) of one entry into `tier`'s code.
  void count_call_outs(Tier tier, uint64_t n);
  void count_fallback(Tier tier, const std::string& reason);
  /// The counters.
  JitStats stats();
  /// Free all compiled code and zero the counters (callers clear their caches first).
  void reset();

 private:
  Engine();
  struct Impl;
  Impl* impl_;
  std::atomic<uint32_t> dump_flags_{0};
  std::atomic<bool> dump_traces_{false};
};

}  // namespace fusevm::jit
