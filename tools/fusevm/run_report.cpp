#include "run_report.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace fusevm::tool {

namespace {

// (count, op index or pair index), hottest first, ties by index: a stable order.
std::vector<std::pair<uint64_t, size_t>> hottest(const std::vector<uint64_t>& counts) {
  std::vector<std::pair<uint64_t, size_t>> out;
  for (size_t k = 0; k < counts.size(); ++k) {
    if (counts[k] != 0) out.emplace_back(counts[k], k);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  return out;
}

std::string op_name(size_t code) { return std::string(op_info(static_cast<OpCode>(code)).name); }

std::string pair_name(size_t index) { return op_name(index / kNumOps) + " " + op_name(index % kNumOps); }

uint64_t total(const std::vector<uint64_t>& counts) {
  uint64_t n = 0;
  for (uint64_t c : counts) n += c;
  return n;
}

// The interpreter's share: run time not spent in native code (never negative: clock reads
// of nested native calls may overlap by a few ns).
uint64_t interpreter_ns(const VmProfile& p) {
  const uint64_t native = p.linear_ns + p.block_ns + p.function_ns + p.trace_ns;
  return p.run_ns > native ? p.run_ns - native : 0;
}

std::string line(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string line(const char* format, ...) {
  char buf[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  return buf;
}

nlohmann::json tier_json(const JitTierStats& t) {
  nlohmann::json reasons = nlohmann::json::object();
  for (const auto& [reason, n] : t.reasons) reasons[reason] = n;
  return {{"compiled", t.compiled}, {"cached", t.cached},       {"failed", t.failed},
          {"entered", t.entered},   {"call_outs", t.call_outs}, {"fell_back", t.fell_back},
          {"compile_ms", double(t.compile_ns) / 1e6}, {"reasons", reasons}};
}

}  // namespace

std::string profile_text(const VmProfile& p, size_t top) {
  const uint64_t ops = total(p.ops);
  const uint64_t pairs = total(p.pairs);
  const double run = double(p.run_ns) / 1e6;
  auto share = [&](uint64_t ns) { return p.run_ns == 0 ? 0.0 : 100.0 * double(ns) / double(p.run_ns); };
  std::string out =
      line("profile: %" PRIu64 " ops interpreted in a run of %.3f ms (ops native code ran are not counted)\n", ops, run);
  out += line("  time: interpreter %.3f ms (%.1f%%), linear %.3f ms (%.1f%%), block %.3f ms (%.1f%%), "
              "functions %.3f ms (%.1f%%), trace %.3f ms (%.1f%%)\n",
              double(interpreter_ns(p)) / 1e6, share(interpreter_ns(p)), double(p.linear_ns) / 1e6, share(p.linear_ns),
              double(p.block_ns) / 1e6, share(p.block_ns), double(p.function_ns) / 1e6, share(p.function_ns),
              double(p.trace_ns) / 1e6, share(p.trace_ns));
  out += "  hottest ops:\n";
  const auto hot_ops = hottest(p.ops);
  for (size_t k = 0; k < hot_ops.size() && k < top; ++k) {
    out += line("  %14" PRIu64 " %6.2f%%  %s\n", hot_ops[k].first, 100.0 * double(hot_ops[k].first) / double(ops),
                op_name(hot_ops[k].second).c_str());
  }
  out += "  hottest op pairs (candidates for superinstructions):\n";
  const auto hot_pairs = hottest(p.pairs);
  for (size_t k = 0; k < hot_pairs.size() && k < top; ++k) {
    out += line("  %14" PRIu64 " %6.2f%%  %s\n", hot_pairs[k].first, 100.0 * double(hot_pairs[k].first) / double(pairs),
                pair_name(hot_pairs[k].second).c_str());
  }
  return out;
}

std::string stats_json(int exit_status, const RunTimes& times, const JitStats& jit, const VmProfile* profile) {
  nlohmann::json doc = {
      {"exit_status", exit_status},
      {"time_ms", {{"load", times.load_ms}, {"compile", times.compile_ms}, {"run", times.run_ms},
                   {"run_cpu", times.run_cpu_ms}}},
      {"jit", {{"available", jit.available}, {"unavailable_reason", jit.unavailable_reason},
               {"linear", tier_json(jit.linear)}, {"block", tier_json(jit.block)}, {"trace", tier_json(jit.trace)}}},
  };
  if (profile != nullptr) {
    nlohmann::json ops = nlohmann::json::array();
    for (const auto& [n, code] : hottest(profile->ops)) ops.push_back({{"op", op_name(code)}, {"count", n}});
    nlohmann::json pairs = nlohmann::json::array();
    for (const auto& [n, index] : hottest(profile->pairs)) {
      pairs.push_back({{"first", op_name(index / kNumOps)}, {"second", op_name(index % kNumOps)}, {"count", n}});
    }
    doc["profile"] = {
        {"ops_interpreted", total(profile->ops)},
        {"time_ms", {{"run", double(profile->run_ns) / 1e6}, {"interpreter", double(interpreter_ns(*profile)) / 1e6},
                     {"linear", double(profile->linear_ns) / 1e6}, {"block", double(profile->block_ns) / 1e6},
                     {"functions", double(profile->function_ns) / 1e6}, {"trace", double(profile->trace_ns) / 1e6}}},
        {"ops", ops},
        {"pairs", pairs},
    };
  }
  // Reasons and op names are ASCII, but a reason may quote program text: replace bad UTF-8.
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace fusevm::tool
