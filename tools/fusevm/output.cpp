// Output helpers for the fusevm tool: whole-file writes and diagnostic reporting.
#include "output.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include "commands.hpp"

namespace fusevm::tool {
namespace {

// Loops over short writes and EINTR so large outputs reach a pipe in full.
bool write_all(int fd, std::span<const char> bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void print_error(std::string_view text) {
  std::string line = "fusevm: ";
  line.append(text);
  line.push_back('\n');
  write_stderr(line);
}

bool write_stdout(std::span<const char> bytes) {
  // stdio may hold earlier output (e.g. a printed result); keep the order.
  std::fflush(stdout);
  return write_all(STDOUT_FILENO, bytes);
}

bool write_output(const std::string& path, std::span<const char> bytes) {
  if (path.empty() || path == "-") {
    if (write_stdout(bytes)) return true;
    print_error(std::string("cannot write to standard output: ") + std::strerror(errno));
    return false;
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    print_error("cannot write " + path + ": " + std::strerror(errno));
    return false;
  }
  bool ok = write_all(fd, bytes);
  int saved = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (!ok) {
    // A truncated .fvc would later fail its checksum with a confusing message; remove it.
    ::unlink(path.c_str());
    print_error("cannot write " + path + ": " + std::strerror(saved));
  }
  return ok;
}

int report_load_failure(const LoadResult& result, const std::string& file) {
  std::string text;
  for (const Diagnostic& d : result.diagnostics) {
    text += d.to_string();
    text.push_back('\n');
  }
  if (text.empty()) text = file + ": cannot load the program\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
  return kExitBadInput;
}

void write_stderr(std::string_view text) { std::fwrite(text.data(), 1, text.size(), stderr); }

}  // namespace fusevm::tool
