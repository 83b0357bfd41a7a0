// Google Benchmark harness: assembles every bench/*.fasm (and the generated nop.fasm) and runs
// each on a fresh VM per iteration, checking its output against the file's `; expect:` lines.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "fusevm/fusevm.hpp"

namespace {

namespace fs = std::filesystem;

/// One program to time: its chunk (or why it failed to load) and what it must print.
struct Program {
  std::string name;                  ///< file stem
  std::optional<fusevm::Chunk> chunk;  ///< assembled chunk; empty when loading failed
  std::string load_error;            ///< why the file did not load
  std::optional<std::string> expect;  ///< stdout from the `; expect:` lines, if any
  int64_t reps = 1;                  ///< the `; reps:` header: outer repetitions per run
};

/// `; key: value` lines of the leading comment block.
std::vector<std::pair<std::string, std::string>> read_headers(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> headers;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    if (line[start] != ';') break;  // the header block ends at the first instruction
    std::string body = line.substr(start + 1);
    size_t key_start = body.find_first_not_of(' ');
    size_t colon = body.find(':');
    if (key_start == std::string::npos || colon == std::string::npos || colon < key_start) continue;
    std::string key = body.substr(key_start, colon - key_start);
    if (key.empty() || key.find(' ') != std::string::npos) continue;
    std::string value = body.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    headers.emplace_back(std::move(key), std::move(value));
  }
  return headers;
}

/// Read, parse the headers of and assemble one program file.
Program load_program(const fs::path& path) {
  Program prog;
  prog.name = path.stem().string();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    prog.load_error = "cannot read " + path.string();
    return prog;
  }
  std::ostringstream text;
  text << in.rdbuf();
  for (const auto& [key, value] : read_headers(text.str())) {
    if (key == "expect") prog.expect = prog.expect.value_or("") + value + "\n";
    if (key == "reps") prog.reps = std::max<int64_t>(1, std::atoll(value.c_str()));
  }
  fusevm::LoadResult loaded = fusevm::assemble(text.str(), path.string());
  if (loaded.ok()) {
    prog.chunk = std::move(loaded.chunk);
  } else {
    prog.load_error = loaded.message();
  }
  return prog;
}

/// Only the VM's run() is timed: building the VM (which lowers the chunk) and tearing it down
/// are excluded, so a 1M-op chunk measures dispatch, not lowering.
void run_program(benchmark::State& state, const Program* prog) {
  if (!prog->chunk) {
    state.SkipWithError(prog->load_error.c_str());
    for (auto _ : state) {
    }
    return;
  }
  std::string output;
  std::string error;
  bool first = true;
  for (auto _ : state) {
    state.PauseTiming();
    auto vm = std::make_unique<fusevm::VM>(*prog->chunk);
    std::string* sink = first ? &output : nullptr;
    vm->set_output([sink](std::string_view s) {
      if (sink) sink->append(s);
    });
    state.ResumeTiming();
    fusevm::VMResult result = vm->run();
    state.PauseTiming();
    if (result.is_error() && error.empty()) error = result.error().to_string();
    vm.reset();
    first = false;
    state.ResumeTiming();
  }
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
  } else if (prog->expect && output != *prog->expect) {
    error = "wrong output: got \"" + output + "\", expected \"" + *prog->expect + "\"";
    state.SkipWithError(error.c_str());
  }
  // Time of one repetition of the program's algorithm (the run divided by its outer loop count).
  state.counters["per_rep"] = benchmark::Counter(static_cast<double>(prog->reps),
                                                 benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}

/// bench/*.fasm except the start-up program (a process-start figure, not a run time), then the
/// generated nop.fasm from the build directory.
std::vector<fs::path> program_files() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(FUSEVM_BENCH_SOURCE_DIR, ec)) {
    const fs::path& p = entry.path();
    if (p.extension() == ".fasm" && p.stem() != "startup") files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  fs::path nop = fs::path(FUSEVM_BENCH_BINARY_DIR) / "nop.fasm";
  if (fs::exists(nop)) files.push_back(nop);
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // Programs live until the benchmarks have run; registered lambdas point into this vector.
  std::vector<Program> programs;
  for (const fs::path& file : program_files()) programs.push_back(load_program(file));
  for (const Program& prog : programs) {
    benchmark::RegisterBenchmark(("fusevm/" + prog.name).c_str(), run_program, &prog)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
