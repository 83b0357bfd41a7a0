// What `fusevm run` reports after a run besides the program's output: the --profile
// table (hottest ops and op pairs, time per tier) and the --stats=json document.
#pragma once

#include <cstdint>
#include <string>

#include "fusevm/jit.hpp"
#include "fusevm/vm.hpp"

namespace fusevm::tool {

/// Wall and CPU times of one `fusevm run`, in milliseconds (as --time prints them).
struct RunTimes {
  double load_ms = 0, compile_ms = 0, run_ms = 0, run_cpu_ms = 0;
};

/// The --profile report: ops dispatched and time per tier, then the `top` hottest ops
/// and op pairs, one per line.
std::string profile_text(const VmProfile& profile, size_t top = 15);

/// The --stats=json document (one line): the exit status, the times, the JIT's counters
/// per tier with their reasons, and the profile when there is one (every op and pair
/// counted, hottest first).
std::string stats_json(int exit_status, const RunTimes& times, const JitStats& jit, const VmProfile* profile);

}  // namespace fusevm::tool
