// What the fuzz targets share: a VM set up so that whatever a chunk does stays inside the
// process and finishes soon (limits, a host that runs no commands and reads no files,
// output dropped, no input), and the one way a target reports a broken property.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <zlib.h>

#include "fusevm/fusevm.hpp"
#include "fusevm/host.hpp"

namespace fusevm_fuzz {

/// A broken property (not a crash): print it and abort, which libFuzzer reports and keeps.
[[noreturn]] inline void broken(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "fuzz property broken: %s%s%s\n", what, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

/// The chunk a reader gave, or null when it refused the input — with a diagnostic, or the
/// property is broken (`reader` names it).
inline const fusevm::Chunk* loaded(const fusevm::LoadResult& r, const char* reader) {
  if (!r.ok() && r.diagnostics.empty()) broken(reader, "failed without a diagnostic");
  return r.ok() ? &*r.chunk : nullptr;
}

// The image with its header's payload length and CRC-32 made to match the bytes after
// it: random bytes almost never carry a right CRC, so without this the fuzzer would
// stop at the header and never reach the payload decoder.
inline std::vector<uint8_t> resealed(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> image(bytes.begin(), bytes.end());
  const auto put32 = [&](size_t at, uint32_t v) {
    for (int k = 0; k < 4; ++k) image[at + k] = static_cast<uint8_t>(v >> (8 * k));
  };
  put32(8, static_cast<uint32_t>(image.size() - 16));
  put32(12, static_cast<uint32_t>(crc32_z(0L, image.data() + 16, image.size() - 16)));
  return image;
}

/// A shell host that touches nothing outside the process: commands "succeed", globs match
/// only their own text, functions are unknown. Everything else is ShellHost's own
/// (in-process) default.
class InertHost final : public fusevm::ShellHost {
 public:
  std::vector<std::string> glob(fusevm::HostContext&, const std::string& pattern, bool) override { return {pattern}; }
  int32_t exec(fusevm::HostContext&, const std::vector<std::string>&) override { return 0; }
  int32_t exec_bg(fusevm::HostContext&, const std::vector<std::string>&) override { return 0; }
};

/// Limits small enough that any chunk ends quickly: a step budget, and bounds on what a
/// run may allocate. (At 20,000 steps, 64 KiB strings and 4,096-element arrays the VM
/// target ran ~400 inputs/s under ASan, most of it copying and allocating near the
/// limits; every limit's error path is as reachable with these.)
inline fusevm::Limits fuzz_limits() {
  fusevm::Limits l;
  l.fuel = 4'000;
  l.max_stack = 1'024;
  l.max_call_depth = 128;
  l.max_string = size_t{1} << 12;
  l.max_array = 512;
  l.max_memory = size_t{1} << 20;
  return l;
}

/// Runs `chunk`, then again after reset() (the VM must stay usable after any outcome), in
/// a VM that cannot leave the process; builtins 0..3 are defined.
/// FUSEVM_FUZZ_SHOW=1 prints the chunk's disassembly on stderr first (to triage a crash:
/// run the target on the crashing input with it set).
inline void run_contained(const fusevm::Chunk& chunk) {
  if (const char* show = std::getenv("FUSEVM_FUZZ_SHOW"); show != nullptr && show[0] == '1') {
    std::fprintf(stderr, "%s", fusevm::disassemble(chunk).c_str());
  }
  fusevm::VM vm(chunk);
  vm.set_limits(fuzz_limits());
  vm.set_shell_host(std::make_unique<InertHost>());
  vm.set_output([](std::string_view) {});
  vm.set_input([]() -> std::optional<std::string> { return std::nullopt; });
  for (uint16_t id = 0; id < 4; ++id) {
    vm.register_builtin(id, [id](fusevm::VM& v, uint8_t argc) {
      uint64_t sum = id;  // wrapping, as the VM's own Int arithmetic
      for (uint8_t k = 0; k < argc && !v.stack().empty(); ++k) sum += static_cast<uint64_t>(v.pop().to_int());
      return fusevm::Value::Int(static_cast<int64_t>(sum));
    });
  }
  const fusevm::VMResult first = vm.run();
  if (first.is_error() && first.error().message.empty()) broken("an error without a message");
  vm.reset();
  (void)vm.run();
}

}  // namespace fusevm_fuzz
