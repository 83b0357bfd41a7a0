// The JIT switches of `fusevm run` (ARCHITECTURE §9): parsing --jit lists, environment
// defaults, and the --stats report.
#pragma once

#include <optional>
#include <string>

#include "fusevm/jit.hpp"
#include "fusevm/vm.hpp"

namespace fusevm::tool {

/// What the JIT switches asked for.
struct JitSwitches {
  JitOptions options;            ///< tiers, sync, strict
  JitDump dump = JitDump::None;  ///< --dump=llvm|asm
  /// --stats[=text|json]: per-tier counters on stderr after the run ("" = none).
  std::string stats;
  std::string trace_cache;       ///< --trace-cache DIR (empty: none)
};

/// Parse a --jit / FUSEVM_JIT value: a comma list of off, linear, block, trace, all. nullopt
/// with `error` set when a word is unknown or `off` is combined with a tier.
std::optional<JitTiers> parse_jit_tiers(const std::string& text, std::string& error);
/// Defaults from FUSEVM_JIT, FUSEVM_JIT_SYNC=1 and FUSEVM_JIT_STRICT=1 (all tiers, async,
/// not strict when unset); a bad FUSEVM_JIT is reported in `error`.
JitSwitches jit_switches_from_env(std::string& error);
/// The --stats report: the engine's counters per tier, with fallback reasons.
std::string jit_stats_text(const JitStats& stats);

}  // namespace fusevm::tool
