// Out-of-tree consumer of an installed fusevm: builds, assembles and runs small programs.
#include <cstdio>
#include <string>

#include <fusevm/fusevm.hpp>

using namespace fusevm;

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "consumer: FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  // The ARCHITECTURE §3 example, verbatim in spirit.
  ChunkBuilder b;
  b.emit(Op::LoadInt(40), 1);
  b.emit(Op::LoadInt(2), 1);
  b.emit(Op::Add(), 1);
  VM vm(b.build());
  VMResult r = vm.run();
  expect(r.is_ok() && r.value().to_str() == "42", "ChunkBuilder program gives 42");

  LoadResult loaded = assemble("LoadInt 6\nLoadInt 7\nMul\n", "consumer.fasm");
  expect(loaded.ok(), "assemble() accepts a three-op program");
  if (loaded.ok()) {
    VM vm2(std::move(*loaded.chunk));
    VMResult r2 = vm2.run();
    expect(r2.is_ok() && r2.value().to_str() == "42", "assembled program gives 42");
  }

  expect(std::string(FUSEVM_VERSION_STRING).size() >= 5, "FUSEVM_VERSION_STRING is set");
  if (failures != 0) return 1;
  std::printf("consumer: ok (fusevm %s)\n", FUSEVM_VERSION_STRING);
  return 0;
}
