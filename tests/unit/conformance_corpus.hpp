// Shared by the conformance runner and the opcode-coverage test: finds the .fasm corpus
// and parses the expectation headers each file carries (ARCHITECTURE §9).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "fusevm/vm.hpp"

namespace fusevm::conformance {

/// One program of the corpus.
struct CorpusFile {
  std::string path;       ///< absolute path
  std::string relative;   ///< path below tests/conformance, e.g. "arith/add.fasm"
  std::string test_name;  ///< GoogleTest-safe name derived from `relative`
};

/// GoogleTest shows a corpus file by its relative path.
inline void PrintTo(const CorpusFile& f, std::ostream* os) { *os << f.relative; }

/// What a corpus file's header says about its run.
///
/// Headers are the comment lines before the first instruction or directive:
/// `; expect: LINE` (repeatable; stdout must equal the lines, each ended by "\n"),
/// `; expect-result: REPR`, `; expect-error: TEXT`, `; exit: N`, `; stdin: "..."`,
/// `; tiers: interp ...`. Other comments are free text.
struct Expectations {
  std::vector<std::string> stdout_lines;    ///< expected stdout, one entry per line
  std::optional<std::string> result;        ///< Value::repr() of Ok, or "Halted"
  std::optional<std::string> error;         ///< substring of the runtime error message
  std::optional<int> exit_status;           ///< CLI exit status (ARCHITECTURE §9)
  std::optional<std::string> stdin_text;    ///< decoded input for ReadLine
  std::vector<std::string> tiers;           ///< tiers the file applies to; empty = all
  std::vector<std::string> problems;        ///< malformed header lines
  /// True if at least one header asserts something about the run.
  bool asserts_anything() const {
    return !stdout_lines.empty() || result || error || exit_status;
  }
  /// Whole expected stdout.
  std::string expected_stdout() const;
};

/// Directory of the corpus (FUSEVM_SOURCE_DIR "/tests/conformance").
std::string corpus_root();
/// Every *.fasm file below corpus_root(), sorted by relative path.
std::vector<CorpusFile> discover_corpus();
/// Whole contents of a file; empty optional if it cannot be read.
std::optional<std::string> read_text_file(const std::string& path);
/// Parse the header block of a .fasm file.
Expectations parse_expectations(std::string_view text);
/// Decode a double-quoted literal with \\ \" \n \t \r \0 \xHH escapes; nullopt if malformed.
std::optional<std::string> decode_quoted(std::string_view s);
/// Exit status the CLI reports for a run (ARCHITECTURE §9 "CLI exit codes").
int cli_exit_status(const VMResult& r, int32_t last_status);
/// "Halted", Value::repr() of the Ok value, or "Error(message)".
std::string result_repr(const VMResult& r);

}  // namespace fusevm::conformance
