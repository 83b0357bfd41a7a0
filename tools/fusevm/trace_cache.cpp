// `fusevm run --trace-cache DIR` (trace_cache.hpp).
#include "trace_cache.hpp"

#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "fusevm/asm.hpp"
#include "fusevm/jit.hpp"

namespace fusevm::tool {

namespace {

std::string cache_file(const std::string& dir, const Chunk& chunk) {
  char name[40];
  std::snprintf(name, sizeof name, "%016" PRIx64 ".traces.json", chunk.op_hash);
  return (std::filesystem::path(dir) / name).string();
}

void warn(const std::string& text) { std::fprintf(stderr, "fusevm: warning: trace cache: %s\n", text.c_str()); }

}  // namespace

void load_trace_cache(const std::string& dir, const Chunk& chunk) {
  // Without the plugin there is nothing to compile traces with (README: the JIT switches
  // are then accepted and the VM interprets): the cache is left alone, silently.
  if (!JitCompiler::available()) return;
  const std::string path = cache_file(dir, chunk);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno != ENOENT) warn(path + ": cannot read: " + std::strerror(errno));
    return;  // no traces kept for this program yet
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    warn(path + ": cannot read");
    return;
  }
  const TraceMetadataLoad loaded = trace_metadata_from_json(text.str(), path);
  if (!loaded.ok()) {
    warn(loaded.message() + " (file ignored)");
    return;
  }
  JitCompiler jit;
  for (const TraceMetadata& meta : loaded.traces) {
    std::string why;
    if (!jit.trace_import(chunk, meta, &why)) {
      warn(path + ": the trace at ip " + std::to_string(meta.anchor_ip) + " was not used: " + why);
    }
  }
}

void save_trace_cache(const std::string& dir, const Chunk& chunk) {
  if (!JitCompiler::available()) return;  // (see load_trace_cache) the file is kept as it is
  const std::vector<TraceMetadata> traces = JitCompiler().trace_export_all(chunk);
  const std::string path = cache_file(dir, chunk);
  std::error_code ec;
  if (traces.empty() && !std::filesystem::exists(path, ec)) return;  // nothing to keep
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    warn(dir + ": cannot create: " + ec.message());
    return;
  }
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace, ec);
  // Written beside the file and renamed over it: a reader sees the old trees or the new.
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const std::string text = trace_metadata_to_json(traces);
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  bool ok = f != nullptr && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = f != nullptr && std::fclose(f) == 0 && ok;
  if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
    warn(path + ": cannot write: " + std::strerror(errno));
    std::remove(temp.c_str());
  }
}

}  // namespace fusevm::tool
