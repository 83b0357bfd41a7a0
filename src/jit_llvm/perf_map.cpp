// Writer of /tmp/perf-PID.map, the symbol file perf reads for JIT code.
#include "jit_llvm/perf_map.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace fusevm::jit_llvm {

namespace {

std::mutex g_mutex;
int g_fd = -1;  // kept open for the life of the process: perf reads the file after exit

}  // namespace

bool perf_map_open(std::string& error) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_fd >= 0) return true;
  char path[64];
  std::snprintf(path, sizeof path, "/tmp/perf-%d.map", static_cast<int>(::getpid()));
  // perf refuses map files owned by another user, so the file is ours and private to us.
  int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = std::string("cannot open ") + path + ": " + std::strerror(errno);
    return false;
  }
  g_fd = fd;
  return true;
}

void perf_map_add(uint64_t address, uint64_t size, const char* name) {
  char line[512];
  int n = std::snprintf(line, sizeof line, "%" PRIx64 " %" PRIx64 " %s\n", address, size, name);
  if (n <= 0) return;
  size_t len = static_cast<size_t>(n);
  if (len >= sizeof line) {  // an overlong name is cut, but the line still ends the record
    len = sizeof line - 1;
    line[len - 1] = '\n';
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_fd < 0) return;
  // A short or failed write only costs profiler symbols; compiling must not fail for it.
  [[maybe_unused]] ssize_t w = ::write(g_fd, line, len);
}

}  // namespace fusevm::jit_llvm
