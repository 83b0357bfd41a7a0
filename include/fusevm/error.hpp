// Error types shared by the builder, the loaders and the VM.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fusevm {

/// Thrown for API misuse (patch_jump on a non-jump, a pool past 65,536 entries, ...).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One loader or verifier finding, printed as `file:line: message`.
struct Diagnostic {
  std::string file;     ///< source file name ("<input>" when unknown)
  uint32_t line = 0;    ///< 1-based line (for binary input: the op index or byte offset);
                        ///< 0 when the finding has no place (an unreadable file)
  std::string message;  ///< what is wrong
  /// `file:line: message`, or `file: message` when line is 0.
  std::string to_string() const {
    if (line == 0) return file + ": " + message;
    return file + ":" + std::to_string(line) + ": " + message;
  }
};

/// Every diagnostic's to_string(), one per line.
inline std::string diagnostics_text(const std::vector<Diagnostic>& diagnostics) {
  std::string text;
  for (const Diagnostic& d : diagnostics) {
    if (!text.empty()) text.push_back('\n');
    text += d.to_string();
  }
  return text;
}

/// One entry of a runtime error's backtrace (innermost first).
struct BacktraceEntry {
  uint64_t ip = 0;    ///< op index executing in that activation
  uint32_t line = 0;  ///< lines[ip], 0 if absent
};

/// A run-time error: the message and where it happened.
struct RuntimeError {
  std::string message;                   ///< e.g. "undefined function: foo"
  uint64_t ip = 0;                       ///< index of the failing op
  uint32_t line = 0;                     ///< lines[ip], 0 if absent
  std::string source;                    ///< Chunk::source
  std::vector<BacktraceEntry> backtrace;  ///< callers, innermost first
  /// `source:line: runtime error: message`.
  std::string to_string() const {
    return (source.empty() ? std::string("<chunk>") : source) + ":" + std::to_string(line) +
           ": runtime error: " + message;
  }
  /// The report the CLI prints (after its "fusevm: "): `FILE:LINE: runtime error:
  /// message`, then `  called from FILE:LINE` per caller (at most `max_callers`, then
  /// how many more), each line ending in a newline. FILE is `source`, else `file`.
  std::string report(std::string_view file, size_t max_callers = 10) const {
    const std::string where(source.empty() ? file : std::string_view(source));
    std::string text = where + ":" + std::to_string(line) + ": runtime error: " + message + "\n";
    for (size_t k = 0; k < backtrace.size(); ++k) {
      if (k == max_callers) {
        text += "  ... " + std::to_string(backtrace.size() - k) + " more callers\n";
        break;
      }
      text += "  called from " + where + ":" + std::to_string(backtrace[k].line) + "\n";
    }
    return text;
  }
};

}  // namespace fusevm
