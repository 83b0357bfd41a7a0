// load_chunk_file (format detected by content) and LoadResult::message().
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "fusevm/asm.hpp"

namespace fusevm {

namespace {

// Whole file contents, or the errno of the failing call. POSIX read() rather than
// iostreams so a directory or an unreadable file yields its real strerror text.
bool read_whole_file(const std::string& path, std::vector<uint8_t>& out, int& err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    return false;
  }
  uint8_t buf[65536];
  for (;;) {
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0) {
      if (errno == EINTR) continue;
      err = errno;
      ::close(fd);
      return false;
    }
    if (got == 0) break;
    out.insert(out.end(), buf, buf + got);
  }
  ::close(fd);
  return true;
}

}  // namespace

std::string LoadResult::message() const { return diagnostics_text(diagnostics); }

LoadResult load_chunk_file(const std::string& path) {
  std::vector<uint8_t> bytes;
  int err = 0;
  if (!read_whole_file(path, bytes, err)) {
    LoadResult failed;
    failed.diagnostics.push_back(Diagnostic{path, 0, std::string("cannot read: ") + std::strerror(err)});
    return failed;
  }
  if (is_fvc(bytes)) return read_fvc(bytes, path);
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  // A .fasm statement starts with a mnemonic, a label, a directive or a comment, never
  // with `{` or `[`, so either after blanks (and an optional UTF-8 byte-order mark, which
  // JSON editors write) means reference JSON; `[` loads as JSON to be told it must be an
  // object rather than fail as assembly.
  std::string_view body = text.substr(text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0);
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (body[first] == '{' || body[first] == '[')) {
    return chunk_from_reference_json(text, path);
  }
  return assemble(text, path);
}

}  // namespace fusevm
