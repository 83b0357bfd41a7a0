// Writing to a file descriptor without letting SIGPIPE kill the process.
#pragma once

#include <string_view>

namespace fusevm {

/// How write_all_no_sigpipe ended.
enum class FdWriteResult {
  Ok,          ///< every byte written
  BrokenPipe,  ///< the reader is gone (EPIPE); the rest was dropped
  Failed,      ///< another write error; the rest was dropped
};

/// Write all of `bytes` to `fd`, retrying on EINTR and short writes. SIGPIPE is blocked
/// for the calling thread around the write and a SIGPIPE the write raised is consumed,
/// so a closed pipe is reported as BrokenPipe instead of killing the process; the
/// signal mask and any SIGPIPE that was already pending are left as they were.
FdWriteResult write_all_no_sigpipe(int fd, std::string_view bytes);

}  // namespace fusevm
