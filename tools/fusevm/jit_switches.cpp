// The JIT switches of `fusevm run`: --jit lists, environment defaults, --stats text.
#include "jit_switches.hpp"

#include <cstdio>
#include <cstdlib>

namespace fusevm::tool {

std::optional<JitTiers> parse_jit_tiers(const std::string& text, std::string& error) {
  JitTiers tiers = JitTiers::Off;
  bool saw_off = false, saw_tier = false;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string word = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (word == "off") {
      saw_off = true;
    } else if (word == "linear") {
      tiers = tiers | JitTiers::Linear;
      saw_tier = true;
    } else if (word == "block") {
      tiers = tiers | JitTiers::Block;
      saw_tier = true;
    } else if (word == "trace") {
      tiers = tiers | JitTiers::Trace;
      saw_tier = true;
    } else if (word == "all") {
      tiers = tiers | JitTiers::All;
      saw_tier = true;
    } else {
      error = "unknown JIT tier '" + word + "' (expected off, linear, block, trace or all, comma-separated)";
      return std::nullopt;
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (saw_off && saw_tier) {
    error = "'off' cannot be combined with a tier in '" + text + "'";
    return std::nullopt;
  }
  return tiers;
}

JitSwitches jit_switches_from_env(std::string& error) {
  JitSwitches s;
  s.options = with_jit_environment(s.options);
  if (const char* v = std::getenv("FUSEVM_JIT")) {
    std::string why;
    if (std::optional<JitTiers> t = parse_jit_tiers(v, why)) {
      s.options.tiers = *t;
    } else {
      error = "FUSEVM_JIT: " + why;
    }
  }
  return s;
}

namespace {

void tier_text(std::string& out, const char* name, const JitTierStats& t) {
  char line[256];
  std::snprintf(line, sizeof line,
                "jit %s: compiled %llu, from cache %llu, failed %llu, entered %llu, fell back %llu, compile %.3f ms\n",
                name, static_cast<unsigned long long>(t.compiled), static_cast<unsigned long long>(t.cached),
                static_cast<unsigned long long>(t.failed),
                static_cast<unsigned long long>(t.entered), static_cast<unsigned long long>(t.fell_back),
                static_cast<double>(t.compile_ns) / 1e6);
  out += line;
  if (t.call_outs != 0) {
    out += "  " + std::to_string(t.call_outs) + " call-outs run from native code (builtins, ops on Str/Array/Hash values)\n";
  }
  for (const auto& [reason, count] : t.reasons) out += "  " + std::to_string(count) + " x " + reason + "\n";
}

}  // namespace

std::string jit_stats_text(const JitStats& stats) {
  std::string out;
  if (!stats.available) out += "jit: unavailable: " + stats.unavailable_reason + "\n";
  tier_text(out, "linear", stats.linear);
  tier_text(out, "block", stats.block);
  tier_text(out, "trace", stats.trace);
  return out;
}

}  // namespace fusevm::tool
