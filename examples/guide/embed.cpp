// examples/guide/embed.cpp: the embedding example of docs/guide.md (the test suite
// checks that the guide shows this file as it is; CI builds and runs it).
#include <fusevm/fusevm.hpp>

#include <iostream>
#include <string>

int main() {
  using namespace fusevm;
  // A chunk from .fasm text (a code generator would use ChunkBuilder instead).
  LoadResult loaded = assemble(R"(
    LoadConst "world"
    CallBuiltin 0, 1
    PrintLn 1
    LoadInt 41
    LoadInt 1
    Add
)", "embed.fasm");
  if (!loaded.ok()) {
    std::cerr << loaded.message();
    return 2;
  }
  VM vm(std::move(*loaded.chunk));
  // Builtin 0: the host's own function, called by CallBuiltin 0, argc.
  vm.register_builtin(0, [](VM& v, uint8_t argc) {
    std::string who = argc > 0 ? v.pop().to_str() : "nobody";
    return Value::Str("hello, " + who);
  });
  std::string out;
  vm.set_output([&out](std::string_view bytes) { out.append(bytes); });
  Limits limits;
  limits.fuel = 1'000'000;  // at most a million ops per run()
  vm.set_limits(limits);
  vm.enable_jit(JitTiers::All);  // hot code compiles in the background

  VMResult r = vm.run();
  if (r.is_error()) {
    std::cerr << r.error().to_string() << "\n";
    return 1;
  }
  std::cout << out << "result: " << r.value().repr() << "\n";
  return out == "hello, world\n" && r.value() == Value::Int(42) ? 0 : 1;
}
