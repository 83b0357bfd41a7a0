// The fusevm tool's subcommands (run, asm, disasm, verify), independent of argument parsing.
#pragma once

#include <string>
#include <vector>

#include "fusevm/vm.hpp"
#include "jit_switches.hpp"

namespace fusevm::tool {

/// Exit status for a run-time error (ARCHITECTURE §9 "CLI exit codes and output").
inline constexpr int kExitRuntimeError = 1;
/// Exit status for usage, load, verify and output-file errors.
inline constexpr int kExitBadInput = 2;

/// What `fusevm run` was asked to do.
struct RunOptions {
  std::string file;               ///< program to load (.fasm or .fvc, detected by content)
  std::vector<std::string> args;  ///< values for the global ARGV
  bool time = false;              ///< report load/compile/run times on stderr
  bool print_result = false;      ///< print the run's value (or "Halted") on stdout
  bool profile = false;           ///< --profile: hottest ops and pairs, time per tier
  Limits limits;                  ///< resource limits for the VM
  JitSwitches jit;                ///< --jit, --jit-sync, --jit-strict, --stats, --dump
};

/// Load, run and report; returns the process exit status.
int run_command(const RunOptions& options);
/// Output formats of `fusevm asm`.
enum class AsmFormat { Fvc, Json };

/// What `fusevm asm` was asked to do.
struct AsmOptions {
  std::string input;                ///< program to load (any format)
  std::string output;               ///< "" = input with the format's extension, "-" = stdout
  AsmFormat format = AsmFormat::Fvc;  ///< binary .fvc or the reference's JSON
  bool strict = false;              ///< JSON: refuse NaN/inf instead of writing null
};

/// Write `input` as .fvc or reference JSON; returns the exit status.
int asm_command(const AsmOptions& options);
/// Disassemble `input` to `output` ("" or "-" = stdout); returns the exit status.
int disasm_command(const std::string& input, const std::string& output);
/// Load and verify `input`, printing a one-line summary; returns the exit status.
int verify_command(const std::string& input);
/// The default `asm` output path: `input` with its extension replaced by `ext` (".fvc").
std::string default_output_path(const std::string& input, const std::string& ext);

}  // namespace fusevm::tool
