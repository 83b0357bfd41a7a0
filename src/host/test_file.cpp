// TestFile: the file_test codes of spec/ops.md §21.1 on the real filesystem.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "fusevm/host.hpp"

namespace fusevm {
namespace {

// file_test codes (spec/ops.md §21.1); only this file interprets them.
enum FileTest : uint8_t {
  kIsFile = 0, kIsDir = 1, kIsReadable = 2, kIsWritable = 3, kIsExecutable = 4,
  kExists = 5, kIsNonempty = 6, kIsSymlink = 7, kIsSocket = 8, kIsFifo = 9,
  kIsBlockDev = 10, kIsCharDev = 11,
};

bool stat_ok(const char* path, struct stat& st) { return ::stat(path, &st) == 0; }
bool lstat_ok(const char* path, struct stat& st) { return ::lstat(path, &st) == 0; }

}  // namespace

bool test_file(const std::string& path, uint8_t code) {
  // An embedded NUL would silently test a different (truncated) path.
  if (path.empty() || path.find('\0') != std::string::npos) return false;
  const char* p = path.c_str();
  struct stat st {};
  switch (code) {
    case kIsFile: return stat_ok(p, st) && S_ISREG(st.st_mode);
    case kIsDir: return stat_ok(p, st) && S_ISDIR(st.st_mode);
    // Listed departure: the reference answers "exists" for -r/-w/-x-like checks; we ask
    // the kernel whether the real user may actually do it.
    case kIsReadable: return ::access(p, R_OK) == 0;
    case kIsWritable: return ::access(p, W_OK) == 0;
    case kIsExecutable: return ::access(p, X_OK) == 0;
    case kExists: return stat_ok(p, st);
    case kIsNonempty: return stat_ok(p, st) && st.st_size > 0;
    case kIsSymlink: return lstat_ok(p, st) && S_ISLNK(st.st_mode);
    case kIsSocket: return lstat_ok(p, st) && S_ISSOCK(st.st_mode);
    case kIsFifo: return lstat_ok(p, st) && S_ISFIFO(st.st_mode);
    case kIsBlockDev: return lstat_ok(p, st) && S_ISBLK(st.st_mode);
    case kIsCharDev: return lstat_ok(p, st) && S_ISCHR(st.st_mode);
    default: return false;
  }
}

}  // namespace fusevm
