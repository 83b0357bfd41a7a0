// `fusevm asm`, `fusevm disasm` and `fusevm verify`: load a program and write it elsewhere.
#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "fusevm/asm.hpp"
#include "output.hpp"

namespace fusevm::tool {

std::string default_output_path(const std::string& input, const std::string& ext) {
  size_t slash = input.find_last_of('/');
  size_t name_start = slash == std::string::npos ? 0 : slash + 1;
  size_t dot = input.find_last_of('.');
  // A leading dot names a hidden file, not an extension.
  if (dot == std::string::npos || dot <= name_start) return input + ext;
  return input.substr(0, dot) + ext;
}

int asm_command(const AsmOptions& options) {
  const std::string& input = options.input;
  bool json = options.format == AsmFormat::Json;
  std::string out = options.output.empty() ? default_output_path(input, json ? ".json" : ".fvc")
                                           : options.output;
  if (out == input) {
    print_error("refusing to overwrite the input " + input + "; choose an output with -o");
    return kExitBadInput;
  }
  LoadResult loaded = load_chunk_file(input);
  if (!loaded.ok()) return report_load_failure(loaded, input);
  if (!json) {
    std::vector<uint8_t> image = write_fvc(*loaded.chunk);
    std::span<const char> bytes(reinterpret_cast<const char*>(image.data()), image.size());
    return write_output(out, bytes) ? 0 : kExitBadInput;
  }
  JsonWriteOptions write_options;
  write_options.strict = options.strict;
  write_options.file = input;
  JsonWriteResult written = chunk_to_reference_json(*loaded.chunk, write_options);
  for (const Diagnostic& d : written.warnings) print_error("warning: " + d.to_string());
  if (!written.ok()) {
    for (const Diagnostic& d : written.errors) print_error(d.to_string());
    return kExitBadInput;
  }
  return write_output(out, *written.text) ? 0 : kExitBadInput;
}

int disasm_command(const std::string& input, const std::string& output) {
  LoadResult loaded = load_chunk_file(input);
  if (!loaded.ok()) return report_load_failure(loaded, input);
  std::string text = disassemble(*loaded.chunk);
  return write_output(output, text) ? 0 : kExitBadInput;
}

int verify_command(const std::string& input) {
  // load_chunk_file verifies (ARCHITECTURE §6), so a loaded chunk is a valid one.
  LoadResult loaded = load_chunk_file(input);
  if (!loaded.ok()) return report_load_failure(loaded, input);
  const Chunk& c = *loaded.chunk;
  std::string line = input + ": ok (" + std::to_string(c.ops.size()) + " ops, " +
                     std::to_string(c.constants.size()) + " constants, " +
                     std::to_string(c.names.size()) + " names, " +
                     std::to_string(c.sub_chunks.size()) + " sub-chunks)\n";
  if (!write_stdout(line)) return kExitBadInput;
  return 0;
}

}  // namespace fusevm::tool
