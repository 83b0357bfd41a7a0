// Out-of-line I/O ops: Print, PrintLn, ReadLine (spec/ops.md §14).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "vm/interp.hpp"

namespace fusevm {

namespace {

// Read one line from fd 0 without consuming bytes past the newline, so child processes
// spawned later still see the rest of stdin (as shells do): byte-wise on pipes and
// terminals, block-wise plus lseek back on seekable files.
std::optional<std::string> read_stdin_line() {
  std::string line;
  struct stat sb;
  const bool seekable = ::fstat(0, &sb) == 0 && S_ISREG(sb.st_mode);
  char buf[4096];
  for (;;) {
    const size_t want = seekable ? sizeof buf : 1;
    ssize_t n = ::read(0, buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return line.empty() ? std::nullopt : std::optional<std::string>(line);
    }
    if (n == 0) return line.empty() ? std::nullopt : std::optional<std::string>(line);
    for (ssize_t k = 0; k < n; ++k) {
      if (buf[k] == '\n') {
        line.append(buf, static_cast<size_t>(k));
        if (seekable && k + 1 < n) ::lseek(0, -(n - k - 1), SEEK_CUR);
        return line;
      }
    }
    line.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

OpStatus exec_io_op(VMState& st, const Insn& in) {
  switch (static_cast<OpCode>(in.op)) {
    case OpCode::Print: case OpCode::PrintLn: {
      const size_t n = std::min<size_t>(in.a, st.stack.size());
      const size_t from = st.stack.size() - n;
      std::string out;
      for (size_t k = from; k < st.stack.size(); ++k) st.stack[k].append_str(out);
      st.stack.truncate(from);
      if (static_cast<OpCode>(in.op) == OpCode::PrintLn) out.push_back('\n');
      st.write_output(out);
      // Like the reference's line-buffered stdout on a terminal; elsewhere the buffer is
      // flushed before every spawn and host call and at the end of run(), which keeps
      // output ordered with children without a write per line.
      if (!st.output && st.stdout_is_tty() && out.find('\n') != std::string::npos)
        st.flush_output();
      return OpStatus::Next;
    }
    case OpCode::ReadLine: {
      st.flush_output();  // a prompt printed before ReadLine must be visible
      std::optional<std::string> line = st.input ? st.input() : read_stdin_line();
      std::string s = line ? std::move(*line) : std::string();
      while (!s.empty() && s.back() == '\n') s.pop_back();  // EOF gives ""; '\r' is kept
      return stack_push(st, Value::Str(std::move(s))) ? OpStatus::Next : OpStatus::Error;
    }
    default:
      st.set_error("internal: op routed to I/O by mistake", st.ip - 1);
      return OpStatus::Error;
  }
}

}  // namespace fusevm
