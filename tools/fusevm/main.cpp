// The `fusevm` command-line tool: argument parsing and dispatch to the subcommands.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <map>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "fusevm/version.hpp"
#include "output.hpp"

namespace {

using fusevm::tool::kExitBadInput;

// CLI11's own unsigned parsing goes through strtoull (accepting "-1" and octal "010"),
// so counts are parsed here: plain decimal digits only.
template <typename T>
T parse_count(const std::string& text, const std::string& option) {
  T value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || text[0] == '-' || text[0] == '+' || ec != std::errc() || ptr != end)
    throw CLI::ValidationError(option, "expected a non-negative integer, got '" + text + "'");
  return value;
}

template <typename T>
void add_count_option(CLI::App* app, const std::string& name, T& target,
                      const std::string& description) {
  app->add_option_function<std::string>(
         name, [&target, name](const std::string& text) { target = parse_count<T>(text, name); },
         description)
      ->type_name("N")
      ->default_str(std::to_string(target));
}

std::string failure_message(const CLI::App*, const CLI::Error& e) {
  return std::string("fusevm: ") + e.what() + "\nRun with --help for more information.\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fusevm: a stack-based bytecode VM for shell and scripting frontends", "fusevm"};
  app.set_version_flag("--version", "fusevm " FUSEVM_VERSION_STRING);
  app.require_subcommand(1);
  app.failure_message(failure_message);

  fusevm::tool::RunOptions run_options;
  CLI::App* run = app.add_subcommand("run", "Run a program (.fasm, .fvc or reference .json, detected by content)");
  run->add_option("file", run_options.file, "Program to run")->required();
  run->add_option("args", run_options.args, "Values for the global ARGV (after --)");
  run->add_flag("--time", run_options.time, "Report load, compile and run times on stderr");
  run->add_flag("--print-result", run_options.print_result,
                "Print the run's result value (or Halted) after the program's output");
  fusevm::Limits& limits = run_options.limits;
  add_count_option(run, "--max-stack", limits.max_stack, "Most values on the value stack");
  add_count_option(run, "--max-call-depth", limits.max_call_depth,
                   "Most frames plus active blocks");
  add_count_option(run, "--max-string", limits.max_string, "Most bytes in one string");
  add_count_option(run, "--max-array", limits.max_array, "Most elements in one array");
  add_count_option(run, "--max-memory", limits.max_memory,
                   "Approximate bytes held by heap values (0 = unlimited)");
  add_count_option(run, "--fuel", limits.fuel, "Most ops executed (0 = unlimited)");
  std::string env_error;
  run_options.jit = fusevm::tool::jit_switches_from_env(env_error);
  fusevm::tool::JitSwitches& jit = run_options.jit;
  run->add_option_function<std::string>(
         "--jit",
         [&jit](const std::string& text) {
           std::string error;
           std::optional<fusevm::JitTiers> tiers = fusevm::tool::parse_jit_tiers(text, error);
           if (!tiers) throw CLI::ValidationError("--jit", error);
           jit.options.tiers = *tiers;
         },
         "JIT tiers: off, linear, block, trace or all, comma-separated (default: all, or $FUSEVM_JIT)")
      ->type_name("LIST");
  run->add_flag("--jit-sync", jit.options.sync,
                "Compile hot code before continuing instead of in the background ($FUSEVM_JIT_SYNC=1)");
  run->add_flag("--jit-strict", jit.options.strict,
                "A tier that falls back (compile failure, no plugin) is a runtime error ($FUSEVM_JIT_STRICT=1)");
  run->add_flag("--stats{text}", jit.stats,
                "Print the JIT's per-tier counters on stderr after the run; --stats=json prints one JSON "
                "document for tools instead (with the times, and the profile under --profile)")
      ->check(CLI::IsMember({"text", "json"}))
      ->type_name("text|json");
  run->add_flag("--profile", run_options.profile,
                "Count the ops the interpreter runs: print the hottest ops and op pairs (candidates for "
                "superinstructions) and the time per tier on stderr after the run (runs slower)");
  run->add_option("--trace-threshold", jit.options.trace.trace_threshold,
                  "Backedges to a loop header before the tracing tier records its next lap")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1u << 30));
  run->add_option("--trace-min-ops-per-call-out", jit.options.trace.min_ops_per_call_out,
                  "Native ops a traced lap needs per call-out (ops the interpreter runs for the trace), "
                  "else it stays interpreted; 0 traces any lap")
      ->capture_default_str();
  run->add_option("--trace-cache", jit.trace_cache,
                  "Keep traces between runs in DIR: the program's traces found there are compiled before it "
                  "starts instead of recorded again, and the traces of this run are written back")
      ->type_name("DIR");
  run->add_option_function<std::string>(
         "--dump",
         [&jit](const std::string& text) {
           if (text == "llvm") jit.dump = fusevm::JitDump::Llvm;
           else if (text == "asm") jit.dump = fusevm::JitDump::Asm;
           else if (text == "trace") jit.dump = fusevm::JitDump::Trace;
           else throw CLI::ValidationError("--dump", "expected llvm, asm or trace, got '" + text + "'");
         },
         "Print each compiled unit's optimised LLVM IR (llvm) or machine code (asm), or each trace's "
         "recorded paths, ops and exits and the exits taken (trace), on stderr")
      ->type_name("llvm|asm|trace");
  run->footer("Exit status: the program's status (0-255), 1 for a runtime error, 2 for bad input.");

  fusevm::tool::AsmOptions asm_options;
  CLI::App* assemble =
      app.add_subcommand("asm", "Write a program (.fasm, .fvc or .json) as binary .fvc or reference JSON");
  assemble->add_option("file", asm_options.input, "Input program")->required();
  assemble->add_option("-o,--output", asm_options.output,
                       "Output file (default: the input with extension .fvc or .json; - = stdout)");
  const std::map<std::string, fusevm::tool::AsmFormat> formats{
      {"fvc", fusevm::tool::AsmFormat::Fvc}, {"json", fusevm::tool::AsmFormat::Json}};
  assemble->add_option("--format", asm_options.format, "Output format: fvc (default) or json")
      ->transform(CLI::CheckedTransformer(formats, CLI::ignore_case));
  assemble->add_flag("--strict", asm_options.strict,
                     "JSON: refuse NaN and infinities instead of writing null with a warning");

  std::string disasm_input, disasm_output;
  CLI::App* disasm = app.add_subcommand("disasm", "Print a program as .fasm text");
  disasm->add_option("file", disasm_input, "Input program (.fasm, .fvc or .json)")->required();
  disasm->add_option("-o,--output", disasm_output, "Output file (default: stdout)");

  std::string verify_input;
  CLI::App* verify = app.add_subcommand("verify", "Check that a program loads and verifies");
  verify->add_option("file", verify_input, "Input program (.fasm, .fvc or .json)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error is "bad input" (ARCHITECTURE §9).
    return app.exit(e) == 0 ? 0 : kExitBadInput;
  }

  try {
    if (*run && !env_error.empty() && run->count("--jit") == 0) {
      fusevm::tool::print_error(env_error);
      return kExitBadInput;
    }
    if (*run) return fusevm::tool::run_command(run_options);
    if (*assemble) return fusevm::tool::asm_command(asm_options);
    if (*disasm) return fusevm::tool::disasm_command(disasm_input, disasm_output);
    if (*verify) return fusevm::tool::verify_command(verify_input);
  } catch (const std::bad_alloc&) {
    fusevm::tool::print_error("out of memory");
    return fusevm::tool::kExitRuntimeError;
  } catch (const std::exception& e) {
    fusevm::tool::print_error(std::string("error: ") + e.what());
    return fusevm::tool::kExitRuntimeError;
  }
  return kExitBadInput;
}
