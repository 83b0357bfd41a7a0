// The process's perf map file (/tmp/perf-PID.map), shared by every engine that asks for it.
#pragma once

#include <cstdint>
#include <string>

namespace fusevm::jit_llvm {

/// Opens (once per process) /tmp/perf-PID.map for appending. False, with `error`, if it
/// cannot be opened.
bool perf_map_open(std::string& error);

/// Appends "ADDR SIZE NAME" for a function, as perf expects. Each line is one write(2) on
/// an O_APPEND descriptor, so lines from concurrent engines never interleave.
void perf_map_add(uint64_t address, uint64_t size, const char* name);

}  // namespace fusevm::jit_llvm
