// minish: compile a POSIX sh subset to fusevm bytecode and run it on DefaultHost.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "compiler.hpp"
#include "fusevm/asm.hpp"
#include "fusevm/default_host.hpp"
#include "fusevm/vm.hpp"
#include "runtime.hpp"

namespace {

constexpr int kUsageError = 2;    // as sh: usage and syntax errors
constexpr int kCannotOpen = 127;  // as sh: a script file that cannot be read

struct Script {
  std::string text;
  std::string source;                    // chunk source name
  std::string dollar0;                   // $0
  std::vector<std::string> positionals;  // $1, $2, ...
};

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return text.str();
}

// $0, $1..., $#, $@ and $* live in the host's table (not exported); `$@` is the
// positional parameters joined by spaces (README: "$@").
void seed_parameters(fusevm::DefaultHost& host, const Script& script) {
  fusevm::ShellVars& vars = host.vars();
  vars.set("0", fusevm::Value::Str(script.dollar0));
  std::string all;
  for (size_t i = 0; i < script.positionals.size(); ++i) {
    vars.set(std::to_string(i + 1), fusevm::Value::Str(script.positionals[i]));
    all += (i ? " " : "") + script.positionals[i];
  }
  vars.set("#", fusevm::Value::Str(std::to_string(script.positionals.size())));
  vars.set("@", fusevm::Value::Str(all));
  vars.set("*", fusevm::Value::Str(all));
  vars.set("$", fusevm::Value::Str(std::to_string(::getpid())));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"minish: a POSIX sh subset compiled to fusevm bytecode", "minish"};
  std::optional<std::string> command;
  bool dump = false;
  app.add_option("-c", command, "Run SCRIPT; the operands then set $0, $1, ...")
      ->option_text("SCRIPT");
  app.add_flag("--dump", dump, "Print the compiled chunk as fusevm assembly instead of running");
  app.footer("Usage: minish [--dump] [-c SCRIPT [NAME [ARG...]] | FILE [ARG...]]\n"
             "Without -c or FILE the script is read from standard input.");
  // Everything from the first operand on belongs to the script, options included.
  app.prefix_command();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kUsageError;
  }
  std::vector<std::string> operands = app.remaining();

  Script script;
  if (command) {
    script.text = *command;
    script.source = "-c";
    script.dollar0 = operands.empty() ? "minish" : operands[0];
    if (!operands.empty()) script.positionals.assign(operands.begin() + 1, operands.end());
  } else if (!operands.empty() && operands[0].size() > 1 && operands[0][0] == '-') {
    // prefix_command() hands unknown options over as operands; a script is never
    // named like an option here.
    std::cerr << "minish: unknown option " << operands[0] << "\n" << app.help();
    return kUsageError;
  } else if (!operands.empty()) {
    std::optional<std::string> text = read_file(operands[0]);
    if (!text) {
      std::cerr << "minish: " << operands[0] << ": " << std::strerror(errno) << "\n";
      return kCannotOpen;
    }
    script.text = std::move(*text);
    script.source = script.dollar0 = operands[0];
    script.positionals.assign(operands.begin() + 1, operands.end());
  } else {
    script.text.assign(std::istreambuf_iterator<char>(std::cin), {});
    script.source = "<stdin>";
    script.dollar0 = "minish";
  }

  fusevm::Chunk chunk;
  try {
    chunk = minish::compile_source(script.text, script.source);
  } catch (const minish::SyntaxError& e) {
    std::cerr << "minish: line " << e.line() << ": " << e.what() << "\n";
    return kUsageError;
  }
  if (dump) {
    std::cout << fusevm::disassemble(chunk);
    return 0;
  }

  fusevm::VM vm(std::move(chunk));
  auto owned_host = std::make_unique<fusevm::DefaultHost>();
  fusevm::DefaultHost& host = *owned_host;
  seed_parameters(host, script);
  vm.set_shell_host(std::move(owned_host));
  minish::install_builtins(vm);

  fusevm::VMResult result = vm.run();
  int status = vm.last_status() & 255;
  if (result.is_error()) {
    vm.flush_output();
    std::cerr << "minish: line " << result.error().line << ": " << result.error().message
              << "\n";
    status = status == 0 ? 1 : status;
  }
  fusevm::HostContext cx(vm);
  host.run_exit_trap(cx);
  vm.flush_output();
  return status;
}
