// A frontend with ops of its own: a tiny "pixel" language adds two extension ops to
// fusevm without changing it, and teaches the JIT one of them.
//
//   Extended 1, MAX   clamp: pops an Int, pushes it clamped to [0, MAX]  (the JIT calls
//                     pixel_clamp directly in native code)
//   Extended 2, 0     report: pops an Int and prints "checksum N" (interpreter only)
//
// The program sums clamp(i % 300, 255) over a million laps, once interpreted and once with
// the JIT, and checks both agree and that native code really called pixel_clamp.
// Built and run by CI (ctest: example_extension_op); exit status 0 when all is well.
#include <fusevm/fusevm.hpp>
#include <fusevm/jit.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

namespace {

std::atomic<int64_t> g_native_clamps{0};

// The lowering of Extended 1: `extern "C"`, the op's u8 operand first, then the popped
// Int; it must compute what the interpreter's handler computes, must not throw and must
// not call into the VM.
extern "C" int64_t pixel_clamp(int64_t max, int64_t x) {
  g_native_clamps.fetch_add(1, std::memory_order_relaxed);
  return std::clamp<int64_t>(x, 0, max);
}

// What the JIT may do with the frontend's ops.
class PixelOps final : public fusevm::JitExtension {
 public:
  bool can_jit(uint16_t id) const override { return id == 1; }
  size_t op_count() const override { return 2; }
  std::string name() const override { return "pixel"; }
  std::optional<fusevm::JitLowering> lower(uint16_t id) const override {
    if (id != 1) return std::nullopt;
    return fusevm::JitLowering{"pixel_clamp", reinterpret_cast<void*>(&pixel_clamp), {fusevm::JitKind::Int},
                               fusevm::JitKind::Int};
  }
};

// The interpreter's side of both ops (any kinds: a Float is truncated, as to_int does).
void pixel_handler(fusevm::VM& vm, uint16_t id, uint8_t arg) {
  if (id == 1) {
    vm.push(fusevm::Value::Int(std::clamp<int64_t>(vm.pop().to_int(), 0, arg)));
  } else if (id == 2) {
    std::cout << "checksum " << vm.pop().to_str() << "\n";
  } else {
    vm.raise_error("pixel: unknown op " + std::to_string(id));
  }
}

const char* const kProgram = R"(
    LoadInt 0
    SetSlot 0
    LoadInt 0
    SetSlot 1
top:
    GetSlot 0
    GetSlot 1
    LoadInt 300
    Mod
    Extended 1, 255
    Add
    SetSlot 0
    PreIncSlotVoid 1
    GetSlot 1
    LoadInt 1000000
    NumLt
    JumpIfTrue top
    GetSlot 0
    Dup
    Extended 2, 0
)";

fusevm::VMResult run(const fusevm::Chunk& chunk, bool jit) {
  fusevm::VM vm(chunk);
  vm.set_extension_handler(pixel_handler);
  if (jit) {
    fusevm::JitOptions o;
    o.tiers = fusevm::JitTiers::All;
    o.sync = true;  // compile at once, so this short example runs natively
    o.extensions.push_back(std::make_shared<PixelOps>());
    vm.enable_jit(o);
  }
  return vm.run();
}

}  // namespace

int main() {
  fusevm::LoadResult loaded = fusevm::assemble(kProgram, "pixel.fasm");
  if (!loaded.ok()) {
    std::cerr << loaded.message();
    return 2;
  }
  const fusevm::VMResult interpreted = run(*loaded.chunk, false);
  const fusevm::VMResult jitted = run(*loaded.chunk, true);
  if (!interpreted.is_ok() || !jitted.is_ok()) {
    std::cerr << "extension-op: a run failed: " << interpreted.repr() << " / " << jitted.repr() << "\n";
    return 1;
  }
  std::cout << "interpreted " << interpreted.value().repr() << ", jit " << jitted.value().repr() << "\n";
  if (!(interpreted.value() == jitted.value())) return 1;
  if (fusevm::JitCompiler::available()) {
    const fusevm::JitStats s = fusevm::JitCompiler::stats();
    std::cout << "native calls of pixel_clamp: " << g_native_clamps.load() << " (block entries " << s.block.entered
              << ", trace entries " << s.trace.entered << ")\n";
    if (g_native_clamps.load() == 0) {
      std::cerr << "extension-op: native code never called pixel_clamp\n";
      return 1;
    }
  } else {
    std::cout << "no JIT here (" << fusevm::JitCompiler::unavailable_reason() << "): both runs interpreted\n";
  }
  std::cout << "extension-op: ok\n";
  return 0;
}
